/* prodready token issue|verify */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CLAIMS 64

struct tok_opts {
    const char *purpose, *key, *key_file, *key_env, *ttl, *footer, *implicit, *at, *issuer, *leeway;
    const char *claims[MAX_CLAIMS];
    int claim_is_json[MAX_CLAIMS];
    int n_claims;
    const char *audiences[16];
    int n_aud;
    const char *token;
};

static int tok_has_value(const char *name)
{
    static const char *const with_value[] = {"purpose",  "key",      "key-file", "key-env",
                                             "ttl",      "claim",    "claim-json", "footer",
                                             "implicit", "at",       "issuer",   "audience",
                                             "leeway"};
    for (size_t i = 0; i < sizeof with_value / sizeof with_value[0]; i++)
        if (strcmp(name, with_value[i]) == 0)
            return 1;
    return 0;
}

static int parse(int argc, char **argv, int verify, struct tok_opts *o)
{
    struct cli_args a = {argc, argv, 0};
    const char *flag, *value;
    int r;
    memset(o, 0, sizeof *o);
    while ((r = cli_next(&a, tok_has_value, &flag, &value)) == 1) {
        if (!flag) {
            if (!verify || o->token)
                return cli_usage("token: unexpected argument '%.40s'", value);
            o->token = value;
        } else if (strcmp(flag, "purpose") == 0) {
            o->purpose = value;
        } else if (strcmp(flag, "key") == 0) {
            o->key = value;
        } else if (strcmp(flag, "key-file") == 0) {
            o->key_file = value;
        } else if (strcmp(flag, "key-env") == 0) {
            o->key_env = value;
        } else if (strcmp(flag, "footer") == 0) {
            o->footer = value;
        } else if (strcmp(flag, "implicit") == 0) {
            o->implicit = value;
        } else if (!verify && strcmp(flag, "ttl") == 0) {
            o->ttl = value;
        } else if (!verify && (strcmp(flag, "claim") == 0 || strcmp(flag, "claim-json") == 0)) {
            if (o->n_claims == MAX_CLAIMS)
                return cli_usage("token: more than %d claims", MAX_CLAIMS);
            o->claim_is_json[o->n_claims] = strcmp(flag, "claim-json") == 0;
            o->claims[o->n_claims++] = value;
        } else if (verify && strcmp(flag, "at") == 0) {
            o->at = value;
        } else if (verify && strcmp(flag, "issuer") == 0) {
            o->issuer = value;
        } else if (verify && strcmp(flag, "leeway") == 0) {
            o->leeway = value;
        } else if (verify && strcmp(flag, "audience") == 0) {
            if (o->n_aud == 16)
                return cli_usage("token: more than 16 audiences");
            o->audiences[o->n_aud++] = value;
        } else {
            return cli_usage("token: unknown option --%s", flag);
        }
    }
    if (r < 0)
        return EXIT_USAGE;
    if (!o->purpose || (strcmp(o->purpose, "local") != 0 && strcmp(o->purpose, "public") != 0))
        return cli_usage("token: --purpose local|public is required");
    if (!o->key && !o->key_file && !o->key_env)
        return cli_usage("token: a key is required: --key KEY (PASERK or hex), --key -, "
                         "--key-file FILE or --key-env NAME");
    if (verify && !o->token)
        return cli_usage("token verify: missing the TOKEN argument (- reads standard input)");
    if (verify && o->key && strcmp(o->key, "-") == 0 && strcmp(o->token, "-") == 0)
        return cli_usage("token verify: --key - and TOKEN - cannot both read standard input");
    if (!verify && !o->ttl)
        return cli_usage("token issue: --ttl is required: tokens must expire");
    return 0;
}

/*
 * KEY: PASERK of a fitting type, or hex (64 digits: local or public key;
 * 128: Ed25519 secret key). For verify with purpose public, a secret key
 * is reduced to its public half.
 */
static int load_key(const struct tok_opts *o, int local, int issuing, prd_token_key **out)
{
    char *text = cli_read_key("token", o->key, o->key_file, o->key_env);
    if (!text)
        return EXIT_USAGE;
    prd_token_key *k = NULL;
    prd_status st;
    size_t n = strlen(text);
    if (strncmp(text, "k4.", 3) == 0)
        st = prd_token_key_from_paserk(text, &k);
    else if (n == 64)
        st = prd_token_key_from_hex(local ? PRD_KEY_LOCAL : PRD_KEY_PUBLIC, text, &k);
    else if (n == 128 && !local)
        st = prd_token_key_from_hex(PRD_KEY_SECRET, text, &k);
    else
        st = PRD_EINVAL;
    cli_free_secret(text);
    if (st != PRD_OK)
        return cli_usage("token: the key is not a valid v4 key (PASERK k4.*, or 64/128 hex "
                         "digits)");
    prd_key_kind kind = prd_token_key_kind(k);
    int fits = local ? kind == PRD_KEY_LOCAL
                     : (issuing ? kind == PRD_KEY_SECRET : kind != PRD_KEY_LOCAL);
    if (!fits) {
        prd_token_key_free(k);
        return cli_usage("token: the key does not fit --purpose %s%s", local ? "local" : "public",
                         !local && issuing ? " (signing needs a k4.secret key)" : "");
    }
    *out = k;
    return 0;
}

static int add_claim(prd_token_claims *c, const char *spec, int is_json)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec)
        return cli_usage("token issue: --claim wants name=value");
    char name[80];
    size_t n = (size_t)(eq - spec);
    if (n >= sizeof name)
        return cli_usage("token issue: claim name too long");
    memcpy(name, spec, n);
    name[n] = '\0';
    const char *value = eq + 1;
    prd_status st;
    if (strcmp(name, "exp") == 0 || strcmp(name, "iat") == 0)
        return cli_usage("token issue: %s is set by the tool (use --ttl)", name);
    if (strcmp(name, "nbf") == 0) {
        int64_t ns;
        if (prd_rfc3339_parse(value, strlen(value), &ns) != PRD_OK)
            return cli_usage("token issue: nbf must be an RFC 3339 time");
        st = prd_token_claims_set_not_before(c, ns);
    } else if (is_json) {
        st = prd_token_claims_set_json_text(c, name, value, strlen(value));
        if (st == PRD_EINVAL)
            return cli_usage("token issue: --claim-json %s: value is not JSON", name);
    } else {
        st = prd_token_claims_set_string(c, name, value);
    }
    if (st != PRD_OK)
        return cli_usage("token issue: claim %s: %s", name, prd_status_str(st));
    return 0;
}

/* One JSON object and nothing after it (duplicate keys refused), checked
 * by the library's own parser: a claim value that starts with '{'. */
static int is_json_object(const char *text)
{
    size_t skip = strspn(text, " \t\r\n");
    if (text[skip] != '{')
        return 0;
    prd_token_claims *probe = NULL;
    if (prd_token_claims_new(&probe) != PRD_OK)
        return 0;
    int ok = prd_token_claims_set_json_text(probe, "footer", text, strlen(text)) == PRD_OK;
    prd_token_claims_free(probe);
    return ok;
}

static int cmd_issue(int argc, char **argv)
{
    struct tok_opts o;
    int rc = parse(argc, argv, 0, &o);
    if (rc)
        return rc;
    int local = strcmp(o.purpose, "local") == 0; // NOLINT(clang-analyzer-core.NonNullParamChecker): parse() requires --purpose
    int64_t ttl_ms;
    if (cli_parse_duration_ms(o.ttl, &ttl_ms) != 0 || ttl_ms <= 0)
        return cli_usage("token issue: --ttl wants a duration like 15m, 500ms, 2h, 7d");
    if (o.footer && !is_json_object(o.footer))
        return cli_usage("token issue: --footer must be a JSON object");
    prd_token_key *key = NULL;
    if ((rc = load_key(&o, local, 1, &key)))
        return rc;
    prd_token_claims *claims = NULL;
    prd_status st = prd_token_claims_new(&claims);
    if (st == PRD_OK)
        st = prd_token_claims_set_ttl(claims, ttl_ms);
    if (st != PRD_OK) {
        prd_token_key_free(key);
        prd_token_claims_free(claims);
        return cli_usage("token issue: %s", prd_status_str(st));
    }
    for (int i = 0; i < o.n_claims && !rc; i++)
        rc = add_claim(claims, o.claims[i], o.claim_is_json[i]);
    char *token = NULL;
    size_t ilen = o.implicit ? strlen(o.implicit) : 0;
    if (!rc && o.footer) {
        /* The footer exactly as given, so a verifier can expect it byte for byte. */
        char *payload = NULL;
        st = prd_token_claims_payload(claims, NULL, &payload);
        if (st == PRD_OK)
            st = local ? prd_token_v4_encrypt(key, payload, strlen(payload), o.footer,
                                              strlen(o.footer), o.implicit, ilen, &token)
                       : prd_token_v4_sign(key, payload, strlen(payload), o.footer,
                                           strlen(o.footer), o.implicit, ilen, &token);
        prd_free(payload);
    } else if (!rc) {
        prd_keyring *ring = NULL;
        st = prd_keyring_new(&ring);
        if (st == PRD_OK)
            st = prd_keyring_add(ring, key, 1);
        if (st == PRD_OK)
            st = prd_token_issue(ring, local ? PRD_TOKEN_LOCAL : PRD_TOKEN_PUBLIC, claims, NULL, 0,
                                 o.implicit, ilen, NULL, &token);
        prd_keyring_free(ring);
    }
    prd_token_claims_free(claims);
    prd_token_key_free(key);
    if (rc)
        return rc;
    if (st != PRD_OK)
        return cli_usage("token issue: %s", prd_status_str(st));
    puts(token);
    prd_free(token);
    return EXIT_YES;
}

/* TOKEN "-": standard input, one trailing newline off. A token longer
 * than the library's absolute limit is not read whole: *why says so and
 * the token is rejected as invalid, as an argument that long would be. */
static char *read_token(size_t *len, const char **why)
{
    static char too_long_why[64];
    int too_long = 0;
    *why = NULL;
    char *buf = cli_read_stdin_bounded(PRD_TOKEN_ABSOLUTE_MAX_LEN + 2, len, &too_long);
    if (buf) {
        while (*len > 0 && (buf[*len - 1] == '\n' || buf[*len - 1] == '\r'))
            buf[--*len] = '\0';
        too_long = *len > PRD_TOKEN_ABSOLUTE_MAX_LEN;
    }
    if (too_long) {
        free(buf);
        snprintf(too_long_why, sizeof too_long_why, "token longer than %d bytes",
                 PRD_TOKEN_ABSOLUTE_MAX_LEN);
        *why = too_long_why;
        return NULL;
    }
    return buf;
}

static int cmd_verify(int argc, char **argv)
{
    struct tok_opts o;
    int rc = parse(argc, argv, 1, &o);
    if (rc)
        return rc;
    int local = strcmp(o.purpose, "local") == 0; // NOLINT(clang-analyzer-core.NonNullParamChecker): parse() requires --purpose
    prd_clock *clock = NULL;
    if (o.at) {
        int64_t at;
        if (prd_rfc3339_parse(o.at, strlen(o.at), &at) != PRD_OK)
            return cli_usage("token verify: --at wants an RFC 3339 time");
        if (prd_clock_manual_new(at, 0, &clock) != PRD_OK)
            return cli_usage("token verify: out of memory");
    }
    int64_t leeway_ms = 30000;
    if (o.leeway && cli_parse_duration_ms(o.leeway, &leeway_ms) != 0) {
        prd_clock_free(clock);
        return cli_usage("token verify: --leeway wants a duration");
    }
    prd_token_key *key = NULL;
    if ((rc = load_key(&o, local, 0, &key))) {
        prd_clock_free(clock);
        return rc;
    }
    prd_keyring *ring = NULL;
    prd_token_verifier *v = NULL;
    prd_status st = prd_keyring_new(&ring);
    if (st == PRD_OK)
        st = prd_keyring_add(ring, key, 0);
    if (st == PRD_OK)
        st = prd_token_verifier_new(ring, local ? PRD_TOKEN_LOCAL : PRD_TOKEN_PUBLIC, &v);
    if (st == PRD_OK)
        st = prd_token_verifier_set_clock(v, clock);
    if (st == PRD_OK)
        st = prd_token_verifier_set_leeway(v, leeway_ms, leeway_ms);
    if (st == PRD_OK && o.footer)
        st = prd_token_verifier_set_footer(v, o.footer, strlen(o.footer));
    if (st == PRD_OK && o.issuer)
        st = prd_token_verifier_set_issuer(v, o.issuer);
    for (int i = 0; i < o.n_aud && st == PRD_OK; i++)
        st = prd_token_verifier_add_audience(v, o.audiences[i]);
    prd_token_key_free(key);
    int code;
    if (st != PRD_OK) {
        code = cli_usage("token verify: %s", prd_status_str(st));
    } else {
        prd_token_verified *r = NULL;
        const char *why = NULL;
        const char *token = o.token;
        size_t token_len = 0;
        char *read = NULL;
        if (strcmp(token, "-") == 0) { // NOLINT(clang-analyzer-core.NonNullParamChecker): parse() requires TOKEN
            read = read_token(&token_len, &why);
            token = read ? read : "";
            if (!read && !why)
                st = PRD_EIO;
        } else {
            token_len = strlen(token);
        }
        if (st == PRD_OK && why)
            st = PRD_EBADTOKEN; /* longer than any verifier takes */
        else if (st == PRD_OK)
            st = prd_token_verify(v, token, token_len, o.implicit,
                                  o.implicit ? strlen(o.implicit) : 0, &r, &why);
        free(read);
        if (st == PRD_OK) {
            puts(prd_token_verified_claims_text(r));
            code = EXIT_YES;
        } else if (st == PRD_EEXPIRED || st == PRD_ENOTYET || st == PRD_EBADTOKEN) {
            /* Line 1 is the contract scripts match; line 2 says why. */
            fprintf(stderr, "rejected: %s\n%s\n",
                    st == PRD_EEXPIRED ? "expired" : st == PRD_ENOTYET ? "not_yet_valid" : "invalid",
                    why ? why : prd_status_str(st));
            code = EXIT_NO;
        } else if (st == PRD_EIO) {
            code = EXIT_USAGE; /* read_token printed why */
        } else {
            code = cli_usage("token verify: %s", prd_status_str(st));
        }
        prd_token_verified_free(r);
    }
    prd_token_verifier_free(v);
    prd_keyring_free(ring);
    prd_clock_free(clock);
    return code;
}

int cmd_token(int argc, char **argv)
{
    if (argc < 1)
        return cli_usage("usage: prodready token issue|verify ...");
    if (strcmp(argv[0], "issue") == 0)
        return cmd_issue(argc - 1, argv + 1);
    if (strcmp(argv[0], "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);
    return cli_usage("token: unknown subcommand '%.40s' (issue, verify)", argv[0]);
}
