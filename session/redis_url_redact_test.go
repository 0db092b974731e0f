package session

import (
	"strings"
	"testing"
)

// TestRedactRedisURLHidesEveryPassword: the store URL goes into start-up warnings and
// `bff check` output; no password in it may reach a log.
func TestRedactRedisURLHidesEveryPassword(t *testing.T) {
	tests := []struct{ in, want string }{
		{"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
		{"redis://:s3cret@redis:6379/0", "redis://:xxxxx@redis:6379/0"},
		{"rediss://user:s3cret@redis:6380/1", "rediss://user:xxxxx@redis:6380/1"},
		{"redis+sentinel://:s3cret@s1:26379/0?master_name=m&sentinel_password=s3cret", "redis+sentinel://:xxxxx@s1:26379/0?master_name=m&sentinel_password=xxxxx"},
		{"redis://:s3cret@[::1", "(not a valid URL)"},
	}
	for _, tt := range tests {
		got := RedactRedisURL(tt.in)
		if got != tt.want || strings.Contains(got, "s3cret") {
			t.Errorf("RedactRedisURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
