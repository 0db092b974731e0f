package spademo_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/tokenward/bff/idp"
)

// issuedTokens records every token the OP's token endpoint hands to the BFF, so that the
// test knows the real values it must never find in what the browser receives.
//
// Concurrency: safe for concurrent use.
type issuedTokens struct {
	mu                     sync.Mutex
	access, refresh, idTok []string
}

// tokenRecorder is the BFF's IdP transport with a tap on token responses. It sits on top
// of idp.NewHTTPClient's transport, so the body it reads is already capped.
type tokenRecorder struct {
	base http.RoundTripper
	log  *issuedTokens
}

// newRecordingIdPClient is the BFF's hardened IdP client (no redirects, bounded bodies and
// time) whose token responses are recorded in the returned log.
func newRecordingIdPClient() (*http.Client, *issuedTokens) {
	c := idp.NewHTTPClient(5 * time.Second)
	log := &issuedTokens{}
	c.Transport = &tokenRecorder{base: c.Transport, log: log}
	return c, log
}

func (tr *tokenRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := tr.base.RoundTrip(req)
	if err != nil || req.Method != http.MethodPost || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, idp.MaxResponseBytes+1))
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("token recorder: read: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var tok struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
		ID      string `json:"id_token"`
	}
	if json.Unmarshal(body, &tok) == nil && tok.Access != "" {
		tr.log.add(tok.Access, tok.Refresh, tok.ID)
	}
	return resp, nil
}

func (l *issuedTokens) add(access, refresh, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.access = append(l.access, access)
	if refresh != "" {
		l.refresh = append(l.refresh, refresh)
	}
	if id != "" {
		l.idTok = append(l.idTok, id)
	}
}

// snapshot returns copies of the access, refresh and ID tokens issued so far, oldest first.
func (l *issuedTokens) snapshot() (access, refresh, id []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.access...), append([]string(nil), l.refresh...), append([]string(nil), l.idTok...)
}

// fingerprint is what the demo API shows instead of the token it received.
func fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:6])
}
