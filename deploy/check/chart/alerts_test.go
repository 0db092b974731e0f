package chart_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"

	"github.com/tokenward/bff/deploy/check/internal/promexpr"
	"github.com/tokenward/bff/deploy/check/internal/repo"
	"github.com/tokenward/bff/handler"
	"github.com/tokenward/bff/metrics"
	"github.com/tokenward/bff/refresh"
)

// Labels Prometheus attaches to every scraped series (the target's), which the BFF's
// registry cannot show.
var targetLabels = []string{"job", "namespace", "instance", "pod", "service", "container", "endpoint"}

// Series Prometheus makes itself for every target.
var prometheusSeries = []string{"up"}

// Every expression of the chart's alerts names metrics the BFF registers, with labels
// those metrics carry and, where the BFF fixes a label's values (outcomes, reasons), values
// from that set: a renamed metric or outcome fails here rather than leaving an alert that
// never fires.
func TestAlertsUseTheMetricsTheBFFRegisters(t *testing.T) {
	rule := one[monitoringv1.PrometheusRule](t, rendering(t, "standalone.yaml").Objects)
	known := bffSeries(t)
	n := 0
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			n++
			sels, err := promexpr.Selectors(r.Expr.String())
			if err != nil {
				t.Errorf("%s: %v", r.Alert, err)
				continue
			}
			for _, s := range sels {
				checkSelector(t, r.Alert, s, known)
			}
		}
	}
	if n == 0 {
		t.Fatal("the PrometheusRule has no rules")
	}
}

func checkSelector(t *testing.T, alert string, s promexpr.Selector, known map[string]series) {
	t.Helper()
	if slices.Contains(prometheusSeries, s.Metric) {
		return
	}
	ser, ok := known[s.Metric]
	if !ok {
		t.Errorf("%s: %s is not a metric the BFF registers", alert, s.Metric)
		return
	}
	for _, m := range s.Matchers {
		if slices.Contains(targetLabels, m.Label) {
			continue
		}
		values, ok := ser.labels[m.Label]
		if !ok {
			t.Errorf("%s: %s has no label %s", alert, s.Metric, m.Label)
			continue
		}
		if !ser.fixed[m.Label] || (m.Op != "=" && m.Op != "=~") {
			continue
		}
		for _, v := range strings.Split(m.Value, "|") {
			if m.Op == "=~" && regexp.QuoteMeta(v) != v {
				continue // a real pattern, not an alternation of values
			}
			if !values[v] {
				t.Errorf("%s: %s{%s} takes no value %q (it has %v)", alert, s.Metric, m.Label, v, keys(values))
			}
		}
	}
}

// series is what a metric's scrape shows: its label names with their values, and which
// labels the BFF fixes at start (their series exist before anything happens).
type series struct {
	labels map[string]map[string]bool
	fixed  map[string]bool
}

// bffSeries scrapes a fresh metrics.Metrics (series created at start: the fixed label
// sets), then again after one observation of each kind (histograms appear only then),
// and returns every PromQL name with its labels (histograms as _bucket, _sum, _count).
func bffSeries(t *testing.T) map[string]series {
	t.Helper()
	// The producers own their outcome sets; the assembly passes them in the same way.
	m := metrics.New(metrics.WithLabels(metrics.Labels{
		Login: handler.LoginOutcomes(), Refresh: refresh.Outcomes(),
		Backchannel: handler.BackchannelOutcomes(), Rejected: handler.RejectedReasons(),
	}))
	fresh := scrape(t, m)
	m.ObserveHTTP(metrics.RouteUser, http.MethodGet, http.StatusOK, time.Millisecond)
	m.ObserveUpstream("api", time.Millisecond)
	m.ObserveStore("get", time.Millisecond, false)
	out := map[string]series{}
	for name, fam := range scrape(t, m) {
		names := []string{name}
		if fam.GetType() == dto.MetricType_HISTOGRAM {
			names = []string{name + "_bucket", name + "_sum", name + "_count"}
		}
		s := series{labels: map[string]map[string]bool{}, fixed: map[string]bool{}}
		for _, metric := range fam.GetMetric() {
			for _, l := range metric.GetLabel() {
				if s.labels[l.GetName()] == nil {
					s.labels[l.GetName()] = map[string]bool{}
				}
				s.labels[l.GetName()][l.GetValue()] = true
			}
		}
		if f, ok := fresh[name]; ok && len(f.GetMetric()) > 0 {
			for _, l := range f.GetMetric()[0].GetLabel() {
				s.fixed[l.GetName()] = true
			}
		}
		if fam.GetType() == dto.MetricType_HISTOGRAM {
			s.labels["le"] = map[string]bool{}
		}
		for _, n := range names {
			out[n] = s
		}
	}
	return out
}

func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// docAlert is one rule of docs/operations.md's suggested alerts.
type docAlert struct {
	Alert string `json:"alert"`
	Expr  string `json:"expr"`
	For   string `json:"for"`
}

// Alerts the chart leaves out: BFFNotReady needs the blackbox exporter's probe_success,
// which a chart for the BFF alone cannot assume (docs/deploy/alerts.md says so).
var docAlertsNotInChart = []string{"BFFNotReady"}

// The chart's alerts are docs/operations.md's suggested alerts, each with the same
// expression once the chart's release selector is taken out, and the same `for`: the
// documentation and the chart cannot drift apart.
func TestAlertsAreTheOnesDocumentedInOperations(t *testing.T) {
	rule := one[monitoringv1.PrometheusRule](t, rendering(t, "standalone.yaml").Objects)
	chartRules := map[string]monitoringv1.Rule{}
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			chartRules[r.Alert] = r
		}
	}
	// The ServiceMonitor's job label is the scraped Service's name.
	adminJob := serviceNamed(t, rendering(t, "standalone.yaml").Objects, "admin").Name
	docs := documentedAlerts(t)
	if len(docs) == 0 {
		t.Fatal("no alerts found in docs/operations.md's Suggested alerts")
	}
	releaseSelector := regexp.MustCompile(`job="[^"]*",namespace="[^"]*",?`)
	for _, d := range docs {
		if slices.Contains(docAlertsNotInChart, d.Alert) {
			continue
		}
		r, ok := chartRules[d.Alert]
		if !ok {
			t.Errorf("docs/operations.md suggests %s, the chart's PrometheusRule lacks it", d.Alert)
			continue
		}
		got := strings.ReplaceAll(releaseSelector.ReplaceAllString(r.Expr.String(), ""), "{}", "")
		if normalize(got) != normalize(d.Expr) {
			t.Errorf("%s: the chart's expression\n  %s\ndiffers from docs/operations.md's\n  %s", d.Alert, normalize(got), normalize(d.Expr))
		}
		var chartFor string
		if r.For != nil {
			chartFor = string(*r.For)
		}
		if chartFor != d.For {
			t.Errorf("%s: for %q, docs/operations.md says %q", d.Alert, chartFor, d.For)
		}
		sels, err := promexpr.Selectors(r.Expr.String())
		if err != nil {
			t.Fatalf("%s: %v", d.Alert, err)
		}
		for _, s := range sels {
			if !slices.Contains(s.Matchers, promexpr.Matcher{Label: "job", Op: "=", Value: adminJob}) ||
				!slices.Contains(s.Matchers, promexpr.Matcher{Label: "namespace", Op: "=", Value: "tokenward"}) {
				t.Errorf("%s: %s is not scoped to the release's scrape job (%s) and namespace: another release's series would fire it", d.Alert, s.Metric, adminJob)
			}
		}
	}
}

func documentedAlerts(t *testing.T) []docAlert {
	t.Helper()
	path, err := repo.Path("docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(md), "### Suggested alerts\n")
	_, rest, hasBlock := strings.Cut(section, "```yaml\n")
	block, _, closed := strings.Cut(rest, "```")
	ok = ok && hasBlock
	if !ok || !closed {
		t.Fatal("docs/operations.md has no ```yaml block under ### Suggested alerts")
	}
	var doc struct {
		Groups []struct {
			Rules []docAlert `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal([]byte(block), &doc); err != nil {
		t.Fatalf("docs/operations.md's suggested alerts: %v", err)
	}
	var out []docAlert
	for _, g := range doc.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

func normalize(expr string) string { return strings.Join(strings.Fields(expr), " ") }

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
