package session

import "testing"

func TestIndexKeysQualifyNamedProvidersOnly(t *testing.T) {
	for _, tc := range []struct{ provider, value, want string }{
		{"", "alice", "alice"},
		{"a", "alice", "a:alice"},
		{"a", "", ""},
		{"a", "x:y", "a:x:y"},
	} {
		if got := SubjectKey(tc.provider, tc.value); got != tc.want {
			t.Errorf("SubjectKey(%q, %q) = %q, want %q", tc.provider, tc.value, got, tc.want)
		}
		if got := SIDKey(tc.provider, tc.value); got != tc.want {
			t.Errorf("SIDKey(%q, %q) = %q, want %q", tc.provider, tc.value, got, tc.want)
		}
	}
}
