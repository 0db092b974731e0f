package idp

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/url"
	"strconv"
	"strings"

	"github.com/tokenward/bff/dpop"
)

// tokenResponse is a token endpoint's answer (RFC 6749 §5.1), read from JSON or, for the
// few providers that answer so, from a form-encoded body.
type tokenResponse struct {
	AccessToken  string
	TokenType    string
	RefreshToken string
	IDToken      string
	// IssuedTokenType is RFC 8693's issued_token_type (token exchange answers only).
	IssuedTokenType string
	// ExpiresIn is expires_in in seconds; ExpiresGiven says whether the answer had one
	// at all (a non-numeric value counts as given and unusable: 0).
	ExpiresIn    int64
	ExpiresGiven bool
}

// tokenRequest POSTs form to the token endpoint with the client's authentication, once
// (no retry: a refresh token may rotate on the first attempt), no redirect followed, the
// body bounded. With a DPoP key the request carries a proof of it, and the one retry is
// the provider's nonce challenge (RFC 9449 §8: a 400 use_dpop_nonce with a DPoP-Nonce),
// which it answers before it looks at the grant, so nothing was spent. Errors:
// ErrUnavailable (network, timeout, 5xx, an unreadable answer), or a *TokenError for an
// OAuth error answer (ErrInvalidGrant, ErrMisconfigured for a refused client,
// ErrUnavailable otherwise).
func (p *Provider) tokenRequest(ctx context.Context, d *discovered, form url.Values, key *dpop.Key) (*tokenResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	ans, err := p.postToken(ctx, d.meta.TokenEndpoint, form, key)
	if err == nil && key != nil && ans.nonceChallenge {
		ans, err = p.postToken(ctx, d.meta.TokenEndpoint, form, key)
	}
	if err != nil {
		return nil, err
	}
	fields, status := ans.fields, ans.status
	if status < 200 || status > 299 {
		return nil, newTokenError(status, fields.get("error"))
	}
	if err := ans.fieldsErr; err != nil {
		return nil, fmt.Errorf("%w: token response: %w", ErrUnavailable, err)
	}
	if code := fields.get("error"); code != "" { // a 200 that is an error (RFC 6749 §5.2 says 400)
		return nil, newTokenError(status, code)
	}
	out := &tokenResponse{
		AccessToken: fields.get("access_token"), TokenType: fields.get("token_type"),
		RefreshToken: fields.get("refresh_token"), IDToken: fields.get("id_token"),
		IssuedTokenType: fields.get("issued_token_type"),
	}
	if out.AccessToken == "" {
		return nil, fmt.Errorf("%w: token response without access_token", ErrUnavailable)
	}
	out.ExpiresIn, out.ExpiresGiven = fields.expiresIn()
	return out, nil
}

// tokenAnswer is one token endpoint answer, read.
type tokenAnswer struct {
	status    int
	fields    tokenFieldSet
	fieldsErr error // the body did not parse
	// nonceChallenge: the provider asked for (a new) DPoP nonce, now remembered.
	nonceChallenge bool
}

// postToken makes one token request and reads the answer, remembering any DPoP-Nonce the
// provider sends (on success too: the next request then carries it at once).
func (p *Provider) postToken(ctx context.Context, endpoint string, form url.Values, key *dpop.Key) (*tokenAnswer, error) {
	req, err := p.clientRequest(ctx, endpoint, form)
	if err == nil {
		err = p.addProof(req, key)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: token request: %w", ErrUnavailable, err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := readBody(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: token response: %w", ErrUnavailable, err)
	}
	ans := &tokenAnswer{status: resp.StatusCode}
	ans.fields, ans.fieldsErr = tokenFields(resp.Header.Get("Content-Type"), body)
	if key != nil {
		challenged := dpop.IsNonceChallenge(resp.StatusCode, resp.Header, ans.fields.get("error"))
		ans.nonceChallenge = p.remembersNonce(req.URL, resp.Header) && challenged
	}
	return ans, nil
}

// tokenFieldSet is a token response's top-level members: strings as they are, numbers
// in their JSON text, other JSON values as "".
type tokenFieldSet map[string]string

func (f tokenFieldSet) get(name string) string { return f[name] }

// expiresIn reads expires_in as a number (or a numeric string, as some providers send
// it); a present value that is no usable number is given but 0 (see tokenLifetime).
func (f tokenFieldSet) expiresIn() (int64, bool) {
	raw, ok := f["expires_in"]
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(v) || v <= -1<<62 || v >= 1<<62 {
		return 0, true
	}
	return int64(v), true
}

// tokenFields parses a token response body: JSON (RFC 6749 §5.1), or form-encoded when
// the provider says so.
func tokenFields(contentType string, body []byte) (tokenFieldSet, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/x-www-form-urlencoded" || mt == "text/plain" {
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return tokenFieldSet{}, fmt.Errorf("form body: %w", err)
		}
		out := tokenFieldSet{}
		for k := range vals {
			out[k] = vals.Get(k)
		}
		return out, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return tokenFieldSet{}, fmt.Errorf("not a JSON object: %w", err)
	}
	out := make(tokenFieldSet, len(raw))
	for k, v := range raw {
		var s string
		switch {
		case json.Unmarshal(v, &s) == nil:
			out[k] = s
		case len(v) > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')):
			out[k] = strings.TrimSpace(string(v))
		default:
			out[k] = ""
		}
	}
	return out, nil
}

// authCodeForm is the RFC 6749 §4.1.3 token request with the PKCE verifier (RFC 7636).
func (p *Provider) authCodeForm(code, verifier string) url.Values {
	return url.Values{
		"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {p.cfg.RedirectURL}, "code_verifier": {verifier},
	}
}

// refreshForm is the RFC 6749 §6 token request.
func refreshForm(refreshToken string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
}
