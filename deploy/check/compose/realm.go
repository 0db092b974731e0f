package compose

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
)

// Realm is the part of Keycloak's RealmRepresentation that deploy/keycloak/realm.json
// uses. The field names are Keycloak's (Admin REST API, RealmRepresentation,
// ClientRepresentation, UserRepresentation, CredentialRepresentation); ParseRealm refuses
// any other, so a misspelt setting — which Keycloak would ignore — fails the tests.
type Realm struct {
	Realm                 string   `json:"realm"`
	DisplayName           string   `json:"displayName"`
	Enabled               bool     `json:"enabled"`
	SSLRequired           string   `json:"sslRequired"`
	RegistrationAllowed   bool     `json:"registrationAllowed"`
	LoginWithEmailAllowed bool     `json:"loginWithEmailAllowed"`
	ResetPasswordAllowed  bool     `json:"resetPasswordAllowed"`
	BruteForceProtected   bool     `json:"bruteForceProtected"`
	RevokeRefreshToken    bool     `json:"revokeRefreshToken"`
	RefreshTokenMaxReuse  *int     `json:"refreshTokenMaxReuse"`
	AccessTokenLifespan   int      `json:"accessTokenLifespan"`
	SSOSessionIdleTimeout int      `json:"ssoSessionIdleTimeout"`
	SSOSessionMaxLifespan int      `json:"ssoSessionMaxLifespan"`
	Clients               []Client `json:"clients"`
	Users                 []User   `json:"users"`
}

// Client is a Keycloak ClientRepresentation (the fields realm.json uses).
type Client struct {
	ClientID                  string            `json:"clientId"`
	Name                      string            `json:"name"`
	Description               string            `json:"description"`
	Enabled                   bool              `json:"enabled"`
	Protocol                  string            `json:"protocol"`
	PublicClient              bool              `json:"publicClient"`
	ClientAuthenticatorType   string            `json:"clientAuthenticatorType"`
	Secret                    string            `json:"secret"`
	StandardFlowEnabled       bool              `json:"standardFlowEnabled"`
	ImplicitFlowEnabled       bool              `json:"implicitFlowEnabled"`
	DirectAccessGrantsEnabled bool              `json:"directAccessGrantsEnabled"`
	ServiceAccountsEnabled    bool              `json:"serviceAccountsEnabled"`
	FrontchannelLogout        bool              `json:"frontchannelLogout"`
	RootURL                   string            `json:"rootUrl"`
	RedirectURIs              []string          `json:"redirectUris"`
	WebOrigins                []string          `json:"webOrigins"`
	Attributes                map[string]string `json:"attributes"`
}

// User is a Keycloak UserRepresentation (the fields realm.json uses).
type User struct {
	Username      string       `json:"username"`
	Enabled       bool         `json:"enabled"`
	Email         string       `json:"email"`
	EmailVerified bool         `json:"emailVerified"`
	FirstName     string       `json:"firstName"`
	LastName      string       `json:"lastName"`
	Credentials   []Credential `json:"credentials"`
}

// Credential is a Keycloak CredentialRepresentation.
type Credential struct {
	Type      string `json:"type"`
	Value     string `json:"value"`
	Temporary bool   `json:"temporary"`
}

// ParseRealm decodes a realm file strictly: unknown fields, trailing data and a
// duplicate realm are errors.
func ParseRealm(data []byte) (Realm, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Realm
	if err := dec.Decode(&r); err != nil {
		return Realm{}, fmt.Errorf("compose: realm: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Realm{}, fmt.Errorf("compose: realm: data after the realm object")
	}
	return r, nil
}

// placeholder matches Keycloak's import placeholders: ${NAME} and ${NAME:default}.
var placeholder = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}`)

// Placeholders returns the environment variables that data's ${…} placeholders name,
// in order of first appearance. Keycloak resolves them when it imports the realm.
func Placeholders(data []byte) []string {
	var names []string
	seen := make(map[string]bool)
	for _, m := range placeholder.FindAllSubmatch(data, -1) {
		if name := string(m[1]); !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return names
}

// Resolve returns s with its placeholders replaced from env, and whether every one
// was set — as Keycloak's import does; an unset one would be imported literally.
func Resolve(s string, env map[string]string) (string, bool) {
	ok := true
	out := placeholder.ReplaceAllStringFunc(s, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		v, set := env[name]
		ok = ok && set
		return v
	})
	return out, ok
}
