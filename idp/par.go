package idp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// maxRequestURI bounds the request_uri a PAR endpoint may hand back (it goes into the
// browser's URL).
const maxRequestURI = 1024

// AuthorizeURL is where /bff/login sends the browser. With pushed authorization requests
// (RFC 9126: Config.PushedAuthorization, or the provider's
// require_pushed_authorization_requests) the parameters of AuthCodeURL are POSTed to the
// provider first, client authenticated, and the browser carries only client_id and the
// returned request_uri: nothing it could alter or leak. Otherwise it is AuthCodeURL.
// Errors: ErrNotReady; ErrUnavailable when the PAR endpoint fails (the login page then says
// the provider is unavailable).
func (p *Provider) AuthorizeURL(ctx context.Context, ar AuthRequest, params url.Values) (string, error) {
	direct, err := p.AuthCodeURL(ar, params)
	if err != nil {
		return "", err
	}
	d, err := p.ready()
	if err != nil {
		return "", err
	}
	if d.meta.PAREndpoint == "" || (!p.cfg.PushedAuthorization && !d.meta.RequirePAR) {
		return direct, nil
	}
	u, err := url.Parse(direct)
	if err != nil {
		return "", fmt.Errorf("par: %w", err)
	}
	requestURI, err := p.push(ctx, d.meta.PAREndpoint, u.Query())
	if err != nil {
		return "", err
	}
	q := url.Values{"client_id": {p.cfg.ClientID}, "request_uri": {requestURI}}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// push POSTs the authorization request's parameters and returns the request_uri.
func (p *Provider) push(ctx context.Context, endpoint string, form url.Values) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, err := p.clientRequest(ctx, endpoint, form)
	if err != nil {
		return "", fmt.Errorf("par: %w", err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("par: %w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := readBody(resp.Body)
	if err != nil {
		return "", fmt.Errorf("par: %w: %w", ErrUnavailable, err)
	}
	var answer struct {
		RequestURI string `json:"request_uri"`
		ExpiresIn  int    `json:"expires_in"`
		Error      string `json:"error"`
	}
	_ = json.Unmarshal(body, &answer) // a non-JSON body leaves the fields empty
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("par: %w", newTokenError(resp.StatusCode, answer.Error))
	}
	if answer.RequestURI == "" || len(answer.RequestURI) > maxRequestURI {
		return "", fmt.Errorf("par: %w: no usable request_uri in the answer", ErrUnavailable)
	}
	return answer.RequestURI, nil
}
