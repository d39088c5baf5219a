/* log: every line is valid JSON, redaction, sinks, async, sampling, threads. */
#include "support/testutil.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "internal/alloc.h"
#include "internal/log.h"

/* A callback sink that keeps every line. */
struct lines {
    pthread_mutex_t mu;
    char **v;
    size_t n, cap;
    int slow_us;
};

static void collect(void *ud, const char *line, size_t len)
{
    struct lines *l = ud;
    if (l->slow_us)
        usleep((useconds_t)l->slow_us);
    pthread_mutex_lock(&l->mu);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n] = malloc(len + 1);
    memcpy(l->v[l->n], line, len);
    l->v[l->n][len] = '\0';
    l->n++;
    pthread_mutex_unlock(&l->mu);
}

static void lines_free(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static prd_logger *logger_to(struct lines *l)
{
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
    prd_logger *lg = NULL;
    assert_ok(prd_logger_new(&lg));
    assert_ok(prd_logger_set_callback(lg, collect, l));
    assert_ok(prd_logger_set_level(lg, PRD_LOG_DEBUG));
    return lg;
}

/* Parse the last line strictly; fails the test when it is not one object. */
static json_t *last(struct lines *l)
{
    assert_true(l->n > 0);
    json_error_t err;
    json_t *j = json_loads(l->v[l->n - 1], JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (!json_is_object(j))
        fail_msg("not a JSON object (%s): %.300s", err.text, l->v[l->n - 1]);
    return j;
}

static const char *sget(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void test_basic_line(void **state)
{
    (void)state;
    struct lines l;
    prd_logger *lg = logger_to(&l);
    prd_clock *c = NULL;
    assert_ok(prd_clock_manual_new(INT64_C(1700000000123456789), 1, &c));
    assert_ok(prd_logger_set_clock(lg, c));
    PRD_LOG_INFO(lg, "hello", PRD_F_STR("s", "x"), PRD_F_INT("i", -5), PRD_F_UINT("u", 18446744073709551615u),
                 PRD_F_DOUBLE("d", 1.5), PRD_F_BOOL("b", 1), PRD_F_NULL("n"),
                 PRD_F_STATUS("st", PRD_ETIMEOUT));
    json_t *j = last(&l);
    assert_string_equal(sget(j, "time"), "2023-11-14T22:13:20.123456Z");
    assert_string_equal(sget(j, "level"), "info");
    assert_string_equal(sget(j, "msg"), "hello");
    assert_int_equal(json_integer_value(json_object_get(j, "i")), -5);
    assert_true(json_real_value(json_object_get(j, "d")) == 1.5);
    assert_true(json_is_true(json_object_get(j, "b")));
    assert_true(json_is_null(json_object_get(j, "n")));
    assert_string_equal(sget(json_object_get(j, "st"), "name"), "ETIMEOUT");
    /* Key order: time, level, msg first. */
    assert_int_equal(strncmp(l.v[0], "{\"time\":", 8), 0);
    assert_string_equal(sget(j, "u"), "18446744073709551615"); /* above INT64_MAX: a string */
    json_decref(j);
    /* Levels below the threshold are not formatted at all. */
    assert_ok(prd_logger_set_level(lg, PRD_LOG_WARN));
    PRD_LOG_INFO(lg, "dropped");
    assert_int_equal(l.n, 1);
    PRD_LOG_ERROR(lg, "kept");
    assert_int_equal(l.n, 2);
    assert_int_equal(prd_logger_count(lg, PRD_LOG_COUNT_ERROR), 1);
    assert_int_equal(prd_logger_count(lg, PRD_LOG_COUNT_INFO), 1);
    prd_logger_free(lg);
    prd_clock_free(c);
    lines_free(&l);
}

static void test_hostile_inputs_stay_valid_json(void **state)
{
    (void)state;
    struct lines l;
    prd_logger *lg = logger_to(&l);
    static const char *const hostile[] = {
        "quote\" backslash\\ slash/",
        "ctl \x01\x02\x1f tab\t nl\n cr\r del\x7f",
        "bad utf8 \xff\xfe \xc3\x28 \xe2\x82 \xf0\x9f\x98",
        "overlong \xc0\xaf surrogate \xed\xa0\x80",
        "separators \xe2\x80\xa8 \xe2\x80\xa9 end",
        "emoji \xf0\x9f\x98\x80 ok \xc3\xa9",
    };
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        PRD_LOG_INFO(lg, hostile[i], PRD_F_STR(hostile[i], hostile[i]));
        json_t *j = last(&l);
        assert_non_null(sget(j, "msg"));
        json_decref(j);
    }
    assert_non_null(strstr(l.v[4], "\\u2028"));
    assert_non_null(strstr(l.v[1], "\\u007f"));
    assert_non_null(strstr(l.v[2], "\xef\xbf\xbd")); /* U+FFFD */
    /* Embedded NUL with an explicit length. */
    PRD_LOG_INFO(lg, "nul", PRD_F_STRN("s", "a\0b", 3));
    json_t *j = last(&l);
    assert_int_equal(json_string_length(json_object_get(j, "s")), 3);
    json_decref(j);
    /* NaN and infinities as strings. */
    PRD_LOG_INFO(lg, "num", PRD_F_DOUBLE("nan", NAN), PRD_F_DOUBLE("inf", INFINITY),
                 PRD_F_DOUBLE("ninf", -INFINITY), PRD_F_DOUBLE("tiny", 1e-300), PRD_F_DOUBLE("int", 3.0));
    j = last(&l);
    assert_string_equal(sget(j, "nan"), "NaN");
    assert_string_equal(sget(j, "inf"), "Infinity");
    assert_string_equal(sget(j, "ninf"), "-Infinity");
    assert_true(json_is_real(json_object_get(j, "int")));
    json_decref(j);
    /* 1 MiB string. */
    char *big = malloc(1 << 20);
    memset(big, 'a', (1 << 20) - 1);
    big[(1 << 20) - 1] = '\0';
    PRD_LOG_INFO(lg, "big", PRD_F_STR("big", big));
    j = last(&l);
    assert_int_equal(json_string_length(json_object_get(j, "big")), (1 << 20) - 1);
    json_decref(j);
    free(big);
    /* Deep nesting is cut off, not recursed to a crash. */
    json_t *root = json_array(), *cur = root;
    for (int i = 0; i < 200; i++) {
        json_t *n = json_array();
        json_array_append_new(cur, n);
        cur = n;
    }
    PRD_LOG_INFO(lg, "deep", PRD_F_JSON("deep", root));
    j = last(&l);
    json_decref(j);
    assert_non_null(strstr(l.v[l.n - 1], "[TOO DEEP]"));
    json_decref(root);
    /* NULL strings, NULL json, NULL msg, NULL key. */
    prd_log(lg, PRD_LOG_INFO, NULL, (prd_log_field[]){PRD_F_STR("s", NULL), PRD_F_JSON("j", NULL), PRD_F_STR(NULL, "x")}, 3);
    prd_log(NULL, PRD_LOG_INFO, "no logger", NULL, 0); /* ignored, no crash */
    j = last(&l);
    assert_true(json_is_null(json_object_get(j, "s")));
    assert_int_equal(json_object_size(j), 5);
    json_decref(j);
    prd_logger_free(lg);
    lines_free(&l);
}

/* JSON text instead of jansson values (what bindings pass): written as the
 * same JSON, redacted the same way, and never lost when it is not JSON. */
static void test_json_text_fields(void **state)
{
    (void)state;
    struct lines l;
    prd_logger *lg = logger_to(&l);
    const char *ctx = "{\"user\":\"alice\",\"form\":{\"password\":\"hunter2\"},\"n\":[1,2.5,null]}";
    PRD_LOG_INFO(lg, "m", PRD_F_JSON_TEXT("ctx", ctx, SIZE_MAX), PRD_F_JSON_TEXT("cut", "[1]zzz", 3));
    json_t *j = last(&l);
    json_t *c = json_object_get(j, "ctx");
    assert_string_equal(sget(c, "user"), "alice");
    assert_string_equal(sget(json_object_get(c, "form"), "password"), "[REDACTED]");
    assert_int_equal(json_array_size(json_object_get(c, "n")), 3);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "cut"), 0)), 1);
    assert_null(strstr(l.v[l.n - 1], "hunter2"));
    json_decref(j);
    /* Not JSON: kept as a string, still redacted by value. */
    const char *text = "{broken password=hunter2";
    PRD_LOG_INFO(lg, "m", PRD_F_JSON_TEXT("raw", text, strlen(text)), PRD_F_JSON_TEXT("nul", NULL, 0));
    j = last(&l);
    assert_non_null(sget(j, "raw"));
    assert_null(strstr(sget(j, "raw"), "hunter2"));
    assert_true(json_is_null(json_object_get(j, "nul")));
    json_decref(j);
    /* By key: the whole value, whatever its type. */
    PRD_LOG_INFO(lg, "m", PRD_F_JSON_TEXT("token", "{\"a\":1}", SIZE_MAX));
    j = last(&l);
    assert_true(json_is_string(json_object_get(j, "token")));
    assert_null(strstr(l.v[l.n - 1], "\"a\""));
    json_decref(j);
    /* Bound on a child logger too. */
    prd_logger *child = NULL;
    assert_ok(prd_log_with(lg, (prd_log_field[]){PRD_F_JSON_TEXT("req", "{\"id\":7,\"secret\":\"s\"}", SIZE_MAX)}, 1, &child));
    PRD_LOG_INFO(child, "m");
    j = last(&l);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "req"), "id")), 7);
    assert_string_equal(sget(json_object_get(j, "req"), "secret"), "[REDACTED]");
    json_decref(j);
    prd_logger_free(child);
    prd_logger_free(lg);
    lines_free(&l);
}

static void test_log_json(void **state)
{
    (void)state;
    struct lines l;
    prd_logger *lg = logger_to(&l);
    const char *f = "{\"user\":\"bob\",\"attempt\":3,\"ok\":false,\"password\":\"pw1\","
                    "\"msg\":\"spoof\",\"meta\":{\"api_key\":\"k\",\"ip\":\"10.0.0.1\"}}";
    prd_log_json(lg, PRD_LOG_WARN, "login failed", f, strlen(f));
    json_t *j = last(&l);
    assert_string_equal(sget(j, "msg"), "login failed");
    assert_string_equal(sget(j, "level"), "warn");
    assert_string_equal(sget(j, "user"), "bob");
    assert_int_equal(json_integer_value(json_object_get(j, "attempt")), 3);
    assert_true(json_is_false(json_object_get(j, "ok")));
    assert_string_equal(sget(j, "password"), "[REDACTED]");
    assert_string_equal(sget(j, "fields.msg"), "spoof"); /* reserved keys renamed, as prd_log */
    assert_string_equal(sget(json_object_get(j, "meta"), "api_key"), "[REDACTED]");
    assert_string_equal(sget(json_object_get(j, "meta"), "ip"), "10.0.0.1");
    assert_null(strstr(l.v[l.n - 1], "pw1"));
    /* Members in the order given. */
    assert_true(strstr(l.v[l.n - 1], "\"user\"") < strstr(l.v[l.n - 1], "\"attempt\""));
    json_decref(j);
    /* NULL: no fields. Not an object: the line still goes out, the text kept. */
    size_t before = l.n;
    prd_log_json(lg, PRD_LOG_INFO, "none", NULL, 0);
    prd_log_json(lg, PRD_LOG_INFO, "array", "[1,2]", SIZE_MAX);
    prd_log_json(lg, PRD_LOG_INFO, "broken", "{\"password\": \"hunter2\"", SIZE_MAX);
    assert_int_equal(l.n, before + 3);
    j = last(&l);
    assert_non_null(sget(j, "fields"));
    assert_null(strstr(l.v[l.n - 1], "hunter2"));
    json_decref(j);
    /* Below the level: nothing, and the text is not even parsed. */
    assert_ok(prd_logger_set_level(lg, PRD_LOG_ERROR));
    prd_log_json(lg, PRD_LOG_INFO, "quiet", "{\"a\":1}", SIZE_MAX);
    assert_int_equal(l.n, before + 3);
    assert_ok(prd_logger_set_level(lg, PRD_LOG_DEBUG));
    /* Many members (past the on-stack array), and no memory for them. */
    char big[4096];
    size_t n = 0;
    n += (size_t)snprintf(big + n, sizeof big - n, "{");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s\"k%d\":%d", i ? "," : "", i, i);
    snprintf(big + n, sizeof big - n, "}");
    prd_log_json(lg, PRD_LOG_INFO, "wide", big, SIZE_MAX);
    j = last(&l);
    assert_int_equal(json_integer_value(json_object_get(j, "k99")), 99);
    json_decref(j);
    prd__alloc_fail_after(1);
    prd_log_json(lg, PRD_LOG_INFO, "wide, no memory", big, SIZE_MAX);
    prd__alloc_fail_after(0);
    j = last(&l);
    assert_string_equal(sget(j, "msg"), "wide, no memory");
    assert_non_null(strstr(sget(j, "fields"), "\"k99\":99"));
    json_decref(j);
    prd_log_json(NULL, PRD_LOG_INFO, "no logger", "{}", 2); /* ignored, no crash */
    prd_logger_free(lg);
    lines_free(&l);
}

static void test_duplicates_and_reserved_keys(void **state)
{
    (void)state;
    struct lines l;
    prd_logger *lg = logger_to(&l);
    prd_logger *child = NULL;
    assert_ok(prd_log_with(lg, (prd_log_field[]){PRD_F_STR("service", "api"), PRD_F_STR("service", "dup")}, 2, &child));
    PRD_LOG_INFO(child, "m", PRD_F_STR("service", "other"), PRD_F_STR("k", "1"), PRD_F_STR("k", "2"),
                 PRD_F_STR("msg", "spoof"), PRD_F_STR("level", "fatal"));
    json_t *j = last(&l); /* JSON_REJECT_DUPLICATES: no duplicate survives */
    assert_string_equal(sget(j, "service"), "api"); /* bound first, first wins */
    assert_string_equal(sget(j, "k"), "1");
    assert_string_equal(sget(j, "msg"), "m");
    assert_string_equal(sget(j, "fields.msg"), "spoof");
    assert_string_equal(sget(j, "level"), "info");
    json_decref(j);
    /* A reserved key and a field already named like its renaming: one
     * "fields.msg", the first (last() parses with JSON_REJECT_DUPLICATES). */
    PRD_LOG_INFO(lg, "m", PRD_F_STR("fields.msg", "first"), PRD_F_STR("msg", "second"),
                 PRD_F_STR("msg", "third"));
    j = last(&l);
    assert_non_null(j);
    assert_string_equal(sget(j, "fields.msg"), "first");
    json_decref(j);
    PRD_LOG_INFO(lg, "m", PRD_F_STR("msg", "first"), PRD_F_STR("fields.msg", "second"));
    j = last(&l);
    assert_non_null(j);
    assert_string_equal(sget(j, "fields.msg"), "first");
    json_decref(j);
    prd_logger_free(child);
    prd_logger_free(lg);
    lines_free(&l);
}

static void test_child_loggers_and_profiles(void **state)
{
    (void)state;
    struct lines l;
    prd_logger *lg = logger_to(&l);
    prd_logger *a = NULL, *b = NULL;
    assert_ok(prd_log_with(lg, (prd_log_field[]){PRD_F_STR("request_id", "r1"), PRD_F_STR("token", "tok-123456")}, 2, &a));
    assert_ok(prd_log_with(a, (prd_log_field[]){PRD_F_INT("user", 7)}, 1, &b));
    prd_logger_free(a); /* children outlive their parents */
    PRD_LOG_INFO(b, "x");
    json_t *j = last(&l);
    assert_string_equal(sget(j, "request_id"), "r1");
    assert_string_equal(sget(j, "token"), "[REDACTED]"); /* redacted once, at binding */
    assert_int_equal(json_integer_value(json_object_get(j, "user")), 7);
    json_decref(j);
    prd_logger_free(b);
    assert_ok(prd_logger_set_profile(lg, PRD_LOG_PROFILE_ECS));
    PRD_LOG_WARN(lg, "ecs");
    j = last(&l);
    assert_non_null(sget(j, "@timestamp"));
    assert_string_equal(sget(j, "log.level"), "warn");
    assert_string_equal(sget(j, "message"), "ecs");
    json_decref(j);
    assert_ok(prd_logger_set_profile(lg, PRD_LOG_PROFILE_OTEL));
    PRD_LOG_INFO(lg, "otel", PRD_F_STR("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"), PRD_F_STR("span_id", "00f067aa0ba902b7"));
    j = last(&l);
    assert_string_equal(sget(j, "body"), "otel");
    assert_string_equal(sget(j, "severity_text"), "info");
    assert_string_equal(sget(j, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
    json_decref(j);
    prd_logger_free(lg);
    lines_free(&l);
}

/* ---- redaction ---- */

static void test_redaction_by_key(void **state)
{
    (void)state;
    struct lines l;
    prd_logger *lg = logger_to(&l);
    assert_ok(prd_logger_redact_key(lg, "email"));
    assert_ok(prd_logger_redact_key(lg, "user.address.street"));
    static const char *const keys[] = {
        "password", "Password", "PASSWD", "pwd", "pass", "secret", "client_secret", "token",
        "access_token", "Refresh-Token", "id_token", "api_key", "API-Key", "apikey", "auth",
        "Authorization", "cookie", "Set-Cookie", "session", "sessionId", "private_key",
        "credit_card", "card number", "cc", "cvv", "cvc", "ssn", "pin", "db_password",
        "x-api-key", "github_token", "Email",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        PRD_LOG_INFO(lg, "k", PRD_F_STR(keys[i], "sensitive-value"), PRD_F_INT(keys[i][0] == 'p' ? "n" : "m", 1));
        if (strstr(l.v[l.n - 1], "sensitive-value"))
            fail_msg("key '%s' leaked: %s", keys[i], l.v[l.n - 1]);
        json_decref(last(&l));
    }
    /* Not over-eager on ordinary keys. */
    PRD_LOG_INFO(lg, "k", PRD_F_STR("user", "alice"), PRD_F_STR("path", "/login"), PRD_F_STR("spin", "1"));
    assert_non_null(strstr(l.v[l.n - 1], "alice"));
    assert_non_null(strstr(l.v[l.n - 1], "\"spin\":\"1\""));
    /* Nested json_t at any depth and in arrays; dotted paths. */
    json_t *doc = json_pack("{s:s, s:{s:{s:s, s:s}}, s:[{s:s}], s:{s:i}}", "name", "bob", "user",
                            "address", "street", "Main St 1", "city", "Springfield", "list",
                            "Password", "deep-secret", "creds", "pin", 1234);
    PRD_LOG_INFO(lg, "nested", PRD_F_JSON("data", doc));
    const char *line = l.v[l.n - 1];
    assert_null(strstr(line, "deep-secret"));
    assert_null(strstr(line, "1234"));
    assert_null(strstr(line, "Main St"));
    assert_non_null(strstr(line, "Springfield"));
    json_decref(last(&l));
    json_decref(doc);
    /* A secret field is censored whatever the rules, even with redaction off. */
    assert_ok(prd_logger_disable_redaction(lg));
    PRD_LOG_INFO(lg, "off", PRD_F_SECRET("harmless_name", "hunter2"), PRD_F_STR("password", "visible"));
    assert_null(strstr(l.v[l.n - 1], "hunter2"));
    assert_non_null(strstr(l.v[l.n - 1], "visible"));
    prd_logger_free(lg);
    lines_free(&l);
}

static void test_redaction_by_value(void **state)
{
    (void)state;
    struct lines l;
    prd_logger *lg = logger_to(&l);
    char opaque[PRD_OPAQUE_TOKEN_SIZE];
    assert_ok(prd_token_opaque_new("sess", opaque, sizeof opaque, NULL));
    char with_opaque[128];
    snprintf(with_opaque, sizeof with_opaque, "cookie value %s here", opaque);
    const char *secret_of_opaque = opaque + 5;
    static const struct {
        const char *text, *secret;
    } cases[] = {
        {"Authorization: Bearer abcDEF123456.xyz-_~+/=", "abcDEF123456"},
        {"authorization: basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA"},
        {"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c end",
         "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV"},
        {"token v4.local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.eyJraWQiOiJ4In0 sent", "AAAAAAAAAAAAAAAAAAAA"},
        {"signed v4.public.eyJkYXRhIjoidGhpcyBpcyBhIHNpZ25lZCBtZXNzYWdlIn0xxxxxxxx", "eyJkYXRhIjoidGhpcyBpcy"},
        {"key k4.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8 loaded", "cHFyc3R1dnd4eXp7fH1"},
        {"connect host=db user=app password=s3cr3t-pw dbname=x", "s3cr3t-pw"},
        {"conninfo password = 'quoted pass' host=x", "quoted pass"},
        {"url postgres://app:hunter2@db.example:5432/prod", "hunter2"},
        {"url https://user:p%40ss@example.com/x", "p%40ss"},
        {"query ?token=abc123secret&next=/", "abc123secret"},
        {"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----", "MIIEpAIBAAKCAQEA7"},
        {"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIL", "MC4CAQAwBQYDK2VwBCIEIL"},
        {"card 4111111111111111 charged", "4111111111111111"},
        {"card 4111 1111 1111 1111 charged", "4111 1111 1111 1111"},
        {"card 5500-0000-0000-0004 charged", "5500-0000-0000-0004"},
        {"json {\"password\": \"inner\"} text", "inner"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        PRD_LOG_INFO(lg, cases[i].text, PRD_F_STR("note", cases[i].text));
        json_t *j = last(&l);
        const char *msg = sget(j, "msg"), *note = sget(j, "note");
        if (strstr(msg, cases[i].secret) || strstr(note, cases[i].secret))
            fail_msg("value case %zu leaked: %s", i, l.v[l.n - 1]);
        assert_non_null(strstr(msg, "[REDACTED]"));
        json_decref(j);
    }
    PRD_LOG_INFO(lg, with_opaque);
    assert_null(strstr(l.v[l.n - 1], secret_of_opaque));
    /* Not redacted: numbers that fail Luhn, ordinary text. */
    PRD_LOG_INFO(lg, "order 4111111111111112 shipped; basically fine; version v4.2");
    assert_non_null(strstr(l.v[l.n - 1], "4111111111111112"));
    assert_non_null(strstr(l.v[l.n - 1], "basically fine"));
    prd_logger_free(lg);
    lines_free(&l);
}

static void test_redaction_modes(void **state)
{
    (void)state;
    struct lines l;
    prd_logger *lg = logger_to(&l);
    prd_secret *k1 = NULL, *k2 = NULL;
    assert_ok(prd_secret_random(32, &k1));
    assert_ok(prd_secret_random(32, &k2));
    assert_status(prd_logger_set_redact_mode(lg, PRD_REDACT_FINGERPRINT, NULL), PRD_EINVAL);
    assert_ok(prd_logger_set_redact_mode(lg, PRD_REDACT_FINGERPRINT, k1));
    PRD_LOG_INFO(lg, "a", PRD_F_STR("password", "same"));
    PRD_LOG_INFO(lg, "b", PRD_F_STR("password", "same"));
    PRD_LOG_INFO(lg, "c", PRD_F_STR("password", "other"));
    json_t *a = json_loads(l.v[0], 0, NULL), *b = json_loads(l.v[1], 0, NULL), *c = json_loads(l.v[2], 0, NULL);
    const char *fa = sget(a, "password"), *fb = sget(b, "password"), *fc = sget(c, "password");
    assert_int_equal(strncmp(fa, "fp:", 3), 0);
    assert_int_equal(strlen(fa), 19);
    assert_string_equal(fa, fb);       /* equal values correlate */
    assert_string_not_equal(fa, fc);
    assert_null(strstr(l.v[0], "same"));
    char fa_hex[32];
    snprintf(fa_hex, sizeof fa_hex, "%s", fa + 3);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    /* Numbers and booleans under secret keys are fingerprinted by value. */
    PRD_LOG_INFO(lg, "n", PRD_F_INT("pin", 1234), PRD_F_BOOL("secret", 1), PRD_F_DOUBLE("token", 1.5));
    PRD_LOG_INFO(lg, "n", PRD_F_INT("pin", 9999), PRD_F_BOOL("secret", 0), PRD_F_DOUBLE("token", 2.5));
    PRD_LOG_INFO(lg, "n", PRD_F_INT("pin", 1234), PRD_F_BOOL("secret", 1), PRD_F_DOUBLE("token", 1.5));
    {
        json_t *x = json_loads(l.v[l.n - 3], 0, NULL), *y = json_loads(l.v[l.n - 2], 0, NULL),
               *z = json_loads(l.v[l.n - 1], 0, NULL);
        const char *keys[] = {"pin", "secret", "token"};
        for (int i = 0; i < 3; i++) {
            assert_string_not_equal(sget(x, keys[i]), sget(y, keys[i]));
            assert_string_equal(sget(x, keys[i]), sget(z, keys[i]));
        }
        json_decref(x);
        json_decref(y);
        json_decref(z);
    }
    /* Another key: other fingerprints (no cross-service correlation). */
    struct lines l2;
    prd_logger *lg2 = logger_to(&l2);
    assert_ok(prd_logger_set_redact_mode(lg2, PRD_REDACT_FINGERPRINT, k2));
    PRD_LOG_INFO(lg2, "a", PRD_F_STR("password", "same"));
    assert_null(strstr(l2.v[0], fa_hex)); /* the same value, another key: another fingerprint */
    assert_non_null(strstr(l2.v[0], "\"password\":\"fp:"));
    /* Remove mode drops the field. */
    assert_ok(prd_logger_set_redact_mode(lg2, PRD_REDACT_REMOVE, NULL));
    PRD_LOG_INFO(lg2, "r", PRD_F_STR("password", "x"), PRD_F_STR("keep", "y"));
    json_t *r = last(&l2);
    assert_null(json_object_get(r, "password"));
    assert_string_equal(sget(r, "keep"), "y");
    json_decref(r);
    prd_logger_free(lg);
    prd_logger_free(lg2);
    prd_secret_free(k1);
    prd_secret_free(k2);
    lines_free(&l);
    lines_free(&l2);
}

/* ---- sinks, threads, async ---- */

struct writer_arg {
    prd_logger *lg;
    int id;
};

static void *writer(void *p)
{
    struct writer_arg *w = p;
    for (int i = 0; i < 2000; i++)
        PRD_LOG_INFO(w->lg, "from thread", PRD_F_INT("thread", w->id), PRD_F_INT("i", i),
                     PRD_F_STR("pad", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
    return NULL;
}

static void test_threads_to_a_file_no_interleaving(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/app.log", dir);
    prd_logger *lg = NULL;
    assert_ok(prd_logger_new(&lg));
    assert_ok(prd_logger_set_file(lg, path));
    pthread_t th[8];
    struct writer_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (struct writer_arg){lg, i};
        assert_int_equal(pthread_create(&th[i], NULL, writer, &args[i]), 0);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    prd_logger_free(lg);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[1024];
    int count[8] = {0}, total = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(j))
            fail_msg("interleaved or broken line: %s", line);
        count[json_integer_value(json_object_get(j, "thread"))]++;
        total++;
        json_decref(j);
    }
    fclose(f);
    assert_int_equal(total, 16000);
    for (int i = 0; i < 8; i++)
        assert_int_equal(count[i], 2000);
    tu_rmtree(dir);
    free(dir);
}

static volatile sig_atomic_t app_hups;
static void on_app_hup(int sig)
{
    (void)sig;
    app_hups++;
}

static void test_reopen_after_rotation(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char path[4200], rotated[4300];
    snprintf(path, sizeof path, "%s/app.log", dir);
    snprintf(rotated, sizeof rotated, "%s/app.log.1", dir);
    prd_logger *lg = NULL;
    assert_ok(prd_logger_new(&lg));
    assert_ok(prd_logger_set_file(lg, path));
    PRD_LOG_INFO(lg, "before");
    assert_int_equal(rename(path, rotated), 0);
    PRD_LOG_INFO(lg, "still old file");
    assert_ok(prd_logger_reopen(lg));
    PRD_LOG_INFO(lg, "after");
    prd_logger_free(lg);
    char buf[4096];
    FILE *f = fopen(rotated, "r");
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "before"));
    assert_non_null(strstr(buf, "still old file"));
    f = fopen(path, "r");
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "after"));
    assert_null(strstr(buf, "before"));
    /* The same driven by SIGHUP, as logrotate's postrotate does. */
    struct sigaction app;
    memset(&app, 0, sizeof app);
    app.sa_handler = on_app_hup;
    sigemptyset(&app.sa_mask);
    assert_int_equal(sigaction(SIGHUP, &app, NULL), 0); /* the application's own, chained */
    assert_ok(prd_logger_new(&lg));
    assert_status(prd_logger_reopen_on_sighup(lg), PRD_EINVAL); /* stderr: no file to reopen */
    assert_ok(prd_logger_set_file(lg, path));
    assert_ok(prd_logger_reopen_on_sighup(lg));
    PRD_LOG_INFO(lg, "hup-before");
    assert_int_equal(rename(path, rotated), 0);
    assert_int_equal(raise(SIGHUP), 0);
    assert_int_equal(app_hups, 1);
    PRD_LOG_INFO(lg, "hup-after");
    prd_logger_free(lg);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "hup-after"));
    assert_null(strstr(buf, "hup-before"));
    tu_rmtree(dir);
    free(dir);
}

static void test_write_errors_are_counted(void **state)
{
    (void)state;
    prd_logger *lg = NULL;
    assert_ok(prd_logger_new(&lg));
    int full = open("/dev/full", O_WRONLY);
    assert_true(full >= 0);
    assert_ok(prd_logger_set_fd(lg, full));
    for (int i = 0; i < 10; i++)
        PRD_LOG_INFO(lg, "into /dev/full");
    assert_int_equal(prd_logger_count(lg, PRD_LOG_COUNT_WRITE_ERRORS), 10);
    close(full);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    close(fds[1]); /* a closed descriptor */
    assert_ok(prd_logger_set_fd(lg, fds[1]));
    PRD_LOG_INFO(lg, "into a closed fd");
    assert_int_equal(prd_logger_count(lg, PRD_LOG_COUNT_WRITE_ERRORS), 11);
    prd_logger_free(lg);
}

static void test_async_overflow_counts_drops_exactly(void **state)
{
    (void)state;
    struct lines l;
    prd_logger *lg = logger_to(&l);
    l.slow_us = 2000; /* a slow sink */
    assert_ok(prd_logger_set_async(lg, 4, 0));
    for (int i = 0; i < 200; i++)
        PRD_LOG_INFO(lg, "burst", PRD_F_INT("i", i));
    uint64_t dropped = prd_logger_count(lg, PRD_LOG_COUNT_DROPPED);
    prd_logger_free(lg); /* flushes */
    assert_true(dropped > 0);
    /* Every line is either written or counted as dropped, and a later line
     * reports the drops. */
    uint64_t written = 0, reported = 0;
    for (size_t i = 0; i < l.n; i++) {
        json_t *j = json_loads(l.v[i], 0, NULL);
        assert_non_null(j);
        if (strcmp(sget(j, "msg"), "burst") == 0)
            written++;
        else
            reported += (uint64_t)json_integer_value(json_object_get(j, "dropped"));
        json_decref(j);
    }
    assert_int_equal(written + dropped, 200);
    assert_int_equal(reported, dropped);
    lines_free(&l);
    /* Blocking mode loses nothing. */
    lg = logger_to(&l);
    l.slow_us = 100;
    assert_ok(prd_logger_set_async(lg, 4, 1));
    for (int i = 0; i < 100; i++)
        PRD_LOG_INFO(lg, "b", PRD_F_INT("i", i));
    prd_logger_free(lg);
    assert_int_equal(l.n, 100);
    lines_free(&l);
    /* Bounded in bytes as well as lines: with a 4 KiB ring and 1 KiB
     * lines at most 3 wait at once, whatever the line count allows; every
     * line is written or counted, in order, whole. */
    lg = logger_to(&l);
    l.slow_us = 2000;
    assert_status(prd_logger_set_async_limits(lg, 1000, 100, 0), PRD_EINVAL);
    assert_ok(prd_logger_set_async_limits(lg, 1000, 4096, 0));
    char v[1000];
    memset(v, 'x', sizeof v - 1);
    v[sizeof v - 1] = '\0';
    for (int i = 0; i < 100; i++)
        PRD_LOG_INFO(lg, "big", PRD_F_INT("i", i), PRD_F_STR("v", v));
    char huge[8192];
    memset(huge, 'y', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    PRD_LOG_INFO(lg, "huge", PRD_F_STR("v", huge)); /* larger than the ring */
    dropped = prd_logger_count(lg, PRD_LOG_COUNT_DROPPED);
    prd_logger_free(lg);
    assert_true(dropped >= 1);
    written = 0;
    int64_t last_i = -1;
    for (size_t i = 0; i < l.n; i++) {
        json_t *j = json_loads(l.v[i], 0, NULL);
        assert_non_null(j);
        if (strcmp(sget(j, "msg"), "big") == 0) {
            int64_t at = json_integer_value(json_object_get(j, "i"));
            assert_true(at > last_i); /* in order */
            last_i = at;
            assert_int_equal(strlen(sget(j, "v")), sizeof v - 1);
            written++;
        }
        assert_string_not_equal(sget(j, "msg"), "huge");
        json_decref(j);
    }
    assert_int_equal(written + dropped, 101);
    lines_free(&l);
    /* Nothing is allocated per line in async mode: with every allocation
     * made to fail, lines still go through the ring. */
    lg = logger_to(&l);
    assert_ok(prd_logger_set_async(lg, 64, 1));
    long before = prd__alloc_failures();
    prd__alloc_fail_after(1);
    for (int i = 0; i < 50; i++)
        PRD_LOG_INFO(lg, "quiet", PRD_F_INT("i", i), PRD_F_STR("s", "short"));
    prd__alloc_fail_after(0);
    assert_int_equal(prd__alloc_failures(), before);
    assert_int_equal(prd_logger_count(lg, PRD_LOG_COUNT_DROPPED), 0);
    prd_logger_free(lg);
    assert_int_equal(l.n, 50);
    lines_free(&l);
}

static void test_sampling(void **state)
{
    (void)state;
    struct lines l;
    prd_logger *lg = logger_to(&l);
    prd_clock *c = NULL;
    assert_ok(prd_clock_manual_new(0, 1000000000, &c));
    assert_ok(prd_logger_set_clock(lg, c));
    assert_ok(prd_logger_set_sampling(lg, 3, 10));
    for (int i = 0; i < 100; i++)
        PRD_LOG_INFO(lg, "hot path");
    PRD_LOG_INFO(lg, "other message");
    /* first 3, then every 10th of the remaining 97: 3 + 9, plus the other */
    assert_int_equal(l.n, 3 + 9 + 1);
    assert_int_equal(prd_logger_count(lg, PRD_LOG_COUNT_SAMPLED_OUT), 100 - 12);
    assert_ok(prd_clock_manual_advance(c, 1000000000)); /* next second: fresh budget */
    PRD_LOG_INFO(lg, "hot path");
    assert_int_equal(l.n, 14);
    prd_logger_free(lg);
    prd_clock_free(c);
    lines_free(&l);
}

static void test_scrub_line(void **state)
{
    (void)state;
    prd_logger *lg = NULL;
    assert_ok(prd_logger_new(&lg));
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"{\"a\":1,\"password\":\"x\",\"n\":{\"Api_Key\":[1,2]}}",
         "{\"a\":1,\"password\":\"[REDACTED]\",\"n\":{\"Api_Key\":\"[REDACTED]\"}}"},
        {"plain password=abc ok", "plain password=[REDACTED] ok"},
        {"no secrets here", "no secrets here"},
        {"{broken json password=zz", "{broken json password=[REDACTED]"},
        {"", ""},
        /* numbers as written, whatever their size */
        {"{\"r\":0.1,\"big\":1e300,\"i\":-3}", "{\"r\":0.1,\"big\":1e300,\"i\":-3}"},
        /* never key-blind: lines a strict parser rejects */
        {"{\"secret_key\":\"hunter2\",\"n\":123456789012345678901234567890}",
         "{\"secret_key\":\"[REDACTED]\",\"n\":123456789012345678901234567890}"},
        {"{\"name\":\"Jos\xe9\",\"secret_key\":\"hunter2\"}",
         "{\"name\":\"Jos\xe9\",\"secret_key\":\"[REDACTED]\"}"},
        {"{\"a\":\"x\\u0000y\",\"secret_key\":\"hunter2\"}",
         "{\"a\":\"x\\u0000y\",\"secret_key\":\"[REDACTED]\"}"},
        {"2024-05-01T10:00:00Z stdout F {\"secret_key\":\"hunter2\",\"level\":\"info\"}",
         "2024-05-01T10:00:00Z stdout F {\"secret_key\":\"[REDACTED]\",\"level\":\"info\"}"},
        {"<13>1 2024-05-01T10:00:00Z host app - - - {\"token\": \"abc\"} trailing",
         "<13>1 2024-05-01T10:00:00Z host app - - - {\"token\": \"[REDACTED]\"} trailing"},
        /* broken mid-way: the readable part keeps its key rules */
        {"{\"password\":\"p1\",\"x\":", "{\"password\":\"[REDACTED]\",\"x\":"},
        /* top-level arrays and scalars stay JSON */
        {"[\"-----BEGIN RSA PRIVATE KEY-----\\nMIIE\"]", "[\"[REDACTED]\"]"},
        {"[{\"password\":1},2, \"ok\"]", "[{\"password\":\"[REDACTED]\"},2, \"ok\"]"},
        {"\"password=abc\"", "\"password=[REDACTED]\""},
        {"  42  ", "  42  "},
        /* a scalar after a newline is still one (fuzz_log found it read as text) */
        {"\n\"cvv:\"\n\n", "\n\"cvv:\"\n\n"},
        {"\r\n\"password=abc\"\n", "\r\n\"password=[REDACTED]\"\n"},
        /* whitespace and escapes as written; a long key matched whole */
        {"{ \"a\" : \"\\u00e9\\n\" ,\n \"b\":[ ] }", "{ \"a\" : \"\\u00e9\\n\" ,\n \"b\":[ ] }"},
        /* escaped JSON inside a string, twice over */
        {"{\"body\":\"{\\\"password\\\":\\\"hunter2\\\"}\"}",
         "{\"body\":\"{\\\"password\\\":\\\"[REDACTED]\\\"}\"}"},
        {"{\"outer\":\"{\\\"inner\\\":\\\"{\\\\\\\"pwd\\\\\\\":\\\\\\\"x\\\\\\\"}\\\"}\"}",
         "{\"outer\":\"{\\\"inner\\\":\\\"{\\\\\\\"pwd\\\\\\\":\\\\\\\"[REDACTED]\\\\\\\"}\\\"}\"}"},
        /* a card number written as a JSON number becomes a string */
        {"{\"n\":4111111111111111}", "{\"n\":\"[REDACTED]\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL;
        size_t n = 0;
        assert_ok(prd_log_scrub_line(lg, cases[i].in, strlen(cases[i].in), &out, &n));
        if (strcmp(out, cases[i].out) != 0)
            fail_msg("scrub [%zu]: got %s want %s", i, out, cases[i].out);
        assert_int_equal(n, strlen(cases[i].out));
        prd_free(out);
    }
    /* A key longer than any buffer is still matched whole. */
    char *big = malloc(20000);
    size_t bl = (size_t)sprintf(big, "{\"");
    for (int k = 0; k < 3000; k++)
        bl += (size_t)sprintf(big + bl, "abcde");
    bl += (size_t)sprintf(big + bl, "_password\":\"hunter2\"}");
    char *out = NULL;
    size_t n = 0;
    assert_ok(prd_log_scrub_line(lg, big, bl, &out, &n));
    assert_null(strstr(out, "hunter2"));
    prd_free(out);
    free(big);
    /* Lines that were not JSON end to end are counted. */
    uint64_t text_before = prd_logger_count(lg, PRD_LOG_COUNT_SCRUB_TEXT);
    assert_ok(prd_log_scrub_line(lg, "{\"a\":1}", 7, &out, &n));
    prd_free(out);
    assert_int_equal(prd_logger_count(lg, PRD_LOG_COUNT_SCRUB_TEXT), text_before);
    assert_ok(prd_log_scrub_line(lg, "text {\"a\":1}", 12, &out, &n));
    prd_free(out);
    assert_int_equal(prd_logger_count(lg, PRD_LOG_COUNT_SCRUB_TEXT), text_before + 1);
    /* REMOVE mode leaves the object valid whichever member goes. */
    assert_ok(prd_logger_set_redact_mode(lg, PRD_REDACT_REMOVE, NULL));
    static const struct {
        const char *in, *out;
    } removed[] = {
        {"{\"password\":\"x\",\"b\":2}", "{\"b\":2}"},
        {"{\"a\":1,\"password\":\"x\"}", "{\"a\":1}"},
        {"{\"a\":1, \"password\":{\"y\":[1]}, \"b\":2}", "{\"a\":1, \"b\":2}"},
        {"{\"password\":\"x\"}", "{}"},
    };
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++) {
        assert_ok(prd_log_scrub_line(lg, removed[i].in, strlen(removed[i].in), &out, &n));
        if (strcmp(out, removed[i].out) != 0)
            fail_msg("remove [%zu]: got %s want %s", i, out, removed[i].out);
        prd_free(out);
    }
    prd_logger_free(lg);
}

/* The shapes real secrets take, through scrub: every positive loses its
 * secret, every innocent line comes out unchanged. Shapes are recognised
 * by structure (prefix, alphabet, length, a credential's name), so the
 * secrets below are made up, not examples the code lists. */
static void test_secret_shapes_corpus(void **state)
{
    (void)state;
    prd_logger *lg = NULL;
    assert_ok(prd_logger_new(&lg));
    static const struct {
        const char *secret, *line;
    } positives[] = {
        {"AKIAQ7TESTKEYZ3X9W2L", "aws: using AKIAQ7TESTKEYZ3X9W2L for upload"},
        {"ASIA2BCDEFGHIJKLMNOP", "{\"note\":\"temp creds ASIA2BCDEFGHIJKLMNOP\"}"},
        {"ghp_Zx81kLmN0pQrStUvWxYz0123456789AbCdEf", "cloned with ghp_Zx81kLmN0pQrStUvWxYz0123456789AbCdEf ok"},
        {"ghp_Zx81kLmN0pQrStUvWxYz0123456789AbCdEf", "https://ghp_Zx81kLmN0pQrStUvWxYz0123456789AbCdEf@github.com/o/r.git"},
        {"xoxb-2948-1093847561-aZbYcXdWeVfU", "slack hook failed token=? xoxb-2948-1093847561-aZbYcXdWeVfU"},
        {"sk_live_9f8e7d6c5b4a39281706ab", "{\"cfg\":\"sk_live_9f8e7d6c5b4a39281706ab\"}"},
        {"rk_test_AbCdEfGhIjKlMnOpQr", "restricted rk_test_AbCdEfGhIjKlMnOpQr set"},
        {"AIzaSyB-1a2b3c4d5e6f7g8h9i0jklmnopqrstu", "maps key AIzaSyB-1a2b3c4d5e6f7g8h9i0jklmnopqrstu"},
        {"glpat-Q1w2E3r4T5y6U7i8O9p0", "gitlab glpat-Q1w2E3r4T5y6U7i8O9p0"},
        {"npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "publish with npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"},
        {"whsec_Q2w3E4r5T6y7U8i9O0p1A2s3", "webhook whsec_Q2w3E4r5T6y7U8i9O0p1A2s3"},
        {"session=9f2c81d3; theme=dark", "Cookie: session=9f2c81d3; theme=dark"},
        {"id=a3fWa; Expires=Wed", "Set-Cookie: id=a3fWa; Expires=Wed"},
        {"9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"},
        {"s3cr3t-sid", "[[\"Accept\",\"*/*\"],[\"Cookie\",\"s3cr3t-sid\"]]"},
        {"tok-77aa", "{\"headers\":[{\"name\":\"Authorization\",\"value\":\"tok-77aa\"}]}"},
        {"hunter2", "{\"body\":\"{\\\"password\\\":\\\"hunter2\\\"}\"}"},
        {"hunter2", "PGPASSWORD=hunter2 psql -h db -U app"},
        {"S3cr3t!", "ALTER USER app WITH PASSWORD 'S3cr3t!'"},
        {"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
        {"f0e1d2c3b4a59687", "GET /f?X-Amz-Date=20240501&X-Amz-Signature=f0e1d2c3b4a59687 HTTP/1.1"},
        {"2024%2Fkey", "GET /f?X-Goog-Credential=2024%2Fkey&x=1"},
        {"4111 1111 1111 1111", "card 4111 1111 1111 1111 12.50 EUR"},
        {"5500000000000004", "cards 4111111111111111 5500000000000004"},
        {"pa55w0rd", "DATABASE_URL=postgres://app:pa55w0rd@db/app"},
        {"zz9-top", "api_key: 'zz9-top' "},
        {"abc123", "POST /token client_secret=abc123&grant_type=client_credentials"},
        {"dXNlcjpwYXNz", "{\"headers\":{\"authorization\":\"Basic dXNlcjpwYXNz\"}}"},
    };
    static const char *const innocents[] = {
        "id 123e4567-e89b-12d3-a456-426614174000 created",
        "digest e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 deployed",
        "total 1234.56 EUR for 12 items, order 1234567890123",
        "2024-05-01T10:00:00.123Z took 17146548001234 ns",
        "user alice logged in from 10.0.0.1",
        "GET /api/v1/items?page=2&sort=asc HTTP/1.1",
        "phone +1 415 555 0100",
        "{\"level\":\"info\",\"msg\":\"ok\",\"count\":3,\"ratio\":0.25}",
        "authority=example.org skip_live_updates=true",
        "[[\"Accept\",\"text/html\"],[\"Content-Length\",\"42\"]]",
        "AKIA is a prefix; AKIAX is short",
        "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "version v1.2.3 build 20240501",
    };
    for (size_t i = 0; i < sizeof positives / sizeof positives[0]; i++) {
        char *out = NULL;
        size_t n = 0;
        assert_ok(prd_log_scrub_line(lg, positives[i].line, strlen(positives[i].line), &out, &n));
        if (strstr(out, positives[i].secret))
            fail_msg("positive [%zu] leaked: %s", i, out);
        prd_free(out);
    }
    for (size_t i = 0; i < sizeof innocents / sizeof innocents[0]; i++) {
        char *out = NULL;
        size_t n = 0;
        assert_ok(prd_log_scrub_line(lg, innocents[i], strlen(innocents[i]), &out, &n));
        if (strcmp(out, innocents[i]) != 0)
            fail_msg("innocent [%zu] changed: %s", i, out);
        prd_free(out);
    }
    /* A PEM key across lines, with state carried from line to line. */
    static const char *const pem[] = {"start", "-----BEGIN PRIVATE KEY-----", "MIIEvQIBADANBgkq",
                                      "hkiG9w0BAQEFAASC", "-----END PRIVATE KEY----- done", "after"};
    prd_log_scrub_state st = PRD_LOG_SCRUB_STATE_INIT;
    for (size_t i = 0; i < sizeof pem / sizeof pem[0]; i++) {
        char *out = NULL;
        size_t n = 0;
        assert_ok(prd_log_scrub_next(lg, &st, pem[i], strlen(pem[i]), &out, &n));
        if (i == 2 || i == 3)
            assert_string_equal(out, "[REDACTED]");
        if (i == 0 || i == 5)
            assert_string_equal(out, pem[i]);
        if (i == 4)
            assert_string_equal(out, "[REDACTED] done");
        prd_free(out);
    }
    prd_logger_free(lg);
}

/* Lines longer than PIPE_BUF from many threads reach a pipe whole. */
struct pipe_writer {
    prd_logger *lg;
    int id;
    size_t value_len;
    int lines;
};

static void *pipe_writer_main(void *p)
{
    struct pipe_writer *w = p;
    char *v = malloc(w->value_len + 1);
    memset(v, 'a' + w->id, w->value_len);
    v[w->value_len] = '\0';
    for (int i = 0; i < w->lines; i++)
        PRD_LOG_INFO(w->lg, "big", PRD_F_INT("thread", w->id), PRD_F_STR("v", v));
    free(v);
    return NULL;
}

struct pipe_reader {
    int fd;
    int lines, broken;
};

static void *pipe_reader_main(void *p)
{
    struct pipe_reader *r = p;
    FILE *f = fdopen(r->fd, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        json_t *j = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
        if (json_is_object(j))
            r->lines++;
        else
            r->broken++;
        json_decref(j);
    }
    free(line);
    fclose(f);
    return NULL;
}

static void test_threads_to_a_pipe_lines_whole(void **state)
{
    (void)state;
    static const size_t sizes[] = {5 * 1024, 100 * 1024};
    for (size_t k = 0; k < 2; k++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        struct pipe_reader rd = {fds[0], 0, 0};
        pthread_t reader;
        assert_int_equal(pthread_create(&reader, NULL, pipe_reader_main, &rd), 0);
        prd_logger *lg = NULL;
        assert_ok(prd_logger_new(&lg));
        assert_ok(prd_logger_set_fd(lg, fds[1]));
        int per = k == 0 ? 2000 : 100;
        pthread_t th[8];
        struct pipe_writer w[8];
        for (int i = 0; i < 8; i++) {
            w[i] = (struct pipe_writer){lg, i, sizes[k], per};
            assert_int_equal(pthread_create(&th[i], NULL, pipe_writer_main, &w[i]), 0);
        }
        for (int i = 0; i < 8; i++)
            pthread_join(th[i], NULL);
        prd_logger_free(lg);
        close(fds[1]);
        pthread_join(reader, NULL);
        if (rd.broken || rd.lines != 8 * per)
            fail_msg("%zu-byte values: %d whole lines, %d broken (want %d, 0)", sizes[k], rd.lines,
                     rd.broken, 8 * per);
    }
}

/* W3C traceparent: parsing (accept and reject tables) and child loggers
 * in each profile's names. */
static void test_traceparent(void **state)
{
    (void)state;
    char t[PRD_TRACE_ID_SIZE], sp[PRD_SPAN_ID_SIZE];
    uint8_t fl;
    const char *ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert_ok(prd_traceparent_parse(ok, strlen(ok), t, sp, &fl));
    assert_string_equal(t, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(sp, "00f067aa0ba902b7");
    assert_int_equal(fl, 1);
    const char *later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-extra";
    assert_ok(prd_traceparent_parse(later, strlen(later), t, sp, &fl));
    assert_int_equal(fl, 9);
    static const char *const bad[] = {
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  /* 00 is exactly 55 */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    /* version ff */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    /* upper case */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    /* zero trace */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    /* zero span */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",       /* short */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    /* separator */
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",   /* later: '-' needed */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_status(prd_traceparent_parse(bad[i], strlen(bad[i]), t, sp, &fl), PRD_EINVAL);
        assert_string_equal(t, "");
    }
    static const struct {
        prd_log_profile profile;
        const char *trace_key, *span_key;
    } profiles[] = {{PRD_LOG_PROFILE_DEFAULT, "trace_id", "span_id"},
                    {PRD_LOG_PROFILE_OTEL, "trace_id", "span_id"},
                    {PRD_LOG_PROFILE_ECS, "trace.id", "span.id"}};
    for (size_t i = 0; i < 3; i++) {
        struct lines l;
        prd_logger *lg = logger_to(&l), *child = NULL;
        assert_ok(prd_logger_set_profile(lg, profiles[i].profile));
        assert_ok(prd_log_with_traceparent(lg, ok, strlen(ok), &child));
        PRD_LOG_INFO(child, "traced");
        json_t *j = last(&l);
        assert_string_equal(sget(j, profiles[i].trace_key), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_string_equal(sget(j, profiles[i].span_key), "00f067aa0ba902b7");
        json_decref(j);
        prd_logger_free(child);
        assert_status(prd_log_with_traceparent(lg, bad[0], strlen(bad[0]), &child), PRD_EINVAL);
        assert_null(child);
        prd_logger_free(lg);
        lines_free(&l);
    }
}

/* Allowlist mode fails closed: only listed keys pass in clear. */
static void test_allowlist_mode(void **state)
{
    (void)state;
    struct lines l;
    prd_logger *lg = logger_to(&l);
    assert_ok(prd_logger_allow_key(lg, "user"));
    assert_ok(prd_logger_allow_key(lg, "req.status"));
    assert_ok(prd_logger_allow_key(lg, "password")); /* the secret rules still win */
    assert_status(prd_logger_allow_key(lg, ""), PRD_EINVAL);
    json_t *req = json_pack("{s:i,s:s}", "status", 200, "email", "a@example.org");
    PRD_LOG_INFO(lg, "login ok token=abc", PRD_F_STR("user", "alice"), PRD_F_STR("email", "a@b.c"),
                 PRD_F_INT("attempt", 2), PRD_F_JSON("req", req), PRD_F_STR("password", "pw"));
    json_decref(req);
    json_t *j = last(&l);
    assert_string_equal(sget(j, "user"), "alice");
    assert_string_equal(sget(j, "email"), "[REDACTED]");
    assert_string_equal(sget(j, "attempt"), "[REDACTED]");
    assert_string_equal(sget(j, "password"), "[REDACTED]");
    assert_string_equal(sget(j, "msg"), "login ok token=[REDACTED]"); /* still scanned */
    json_t *r = json_object_get(j, "req");
    assert_int_equal(json_integer_value(json_object_get(r, "status")), 200);
    assert_string_equal(json_string_value(json_object_get(r, "email")), "[REDACTED]");
    assert_non_null(json_object_get(j, "time"));
    json_decref(j);
    /* Scrubbed lines too; the standard keys stay readable. */
    const char *in = "{\"time\":\"t\",\"level\":\"info\",\"user\":\"bob\",\"ip\":\"10.0.0.1\"}";
    char *out = NULL;
    size_t n = 0;
    assert_ok(prd_log_scrub_line(lg, in, strlen(in), &out, &n));
    assert_string_equal(out, "{\"time\":\"t\",\"level\":\"info\",\"user\":\"bob\",\"ip\":\"[REDACTED]\"}");
    prd_free(out);
    prd_logger_free(lg);
    lines_free(&l);
}

/* Levels change at run time, from any thread, per logger. */
static void *flip_levels(void *p)
{
    prd_logger *lg = p;
    for (int i = 0; i < 2000; i++)
        assert_ok(prd_logger_set_level(lg, i % 2 ? PRD_LOG_DEBUG : PRD_LOG_ERROR));
    return NULL;
}

static void test_runtime_levels(void **state)
{
    (void)state;
    struct lines l;
    prd_logger *lg = logger_to(&l);
    prd_logger *child = NULL;
    assert_ok(prd_log_with(lg, NULL, 0, &child));
    assert_ok(prd_logger_set_level(lg, PRD_LOG_WARN));
    assert_false(prd_logger_enabled(child, PRD_LOG_INFO)); /* follows the root */
    assert_ok(prd_logger_set_level(child, PRD_LOG_DEBUG));
    assert_true(prd_logger_enabled(child, PRD_LOG_DEBUG)); /* its own now */
    assert_false(prd_logger_enabled(lg, PRD_LOG_INFO));
    assert_ok(prd_logger_set_level(lg, PRD_LOG_OFF));
    assert_true(prd_logger_enabled(child, PRD_LOG_INFO));
    assert_false(prd_logger_enabled(lg, PRD_LOG_FATAL));
    /* Flipped by another thread while this one logs (TSan-clean). */
    assert_ok(prd_logger_set_level(lg, PRD_LOG_INFO));
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, flip_levels, lg), 0);
    for (int i = 0; i < 2000; i++)
        PRD_LOG_WARN(lg, "w", PRD_F_INT("i", i));
    pthread_join(t, NULL);
    prd_logger_free(child);
    prd_logger_free(lg);
    lines_free(&l);
}

/* The value scanner is linear in its input: doubling a hostile line at
 * most doubles the characters it examines (counted, not timed), as text
 * and inside a JSON line. */
static uint64_t scan_steps(prd_logger *lg, const char *unit, size_t reps, int as_json)
{
    size_t ul = strlen(unit), n = ul * reps;
    char *text = malloc(n + 32);
    size_t len = 0;
    if (as_json)
        len += (size_t)sprintf(text, "{\"m\":\"");
    for (size_t i = 0; i < reps; i++, len += ul)
        memcpy(text + len, unit, ul);
    if (as_json)
        len += (size_t)sprintf(text + len, "\"}");
    uint64_t before = prd__scrub_steps();
    char *out = NULL;
    size_t out_len = 0;
    assert_ok(prd_log_scrub_line(lg, text, len, &out, &out_len));
    uint64_t used = prd__scrub_steps() - before;
    prd_free(out);
    free(text);
    return used;
}

static void test_scanner_is_linear(void **state)
{
    (void)state;
    prd_logger *lg = NULL;
    assert_ok(prd_logger_new(&lg));
    /* The same logger with application patterns whose attempts run long
     * on these inputs: each may look up to 1024 characters ahead. */
    prd_logger *pat = NULL;
    assert_ok(prd_logger_new(&pat));
    assert_ok(prd_logger_redact_pattern(pat, "long_run", "[a-z_=]+\\d{4}"));
    assert_ok(prd_logger_redact_pattern(pat, "any_start", "x*y*[^q]{4,256}Q"));
    static const char *const units[] = {
        "password=x ", "pwd=", "pwd=x&", "-----BEGIN ", "-----BEGIN RSA PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY----- -----END ", "eyJ", "eyJhbGciOi.", "Bearer abcdefgh ",
        "bearer ", "://a:b", "://", "v4.local.", "k4.local.AAAAAAAAAAAAAAAAAAAA", "4111 1111 1111 1111 ",
        "1234567890123 ", "abcd_", "token: 'x' ", "secret='", "a=b ", "x", " ",
    };
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
        for (int as_json = 0; as_json <= 1; as_json++) {
            size_t reps = 40000 / strlen(units[u]) + 1;
            uint64_t one = scan_steps(lg, units[u], reps, as_json);
            uint64_t two = scan_steps(lg, units[u], 2 * reps, as_json);
            /* Linear: twice the input, at most twice the work (plus slack
             * for the fixed part); and a small constant a character. */
            if (two > 2 * one + 64 || one > 64 * strlen(units[u]) * reps)
                fail_msg("'%s' x %zu (%s): %llu steps, x2: %llu", units[u], reps,
                         as_json ? "json" : "text", (unsigned long long)one,
                         (unsigned long long)two);
            one = scan_steps(pat, units[u], reps, as_json);
            two = scan_steps(pat, units[u], 2 * reps, as_json);
            /* An attempt near the end stops at the end, so doubling may add
             * up to L*L/2 for L = 1024+ characters of look-ahead. */
            if (two > 2 * one + 1100 * 1100 / 2 || one > 2 * 1100 * strlen(units[u]) * reps)
                fail_msg("patterns: '%s' x %zu (%s): %llu steps, x2: %llu", units[u], reps,
                         as_json ? "json" : "text", (unsigned long long)one,
                         (unsigned long long)two);
        }
    prd_logger_free(pat);
    prd_logger_free(lg);
}

static char *scrub_str(prd_logger *lg, const char *in)
{
    char *out = NULL;
    size_t n = 0;
    assert_ok(prd_log_scrub_line(lg, in, strlen(in), &out, &n));
    return out;
}

static uint64_t rule_count(const prd_logger *lg, const char *rule)
{
    const char *name;
    uint64_t count;
    for (size_t i = 0; prd_logger_redaction_count(lg, i, &name, &count) == PRD_OK; i++)
        if (strcmp(name, rule) == 0)
            return count;
    fail_msg("no rule %s", rule);
    return 0;
}

static void test_user_patterns(void **state)
{
    (void)state;
    prd_logger *lg = NULL;
    assert_ok(prd_logger_new(&lg));
    /* malformed, too broad or too long: refused with a clear status */
    static const char *const bad[] = {
        "", "+abc", "ab{2", "ab{3,1}", "[abc", "[z-a]x{4}", "abc\\", "a{0}bcd", "abc",
        "\\d{1,3}", "x{300}", "[a-z]{256}[a-z]{256}[a-z]{256}[a-z]{256}[a-z]{256}", "\\b\\b\\b",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (prd_logger_redact_pattern(lg, "p", bad[i]) != PRD_EINVAL)
            fail_msg("pattern '%s' accepted", bad[i]);
    assert_int_equal(prd_logger_redact_pattern(lg, "Bad Name", "EMP-\\d{6}"), PRD_EINVAL);
    assert_int_equal(prd_logger_redact_pattern(lg, NULL, "EMP-\\d{6}"), PRD_EINVAL);
    assert_int_equal(prd_logger_redact_pattern(lg, "jwt", "EMP-\\d{6}"), PRD_ECONFLICT);
    assert_ok(prd_logger_redact_pattern(lg, "employee_id", "\\bEMP-\\d{6}\\b"));
    assert_int_equal(prd_logger_redact_pattern(lg, "employee_id", "X-\\d{6}"), PRD_ECONFLICT);
    assert_ok(prd_logger_redact_pattern(lg, "acme_key", "acme_[a-z0-9]{8,32}"));
    assert_ok(prd_logger_redact_pattern(lg, "ssn", "\\b\\d{3}-\\d{2}-\\d{4}\\b"));
    assert_ok(prd_logger_redact_pattern(lg, "neg", "ID_[^ \"]+"));

    struct {
        const char *in, *out;
    } cases[] = {
        {"by EMP-123456 today", "by [REDACTED] today"},
        {"EMP-1234567 has seven", "EMP-1234567 has seven"},   /* boundary */
        {"XEMP-123456", "XEMP-123456"},                       /* boundary */
        {"k=acme_abc123de.", "k=[REDACTED]."},
        {"acme_short", "acme_short"},                         /* 5 < 8 */
        {"ssn 123-45-6789, 1234-45-6789", "ssn [REDACTED], 1234-45-6789"},
        {"{\"note\":\"ID_xyz\"}", "{\"note\":\"[REDACTED]\"}"}, /* in JSON strings too */
        {"plain text", "plain text"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *o = scrub_str(lg, cases[i].in);
        if (strcmp(o, cases[i].out) != 0)
            fail_msg("'%s' -> '%s', want '%s'", cases[i].in, o, cases[i].out);
        prd_free(o);
    }
    assert_int_equal(rule_count(lg, "employee_id"), 1);
    assert_int_equal(rule_count(lg, "acme_key"), 1);
    assert_int_equal(rule_count(lg, "ssn"), 1);
    assert_int_equal(rule_count(lg, "neg"), 1);
    /* and in fields written by the logger */
    struct lines l;
    prd_logger *w = logger_to(&l);
    assert_ok(prd_logger_redact_pattern(w, "employee_id", "\\bEMP-\\d{6}\\b"));
    PRD_LOG_INFO(w, "hello EMP-000042", PRD_F_STR("who", "EMP-000043"));
    assert_null(strstr(l.v[0], "EMP-00004"));
    assert_int_equal(rule_count(w, "employee_id"), 2);
    prd_logger_free(w);
    lines_free(&l);
    /* at most 32 */
    for (int i = 4; i < 32; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        assert_ok(prd_logger_redact_pattern(lg, name, "QQQ\\d{4}"));
    }
    assert_int_equal(prd_logger_redact_pattern(lg, "one_more", "QQQ\\d{4}"), PRD_ETOOBIG);
    prd_logger_free(lg);
}

static void test_redaction_counts_per_rule(void **state)
{
    (void)state;
    struct lines l;
    prd_logger *lg = logger_to(&l);
    assert_ok(prd_logger_redact_key(lg, "email"));
    assert_ok(prd_logger_redact_key(lg, "user.address"));
    PRD_LOG_INFO(lg, "m", PRD_F_STR("password", "a"), PRD_F_STR("email", "b"),
                 PRD_F_SECRET("pin", "1234"));
    json_t *j = json_pack("{s:{s:s}}", "address", "street", "Main");
    PRD_LOG_INFO(lg, "m", PRD_F_JSON("user", j));
    json_decref(j);
    PRD_LOG_INFO(lg, "login with password=hunter2 and Bearer abcdefghijklmnop",
                 PRD_F_STR("card", "4111 1111 1111 1111"));
    char *o = scrub_str(lg, "{\"headers\":[[\"Cookie\",\"sid=1\"]],\"x\":\"-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\"}");
    prd_free(o);
    assert_int_equal(rule_count(lg, "secret_key"), 1);
    assert_int_equal(rule_count(lg, "user_key"), 1);
    assert_int_equal(rule_count(lg, "user_path"), 1);
    assert_int_equal(rule_count(lg, "secret_field"), 1);
    assert_int_equal(rule_count(lg, "named_secret"), 1);
    assert_int_equal(rule_count(lg, "auth_scheme"), 1);
    assert_int_equal(rule_count(lg, "card_number"), 1);
    assert_int_equal(rule_count(lg, "credential_header"), 1);
    assert_int_equal(rule_count(lg, "pem_private_key"), 1);
    assert_int_equal(rule_count(lg, "jwt"), 0);
    assert_int_equal(rule_count(lg, "allowlist"), 0);
    const char *name;
    uint64_t count;
    assert_int_equal(prd_logger_redaction_count(lg, 15, &name, &count), PRD_ENOTFOUND);
    assert_null(name);
    assert_int_equal(prd_logger_redaction_count(NULL, 0, &name, &count), PRD_EINVAL);
    assert_int_equal(prd_logger_redaction_count(lg, 0, NULL, &count), PRD_EINVAL);
    /* from many threads: no count lost */
    prd_logger_free(lg);
    lines_free(&l);
}

struct count_arg {
    prd_logger *lg;
};

static void *count_worker(void *p)
{
    struct count_arg *a = p;
    for (int i = 0; i < 1000; i++)
        PRD_LOG_INFO(a->lg, "password=x1", PRD_F_STR("token", "t"));
    return NULL;
}

static void test_redaction_counts_threads(void **state)
{
    (void)state;
    struct lines l;
    prd_logger *lg = logger_to(&l);
    pthread_t t[4];
    struct count_arg a = {lg};
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, count_worker, &a), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(rule_count(lg, "named_secret"), 4000);
    assert_int_equal(rule_count(lg, "secret_key"), 4000);
    prd_logger_free(lg);
    lines_free(&l);
}

/* One string with runs of matches by several rules: every match counted
 * (hits are added once a run of one rule). */
static void test_redaction_counts_runs(void **state)
{
    (void)state;
    struct lines l;
    prd_logger *lg = logger_to(&l);
    char text[2048] = "";
    for (int i = 0; i < 20; i++)
        strcat(text, "password=a1 ");
    strcat(text, "Bearer abcdefghijklmnop Bearer qrstuvwxyzabcdef ");
    for (int i = 0; i < 5; i++)
        strcat(text, "pwd=b2 ");
    strcat(text, "Bearer ponmlkjihgfedcba");
    PRD_LOG_INFO(lg, "m", PRD_F_STR("detail", text));
    assert_null(strstr(l.v[l.n - 1], "a1"));
    assert_null(strstr(l.v[l.n - 1], "b2"));
    assert_int_equal(rule_count(lg, "named_secret"), 25);
    assert_int_equal(rule_count(lg, "auth_scheme"), 3);
    prd_logger_free(lg);
    lines_free(&l);
}

/* Verdicts are cached by name; a rule added later applies to names seen
 * before it, in keys and in text. */
static void test_cached_verdicts_follow_rules(void **state)
{
    (void)state;
    struct lines l;
    prd_logger *lg = logger_to(&l);
    for (int i = 0; i < 3; i++)
        PRD_LOG_INFO(lg, "m", PRD_F_STR("shoe_size", "forty-two"),
                     PRD_F_STR("note", "shoe_size=forty-three"));
    assert_non_null(strstr(l.v[l.n - 1], "forty-two"));
    assert_non_null(strstr(l.v[l.n - 1], "forty-three"));
    assert_ok(prd_logger_redact_key(lg, "shoe-size"));
    PRD_LOG_INFO(lg, "m", PRD_F_STR("shoe_size", "forty-two"),
                 PRD_F_STR("note", "shoe_size=forty-three"));
    assert_null(strstr(l.v[l.n - 1], "forty-two"));
    assert_null(strstr(l.v[l.n - 1], "forty-three"));
    /* Many distinct names (more than the caches hold) never hide the
     * password key's value from it, nor show another's. */
    char key[32], val[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "field%d", i);
        snprintf(val, sizeof val, "field%d=v%d password=pw%d", i, i, i);
        PRD_LOG_INFO(lg, "m", PRD_F_STR(key, "plain"), PRD_F_STR("note", val),
                     PRD_F_STR("password", "pw"));
        const char *line = l.v[l.n - 1];
        char pw[16];
        snprintf(pw, sizeof pw, "pw%d", i);
        if (strstr(line, pw) || strstr(line, "\"password\":\"pw\"") || !strstr(line, "plain"))
            fail_msg("line %d: %s", i, line);
    }
    prd_logger_free(lg);
    lines_free(&l);
}

/* Integers at their edges, written without printf. */
static void test_integer_edges(void **state)
{
    (void)state;
    struct lines l;
    prd_logger *lg = logger_to(&l);
    PRD_LOG_INFO(lg, "ints", PRD_F_INT("min", INT64_MIN), PRD_F_INT("max", INT64_MAX),
                 PRD_F_INT("zero", 0), PRD_F_INT("neg", -7), PRD_F_UINT("umax", UINT64_MAX),
                 PRD_F_UINT("u63", (uint64_t)INT64_MAX), PRD_F_UINT("u0", 0));
    assert_non_null(strstr(l.v[0], "\"min\":-9223372036854775808,"));
    assert_non_null(strstr(l.v[0], "\"max\":9223372036854775807,"));
    assert_non_null(strstr(l.v[0], "\"zero\":0,"));
    assert_non_null(strstr(l.v[0], "\"neg\":-7,"));
    assert_non_null(strstr(l.v[0], "\"umax\":\"18446744073709551615\",")); /* above 2^63-1: a string */
    assert_non_null(strstr(l.v[0], "\"u63\":9223372036854775807,"));
    assert_non_null(strstr(l.v[0], "\"u0\":0}"));
    json_decref(last(&l));
    prd_logger_free(lg);
    lines_free(&l);
}

/* Doubles: the fast fixed-notation writer must print exactly what the
 * printf search does ("%.15g".."%.17g", the first that reads back, with
 * ".0" for a whole number), over decimals with few digits (the common
 * case), arbitrary bit patterns, and the edges of its range. */
static void reference_double(char *out, size_t cap, double d)
{
    if (!isfinite(d)) {
        snprintf(out, cap, "\"%s\"", isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    int k = 0;
    for (int prec = 15;; prec++) {
        k = snprintf(out, cap, "%.*g", prec, d);
        if (prec >= 17 || strtod(out, NULL) == d)
            break;
    }
    if (!strpbrk(out, ".eEn"))
        snprintf(out + k, cap - (size_t)k, ".0");
}

static void check_double(double d)
{
    char want[64];
    reference_double(want, sizeof want, d);
    char stack[64];
    struct prd__buf b;
    prd__buf_init(&b, stack, sizeof stack);
    prd__json_double(&b, d);
    prd__buf_putc(&b, '\0');
    if (strcmp(b.p, want) != 0)
        fail_msg("%a: got %s, want %s", d, b.p, want);
    prd__buf_free(&b);
}

static void test_double_formatting(void **state)
{
    (void)state;
    static const double edges[] = {0.0, -0.0, 1e-4, 9.9999999999999e-5, 1e15, 999999999999999.0,
                                   1e15 - 0.5, 0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, 0.25, 0.0015,
                                   42.0, -42.5, 123456789012345.0, 1e14 + 0.5, 5e-324, 1e308,
                                   INFINITY, -INFINITY, NAN, 0.1 + 0.2, 100.0, 1e-5};
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++)
        check_double(edges[i]);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 300000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* a decimal with 1..15 digits, scaled by 10^-8 .. 10^8 */
        int digits = 1 + (int)(x % 15);
        uint64_t m = (x >> 8) % (uint64_t)pow(10, digits);
        double v = (double)m * pow(10, (int)((x >> 40) % 17) - 8);
        check_double(v);
        check_double(-v / 7);
        double bits;
        memcpy(&bits, &x, sizeof bits);
        check_double(bits);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_line),
        cmocka_unit_test(test_hostile_inputs_stay_valid_json),
        cmocka_unit_test(test_duplicates_and_reserved_keys),
        cmocka_unit_test(test_child_loggers_and_profiles),
        cmocka_unit_test(test_redaction_by_key),
        cmocka_unit_test(test_redaction_by_value),
        cmocka_unit_test(test_redaction_modes),
        cmocka_unit_test(test_threads_to_a_file_no_interleaving),
        cmocka_unit_test(test_reopen_after_rotation),
        cmocka_unit_test(test_write_errors_are_counted),
        cmocka_unit_test(test_async_overflow_counts_drops_exactly),
        cmocka_unit_test(test_sampling),
        cmocka_unit_test(test_scrub_line),
        cmocka_unit_test(test_scanner_is_linear),
        cmocka_unit_test(test_threads_to_a_pipe_lines_whole),
        cmocka_unit_test(test_secret_shapes_corpus),
        cmocka_unit_test(test_runtime_levels),
        cmocka_unit_test(test_traceparent),
        cmocka_unit_test(test_allowlist_mode),
        cmocka_unit_test(test_user_patterns),
        cmocka_unit_test(test_json_text_fields),
        cmocka_unit_test(test_log_json),
        cmocka_unit_test(test_redaction_counts_per_rule),
        cmocka_unit_test(test_redaction_counts_threads),
        cmocka_unit_test(test_redaction_counts_runs),
        cmocka_unit_test(test_cached_verdicts_follow_rules),
        cmocka_unit_test(test_double_formatting),
        cmocka_unit_test(test_integer_edges),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
