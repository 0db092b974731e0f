package manifest_test

import (
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/tokenward/bff/deploy/check/internal/manifest"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name      string
		stream    string
		wantKinds []string
		wantErr   error  // matched with errors.Is, when set
		errHas    string // a fragment of the error, when set
	}{
		{
			name: "two documents with helm source comments",
			stream: "---\n# Source: bff/templates/configmap.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n" +
				"---\n# Source: bff/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\n",
			wantKinds: []string{"ConfigMap", "Deployment"},
		},
		{
			name:      "empty and comment-only documents are skipped",
			stream:    "---\n# Source: bff/templates/hpa.yaml\n---\n\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n",
			wantKinds: []string{"Service"},
		},
		{
			name:   "a misspelt field is refused",
			stream: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\nspec: {replica: 2}\n",
			errHas: "unknown field",
		},
		{
			name:   "a field at the wrong level is refused",
			stream: "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nports: [{port: 80}]\n",
			errHas: "unknown field",
		},
		{
			name:   "a duplicate field is refused",
			stream: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\ndata: {k: w}\n",
			errHas: "already set",
		},
		{
			name:   "a field in the wrong case is refused",
			stream: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\nspec: {Replicas: 2}\n",
			errHas: "unknown field",
		},
		{
			name: "the Gateway API and CRD kinds the chart renders",
			stream: "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {rules: [{backendRefs: [{name: s, port: 80}]}]}\n" +
				"---\napiVersion: gateway.envoyproxy.io/v1alpha1\nkind: SecurityPolicy\nmetadata: {name: p}\nspec: {extAuth: {http: {backendRefs: [{name: s, port: 80}], path: /bff/auth, headersToBackend: [Authorization]}}}\n" +
				"---\napiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata: {name: m}\nspec: {forwardAuth: {address: 'http://s/bff/auth', authResponseHeaders: [Authorization]}}\n",
			wantKinds: []string{"HTTPRoute", "SecurityPolicy", "Middleware"},
		},
		{
			name:   "a misspelt HTTPRoute field is refused",
			stream: "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {rules: [{backendRef: [{name: s, port: 80}]}]}\n",
			errHas: "unknown field",
		},
		{
			name:   "a misspelt SecurityPolicy extAuth field is refused (local mirror)",
			stream: "apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: SecurityPolicy\nmetadata: {name: p}\nspec: {extAuth: {http: {path: /bff/auth, headersToBackends: [Authorization]}}}\n",
			errHas: "unknown field",
		},
		{
			name:   "a Middleware field in the wrong case is refused (local mirror)",
			stream: "apiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata: {name: m}\nspec: {forwardAuth: {address: 'http://s', authResponseheaders: [Authorization]}}\n",
			errHas: "unknown field",
		},
		{
			name:    "an unknown kind is refused",
			stream:  "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
			wantErr: manifest.ErrUnknownKind,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := manifest.Decode([]byte(tt.stream))
			switch {
			case tt.wantErr != nil || tt.errHas != "":
				if err == nil {
					t.Fatalf("Decode accepted the stream: %+v", objs)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("Decode error = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("Decode error = %v, want it to mention %q", err, tt.errHas)
				}
				return
			case err != nil:
				t.Fatalf("Decode: %v", err)
			}
			var kinds []string
			for _, o := range objs {
				kinds = append(kinds, o.Kind)
			}
			if strings.Join(kinds, ",") != strings.Join(tt.wantKinds, ",") {
				t.Fatalf("kinds = %v, want %v", kinds, tt.wantKinds)
			}
		})
	}
}

func TestDecodeKeepsTypedValuesAndSources(t *testing.T) {
	stream := "# Source: bff/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bff}\nspec: {replicas: 3}\n" +
		"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n"
	objs, err := manifest.Decode([]byte(stream))
	if err != nil {
		t.Fatal(err)
	}
	deps := manifest.All[appsv1.Deployment](objs)
	if len(deps) != 1 || deps[0].Spec.Replicas == nil || *deps[0].Spec.Replicas != 3 {
		t.Fatalf("deployments = %+v", deps)
	}
	if objs[0].Source != "bff/templates/deployment.yaml" || objs[0].Name != "bff" {
		t.Fatalf("object = %+v", objs[0])
	}
	if cms := manifest.All[corev1.ConfigMap](objs); len(cms) != 1 || cms[0].Name != "cfg" {
		t.Fatalf("configmaps = %+v", cms)
	}
}

// A Secret that fails to decode must not have its data quoted in the error: the error
// ends up in CI logs.
func TestDecodeErrorDoesNotLeakSecretData(t *testing.T) {
	const secret = "c3VwZXItc2VjcmV0LXZhbHVl"
	stream := "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {k: " + secret + "}\nstringdata: {}\n"
	_, err := manifest.Decode([]byte(stream))
	if err == nil {
		t.Fatal("Decode accepted a misspelt stringData")
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("error quotes the secret: %v", err)
	}
}
