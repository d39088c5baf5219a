// Command prodready-go is the prodready command's password hash, password
// verify, token issue and token verify, with the same arguments, standard
// input, output and exit codes (docs/cli.md), written only against the
// Go package's API. Exit 0 success, 1 a negative answer (mismatch,
// rejected), 2 bad usage or malformed input with one "prodready: " line
// on stderr.
//
//	cd bindings/go && go build -o prodready-go ./cmd/prodready-go
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"prodready"
)

const (
	yes          = 0
	no           = 1
	usageCode    = 2
	passwordMax  = 4096
	tokenMax     = 1024 * 1024
	keyMax       = 1024
	badParamsMsg = "password: invalid parameters (need t>=1, 1<=p<=16, m>=8*p KiB, within t<=16, m<=1048576)"
)

// usage is a bad usage: its one stderr line.
type usage string

func (u usage) Error() string { return string(u) }

func usagef(format string, a ...interface{}) error { return usage(fmt.Sprintf(format, a...)) }

func cut(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

const (
	helpHash        = "usage: prodready password hash [--preset NAME | --t N --m KIB --p N] [--allow-empty]\n  reads the password from standard input (one trailing newline stripped; at most\n  4096 bytes) and prints its PHC string (argon2id).\n"
	helpVerify      = "usage: prodready password verify [--allow-legacy] PHC\n  reads the password from standard input; exit 0 when it matches PHC, 1 when\n  not, 2 when PHC is malformed, over the cost caps or refused.\n"
	helpIssue       = "usage: prodready token issue --purpose local|public KEY --ttl DURATION\n         [--claim name=value]... [--claim-json name=JSON]... [--footer JSON]\n         [--implicit STR]\n  KEY: --key KEY, --key -, --key-file FILE or --key-env NAME\n"
	helpTokenVerify = "usage: prodready token verify --purpose local|public KEY TOKEN|-\n         [--footer JSON] [--implicit STR] [--at RFC3339] [--issuer ISS]\n         [--audience AUD]... [--leeway DURATION]\n  KEY: --key KEY, --key -, --key-file FILE or --key-env NAME\n"
)

func help(topic string) string {
	switch topic {
	case "password hash":
		return helpHash
	case "password verify":
		return helpVerify
	case "token issue":
		return helpIssue
	case "token verify":
		return helpTokenVerify
	case "password":
		return "usage: prodready password hash|verify ...\n"
	case "token":
		return "usage: prodready token issue|verify ...\n"
	}
	return "usage: prodready password hash|verify ... | token issue|verify ... (the Go binding's mirror)\n" +
		helpHash + helpVerify + helpIssue + helpTokenVerify
}

// flag is one scanned argument: name "" for a positional.
type flag struct {
	name, value string
	hasValue    bool
}

// scan is the C command's flag scanner: "--name value" or "--name=value";
// "--" ends the flags.
func scan(args []string, withValue map[string]bool) ([]flag, error) {
	var out []flag
	for i := 0; i < len(args); {
		tok := args[i]
		i++
		if tok == "--" {
			if i < len(args) {
				out = append(out, flag{value: args[i]})
				i++
			}
			continue
		}
		if !strings.HasPrefix(tok, "--") || len(tok) == 2 {
			out = append(out, flag{value: tok})
			continue
		}
		body := tok[2:]
		name, value, eq := strings.Cut(body, "=")
		if len(name) >= 64 {
			return nil, usagef("unknown option '%s...'", cut(tok, 40))
		}
		if !withValue[name] {
			if eq {
				return nil, usagef("option --%s takes no value", name)
			}
			out = append(out, flag{name: name})
			continue
		}
		if !eq {
			if i >= len(args) {
				return nil, usagef("option --%s needs a value", name)
			}
			value = args[i]
			i++
		}
		out = append(out, flag{name: name, value: value, hasValue: true})
	}
	return out, nil
}

func readStdin(limit int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(os.Stdin, int64(limit)+1))
	if err != nil {
		return nil, usagef("cannot read standard input: %v", err)
	}
	return b, nil
}

func stripNewline(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
		if len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
	}
	return b
}

func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

func u32(s string) (uint32, bool) {
	if s == "" {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 32)
	return uint32(v), err == nil
}

func duration(s string) (time.Duration, bool) {
	d := 0
	for d < len(s) && s[d] >= '0' && s[d] <= '9' {
		d++
	}
	if d == 0 || d > 15 {
		return 0, false
	}
	v, err := strconv.ParseInt(s[:d], 10, 64)
	if err != nil {
		return 0, false
	}
	units := map[string]int64{"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}
	u, ok := units[s[d:]]
	if !ok || v > (1<<63-1)/u {
		return 0, false
	}
	return time.Duration(v*u) * time.Millisecond, true
}

func subcommand(args []string, command string, subs ...string) (string, []string, error) {
	if len(args) == 0 {
		return "", nil, usagef("usage: prodready %s %s ...", command, strings.Join(subs, "|"))
	}
	for _, s := range subs {
		if args[0] == s {
			return s, args[1:], nil
		}
	}
	return "", nil, usagef("%s: unknown subcommand '%s' (%s)", command, cut(args[0], 40), strings.Join(subs, ", "))
}

func password(args []string) (int, error) {
	sub, rest, err := subcommand(args, "password", "hash", "verify")
	if err != nil {
		return 0, err
	}
	allowed := map[string]bool{"allow-legacy": true}
	if sub == "hash" {
		allowed = map[string]bool{"preset": true, "t": true, "m": true, "p": true, "allow-empty": true}
	}
	flags, err := scan(rest, map[string]bool{"preset": true, "t": true, "m": true, "p": true})
	if err != nil {
		return 0, err
	}
	var preset, phc string
	var havePHC, allowEmpty, allowLegacy bool
	cost := map[string]string{}
	for _, f := range flags {
		switch {
		case f.name == "":
			if sub != "verify" || havePHC {
				return 0, usagef("password: unexpected argument '%s'", cut(f.value, 40))
			}
			phc, havePHC = f.value, true
		case !allowed[f.name]:
			return 0, usagef("password: unknown option --%s", f.name)
		case f.name == "preset":
			preset = f.value
		case f.name == "allow-empty":
			allowEmpty = true
		case f.name == "allow-legacy":
			allowLegacy = true
		default:
			cost[f.name] = f.value
		}
	}
	if sub == "verify" && !havePHC {
		return 0, usage("password: missing the PHC hash argument")
	}
	if preset != "" && len(cost) > 0 {
		return 0, usage("password: use either --preset or --t/--m/--p")
	}
	opts := prodready.PasswordOptions{Preset: preset, AllowLegacy: allowLegacy}
	if len(cost) > 0 {
		vals := map[string]uint32{"t": 2, "m": 19456, "p": 1}
		for k, v := range cost {
			n, ok := u32(v)
			if !ok {
				return 0, usage(badParamsMsg)
			}
			vals[k] = n
		}
		if vals["t"] == 0 || vals["m"] == 0 || vals["p"] == 0 {
			return 0, usage(badParamsMsg)
		}
		opts.T, opts.MKiB, opts.P = vals["t"], vals["m"], vals["p"]
	}
	policy, err := prodready.NewPasswordPolicy(opts)
	if err != nil {
		if preset != "" {
			return 0, usagef("password: unknown preset '%s' (owasp, rfc9106-low-memory, moderate, sensitive)", cut(preset, 40))
		}
		return 0, usage(badParamsMsg)
	}
	defer policy.Close()
	raw, err := readStdin(passwordMax + 2)
	if err != nil {
		return 0, err
	}
	defer wipe(raw)
	pw := stripNewline(raw)
	if len(raw) > passwordMax+2 || len(pw) > passwordMax {
		return 0, usagef("password longer than %d bytes (the limit)", passwordMax)
	}
	ctx := context.Background()
	if sub == "hash" {
		if len(pw) == 0 && !allowEmpty {
			return 0, usage("password hash: the password on standard input is empty (pass --allow-empty to hash it anyway)")
		}
		h, err := policy.Hash(ctx, pw)
		if err != nil {
			return 0, usagef("password hash: %s", phrase(err))
		}
		fmt.Println(h)
		return yes, nil
	}
	err = policy.Verify(ctx, phc, pw)
	switch {
	case err == nil:
		return yes, nil
	case errors.Is(err, prodready.ErrMismatch):
		return no, nil
	case errors.Is(err, prodready.ErrTooBig):
		return 0, usage("password verify: hash parameters exceed the caps (t<=16, m<=1048576 KiB, p<=16)")
	case errors.Is(err, prodready.ErrUnsupported):
		return 0, usage("password verify: legacy crypt(3) hash: pass --allow-legacy to accept it")
	case errors.Is(err, prodready.ErrNotFound):
		return 0, usage("password verify: hash uses a pepper (keyid) this command does not have")
	case errors.Is(err, prodready.ErrInvalid):
		return 0, usage("password verify: malformed or out-of-range hash")
	}
	return 0, usagef("password verify: %s", phrase(err))
}

func phrase(err error) string {
	var e *prodready.Error
	if errors.As(err, &e) {
		return e.Status.Phrase()
	}
	return err.Error()
}

type tokenArgs struct {
	purpose, key, keyFile, keyEnv, ttl, footer, implicit, at, issuer, leeway, token string
	has                                                                             map[string]bool
	claims                                                                          []claimArg
	audiences                                                                       []string
}

type claimArg struct {
	json bool
	spec string
}

func readKey(o *tokenArgs) (string, error) {
	n := 0
	for _, k := range []string{"key", "key-file", "key-env"} {
		if o.has[k] {
			n++
		}
	}
	if n != 1 {
		return "", usage("token: give the key once: --key KEY, --key -, --key-file FILE or --key-env NAME")
	}
	var from string
	var data []byte
	switch {
	case o.has["key"] && o.key != "-":
		from, data = "--key", []byte(o.key)
	case o.has["key"]:
		from = "standard input"
		var err error
		if data, err = readStdin(keyMax); err != nil {
			return "", err
		}
	case o.has["key-file"]:
		from = o.keyFile
		f, err := os.Open(o.keyFile)
		if err == nil {
			data, err = io.ReadAll(io.LimitReader(f, keyMax+1))
			f.Close()
		}
		if err != nil {
			reason := err.Error()
			var pe *os.PathError
			if errors.As(err, &pe) {
				reason = pe.Err.Error()
				if len(reason) > 0 {
					reason = strings.ToUpper(reason[:1]) + reason[1:]
				}
			}
			return "", usagef("token: cannot read the key from %s: %s", cut(o.keyFile, 200), reason)
		}
	default:
		from = o.keyEnv
		v, ok := os.LookupEnv(o.keyEnv)
		if !ok {
			return "", usagef("token: --key-env: %s is not set", cut(o.keyEnv, 60))
		}
		data = []byte(v)
	}
	defer wipe(data)
	if len(data) > keyMax {
		return "", usagef("token: key from %s longer than %d bytes", cut(from, 200), keyMax)
	}
	data = stripNewline(data)
	for _, b := range data {
		if b == 0 {
			return "", usagef("token: the key from %s holds a NUL byte", cut(from, 200))
		}
	}
	return string(data), nil
}

func loadKey(o *tokenArgs, local, issuing bool) (*prodready.Key, error) {
	text, err := readKey(o)
	if err != nil {
		return nil, err
	}
	var key *prodready.Key
	switch {
	case strings.HasPrefix(text, "k4."):
		key, err = prodready.KeyFromPASERK(text)
	case len(text) == 64 && local:
		key, err = prodready.KeyFromHex(prodready.KeyLocal, text)
	case len(text) == 64:
		key, err = prodready.KeyFromHex(prodready.KeyPublic, text)
	case len(text) == 128 && !local:
		key, err = prodready.KeyFromHex(prodready.KeySecret, text)
	default:
		err = prodready.ErrInvalid
	}
	if err != nil {
		return nil, usage("token: the key is not a valid v4 key (PASERK k4.*, or 64/128 hex digits)")
	}
	kind := key.Kind()
	fits := kind != prodready.KeyLocal
	if local {
		fits = kind == prodready.KeyLocal
	} else if issuing {
		fits = kind == prodready.KeySecret
	}
	if !fits {
		key.Close()
		p, extra := "public", ""
		if local {
			p = "local"
		} else if issuing {
			extra = " (signing needs a k4.secret key)"
		}
		return nil, usagef("token: the key does not fit --purpose %s%s", p, extra)
	}
	return key, nil
}

var tokenFlags = map[string]bool{
	"purpose": true, "key": true, "key-file": true, "key-env": true, "ttl": true, "claim": true, "claim-json": true,
	"footer": true, "implicit": true, "at": true, "issuer": true, "audience": true, "leeway": true,
}

func token(args []string) (int, error) {
	sub, rest, err := subcommand(args, "token", "issue", "verify")
	if err != nil {
		return 0, err
	}
	verify := sub == "verify"
	flags, err := scan(rest, tokenFlags)
	if err != nil {
		return 0, err
	}
	o := &tokenArgs{has: map[string]bool{}}
	haveToken := false
	for _, f := range flags {
		set := func(dst *string) { *dst = f.value; o.has[f.name] = true }
		switch {
		case f.name == "":
			if !verify || haveToken {
				return 0, usagef("token: unexpected argument '%s'", cut(f.value, 40))
			}
			o.token, haveToken = f.value, true
		case f.name == "purpose":
			set(&o.purpose)
		case f.name == "key":
			set(&o.key)
		case f.name == "key-file":
			set(&o.keyFile)
		case f.name == "key-env":
			set(&o.keyEnv)
		case f.name == "footer":
			set(&o.footer)
		case f.name == "implicit":
			set(&o.implicit)
		case !verify && f.name == "ttl":
			set(&o.ttl)
		case !verify && (f.name == "claim" || f.name == "claim-json"):
			if len(o.claims) == 64 {
				return 0, usage("token: more than 64 claims")
			}
			o.claims = append(o.claims, claimArg{json: f.name == "claim-json", spec: f.value})
		case verify && f.name == "at":
			set(&o.at)
		case verify && f.name == "issuer":
			set(&o.issuer)
		case verify && f.name == "leeway":
			set(&o.leeway)
		case verify && f.name == "audience":
			if len(o.audiences) == 16 {
				return 0, usage("token: more than 16 audiences")
			}
			o.audiences = append(o.audiences, f.value)
		default:
			return 0, usagef("token: unknown option --%s", f.name)
		}
	}
	if o.purpose != "local" && o.purpose != "public" {
		return 0, usage("token: --purpose local|public is required")
	}
	if !o.has["key"] && !o.has["key-file"] && !o.has["key-env"] {
		return 0, usage("token: a key is required: --key KEY (PASERK or hex), --key -, --key-file FILE or --key-env NAME")
	}
	if verify && !haveToken {
		return 0, usage("token verify: missing the TOKEN argument (- reads standard input)")
	}
	if verify && o.has["key"] && o.key == "-" && o.token == "-" {
		return 0, usage("token verify: --key - and TOKEN - cannot both read standard input")
	}
	if !verify && !o.has["ttl"] {
		return 0, usage("token issue: --ttl is required: tokens must expire")
	}
	local := o.purpose == "local"
	if verify {
		return verifyToken(o, local)
	}
	return issueToken(o, local)
}

// isJSONObject: one JSON object and nothing after it, duplicate keys
// refused, checked by the library's own parser as the C command does.
func isJSONObject(text string) bool {
	if !strings.HasPrefix(strings.TrimLeft(text, " \t\r\n"), "{") {
		return false
	}
	_, err := prodready.NewClaims(time.Minute).SetJSON("footer", text).Payload(nil)
	return err == nil
}

func issueToken(o *tokenArgs, local bool) (int, error) {
	ttl, ok := duration(o.ttl)
	if !ok || ttl <= 0 {
		return 0, usage("token issue: --ttl wants a duration like 15m, 500ms, 2h, 7d")
	}
	if o.has["footer"] && !isJSONObject(o.footer) {
		return 0, usage("token issue: --footer must be a JSON object")
	}
	key, err := loadKey(o, local, true)
	if err != nil {
		return 0, err
	}
	defer key.Close()
	claims := prodready.NewClaims(ttl)
	for _, c := range o.claims {
		name, value, found := strings.Cut(c.spec, "=")
		if !found || name == "" {
			return 0, usage("token issue: --claim wants name=value")
		}
		if len(name) >= 80 {
			return 0, usage("token issue: claim name too long")
		}
		if name == "exp" || name == "iat" {
			return 0, usagef("token issue: %s is set by the tool (use --ttl)", name)
		}
		switch {
		case name == "nbf":
			ns, err := prodready.ParseRFC3339(value)
			if err != nil {
				return 0, usage("token issue: nbf must be an RFC 3339 time")
			}
			claims.NotBefore(time.Unix(0, ns))
		case c.json:
			if _, err := prodready.NewClaims(time.Minute).SetJSON(name, value).Payload(nil); errors.Is(err, prodready.ErrInvalid) {
				return 0, usagef("token issue: --claim-json %s: value is not JSON", name)
			}
			claims.SetJSON(name, value)
		default:
			claims.Set(name, value)
		}
	}
	implicit := []byte(o.implicit)
	var tok string
	if o.has["footer"] {
		// The footer exactly as given, so a verifier can expect it byte for byte.
		payload, err := claims.Payload(nil)
		if err == nil {
			if local {
				tok, err = prodready.Encrypt(key, []byte(payload), []byte(o.footer), implicit)
			} else {
				tok, err = prodready.Sign(key, []byte(payload), []byte(o.footer), implicit)
			}
		}
		if err != nil {
			return 0, issueError(err)
		}
	} else {
		ring, err := prodready.NewKeyring()
		if err == nil {
			defer ring.Close()
			err = ring.Add(key, true)
		}
		if err == nil {
			p := prodready.Public
			if local {
				p = prodready.Local
			}
			tok, err = ring.Issue(p, claims, &prodready.IssueOptions{Implicit: implicit})
		}
		if err != nil {
			return 0, issueError(err)
		}
	}
	fmt.Println(tok)
	return yes, nil
}

func issueError(err error) error {
	var e *prodready.Error
	if errors.As(err, &e) && e.Status == prodready.StatusInvalid && strings.HasPrefix(e.Detail, "claim '") {
		return usagef("token issue: %s", e.Detail)
	}
	return usagef("token issue: %s", phrase(err))
}

func verifyToken(o *tokenArgs, local bool) (int, error) {
	var clock *prodready.Clock
	if o.has["at"] {
		ns, err := prodready.ParseRFC3339(o.at)
		if err != nil {
			return 0, usage("token verify: --at wants an RFC 3339 time")
		}
		if clock, err = prodready.NewManualClock(ns, 0); err != nil {
			return 0, usage("token verify: out of memory")
		}
	}
	leeway := 30 * time.Second
	if o.has["leeway"] {
		var ok bool
		if leeway, ok = duration(o.leeway); !ok {
			return 0, usage("token verify: --leeway wants a duration")
		}
	}
	key, err := loadKey(o, local, false)
	if err != nil {
		return 0, err
	}
	defer key.Close()
	fail := func(err error) (int, error) { return 0, usagef("token verify: %s", phrase(err)) }
	ring, err := prodready.NewKeyring()
	if err != nil {
		return fail(err)
	}
	defer ring.Close()
	if err := ring.Add(key, false); err != nil {
		return fail(err)
	}
	opts := prodready.VerifierOptions{
		ExpLeeway: leeway, NbfLeeway: leeway, UseLeeway: true, Issuer: o.issuer, Audiences: o.audiences, Clock: clock,
	}
	if o.has["footer"] {
		opts.Footer = []byte(o.footer)
	}
	p := prodready.Public
	if local {
		p = prodready.Local
	}
	v, err := prodready.NewVerifier(ring, p, opts)
	if err != nil {
		return fail(err)
	}
	defer v.Close()
	tok := o.token
	if tok == "-" {
		data, err := readStdin(tokenMax + 2)
		if err != nil {
			return 0, err
		}
		for len(data) > 0 && (data[len(data)-1] == '\n' || data[len(data)-1] == '\r') {
			data = data[:len(data)-1]
		}
		if len(data) > tokenMax {
			fmt.Fprintf(os.Stderr, "rejected: invalid\ntoken longer than %d bytes\n", tokenMax)
			return no, nil
		}
		tok = string(data)
	}
	got, err := v.Verify(tok, []byte(o.implicit))
	if err == nil {
		fmt.Println(got.ClaimsJSON)
		return yes, nil
	}
	var kind string
	switch {
	case errors.Is(err, prodready.ErrExpired):
		kind = "expired"
	case errors.Is(err, prodready.ErrNotYet):
		kind = "not_yet_valid"
	case errors.Is(err, prodready.ErrBadToken):
		kind = "invalid"
	default:
		return fail(err)
	}
	why := phrase(err)
	var e *prodready.Error
	if errors.As(err, &e) && e.Detail != "" {
		why = e.Detail
	}
	fmt.Fprintf(os.Stderr, "rejected: %s\n%s\n", kind, why)
	return no, nil
}

func run(argv []string) (int, error) {
	if len(argv) == 0 {
		return 0, usage("usage: prodready COMMAND [ARGS] (see prodready --help)")
	}
	first := argv[0]
	if first == "help" || first == "--help" || first == "-h" {
		var topic []string
		for _, a := range argv[1:] {
			if len(topic) < 2 && !strings.HasPrefix(a, "-") {
				topic = append(topic, a)
			}
		}
		fmt.Print(help(strings.Join(topic, " ")))
		return yes, nil
	}
	if first != "password" && first != "token" {
		return 0, usagef("unknown command '%s' (this mirror has password and token)", cut(first, 40))
	}
	head := argv
	for i, a := range argv {
		if a == "--" {
			head = argv[:i]
			break
		}
	}
	for _, a := range head {
		if a == "--help" || a == "-h" {
			sub := ""
			if len(argv) > 1 && !strings.HasPrefix(argv[1], "-") {
				sub = argv[1]
			}
			switch sub {
			case "hash", "verify", "issue":
				fmt.Print(help(first + " " + sub))
			default:
				fmt.Print(help(first))
			}
			return yes, nil
		}
	}
	if err := prodready.Init(); err != nil {
		return 0, usagef("cannot initialise libprodready: %v", err)
	}
	if first == "password" {
		return password(argv[1:])
	}
	return token(argv[1:])
}

func main() {
	code, err := run(os.Args[1:])
	if err != nil {
		line := strings.NewReplacer("\n", " ", "\r", " ").Replace(err.Error())
		fmt.Fprintf(os.Stderr, "prodready: %s\n", line)
		code = usageCode
	}
	os.Exit(code)
}
