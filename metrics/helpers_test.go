package metrics

import (
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// family returns the gathered family called name, or fails the test.
func family(t testing.TB, m *Metrics, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	t.Fatalf("no metric family %q", name)
	return nil
}

// sampleCount is the observation count of the histogram name{label=value} (0 when the
// series does not exist).
func sampleCount(t testing.TB, m *Metrics, name string, labels map[string]string) uint64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			if hasLabels(s, labels) {
				return s.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

func hasLabels(s *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, lp := range s.GetLabel() {
		got[lp.GetName()] = lp.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return len(got) == len(want)
}

// testLabels stand in for the producers' lists that the assembly passes (handler's and
// refresh's; this package cannot import them).
var testLabels = Labels{
	Login:       []string{"started", "ok", "denied", "bad_state", "idp_error", "invalid_token", "store_error", "silent_no_session"},
	Refresh:     []string{"ok", "invalid_grant", "transient", "coalesced", "store_error", "cooldown", "backoff", "ended"},
	UserInfo:    []string{"ok", "sub_mismatch", "unsupported", "error"},
	Backchannel: []string{"ok", "invalid", "replay", "error"},
	Rejected:    []string{"cookie_invalid", "cookie_duplicate", "record_forged", "record_unknown_key", "record_malformed"},
}
