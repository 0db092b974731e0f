package metrics

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// allNames are the families the BFF promises on /metrics.
var allNames = []string{
	"bff_http_requests_total", "bff_http_request_duration_seconds",
	"bff_upstream_duration_seconds", "bff_logins_total", "bff_refreshes_total",
	"bff_sessions_created_total", "bff_sessions_ended_total",
	"bff_store_operation_duration_seconds", "bff_store_errors_total",
	"bff_backchannel_logouts_total", "bff_live_streams", "bff_build_info",
	"bff_session_rejected_total", "bff_idp_token_requests_total", "bff_userinfo_total", "bff_idp_ready",
}

// exercise records one of everything, so every family has a series.
func exercise(m *Metrics) {
	m.ObserveHTTP(RouteLogin, http.MethodGet, http.StatusFound, 3*time.Millisecond)
	m.ObserveUpstream("api", 20*time.Millisecond)
	m.Login("ok")
	m.Refresh("ok")
	m.SessionCreated()
	m.SessionEnded(EndedLogout, 1)
	m.BackchannelLogout("ok")
	m.SessionRejected("record_forged")
	m.ObserveStore(OpGet, time.Millisecond, false)
	m.TokenRequest("", GrantCode, TokenOK)
	m.UserInfo("", "ok")
	m.SetProviderReady("", func() error { return nil })
}

func TestHandlerExposesEveryName(t *testing.T) {
	m := New(WithLabels(testLabels), WithRoutes("api"), WithVersion("v1.2.3"))
	exercise(m)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	for _, name := range append(allNames, "go_goroutines", "process_cpu_seconds_total") {
		if !strings.Contains(body, "\n"+name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	want := fmt.Sprintf(`bff_build_info{goversion=%q,version="v1.2.3"} 1`, runtime.Version())
	if !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %s", want)
	}
}

func TestRecordersCountWithBoundedLabels(t *testing.T) {
	tests := []struct {
		name   string
		record func(m *Metrics)
		metric func(m *Metrics) prometheus.Collector
		want   float64
	}{
		{
			name:   "known login outcome",
			record: func(m *Metrics) { m.Login("bad_state"); m.Login("bad_state") },
			metric: func(m *Metrics) prometheus.Collector { return m.logins.WithLabelValues("bad_state") },
			want:   2,
		},
		{
			name:   "unknown login outcome is other",
			record: func(m *Metrics) { m.Login("user alice@example.com failed") },
			metric: func(m *Metrics) prometheus.Collector { return m.logins.WithLabelValues("other") },
			want:   1,
		},
		{
			name:   "refresh outcomes of refresh.Config.Observe",
			record: func(m *Metrics) { m.Refresh("coalesced"); m.Refresh("invalid_grant") },
			metric: func(m *Metrics) prometheus.Collector { return m.refreshes.WithLabelValues("coalesced") },
			want:   1,
		},
		{
			name:   "sessions created",
			record: func(m *Metrics) { m.SessionCreated(); m.SessionCreated(); m.SessionCreated() },
			metric: func(m *Metrics) prometheus.Collector { return m.created },
			want:   3,
		},
		{
			name:   "backchannel ends several sessions at once",
			record: func(m *Metrics) { m.SessionEnded(EndedBackchannel, 3); m.SessionEnded(EndedBackchannel, 0) },
			metric: func(m *Metrics) prometheus.Collector { return m.ended.WithLabelValues("backchannel") },
			want:   3,
		},
		{
			name:   "backchannel replay",
			record: func(m *Metrics) { m.BackchannelLogout("replay") },
			metric: func(m *Metrics) prometheus.Collector { return m.backchannel.WithLabelValues("replay") },
			want:   1,
		},
		{
			name:   "session rejected: a forged record",
			record: func(m *Metrics) { m.SessionRejected("record_forged"); m.SessionRejected("cookie_duplicate") },
			metric: func(m *Metrics) prometheus.Collector { return m.rejected.WithLabelValues("record_forged") },
			want:   1,
		},
		{
			name:   "http request with exact registered code",
			record: func(m *Metrics) { m.ObserveHTTP("api", "POST", 429, time.Millisecond) },
			metric: func(m *Metrics) prometheus.Collector {
				return m.httpRequests.WithLabelValues("api", "POST", "429")
			},
			want: 1,
		},
		{
			name:   "http request with unknown route, odd method and unregistered code",
			record: func(m *Metrics) { m.ObserveHTTP("/users/42/orders", "get", 599, time.Millisecond) },
			metric: func(m *Metrics) prometheus.Collector {
				return m.httpRequests.WithLabelValues("other", "OTHER", "5xx")
			},
			want: 1,
		},
		{
			name:   "store error",
			record: func(m *Metrics) { m.ObserveStore(OpLock, time.Millisecond, true) },
			metric: func(m *Metrics) prometheus.Collector { return m.storeErrors.WithLabelValues("lock") },
			want:   1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New(WithLabels(testLabels), WithRoutes("api"))
			tc.record(m)
			if got := testutil.ToFloat64(tc.metric(m)); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHistogramsObserveSeconds(t *testing.T) {
	m := New(WithLabels(testLabels), WithRoutes("api"))
	m.ObserveHTTP("api", http.MethodGet, 200, 1500*time.Millisecond)
	m.ObserveUpstream("api", 250*time.Millisecond)
	h := family(t, m, "bff_http_request_duration_seconds").GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 1 || h.GetSampleSum() != 1.5 {
		t.Fatalf("http duration count=%d sum=%v, want 1 and 1.5", h.GetSampleCount(), h.GetSampleSum())
	}
	u := family(t, m, "bff_upstream_duration_seconds").GetMetric()[0].GetHistogram()
	if u.GetSampleSum() != 0.25 {
		t.Fatalf("upstream sum=%v, want 0.25", u.GetSampleSum())
	}
}

// TestRandomPathsMethodsAndOutcomesCannotExplodeSeries: a client that sends 1000
// distinct paths (a route name taken from the raw path by mistake), methods and status
// codes, and code paths that report 1000 distinct outcomes, grow no series beyond the
// fixed sets (an attacker must not be able to exhaust the BFF's or Prometheus's memory).
func TestRandomPathsMethodsAndOutcomesCannotExplodeSeries(t *testing.T) {
	m := New(WithLabels(testLabels), WithRoutes("api"))
	for i := range 1000 {
		raw := fmt.Sprintf("/api/users/%d?token=%d", i, i)
		m.ObserveHTTP(raw, fmt.Sprintf("M%d", i), 100+i%500, time.Millisecond)
		m.ObserveUpstream(raw, time.Millisecond)
		m.Login(raw)
		m.Refresh(raw)
		m.UserInfo(raw, raw)
		m.TokenRequest(raw, raw, raw)
		m.SessionEnded(raw, 1)
		m.BackchannelLogout(raw)
		m.SessionRejected(raw)
		m.ObserveStore(raw, time.Millisecond, true)
	}
	tests := []struct {
		name string
		max  int
	}{
		// 1 route ("other") x 1 method ("OTHER") x at most 63 registered codes + 5 classes.
		{name: "bff_http_requests_total", max: 68},
		{name: "bff_http_request_duration_seconds", max: 1},
		{name: "bff_upstream_duration_seconds", max: 1},
		{name: "bff_logins_total", max: len(testLabels.Login) + 1},
		{name: "bff_refreshes_total", max: len(testLabels.Refresh) + 1},
		{name: "bff_userinfo_total", max: 2 * (len(testLabels.UserInfo) + 1)}, // default and other
		{name: "bff_idp_token_requests_total", max: 2 * (len(grants) + 1) * (len(tokenOutcomes) + 1)},
		{name: "bff_sessions_ended_total", max: len(endReasons) + 1},
		{name: "bff_backchannel_logouts_total", max: len(testLabels.Backchannel) + 1},
		{name: "bff_session_rejected_total", max: len(testLabels.Rejected) + 1},
		{name: "bff_store_errors_total", max: len(storeOps) + 1},
		{name: "bff_store_operation_duration_seconds", max: 1},
	}
	for _, tc := range tests {
		if got := testutil.CollectAndCount(m.Registry(), tc.name); got > tc.max {
			t.Errorf("%s has %d series after 1000 distinct inputs, want <= %d", tc.name, got, tc.max)
		}
	}
	for _, s := range family(t, m, "bff_http_requests_total").GetMetric() {
		for _, lp := range s.GetLabel() {
			if strings.Contains(lp.GetValue(), "/") || strings.Contains(lp.GetValue(), "token") {
				t.Fatalf("label %s=%q carries raw input", lp.GetName(), lp.GetValue())
			}
		}
	}
}

func TestFixedSeriesExistAtZero(t *testing.T) {
	m := New(WithLabels(testLabels))
	tests := []struct {
		name string
		want int
	}{
		{name: "bff_logins_total", want: len(testLabels.Login) + 1},
		{name: "bff_refreshes_total", want: len(testLabels.Refresh) + 1},
		{name: "bff_userinfo_total", want: 2 * (len(testLabels.UserInfo) + 1)},
		{name: "bff_idp_token_requests_total", want: 2 * len(grants) * len(tokenOutcomes)},
		{name: "bff_sessions_ended_total", want: len(endReasons) + 1},
		{name: "bff_backchannel_logouts_total", want: len(testLabels.Backchannel) + 1},
		{name: "bff_session_rejected_total", want: len(testLabels.Rejected) + 1},
		{name: "bff_store_errors_total", want: len(storeOps) + 1},
	}
	for _, tc := range tests {
		if got := testutil.CollectAndCount(m.Registry(), tc.name); got != tc.want {
			t.Errorf("%s: %d series at start, want %d", tc.name, got, tc.want)
		}
	}
}

func TestPromlintFindsNoProblems(t *testing.T) {
	m := New(WithLabels(testLabels), WithRoutes("api"))
	exercise(m)
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestLiveStreamsGaugeReadsTheInstalledFunc(t *testing.T) {
	m := New(WithLabels(testLabels))
	live := func() float64 { return family(t, m, "bff_live_streams").GetMetric()[0].GetGauge().GetValue() }
	if got := live(); got != 0 {
		t.Fatalf("before SetLiveStreams: %v, want 0", got)
	}
	n := 7
	m.SetLiveStreams(func() float64 { return float64(n) })
	if got := live(); got != 7 {
		t.Fatalf("got %v, want 7", got)
	}
	n = 2 // read at every scrape, not copied
	if got := live(); got != 2 {
		t.Fatalf("got %v, want 2", got)
	}
}

func TestManyInstancesInOneProcess(t *testing.T) {
	a, b := New(WithLabels(testLabels)), New(WithLabels(testLabels)) // would panic with AlreadyRegisteredError on a shared registry
	a.Login("ok")
	if got := testutil.ToFloat64(b.logins.WithLabelValues("ok")); got != 0 {
		t.Fatalf("b saw a's login: %v", got)
	}
}

func TestRouteNamesThatAreNotUTF8AreRecordedAsOther(t *testing.T) {
	bad := "api\xff"
	m := New(WithLabels(testLabels), WithRoutes(bad, "ok"))
	m.ObserveHTTP(bad, http.MethodGet, 200, 0) // must not panic on an invalid label value
	if got := testutil.ToFloat64(m.httpRequests.WithLabelValues("other", "GET", "200")); got != 1 {
		t.Fatalf("got %v, want 1", got)
	}
}

func TestNilMetricsIsANoop(t *testing.T) {
	var m *Metrics
	exercise(m)
	m.SetLiveStreams(func() float64 { return 1 })
	if m.Registry() != nil {
		t.Fatal("nil Metrics has a registry")
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("nil Handler status %d, want 404", rec.Code)
	}
	observe := m.Refresh // a method value of a nil *Metrics, as refresh.Config.Observe gets it
	observe("ok")
}

func TestCodeLabel(t *testing.T) {
	tests := []struct {
		code int
		want string
	}{
		{code: 200, want: "200"},
		{code: 302, want: "302"},
		{code: 401, want: "401"},
		{code: 499, want: "4xx"}, // not registered (nginx's client-closed)
		{code: 599, want: "5xx"},
		{code: 99, want: "other"},
		{code: 0, want: "other"},
		{code: -1, want: "other"},
		{code: 600, want: "other"},
		{code: 1 << 30, want: "other"},
	}
	for _, tc := range tests {
		if got := codeLabel(tc.code); got != tc.want {
			t.Errorf("codeLabel(%d) = %q, want %q", tc.code, got, tc.want)
		}
	}
}

func TestMethodLabel(t *testing.T) {
	tests := []struct {
		method string
		want   string
	}{
		{method: "GET", want: "GET"},
		{method: "PATCH", want: "PATCH"},
		{method: "TRACE", want: "TRACE"},
		{method: "get", want: "OTHER"},
		{method: "PROPFIND", want: "OTHER"},
		{method: "", want: "OTHER"},
	}
	for _, tc := range tests {
		if got := methodLabel(tc.method); got != tc.want {
			t.Errorf("methodLabel(%q) = %q, want %q", tc.method, got, tc.want)
		}
	}
}

func TestHandlerServesTheTextFormat(t *testing.T) {
	m := New(WithLabels(testLabels))
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !strings.Contains(string(b), "bff_live_streams 0") {
		t.Fatalf("content-type %q, body lacks bff_live_streams 0", resp.Header.Get("Content-Type"))
	}
}

func BenchmarkObserveHTTP(b *testing.B) {
	m := New(WithLabels(testLabels), WithRoutes("api"))
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveHTTP("api", http.MethodGet, 200, time.Millisecond)
	}
}

// TestProducersLabelSetsComeFromWithLabels: the outcome sets are the producers' lists
// passed in by the assembly, not this package's: a value counts under its own name only
// when its producer listed it, and each listed value has its series from the start.
func TestProducersLabelSetsComeFromWithLabels(t *testing.T) {
	bare := New()
	bare.Login("ok")
	if got := testutil.ToFloat64(bare.logins.WithLabelValues("other")); got != 1 {
		t.Errorf("without WithLabels, a login outcome counts as other: got %v, want 1", got)
	}
	m := New(WithLabels(Labels{Login: []string{"ok", "brand_new"}, Refresh: []string{"x"}}))
	m.Login("brand_new")
	if got := testutil.ToFloat64(m.logins.WithLabelValues("brand_new")); got != 1 {
		t.Errorf("a listed outcome: got %v, want 1", got)
	}
	if got := testutil.CollectAndCount(m.Registry(), "bff_refreshes_total"); got != 2 {
		t.Errorf("bff_refreshes_total has %d series, want 2 (x and other)", got)
	}
}

// TestProviderLabelNamesOnlyConfiguredProviders: each configured provider's counters
// move on their own; the provider of a configuration without oidc.providers ("") is
// "default", and a name outside the configuration is "other" (bounded cardinality).
func TestProviderLabelNamesOnlyConfiguredProviders(t *testing.T) {
	m := New(WithLabels(testLabels), WithProviders("corp", "social"))
	m.TokenRequest("corp", GrantRefresh, TokenOK)
	m.TokenRequest("social", GrantCode, TokenRefused)
	m.TokenRequest("", GrantCode, TokenOK)
	m.TokenRequest("evil-idp", GrantCode, TokenOK)
	m.UserInfo("social", "sub_mismatch")
	for _, tc := range []struct {
		c    prometheus.Collector
		want float64
	}{
		{m.tokenRequests.WithLabelValues("corp", GrantRefresh, TokenOK), 1},
		{m.tokenRequests.WithLabelValues("social", GrantRefresh, TokenOK), 0},
		{m.tokenRequests.WithLabelValues("social", GrantCode, TokenRefused), 1},
		{m.tokenRequests.WithLabelValues(DefaultProvider, GrantCode, TokenOK), 1},
		{m.tokenRequests.WithLabelValues("other", GrantCode, TokenOK), 1},
		{m.userInfo.WithLabelValues("social", "sub_mismatch"), 1},
		{m.userInfo.WithLabelValues("corp", "sub_mismatch"), 0},
	} {
		if got := testutil.ToFloat64(tc.c); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.c.(prometheus.Metric).Desc(), got, tc.want)
		}
	}
	ready := errors.New("not yet")
	m.SetProviderReady("corp", func() error { return nil })
	m.SetProviderReady("social", func() error { return ready })
	text := gather(t, m)
	for _, want := range []string{`bff_idp_ready{provider="corp"} 1`, `bff_idp_ready{provider="social"} 0`} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func gather(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}
