package chart_test

import (
	"encoding/base64"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/deploy/check/internal/testsecret"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tokenward/bff/deploy/check/internal/manifest"
)

// Every rendering holds the objects its values ask for, each decoded strictly.
func TestRenderingsHoldTheExpectedObjects(t *testing.T) {
	tests := []struct {
		name  string
		kinds map[string]int // kind → count
	}{
		{name: "default.yaml", kinds: map[string]int{"Deployment": 1, "Service": 2, "ConfigMap": 1, "ServiceAccount": 1, "PodDisruptionBudget": 1, "Pod": 1}},
		{name: "standalone.yaml", kinds: map[string]int{"Deployment": 1, "Service": 2, "ConfigMap": 1, "ServiceAccount": 1, "PodDisruptionBudget": 1, "Pod": 1,
			"HorizontalPodAutoscaler": 1, "Ingress": 1, "ServiceMonitor": 1, "PrometheusRule": 1, "NetworkPolicy": 1}},
		{name: "sidecar-nginx.yaml", kinds: map[string]int{"Deployment": 1, "Service": 2, "ConfigMap": 2, "ServiceAccount": 1, "PodDisruptionBudget": 1, "Pod": 1, "Ingress": 1}},
		{name: "forward-auth-ingress-nginx.yaml", kinds: map[string]int{"Deployment": 1, "Service": 2, "ConfigMap": 1, "ServiceAccount": 1, "PodDisruptionBudget": 1, "Pod": 1, "Ingress": 2}},
		{name: "forward-auth-envoy-gateway.yaml", kinds: map[string]int{"Deployment": 1, "Service": 2, "ConfigMap": 1, "ServiceAccount": 1, "PodDisruptionBudget": 1, "Pod": 1,
			"HTTPRoute": 2, "SecurityPolicy": 1}},
		{name: "forward-auth-traefik.yaml", kinds: map[string]int{"Deployment": 1, "Service": 2, "ConfigMap": 1, "ServiceAccount": 1, "PodDisruptionBudget": 1, "Pod": 1,
			"HTTPRoute": 2, "Middleware": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]int{}
			for _, o := range rendering(t, tt.name).Objects {
				got[o.Kind]++
			}
			if !maps.Equal(got, tt.kinds) {
				t.Fatalf("kinds = %v, want %v", got, tt.kinds)
			}
		})
	}
}

// A compromised BFF process holds tokens in memory: it gets no root, no capabilities,
// no writable file system, no privilege escalation and the runtime's seccomp profile.
// This holds for every container of the pod, the sidecar's included.
func TestPodsRunWithoutPrivileges(t *testing.T) {
	for _, r := range renderings(t) {
		t.Run(r.Name, func(t *testing.T) {
			d := deployment(t, r.Objects)
			pod := d.Spec.Template.Spec
			psc := pod.SecurityContext
			if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
				t.Error("pod: runAsNonRoot is not true")
			}
			if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Error("pod: seccompProfile is not RuntimeDefault")
			}
			if psc != nil && psc.RunAsUser != nil && *psc.RunAsUser == 0 {
				t.Error("pod: runAsUser 0")
			}
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Error("pod: the service account token is mounted (the BFF never calls the API server)")
			}
			if pod.HostNetwork || pod.HostPID || pod.HostIPC {
				t.Error("pod: shares a host namespace")
			}
			for _, c := range allContainers(d) {
				checkContainerSecurity(t, c)
			}
		})
	}
}

func checkContainerSecurity(t *testing.T, c corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil {
		t.Errorf("container %s: no securityContext", c.Name)
		return
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{what: "readOnlyRootFilesystem", ok: sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem},
		{what: "allowPrivilegeEscalation false", ok: sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation},
		{what: "not privileged", ok: sc.Privileged == nil || !*sc.Privileged},
		{what: "capabilities drop ALL", ok: sc.Capabilities != nil && slices.Contains(sc.Capabilities.Drop, "ALL")},
		{what: "no capability added", ok: sc.Capabilities == nil || len(sc.Capabilities.Add) == 0},
		{what: "runAsNonRoot", ok: sc.RunAsNonRoot != nil && *sc.RunAsNonRoot},
		{what: "runAsUser is not 0", ok: sc.RunAsUser == nil || *sc.RunAsUser != 0},
		{what: "seccompProfile RuntimeDefault", ok: sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("container %s: %s does not hold", c.Name, ch.what)
		}
	}
}

// Liveness and readiness are asked of the admin listener, whose port is the one the
// configuration gives it; the public listener is the one the Service sends traffic to.
func TestProbesAskTheAdminListener(t *testing.T) {
	for _, r := range renderings(t) {
		t.Run(r.Name, func(t *testing.T) {
			d := deployment(t, r.Objects)
			c := bffContainer(t, d)
			cfg := loadConfig(t, r.Objects)
			if got, want := containerPort(t, c, "admin"), listenPort(t, cfg.Server.AdminListen); got != want {
				t.Errorf("admin containerPort %d != server.adminListen port %d", got, want)
			}
			if got, want := containerPort(t, c, "http"), listenPort(t, cfg.Server.Listen); got != want {
				t.Errorf("http containerPort %d != server.listen port %d", got, want)
			}
			probes := []struct {
				name  string
				probe *corev1.Probe
				path  string
			}{
				{name: "liveness", probe: c.LivenessProbe, path: "/healthz"},
				{name: "readiness", probe: c.ReadinessProbe, path: "/readyz"},
				{name: "startup", probe: c.StartupProbe, path: "/healthz"},
			}
			for _, p := range probes {
				if p.probe == nil || p.probe.HTTPGet == nil {
					t.Errorf("%s probe: not an HTTP GET", p.name)
					continue
				}
				if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "admin" {
					t.Errorf("%s probe: GET %s on port %s, want %s on admin", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.path)
				}
			}
		})
	}
}

// /metrics and the probes stay off the public path: the public Service and every Ingress
// reach the http port only.
func TestAdminListenerIsNotPublic(t *testing.T) {
	for _, r := range renderings(t) {
		t.Run(r.Name, func(t *testing.T) {
			var public *corev1.Service
			for _, s := range manifest.All[corev1.Service](r.Objects) {
				for _, p := range s.Spec.Ports {
					if p.TargetPort.String() == "admin" && s.Labels["app.kubernetes.io/component"] != "admin" {
						t.Errorf("service %s exposes the admin port", s.Name)
					}
				}
				if s.Labels["app.kubernetes.io/component"] == "public" {
					public = s
				}
			}
			if public == nil {
				t.Fatal("no public Service")
			}
			for _, ing := range manifest.All[networkingv1.Ingress](r.Objects) {
				for _, rule := range ing.Spec.Rules {
					for _, p := range rule.HTTP.Paths {
						svc := p.Backend.Service
						if svc != nil && strings.HasSuffix(svc.Name, "-admin") {
							t.Errorf("ingress %s routes %s to the admin Service", ing.Name, p.Path)
						}
						if svc != nil && svc.Name == public.Name && svc.Port.Name != "http" {
							t.Errorf("ingress %s routes %s to port %+v of the BFF, want http", ing.Name, p.Path, svc.Port)
						}
					}
				}
			}
		})
	}
}

// The rendered bff.yaml is a configuration the BFF accepts (loaded and validated by its
// own config package), and its secret files are where the Secret is mounted.
func TestConfigMapIsAValidConfigurationReadingTheMountedSecret(t *testing.T) {
	for _, r := range renderings(t) {
		t.Run(r.Name, func(t *testing.T) {
			cfg := loadConfig(t, r.Objects)
			d := deployment(t, r.Objects)
			mounts := secretFiles(t, d)
			files := []struct {
				key, file string
				required  bool
			}{
				{key: "oidc.clientSecretFile", file: cfg.OIDC.ClientSecretFile, required: cfg.OIDC.TokenEndpointAuth != "private_key_jwt"},
				{key: "oidc.clientKeyFile", file: cfg.OIDC.ClientKeyFile, required: cfg.OIDC.TokenEndpointAuth == "private_key_jwt"},
				{key: "oidc.clientCertFile", file: cfg.OIDC.ClientCertFile, required: r.Name == "entra-certificate.yaml"},
				{key: "session.keysFile", file: cfg.Session.KeysFile, required: true},
				{key: "session.redisURLFile", file: cfg.Session.RedisURLFile, required: !cfg.Embedded()},
				{key: "server.adminTokenFile", file: cfg.Server.AdminTokenFile, required: r.Name == "standalone.yaml"},
			}
			for _, f := range files {
				switch {
				case f.file == "" && f.required:
					t.Errorf("%s is not set", f.key)
				case f.file != "" && !mounts[f.file]:
					t.Errorf("%s = %s, which no Secret item is mounted at (mounted: %v)", f.key, f.file, slices.Sorted(maps.Keys(mounts)))
				}
			}
			if cfg.OIDC.ClientSecretFile != "" && cfg.OIDC.ClientKeyFile != "" {
				t.Error("both a client secret and a client key file: the BFF refuses the one its method does not use")
			}
			if !cfg.Embedded() && cfg.Session.RedisURLFile == "" {
				t.Error("store redis without session.redisURLFile")
			}
		})
	}
}

// secretFiles are the paths at which the bff container sees the items of Secret volumes.
func secretFiles(t *testing.T, d *appsv1.Deployment) map[string]bool {
	t.Helper()
	vols := map[string]*corev1.SecretVolumeSource{}
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			vols[v.Name] = v.Secret
		}
	}
	files := map[string]bool{}
	for _, m := range bffContainer(t, d).VolumeMounts {
		s, ok := vols[m.Name]
		if !ok {
			continue
		}
		if !m.ReadOnly {
			t.Errorf("the Secret volume %s is mounted writable", m.Name)
		}
		for _, item := range s.Items {
			files[path.Join(m.MountPath, item.Path)] = true
		}
	}
	return files
}

// A ConfigMap is readable by more roles than a Secret and is printed by `kubectl
// describe`: a secret given to the chart must end up in the Secret only.
func TestSecretsNeverLandInAConfigMap(t *testing.T) {
	clientSecret, key1, key2 := testsecret.Hex(t), testsecret.Key(t), testsecret.Key(t)
	redisPassword := testsecret.Hex(t)
	objs := template(t,
		"-f", path.Join(chartDir(t), "examples", "sidecar-nginx.yaml"),
		"--set", "secret.create=true",
		"--set", "secret.clientSecret="+clientSecret,
		"--set", "secret.sessionKeys={"+key1+","+key2+"}",
		"--set", "secret.redisURL=redis://:"+redisPassword+"@redis:6379/0",
	)
	secrets := []string{clientSecret, key1, key2, redisPassword}
	for _, cm := range manifest.All[corev1.ConfigMap](objs) {
		for k, v := range cm.Data {
			for i, s := range secrets {
				if strings.Contains(v, s) || strings.Contains(v, base64.StdEncoding.EncodeToString([]byte(s))) {
					t.Errorf("ConfigMap %s, key %s, holds secret #%d", cm.Name, k, i)
				}
			}
		}
	}
	d := deployment(t, objs)
	for _, c := range allContainers(d) {
		for _, e := range c.Env {
			for i, s := range secrets {
				if strings.Contains(e.Value, s) {
					t.Errorf("container %s, env %s, holds secret #%d", c.Name, e.Name, i)
				}
			}
		}
	}
	sec := one[corev1.Secret](t, objs)
	want := map[string]string{
		"client-secret": clientSecret,
		"session-keys":  key1 + "\n" + key2 + "\n",
		"redis-url":     "redis://:" + redisPassword + "@redis:6379/0",
	}
	for k, v := range want {
		if string(sec.Data[k]) != v {
			t.Errorf("Secret key %s does not hold the value given to the chart", k)
		}
	}
	if sec.Name != secretVolumeName(t, d) {
		t.Errorf("the pod mounts Secret %q, the chart created %q", secretVolumeName(t, d), sec.Name)
	}
}

func secretVolumeName(t *testing.T, d *appsv1.Deployment) string {
	t.Helper()
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "secrets" && v.Secret != nil {
			return v.Secret.SecretName
		}
	}
	t.Fatal("no secrets volume")
	return ""
}

// The refusals the schema and the templates make, each with the message a user needs.
func TestChartRefusesUnsafeValues(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantMsg string
	}{
		{name: "embedded store with two replicas", args: []string{"--set", "config.session.store=embedded", "--set", "replicaCount=2"},
			wantMsg: "embedded store"},
		{name: "no store (the embedded default) with two replicas", args: []string{"--set", "config.session.store=", "--set", "replicaCount=2"},
			wantMsg: "embedded store"},
		{name: "embedded store with the autoscaler", args: []string{"--set", "config.session.store=embedded", "--set", "replicaCount=1", "--set", "autoscaling.enabled=true"},
			wantMsg: "autoscaling.enabled with the embedded session store"},
		{name: "a secret in the ConfigMap's values", args: []string{"--set", "config.oidc.clientSecret=" + testsecret.Hex(t)},
			wantMsg: "additional properties 'clientSecret' not allowed"},
		{name: "a misspelt key", args: []string{"--set", "config.oidc.clientId=spa"},
			wantMsg: "additional properties 'clientId' not allowed"},
		{name: "a grace period shorter than the drain", args: []string{"--set", "terminationGracePeriodSeconds=10"},
			wantMsg: "terminationGracePeriodSeconds 10 must exceed"},
		{name: "a shutdown timeout the chart cannot turn into a grace period", args: []string{"--set", "config.server.shutdownTimeout=1.5s"},
			wantMsg: "shutdownTimeout"},
		{name: "secret.create without a client secret", args: []string{"--set", "secret.create=true", "--set", "secret.sessionKeys={" + testsecret.Key(t) + "}", "--set", "secret.redisURL=redis://r:6379"},
			wantMsg: "secret.clientSecret is empty"},
		{name: "secret.create with redis but no URL", args: []string{"--set", "secret.create=true", "--set", "secret.clientSecret=x", "--set", "secret.sessionKeys={" + testsecret.Key(t) + "}"},
			wantMsg: "secret.redisURL is empty"},
		{name: "a session key that is not 32 bytes", args: []string{"--set", "secret.create=true", "--set", "secret.clientSecret=x", "--set", "secret.sessionKeys={c2hvcnQ=}"},
			wantMsg: "sessionKeys"},
		{name: "forward-auth without the app to protect", args: []string{"--set", "forwardAuth.ingressNginx.enabled=true"},
			wantMsg: "backend.service.name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := templateErr(t, tt.args...)
			if err == nil {
				t.Fatal("helm rendered the chart")
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("helm's message %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

func TestChartRendersTheEmbeddedStoreWithOneReplica(t *testing.T) {
	objs := template(t, "--set", "config.session.store=embedded", "--set", "replicaCount=1")
	d := deployment(t, objs)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Fatalf("replicas = %v, want 1", d.Spec.Replicas)
	}
	for f := range secretFiles(t, d) {
		if strings.HasSuffix(f, "redis-url") {
			t.Fatal("the embedded store still mounts a redis-url item (the pod would wait for a key nobody set)")
		}
	}
	if cfg := loadConfig(t, objs); cfg.Session.RedisURLFile != "" {
		t.Fatalf("session.redisURLFile = %q with the embedded store", cfg.Session.RedisURLFile)
	}
}

// A change of the configuration or of a chart-managed secret changes the pod template,
// so the Deployment rolls; an unchanged one does not.
func TestChecksumAnnotationRollsPodsOnConfigChange(t *testing.T) {
	for _, r := range renderings(t) {
		if deployment(t, r.Objects).Spec.Template.Annotations["checksum/config"] == "" {
			t.Errorf("%s: no checksum/config annotation on the pod template", r.Name)
		}
	}
	key := testsecret.Key(t)
	withSecret := func(clientSecret string, more ...string) []string {
		return append([]string{"--set", "secret.create=true", "--set", "secret.clientSecret=" + clientSecret,
			"--set", "secret.sessionKeys={" + key + "}", "--set", "secret.redisURL=redis://redis:6379/0"}, more...)
	}
	base := checksum(t, withSecret("one")...)
	tests := []struct {
		name     string
		args     []string
		wantSame bool
	}{
		{name: "same values", args: withSecret("one"), wantSame: true},
		{name: "pod annotations only", args: withSecret("one", "--set", "podAnnotations.team=web"), wantSame: true},
		{name: "configuration", args: withSecret("one", "--set", "config.log.level=debug")},
		{name: "route", args: withSecret("one", "--set", "config.routes[0].path=/api/", "--set", "config.routes[0].upstream=http://api:8080")},
		{name: "client secret", args: withSecret("two")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if same := checksum(t, tt.args...) == base; same != tt.wantSame {
				t.Fatalf("checksum unchanged = %v, want %v", same, tt.wantSame)
			}
		})
	}
}

func checksum(t *testing.T, args ...string) string {
	t.Helper()
	return deployment(t, template(t, args...)).Spec.Template.Annotations["checksum/config"]
}

// The kubelet sends SIGKILL after terminationGracePeriodSeconds, counted from the start
// of the preStop sleep: it must cover the sleep and the BFF's whole graceful shutdown.
func TestGracePeriodCoversTheDrain(t *testing.T) {
	for _, r := range renderings(t) {
		t.Run(r.Name, func(t *testing.T) {
			d := deployment(t, r.Objects)
			cfg := loadConfig(t, r.Objects)
			need := cfg.Server.ShutdownTimeout
			if lc := bffContainer(t, d).Lifecycle; lc != nil && lc.PreStop != nil && lc.PreStop.Sleep != nil {
				need += time.Duration(lc.PreStop.Sleep.Seconds) * time.Second
			}
			tgp := d.Spec.Template.Spec.TerminationGracePeriodSeconds
			if tgp == nil {
				t.Fatalf("terminationGracePeriodSeconds is not set (the default 30 s is not derived from %v)", need)
			}
			if time.Duration(*tgp)*time.Second <= need {
				t.Fatalf("terminationGracePeriodSeconds = %d, want more than %v", *tgp, need)
			}
		})
	}
}

// Scaling: two replicas by default, no replicas field under an HPA (else every upgrade
// resets the autoscaler's choice), a PDB and spread constraints that select these pods.
func TestReplicasDisruptionBudgetAndSpread(t *testing.T) {
	for _, r := range renderings(t) {
		t.Run(r.Name, func(t *testing.T) {
			d := deployment(t, r.Objects)
			podLabels := labels.Set(d.Spec.Template.Labels)
			hpas := manifest.All[autoscalingv2.HorizontalPodAutoscaler](r.Objects)
			switch {
			case len(hpas) > 0 && d.Spec.Replicas != nil:
				t.Error("replicas is set although an HPA scales the Deployment")
			case len(hpas) == 0 && (d.Spec.Replicas == nil || *d.Spec.Replicas < 2):
				t.Errorf("replicas = %v, want at least 2", d.Spec.Replicas)
			}
			for _, h := range hpas {
				if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != d.Name {
					t.Errorf("HPA targets %+v", h.Spec.ScaleTargetRef)
				}
			}
			pdb := one[policyv1.PodDisruptionBudget](t, r.Objects)
			if !selects(t, pdb.Spec.Selector.MatchLabels, podLabels) {
				t.Error("the PodDisruptionBudget does not select the pods")
			}
			tsc := d.Spec.Template.Spec.TopologySpreadConstraints
			if len(tsc) == 0 {
				t.Fatal("no topologySpreadConstraints")
			}
			for _, c := range tsc {
				if c.LabelSelector == nil || !selects(t, c.LabelSelector.MatchLabels, podLabels) {
					t.Errorf("spread over %s does not select the pods", c.TopologyKey)
				}
			}
			if s := d.Spec.Strategy.RollingUpdate; s == nil || s.MaxUnavailable == nil || s.MaxUnavailable.IntValue() != 0 {
				t.Error("a rolling update may take a pod away before its replacement is ready")
			}
		})
	}
}

func selects(t *testing.T, matchLabels map[string]string, podLabels labels.Set) bool {
	t.Helper()
	return len(matchLabels) > 0 && labels.SelectorFromSet(matchLabels).Matches(podLabels)
}

func TestServiceMonitorScrapesTheAdminService(t *testing.T) {
	objs := rendering(t, "standalone.yaml").Objects
	sm := one[monitoringv1.ServiceMonitor](t, objs)
	var admin *corev1.Service
	for _, s := range manifest.All[corev1.Service](objs) {
		if selects(t, sm.Spec.Selector.MatchLabels, labels.Set(s.Labels)) {
			if admin != nil {
				t.Fatalf("the ServiceMonitor selects several Services")
			}
			admin = s
		}
	}
	if admin == nil || admin.Spec.Ports[0].TargetPort.String() != "admin" {
		t.Fatalf("the ServiceMonitor selects %v, want the admin Service", admin)
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "admin" || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Fatalf("endpoints = %+v, want /metrics on port admin", sm.Spec.Endpoints)
	}
}

func TestNetworkPolicyKeepsTheAdminPortPrivate(t *testing.T) {
	objs := rendering(t, "standalone.yaml").Objects
	np := one[networkingv1.NetworkPolicy](t, objs)
	d := deployment(t, objs)
	if !selects(t, np.Spec.PodSelector.MatchLabels, labels.Set(d.Spec.Template.Labels)) {
		t.Fatal("the NetworkPolicy does not select the pods")
	}
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			if p.Port != nil && p.Port.String() == "admin" && len(rule.From) == 0 {
				t.Error("the admin port is open to every source")
			}
		}
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
		t.Fatal("restrictEgress did not restrict egress")
	}
	dns := false
	for _, rule := range np.Spec.Egress {
		for _, p := range rule.Ports {
			dns = dns || p.Port != nil && p.Port.IntValue() == 53
		}
	}
	if !dns {
		t.Error("egress is restricted but DNS is not allowed: the BFF could not resolve Redis or the IdP")
	}
}

// ingress-nginx's forward-auth: the auth subrequest goes to the BFF's Service inside the
// cluster, a 401 sends the browser to the BFF's login on the app's own origin (its cookie
// is host-only), and the bearer token is copied to the app's request.
func TestForwardAuthIngressPointsAtTheBFF(t *testing.T) {
	objs := rendering(t, "forward-auth-ingress-nginx.yaml").Objects
	cfg := loadConfig(t, objs)
	var protected, own *networkingv1.Ingress
	for _, ing := range manifest.All[networkingv1.Ingress](objs) {
		if ing.Annotations["nginx.ingress.kubernetes.io/auth-url"] != "" {
			protected = ing
		} else {
			own = ing
		}
	}
	if protected == nil || own == nil {
		t.Fatal("want one Ingress with auth-url (the app) and one without (the BFF's /bff/)")
	}
	public := serviceNamed(t, objs, "public")
	wantURL := "http://" + public.Name + ".tokenward.svc.cluster.local:" + itoa(public.Spec.Ports[0].Port) + "/bff/auth"
	tests := []struct {
		annotation, want string
	}{
		{annotation: "nginx.ingress.kubernetes.io/auth-url", want: wantURL},
		{annotation: "nginx.ingress.kubernetes.io/auth-method", want: "GET"},
		{annotation: "nginx.ingress.kubernetes.io/auth-signin", want: cfg.Server.PublicURL + "/bff/login?returnTo=$escaped_request_uri"},
		{annotation: "nginx.ingress.kubernetes.io/auth-response-headers", want: "Authorization,X-Auth-Request-User,X-Auth-Request-Email"},
	}
	for _, tt := range tests {
		if got := protected.Annotations[tt.annotation]; got != tt.want {
			t.Errorf("%s = %q, want %q", tt.annotation, got, tt.want)
		}
	}
	host := strings.TrimPrefix(cfg.Server.PublicURL, "https://")
	if protected.Spec.Rules[0].Host != host || own.Spec.Rules[0].Host != host {
		t.Errorf("hosts %q and %q, want both %q (the session cookie is host-only)", protected.Spec.Rules[0].Host, own.Spec.Rules[0].Host, host)
	}
	// The browser-facing endpoints one by one, Exact: a prefix covering /bff/auth would let
	// a script on the app's origin read the access token from forward-auth's answer.
	want := []string{"/bff/login", "/bff/callback", "/bff/user", "/bff/logout", "/bff/backchannel-logout"}
	paths := own.Spec.Rules[0].HTTP.Paths
	if len(paths) != len(want) {
		t.Fatalf("the BFF's Ingress routes %d paths, want %v", len(paths), want)
	}
	for i, p := range paths {
		if p.Path != want[i] || p.PathType == nil || *p.PathType != networkingv1.PathTypeExact || p.Backend.Service.Name != public.Name {
			t.Errorf("the BFF's Ingress path %d = %s (%v) to %s, want %s Exact to %s", i, p.Path, p.PathType, p.Backend.Service.Name, want[i], public.Name)
		}
	}
	if !cfg.Server.ForwardAuth {
		t.Error("server.forwardAuth is off: /bff/auth would answer 404")
	}
	if b := protected.Spec.Rules[0].HTTP.Paths[0].Backend.Service; b == nil || b.Name == public.Name {
		t.Errorf("the protected Ingress routes to %+v, want the app", b)
	}
	if cfg.Session.SameSite != "lax" {
		t.Errorf("session.sameSite = %q: a Strict cookie is not sent on the redirect back from the IdP, and forward-auth would loop to login", cfg.Session.SameSite)
	}
	if len(cfg.Server.TrustedProxies) == 0 {
		t.Error("server.trustedProxies is empty: the BFF would not believe ingress-nginx's X-Original-URL")
	}
}

// Behind an Ingress every request comes from the controller's pods: unless they are
// trusted proxies, the per-IP login rate limit is shared by all users (one user's bot
// locks everyone out) and forward-auth cannot learn the original URI.
func TestIngressedBFFTrustsItsProxies(t *testing.T) {
	for _, r := range renderings(t) {
		t.Run(r.Name, func(t *testing.T) {
			public := serviceNamed(t, r.Objects, "public")
			ingressed := false
			for _, ing := range manifest.All[networkingv1.Ingress](r.Objects) {
				for _, rule := range ing.Spec.Rules {
					for _, p := range rule.HTTP.Paths {
						ingressed = ingressed || p.Backend.Service != nil && p.Backend.Service.Name == public.Name
					}
				}
			}
			cfg := loadConfig(t, r.Objects)
			if ingressed && cfg.RateLimit.PerMinute > 0 && len(cfg.Server.TrustedProxies) == 0 {
				t.Fatal("an Ingress reaches the BFF but server.trustedProxies is empty")
			}
		})
	}
}

func serviceNamed(t *testing.T, objs []manifest.Object, component string) *corev1.Service {
	t.Helper()
	for _, s := range manifest.All[corev1.Service](objs) {
		if s.Labels["app.kubernetes.io/component"] == component {
			return s
		}
	}
	t.Fatalf("no %s Service", component)
	return nil
}

func itoa(n int32) string { return strconv.FormatInt(int64(n), 10) }
