package tracing

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// ErrConfig is wrapped by every error Setup returns for a bad OTEL_* variable.
var ErrConfig = errors.New("tracing: invalid configuration")

// The OTEL_* variables Setup reads (OpenTelemetry SDK environment specification). The
// exporter reads its remaining settings (OTEL_EXPORTER_OTLP_[TRACES_]HEADERS,
// _CERTIFICATE, _COMPRESSION, _TIMEOUT) from the process environment itself.
const (
	envEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envSDKDisabled    = "OTEL_SDK_DISABLED"
	envTracesExporter = "OTEL_TRACES_EXPORTER"
	envServiceName    = "OTEL_SERVICE_NAME"
	envSampler        = "OTEL_TRACES_SAMPLER"
	envSamplerArg     = "OTEL_TRACES_SAMPLER_ARG"
)

// settings is what Setup takes from the environment.
type settings struct {
	endpoint string // full URL of the traces endpoint; "" when tracing is off
	json     bool   // http/json instead of http/protobuf
	service  string
	sampler  sdktrace.Sampler
}

// readSettings interprets env. endpoint is "" when tracing is off, and then nothing
// else is parsed. Errors wrap ErrConfig and name the variable, never its value where that
// could be a secret (URLs).
func readSettings(env func(string) string, service string) (settings, error) {
	s := settings{service: service}
	if v := env(envServiceName); v != "" {
		s.service = v
	}
	if strings.EqualFold(strings.TrimSpace(env(envSDKDisabled)), "true") ||
		strings.EqualFold(strings.TrimSpace(env(envTracesExporter)), "none") {
		return s, nil
	}
	var err error
	if s.endpoint, err = tracesEndpoint(env); err != nil || s.endpoint == "" {
		return s, err
	}
	var errs []error
	if s.json, err = protocol(env); err != nil {
		errs = append(errs, err)
	}
	if s.sampler, err = sampler(env); err != nil {
		errs = append(errs, err)
	}
	return s, errors.Join(errs...)
}

// tracesEndpoint is OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, else
// OTEL_EXPORTER_OTLP_ENDPOINT with "/v1/traces" appended to its path, else "".
func tracesEndpoint(env func(string) string) (string, error) {
	if v := strings.TrimSpace(env(envTracesEndpoint)); v != "" {
		u, err := endpointURL(envTracesEndpoint, v)
		if err != nil {
			return "", err
		}
		return u.String(), nil
	}
	v := strings.TrimSpace(env(envEndpoint))
	if v == "" {
		return "", nil
	}
	u, err := endpointURL(envEndpoint, v)
	if err != nil {
		return "", err
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	u.RawPath = ""
	return u.String(), nil
}

func endpointURL(name, v string) (*url.URL, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: %s must be an absolute http(s) URL without query", ErrConfig, name)
	}
	return u, nil
}

// protocol reports whether http/json was asked for; grpc is not supported.
func protocol(env func(string) string) (json bool, err error) {
	name, v := envTracesProtocol, strings.TrimSpace(env(envTracesProtocol))
	if v == "" {
		name, v = envProtocol, strings.TrimSpace(env(envProtocol))
	}
	switch v {
	case "", "http/protobuf":
		return false, nil
	case "http/json":
		return true, nil
	}
	return false, fmt.Errorf("%w: %s=%q: only http/protobuf and http/json are supported", ErrConfig, name, v)
}

// sampler builds OTEL_TRACES_SAMPLER with OTEL_TRACES_SAMPLER_ARG (the ratio of the
// traceidratio samplers, default 1). Default: parentbased_always_on.
func sampler(env func(string) string) (sdktrace.Sampler, error) {
	name := strings.TrimSpace(env(envSampler))
	ratio := 1.0
	if arg := strings.TrimSpace(env(envSamplerArg)); arg != "" && strings.HasSuffix(name, "traceidratio") {
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return nil, fmt.Errorf("%w: %s=%q: want a ratio in [0, 1]", ErrConfig, envSamplerArg, arg)
		}
		ratio = r
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	}
	return nil, fmt.Errorf("%w: %s=%q is not a supported sampler", ErrConfig, envSampler, name)
}
