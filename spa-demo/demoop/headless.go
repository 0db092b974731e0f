package demoop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/html"
)

const (
	maxHeadlessHops    = 10
	maxHeadlessBody    = 1 << 20
	headlessReqTimeout = 10 * time.Second
)

var (
	// ErrLoginRejected means the OP showed the login form again after the credentials
	// were posted (wrong username or password).
	ErrLoginRejected = errors.New("demoop: login rejected")
	// ErrNoLoginForm means a page on the way had no form with a password field.
	ErrNoLoginForm = errors.New("demoop: no login form on the page")
	// ErrUnexpectedResponse means the OP answered a status that is neither 200 nor a
	// redirect (for example 400 for an unknown client).
	ErrUnexpectedResponse = errors.New("demoop: unexpected response")
)

// LoginHeadless signs in at the OP the way a browser would: it GETs authURL, follows the
// redirects, fills the login page's form (hidden fields kept, username and password set)
// and posts it, then follows the redirects again. It returns the first redirect to the
// redirect_uri of the authorization request (the callback URL with code, state and iss,
// or with error) WITHOUT requesting it.
//
// authURL is the OP's authorization URL, or a URL that redirects to it, such as the BFF's
// /bff/login: the first URL on the way that carries client_id and redirect_uri is taken
// as the authorization request.
//
// c is used for the requests with redirects disabled (a copy is made; c itself may
// follow redirects). With a cookie jar in c, cookies are kept as a browser keeps them:
// the BFF's login cookie, and the OP session, so a second call signs in without a form
// (single sign-on). Each request is bounded by ctx and 10 s, each body by 1 MiB. Wrong
// credentials give ErrLoginRejected.
func LoginHeadless(ctx context.Context, c *http.Client, authURL, username, password string) (*url.URL, error) {
	start, err := url.Parse(authURL)
	if err != nil || !start.IsAbs() {
		return nil, errors.New("demoop: authURL must be an absolute URL")
	}
	if c == nil {
		c = http.DefaultClient
	}
	b := &headlessBrowser{client: withoutRedirects(c)}
	return b.login(ctx, step{method: http.MethodGet, url: start}, username, password)
}

type headlessBrowser struct {
	client *http.Client
	target string // endpointKey of the redirect URI, once the authorization request was seen
}

// noteAuthorizationRequest remembers the redirect_uri of the first authorization
// request on the way.
func (b *headlessBrowser) noteAuthorizationRequest(u *url.URL) {
	if b.target != "" {
		return
	}
	q := u.Query()
	if q.Get("client_id") == "" {
		return
	}
	if target, err := url.Parse(q.Get("redirect_uri")); err == nil && target.IsAbs() {
		b.target = endpointKey(target)
	}
}

// step is one request of the walk.
type step struct {
	method string
	url    *url.URL
	form   url.Values // POST body
}

// response is what a step returned: a redirect, or a page.
type response struct {
	location *url.URL
	body     []byte
	url      *url.URL
}

func (b *headlessBrowser) login(ctx context.Context, next step, username, password string) (*url.URL, error) {
	submitted := false
	for range maxHeadlessHops {
		b.noteAuthorizationRequest(next.url)
		res, err := b.fetch(ctx, next)
		if err != nil {
			return nil, err
		}
		if res.location != nil {
			if b.target != "" && endpointKey(res.location) == b.target {
				return res.location, nil
			}
			next = step{method: http.MethodGet, url: res.location}
			continue
		}
		if submitted {
			return nil, ErrLoginRejected
		}
		form, err := parseLoginForm(res.body, res.url)
		if err != nil {
			return nil, err
		}
		next, submitted = form.fill(username, password), true
	}
	return nil, fmt.Errorf("demoop: login: more than %d steps", maxHeadlessHops)
}

// fetch performs one step. Errors name the method and path only: queries carry state,
// nonce and codes.
func (b *headlessBrowser) fetch(ctx context.Context, s step) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, headlessReqTimeout)
	defer cancel()
	var body io.Reader
	if s.form != nil {
		body = strings.NewReader(s.form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, s.method, s.url.String(), body)
	if err != nil {
		return response{}, fmt.Errorf("demoop: login: %s %s: %w", s.method, s.url.Path, err)
	}
	if s.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html")
	resp, err := b.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return response{}, fmt.Errorf("demoop: login: %s %s: %w", s.method, s.url.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxHeadlessBody+1))
	if err != nil || len(data) > maxHeadlessBody {
		return response{}, fmt.Errorf("demoop: login: %s %s: body unreadable or over 1 MiB", s.method, s.url.Path)
	}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		loc, err := resp.Location()
		if err != nil {
			return response{}, fmt.Errorf("demoop: login: %s %s: %w", s.method, s.url.Path, err)
		}
		return response{location: loc}, nil
	case resp.StatusCode == http.StatusOK:
		return response{body: data, url: resp.Request.URL}, nil
	}
	return response{}, fmt.Errorf("%w: %s %s answered %d", ErrUnexpectedResponse, s.method, s.url.Path, resp.StatusCode)
}

// loginForm is the first form of a page that has a password field.
type loginForm struct {
	method   string
	action   *url.URL
	values   url.Values // hidden and pre-filled fields
	userName string     // name of the username field
	passName string     // name of the password field
}

func (f *loginForm) fill(username, password string) step {
	v := url.Values{}
	for k, vs := range f.values {
		v[k] = append([]string(nil), vs...)
	}
	if f.userName != "" {
		v.Set(f.userName, username)
	}
	v.Set(f.passName, password)
	if f.method == http.MethodPost {
		return step{method: http.MethodPost, url: f.action, form: v}
	}
	u := *f.action
	u.RawQuery = v.Encode()
	return step{method: http.MethodGet, url: &u}
}

func parseLoginForm(body []byte, base *url.URL) (*loginForm, error) {
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("demoop: login page: %w", err)
	}
	for form := range doc.Descendants() {
		if form.Type != html.ElementNode || form.Data != "form" {
			continue
		}
		if f := readForm(form, base); f != nil {
			return f, nil
		}
	}
	return nil, ErrNoLoginForm
}

// readForm returns the form when it has a password field.
func readForm(form *html.Node, base *url.URL) *loginForm {
	action, err := base.Parse(attr(form, "action"))
	if err != nil {
		return nil
	}
	f := &loginForm{method: strings.ToUpper(attr(form, "method")), action: action, values: url.Values{}}
	for in := range form.Descendants() {
		if in.Type != html.ElementNode || in.Data != "input" || attr(in, "name") == "" {
			continue
		}
		name, typ := attr(in, "name"), strings.ToLower(attr(in, "type"))
		switch {
		case typ == "password":
			f.passName = name
		case attr(in, "id") == "username" || name == "username" || attr(in, "autocomplete") == "username":
			f.userName = name
		case typ != "submit" && typ != "button" && typ != "checkbox" && typ != "radio":
			f.values.Add(name, attr(in, "value"))
		}
	}
	if f.passName == "" {
		return nil
	}
	return f
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
