package demoop

import (
	"bytes"
	_ "embed"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

//go:embed login.html
var pageHTML string

// pageTemplate renders the login form and the OP's few message pages; html/template
// escapes everything a request can put into it.
var pageTemplate = template.Must(template.New("login.html").Parse(pageHTML))

// page is the data of pageTemplate.
type page struct {
	Title   string
	Message string // message pages
	Form    bool   // login form
	Action  string
	// RequestID is the auth request id: an unguessable handle, not a credential.
	RequestID string
	ClientID  string
	Username  string
	Error     string
	Users     []User
}

const (
	msgUnknownRequest = "This sign-in request is unknown, already used or expired. Start again from the application."
	msgBadForm        = "The sign-in form could not be read."
	msgWrongPassword  = "Wrong username or password."
)

// serveLoginPage is where the library sends the browser with a stored auth request.
// A live OP session (SSO cookie) that satisfies prompt/max_age completes the request
// without a form; prompt=none without one answers login_required to the client.
func (o *OP) serveLoginPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get(loginParamRequestID)
	req, err := o.store.authRequestSnapshot(id)
	if err != nil || req.done {
		o.renderMessage(w, http.StatusBadRequest, "Sign-in failed", msgUnknownRequest)
		return
	}
	if sess, ok := o.store.sessionByCookie(sessionCookie(r)); ok && sessionSatisfies(req, sess, o.cfg.Now()) {
		o.finishLogin(w, r, req, sess)
		return
	}
	if req.promptNone {
		op.AuthRequestError(w, r, req, oidc.ErrLoginRequired(), o.provider)
		return
	}
	o.renderLogin(w, req, "", "")
}

// sessionSatisfies reports whether an existing OP session may answer req without a new
// login: not with prompt=login (the library turns it into max_age=0), nor when older
// than max_age.
func sessionSatisfies(req *authRequest, sess opSession, now time.Time) bool {
	return req.maxAge == nil || now.Sub(sess.authTime) < *req.maxAge
}

// serveLoginSubmit checks the credentials. Wrong ones show the form again (200), never an
// error status; right ones start an OP session and continue to the library's callback.
func (o *OP) serveLoginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		o.renderMessage(w, http.StatusBadRequest, "Sign-in failed", msgBadForm)
		return
	}
	req, err := o.store.authRequestSnapshot(r.PostForm.Get(loginParamRequestID))
	if err != nil || req.done {
		o.renderMessage(w, http.StatusBadRequest, "Sign-in failed", msgUnknownRequest)
		return
	}
	username := r.PostForm.Get("username")
	user, ok := o.store.checkPassword(username, r.PostForm.Get("password"))
	if !ok {
		o.log.Info("demoop: login failed", slog.String("client_id", req.clientID))
		o.renderLogin(w, req, username, msgWrongPassword)
		return
	}
	cookie, sess := o.store.newSession(user.Subject)
	o.setSessionCookie(w, cookie)
	o.log.Info("demoop: login", slog.String("sub", user.Subject), slog.String("sid", sess.sid),
		slog.String("client_id", req.clientID))
	o.finishLogin(w, r, req, sess)
}

// finishLogin binds the auth request to sess and hands it back to the library, which
// issues the code and redirects to the client.
func (o *OP) finishLogin(w http.ResponseWriter, r *http.Request, req *authRequest, sess opSession) {
	if err := o.store.completeLogin(req.id, sess); err != nil {
		o.renderMessage(w, http.StatusBadRequest, "Sign-in failed", msgUnknownRequest)
		return
	}
	callback := o.provider.AuthorizationEndpoint().Relative() + "/callback?" + url.Values{"id": {req.id}}.Encode()
	http.Redirect(w, r, callback, http.StatusSeeOther)
}

func (o *OP) renderLogin(w http.ResponseWriter, req *authRequest, username, errMsg string) {
	o.render(w, http.StatusOK, page{
		Title: "Sign in", Form: true, Action: loginPath,
		RequestID: req.id, ClientID: req.clientID,
		Username: username, Error: errMsg, Users: o.cfg.Users,
	})
}

func (o *OP) renderMessage(w http.ResponseWriter, status int, title, msg string) {
	o.render(w, status, page{Title: title, Message: msg})
}

func (o *OP) serveLoggedOut(w http.ResponseWriter, _ *http.Request) {
	o.renderMessage(w, http.StatusOK, "Signed out", "You are signed out of the demo OpenID provider.")
}

func (o *OP) render(w http.ResponseWriter, status int, p page) {
	var buf bytes.Buffer
	if err := pageTemplate.ExecuteTemplate(&buf, "page", p); err != nil {
		o.log.Error("demoop: render page", slog.Any("error", err))
		http.Error(w, "page rendering failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}
