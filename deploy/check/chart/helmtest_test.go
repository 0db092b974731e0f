package chart_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tokenward/bff/deploy/check/internal/manifest"
)

// `helm test` runs one Pod that asks /readyz on the admin Service — the name, namespace
// and port the chart gives that Service — under the same restrictions as the BFF's own
// pod, and no Service, PodDisruptionBudget or NetworkPolicy of the chart selects it (the
// public Service would otherwise count it as an endpoint).
func TestHelmTestAsksReadyzOnTheAdminService(t *testing.T) {
	for _, r := range renderings(t) {
		t.Run(r.Name, func(t *testing.T) {
			pod := one[corev1.Pod](t, r.Objects)
			if pod.Annotations["helm.sh/hook"] != "test" {
				t.Fatalf("the Pod's helm.sh/hook = %q, want test", pod.Annotations["helm.sh/hook"])
			}
			if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("restartPolicy %q: a failed check would be retried forever instead of failing helm test", pod.Spec.RestartPolicy)
			}
			if len(pod.Spec.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
			}
			c := pod.Spec.Containers[0]
			checkContainerSecurity(t, c)
			if psc := pod.Spec.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
				t.Error("pod: runAsNonRoot is not true")
			}
			if pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
				t.Error("pod: the service account token is mounted")
			}

			admin := serviceNamed(t, r.Objects, "admin")
			u, err := url.Parse(testURL(t, c))
			if err != nil {
				t.Fatal(err)
			}
			wantHost := admin.Name + ".tokenward.svc.cluster.local:" + itoa(admin.Spec.Ports[0].Port)
			if u.Scheme != "http" || u.Host != wantHost || u.Path != "/readyz" {
				t.Errorf("the test asks %s, want http://%s/readyz", u, wantHost)
			}
			if admin.Spec.Ports[0].TargetPort.String() != "admin" {
				t.Errorf("the admin Service sends port %d to %s, not to the admin listener", admin.Spec.Ports[0].Port, admin.Spec.Ports[0].TargetPort.String())
			}

			podLabels := labels.Set(pod.Labels)
			for _, s := range manifest.All[corev1.Service](r.Objects) {
				if selects(t, s.Spec.Selector, podLabels) {
					t.Errorf("Service %s selects the test pod", s.Name)
				}
			}
			for _, p := range manifest.All[policyv1.PodDisruptionBudget](r.Objects) {
				if selects(t, p.Spec.Selector.MatchLabels, podLabels) {
					t.Errorf("PodDisruptionBudget %s selects the test pod", p.Name)
				}
			}
			for _, np := range manifest.All[networkingv1.NetworkPolicy](r.Objects) {
				if selects(t, np.Spec.PodSelector.MatchLabels, podLabels) {
					t.Errorf("NetworkPolicy %s selects the test pod (its egress rules would apply to it)", np.Name)
				}
				if !admits(t, np, podLabels, "admin") {
					t.Errorf("NetworkPolicy %s does not let the test pod reach the admin port", np.Name)
				}
			}
		})
	}
}

// admits reports whether an ingress rule of np lets pods with these labels (in the same
// namespace) reach the named port.
func admits(t *testing.T, np *networkingv1.NetworkPolicy, from labels.Set, port string) bool {
	t.Helper()
	for _, rule := range np.Spec.Ingress {
		portOK := len(rule.Ports) == 0
		for _, p := range rule.Ports {
			portOK = portOK || p.Port != nil && p.Port.String() == port
		}
		if !portOK {
			continue
		}
		if len(rule.From) == 0 {
			return true
		}
		for _, peer := range rule.From {
			if peer.PodSelector != nil && peer.NamespaceSelector == nil && selects(t, peer.PodSelector.MatchLabels, from) {
				return true
			}
		}
	}
	return false
}

// testURL is the test script's argument: `sh -c <script> <url>`.
func testURL(t *testing.T, c corev1.Container) string {
	t.Helper()
	if len(c.Command) != 4 || c.Command[0] != "sh" || c.Command[1] != "-c" {
		t.Fatalf("command = %q, want sh -c <script> <url>", c.Command)
	}
	return c.Command[3]
}

// The test's script, run as the pod runs it — busybox's sh and wget, the image's tools —
// against an admin listener that answers 200 and one that answers 503: helm test passes
// only on the first. Its sleeps between tries are skipped (a sleep that returns at once),
// so the failing case takes no time.
func TestHelmTestScriptPassesOnlyWhenReady(t *testing.T) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		skipOrFail(t, fmt.Errorf("busybox (Debian package busybox) runs the helm test's script: %w", err))
	}
	c := one[corev1.Pod](t, rendering(t, "default.yaml").Objects).Spec.Containers[0]
	bin := t.TempDir()
	for _, tool := range []string{"sh", "wget", "timeout"} {
		if err := os.Symlink(busybox, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(bin, "sleep"), "#!"+busybox+" sh\nexit 0\n")
	if err := os.Chmod(filepath.Join(bin, "sleep"), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		status int
		wantOK bool
	}{
		{status: http.StatusOK, wantOK: true},
		{status: http.StatusServiceUnavailable, wantOK: false},
		{status: http.StatusNotFound, wantOK: false},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			var asked atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				asked.Add(1)
				if r.URL.Path != "/readyz" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, `{"ready":false,"store":"ok","idp":"discovery pending"}`)
			}))
			defer srv.Close()
			// The rendered script, with the rendered URL's host swapped for the test server.
			u, err := url.Parse(testURL(t, c))
			if err != nil {
				t.Fatal(err)
			}
			u.Host = strings.TrimPrefix(srv.URL, "http://")
			cmd := exec.Command(filepath.Join(bin, "sh"), "-c", c.Command[2], u.String())
			// HOME as the container runtime sets it for a user without a passwd entry
			// (Debian's busybox wget crashes without one).
			cmd.Env = []string{"PATH=" + bin, "HOME=/"}
			out, err := cmd.CombinedOutput()
			if ok := err == nil; ok != tt.wantOK {
				t.Fatalf("script passed = %v, want %v; output:\n%s", ok, tt.wantOK, out)
			}
			if !tt.wantOK && asked.Load() < 2 {
				t.Errorf("the script asked %d time(s) before giving up, want retries", asked.Load())
			}
		})
	}
}
