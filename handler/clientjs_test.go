package handler

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/csrf"
)

// fix is what every failure of the build check tells the developer to do.
const fix = "run `npm ci && npm run build` in clients/js and commit handler/clientjs"

// TestClientJSMatchesItsSources: handler/clientjs/client.js is what clients/js builds to.
// The npm build records the SHA-256 of every input (the TypeScript sources, package.json,
// the lockfile, the tsconfigs, the build script) and of its output in client.js.sources;
// this test hashes the same inputs now, so an edit to the sources without a rebuild, a
// new source file, or a hand-edited client.js fails here, with no npm needed.
func TestClientJSMatchesItsSources(t *testing.T) {
	recorded := readSources(t, filepath.Join("clientjs", "client.js.sources"))
	want := sourceInputs(t)
	want = append(want, "handler/clientjs/client.js")
	slices.Sort(want)
	var got []string
	for f := range recorded {
		got = append(got, f)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("client.js.sources lists %v, but the inputs are %v: %s", got, want, fix)
	}
	for _, f := range want {
		data, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(f)))
		if err != nil {
			t.Fatalf("reading %s: %v", f, err)
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != recorded[f] {
			t.Errorf("%s changed since handler/clientjs/client.js was built: %s", f, fix)
		}
	}
	if sum := sha256.Sum256(clientJS); hex.EncodeToString(sum[:]) != recorded["handler/clientjs/client.js"] {
		t.Errorf("the embedded client.js is not the one the build recorded: %s", fix)
	}
}

// sourceInputs lists the build's inputs as build-served.mjs does: clients/js/src/*.ts and
// the package's build files, as repository-relative paths.
func sourceInputs(t *testing.T) []string {
	t.Helper()
	ts, err := filepath.Glob(filepath.Join("..", "clients", "js", "src", "*.ts"))
	if err != nil || len(ts) == 0 {
		t.Fatalf("no clients/js/src/*.ts (%v): is the repository complete?", err)
	}
	var files []string
	for _, f := range ts {
		files = append(files, filepath.ToSlash(strings.TrimPrefix(f, ".."+string(filepath.Separator))))
	}
	for _, f := range []string{"package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "scripts/build-served.mjs"} {
		files = append(files, "clients/js/"+f)
	}
	return files
}

// readSources parses `<sha256>  <path>` lines.
func readSources(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatalf("%v: %s", err, fix)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, path, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("%s: malformed line %q: %s", name, sc.Text(), fix)
		}
		out[path] = sum
	}
	return out
}

// TestClientPackageVersionIsTheBFFs: @tokenward/client's version follows the BFF's releases
// (the chart's appVersion is the BFF's), so the package of release X.Y.Z is the client the
// BFF X.Y.Z serves at /bff/client.js (its banner names the version).
func TestClientPackageVersionIsTheBFFs(t *testing.T) {
	var pkg struct {
		Version string `json:"version"`
	}
	data, err := os.ReadFile(filepath.Join("..", "clients", "js", "package.json"))
	if err != nil || json.Unmarshal(data, &pkg) != nil || pkg.Version == "" {
		t.Fatalf("clients/js/package.json has no version (%v)", err)
	}
	chart, err := os.ReadFile(filepath.Join("..", "charts", "bff", "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var app string
	for _, line := range strings.Split(string(chart), "\n") {
		if v, ok := strings.CutPrefix(line, "appVersion:"); ok {
			app = strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	if app == "" || pkg.Version != app {
		t.Fatalf("clients/js/package.json version %q, BFF (charts/bff appVersion) %q: set the package's version to the BFF's and run `npm run build` in clients/js", pkg.Version, app)
	}
	if !bytes.Contains(clientJS, []byte("@tokenward/client "+pkg.Version+":")) {
		t.Errorf("handler/clientjs/client.js does not name version %s: %s", pkg.Version, fix)
	}
}

func clientEcho(headerName string) *echo.Echo {
	e := echo.New()
	h := &Handlers{d: Deps{CSRF: csrf.New(headerName, &url.URL{Scheme: "https", Host: "app.example.com"})}}
	h.MountClient(e)
	return e
}

func serve(e *echo.Echo, method, path string, hdr http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// TestClientJSIsServedAsScriptWithAValidator: /bff/client.js is the embedded file as
// JavaScript (module scripts need a JavaScript MIME type, and nosniff makes the browser
// hold the BFF to it), revalidated on each load with a strong ETag that answers 304, and
// HEAD gives the headers only.
func TestClientJSIsServedAsScriptWithAValidator(t *testing.T) {
	e := clientEcho("")
	rec := serve(e, http.MethodGet, "/bff/client.js", nil)
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), clientJS) {
		t.Fatalf("GET /bff/client.js = %d with %d bytes, want 200 with the embedded %d bytes", rec.Code, rec.Body.Len(), len(clientJS))
	}
	for k, want := range map[string]string{
		"Content-Type":                 "text/javascript; charset=utf-8",
		"Cache-Control":                "no-cache",
		"X-Content-Type-Options":       "nosniff",
		"Cross-Origin-Resource-Policy": "same-origin",
		"ETag":                         clientJSETag,
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !strings.HasPrefix(clientJSETag, `"`) || len(clientJSETag) != 34 {
		t.Errorf("ETag %s is not a strong 32-hex-digit validator", clientJSETag)
	}
	if !bytes.Contains(clientJS, []byte("export {")) || !bytes.Contains(clientJS, []byte("createBffClient")) {
		t.Errorf("the embedded client.js is not an ES module exporting createBffClient")
	}

	again := serve(e, http.MethodGet, "/bff/client.js", http.Header{"If-None-Match": {clientJSETag}})
	if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
		t.Errorf("revalidation with the ETag = %d with %d bytes, want 304 and no body", again.Code, again.Body.Len())
	}
	stale := serve(e, http.MethodGet, "/bff/client.js", http.Header{"If-None-Match": {`"old"`}})
	if stale.Code != http.StatusOK {
		t.Errorf("revalidation with another ETag = %d, want 200", stale.Code)
	}
	head := serve(e, http.MethodHead, "/bff/client.js", nil)
	if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("ETag") != clientJSETag {
		t.Errorf("HEAD = %d with %d bytes and ETag %q, want 200, no body, the ETag", head.Code, head.Body.Len(), head.Header().Get("ETag"))
	}
	if post := serve(e, http.MethodPost, "/bff/client.js", nil); post.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /bff/client.js = %d, want 405", post.Code)
	}
}

// TestClientConfigNamesTheConfiguredCSRFHeader: the client learns the header from the
// BFF, as configured (not canonicalised), without sending it, and the answer is not cached.
func TestClientConfigNamesTheConfiguredCSRFHeader(t *testing.T) {
	tests := []struct{ configured, want string }{
		{configured: "", want: "X-CSRF"},
		{configured: "X-CSRF", want: "X-CSRF"},
		{configured: "X-Requested-By", want: "X-Requested-By"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			rec := serve(clientEcho(tc.configured), http.MethodGet, "/bff/client-config", nil)
			var got clientConfig
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &got) != nil || got.CSRFHeader != tc.want {
				t.Fatalf("GET /bff/client-config = %d %s, want 200 {\"csrfHeader\":%q}", rec.Code, rec.Body, tc.want)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
		})
	}
}
