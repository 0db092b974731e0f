package demoop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// discoveryDocument is the library's metadata plus what it does not know.
type discoveryDocument struct {
	*oidc.DiscoveryConfiguration
	// RFC 9207 section 3.
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
}

// buildDiscovery renders the metadata once: it never changes. It advertises only what
// the OP's clients can use (the library lists implicit, JWT bearer and device flows too).
func (o *OP) buildDiscovery() ([]byte, error) {
	ctx := op.ContextWithIssuer(context.Background(), o.issuer)
	d := op.CreateDiscoveryConfig(ctx, o.provider, o.store)
	d.DeviceAuthorizationEndpoint = ""
	d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	d.ResponseModesSupported = []string{string(oidc.ResponseModeQuery), string(oidc.ResponseModeFragment)}
	d.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	clientMethods := []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodPrivateKeyJWT}
	d.TokenEndpointAuthMethodsSupported = clientMethods
	d.RevocationEndpointAuthMethodsSupported = clientMethods
	d.TokenEndpointAuthSigningAlgValuesSupported = []string{string(jose.RS256)}
	d.IntrospectionEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic}
	d.IntrospectionEndpointAuthSigningAlgValuesSupported = nil
	d.RevocationEndpointAuthSigningAlgValuesSupported = []string{string(jose.RS256)}
	b, err := json.Marshal(discoveryDocument{DiscoveryConfiguration: d, AuthorizationResponseIssParameterSupported: true})
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return b, nil
}

func (o *OP) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(o.discovery)
}
