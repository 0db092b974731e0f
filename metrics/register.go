package metrics

import (
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// own records a BFF instrument, so that Register can put it on another registry too.
func (m *Metrics) own(c prometheus.Collector) { m.collectors = append(m.collectors, c) }

// Register registers the BFF's own instruments (bff_*, not the Go runtime and process
// collectors, which the application's registry has or chooses) on r as well: an
// application that embeds the BFF gets them in its own registry. They stay on m's
// registry too. A name r already holds fails the whole call, and nothing stays
// registered: two BFFs on one registry need distinct constant labels
// (prometheus.WrapRegistererWith).
func (m *Metrics) Register(r prometheus.Registerer) error {
	if m == nil || r == nil {
		return nil
	}
	for i, c := range m.collectors {
		if err := r.Register(c); err != nil {
			for _, done := range m.collectors[:i] {
				r.Unregister(done)
			}
			return fmt.Errorf("metrics: register on the application's registry: %w", err)
		}
	}
	return nil
}

// Unregister takes what Register put on r off it again.
func (m *Metrics) Unregister(r prometheus.Registerer) {
	if m == nil || r == nil {
		return
	}
	for _, c := range m.collectors {
		r.Unregister(c)
	}
}

// HandlerFor serves g (an application's gatherer) in the Prometheus exposition formats
// with the limits of Handler: four scrapes at once, 10 s each. It registers nothing on
// g: promhttp's own error counter is the application's choice (promhttp.InstrumentMetricHandler).
func HandlerFor(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}
