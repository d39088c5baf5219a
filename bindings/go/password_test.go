package prodready_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"prodready"
)

func low(t *testing.T) *prodready.PasswordPolicy {
	t.Helper()
	p, err := prodready.NewPasswordPolicy(prodready.PasswordOptions{T: 1, MKiB: 1024, P: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestBackendAndArenaIdle(t *testing.T) {
	known := map[string]bool{"own-avx512": true, "own-avx2": true, "own-ssse3": true, "own-sse2": true,
		"own-portable": true, "libsodium": true, "libargon2": true}
	if b := prodready.PasswordBackend(); !known[b] {
		t.Fatalf("backend %q", b)
	}
	for _, idle := range []time.Duration{-1, time.Microsecond, 5 * time.Second} {
		p, err := prodready.NewPasswordPolicy(prodready.PasswordOptions{T: 1, MKiB: 1024, P: 1, ArenaIdle: idle})
		if err != nil {
			t.Fatal(err)
		}
		phc, err := p.Hash(context.Background(), []byte("pw"))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Verify(context.Background(), phc, []byte("pw")); err != nil {
			t.Fatal(err)
		}
		// Our backend keeps the last hash's arena unless told to keep none.
		kept := p.Stat(prodready.StatArenaKiB)
		if own := strings.HasPrefix(prodready.PasswordBackend(), "own-"); own && idle > 0 && kept < 1024 {
			t.Fatalf("arena %d KiB kept with idle %v", kept, idle)
		} else if idle < 0 && kept != 0 {
			t.Fatalf("arena %d KiB kept with none asked", kept)
		}
		p.Close()
	}
}

func TestHashVerifyMismatch(t *testing.T) {
	p, ctx := low(t), context.Background()
	phc, err := p.Hash(ctx, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Verify(ctx, phc, []byte("correct horse")); err != nil {
		t.Fatal(err)
	}
	err = p.Verify(ctx, phc, []byte("wrong"))
	if !errors.Is(err, prodready.ErrMismatch) {
		t.Fatalf("want ErrMismatch, got %v", err)
	}
	var e *prodready.Error
	if !errors.As(err, &e) || !e.ClientError() || e.Status.Name() != "EMISMATCH" {
		t.Fatalf("%#v", err)
	}
	for _, c := range []struct {
		phc  string
		want error
	}{
		{"$argon2id$garbage", prodready.ErrInvalid},
		{"$argon2id$v=19$m=9999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", prodready.ErrTooBig},
		{"$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234", prodready.ErrUnsupported},
		{"nul\x00inside", prodready.ErrInvalid},
	} {
		if err := p.Verify(ctx, c.phc, []byte("pw")); !errors.Is(err, c.want) {
			t.Errorf("%q: want %v, got %v", c.phc, c.want, err)
		}
	}
	if err := p.VerifyDummy(ctx, []byte("x")); !errors.Is(err, prodready.ErrMismatch) {
		t.Fatalf("dummy: %v", err)
	}
}

func TestRehashAndUpgrade(t *testing.T) {
	weak, ctx := low(t), context.Background()
	strong, err := prodready.NewPasswordPolicy(prodready.PasswordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer strong.Close()
	phc, _ := weak.Hash(ctx, []byte("pw"))
	if r, err := strong.NeedsRehash(phc); err != nil || r != "weaker params" {
		t.Fatalf("%q %v", r, err)
	}
	if r, _ := weak.NeedsRehash(phc); r != "" {
		t.Fatalf("current hash: %q", r)
	}
	up, err := strong.VerifyAndUpgrade(ctx, phc, []byte("pw"))
	if err != nil || up == "" {
		t.Fatalf("%q %v", up, err)
	}
	if again, err := strong.VerifyAndUpgrade(ctx, up, []byte("pw")); err != nil || again != "" {
		t.Fatalf("%q %v", again, err)
	}
	if _, err := prodready.NewPasswordPolicy(prodready.PasswordOptions{Preset: "nope"}); !errors.Is(err, prodready.ErrInvalid) {
		t.Fatal(err)
	}
}

func TestPeppers(t *testing.T) {
	ctx := context.Background()
	pep, _ := prodready.SecretFromBytes(make([]byte, 32))
	defer pep.Close()
	if s := fmt.Sprintf("%v %s %#v", pep, pep, pep); s != "Secret(32 bytes) Secret(32 bytes) Secret(32 bytes)" {
		t.Fatalf("a secret printed: %s", s)
	}
	p, err := prodready.NewPasswordPolicy(prodready.PasswordOptions{T: 1, MKiB: 1024, P: 1, PepperID: "v1", Pepper: pep})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	phc, _ := p.Hash(ctx, []byte("pw"))
	if err := low(t).Verify(ctx, phc, []byte("pw")); !errors.Is(err, prodready.ErrNotFound) {
		t.Fatalf("unknown pepper: %v", err)
	}
	if err := p.Verify(ctx, phc, []byte("pw")); err != nil {
		t.Fatal(err)
	}
}

func TestHashesOfOtherBindingsVerifyHere(t *testing.T) {
	p, ctx := low(t), context.Background()
	// The Python binding's hash here, and this package's there and in C.
	out, errs, code := run(t, "über pw", "/usr/bin/python3", "-c",
		"import sys, prodready as p; print(p.PasswordHasher(time_cost=1, memory_cost=2048, parallelism=1).hash(sys.stdin.read()))")
	if code != 0 {
		t.Fatal(errs)
	}
	if err := p.Verify(ctx, out, []byte("über pw")); err != nil {
		t.Fatalf("Python's hash: %v", err)
	}
	ours, _ := p.Hash(ctx, []byte("über pw"))
	if _, errs, code := run(t, "über pw", cCLI(), "password", "verify", ours); code != 0 {
		t.Fatalf("C rejects ours: %s", errs)
	}
	// The reference implementation's CLI.
	ref, errs, code := run(t, "reference pw", "argon2", "somesaltsomesalt", "-id", "-t", "2", "-k", "1024", "-p", "1", "-e")
	if code != 0 {
		t.Fatal(errs)
	}
	if err := p.Verify(ctx, ref, []byte("reference pw")); err != nil {
		t.Fatalf("argon2 CLI's hash: %v", err)
	}
}

func TestContextCancelsTheWait(t *testing.T) {
	// A costly hash (seconds here) and a context that ends first: the call
	// returns the context's error before the hash has finished (the
	// policy's completed counter says so), not when it finishes.
	p, err := prodready.NewPasswordPolicy(prodready.PasswordOptions{T: 16, MKiB: 262144, P: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = p.Hash(ctx, []byte("pw"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the deadline, got %v", err)
	}
	if done := p.Stat(prodready.StatCompleted); done != 0 {
		t.Fatalf("%d hashes completed before the call returned: it waited for the hash", done)
	}
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := p.Verify(done, "$argon2id$x", []byte("pw")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestOnePolicySharedByGoroutines(t *testing.T) {
	p, ctx := low(t), context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				pw := []byte(fmt.Sprintf("pw-%d-%d", g, i))
				phc, err := p.Hash(ctx, pw)
				if err == nil {
					err = p.Verify(ctx, phc, pw)
				}
				if err != nil {
					errs <- err
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
