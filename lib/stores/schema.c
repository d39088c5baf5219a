/*
 * The stores' schema, as migrations of the set "prodready" (applied by
 * prd_pg_stores_migrate and `prodready db migrate`). Never edit a
 * migration once released: add the next version (prd_pg_migrate refuses
 * an edited one).
 *
 * Rate-limit state is UNLOGGED on purpose: it is written on every checked
 * request, and after a server crash PostgreSQL empties an unlogged table,
 * which forgives recent attempts but loses nothing that must survive (a
 * limit that restarts is the price of not writing the WAL for each
 * request). Session and single-use token records are in a logged table.
 */
#include "internal/common.h"

#include "internal/pg.h"
#include "internal/stores.h"

/* The SQL of a migration is one string constant (its checksum is of the
 * whole text): longer than the 4095 characters ISO C guarantees, which
 * GCC and Clang both take. */
#pragma GCC diagnostic ignored "-Woverlength-strings"

/* A C constant as text in a migration's SQL. */
#define SQL_NUM(x) SQL_NUM_(x)
#define SQL_NUM_(x) #x

/* prd_rl_check as v1 made it, less its sweep of decayed rows, which v6
 * replaced (the two share the rest of the text). */
#define RL_CHECK_HEAD \
    "prd_rl_check(p_rules text[], p_keys bytea[], p_algos int[]," \
    "    p_limits bigint[], p_windows bigint[], p_bursts bigint[], p_cost bigint, p_record bool," \
    "    OUT allowed bool, OUT rule int, OUT lim bigint, OUT remaining bigint," \
    "    OUT reset_ms bigint, OUT retry_after_ms bigint, OUT times bigint[])" \
    " LANGUAGE plpgsql AS $fn$\n" \
    "DECLARE\n" \
    "  now_ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;\n" \
    "  n int := coalesce(array_length(p_rules, 1), 0);\n" \
    "  s prd_rl_state; i int; t bigint; w bigint; nl bigint; cnt bigint; e bigint;\n" \
    "  ok bool; rem bigint; rst bigint; ra bigint; emis double precision; tat bigint;\n" \
    "  best int := 0; best_ok bool; best_rem bigint; best_rst bigint; best_ra bigint;\n" \
    "  ord int[]; held prd_rl_state[]; new_states prd_rl_state[]; j int; pct float8;\n" \
    "  all_ok bool := true;\n" \
    "BEGIN\n" \
    /* Each rule's row locked in (rule, key) order, so concurrent checks of \
     * overlapping keys never deadlock; a new key's row inserted first. A \
     * peek locks and inserts nothing. */ \
    "  IF n = 1 THEN ord := ARRAY[1];\n" /* the common case, without the sort */ \
    "  ELSE SELECT array_agg(o ORDER BY r, k) INTO ord FROM unnest(p_rules, p_keys)" \
    "    WITH ORDINALITY AS u(r, k, o); END IF;\n" \
    "  FOREACH i IN ARRAY ord LOOP\n" \
    "    IF p_record THEN\n" \
    "      SELECT * INTO s FROM prd_rl_state x WHERE x.rule = p_rules[i] AND x.key = p_keys[i]" \
    "        FOR UPDATE;\n" \
    "      IF NOT FOUND THEN\n" \
    "        INSERT INTO prd_rl_state (rule, key) VALUES (p_rules[i], p_keys[i])" \
    "          ON CONFLICT DO NOTHING;\n" \
    "        SELECT * INTO s FROM prd_rl_state x WHERE x.rule = p_rules[i] AND x.key = p_keys[i]" \
    "          FOR UPDATE;\n" \
    "      END IF;\n" \
    "    ELSE\n" \
    "      SELECT * INTO s FROM prd_rl_state x WHERE x.rule = p_rules[i] AND x.key = p_keys[i];\n" \
    "      IF NOT FOUND THEN s := ROW(p_rules[i], p_keys[i], 0, 0, 0, 0, '{}', 0); END IF;\n" \
    "    END IF;\n" \
    "    held[i] := s;\n" \
    "  END LOOP;\n" \
    "  FOR i IN 1 .. n LOOP\n" \
    "    s := held[i];\n" \
    "    t := greatest(now_ms, s.t_last); w := p_windows[i]; nl := p_limits[i];\n" \
    "    IF p_algos[i] = 0 THEN\n" /* exact: the log of admitted units */ \
    /* the log is oldest first: drop the prefix that left the window */ \
    "      j := 1;\n" \
    "      WHILE j <= cardinality(s.stamps) AND s.stamps[j] <= t - w LOOP j := j + 1; END LOOP;\n" \
    "      IF j > 1 THEN s.stamps := s.stamps[j:]; END IF;\n" \
    "      cnt := cardinality(s.stamps);\n" \
    "      ok := cnt + p_cost <= nl;\n" \
    "      IF ok THEN rem := nl - cnt - p_cost; ra := 0; rst := w;\n" \
    "        IF p_record THEN s.stamps := s.stamps || array_fill(t, ARRAY[p_cost::int]);" \
    "          s.t_last := t; s.expires_ms := t + w; END IF;\n" \
    "      ELSE rem := greatest(nl - cnt, 0);\n" \
    "        IF p_cost > nl THEN ra := -1;" \
    "        ELSE ra := s.stamps[cnt + p_cost - nl] + w - now_ms; END IF;\n" \
    "        rst := s.stamps[cnt] + w - now_ms;\n" \
    "      END IF;\n" \
    "    ELSIF p_algos[i] = 1 THEN\n" /* counter: two fixed windows, the previous weighted */ \
    "      IF t / w = s.a + 1 THEN s.c := s.b; s.b := 0; s.a := t / w;" \
    "      ELSIF t / w <> s.a THEN s.c := 0; s.b := 0; s.a := t / w; END IF;\n" \
    "      e := t - s.a * w;\n" \
    "      ok := s.c::numeric * (w - e) + (s.b + p_cost)::numeric * w <= nl::numeric * w;\n" \
    "      IF ok THEN\n" \
    "        rem := floor((nl::numeric * w - s.c::numeric * (w - e) - (s.b + p_cost)::numeric * w) / w);\n" \
    "        ra := 0;\n" \
    "        IF p_record THEN s.b := s.b + p_cost; s.t_last := t; s.expires_ms := (s.a + 2) * w; END IF;\n" \
    "      ELSE\n" \
    "        rem := greatest(floor((nl::numeric * w - s.c::numeric * (w - e) - s.b::numeric * w) / w), 0);\n" \
    "        IF p_cost > nl THEN ra := -1;\n" \
    "        ELSIF s.b + p_cost <= nl AND s.c > 0 THEN\n" \
    "          ra := greatest(ceil(w - (nl - s.b - p_cost)::numeric * w / s.c) - e, 1);\n" \
    "        ELSE\n" /* after the window turns, this window's units weigh as the previous */ \
    "          ra := (w - e) + greatest(ceil(w - (nl - p_cost)::numeric * w / greatest(s.b, 1)), 0);\n" \
    "        END IF;\n" \
    "      END IF;\n" \
    "      rst := CASE WHEN s.b > 0 THEN 2 * w - e WHEN s.c > 0 THEN w - e ELSE 0 END;\n" \
    "    ELSE\n" /* gcra: one unit every W/N, at most burst at once (times in us) */ \
    "      emis := w * 1000.0 / nl;\n" \
    "      tat := greatest(s.a, t * 1000) + ceil(p_cost * emis)::bigint;\n" \
    "      ok := tat - t * 1000 <= ceil(p_bursts[i] * emis);\n" \
    "      IF ok THEN rem := floor((ceil(p_bursts[i] * emis) - (tat - t * 1000)) / emis); ra := 0;" \
    "        rst := ceil((tat - t * 1000) / 1000.0);\n" \
    "        IF p_record THEN s.a := tat; s.t_last := t; s.expires_ms := ceil(tat / 1000.0); END IF;\n" \
    "      ELSE rem := floor(greatest(ceil(p_bursts[i] * emis) - (greatest(s.a, t * 1000) - t * 1000), 0) / emis);\n" \
    "        IF p_cost > p_bursts[i] THEN ra := -1;" \
    "        ELSE ra := ceil((tat - t * 1000 - ceil(p_bursts[i] * emis)) / 1000.0); END IF;\n" \
    "        rst := ceil(greatest(s.a - t * 1000, 0) / 1000.0);\n" \
    "      END IF;\n" \
    "    END IF;\n" \
    "    new_states := new_states || s; times := times || t;\n" \
    /* the deciding rule: the longest wait among denials, else the fewest left */ \
    "    IF i = 1 OR (NOT ok AND best_ok) OR (ok = best_ok AND ((NOT ok AND (ra < 0 OR" \
    "        (best_ra >= 0 AND ra > best_ra))) OR (ok AND rem < best_rem))) THEN\n" \
    "      best := i; best_ok := ok; best_rem := rem; best_rst := rst; best_ra := ra;\n" \
    "    END IF;\n" \
    "    all_ok := all_ok AND ok;\n" \
    "  END LOOP;\n" \
    "  IF p_record AND all_ok THEN\n" \
    "    FOR i IN 1 .. n LOOP\n" \
    "      s := new_states[i];\n" \
    "      UPDATE prd_rl_state x SET t_last = s.t_last, a = s.a, b = s.b, c = s.c," \
    "        stamps = s.stamps, expires_ms = s.expires_ms" \
    "        WHERE x.rule = s.rule AND x.key = s.key;\n" \
    "    END LOOP;\n" \
    "  END IF;\n"

/* the rest of prd_rl_check, after its sweep */
#define RL_CHECK_TAIL \
    "  allowed := all_ok; rule := best - 1; lim := p_limits[best];\n" \
    "  remaining := best_rem;\n" \
    "  reset_ms := greatest(best_rst, 0); retry_after_ms := CASE WHEN all_ok THEN 0 ELSE best_ra END;\n" \
    "END $fn$;\n"

/* v1: rate-limit state and the function that checks and records several
 * rules in one statement (one round trip, rows locked in a fixed order
 * so concurrent checks never deadlock, the database's clock for time). */
static const char v1_ratelimit[] =
    "CREATE UNLOGGED TABLE prd_rl_state ("
    "  rule text NOT NULL,"      /* name:algorithm:limit:window[:burst] */
    "  key bytea NOT NULL,"
    "  t_last bigint NOT NULL DEFAULT 0," /* the key's clock (ms): never goes back */
    "  a bigint NOT NULL DEFAULT 0,"      /* counter: window number; gcra: TAT (us) */
    "  b bigint NOT NULL DEFAULT 0,"      /* counter: this window's units */
    "  c bigint NOT NULL DEFAULT 0,"      /* counter: the previous window's */
    "  stamps bigint[] NOT NULL DEFAULT '{}'," /* exact: admitted units' times, oldest first */
    "  expires_ms bigint NOT NULL DEFAULT 0,"  /* nothing of it counts after this */
    "  PRIMARY KEY (rule, key));\n"
    "CREATE UNLOGGED SEQUENCE prd_rl_sweep;\n"
    "CREATE FUNCTION " RL_CHECK_HEAD
    /* Decayed rows go a batch at a time at every 16th check (a sequence
     * counts them, across all clients): no sweeper to run, and no index on
     * the expiry, which every check would have to update (it cost a third
     * of a check; without it an update of a row stays on its page,
     * PostgreSQL's HOT). This sweep took at least 2% of the table's pages,
     * a cost that grew with the table: v6 replaced it. */
    "  IF p_record AND nextval('prd_rl_sweep') % 16 = 0 THEN\n"
    "    pct := least(100, greatest(2, 400.0 * 8192 / greatest(pg_relation_size('prd_rl_state'), 1)));\n"
    "    DELETE FROM prd_rl_state x WHERE x.ctid = ANY (ARRAY(SELECT y.ctid FROM prd_rl_state y"
    "      TABLESAMPLE SYSTEM (pct) WHERE y.expires_ms < now_ms - 1000 LIMIT 64"
    "      FOR UPDATE SKIP LOCKED));\n"
    "  END IF;\n"
    RL_CHECK_TAIL
    /* Give back a reservation's units: p_times[i] is the time rule i
     * recorded them at (prd_rl_check's times), so only what still counts
     * is returned: an exact rule's stamps of that time still in its log,
     * a counter's units if its window has moved on at most once, a GCRA
     * key's share not yet replenished. Rows locked in prd_rl_check's order. */
    "CREATE FUNCTION prd_rl_refund(p_rules text[], p_keys bytea[], p_algos int[],"
    "    p_limits bigint[], p_windows bigint[], p_cost bigint, p_times bigint[]) RETURNS void"
    " LANGUAGE plpgsql AS $fn$\n"
    "DECLARE\n"
    "  now_ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;\n"
    "  s prd_rl_state; i int; ord int[]; pos int; m int; w bigint; back bigint;\n"
    "BEGIN\n"
    "  SELECT array_agg(o ORDER BY r, k) INTO ord FROM unnest(p_rules, p_keys)"
    "    WITH ORDINALITY AS u(r, k, o);\n"
    "  FOREACH i IN ARRAY ord LOOP\n"
    "    SELECT * INTO s FROM prd_rl_state x WHERE x.rule = p_rules[i] AND x.key = p_keys[i]"
    "      FOR UPDATE;\n"
    "    CONTINUE WHEN NOT FOUND;\n"
    "    w := p_windows[i];\n"
    "    IF p_algos[i] = 0 THEN\n"
    "      pos := array_position(s.stamps, p_times[i]); m := 0;\n"
    "      IF pos IS NOT NULL THEN\n"
    "        WHILE m < p_cost AND pos + m <= cardinality(s.stamps)"
    "          AND s.stamps[pos + m] = p_times[i] LOOP m := m + 1; END LOOP;\n"
    "        s.stamps := s.stamps[1:pos - 1] || s.stamps[pos + m:];\n"
    "      END IF;\n"
    "    ELSIF p_algos[i] = 1 THEN\n"
    "      IF p_times[i] / w = s.a THEN s.b := greatest(s.b - p_cost, 0);\n"
    "      ELSIF p_times[i] / w = s.a - 1 THEN s.c := greatest(s.c - p_cost, 0); END IF;\n"
    "    ELSIF s.a > now_ms * 1000 THEN\n"
    "      back := ceil(p_cost * (w * 1000.0 / p_limits[i]))::bigint;\n"
    "      s.a := greatest(s.a - back, now_ms * 1000);\n"
    "    END IF;\n"
    "    UPDATE prd_rl_state x SET a = s.a, b = s.b, c = s.c, stamps = s.stamps"
    "      WHERE x.rule = s.rule AND x.key = s.key;\n"
    "  END LOOP;\n"
    "END $fn$;\n";

/* v2: session and single-use token records. Logged: losing them in a
 * crash would log everyone out, and a standby must have them. */
static const char v2_tokens[] =
    "CREATE TABLE prd_token_records ("
    "  digest bytea PRIMARY KEY," /* the token's keyed digest: the token itself is never stored */
    "  kind smallint NOT NULL,"   /* 1 session, 2 single use */
    "  subject text NOT NULL,"
    "  purpose text NOT NULL DEFAULT '',"
    "  binding_fp bytea,"
    "  created_ns bigint NOT NULL,"
    "  last_used_ns bigint NOT NULL," /* sessions: slides on use (not indexed: stays HOT) */
    "  idle_ns bigint NOT NULL,"
    "  expires_ns bigint NOT NULL);\n"
    "CREATE INDEX prd_token_records_subject ON prd_token_records (subject);\n"
    "CREATE INDEX prd_token_records_expires ON prd_token_records (expires_ns);\n";

/* prd_login_check as v3 made it, up to its sweep of forgotten streaks,
 * which v6 replaced. */
#define LOGIN_CHECK_HEAD \
    "prd_login_check(p_account bytea, p_source bytea, p_src_rule text," \
    "    p_src_limit bigint, p_src_window bigint, p_acct_rule text, p_acct_limit bigint," \
    "    p_acct_window bigint, p_free bigint, p_base bigint, p_cap bigint," \
    "    OUT allowed bool, OUT rule int, OUT lim bigint, OUT remaining bigint," \
    "    OUT reset_ms bigint, OUT retry_after_ms bigint, OUT trusted bool, OUT acct_t bigint," \
    "    OUT acct_lock_ms bigint, OUT starts_backoff bool, OUT src_lock_ms bigint)" \
    " LANGUAGE plpgsql AS $fn$\n" \
    "DECLARE\n" \
    "  now_ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;\n" \
    "  fam prd_login_familiar; pr prd_login_pairs; n bigint := 0; last bigint := 0;\n" \
    "  wait_b bigint := 0; rl record; aft record; left_b bigint;\n" \
    "  free_n bigint := greatest(p_free, 1);\n" \
    "BEGIN\n" \
    "  acct_t := NULL; acct_lock_ms := 0; starts_backoff := false; src_lock_ms := 0;\n" \
    "  SELECT * INTO fam FROM prd_login_familiar f WHERE f.account = p_account" \
    "    AND f.source = p_source FOR UPDATE;\n" \
    "  trusted := FOUND AND fam.until_ms > now_ms;\n" \
    "  IF trusted THEN n := fam.failures; last := fam.last_ms;\n" \
    "  ELSE\n" \
    /* the pair's row exists before it is read, so concurrent attempts of \
     * one pair queue on its lock instead of all reading the same streak */ \
    "    INSERT INTO prd_login_pairs (account, source) VALUES (p_account, p_source)" \
    "      ON CONFLICT DO NOTHING;\n" \
    "    SELECT * INTO pr FROM prd_login_pairs x WHERE x.account = p_account" \
    "      AND x.source = p_source FOR UPDATE;\n" \
    "    n := pr.failures; last := pr.last_ms;\n" \
    "  END IF;\n" \
    "  IF n > 0 AND now_ms >= last + 2 * p_cap THEN n := 0; END IF;\n" /* forgotten */ \
    "  IF n > 0 AND n >= p_free THEN\n" \
    "    wait_b := greatest(last + (CASE WHEN n - p_free >= 40 THEN p_cap" \
    "      ELSE least(p_cap::numeric, p_base * 2::numeric ^ (n - p_free))::bigint END) - now_ms, 0);\n" \
    "  END IF;\n" \
    "  IF trusted THEN\n" \
    "    SELECT * INTO rl FROM prd_rl_check(ARRAY[p_src_rule], ARRAY[p_source], ARRAY[1]," \
    "      ARRAY[p_src_limit], ARRAY[p_src_window], ARRAY[p_src_limit], 1, wait_b = 0);\n" \
    "  ELSE\n" \
    "    SELECT * INTO rl FROM prd_rl_check(ARRAY[p_src_rule, p_acct_rule]," \
    "      ARRAY[p_source, p_account], ARRAY[1, 0], ARRAY[p_src_limit, p_acct_limit]," \
    "      ARRAY[p_src_window, p_acct_window], ARRAY[p_src_limit, p_acct_limit], 1, wait_b = 0);\n" \
    "  END IF;\n" \
    "  IF wait_b > 0 OR NOT rl.allowed THEN\n" \
    "    allowed := false;\n" \
    /* the denial with the longest wait decides; the backoff on a tie */ \
    "    IF wait_b > 0 AND (rl.allowed OR (rl.retry_after_ms >= 0 AND wait_b >= rl.retry_after_ms)) THEN\n" \
    "      rule := 2; lim := p_free; remaining := 0; reset_ms := wait_b; retry_after_ms := wait_b;\n" \
    "    ELSE\n" \
    "      rule := rl.rule; lim := rl.lim; remaining := rl.remaining; reset_ms := rl.reset_ms;" \
    "      retry_after_ms := rl.retry_after_ms;\n" \
    "    END IF;\n" \
    "    RETURN;\n" \
    "  END IF;\n" \
    /* admitted: counted as a failure until it is settled */ \
    "  IF trusted THEN\n" \
    "    UPDATE prd_login_familiar f SET failures = n + 1, last_ms = now_ms" \
    "      WHERE f.account = p_account AND f.source = p_source;\n" \
    "  ELSE\n" \
    "    UPDATE prd_login_pairs x SET failures = n + 1, last_ms = now_ms" \
    "      WHERE x.account = p_account AND x.source = p_source;\n" \
    "    SELECT x.stamps[cardinality(x.stamps)] INTO acct_t FROM prd_rl_state x" \
    "      WHERE x.rule = p_acct_rule AND x.key = p_account;\n" \
    "    SELECT * INTO aft FROM prd_rl_check(ARRAY[p_acct_rule], ARRAY[p_account], ARRAY[0]," \
    "      ARRAY[p_acct_limit], ARRAY[p_acct_window], ARRAY[p_acct_limit], 1, false);\n" \
    "    IF NOT aft.allowed THEN acct_lock_ms := greatest(aft.retry_after_ms, 1); END IF;\n" \
    "  END IF;\n" \
    "  starts_backoff := n + 1 = free_n;\n" \
    "  SELECT * INTO aft FROM prd_rl_check(ARRAY[p_src_rule], ARRAY[p_source], ARRAY[1]," \
    "    ARRAY[p_src_limit], ARRAY[p_src_window], ARRAY[p_src_limit], 1, false);\n" \
    "  IF NOT aft.allowed THEN\n" \
    "    src_lock_ms := CASE WHEN aft.retry_after_ms > 0 THEN aft.retry_after_ms ELSE p_src_window END;\n" \
    "  END IF;\n" \
    /* allowed: the rule with the fewest attempts left */ \
    "  allowed := true; rule := rl.rule; lim := rl.lim; remaining := rl.remaining;" \
    "  reset_ms := rl.reset_ms; retry_after_ms := 0;\n" \
    "  left_b := greatest(p_free - n - 1, 0);\n" \
    "  IF left_b < remaining THEN rule := 2; lim := p_free; remaining := left_b;" \
    "    reset_ms := 2 * p_cap; END IF;\n"

/* v3: the login guard (prd_login_guard_set_pg). Failure streaks of
 * (account, source) pairs are unlogged like the limits; familiar sources
 * (30 days of trust that a user's usual place keeps through an attack on
 * the account) are logged. Accounts and sources are BLAKE2b digests.
 * Locks are taken in one order everywhere: familiar row, pair row, then
 * the limit rows (prd_rl_check's order), so guards never deadlock. */
static const char v3_login[] =
    "CREATE UNLOGGED TABLE prd_login_pairs ("
    "  account bytea NOT NULL, source bytea NOT NULL,"
    "  failures bigint NOT NULL DEFAULT 0, last_ms bigint NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (account, source));\n"
    "CREATE TABLE prd_login_familiar ("
    "  account bytea NOT NULL, source bytea NOT NULL, until_ms bigint NOT NULL,"
    "  failures bigint NOT NULL DEFAULT 0, last_ms bigint NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (account, source));\n"
    "CREATE INDEX prd_login_familiar_until ON prd_login_familiar (until_ms);\n"
    "CREATE FUNCTION " LOGIN_CHECK_HEAD
    /* streaks forgotten and familiarity ended go a few at a time (the
     * pairs' sweep replaced by v6, as prd_rl_check's) */
    "  IF random() < 0.0625 THEN\n"
    "    DELETE FROM prd_login_pairs x WHERE x.ctid = ANY (ARRAY(SELECT y.ctid FROM prd_login_pairs y"
    "      TABLESAMPLE SYSTEM (least(100, greatest(2, 400.0 * 8192"
    "        / greatest(pg_relation_size('prd_login_pairs'), 1))))"
    "      WHERE y.last_ms < now_ms - 2 * p_cap LIMIT 64 FOR UPDATE SKIP LOCKED));\n"
    "    DELETE FROM prd_login_familiar x WHERE x.ctid = ANY (ARRAY(SELECT y.ctid"
    "      FROM prd_login_familiar y WHERE y.until_ms < now_ms LIMIT 64 FOR UPDATE SKIP LOCKED));\n"
    "  END IF;\n"
    "END $fn$;\n"
    /* outcome 1: success (the streak ends, the source becomes familiar);
     * 2: abandoned (the streak's failure given back). Either way the
     * account's failure recorded at p_acct_t is refunded. */
    "CREATE FUNCTION prd_login_settle(p_account bytea, p_source bytea, p_acct_rule text,"
    "    p_acct_t bigint, p_outcome int, p_trusted bool, p_trust_ms bigint) RETURNS void"
    " LANGUAGE plpgsql AS $fn$\n"
    "DECLARE\n"
    "  now_ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;\n"
    "  pos int;\n"
    "BEGIN\n"
    "  IF p_outcome = 1 THEN\n"
    "    INSERT INTO prd_login_familiar (account, source, until_ms) VALUES"
    "      (p_account, p_source, now_ms + p_trust_ms) ON CONFLICT (account, source) DO UPDATE"
    "      SET until_ms = EXCLUDED.until_ms, failures = 0;\n"
    "    DELETE FROM prd_login_pairs x WHERE x.account = p_account AND x.source = p_source;\n"
    "  ELSIF p_trusted THEN\n"
    "    UPDATE prd_login_familiar f SET failures = greatest(f.failures - 1, 0)"
    "      WHERE f.account = p_account AND f.source = p_source;\n"
    "  ELSE\n"
    "    UPDATE prd_login_pairs x SET failures = greatest(x.failures - 1, 0)"
    "      WHERE x.account = p_account AND x.source = p_source;\n"
    "  END IF;\n"
    "  IF p_acct_t IS NOT NULL THEN\n"
    "    SELECT array_position(x.stamps, p_acct_t) INTO pos FROM prd_rl_state x"
    "      WHERE x.rule = p_acct_rule AND x.key = p_account FOR UPDATE;\n"
    "    IF pos IS NOT NULL THEN\n"
    "      UPDATE prd_rl_state x SET stamps = x.stamps[1:pos - 1] || x.stamps[pos + 1:]"
    "        WHERE x.rule = p_acct_rule AND x.key = p_account;\n"
    "    END IF;\n"
    "  END IF;\n"
    "END $fn$;\n"
    "CREATE FUNCTION prd_login_unlock(p_account bytea, p_acct_rule text) RETURNS void"
    " LANGUAGE sql AS $fn$\n"
    "  UPDATE prd_login_familiar SET failures = 0 WHERE account = p_account;\n"
    "  DELETE FROM prd_login_pairs WHERE account = p_account;\n"
    "  DELETE FROM prd_rl_state WHERE rule = p_acct_rule AND key = p_account;\n"
    "$fn$;\n";

/* v4: refresh-token families in the token records: a token's family and
 * state, and the function that uses one atomically with every other use
 * of its family (the family's row is locked first, so uses of two tokens
 * of one family queue on it and never deadlock). Outcomes as enum
 * prd__refresh_outcome: 0 rotated, 1 a retry in the grace window, 2 reuse
 * (the family revoked), 3 unknown, 4 expired. */
static const char v4_refresh[] =
    "ALTER TABLE prd_token_records ADD COLUMN family bytea,"
    "  ADD COLUMN state smallint NOT NULL DEFAULT 0,"
    "  ADD COLUMN rotated_ns bigint NOT NULL DEFAULT 0,"
    "  ADD COLUMN successor bytea;\n"
    "CREATE FUNCTION prd_token_refresh(p_digest bytea, p_next bytea, p_now bigint, p_ttl bigint,"
    "    p_grace bigint, OUT outcome int, OUT subject text)"
    " LANGUAGE plpgsql AS $fn$\n"
    "DECLARE fam_id bytea; r prd_token_records; f prd_token_records; nx prd_token_records;\n"
    "BEGIN\n"
    "  SELECT x.family INTO fam_id FROM prd_token_records x WHERE x.digest = p_digest"
    "    AND x.kind = 3;\n"
    "  IF NOT FOUND THEN outcome := 3; RETURN; END IF;\n"
    "  SELECT * INTO f FROM prd_token_records x WHERE x.digest = fam_id AND x.kind = 4 FOR UPDATE;\n"
    "  SELECT * INTO r FROM prd_token_records x WHERE x.digest = p_digest AND x.kind = 3 FOR UPDATE;\n"
    "  IF r.digest IS NULL THEN outcome := 3; RETURN; END IF;\n" /* gone meanwhile */
    "  subject := r.subject;\n"
    "  IF f.digest IS NULL THEN\n" /* the family was revoked */
    "    DELETE FROM prd_token_records x WHERE x.digest = p_digest; outcome := 3; RETURN;\n"
    "  END IF;\n"
    "  IF p_now >= r.expires_ns OR p_now >= f.expires_ns THEN\n"
    "    DELETE FROM prd_token_records x WHERE x.digest = p_digest; outcome := 4; RETURN;\n"
    "  END IF;\n"
    "  IF r.state = 0 THEN\n"
    "    outcome := 0;\n"
    "    UPDATE prd_token_records x SET state = 1, rotated_ns = p_now, successor = p_next"
    "      WHERE x.digest = p_digest;\n"
    "  ELSE\n"
    "    IF r.state = 1 AND p_grace > 0 AND p_now - r.rotated_ns < p_grace THEN\n"
    "      SELECT * INTO nx FROM prd_token_records x WHERE x.digest = r.successor FOR UPDATE;\n"
    "    END IF;\n"
    "    IF nx.digest IS NULL OR nx.state <> 0 THEN\n"
    "      DELETE FROM prd_token_records x WHERE x.digest IN (p_digest, fam_id);\n"
    "      outcome := 2; RETURN;\n"
    "    END IF;\n"
    "    outcome := 1;\n"
    "    UPDATE prd_token_records x SET state = 2 WHERE x.digest = nx.digest;\n"
    "    UPDATE prd_token_records x SET successor = p_next WHERE x.digest = p_digest;\n"
    "  END IF;\n"
    "  INSERT INTO prd_token_records (digest, kind, subject, created_ns, last_used_ns, idle_ns,"
    "    expires_ns, family, state) VALUES (p_next, 3, r.subject, p_now, p_now, 0,"
    "    least(p_now + p_ttl, f.expires_ns), fam_id, 0);\n"
    "END $fn$;\n";

/* v5: the jti revocation list (prd_token_revocations with a pool).
 * Logged: a revocation must survive a crash and reach a standby.
 * revoked_ms is the database's clock at the insert, which instances read
 * from to merge what is new; the row goes a day after its token expires. */
static const char v5_revoked[] =
    "CREATE TABLE prd_token_revoked ("
    "  jti bytea PRIMARY KEY," /* BLAKE2b-128 of the jti */
    "  expires_ns bigint NOT NULL,"
    "  revoked_ms bigint NOT NULL DEFAULT floor(extract(epoch FROM clock_timestamp()) * 1000));\n"
    "CREATE INDEX prd_token_revoked_at ON prd_token_revoked (revoked_ms);\n"
    "CREATE INDEX prd_token_revoked_expires ON prd_token_revoked (expires_ns);\n";

/* v6: sweeps whose cost does not grow with the table. v1 and v3 swept
 * decayed rows from at least 2% of the table's pages at random, so a
 * flood of fresh keys made every 16th check slower (1.0-1.6 ms a sweep at
 * 100,000 keys, and 2% of any size beyond). Now a sweep reads the next
 * PRD__SWEEP_PAGES pages of the table in turn (a TID range scan), whatever
 * its size: every page is visited once a round. A sequence per table says
 * where the next sweep starts. PL/pgSQL throughout: it keeps its plans,
 * where an SQL function called from a statement is planned again at every
 * call (that was 40 us of a 105 us sweep). */
static const char v6_sweeps[] =
    "CREATE UNLOGGED SEQUENCE prd_rl_sweep_at;\n"
    "CREATE UNLOGGED SEQUENCE prd_login_sweep_at;\n"
    /* The first page of p_table's next window: windows follow each other
     * from the first page and start again at it after the window that
     * holds the last page, so a round of ceil(pages / size) sweeps visits
     * every page, also while the table grows (a window number taken modulo
     * the count of windows would jump whenever that count changed, and a
     * growing table's windows could be missed for rounds). Two sweeps that
     * both run past the end both start again at the first window; no harm. */
    "CREATE FUNCTION prd_sweep_start(p_table regclass, p_at regclass) RETURNS bigint"
    " LANGUAGE plpgsql AS $fn$\n"
    "DECLARE\n"
    "  w bigint := (nextval(p_at) - 1) * " SQL_NUM(PRD__SWEEP_PAGES) ";\n"
    "BEGIN\n"
    "  IF w >= greatest(pg_relation_size(p_table) / current_setting('block_size')::bigint, 1) THEN\n"
    "    PERFORM setval(p_at, 1);\n" /* the next sweep takes the second window */
    "    w := 0;\n"
    "  END IF;\n"
    "  RETURN w;\n"
    "END $fn$;\n"
    /* Decayed rate-limit rows of the next pages (a second of grace past
     * their expiry); the number deleted. The stores call it at every
     * PRD__SWEEP_EVERY-th recording check, prd_rl_check as well.
     * Sequential scans off: PL/pgSQL keeps a generic plan of its DELETE
     * after five calls, and one made while the table was nearly empty
     * found rows by ctid with a sequential scan, which it kept when the
     * table had grown (4 ms a sweep at 100,000 rows, half the throughput
     * of a connection that began on an empty table). JIT off with it: a
     * plan that still had to scan would cost past JIT's thresholds, and
     * compiling it took 35-190 ms a call. */
    "CREATE FUNCTION prd_rl_sweep() RETURNS int LANGUAGE plpgsql SET enable_seqscan = off SET jit = off"
    " AS $fn$\n"
    "DECLARE\n"
    "  before_ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - 1000;\n"
    "  w bigint := prd_sweep_start('prd_rl_state', 'prd_rl_sweep_at');\n"
    "  lo tid := format('(%s,0)', w)::tid;\n"
    "  hi tid := format('(%s,0)', w + " SQL_NUM(PRD__SWEEP_PAGES) ")::tid;\n"
    "  gone int;\n"
    "BEGIN\n"
    "  DELETE FROM prd_rl_state x WHERE x.ctid = ANY (ARRAY(SELECT y.ctid FROM prd_rl_state y"
    "    WHERE y.ctid >= lo AND y.ctid < hi"
    "    AND y.expires_ms < before_ms"
    "    LIMIT " SQL_NUM(PRD__SWEEP_MAX_ROWS) " FOR UPDATE SKIP LOCKED));\n"
    "  GET DIAGNOSTICS gone = ROW_COUNT;\n"
    "  RETURN gone;\n"
    "END $fn$;\n"
    /* Failure streaks last touched before p_before_ms, from the next
     * pages, and familiarity ended by p_now_ms, by its index: the number
     * of streaks deleted. Sequential scans off as in prd_rl_sweep. */
    "CREATE FUNCTION prd_login_sweep(p_before_ms bigint, p_now_ms bigint) RETURNS int"
    " LANGUAGE plpgsql SET enable_seqscan = off SET jit = off AS $fn$\n"
    "DECLARE\n"
    "  w bigint := prd_sweep_start('prd_login_pairs', 'prd_login_sweep_at');\n"
    "  lo tid := format('(%s,0)', w)::tid;\n"
    "  hi tid := format('(%s,0)', w + " SQL_NUM(PRD__SWEEP_PAGES) ")::tid;\n"
    "  gone int;\n"
    "BEGIN\n"
    "  DELETE FROM prd_login_pairs x WHERE x.ctid = ANY (ARRAY(SELECT y.ctid FROM prd_login_pairs y"
    "    WHERE y.ctid >= lo AND y.ctid < hi"
    "    AND y.last_ms < p_before_ms"
    "    LIMIT " SQL_NUM(PRD__SWEEP_MAX_ROWS) " FOR UPDATE SKIP LOCKED));\n"
    "  GET DIAGNOSTICS gone = ROW_COUNT;\n"
    "  DELETE FROM prd_login_familiar x WHERE x.ctid = ANY (ARRAY(SELECT y.ctid"
    "    FROM prd_login_familiar y WHERE y.until_ms < p_now_ms"
    "    LIMIT " SQL_NUM(PRD__SWEEP_MAX_ROWS) " FOR UPDATE SKIP LOCKED));\n"
    "  RETURN gone;\n"
    "END $fn$;\n"
    /* Token records past their absolute end and revoked jtis a day past
     * their token's expiry, a few at each new one (by their expiry's
     * index). In functions for the same reason as the sweeps: the stores'
     * statements deleted them inline, and a prepared statement's generic
     * plan made on an empty table scanned the whole table for them. */
    "CREATE FUNCTION prd_token_sweep(p_now_ns bigint) RETURNS int LANGUAGE plpgsql"
    " SET enable_seqscan = off SET jit = off AS $fn$\n"
    "DECLARE gone int;\n"
    "BEGIN\n"
    "  DELETE FROM prd_token_records x WHERE x.ctid = ANY (ARRAY(SELECT y.ctid"
    "    FROM prd_token_records y WHERE y.expires_ns < p_now_ns LIMIT 16 FOR UPDATE SKIP LOCKED));\n"
    "  GET DIAGNOSTICS gone = ROW_COUNT;\n"
    "  RETURN gone;\n"
    "END $fn$;\n"
    "CREATE FUNCTION prd_revoked_sweep() RETURNS int LANGUAGE plpgsql"
    " SET enable_seqscan = off SET jit = off AS $fn$\n"
    "DECLARE\n"
    /* a value, not the clock's call, so the expiry's index can take it */
    "  before_ns bigint := (extract(epoch FROM clock_timestamp()) * 1e9)::int8 - 86400000000000;\n"
    "  gone int;\n"
    "BEGIN\n"
    "  DELETE FROM prd_token_revoked x WHERE x.ctid = ANY (ARRAY(SELECT y.ctid"
    "    FROM prd_token_revoked y WHERE y.expires_ns < before_ns"
    "    LIMIT 16 FOR UPDATE SKIP LOCKED));\n"
    "  GET DIAGNOSTICS gone = ROW_COUNT;\n"
    "  RETURN gone;\n"
    "END $fn$;\n"
    "CREATE OR REPLACE FUNCTION " RL_CHECK_HEAD
    "  IF p_record AND nextval('prd_rl_sweep') % " SQL_NUM(PRD__SWEEP_EVERY) " = 0 THEN"
    " PERFORM prd_rl_sweep(); END IF;\n"
    RL_CHECK_TAIL
    "CREATE OR REPLACE FUNCTION " LOGIN_CHECK_HEAD
    "  IF random() * " SQL_NUM(PRD__SWEEP_EVERY) " < 1 THEN\n"
    "    PERFORM prd_login_sweep(now_ms - 2 * p_cap, now_ms);\n"
    "  END IF;\n"
    "END $fn$;\n";

static const prd_pg_migration store_migrations[] = {
    PRD_PG_MIGRATION(1, "rate-limit state (unlogged), prd_rl_check and prd_rl_refund", v1_ratelimit),
    PRD_PG_MIGRATION(2, "session and single-use token records", v2_tokens),
    PRD_PG_MIGRATION(3, "login guard: failure streaks (unlogged), familiar sources", v3_login),
    PRD_PG_MIGRATION(4, "refresh-token families", v4_refresh),
    PRD_PG_MIGRATION(5, "jti revocation list", v5_revoked),
    PRD_PG_MIGRATION(6, "sweeps of decayed rows at a bounded cost", v6_sweeps),
};

prd_status prd_pg_stores_migrate(prd_pg_pool *pool, uint32_t *applied, prd_pg_error *err)
{
    return prd_pg_migrate(pool, PRD__STORES_SET, store_migrations,
                          PRD_ARRAY_LEN(store_migrations), applied, err);
}
