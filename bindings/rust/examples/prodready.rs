//! The `prodready` command's `password hash`, `password verify`, `token
//! issue` and `token verify`, with the same arguments, standard input,
//! output and exit codes (docs/cli.md), written only against the crate's
//! safe API. Exit 0 success, 1 a negative answer (mismatch, rejected), 2
//! bad usage or malformed input with one `prodready: ` line on stderr.
//!
//!     cargo build --offline --example prodready
//!     echo -n 'pw' | target/debug/examples/prodready password hash --t 1 --m 1024 --p 1
use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use prodready::token::v4;
use prodready::{
    encoding, Claims, Clock, IssueOptions, Key, KeyKind, Keyring, PasswordPolicy, Purpose, SecretString, Status,
    Verifier,
};

const YES: u8 = 0;
const NO: u8 = 1;
const USAGE: u8 = 2;
const PASSWORD_MAX: usize = 4096;
const TOKEN_MAX: usize = 1024 * 1024;
const KEY_MAX: usize = 1024;

/// Bad usage: its one stderr line.
struct Usage(String);

type Run = Result<u8, Usage>;

fn usage<T>(msg: impl Into<String>) -> Result<T, Usage> {
    Err(Usage(msg.into()))
}

fn cut(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

const HELP_HASH: &str = "usage: prodready password hash [--preset NAME | --t N --m KIB --p N] [--allow-empty]\n  reads the password from standard input (one trailing newline stripped; at most\n  4096 bytes) and prints its PHC string (argon2id).\n";
const HELP_VERIFY: &str = "usage: prodready password verify [--allow-legacy] PHC\n  reads the password from standard input; exit 0 when it matches PHC, 1 when\n  not, 2 when PHC is malformed, over the cost caps or refused.\n";
const HELP_ISSUE: &str = "usage: prodready token issue --purpose local|public KEY --ttl DURATION\n         [--claim name=value]... [--claim-json name=JSON]... [--footer JSON]\n         [--implicit STR]\n  KEY: --key KEY, --key -, --key-file FILE or --key-env NAME\n";
const HELP_TOKEN_VERIFY: &str = "usage: prodready token verify --purpose local|public KEY TOKEN|-\n         [--footer JSON] [--implicit STR] [--at RFC3339] [--issuer ISS]\n         [--audience AUD]... [--leeway DURATION]\n  KEY: --key KEY, --key -, --key-file FILE or --key-env NAME\n";

fn help(topic: &str) -> String {
    match topic {
        "password hash" => HELP_HASH.into(),
        "password verify" => HELP_VERIFY.into(),
        "token issue" => HELP_ISSUE.into(),
        "token verify" => HELP_TOKEN_VERIFY.into(),
        "password" => "usage: prodready password hash|verify ...\n".into(),
        "token" => "usage: prodready token issue|verify ...\n".into(),
        _ => format!(
            "usage: prodready password hash|verify ... | token issue|verify ... (the Rust binding's mirror)\n{HELP_HASH}{HELP_VERIFY}{HELP_ISSUE}{HELP_TOKEN_VERIFY}"
        ),
    }
}

/// The C command's flag scanner: (flag, value) pairs in order, flag None
/// for a positional; `--name value` or `--name=value`; `--` ends flags.
/// (flag, value): flag None for a positional argument.
type Flag = (Option<String>, Option<String>);

fn scan(args: &[String], with_value: &[&str]) -> Result<Vec<Flag>, Usage> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let tok = &args[i];
        i += 1;
        if tok == "--" {
            if i < args.len() {
                out.push((None, Some(args[i].clone())));
                i += 1;
            }
            continue;
        }
        if !tok.starts_with("--") || tok.len() == 2 {
            out.push((None, Some(tok.clone())));
            continue;
        }
        let body = &tok[2..];
        let (name, value) = match body.find('=') {
            Some(e) => (&body[..e], Some(body[e + 1..].to_string())),
            None => (body, None),
        };
        if name.len() >= 64 {
            return usage(format!("unknown option '{}...'", cut(tok, 40)));
        }
        if !with_value.contains(&name) {
            if value.is_some() {
                return usage(format!("option --{name} takes no value"));
            }
            out.push((Some(name.to_string()), None));
            continue;
        }
        let value = match value {
            Some(v) => v,
            None if i < args.len() => {
                i += 1;
                args[i - 1].clone()
            }
            None => return usage(format!("option --{name} needs a value")),
        };
        out.push((Some(name.to_string()), Some(value)));
    }
    Ok(out)
}

/// Up to `limit + 1` bytes of standard input (one more tells "too long").
fn read_stdin(limit: usize) -> Result<Vec<u8>, Usage> {
    let mut data = Vec::new();
    match std::io::stdin().lock().take(limit as u64 + 1).read_to_end(&mut data) {
        Ok(_) => Ok(data),
        Err(e) => usage(format!("cannot read standard input: {e}")),
    }
}

fn strip_newline(b: &mut Vec<u8>) {
    if b.last() == Some(&b'\n') {
        b.pop();
        if b.last() == Some(&b'\r') {
            b.pop();
        }
    }
}

/// Wipe a buffer that held a password or a key.
fn wipe(mut b: Vec<u8>) {
    for x in b.iter_mut() {
        // Volatile: the compiler may not drop a write to memory about to be freed.
        unsafe { std::ptr::write_volatile(x, 0) };
    }
    drop(b);
}

fn u32_arg(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u32>().ok()
}

fn duration(text: &str) -> Option<Duration> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 15 {
        return None;
    }
    let v: u64 = text[..digits].parse().ok()?;
    let unit = match &text[digits..] {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    v.checked_mul(unit).filter(|ms| *ms <= i64::MAX as u64).map(Duration::from_millis)
}

fn subcommand<'a>(args: &'a [String], command: &str, subs: &[&str]) -> Result<(&'a str, &'a [String]), Usage> {
    match args.first() {
        None => usage(format!("usage: prodready {command} {} ...", subs.join("|"))),
        Some(s) if subs.contains(&s.as_str()) => Ok((s.as_str(), &args[1..])),
        Some(s) => usage(format!("{command}: unknown subcommand '{}' ({})", cut(s, 40), subs.join(", "))),
    }
}

// ---- password ---------------------------------------------------------

const BAD_PARAMS: &str = "password: invalid parameters (need t>=1, 1<=p<=16, m>=8*p KiB, within t<=16, m<=1048576)";

fn password(args: &[String]) -> Run {
    let (sub, rest) = subcommand(args, "password", &["hash", "verify"])?;
    let allowed: &[&str] = if sub == "hash" { &["preset", "t", "m", "p", "allow-empty"] } else { &["allow-legacy"] };
    let (mut preset, mut cost, mut allow_empty, mut allow_legacy, mut phc) =
        (None, [None, None, None], false, false, None);
    for (flag, value) in scan(rest, &["preset", "t", "m", "p"])? {
        match flag.as_deref() {
            None => {
                if sub != "verify" || phc.is_some() {
                    return usage(format!("password: unexpected argument '{}'", cut(&value.unwrap_or_default(), 40)));
                }
                phc = value;
            }
            Some(f) if !allowed.contains(&f) => return usage(format!("password: unknown option --{f}")),
            Some("preset") => preset = value,
            Some("t") => cost[0] = value,
            Some("m") => cost[1] = value,
            Some("p") => cost[2] = value,
            Some("allow-empty") => allow_empty = true,
            Some(_) => allow_legacy = true,
        }
    }
    if sub == "verify" && phc.is_none() {
        return usage("password: missing the PHC hash argument");
    }
    let custom = cost.iter().any(Option::is_some);
    if preset.is_some() && custom {
        return usage("password: use either --preset or --t/--m/--p");
    }
    let mut policy = match &preset {
        Some(p) => PasswordPolicy::with_preset(p).or_else(|_| {
            usage(format!("password: unknown preset '{}' (owasp, rfc9106-low-memory, moderate, sensitive)", cut(p, 40)))
        })?,
        None => PasswordPolicy::new().or_else(|e| usage(format!("password: {}", e.phrase())))?,
    };
    if custom {
        let defaults = [2u32, 19456, 1];
        let mut v = [0u32; 3];
        for i in 0..3 {
            v[i] = match &cost[i] {
                None => defaults[i],
                Some(text) => u32_arg(text).ok_or_else(|| Usage(BAD_PARAMS.into()))?,
            };
        }
        policy.set_params(v[0], v[1], v[2]).or_else(|_| usage(BAD_PARAMS))?;
    }
    if allow_legacy {
        policy.set_allow_legacy(true).or_else(|e| usage(format!("password: --allow-legacy: {}", e.phrase())))?;
    }
    let mut pw = read_stdin(PASSWORD_MAX + 2)?;
    let raw_len = pw.len();
    strip_newline(&mut pw);
    if raw_len > PASSWORD_MAX + 2 || pw.len() > PASSWORD_MAX {
        wipe(pw);
        return usage(format!("password longer than {PASSWORD_MAX} bytes (the limit)"));
    }
    let answer = if sub == "hash" {
        if pw.is_empty() && !allow_empty {
            wipe(pw);
            return usage(
                "password hash: the password on standard input is empty (pass --allow-empty to hash it anyway)",
            );
        }
        let r = policy.hash(&pw);
        wipe(pw);
        let phc = r.or_else(|e| usage(format!("password hash: {}", e.phrase())))?;
        println!("{phc}");
        YES
    } else {
        let r = policy.verify(phc.as_deref().unwrap_or(""), &pw);
        wipe(pw);
        match r {
            Ok(()) => YES,
            Err(e) if e.status() == Status::Mismatch => NO,
            Err(e) => {
                let why = match e.status() {
                    Status::TooBig => "hash parameters exceed the caps (t<=16, m<=1048576 KiB, p<=16)",
                    Status::Unsupported => "legacy crypt(3) hash: pass --allow-legacy to accept it",
                    Status::NotFound => "hash uses a pepper (keyid) this command does not have",
                    Status::Invalid => "malformed or out-of-range hash",
                    _ => e.phrase(),
                };
                return usage(format!("password verify: {why}"));
            }
        }
    };
    Ok(answer)
}

// ---- token ------------------------------------------------------------

const TOKEN_FLAGS: &[&str] = &[
    "purpose",
    "key",
    "key-file",
    "key-env",
    "ttl",
    "claim",
    "claim-json",
    "footer",
    "implicit",
    "at",
    "issuer",
    "audience",
    "leeway",
];

#[derive(Default)]
struct TokenArgs {
    purpose: Option<String>,
    key: Option<String>,
    key_file: Option<String>,
    key_env: Option<String>,
    ttl: Option<String>,
    footer: Option<String>,
    implicit: Option<String>,
    at: Option<String>,
    issuer: Option<String>,
    leeway: Option<String>,
    claims: Vec<(bool, String)>,
    audiences: Vec<String>,
    token: Option<String>,
}

/// The key's text from exactly one of --key, --key -, --key-file, --key-env,
/// as a secret (wiped when dropped).
fn read_key(o: &TokenArgs) -> Result<SecretString, Usage> {
    let sources = [o.key.is_some(), o.key_file.is_some(), o.key_env.is_some()].iter().filter(|b| **b).count();
    if sources != 1 {
        return usage("token: give the key once: --key KEY, --key -, --key-file FILE or --key-env NAME");
    }
    let (from, mut data) = if let Some(k) = o.key.as_deref().filter(|k| *k != "-") {
        ("--key".to_string(), k.as_bytes().to_vec())
    } else if o.key.is_some() {
        ("standard input".to_string(), read_stdin(KEY_MAX)?)
    } else if let Some(path) = &o.key_file {
        let mut buf = Vec::new();
        let r = std::fs::File::open(path).and_then(|f| f.take(KEY_MAX as u64 + 1).read_to_end(&mut buf));
        if let Err(e) = r {
            let reason = e.to_string();
            let reason = reason.split(" (os error").next().unwrap_or(&reason).to_string();
            return usage(format!("token: cannot read the key from {}: {reason}", cut(path, 200)));
        }
        (path.clone(), buf)
    } else {
        let name = o.key_env.clone().unwrap_or_default();
        match std::env::var_os(&name) {
            None => return usage(format!("token: --key-env: {} is not set", cut(&name, 60))),
            Some(v) => {
                use std::os::unix::ffi::OsStringExt;
                (name, v.into_vec())
            }
        }
    };
    if data.len() > KEY_MAX {
        wipe(data);
        return usage(format!("token: key from {} longer than {KEY_MAX} bytes", cut(&from, 200)));
    }
    strip_newline(&mut data);
    if data.contains(&0) {
        wipe(data);
        return usage(format!("token: the key from {} holds a NUL byte", cut(&from, 200)));
    }
    let text = String::from_utf8_lossy(&data).into_owned();
    wipe(data);
    Ok(SecretString::from(text))
}

fn load_key(o: &TokenArgs, local: bool, issuing: bool) -> Result<Key, Usage> {
    let text = read_key(o)?;
    let t = text.expose();
    let key = if t.starts_with("k4.") {
        Key::from_paserk(t)
    } else if t.len() == 64 {
        Key::from_hex(if local { KeyKind::Local } else { KeyKind::Public }, t)
    } else if t.len() == 128 && !local {
        Key::from_hex(KeyKind::Secret, t)
    } else {
        Err(prodready::Error::new(Status::Invalid))
    };
    let key = key.or_else(|_| usage("token: the key is not a valid v4 key (PASERK k4.*, or 64/128 hex digits)"))?;
    let kind = key.kind();
    let fits = if local {
        kind == KeyKind::Local
    } else if issuing {
        kind == KeyKind::Secret
    } else {
        kind != KeyKind::Local
    };
    if !fits {
        return usage(format!(
            "token: the key does not fit --purpose {}{}",
            if local { "local" } else { "public" },
            if !local && issuing { " (signing needs a k4.secret key)" } else { "" }
        ));
    }
    Ok(key)
}

fn token(args: &[String]) -> Run {
    let (sub, rest) = subcommand(args, "token", &["issue", "verify"])?;
    let verify = sub == "verify";
    let mut o = TokenArgs::default();
    for (flag, value) in scan(rest, TOKEN_FLAGS)? {
        let v = value.clone().unwrap_or_default();
        match flag.as_deref() {
            None => {
                if !verify || o.token.is_some() {
                    return usage(format!("token: unexpected argument '{}'", cut(&v, 40)));
                }
                o.token = Some(v);
            }
            Some("purpose") => o.purpose = Some(v),
            Some("key") => o.key = Some(v),
            Some("key-file") => o.key_file = Some(v),
            Some("key-env") => o.key_env = Some(v),
            Some("footer") => o.footer = Some(v),
            Some("implicit") => o.implicit = Some(v),
            Some("ttl") if !verify => o.ttl = Some(v),
            Some(f @ ("claim" | "claim-json")) if !verify => {
                if o.claims.len() == 64 {
                    return usage("token: more than 64 claims");
                }
                o.claims.push((f == "claim-json", v));
            }
            Some("at") if verify => o.at = Some(v),
            Some("issuer") if verify => o.issuer = Some(v),
            Some("leeway") if verify => o.leeway = Some(v),
            Some("audience") if verify => {
                if o.audiences.len() == 16 {
                    return usage("token: more than 16 audiences");
                }
                o.audiences.push(v);
            }
            Some(f) => return usage(format!("token: unknown option --{f}")),
        }
    }
    match o.purpose.as_deref() {
        Some("local") | Some("public") => {}
        _ => return usage("token: --purpose local|public is required"),
    }
    if o.key.is_none() && o.key_file.is_none() && o.key_env.is_none() {
        return usage(
            "token: a key is required: --key KEY (PASERK or hex), --key -, --key-file FILE or --key-env NAME",
        );
    }
    if verify && o.token.is_none() {
        return usage("token verify: missing the TOKEN argument (- reads standard input)");
    }
    if verify && o.key.as_deref() == Some("-") && o.token.as_deref() == Some("-") {
        return usage("token verify: --key - and TOKEN - cannot both read standard input");
    }
    if !verify && o.ttl.is_none() {
        return usage("token issue: --ttl is required: tokens must expire");
    }
    let local = o.purpose.as_deref() == Some("local");
    if verify {
        verify_token(&o, local)
    } else {
        issue_token(&o, local)
    }
}

/// One JSON object and nothing after it, duplicate keys refused: checked
/// by the library's own parser, as the C command does.
fn is_json_object(text: &str) -> bool {
    let t = text.trim_start_matches([' ', '\t', '\r', '\n']);
    t.starts_with('{') && Claims::new().map_or(false, |mut c| c.json("footer", text).is_ok())
}

fn issue_token(o: &TokenArgs, local: bool) -> Run {
    let ttl = o.ttl.as_deref().and_then(duration).filter(|d| !d.is_zero());
    let ttl = ttl.ok_or_else(|| Usage("token issue: --ttl wants a duration like 15m, 500ms, 2h, 7d".into()))?;
    if let Some(f) = &o.footer {
        if !is_json_object(f) {
            return usage("token issue: --footer must be a JSON object");
        }
    }
    let key = load_key(o, local, true)?;
    let mut claims = Claims::new().or_else(|e| usage(format!("token issue: {}", e.phrase())))?;
    claims.ttl(ttl).or_else(|e| usage(format!("token issue: {}", e.phrase())))?;
    for (is_json, spec) in &o.claims {
        let (name, value) = match spec.find('=') {
            Some(e) if e > 0 => (&spec[..e], &spec[e + 1..]),
            _ => return usage("token issue: --claim wants name=value"),
        };
        if name.len() >= 80 {
            return usage("token issue: claim name too long");
        }
        if name == "exp" || name == "iat" {
            return usage(format!("token issue: {name} is set by the tool (use --ttl)"));
        }
        let r = if name == "nbf" {
            let ns = encoding::rfc3339_parse(value).or_else(|_| usage("token issue: nbf must be an RFC 3339 time"))?;
            claims.not_before_ns(ns).map(|_| ())
        } else if *is_json {
            match claims.json(name, value) {
                Err(e) if e.status() == Status::Invalid => {
                    return usage(format!("token issue: --claim-json {name}: value is not JSON"))
                }
                r => r.map(|_| ()),
            }
        } else {
            claims.string(name, value).map(|_| ())
        };
        r.or_else(|e| usage(format!("token issue: claim {name}: {}", e.phrase())))?;
    }
    let implicit = o.implicit.as_deref().unwrap_or("").as_bytes();
    let made = match &o.footer {
        // The footer exactly as given, so a verifier can expect it byte for byte.
        Some(footer) => claims.payload(None).and_then(|payload| {
            if local {
                v4::encrypt(&key, payload.as_bytes(), footer.as_bytes(), implicit)
            } else {
                v4::sign(&key, payload.as_bytes(), footer.as_bytes(), implicit)
            }
        }),
        None => Keyring::new().and_then(|ring| {
            ring.add(&key, true)?;
            let purpose = if local { Purpose::Local } else { Purpose::Public };
            ring.issue_with(purpose, &claims, &IssueOptions { implicit, ..IssueOptions::default() })
        }),
    };
    let token = made.or_else(|e| usage(format!("token issue: {}", e.phrase())))?;
    println!("{token}");
    Ok(YES)
}

fn verify_token(o: &TokenArgs, local: bool) -> Run {
    let clock = match &o.at {
        None => None,
        Some(at) => {
            let ns = encoding::rfc3339_parse(at).or_else(|_| usage("token verify: --at wants an RFC 3339 time"))?;
            Some(Clock::manual(ns, 0).or_else(|_| usage("token verify: out of memory"))?)
        }
    };
    let leeway = match &o.leeway {
        None => Duration::from_secs(30),
        Some(l) => duration(l).ok_or_else(|| Usage("token verify: --leeway wants a duration".into()))?,
    };
    let key = load_key(o, local, false)?;
    let fail = |e: prodready::Error| Usage(format!("token verify: {}", e.phrase()));
    let ring = Keyring::new().map_err(fail)?;
    ring.add(&key, false).map_err(fail)?;
    let mut v = Verifier::new(&ring, if local { Purpose::Local } else { Purpose::Public }).map_err(fail)?;
    if let Some(c) = &clock {
        v.clock(c).map_err(fail)?;
    }
    v.leeway(leeway, leeway).map_err(fail)?;
    if let Some(f) = &o.footer {
        v.footer(f.as_bytes()).map_err(fail)?;
    }
    if let Some(i) = &o.issuer {
        v.issuer(i).map_err(fail)?;
    }
    for a in &o.audiences {
        v.audience(a).map_err(fail)?;
    }
    let token = match o.token.as_deref() {
        Some("-") => {
            let mut data = read_stdin(TOKEN_MAX + 2)?;
            while matches!(data.last(), Some(b'\n') | Some(b'\r')) {
                data.pop();
            }
            if data.len() > TOKEN_MAX {
                eprint!("rejected: invalid\ntoken longer than {TOKEN_MAX} bytes\n");
                return Ok(NO);
            }
            String::from_utf8_lossy(&data).into_owned()
        }
        other => other.unwrap_or("").to_string(),
    };
    let implicit = o.implicit.as_deref().unwrap_or("").as_bytes();
    match v.verify_with_implicit(&token, implicit) {
        Ok(verified) => {
            println!("{}", verified.claims_json());
            Ok(YES)
        }
        Err(e) => {
            let kind = match e.status() {
                Status::Expired => "expired",
                Status::NotYet => "not_yet_valid",
                Status::BadToken => "invalid",
                _ => return usage(format!("token verify: {}", e.phrase())),
            };
            eprint!("rejected: {kind}\n{}\n", e.detail().unwrap_or_else(|| e.phrase()));
            Ok(NO)
        }
    }
}

fn run(argv: &[String]) -> Run {
    let first = match argv.first() {
        Some(f) => f,
        None => return usage("usage: prodready COMMAND [ARGS] (see prodready --help)"),
    };
    if first == "help" || first == "--help" || first == "-h" {
        let topic: Vec<&str> = argv[1..].iter().take(2).map(String::as_str).filter(|a| !a.starts_with('-')).collect();
        print!("{}", help(&topic.join(" ")));
        return Ok(YES);
    }
    if first != "password" && first != "token" {
        return usage(format!("unknown command '{}' (this mirror has password and token)", cut(first, 40)));
    }
    let head = argv.iter().position(|a| a == "--").map_or(argv, |i| &argv[..i]);
    if head.iter().any(|a| a == "--help" || a == "-h") {
        let sub = argv.get(1).filter(|a| !a.starts_with('-')).map_or("", String::as_str);
        let known = ["hash", "verify", "issue"].contains(&sub);
        print!("{}", help(&if known { format!("{first} {sub}") } else { first.to_string() }));
        return Ok(YES);
    }
    prodready::init().or_else(|e| usage(format!("cannot initialise libprodready: {e}")))?;
    if first == "password" {
        password(&argv[1..])
    } else {
        token(&argv[1..])
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    let code = match run(&argv) {
        Ok(c) => c,
        Err(Usage(msg)) => {
            let line = msg.replace(['\n', '\r'], " ");
            let _ = writeln!(std::io::stderr(), "prodready: {line}");
            USAGE
        }
    };
    let _ = std::io::stdout().flush();
    ExitCode::from(code)
}
