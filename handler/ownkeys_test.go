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

// TestLegacyKeyNeverReachesAnotherProvider: a default-provider user whose sub is
// "b:alice" (a username-style sub) must not reach provider b's alice, whose sessions are
// indexed under the qualified key "b:alice": the bare key is left out for such a sub.
func TestLegacyKeyNeverReachesAnotherProvider(t *testing.T) {
	h := &Handlers{names: []string{"a", "b"}, d: Deps{DefaultIdP: "a"}}
	for _, tc := range []struct {
		sub  string
		want []string
	}{
		{"b:alice", []string{"a:b:alice"}},
		{"a:alice", []string{"a:a:alice"}},
		{"bb:alice", []string{"a:bb:alice", "bb:alice"}}, // no provider "bb"
		{"b", []string{"a:b", "b"}},
		{"b|alice", []string{"a:b|alice", "b|alice"}},
	} {
		if got := h.subjectKeys("a", tc.sub); !slices.Equal(got, tc.want) {
			t.Errorf("sub %q: keys %v, want %v", tc.sub, got, tc.want)
		}
		if other := session.SubjectKey("b", "alice"); tc.sub == "b:alice" && slices.Contains(h.subjectKeys("a", tc.sub), other) {
			t.Errorf("sub %q reaches provider b's alice (%q)", tc.sub, other)
		}
	}
}
