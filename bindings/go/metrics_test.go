package prodready_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"prodready"
)

// Every module's counters in the Prometheus text format: the values follow
// the objects' use, and a bad prefix is ErrInvalid.
func TestPrometheusTexts(t *testing.T) {
	want := func(text, sample string) {
		t.Helper()
		if !strings.Contains(text, sample) {
			t.Fatalf("%q not in:\n%s", sample, text)
		}
	}
	p, err := prodready.NewPasswordPolicy(prodready.PasswordOptions{T: 1, MKiB: 1024, P: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := 0; i < 2; i++ {
		if _, err := p.Hash(context.Background(), []byte("correct horse")); err != nil {
			t.Fatal(err)
		}
	}
	text, err := p.Prometheus("app_pw_")
	if err != nil {
		t.Fatal(err)
	}
	want(text, "# TYPE app_pw_hashes_total counter\napp_pw_hashes_total 2\n")
	if _, err := p.Prometheus("bad prefix"); !errors.Is(err, prodready.ErrInvalid) {
		t.Fatalf("bad prefix: %v", err)
	}

	clock, _ := prodready.NewManualClock(0, 1_000_000_000)
	l := limiter(t, 1, time.Minute, clock)
	for _, ip := range []string{"10.0.0.1", "10.0.0.2"} {
		if d, err := l.Check(1, []byte(ip)); err != nil || !d.Allowed {
			t.Fatal(d, err)
		}
	}
	text, _ = l.Prometheus("prodready_ratelimit_")
	want(text, "prodready_ratelimit_keys{rule=\"per-ip\"} 2\n")

	g, err := prodready.NewLoginGuard(prodready.LoginOptions{MaxKeys: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	a, _, err := g.Check([]byte("alice"), []byte("203.0.113.7"))
	if err != nil || a == nil {
		t.Fatal(err)
	}
	if err := a.Failure(); err != nil {
		t.Fatal(err)
	}
	text, _ = g.Prometheus("prodready_login_")
	want(text, "prodready_login_attempts_total{result=\"allowed\"} 1\n")

	lg, err := prodready.NewLogger(prodready.LoggerOptions{Func: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	lg.Info("one")
	text, _ = lg.Prometheus("prodready_log_")
	want(text, "prodready_log_lines_total{level=\"info\"} 1\n")

	rv, err := prodready.NewRevocations(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rv.Close()
	if err := rv.RevokeJTI("jti-1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	text, _ = rv.Prometheus("prodready_token_revocations_")
	want(text, "prodready_token_revocations_entries 1\n")
}
