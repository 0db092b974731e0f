package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// bffFamilies counts the bff_* families g holds.
func bffFamilies(t *testing.T, g prometheus.Gatherer) int {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	n := 0
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "bff_") {
			n++
		}
	}
	return n
}

func TestRegisterPutsEveryInstrumentOnTheApplicationsRegistry(t *testing.T) {
	m := New()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	own, app := bffFamilies(t, m.Registry()), bffFamilies(t, reg)
	if own == 0 || app != own {
		t.Fatalf("the application's registry holds %d bff_* families, the BFF's own %d", app, own)
	}
	if mfs, _ := reg.Gather(); len(mfs) != app {
		t.Errorf("Register put %d non-bff families (Go/process collectors) on the application's registry", len(mfs)-app)
	}
	m.Unregister(reg)
	if n := bffFamilies(t, reg); n != 0 {
		t.Fatalf("after Unregister %d bff_* families remain", n)
	}
}

func TestRegisterFailsWholeOnAConflict(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := New().Register(reg); err != nil {
		t.Fatal(err)
	}
	before := bffFamilies(t, reg)
	second := New()
	if err := second.Register(reg); err == nil {
		t.Fatal("a second BFF registered the same names on one registry")
	}
	if after := bffFamilies(t, reg); after != before {
		t.Fatalf("the failed Register left instruments behind: %d families, was %d", after, before)
	}
	// A clash in the middle (bff_logins_total comes after the HTTP instruments): the
	// instruments registered before it are taken off again, so once the clash is gone
	// the same Register succeeds.
	other := prometheus.NewRegistry()
	clash := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bff_logins_total", Help: "Login attempts, by outcome."}, []string{"outcome"})
	other.MustRegister(clash)
	if err := second.Register(other); err == nil {
		t.Fatal("Register ignored a clashing bff_logins_total")
	}
	other.Unregister(clash)
	if err := second.Register(other); err != nil {
		t.Fatalf("the failed Register left instruments behind: %v", err)
	}
}

func TestHandlerForServesTheGatherer(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "app_total", Help: "the app's"}))
	rec := httptest.NewRecorder()
	HandlerFor(reg).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "app_total 0") {
		t.Fatalf("HandlerFor: %d %q", rec.Code, rec.Body.String())
	}
}
