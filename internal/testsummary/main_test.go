package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeModule writes a throwaway module with the given test file and returns its dir.
func writeModule(t *testing.T, test string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":        "module example.com/m\n\ngo 1.22\n",
		"m.go":          "package m\n",
		"sub/sub.go":    "package sub\n",
		"m_test.go":     test,
		"sub/x_test.go": "package sub\n\nimport \"testing\"\n\nfunc TestSub(t *testing.T) {}\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestSkippedTestsAreListedWithTheirReason: a run that skips the real-Redis suite or
// the browser tests says so at its end, with each reason, and still shows go test's
// per-package ok lines (CI log readers look for them) and exit status 0.
func TestSkippedTestsAreListedWithTheirReason(t *testing.T) {
	dir := writeModule(t, `package m

import "testing"

func TestPasses(t *testing.T) { t.Log("quiet when passing") }
func TestNeedsRedis(t *testing.T) { t.Skip("BFF_TEST_REDIS_URL not set") }
func TestTable(t *testing.T) {
	t.Run("browser", func(t *testing.T) { t.Skipf("no %s found", "chromium") })
	t.Run("plain", func(t *testing.T) {})
}
`)
	var out, errOut strings.Builder
	if code := run([]string{"-count=1", "./..."}, dir, &out, &errOut); code != 0 {
		t.Fatalf("exit status %d\n%s%s", code, out.String(), errOut.String())
	}
	got := out.String()
	for _, want := range []string{
		"ok  \texample.com/m\t", "ok  \texample.com/m/sub\t",
		"skipped: 2 test(s)",
		"example.com/m TestNeedsRedis: m_test.go:6: BFF_TEST_REDIS_URL not set",
		"example.com/m TestTable/browser: m_test.go:8: no chromium found",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "quiet when passing") || strings.Contains(got, "=== RUN") {
		t.Errorf("passing tests' output is shown (go test without -v hides it):\n%s", got)
	}
	if strings.Index(got, "ok  \texample.com/m/sub") > strings.Index(got, "skipped:") {
		t.Errorf("the skip list must come last:\n%s", got)
	}
}

// TestFailuresKeepTheirOutputAndExitStatus: a failing run keeps go test's exit status,
// the failed test's output and the FAIL lines.
func TestFailuresKeepTheirOutputAndExitStatus(t *testing.T) {
	dir := writeModule(t, `package m

import "testing"

func TestBroken(t *testing.T) {
	t.Run("case", func(t *testing.T) { t.Error("the reason it broke") })
}
`)
	var out, errOut strings.Builder
	if code := run([]string{"-count=1", "./..."}, dir, &out, &errOut); code != 1 {
		t.Fatalf("exit status %d, want 1\n%s%s", code, out.String(), errOut.String())
	}
	got := out.String()
	for _, want := range []string{"the reason it broke", "--- FAIL: TestBroken", "FAIL\texample.com/m\t", "ok  \texample.com/m/sub\t"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "skipped:") {
		t.Errorf("a run without skips lists skips:\n%s", got)
	}
}

// TestBuildFailureIsShown: a package that does not compile shows the compiler's message
// and fails the run.
func TestBuildFailureIsShown(t *testing.T) {
	dir := writeModule(t, "package m\n\nfunc broken() { undefinedThing() }\n")
	var out, errOut strings.Builder
	if code := run([]string{"-count=1", "./..."}, dir, &out, &errOut); code == 0 {
		t.Fatalf("exit status 0 for a build failure\n%s%s", out.String(), errOut.String())
	}
	if all := out.String() + errOut.String(); !strings.Contains(all, "undefinedThing") {
		t.Errorf("the build error is not shown:\n%s", all)
	}
}
