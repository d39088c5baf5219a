package prodready_test

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"prodready"
)

func captured(t *testing.T) (*prodready.Logger, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var lines []string
	l, err := prodready.NewLogger(prodready.LoggerOptions{Func: func(s string) { mu.Lock(); lines = append(lines, s); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), lines...) }
}

func TestLoggerRedactsAndKeepsTypes(t *testing.T) {
	l, lines := captured(t)
	l.Info("signup",
		prodready.String("user", "alice"),
		prodready.String("password", "hunter2"),
		prodready.String("note", "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345"),
		prodready.SecretField("pin", "s3cret"),
		prodready.Int("attempt", 2), prodready.Bool("ok", true), prodready.Float("ratio", 0.5), prodready.Null("none"),
		prodready.JSON("extra", `{"api_key":"zzz","n":[1,2]}`),
		prodready.Err("err", prodready.ErrLimited))
	got := lines()
	if len(got) != 1 {
		t.Fatal(got)
	}
	for _, secret := range []string{"hunter2", "abcdefghijklmnopqrstuvwxyz012345", "s3cret", "zzz"} {
		if strings.Contains(got[0], secret) {
			t.Fatalf("%s leaked: %s", secret, got[0])
		}
	}
	var m map[string]interface{}
	if err := json.Unmarshal([]byte(got[0]), &m); err != nil {
		t.Fatalf("not JSON: %v %s", err, got[0])
	}
	if m["user"] != "alice" || m["attempt"] != float64(2) || m["ok"] != true || m["ratio"] != 0.5 || m["none"] != nil || m["msg"] != "signup" {
		t.Fatalf("%v", m)
	}
	if e, _ := m["err"].(map[string]interface{}); e["name"] != "ELIMITED" {
		t.Fatalf("%v", m["err"])
	}
	child, err := l.With(prodready.String("request_id", "r-1"))
	if err != nil {
		t.Fatal(err)
	}
	child.Warn("inside")
	child.Close()
	traced, err := l.WithTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if err != nil {
		t.Fatal(err)
	}
	traced.Info("traced")
	traced.Close()
	if _, err := l.WithTraceparent("garbage"); !errors.Is(err, prodready.ErrInvalid) {
		t.Fatal(err)
	}
	l.Debug("below the threshold")
	got = lines()
	if len(got) != 3 || !strings.Contains(got[1], `"request_id":"r-1"`) || !strings.Contains(got[2], "4bf92f3577b34da6a3ce929d0e0e4736") {
		t.Fatal(got)
	}
	out, err := l.Scrub(`{"secret_key":"hunter2","msg":"ok"}`)
	if err != nil || strings.Contains(out, "hunter2") {
		t.Fatal(out, err)
	}
}

func TestGoroutinesLogWholeLines(t *testing.T) {
	l, lines := captured(t)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				l.Info("tick", prodready.Int("g", int64(g)), prodready.String("pad", strings.Repeat("x", 300)))
			}
		}(g)
	}
	wg.Wait()
	got := lines()
	if len(got) != 1600 {
		t.Fatalf("%d lines", len(got))
	}
	for _, s := range got {
		if !json.Valid([]byte(s)) {
			t.Fatalf("torn line: %s", s)
		}
	}
	if l.Count(prodready.CountInfo) != 1600 {
		t.Fatal(l.Count(prodready.CountInfo))
	}
}
