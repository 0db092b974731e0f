package metrics

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Buckets, in seconds. Requests and upstream exchanges reach the default route timeout
// (30 s); store calls are sub-millisecond on a healthy Redis and bounded by their
// context deadlines (a few seconds).
var (
	httpBuckets  = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	storeBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
)

// Metrics is one BFF's set of instruments and the registry that exposes them. Build it
// with New. All methods are safe for concurrent use, and all are no-ops on a nil
// *Metrics.
type Metrics struct {
	reg    *prometheus.Registry
	routes labelSet

	httpRequests  *prometheus.CounterVec   // route, method, code
	httpDuration  *prometheus.HistogramVec // route, method
	upstream      *prometheus.HistogramVec // route
	logins        *prometheus.CounterVec   // outcome
	refreshes     *prometheus.CounterVec   // outcome
	userInfo      *prometheus.CounterVec   // provider, outcome
	tokenRequests *prometheus.CounterVec   // provider, grant, outcome
	created       prometheus.Counter
	ended         *prometheus.CounterVec   // reason
	backchannel   *prometheus.CounterVec   // outcome
	rejected      *prometheus.CounterVec   // reason
	storeDuration *prometheus.HistogramVec // op
	storeErrors   *prometheus.CounterVec   // op

	loginSet, refreshSet, userInfoSet, endSet, backchannelSet, rejectSet, opSet labelSet
	providerSet, grantSet, tokenOutcomeSet                                      labelSet

	liveStreams atomic.Pointer[func() float64]

	collectors []prometheus.Collector // the bff_* instruments, for Register (register.go)
}

// Option adjusts New.
type Option func(*options)

type options struct {
	routes    []string
	providers []string
	version   string
	labels    Labels
}

// Labels are the outcome and reason sets whose producers own them: each package that
// reports an outcome lists its values (handler.LoginOutcomes, refresh.Outcomes, …), and
// the assembly passes the lists here. A value outside its set is recorded as "other".
type Labels struct {
	Login       []string // bff_logins_total{outcome}: handler.LoginOutcomes
	Refresh     []string // bff_refreshes_total{outcome}: refresh.Outcomes
	UserInfo    []string // bff_userinfo_total{outcome}: idp.UserInfoOutcomes
	Backchannel []string // bff_backchannel_logouts_total{outcome}: handler.BackchannelOutcomes
	Rejected    []string // bff_session_rejected_total{reason}: handler.RejectedReasons
}

// WithLabels sets the producers' label sets (see Labels). Without it those metrics have
// only the "other" series.
func WithLabels(l Labels) Option { return func(o *options) { o.labels = l } }

// WithRoutes adds the configured route names (config.Route.Name) to the route label's
// set. Names that are not valid UTF-8 are ignored (they would be recorded as "other").
func WithRoutes(names ...string) Option {
	return func(o *options) { o.routes = append(o.routes, names...) }
}

// WithVersion sets the version label of bff_build_info. Default: the main module's
// version from the build info ("(devel)" for a source build).
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// New builds the instruments on a new registry that also holds the Go runtime and
// process collectors. Every series with a fixed label set (outcomes, reasons, store
// operations) is created at zero, so rates work from the first scrape.
func New(opts ...Option) *Metrics {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	m := &Metrics{
		reg:             prometheus.NewRegistry(),
		routes:          newLabelSet(builtinRoutes, validUTF8(o.routes)),
		loginSet:        newLabelSet(o.labels.Login),
		refreshSet:      newLabelSet(o.labels.Refresh),
		userInfoSet:     newLabelSet(o.labels.UserInfo),
		endSet:          newLabelSet(endReasons),
		backchannelSet:  newLabelSet(o.labels.Backchannel),
		rejectSet:       newLabelSet(o.labels.Rejected),
		opSet:           newLabelSet(storeOps),
		providerSet:     newLabelSet([]string{DefaultProvider}, validUTF8(o.providers)),
		grantSet:        newLabelSet(grants),
		tokenOutcomeSet: newLabelSet(tokenOutcomes),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(o.version),
		m.liveStreamsGauge(),
	)
	m.newHTTPInstruments()
	m.newSessionInstruments()
	m.newStoreInstruments()
	m.newIdPInstruments()
	m.own(m.created) // the one instrument not made by counterVec or histogramVec
	m.own(buildInfo(o.version))
	m.own(m.liveStreamsGauge())
	return m
}

func (m *Metrics) newHTTPInstruments() {
	m.httpRequests = m.counterVec("bff_http_requests_total",
		"HTTP requests served, by route name, method and status code.", "route", "method", "code")
	m.httpDuration = m.histogramVec("bff_http_request_duration_seconds",
		"Time to serve an HTTP request (streams: their whole life), by route name and method.",
		httpBuckets, "route", "method")
	m.upstream = m.histogramVec("bff_upstream_duration_seconds",
		"Time from sending a request upstream to the upstream's response headers, by route name.",
		httpBuckets, "route")
}

func (m *Metrics) newSessionInstruments() {
	m.logins = m.counterVec("bff_logins_total", "Login attempts, by outcome.", "outcome")
	m.refreshes = m.counterVec("bff_refreshes_total", "Access-token refreshes, by outcome.", "outcome")
	m.created = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bff_sessions_created_total", Help: "Sessions created by a successful login.",
	})
	m.reg.MustRegister(m.created)
	m.ended = m.counterVec("bff_sessions_ended_total", "Sessions ended, by reason.", "reason")
	m.backchannel = m.counterVec("bff_backchannel_logouts_total",
		"Back-channel logout requests, by outcome.", "outcome")
	initSeries(m.logins, m.loginSet)
	initSeries(m.refreshes, m.refreshSet)
	initSeries(m.ended, m.endSet)
	initSeries(m.backchannel, m.backchannelSet)
	m.rejected = m.counterVec("bff_session_rejected_total",
		"Requests whose session cookie or stored session record was refused, by reason.", "reason")
	initSeries(m.rejected, m.rejectSet)
}

func (m *Metrics) newStoreInstruments() {
	m.storeDuration = m.histogramVec("bff_store_operation_duration_seconds",
		"Session store call latency, by operation.", storeBuckets, "op")
	m.storeErrors = m.counterVec("bff_store_errors_total",
		"Session store calls that failed (unreachable, lock lost), by operation.", "op")
	initSeries(m.storeErrors, m.opSet)
}

func (m *Metrics) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	m.reg.MustRegister(v)
	m.own(v)
	return v
}

func (m *Metrics) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	m.reg.MustRegister(v)
	m.own(v)
	return v
}

func initSeries(v *prometheus.CounterVec, set labelSet) {
	for _, l := range set.values() {
		v.WithLabelValues(l)
	}
}

func (m *Metrics) liveStreamsGauge() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bff_live_streams",
		Help: "Websocket and SSE streams currently proxied by this replica.",
	}, func() float64 {
		if f := m.liveStreams.Load(); f != nil {
			return (*f)()
		}
		return 0
	})
}

func buildInfo(version string) prometheus.Collector {
	if version == "" {
		version = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			version = bi.Main.Version
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "bff_build_info",
		Help:        "Always 1; the labels say which build is running.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	g.Set(1)
	return g
}

func validUTF8(names []string) []string {
	out := names[:0:0]
	for _, n := range names {
		if utf8.ValidString(n) {
			out = append(out, n)
		}
	}
	return out
}

// SetLiveStreams installs the function read at each scrape for bff_live_streams (e.g.
// func() float64 { return float64(p.LiveStreams()) }). It may be called at any time,
// also after the first scrape; until then the gauge reads 0. f MUST be cheap and safe
// for concurrent use: it runs on the scraping goroutine.
func (m *Metrics) SetLiveStreams(f func() float64) {
	if m == nil || f == nil {
		return
	}
	m.liveStreams.Store(&f)
}

// Registry is the registry the instruments live on, for callers that add collectors of
// their own. It is nil on a nil *Metrics.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the registry in the Prometheus exposition formats (for the admin
// listener's /metrics). At most four scrapes run at once; a scrape that takes longer
// than 10 s is answered 503. A nil *Metrics gives a handler that answers 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:            m.reg, // promhttp_metric_handler_errors_total
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}
