package prodready_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// repo is the repository root (this package is bindings/go).
func repo() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func buildDir() string {
	if cli := os.Getenv("PRODREADY"); cli != "" {
		return filepath.Dir(filepath.Dir(cli))
	}
	return filepath.Join(repo(), "build")
}

func cCLI() string { return filepath.Join(buildDir(), "tools", "prodready") }

// run runs a command with stdin; its stdout (trimmed), stderr and exit code.
func run(t *testing.T, stdin string, name string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(),
		"PYTHONPATH="+filepath.Join(repo(), "bindings", "python"),
		"PRODREADY_LIBRARY="+filepath.Join(buildDir(), "lib", "libprodready.so.1"))
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return strings.TrimRight(out.String(), "\n"), errb.String(), code
}

// pgConninfo is scripts/pg-temp's database, or a skip (a failure under
// PRD_TEST_REQUIRE=1, as scripts/test runs the suite).
func pgConninfo(t *testing.T) string {
	t.Helper()
	c := os.Getenv("PRD_PG_CONNINFO")
	if c == "" {
		if os.Getenv("PRD_TEST_REQUIRE") == "1" {
			t.Fatal("PRD_PG_CONNINFO is not set: run under scripts/pg-temp")
		}
		t.Skip("no PostgreSQL (run under scripts/pg-temp)")
	}
	return c
}
