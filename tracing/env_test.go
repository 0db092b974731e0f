package tracing

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// envOf is an injected environment.
func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestSetupReadsTheEnvironment(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		wantEnabled  bool
		wantEndpoint string
		wantJSON     bool
		wantErr      string // a variable name the error must mention; "" for no error
	}{
		{name: "nothing set: off", env: nil},
		{name: "base endpoint gets the traces path",
			env:         map[string]string{envEndpoint: "http://collector:4318"},
			wantEnabled: true, wantEndpoint: "http://collector:4318/v1/traces"},
		{name: "base endpoint with trailing slash",
			env:         map[string]string{envEndpoint: "https://collector:4318/"},
			wantEnabled: true, wantEndpoint: "https://collector:4318/v1/traces"},
		{name: "base endpoint with a path prefix",
			env:         map[string]string{envEndpoint: "https://gw.example.com/otlp"},
			wantEnabled: true, wantEndpoint: "https://gw.example.com/otlp/v1/traces"},
		{name: "traces endpoint used as it is and wins",
			env:         map[string]string{envEndpoint: "http://a:4318", envTracesEndpoint: "http://b:4318/custom"},
			wantEnabled: true, wantEndpoint: "http://b:4318/custom"},
		{name: "json protocol",
			env:         map[string]string{envEndpoint: "http://c:4318", envProtocol: "http/json"},
			wantEnabled: true, wantEndpoint: "http://c:4318/v1/traces", wantJSON: true},
		{name: "traces protocol wins",
			env:         map[string]string{envEndpoint: "http://c:4318", envProtocol: "grpc", envTracesProtocol: "http/protobuf"},
			wantEnabled: true, wantEndpoint: "http://c:4318/v1/traces"},
		{name: "sdk disabled", env: map[string]string{envEndpoint: "http://c:4318", envSDKDisabled: "TRUE"}},
		{name: "traces exporter none", env: map[string]string{envEndpoint: "http://c:4318", envTracesExporter: "none"}},
		{name: "grpc is not linked", env: map[string]string{envEndpoint: "http://c:4317", envProtocol: "grpc"},
			wantErr: envProtocol},
		{name: "relative endpoint", env: map[string]string{envEndpoint: "collector:4318"}, wantErr: envEndpoint},
		{name: "endpoint with query", env: map[string]string{envTracesEndpoint: "http://c/v1/traces?key=1"},
			wantErr: envTracesEndpoint},
		{name: "unknown sampler", env: map[string]string{envEndpoint: "http://c:4318", envSampler: "sometimes"},
			wantErr: envSampler},
		{name: "ratio out of range", env: map[string]string{envEndpoint: "http://c:4318",
			envSampler: "traceidratio", envSamplerArg: "1.5"}, wantErr: envSamplerArg},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Setup(context.Background(), "bff", envOf(tc.env))
			if tc.wantErr != "" {
				if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Setup error = %v, want ErrConfig naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Setup: %v", err)
			}
			defer tr.Shutdown(context.Background())
			if tr.Enabled() != tc.wantEnabled {
				t.Fatalf("Enabled = %v, want %v", tr.Enabled(), tc.wantEnabled)
			}
			s, _ := readSettings(envOf(tc.env), "bff")
			if s.endpoint != tc.wantEndpoint || s.json != tc.wantJSON {
				t.Fatalf("endpoint %q json %v, want %q %v", s.endpoint, s.json, tc.wantEndpoint, tc.wantJSON)
			}
		})
	}
}

// TestEndpointErrorDoesNotEchoTheURL: an endpoint URL can carry credentials; a bad one
// is named, not quoted.
func TestEndpointErrorDoesNotEchoTheURL(t *testing.T) {
	_, err := Setup(context.Background(), "bff", envOf(map[string]string{
		envEndpoint: "ftp://user:s3cr3t@collector/",
	}))
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("Setup error = %v, want an error without the URL", err)
	}
}

func TestSamplerFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		sampler string
		arg     string
		want    string // prefix of Sampler.Description()
	}{
		{name: "default", want: "ParentBased{root:AlwaysOnSampler"},
		{name: "always_off", sampler: "always_off", want: "AlwaysOffSampler"},
		{name: "ratio", sampler: "traceidratio", arg: "0.25", want: "TraceIDRatioBased{0.25}"},
		{name: "parent-based ratio", sampler: "parentbased_traceidratio", arg: "0.5",
			want: "ParentBased{root:TraceIDRatioBased{0.5}"},
		{name: "arg ignored for non-ratio samplers", sampler: "always_on", arg: "junk", want: "AlwaysOnSampler"},
	}
	for _, tc := range tests {
		s, err := sampler(envOf(map[string]string{envSampler: tc.sampler, envSamplerArg: tc.arg}))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !strings.HasPrefix(s.Description(), tc.want) {
			t.Errorf("%s: sampler %q, want prefix %q", tc.name, s.Description(), tc.want)
		}
	}
}

func TestBadSamplerIsIgnoredWhileTracingIsOff(t *testing.T) {
	tr, err := Setup(context.Background(), "bff", envOf(map[string]string{envSampler: "sometimes"}))
	if err != nil || tr.Enabled() {
		t.Fatalf("Setup = %v, enabled %v; want off without error", err, tr.Enabled())
	}
}
