package prodready_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"prodready"
)

func sessions(t *testing.T, clock *prodready.Clock) *prodready.Sessions {
	t.Helper()
	st, err := prodready.NewMemoryTokenStore(1000)
	if err != nil {
		t.Fatal(err)
	}
	s, err := prodready.NewSessions(st, "sess", prodready.SessionOptions{Idle: time.Minute, Absolute: 10 * time.Minute, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSessionLifecycle(t *testing.T) {
	clock, _ := prodready.NewManualClock(1_800_000_000_000_000_000, 1)
	s := sessions(t, clock)
	tok, err := s.Create("user-1")
	if err != nil {
		t.Fatal(err)
	}
	if sub, err := s.Validate(tok); err != nil || sub != "user-1" {
		t.Fatal(sub, err)
	}
	next, err := s.Rotate(tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Validate(tok); !errors.Is(err, prodready.ErrBadToken) {
		t.Fatalf("old token: %v", err)
	}
	_ = clock.Advance(61 * time.Second)
	if _, err := s.Validate(next); !errors.Is(err, prodready.ErrExpired) {
		t.Fatalf("idle: %v", err)
	}
	a, _ := s.Create("u")
	_, _ = s.IssueRefresh("u")
	list, err := s.List("u")
	if err != nil || len(list) != 2 {
		t.Fatal(list, err)
	}
	if err := s.RevokeID("someone", list[0].ID); !errors.Is(err, prodready.ErrNotFound) {
		t.Fatal(err)
	}
	if err := s.Revoke(a); err != nil {
		t.Fatal(err)
	}
	if n, err := s.RevokeSubject("u"); err != nil || n < 1 {
		t.Fatal(n, err)
	}
}

func TestSingleUseAndRefresh(t *testing.T) {
	clock, _ := prodready.NewManualClock(1_800_000_000_000_000_000, 1)
	s := sessions(t, clock)
	one, _ := s.IssueSingleUse("reset", "u", 15*time.Minute, []byte("hash-v1"))
	if _, err := s.ConsumeSingleUse("reset", one, []byte("hash-v2")); !errors.Is(err, prodready.ErrBadToken) {
		t.Fatalf("binding changed: %v", err)
	}
	one, _ = s.IssueSingleUse("reset", "u", 15*time.Minute, []byte("hash-v1"))
	if sub, err := s.ConsumeSingleUse("reset", one, []byte("hash-v1")); err != nil || sub != "u" {
		t.Fatal(sub, err)
	}
	if _, err := s.ConsumeSingleUse("reset", one, []byte("hash-v1")); !errors.Is(err, prodready.ErrBadToken) {
		t.Fatal("twice")
	}
	first, _ := s.IssueRefresh("u")
	second, sub, err := s.RotateRefresh(first)
	if err != nil || sub != "u" || second == "" {
		t.Fatal(err)
	}
	if _, sub, err := s.RotateRefresh(first); !errors.Is(err, prodready.ErrRefreshReused) || !errors.Is(err, prodready.ErrBadToken) || sub != "u" {
		t.Fatalf("reuse: %v %q", err, sub)
	}
	if _, _, err := s.RotateRefresh(second); !errors.Is(err, prodready.ErrBadToken) || errors.Is(err, prodready.ErrRefreshReused) {
		t.Fatalf("revoked family: %v", err)
	}
	// Of goroutines presenting one token at once, exactly one rotates.
	tok, _ := s.IssueRefresh("v")
	var wg sync.WaitGroup
	var mu sync.Mutex
	rotated := 0
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := s.RotateRefresh(tok); err == nil {
				mu.Lock()
				rotated++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if rotated != 1 {
		t.Fatalf("%d rotations", rotated)
	}
	opaque, digest, err := prodready.NewOpaqueToken("api")
	if err != nil {
		t.Fatal(err)
	}
	if d, err := prodready.OpaqueDigest("api", opaque); err != nil || d != digest {
		t.Fatal(err)
	}
	if _, err := prodready.OpaqueDigest("api", opaque[:len(opaque)-1]+"A"); !errors.Is(err, prodready.ErrBadToken) && opaque[len(opaque)-1] != 'A' {
		t.Fatal(err)
	}
}
