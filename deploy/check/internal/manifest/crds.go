package manifest

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Envoy Gateway's and Traefik's Go API types live in their whole projects' modules
// (github.com/envoyproxy/gateway, github.com/traefik/traefik/v3), each of which pulls
// hundreds of modules into go.sum for a few structs. These local structs mirror the
// documented CRD fields instead — of SecurityPolicy's extAuth and of Middleware's
// forwardAuth, the parts the chart renders — with the same JSON names, so a strict decode
// refuses a misspelt or misplaced field as the API server would. A field the chart starts
// to render outside them fails the decode: add it here from the CRD reference.

// SecurityPolicy is gateway.envoyproxy.io/v1alpha1 SecurityPolicy (Envoy Gateway), with
// the spec fields the chart uses: targetRefs and extAuth.
type SecurityPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              SecurityPolicySpec `json:"spec"`
}

// SecurityPolicySpec mirrors SecurityPolicy.spec.
type SecurityPolicySpec struct {
	TargetRefs      []gwapiv1.LocalPolicyTargetReferenceWithSectionName `json:"targetRefs,omitempty"`
	TargetSelectors []TargetSelector                                    `json:"targetSelectors,omitempty"`
	ExtAuth         *ExtAuth                                            `json:"extAuth,omitempty"`
}

// TargetSelector mirrors spec.targetSelectors[].
type TargetSelector struct {
	Group       *gwapiv1.Group                    `json:"group,omitempty"`
	Kind        gwapiv1.Kind                      `json:"kind"`
	MatchLabels map[string]string                 `json:"matchLabels,omitempty"`
	MatchExprs  []metav1.LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// ExtAuth mirrors spec.extAuth (External Authorization).
type ExtAuth struct {
	GRPC             *GRPCExtAuthService `json:"grpc,omitempty"`
	HTTP             *HTTPExtAuthService `json:"http,omitempty"`
	HeadersToExtAuth []string            `json:"headersToExtAuth,omitempty"`
	BodyToExtAuth    *BodyToExtAuth      `json:"bodyToExtAuth,omitempty"`
	Timeout          *gwapiv1.Duration   `json:"timeout,omitempty"`
	FailOpen         *bool               `json:"failOpen,omitempty"`
	RecomputeRoute   *bool               `json:"recomputeRoute,omitempty"`
}

// GRPCExtAuthService mirrors spec.extAuth.grpc.
type GRPCExtAuthService struct {
	BackendRef  *gwapiv1.BackendObjectReference `json:"backendRef,omitempty"`
	BackendRefs []BackendRef                    `json:"backendRefs,omitempty"`
}

// HTTPExtAuthService mirrors spec.extAuth.http. Envoy Gateway appends the original
// request's path to Path.
type HTTPExtAuthService struct {
	BackendRef       *gwapiv1.BackendObjectReference `json:"backendRef,omitempty"`
	BackendRefs      []BackendRef                    `json:"backendRefs,omitempty"`
	Path             *string                         `json:"path,omitempty"`
	HeadersToBackend []string                        `json:"headersToBackend,omitempty"`
}

// BackendRef mirrors Envoy Gateway's BackendRef: a Gateway API BackendObjectReference
// plus fallback.
type BackendRef struct {
	gwapiv1.BackendObjectReference `json:",inline"`
	Fallback                       *bool `json:"fallback,omitempty"`
}

// BodyToExtAuth mirrors spec.extAuth.bodyToExtAuth.
type BodyToExtAuth struct {
	MaxRequestBytes uint32 `json:"maxRequestBytes"`
}

// Middleware is traefik.io/v1alpha1 Middleware (Traefik), with the forwardAuth
// middleware, the one the chart renders.
type Middleware struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              MiddlewareSpec `json:"spec"`
}

// MiddlewareSpec mirrors Middleware.spec.
type MiddlewareSpec struct {
	ForwardAuth *ForwardAuth `json:"forwardAuth,omitempty"`
}

// ForwardAuth mirrors Middleware.spec.forwardAuth.
type ForwardAuth struct {
	Address                  string     `json:"address,omitempty"`
	TLS                      *ClientTLS `json:"tls,omitempty"`
	TrustForwardHeader       bool       `json:"trustForwardHeader,omitempty"`
	AuthResponseHeaders      []string   `json:"authResponseHeaders,omitempty"`
	AuthResponseHeadersRegex string     `json:"authResponseHeadersRegex,omitempty"`
	AuthRequestHeaders       []string   `json:"authRequestHeaders,omitempty"`
	AddAuthCookiesToResponse []string   `json:"addAuthCookiesToResponse,omitempty"`
	HeaderField              string     `json:"headerField,omitempty"`
	ForwardBody              bool       `json:"forwardBody,omitempty"`
	MaxBodySize              *int64     `json:"maxBodySize,omitempty"`
	PreserveLocationHeader   bool       `json:"preserveLocationHeader,omitempty"`
	PreserveRequestMethod    bool       `json:"preserveRequestMethod,omitempty"`
	MaxResponseBodySize      *int64     `json:"maxResponseBodySize,omitempty"`
}

// ClientTLS mirrors Middleware.spec.forwardAuth.tls.
type ClientTLS struct {
	CASecret           string `json:"caSecret,omitempty"`
	CertSecret         string `json:"certSecret,omitempty"`
	InsecureSkipVerify bool   `json:"insecureSkipVerify,omitempty"`
	CAOptional         *bool  `json:"caOptional,omitempty"`
}
