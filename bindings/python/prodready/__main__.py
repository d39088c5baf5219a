"""python3 -m prodready: the prodready command's password hash, password
verify, token issue and token verify, with the same arguments, standard
input, output and exit codes (docs/cli.md), written only against this
package's classes. Exit 0 success, 1 a negative answer (mismatch,
rejected), 2 bad usage or malformed input with one stderr line."""
import os
import sys

from . import (ClientError, ExpiredToken, InvalidInput, InvalidToken, Key, Keyring, NotYetValid,
               PasswordHasher, ProdreadyError, RawJSON, Token, TooBig, Unsupported,
               VerifyMismatchError, NotFound)

YES, NO, USAGE = 0, 1, 2
PASSWORD_MAX = 4096
TOKEN_MAX = 1024 * 1024
KEY_MAX = 1024


class Usage(Exception):
    """Bad usage: one line on stderr, exit 2."""


def usage_line(message):
    line = " ".join(str(message).splitlines())
    sys.stderr.write(f"prodready: {line}\n")
    return USAGE


HELP = {
    "password hash":
        "usage: prodready password hash [--preset NAME | --t N --m KIB --p N] [--allow-empty]\n"
        "  reads the password from standard input (one trailing newline stripped; at most\n"
        "  4096 bytes) and prints its PHC string (argon2id).\n",
    "password verify":
        "usage: prodready password verify [--allow-legacy] PHC\n"
        "  reads the password from standard input; exit 0 when it matches PHC, 1 when\n"
        "  not, 2 when PHC is malformed, over the cost caps or refused.\n",
    "token issue":
        "usage: prodready token issue --purpose local|public KEY --ttl DURATION\n"
        "         [--claim name=value]... [--claim-json name=JSON]... [--footer JSON]\n"
        "         [--implicit STR]\n"
        "  KEY: --key KEY, --key -, --key-file FILE or --key-env NAME\n",
    "token verify":
        "usage: prodready token verify --purpose local|public KEY TOKEN|-\n"
        "         [--footer JSON] [--implicit STR] [--at RFC3339] [--issuer ISS]\n"
        "         [--audience AUD]... [--leeway DURATION]\n"
        "  KEY: --key KEY, --key -, --key-file FILE or --key-env NAME\n",
}
HELP["password"] = "usage: prodready password hash|verify ...\n"
HELP["token"] = "usage: prodready token issue|verify ...\n"
HELP[""] = ("usage: python3 -m prodready password hash|verify ... | token issue|verify ...\n"
            + "".join(HELP[k] for k in ("password hash", "password verify", "token issue",
                                        "token verify")))


def scan(args, with_value):
    """The C command's flag scanner: (flag, value) pairs in order, flag None
    for a positional; "--name value" or "--name=value"; "--" ends flags."""
    out, i = [], 0
    while i < len(args):
        tok = args[i]
        i += 1
        if tok == "--":
            if i < len(args):
                out.append((None, args[i]))
                i += 1
            continue
        if not tok.startswith("--") or tok == "--" or len(tok) == 2:
            out.append((None, tok))
            continue
        name, eq, value = tok[2:].partition("=")
        if len(name) >= 64:
            raise Usage(f"unknown option '{tok[:40]}...'")
        if name not in with_value:
            if eq:
                raise Usage(f"option --{name} takes no value")
            out.append((name, None))
            continue
        if not eq:
            if i >= len(args):
                raise Usage(f"option --{name} needs a value")
            value = args[i]
            i += 1
        out.append((name, value))
    return out


def read_stdin(limit):
    """Up to limit + 1 bytes of standard input (one more tells "too long")."""
    data, stdin = b"", sys.stdin.buffer
    while len(data) <= limit:
        chunk = stdin.read(limit + 1 - len(data))
        if not chunk:
            break
        data += chunk
    return data


def strip_newline(b):
    if b.endswith(b"\n"):
        b = b[:-1]
        if b.endswith(b"\r"):
            b = b[:-1]
    return b


def u32(text):
    if not text or not text.isdigit() or not text.isascii() or int(text) > 0xFFFFFFFF:
        raise ValueError
    return int(text)


def duration_ms(text):
    units = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}
    digits = len(text) - len(text.lstrip("0123456789"))
    if digits == 0 or digits > 15 or not text[:digits].isascii():
        raise ValueError
    unit = text[digits:]
    if unit not in units:
        raise ValueError
    return int(text[:digits]) * units[unit]


def subcommand(args, command, subs):
    """(sub, rest) of "command sub ...", or the C command's usage errors."""
    if not args:
        raise Usage(f"usage: prodready {command} {'|'.join(subs)} ...")
    if args[0] not in subs:
        raise Usage(f"{command}: unknown subcommand '{args[0][:40]}' ({', '.join(subs)})")
    return args[0], args[1:]


# ---- password ---------------------------------------------------------------

def password(args):
    sub, rest = subcommand(args, "password", ("hash", "verify"))
    allowed = {"hash": {"preset", "t", "m", "p", "allow-empty"}, "verify": {"allow-legacy"}}[sub]
    opts, phc = {}, None
    for flag, value in scan(rest, {"preset", "t", "m", "p"}):
        if flag is None:
            if sub != "verify" or phc is not None:
                raise Usage(f"password: unexpected argument '{value[:40]}'")
            phc = value
        elif flag not in allowed:
            raise Usage(f"password: unknown option --{flag}")
        else:
            opts[flag] = value
    if sub == "verify" and phc is None:
        raise Usage("password: missing the PHC hash argument")
    preset = opts.get("preset")
    cost = [opts.get(k) for k in ("t", "m", "p")]
    if preset and any(c is not None for c in cost):
        raise Usage("password: use either --preset or --t/--m/--p")
    try:
        kwargs = {}
        if any(c is not None for c in cost):
            try:
                t, m, p = (u32(c) if c is not None else d for c, d in zip(cost, (2, 19456, 1)))
            except ValueError:
                raise Usage("password: invalid parameters (need t>=1, 1<=p<=16, m>=8*p KiB, "
                            "within t<=16, m<=1048576)") from None
            kwargs = {"time_cost": t, "memory_cost": m, "parallelism": p}
        hasher = PasswordHasher(preset, allow_legacy="allow-legacy" in opts, **kwargs)
    except InvalidInput:
        if preset:
            raise Usage(f"password: unknown preset '{preset[:40]}' (owasp, rfc9106-low-memory, "
                        "moderate, sensitive)") from None
        raise Usage("password: invalid parameters (need t>=1, 1<=p<=16, m>=8*p KiB, "
                    "within t<=16, m<=1048576)") from None
    raw = read_stdin(PASSWORD_MAX + 2)
    pw = strip_newline(raw)
    if len(raw) > PASSWORD_MAX + 2 or len(pw) > PASSWORD_MAX:
        raise Usage(f"password longer than {PASSWORD_MAX} bytes (the limit)")
    if sub == "hash":
        if not pw and "allow-empty" not in opts:
            raise Usage("password hash: the password on standard input is empty (pass "
                        "--allow-empty to hash it anyway)")
        try:
            print(hasher.hash(pw))
        except ProdreadyError as e:
            raise Usage(f"password hash: {e.phrase}") from None
        return YES
    try:
        hasher.verify(phc, pw)
        return YES
    except VerifyMismatchError:
        return NO
    except TooBig:
        raise Usage("password verify: hash parameters exceed the caps (t<=16, m<=1048576 KiB, "
                    "p<=16)") from None
    except Unsupported:
        raise Usage("password verify: legacy crypt(3) hash: pass --allow-legacy to accept "
                    "it") from None
    except NotFound:
        raise Usage("password verify: hash uses a pepper (keyid) this command does not "
                    "have") from None
    except InvalidInput:
        raise Usage("password verify: malformed or out-of-range hash") from None
    except ProdreadyError as e:
        raise Usage(f"password verify: {e.phrase}") from None


# ---- token ------------------------------------------------------------------

TOKEN_VALUE_FLAGS = {"purpose", "key", "key-file", "key-env", "ttl", "claim", "claim-json",
                     "footer", "implicit", "at", "issuer", "audience", "leeway"}


def read_key(o):
    sources = [s for s in ("key", "key-file", "key-env") if s in o]
    if len(sources) != 1:
        raise Usage("token: give the key once: --key KEY, --key -, --key-file FILE or "
                    "--key-env NAME")
    src = sources[0]
    if src == "key" and o["key"] != "-":
        return o["key"].encode()
    if src == "key":
        where, data = "standard input", read_stdin(KEY_MAX)
    elif src == "key-file":
        where = o["key-file"]
        try:
            with open(where, "rb") as f:
                data = f.read(KEY_MAX + 1)
        except OSError as e:
            raise Usage(f"token: cannot read the key from {where[:200]}: {e.strerror}") from None
    else:
        where = o["key-env"]
        if where not in os.environ:
            raise Usage(f"token: --key-env: {where[:60]} is not set")
        data = os.environb[where.encode()]
    if len(data) > KEY_MAX:
        raise Usage(f"token: key from {where[:200]} longer than {KEY_MAX} bytes")
    data = strip_newline(data)
    if b"\0" in data:
        raise Usage(f"token: the key from {where[:200]} holds a NUL byte")
    return data


def load_key(o, local, issuing):
    text = read_key(o).decode("utf-8", "replace")
    try:
        if text.startswith("k4."):
            key = Key.from_paserk(text)
        elif len(text) == 64:
            key = Key.from_hex("local" if local else "public", text)
        elif len(text) == 128 and not local:
            key = Key.from_hex("secret", text)
        else:
            raise InvalidInput()
    except (InvalidInput, ClientError):
        raise Usage("token: the key is not a valid v4 key (PASERK k4.*, or 64/128 hex "
                    "digits)") from None
    kind = key.kind
    fits = kind == "local" if local else (kind == "secret" if issuing else kind != "local")
    if not fits:
        raise Usage("token: the key does not fit --purpose " + ("local" if local else "public")
                    + (" (signing needs a k4.secret key)" if not local and issuing else ""))
    return key


def token(args):
    sub, rest = subcommand(args, "token", ("issue", "verify"))
    verify = sub == "verify"
    o, claims, audiences, tok = {}, [], [], None
    for flag, value in scan(rest, TOKEN_VALUE_FLAGS):
        if flag is None:
            if not verify or tok is not None:
                raise Usage(f"token: unexpected argument '{value[:40]}'")
            tok = value
        elif flag in ("purpose", "key", "key-file", "key-env", "footer", "implicit"):
            o[flag] = value
        elif not verify and flag == "ttl":
            o[flag] = value
        elif not verify and flag in ("claim", "claim-json"):
            if len(claims) == 64:
                raise Usage("token: more than 64 claims")
            claims.append((flag == "claim-json", value))
        elif verify and flag in ("at", "issuer", "leeway"):
            o[flag] = value
        elif verify and flag == "audience":
            if len(audiences) == 16:
                raise Usage("token: more than 16 audiences")
            audiences.append(value)
        else:
            raise Usage(f"token: unknown option --{flag}")
    if o.get("purpose") not in ("local", "public"):
        raise Usage("token: --purpose local|public is required")
    if not any(k in o for k in ("key", "key-file", "key-env")):
        raise Usage("token: a key is required: --key KEY (PASERK or hex), --key -, "
                    "--key-file FILE or --key-env NAME")
    if verify and tok is None:
        raise Usage("token verify: missing the TOKEN argument (- reads standard input)")
    if verify and o.get("key") == "-" and tok == "-":
        raise Usage("token verify: --key - and TOKEN - cannot both read standard input")
    if not verify and "ttl" not in o:
        raise Usage("token issue: --ttl is required: tokens must expire")
    local = o["purpose"] == "local"
    return verify_token(o, local, audiences, tok) if verify else issue_token(o, local, claims)


def is_json_object(text):
    """One JSON object and nothing else, duplicate keys refused: what the
    library's footer rules take."""
    import json

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError("duplicate key")
        return dict(pairs)

    def no_constants(name):
        raise ValueError(name)  # NaN and Infinity are not JSON

    try:
        value = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict)


def issue_token(o, local, claims):
    try:
        ttl = duration_ms(o["ttl"])
        if ttl <= 0:
            raise ValueError
    except ValueError:
        raise Usage("token issue: --ttl wants a duration like 15m, 500ms, 2h, 7d") from None
    if "footer" in o and not is_json_object(o["footer"]):
        raise Usage("token issue: --footer must be a JSON object")
    key = load_key(o, local, True)
    values, not_before = {}, None
    for is_json, spec in claims:
        name, eq, value = spec.partition("=")
        if not eq or not name:
            raise Usage("token issue: --claim wants name=value")
        if len(name.encode()) >= 80:
            raise Usage("token issue: claim name too long")
        if name in ("exp", "iat"):
            raise Usage(f"token issue: {name} is set by the tool (use --ttl)")
        if name == "nbf":
            not_before = value
            continue
        values[name] = RawJSON(value) if is_json else value
    purpose = "local" if local else "public"
    try:
        if "footer" in o:
            text = Token.issue_raw(key, purpose, values, ttl=ttl / 1000, not_before=not_before,
                                   footer=o["footer"], implicit=o.get("implicit"))
        else:
            text = Token.issue(Keyring([key]), purpose, values, ttl=ttl / 1000,
                               not_before=not_before, implicit=o.get("implicit"))
    except InvalidInput as e:
        if not_before is not None and e.detail == "not an RFC 3339 time":
            raise Usage("token issue: nbf must be an RFC 3339 time") from None
        bad = next((n for n, v in values.items() if isinstance(v, RawJSON)
                    and e.detail == f"claim {n!r}"), None)
        if bad is not None:
            raise Usage(f"token issue: --claim-json {bad}: value is not JSON") from None
        raise Usage(f"token issue: {e.detail or e.phrase}") from None
    except ProdreadyError as e:
        raise Usage(f"token issue: {e.phrase}") from None
    print(text)
    return YES


def verify_token(o, local, audiences, tok):
    options = {"audience": audiences}
    if "at" in o:
        options["at"] = o["at"]
    if "leeway" in o:
        try:
            options["leeway"] = duration_ms(o["leeway"]) / 1000
        except ValueError:
            raise Usage("token verify: --leeway wants a duration") from None
    key = load_key(o, local, False)
    for k in ("footer", "implicit", "issuer"):
        if k in o:
            options[k] = o[k]
    if tok == "-":
        data = read_stdin(TOKEN_MAX + 2)
        while data.endswith((b"\n", b"\r")):
            data = data[:-1]
        if len(data) > TOKEN_MAX:
            sys.stderr.write(f"rejected: invalid\ntoken longer than {TOKEN_MAX} bytes\n")
            return NO
        tok = data
    try:
        text = Token.verify_text(Keyring([key]), "local" if local else "public", tok, **options)
    except (ExpiredToken, NotYetValid, InvalidToken) as e:
        kind = {ExpiredToken: "expired", NotYetValid: "not_yet_valid",
                InvalidToken: "invalid"}[type(e)]
        sys.stderr.write(f"rejected: {kind}\n{e.detail or e.phrase}\n")
        return NO
    except InvalidInput as e:
        if e.detail == "not an RFC 3339 time":
            raise Usage("token verify: --at wants an RFC 3339 time") from None
        raise Usage(f"token verify: {e.detail or e.phrase}") from None
    except ProdreadyError as e:
        raise Usage(f"token verify: {e.phrase}") from None
    print(text)
    return YES


def main(argv):
    try:
        head = argv[:argv.index("--")] if "--" in argv else argv
        if not argv:
            return usage_line("usage: prodready COMMAND [ARGS] (see prodready --help)")
        if argv[0] in ("help", "--help", "-h"):
            topic = " ".join(a for a in argv[1:3] if not a.startswith("-"))
            sys.stdout.write(HELP.get(topic, HELP[""]))
            return YES
        commands = {"password": password, "token": token}
        if argv[0] in commands:
            if "--help" in head or "-h" in head:
                sub = argv[1] if len(argv) > 1 and not argv[1].startswith("-") else ""
                sys.stdout.write(HELP.get(f"{argv[0]} {sub}".strip(), HELP[argv[0]]))
                return YES
            return commands[argv[0]](argv[1:])
        return usage_line(f"unknown command '{argv[0][:40]}' (this mirror has password and "
                          "token)")
    except Usage as e:
        return usage_line(e)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
