/*
 * bench_token: PASETO v4 issue and verify with a 5-claim payload, against
 *   - the bare libsodium primitives the protocol needs (the floor: what is
 *     left is PAE, JSON and base64, target <= 2x for v4.local), and
 *   - paseto-ts on Node.js (bench/peers/paseto_ts_bench.mjs), when
 *     scripts/test has installed it into tests/interop;
 * and opaque session tokens: issue + digest + lookup-compare.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bench_util.h"
#include "prodready.h"

#ifndef PRD_SOURCE_DIR
#define PRD_SOURCE_DIR "."
#endif

static prd_token_claims *five_claims(void)
{
    prd_token_claims *c = NULL;
    bench_must(prd_token_claims_new(&c));
    bench_must(prd_token_claims_set_ttl(c, 3600 * 1000));
    bench_must(prd_token_claims_set_string(c, "sub", "user-42"));
    bench_must(prd_token_claims_set_string(c, "iss", "https://auth.example"));
    bench_must(prd_token_claims_set_string(c, "aud", "api"));
    bench_must(prd_token_claims_set_string(c, "role", "admin"));
    return c; /* + exp, iat, jti set at issue */
}

typedef void (*op_fn)(void *ctx);

static double rate(op_fn fn, void *ctx)
{
    for (int i = 0; i < 200; i++)
        fn(ctx);
    long n = 0;
    double t0 = bench_now_s(), t;
    do {
        for (int i = 0; i < 200; i++)
            fn(ctx);
        n += 200;
        t = bench_now_s();
    } while (t - t0 < 0.5);
    return (double)n / (t - t0);
}

struct ctx {
    prd_keyring *ring;
    prd_token_claims *claims;
    prd_token_verifier *v;
    char *token;
    prd_token_purpose purpose;
    unsigned char key[32], sk[64], pk[32];
    unsigned char msg[160];
    size_t msg_len;
    unsigned char sig[64];
    prd_token_sessions *sessions;
    char opaque[PRD_OPAQUE_TOKEN_SIZE];
};

static void our_issue(void *p)
{
    struct ctx *c = p;
    char *t = NULL;
    if (prd_token_issue(c->ring, c->purpose, c->claims, NULL, 0, NULL, 0, NULL, &t) != PRD_OK)
        abort();
    prd_free(t);
}

static void our_verify(void *p)
{
    struct ctx *c = p;
    prd_token_verified *r = NULL;
    if (prd_token_verify(c->v, c->token, strlen(c->token), NULL, 0, &r, NULL) != PRD_OK)
        abort();
    prd_token_verified_free(r);
}

/* The bare v4.local crypto: nonce, two keyed BLAKE2b derivations,
 * XChaCha20 over the payload, a keyed BLAKE2b MAC over nonce || c. */
static void raw_local(void *p)
{
    struct ctx *c = p;
    unsigned char n[32], tmp[56], ak[32], out[200], mac[32];
    randombytes_buf(n, sizeof n);
    crypto_generichash(tmp, 56, n, 32, c->key, 32);
    crypto_generichash(ak, 32, n, 32, c->key, 32);
    crypto_stream_xchacha20_xor(out, c->msg, c->msg_len, tmp + 32, tmp);
    memcpy(out + c->msg_len, n, 32);
    crypto_generichash(mac, 32, out, c->msg_len + 32, ak, 32);
}

static void raw_sign(void *p)
{
    struct ctx *c = p;
    crypto_sign_detached(c->sig, NULL, c->msg, c->msg_len, c->sk);
}

static void raw_verify(void *p)
{
    struct ctx *c = p;
    if (crypto_sign_verify_detached(c->sig, c->msg, c->msg_len, c->pk) != 0)
        abort();
}

static void opaque_cycle(void *p)
{
    (void)p;
    unsigned char d[PRD_OPAQUE_DIGEST_BYTES];
    char t[PRD_OPAQUE_TOKEN_SIZE];
    bench_must(prd_token_opaque_new("sess", t, sizeof t, d));
    bench_must(prd_token_opaque_digest("sess", t, strlen(t), d));
    if (!prd_memeq(d, d, sizeof d))
        abort();
}

static void session_validate(void *p)
{
    struct ctx *c = p;
    if (prd_token_session_validate(c->sessions, c->opaque, strlen(c->opaque), NULL, 0) != PRD_OK)
        abort();
}

/* ops/s of paseto-ts for one operation, or 0 when the peer is absent. */
static double peer_rate(const char *json, const char *key)
{
    const char *p = json ? strstr(json, key) : NULL;
    return p ? strtod(p + strlen(key) + 2, NULL) : 0;
}

static char *run_peer(void)
{
    static char buf[512];
    return bench_run_peer("cd '" PRD_SOURCE_DIR "/tests/interop' && test -d node_modules/paseto-ts && "
                    "node ../../bench/peers/paseto_ts_bench.mjs 2>/dev/null", buf, sizeof buf);
}

int main(void)
{
    if (prd_init() != PRD_OK || sodium_init() < 0)
        return 1;
    char *peer = run_peer();
    if (!peer)
        fprintf(stderr, "bench_token: paseto-ts peer not installed (run scripts/test first); skipping it\n");
    for (int purpose = PRD_TOKEN_LOCAL; purpose <= PRD_TOKEN_PUBLIC; purpose++) {
        struct ctx c;
        memset(&c, 0, sizeof c);
        c.purpose = (prd_token_purpose)purpose;
        prd_token_key *k = NULL;
        bench_must(prd_token_key_generate(purpose == PRD_TOKEN_LOCAL ? PRD_KEY_LOCAL : PRD_KEY_SECRET, &k));
        bench_must(prd_keyring_new(&c.ring));
        bench_must(prd_keyring_add(c.ring, k, 1));
        prd_token_key_free(k);
        c.claims = five_claims();
        bench_must(prd_token_verifier_new(c.ring, c.purpose, &c.v));
        bench_must(prd_token_issue(c.ring, c.purpose, c.claims, NULL, 0, NULL, 0, NULL, &c.token));
        char *payload = NULL;
        bench_must(prd_token_claims_payload(c.claims, NULL, &payload));
        c.msg_len = strlen(payload) < sizeof c.msg ? strlen(payload) : sizeof c.msg;
        memcpy(c.msg, payload, c.msg_len);
        prd_free(payload);
        randombytes_buf(c.key, sizeof c.key);
        crypto_sign_keypair(c.pk, c.sk);
        crypto_sign_detached(c.sig, NULL, c.msg, c.msg_len, c.sk);

        const char *name = purpose == PRD_TOKEN_LOCAL ? "local" : "public";
        double issue = rate(our_issue, &c), verify = rate(our_verify, &c);
        double raw_i = rate(purpose == PRD_TOKEN_LOCAL ? raw_local : raw_sign, &c);
        double raw_v = rate(purpose == PRD_TOKEN_LOCAL ? raw_local : raw_verify, &c);
        char b[96], key[32];
        /* ratio here = bare / ours: how many times the bare crypto's cost we spend. */
        snprintf(b, sizeof b, "token.v4.%s.issue.cost_vs_bare_crypto", name);
        bench_report(b, 1e9 / issue, "ns/op", 1e9 / raw_i, "libsodium primitives only");
        snprintf(b, sizeof b, "token.v4.%s.verify.cost_vs_bare_crypto", name);
        bench_report(b, 1e9 / verify, "ns/op", 1e9 / raw_v, "libsodium primitives only");
        if (peer) {
            snprintf(key, sizeof key, "\"%s_issue\"", name);
            snprintf(b, sizeof b, "token.v4.%s.issue.vs_paseto_ts", name);
            bench_report(b, 1e9 / issue, "ns/op", 1e9 / peer_rate(peer, key), "paseto-ts (Node.js)");
            snprintf(key, sizeof key, "\"%s_verify\"", name);
            snprintf(b, sizeof b, "token.v4.%s.verify.vs_paseto_ts", name);
            bench_report(b, 1e9 / verify, "ns/op", 1e9 / peer_rate(peer, key), "paseto-ts (Node.js)");
        }
        prd_free(c.token);
        prd_token_verifier_free(c.v);
        prd_token_claims_free(c.claims);
        prd_keyring_free(c.ring);
    }
    struct ctx c;
    memset(&c, 0, sizeof c);
    prd_token_store *store = NULL;
    bench_must(prd_token_store_new_memory(100000, &store));
    bench_must(prd_token_sessions_new(store, "sess", &c.sessions));
    for (int i = 0; i < 50000; i++) {
        char t[PRD_OPAQUE_TOKEN_SIZE];
        bench_must(prd_token_session_create(c.sessions, "someone", t, sizeof t));
    }
    bench_must(prd_token_session_create(c.sessions, "me", c.opaque, sizeof c.opaque));
    bench_report("token.opaque.issue_digest_compare", 1e9 / rate(opaque_cycle, &c), "ns/op", 0, "");
    bench_report("token.session.validate_50k_sessions", 1e9 / rate(session_validate, &c), "ns/op", 0, "");
    prd_token_sessions_free(c.sessions);
    prd_token_store_free(store);
    return 0;
}
