// Package manifest decodes rendered Kubernetes manifests (the output of `helm template`)
// strictly into their Go API types, as the API server's strict field validation does: a
// field that the API type does not have — a typo, a wrong case, or a field at the wrong
// level — is an error, as is a duplicate field or a kind this package
// does not know. The API server would, depending on its field validation setting, drop such
// a field silently or refuse the object; either way the manifest does not do what it says.
package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Object is one decoded manifest.
type Object struct {
	// Source is the template that produced it, from helm's "# Source:" comment ("" if none).
	Source string
	// APIVersion, Kind and Name identify it.
	APIVersion, Kind, Name string
	// Value is a pointer to the typed object, e.g. *appsv1.Deployment.
	Value any
}

// ErrUnknownKind is returned for a manifest whose apiVersion/kind has no registered type.
var ErrUnknownKind = errors.New("manifest: unknown apiVersion/kind")

// kinds maps "apiVersion/kind" to a constructor of its typed value: every kind the chart
// may render. A new kind in the chart needs a line here, on purpose.
var kinds = map[string]func() any{
	"v1/ConfigMap":                            func() any { return new(corev1.ConfigMap) },
	"v1/Secret":                               func() any { return new(corev1.Secret) },
	"v1/Service":                              func() any { return new(corev1.Service) },
	"v1/ServiceAccount":                       func() any { return new(corev1.ServiceAccount) },
	"apps/v1/Deployment":                      func() any { return new(appsv1.Deployment) },
	"policy/v1/PodDisruptionBudget":           func() any { return new(policyv1.PodDisruptionBudget) },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
	"networking.k8s.io/v1/Ingress":            func() any { return new(networkingv1.Ingress) },
	"networking.k8s.io/v1/NetworkPolicy":      func() any { return new(networkingv1.NetworkPolicy) },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return new(monitoringv1.ServiceMonitor) },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return new(monitoringv1.PrometheusRule) },
	"v1/Pod":                                 func() any { return new(corev1.Pod) },
	"gateway.networking.k8s.io/v1/HTTPRoute": func() any { return new(gwapiv1.HTTPRoute) },
	// Local mirrors of the CRDs' fields (crds.go).
	"gateway.envoyproxy.io/v1alpha1/SecurityPolicy": func() any { return new(SecurityPolicy) },
	"traefik.io/v1alpha1/Middleware":                func() any { return new(Middleware) },
}

// Decode splits a multi-document YAML stream and decodes each non-empty document
// strictly into its registered type. The first problem is returned, naming the document
// (its index and helm Source) but never quoting its content: a document may be a Secret.
func Decode(stream []byte) ([]Object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	var objs []Object
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("manifest: document %d: %w", i, err)
		}
		if isBlank(doc) {
			continue
		}
		obj, err := decodeOne(doc)
		if err != nil {
			return nil, fmt.Errorf("manifest: document %d (%s): %w", i, source(doc), err)
		}
		objs = append(objs, obj)
	}
}

func decodeOne(doc []byte) (Object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return Object{}, fmt.Errorf("read apiVersion/kind: %w", err)
	}
	newValue, ok := kinds[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return Object{}, fmt.Errorf("%w: %s %s", ErrUnknownKind, tm.APIVersion, tm.Kind)
	}
	v := newValue()
	if err := decodeStrict(doc, v); err != nil {
		return Object{}, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	name := ""
	if m, ok := v.(metav1.Object); ok {
		name = m.GetName()
	}
	return Object{Source: source(doc), APIVersion: tm.APIVersion, Kind: tm.Kind, Name: name, Value: v}, nil
}

// decodeStrict decodes a YAML document into v as the API server's strict field
// validation does: YAML to JSON refusing duplicate keys, then sigs.k8s.io/json's
// case-sensitive decoder refusing unknown and duplicate fields. (encoding/json alone
// would match "stringdata" to StringData: field names are case-insensitive there.)
func decodeStrict(doc []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return fmt.Errorf("strict decode: %w", err)
	}
	strict, err := kjson.UnmarshalStrict(j, v)
	if err != nil {
		return fmt.Errorf("strict decode: %w", err)
	}
	if len(strict) > 0 {
		return fmt.Errorf("strict decode: %w", errors.Join(strict...))
	}
	return nil
}

// All returns the objects of objs whose value is a *T, in order.
func All[T any](objs []Object) []*T {
	var out []*T
	for _, o := range objs {
		if v, ok := o.Value.(*T); ok {
			out = append(out, v)
		}
	}
	return out
}

func isBlank(doc []byte) bool {
	for line := range strings.Lines(string(doc)) {
		line = strings.TrimSpace(line)
		if line != "" && line != "---" && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}

func source(doc []byte) string {
	for line := range strings.Lines(string(doc)) {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source:"); ok {
			return strings.TrimSpace(s)
		}
	}
	return ""
}
