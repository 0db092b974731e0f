package compose_test

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/deploy/check/compose"
	"github.com/tokenward/bff/deploy/check/internal/configdoc"
)

func TestComposeLoadsAsDockerComposeWould(t *testing.T) {
	p := load(t, testEnv(t))
	got := slices.Sorted(maps.Keys(p.Services))
	want := []string{"api", "bff", "keycloak", "redis"}
	if !slices.Equal(got, want) {
		t.Fatalf("services = %v, want %v", got, want)
	}
	if _, ok := p.Volumes["redis-data"]; !ok {
		t.Errorf("volumes = %v, want the named volume redis-data", slices.Collect(maps.Keys(p.Volumes)))
	}
}

// An empty secret would start a stack with, e.g., an empty Redis password or a client
// secret Keycloak would not match: compose must refuse to start instead.
func TestComposeRefusesToStartWithoutASecret(t *testing.T) {
	cases := []struct {
		name  string
		strip func(env map[string]string, name string)
	}{
		{name: "unset", strip: func(env map[string]string, name string) { delete(env, name) }},
		{name: "empty", strip: func(env map[string]string, name string) { env[name] = "" }},
	}
	for _, v := range secretVars {
		for _, c := range cases {
			t.Run(v+" "+c.name, func(t *testing.T) {
				env := testEnv(t)
				c.strip(env, v)
				checkMissing(t, env, v)
			})
		}
	}
}

// checkMissing loads the stack with env and wants compose's refusal naming v.
func checkMissing(t *testing.T, env map[string]string, v string) {
	t.Helper()
	_, err := compose.Load(context.Background(), root(t), env)
	var missing *template.MissingRequiredError
	if !errors.As(err, &missing) {
		t.Fatalf("Load without %s: err = %v, want a MissingRequiredError", v, err)
	}
	if missing.Variable != v {
		t.Fatalf("missing variable = %q, want %q", missing.Variable, v)
	}
}

func TestComposeServices(t *testing.T) {
	r := root(t)
	p := load(t, testEnv(t))
	tests := []struct {
		name  string
		check func(t *testing.T, svc types.ServiceConfig)
	}{
		{name: "bff", check: func(t *testing.T, svc types.ServiceConfig) {
			if svc.Build == nil || filepath.Clean(svc.Build.Context) != r {
				t.Errorf("build = %+v, want the repository root (the Dockerfile)", svc.Build)
			}
			if len(svc.Ports) != 0 {
				t.Errorf("ports = %+v: a service in another's network namespace cannot publish ports", svc.Ports)
			}
		}},
		{name: "redis", check: func(t *testing.T, svc types.ServiceConfig) {
			wantImagePrefix(t, svc, "redis:7")
			if !hasArgs(svc.Command, "--appendonly", "yes") {
				t.Errorf("command = %v, want --appendonly yes (AOF persistence)", svc.Command)
			}
			if !hasVolume(svc, types.VolumeTypeVolume, "redis-data", "/data") {
				t.Errorf("volumes = %+v, want the named volume redis-data at /data", svc.Volumes)
			}
		}},
		{name: "keycloak", check: func(t *testing.T, svc types.ServiceConfig) {
			wantImagePrefix(t, svc, "quay.io/keycloak/keycloak:26.")
			if !hasArgs(svc.Command, "start-dev", "--import-realm") {
				t.Errorf("command = %v, want start-dev --import-realm", svc.Command)
			}
			realm := filepath.Join(r, filepath.FromSlash(compose.RealmFile))
			if !hasVolume(svc, types.VolumeTypeBind, realm, "/opt/keycloak/data/import/realm.json") {
				t.Errorf("volumes = %+v, want %s mounted in /opt/keycloak/data/import/", svc.Volumes, compose.RealmFile)
			}
		}},
		{name: "api", check: func(t *testing.T, svc types.ServiceConfig) {
			wantImagePrefix(t, svc, "ealen/echo-server:")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, service(t, p, tt.name)) })
	}
}

// The BFF starts only once what it needs is healthy, and every service_healthy
// condition points at a service that has a health check (else compose waits forever).
func TestComposeHealthChecksGateTheBFF(t *testing.T) {
	p := load(t, testEnv(t))
	bff := service(t, p, "bff")
	for _, dep := range []string{"keycloak", "redis", "api"} {
		d, ok := bff.DependsOn[dep]
		if !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("bff depends_on %s = %+v, want condition %s", dep, d, types.ServiceConditionHealthy)
		}
	}
	for name, svc := range p.Services {
		for dep, d := range svc.DependsOn {
			if d.Condition != types.ServiceConditionHealthy {
				continue
			}
			hc := p.Services[dep].HealthCheck
			if hc == nil || hc.Disable || len(hc.Test) == 0 {
				t.Errorf("%s waits for %s to be healthy, but %s has no health check", name, dep, dep)
			}
		}
	}
}

func TestComposeHealthChecksAreReal(t *testing.T) {
	p := load(t, testEnv(t))
	tests := []struct {
		service string
		want    string // a fragment of the test command
	}{
		{service: "redis", want: "redis-cli ping"},
		{service: "keycloak", want: "/health/ready"},
		{service: "keycloak", want: "/dev/tcp/127.0.0.1/9000"},
		{service: "api", want: "http://127.0.0.1:8080/"},
	}
	for _, tt := range tests {
		t.Run(tt.service+" "+tt.want, func(t *testing.T) {
			hc := service(t, p, tt.service).HealthCheck
			if hc == nil {
				t.Fatal("no health check")
			}
			if cmd := strings.Join(hc.Test, " "); !strings.Contains(cmd, tt.want) {
				t.Fatalf("health check %q does not contain %q", cmd, tt.want)
			}
		})
	}
}

// Keycloak's admin console, the BFF's admin listener and a dev-mode IdP must not be
// reachable from the network the developer's machine is on.
func TestComposeDoesNotExposeTheStackBeyondLoopback(t *testing.T) {
	p := load(t, testEnv(t))
	for name, svc := range p.Services {
		for _, port := range svc.Ports {
			ip := net.ParseIP(port.HostIP)
			if ip == nil || !ip.IsLoopback() {
				t.Errorf("%s publishes %d on %q, want 127.0.0.1", name, port.Target, port.HostIP)
			}
		}
	}
}

// The issuer must be one string for the browser (which follows the authorization
// endpoint) and for the BFF (which fetches discovery and checks every token's iss).
func TestComposeIssuerIsTheSameForTheBrowserAndTheBFF(t *testing.T) {
	env := testEnv(t)
	p := load(t, env)
	bff, kc := envOf(service(t, p, "bff")), envOf(service(t, p, "keycloak"))
	realm := readRealm(t)

	if want := kc["KC_HOSTNAME"] + "/realms/" + realm.Realm; bff["BFF_OIDC_ISSUER"] != want {
		t.Fatalf("BFF_OIDC_ISSUER = %q, want KC_HOSTNAME + /realms/ + realm = %q", bff["BFF_OIDC_ISSUER"], want)
	}
	issuer, err := url.Parse(bff["BFF_OIDC_ISSUER"])
	if err != nil {
		t.Fatal(err)
	}
	if issuer.Hostname() != "localhost" {
		t.Fatalf("issuer host = %q: the browser reaches Keycloak on localhost", issuer.Hostname())
	}
	if issuer.Port() != kc["KC_HTTP_PORT"] {
		t.Fatalf("issuer port %q != KC_HTTP_PORT %q", issuer.Port(), kc["KC_HTTP_PORT"])
	}
	// In the BFF's container, localhost:PORT is Keycloak only if it shares Keycloak's
	// network namespace, which a restart of Keycloak replaces.
	bffSvc := service(t, p, "bff")
	if got := bffSvc.NetworkMode; got != types.NetworkModeServicePrefix+"keycloak" {
		t.Fatalf("bff network_mode = %q, want service:keycloak", got)
	}
	if !bffSvc.DependsOn["keycloak"].Restart {
		t.Error("bff does not restart with keycloak: it would keep a dead network namespace")
	}
	public, err := url.Parse(bff["BFF_SERVER_PUBLIC_URL"])
	if err != nil {
		t.Fatal(err)
	}
	published := publishedPorts(service(t, p, "keycloak"))
	for _, tt := range []struct {
		what string
		port string
	}{
		{what: "Keycloak (the issuer)", port: issuer.Port()},
		{what: "the BFF's public URL", port: public.Port()},
		{what: "the BFF's public listener", port: listenPort(t, bff["BFF_SERVER_LISTEN"], config.Defaults().Server.Listen)},
		{what: "the BFF's admin listener", port: listenPort(t, bff["BFF_SERVER_ADMIN_LISTEN"], config.Defaults().Server.AdminListen)},
	} {
		if published[tt.port] != tt.port {
			t.Errorf("%s: port %s is not published as the same port on the host (published: %v)", tt.what, tt.port, published)
		}
	}
}

func TestComposeBFFEnvironmentNamesAreDocumented(t *testing.T) {
	doc := configDoc(t)
	p := load(t, testEnv(t))
	for name, svc := range p.Services {
		if bad := undocumented(envOf(svc), doc); len(bad) > 0 {
			t.Errorf("%s: %v are not keys of docs/configuration.md: the BFF would ignore them", name, bad)
		}
	}
}

// The checker itself must catch a misspelt name.
func TestUndocumented(t *testing.T) {
	doc := configDoc(t)
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{name: "documented names", env: map[string]string{"BFF_OIDC_CLIENT_ID": "x", "BFF_SESSION_KEYS": "k"}},
		{name: "other prefixes are not the BFF's", env: map[string]string{"KC_HOSTNAME": "x", "REDISCLI_AUTH": "y"}},
		{name: "a misspelt name", env: map[string]string{"BFF_OIDC_CLIENTID": "x"}, want: []string{"BFF_OIDC_CLIENTID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := undocumented(tt.env, doc); !slices.Equal(got, tt.want) {
				t.Fatalf("undocumented = %v, want %v", got, tt.want)
			}
		})
	}
}

// The bff service's environment is a configuration the BFF accepts: loaded and
// validated by the BFF's own config package, as `bff check --offline` would.
func TestComposeBFFConfigurationIsValid(t *testing.T) {
	env := testEnv(t)
	p := load(t, env)
	bffEnv := envOf(service(t, p, "bff"))
	cfg, err := config.Load(config.Source{Env: envList(bffEnv)})
	if err == nil {
		err = config.Validate(cfg)
	}
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		for _, pr := range ve.Problems {
			t.Errorf("%s", pr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Embedded() {
		t.Error("the stack uses the embedded store: sessions would not be in Redis")
	}
	if cfg.OIDC.AllowInsecureIssuer {
		t.Error("oidc.allowInsecureIssuer is set: the issuer is on localhost and needs no exception")
	}
	if got, want := cfg.Session.RedisURL, "redis://:"+env["REDIS_PASSWORD"]+"@redis:6379/0"; got != want {
		t.Error("session.redisURL does not carry REDIS_PASSWORD to the redis service") // no value: it is a secret
	}
	grace := service(t, p, "bff").StopGracePeriod
	if grace == nil || time.Duration(*grace) <= cfg.Server.ShutdownTimeout {
		t.Errorf("stop_grace_period = %v, want more than server.shutdownTimeout %v (else docker kills the BFF mid-drain)", grace, cfg.Server.ShutdownTimeout)
	}
}

// The BFF container holds tokens in memory: no write access, no capabilities, no
// privilege escalation.
func TestComposeBFFContainerIsLockedDown(t *testing.T) {
	svc := service(t, load(t, testEnv(t)), "bff")
	if !svc.ReadOnly {
		t.Error("read_only is not set")
	}
	if !slices.Contains(svc.CapDrop, "ALL") {
		t.Errorf("cap_drop = %v, want ALL", svc.CapDrop)
	}
	if !slices.Contains(svc.SecurityOpt, "no-new-privileges:true") {
		t.Errorf("security_opt = %v, want no-new-privileges:true", svc.SecurityOpt)
	}
	for _, v := range svc.Volumes {
		if !v.ReadOnly {
			t.Errorf("volume %s is writable", v.Target)
		}
	}
}

func undocumented(env map[string]string, doc map[string]configdoc.Entry) []string {
	var bad []string
	for _, name := range slices.Sorted(maps.Keys(env)) {
		if _, ok := doc[name]; strings.HasPrefix(name, "BFF_") && !ok {
			bad = append(bad, name)
		}
	}
	return bad
}

func wantImagePrefix(t *testing.T, svc types.ServiceConfig, prefix string) {
	t.Helper()
	if !strings.HasPrefix(svc.Image, prefix) {
		t.Errorf("image = %q, want %s…", svc.Image, prefix)
	}
}

// hasArgs reports whether args holds want as a contiguous run.
func hasArgs(args types.ShellCommand, want ...string) bool {
	for i := 0; i+len(want) <= len(args); i++ {
		if slices.Equal(args[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

func hasVolume(svc types.ServiceConfig, typ, source, target string) bool {
	for _, v := range svc.Volumes {
		if v.Type == typ && filepath.Clean(v.Source) == filepath.Clean(source) && v.Target == target {
			return typ != types.VolumeTypeBind || v.ReadOnly
		}
	}
	return false
}

// publishedPorts maps a service's container ports to their host ports.
func publishedPorts(svc types.ServiceConfig) map[string]string {
	out := make(map[string]string)
	for _, p := range svc.Ports {
		out[strconv.FormatUint(uint64(p.Target), 10)] = p.Published
	}
	return out
}

func listenPort(t *testing.T, listen, def string) string {
	t.Helper()
	if listen == "" {
		listen = def
	}
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatal(err)
	}
	return port
}
