package handler

import (
	"slices"
	"testing"

	"github.com/tokenward/bff/session"
)

// TestOwnSubjectKeysReachLegacySessionsOfTheDefaultProvider: the session list and "sign
// out everywhere" of a default-provider user also cover the sessions made before the
// provider list existed (indexed under the bare sub); another provider's user never does.
func TestOwnSubjectKeysReachLegacySessionsOfTheDefaultProvider(t *testing.T) {
	multi := &Handlers{names: []string{"a", "b"}, d: Deps{DefaultIdP: "a"}}
	single := &Handlers{}
	for _, tc := range []struct {
		h        *Handlers
		provider string
		want     []string
	}{
		{single, "", []string{"alice"}},
		{multi, "a", []string{"a:alice", "alice"}},
		{multi, "", []string{"a:alice", "alice"}}, // a legacy session itself
		{multi, "b", []string{"b:alice"}},
	} {
		cur := &current{rec: &session.Record{Subject: "alice", Provider: tc.provider}}
		if got := tc.h.ownSubjectKeys(cur); !slices.Equal(got, tc.want) {
			t.Errorf("provider %q: keys %v, want %v", tc.provider, got, tc.want)
		}
	}
}
