package prodready_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"prodready"
)

type vectorFile struct {
	Tests []map[string]interface{} `json:"tests"`
}

func vectors(t *testing.T, name string) []map[string]interface{} {
	t.Helper()
	dir := os.Getenv("PRD_VECTORS_DIR")
	if dir == "" {
		dir = filepath.Join(repo(), "..", "shared", "vectors")
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("official vectors: %v (set PRD_VECTORS_DIR)", err)
	}
	var f vectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Tests
}

func str(v interface{}) string { s, _ := v.(string); return s }

func TestOfficialPasetoV4Vectors(t *testing.T) {
	tests := vectors(t, "paseto-v4.json")
	if len(tests) != 17 {
		t.Fatalf("%d vectors", len(tests))
	}
	for _, v := range tests {
		name, fail := str(v["name"]), v["expect-fail"] == true
		var key *prodready.Key
		var err error
		local := str(v["key"]) != ""
		if local {
			key, err = prodready.KeyFromHex(prodready.KeyLocal, str(v["key"]))
		} else {
			key, err = prodready.KeyFromHex(prodready.KeyPublic, str(v["public-key"]))
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var payload, footer []byte
		if local {
			payload, footer, err = prodready.Decrypt(key, str(v["token"]), nil, []byte(str(v["implicit-assertion"])))
		} else {
			payload, footer, err = prodready.VerifySigned(key, str(v["token"]), nil, []byte(str(v["implicit-assertion"])))
		}
		if fail {
			if !errors.Is(err, prodready.ErrBadToken) {
				t.Errorf("%s must fail: %v", name, err)
			}
			continue
		}
		if err != nil || string(payload) != str(v["payload"]) || string(footer) != str(v["footer"]) {
			t.Errorf("%s: %v %q %q", name, err, payload, footer)
		}
	}
}

func TestOfficialPaserkVectors(t *testing.T) {
	for file, kind := range map[string]prodready.KeyKind{"k4.local.json": prodready.KeyLocal, "k4.public.json": prodready.KeyPublic, "k4.secret.json": prodready.KeySecret} {
		for _, v := range vectors(t, "paserk/"+file) {
			name := str(v["name"])
			k, err := prodready.KeyFromPASERK(str(v["paserk"]))
			if v["expect-fail"] == true {
				if err == nil {
					if h, herr := prodready.KeyFromHex(kind, str(v["key"])); herr == nil && h.PASERK() == str(v["paserk"]) {
						t.Errorf("%s must fail", name)
					}
				}
				continue
			}
			if err != nil || k.Kind() != kind || k.PASERK() != str(v["paserk"]) {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	for file, kind := range map[string]prodready.KeyKind{"k4.lid.json": prodready.KeyLocal, "k4.pid.json": prodready.KeyPublic, "k4.sid.json": prodready.KeySecret} {
		for _, v := range vectors(t, "paserk/"+file) {
			if v["expect-fail"] == true {
				continue
			}
			k, err := prodready.KeyFromHex(kind, str(v["key"]))
			if err != nil || k.ID() != str(v["paserk"]) {
				t.Errorf("%s: %v", str(v["name"]), err)
			}
		}
	}
}

func ring(t *testing.T, kind prodready.KeyKind) (*prodready.Keyring, *prodready.Key) {
	t.Helper()
	r, err := prodready.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	k, err := prodready.GenerateKey(kind)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Add(k, true); err != nil {
		t.Fatal(err)
	}
	return r, k
}

func TestIssueVerifyTypedRejections(t *testing.T) {
	r, key := ring(t, prodready.KeyLocal)
	if s := fmt.Sprintf("%v", key); strings.Contains(s, key.PASERK()[9:]) {
		t.Fatalf("a key printed its material: %s", s)
	}
	clock, _ := prodready.NewManualClock(1_800_000_000_000_000_000, 0)
	claims := prodready.NewClaims(time.Minute).Set("sub", "alice").Set("iss", "auth").SetJSON("roles", `["admin",{"scope":1}]`).SetInt("n", -5)
	tok, err := r.Issue(prodready.Local, claims, &prodready.IssueOptions{Implicit: []byte("ctx"), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	v, err := prodready.NewVerifier(r, prodready.Local, prodready.VerifierOptions{Clock: clock, Issuer: "auth", UseLeeway: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(tok, []byte("ctx"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]interface{}
	if err := json.Unmarshal([]byte(got.ClaimsJSON), &m); err != nil || m["sub"] != "alice" || m["n"] != float64(-5) {
		t.Fatalf("%s %v", got.ClaimsJSON, err)
	}
	if !strings.Contains(string(got.Footer), key.ID()) {
		t.Fatalf("footer %q", got.Footer)
	}
	_, err = v.Verify(tok, []byte("other"))
	var e *prodready.Error
	if !errors.Is(err, prodready.ErrBadToken) || !errors.As(err, &e) || e.Detail == "" {
		t.Fatalf("other implicit: %v", err)
	}
	_ = clock.Advance(61 * time.Second)
	if _, err := v.Verify(tok, []byte("ctx")); !errors.Is(err, prodready.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	_ = clock.Advance(-120 * time.Second)
	if _, err := v.Verify(tok, []byte("ctx")); !errors.Is(err, prodready.ErrNotYet) {
		t.Fatalf("not yet: %v", err)
	}
	if _, err := r.Issue(prodready.Local, prodready.NewClaims(0), nil); !errors.Is(err, prodready.ErrInvalid) {
		t.Fatalf("no expiry: %v", err)
	}
	if _, err := r.Issue(prodready.Local, prodready.NewClaims(time.Minute).SetJSON("a", "{"), nil); !errors.Is(err, prodready.ErrInvalid) {
		t.Fatalf("bad JSON: %v", err)
	}
}

func TestRotationWhileGoroutinesVerify(t *testing.T) {
	r, first := ring(t, prodready.KeyLocal)
	old, _ := r.Issue(prodready.Local, prodready.NewClaims(10*time.Minute), nil)
	v, _ := prodready.NewVerifier(r, prodready.Local, prodready.VerifierOptions{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := v.Verify(old, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < 10; i++ {
		k, _ := prodready.GenerateKey(prodready.KeyLocal)
		if err := r.Add(k, true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := r.Remove(first.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(old, nil); !errors.Is(err, prodready.ErrBadToken) {
		t.Fatalf("removed key: %v", err)
	}
}

func TestTokensCrossWithTheCCommand(t *testing.T) {
	paserk, _, _ := run(t, "", cCLI(), "keygen", "local")
	tok, errs, code := run(t, "", cCLI(), "token", "issue", "--purpose", "local", "--key", paserk, "--ttl", "5m", "--claim", "sub=bob")
	if code != 0 {
		t.Fatal(errs)
	}
	key, err := prodready.KeyFromPASERK(paserk)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := prodready.NewKeyring()
	_ = r.Add(key, true)
	v, _ := prodready.NewVerifier(r, prodready.Local, prodready.VerifierOptions{})
	got, err := v.Verify(tok, nil)
	if err != nil || !strings.Contains(got.ClaimsJSON, `"sub":"bob"`) {
		t.Fatalf("C's token: %v", err)
	}
	ours, _ := r.Issue(prodready.Local, prodready.NewClaims(5*time.Minute).Set("sub", "carol"), nil)
	out, errs, code := run(t, "", cCLI(), "token", "verify", "--purpose", "local", "--key", paserk, ours)
	if code != 0 || !strings.Contains(out, `"sub":"carol"`) {
		t.Fatalf("C rejects ours: %s", errs)
	}
	// And the raw protocol against a hex key.
	raw, _ := prodready.Encrypt(key, []byte(`{"x":1}`), []byte("f"), nil)
	p, f, err := prodready.Decrypt(key, raw, []byte("f"), nil)
	if err != nil || string(p) != `{"x":1}` || string(f) != "f" {
		t.Fatal(err)
	}
	if _, _, err := prodready.Decrypt(key, raw, []byte("g"), nil); !errors.Is(err, prodready.ErrBadToken) {
		t.Fatal(err)
	}
	_ = hex.EncodeToString
}

func TestRevocations(t *testing.T) {
	r, _ := ring(t, prodready.KeyLocal)
	list, err := prodready.NewRevocations(nil)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := prodready.NewVerifier(r, prodready.Local, prodready.VerifierOptions{Revocations: list})
	tok, _ := r.Issue(prodready.Local, prodready.NewClaims(time.Minute), nil)
	got, err := v.Verify(tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		JTI string `json:"jti"`
	}
	_ = json.Unmarshal([]byte(got.ClaimsJSON), &claims)
	if err := list.RevokeJTI(claims.JTI, got.Expiry); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(tok, nil); !errors.Is(err, prodready.ErrBadToken) {
		t.Fatalf("revoked: %v", err)
	}
}
