/* prodready password hash|verify|needs-rehash */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pw_opts {
    const char *preset;
    const char *t, *m, *p;
    int allow_legacy;
    int allow_empty;
    const char *phc;
};

static int pw_has_value(const char *name)
{
    return strcmp(name, "preset") == 0 || strcmp(name, "t") == 0 || strcmp(name, "m") == 0 ||
           strcmp(name, "p") == 0;
}

/* Parse flags; allowed is the subset of flags this subcommand takes. */
static int parse(int argc, char **argv, const char *allowed, int want_phc, struct pw_opts *o)
{
    struct cli_args a = {argc, argv, 0};
    const char *flag, *value;
    int r;
    memset(o, 0, sizeof *o);
    while ((r = cli_next(&a, pw_has_value, &flag, &value)) == 1) {
        if (!flag) {
            if (!want_phc || o->phc)
                return cli_usage("password: unexpected argument '%.40s'", value);
            o->phc = value;
            continue;
        }
        char key[72];
        snprintf(key, sizeof key, " %s ", flag);
        if (!strstr(allowed, key))
            return cli_usage("password: unknown option --%s", flag);
        if (strcmp(flag, "preset") == 0)
            o->preset = value;
        else if (strcmp(flag, "t") == 0)
            o->t = value;
        else if (strcmp(flag, "m") == 0)
            o->m = value;
        else if (strcmp(flag, "p") == 0)
            o->p = value;
        else if (strcmp(flag, "allow-legacy") == 0)
            o->allow_legacy = 1;
        else if (strcmp(flag, "allow-empty") == 0)
            o->allow_empty = 1;
    }
    if (r < 0)
        return EXIT_USAGE;
    if (want_phc && !o->phc)
        return cli_usage("password: missing the PHC hash argument");
    return 0;
}

static int make_policy(const struct pw_opts *o, prd_password_policy **pol)
{
    if (o->preset && (o->t || o->m || o->p))
        return cli_usage("password: use either --preset or --t/--m/--p");
    prd_status st = prd_password_policy_new(o->preset, pol);
    if (st == PRD_EINVAL)
        return cli_usage("password: unknown preset '%.40s' (owasp, rfc9106-low-memory, moderate, "
                         "sensitive)", o->preset);
    if (st != PRD_OK)
        return cli_fail(EXIT_USAGE, "password: %s", prd_status_str(st));
    if (o->t || o->m || o->p) {
        uint64_t t = 2, m = 19456, p = 1;
        if ((o->t && cli_parse_u64(o->t, UINT32_MAX, &t)) ||
            (o->m && cli_parse_u64(o->m, UINT32_MAX, &m)) ||
            (o->p && cli_parse_u64(o->p, UINT32_MAX, &p)) ||
            prd_password_policy_set_params(*pol, (uint32_t)t, (uint32_t)m, (uint32_t)p) != PRD_OK) {
            prd_password_policy_free(*pol);
            *pol = NULL;
            return cli_usage("password: invalid parameters (need t>=1, 1<=p<=16, m>=8*p KiB, "
                             "within t<=16, m<=1048576)");
        }
    }
    st = o->allow_legacy ? prd_password_policy_set_allow_legacy(*pol, 1) : PRD_OK;
    if (st != PRD_OK) {
        prd_password_policy_free(*pol);
        *pol = NULL;
        return cli_fail(EXIT_USAGE, "password: --allow-legacy: %s", prd_status_str(st));
    }
    return 0;
}

static int read_pw(char **pw, size_t *len)
{
    *pw = cli_read_password(PRD_PASSWORD_DEFAULT_MAX_LEN, len);
    return *pw ? 0 : EXIT_USAGE;
}

static void drop_pw(char *pw, size_t len)
{
    if (pw) {
        prd_memzero(pw, len);
        free(pw);
    }
}

/* The start of hash and verify: flags, policy, password from stdin. On
 * failure nothing is left to free and the exit status is returned. */
static int setup(int argc, char **argv, const char *allowed, int want_phc, struct pw_opts *o,
                 prd_password_policy **pol, char **pw, size_t *len)
{
    *pol = NULL;
    *pw = NULL;
    *len = 0;
    int rc = parse(argc, argv, allowed, want_phc, o);
    if (rc || (rc = make_policy(o, pol)))
        return rc;
    if ((rc = read_pw(pw, len))) {
        prd_password_policy_free(*pol);
        *pol = NULL;
    }
    return rc;
}

static const char *why_invalid(prd_status st)
{
    switch (st) {
    case PRD_ETOOBIG: return "hash parameters exceed the caps (t<=16, m<=1048576 KiB, p<=16)";
    case PRD_EUNSUPPORTED: return "legacy crypt(3) hash: pass --allow-legacy to accept it";
    case PRD_ENOTFOUND: return "hash uses a pepper (keyid) this command does not have";
    case PRD_EINVAL: return "malformed or out-of-range hash";
    default: return prd_status_str(st);
    }
}

static int cmd_hash(int argc, char **argv)
{
    struct pw_opts o;
    prd_password_policy *pol;
    char *pw;
    size_t len;
    int rc = setup(argc, argv, " preset t m p allow-empty ", 0, &o, &pol, &pw, &len);
    if (rc)
        return rc;
    if (len == 0 && !o.allow_empty) {
        /* An empty pipe (a missing variable, a closed terminal) is a mistake
         * far more often than a wanted password. */
        drop_pw(pw, len);
        prd_password_policy_free(pol);
        return cli_usage("password hash: the password on standard input is empty (pass "
                         "--allow-empty to hash it anyway)");
    }
    char out[PRD_PASSWORD_HASH_SIZE];
    prd_status st = prd_password_hash(pol, pw, len, out, sizeof out);
    drop_pw(pw, len);
    prd_password_policy_free(pol);
    if (st != PRD_OK)
        return cli_fail(EXIT_USAGE, "password hash: %s", prd_status_str(st));
    puts(out);
    return EXIT_YES;
}

static int cmd_verify(int argc, char **argv)
{
    struct pw_opts o;
    prd_password_policy *pol;
    char *pw;
    size_t len;
    int rc = setup(argc, argv, " allow-legacy ", 1, &o, &pol, &pw, &len);
    if (rc)
        return rc;
    prd_status st = prd_password_verify(pol, pw, len, o.phc);
    drop_pw(pw, len);
    prd_password_policy_free(pol);
    if (st == PRD_OK)
        return EXIT_YES;
    if (st == PRD_EMISMATCH)
        return EXIT_NO;
    return cli_fail(EXIT_USAGE, "password verify: %s", why_invalid(st));
}

static int cmd_needs_rehash(int argc, char **argv)
{
    struct pw_opts o;
    int rc = parse(argc, argv, " preset t m p ", 1, &o);
    prd_password_policy *pol = NULL;
    if (rc || (rc = make_policy(&o, &pol)))
        return rc;
    prd_rehash_reason reason;
    prd_status st = prd_password_needs_rehash(pol, o.phc, &reason);
    prd_password_policy_free(pol);
    if (st != PRD_OK)
        return cli_fail(EXIT_USAGE, "password needs-rehash: %s", why_invalid(st));
    if (reason == PRD_REHASH_NONE) {
        puts("no");
        return EXIT_NO;
    }
    printf("yes\nreason: %s\n", prd_rehash_reason_str(reason));
    return EXIT_YES;
}

int cmd_password(int argc, char **argv)
{
    if (argc < 1)
        return cli_usage("usage: prodready password hash|verify|needs-rehash ...");
    if (strcmp(argv[0], "hash") == 0)
        return cmd_hash(argc - 1, argv + 1);
    if (strcmp(argv[0], "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);
    if (strcmp(argv[0], "needs-rehash") == 0)
        return cmd_needs_rehash(argc - 1, argv + 1);
    return cli_usage("password: unknown subcommand '%.40s' (hash, verify, needs-rehash)", argv[0]);
}
