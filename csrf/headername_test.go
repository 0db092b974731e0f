package csrf

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenward/bff/problem"
)

// TestRefusalNamesTheHeaderAsConfigured: the 403 a SPA developer reads must name the
// header the BFF is configured with, spelled as configured (X-CSRF, not the canonical
// X-Csrf; a custom name, not the default), or they send the wrong one.
func TestRefusalNamesTheHeaderAsConfigured(t *testing.T) {
	public, _ := url.Parse("https://app.example.com")
	for _, tt := range []struct{ configured, want string }{
		{"", "X-CSRF"},
		{"X-CSRF", "X-CSRF"},
		{"X-Requested-By", "X-Requested-By"},
	} {
		r, _ := http.NewRequest(http.MethodGet, "https://app.example.com/api/x", nil)
		err := New(tt.configured, public).Check(r)
		var pe *problem.Error
		if !errors.As(err, &pe) || !errors.Is(err, ErrHeaderMissing) {
			t.Fatalf("%q: err = %v, want a csrf problem", tt.configured, err)
		}
		if !strings.Contains(pe.Detail, "the "+tt.want+" header") {
			t.Errorf("%q: detail %q does not name %s", tt.configured, pe.Detail, tt.want)
		}
	}
}
