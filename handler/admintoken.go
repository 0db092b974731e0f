package handler

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tokenward/bff/config"
)

// adminToken checks the admin kill-switch's bearer secret (server.adminTokenFile). It
// keeps only the secret's SHA-256 digest and reads the file again when its modification
// time or size changes (a rotated Kubernetes Secret), so rotation needs no restart. A
// file that becomes unusable refuses every request until it is fixed: fail closed.
type adminToken struct {
	file string
	log  *slog.Logger

	mu      sync.Mutex
	modTime time.Time
	size    int64
	digest  [sha256.Size]byte
	usable  bool
}

// newAdminToken reads file once: the kill-switch is not enabled without a usable secret.
func newAdminToken(file string, log *slog.Logger) (*adminToken, error) {
	t := &adminToken{file: file, log: log}
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("handler: admin token file: %w", err)
	}
	if err := t.load(fi); err != nil {
		return nil, fmt.Errorf("handler: admin token: %w", err)
	}
	return t, nil
}

// load reads the secret of the file whose state is fi, keeping its digest.
func (t *adminToken) load(fi os.FileInfo) error {
	t.modTime, t.size = fi.ModTime(), fi.Size()
	secret, err := config.ReadAdminToken(t.file)
	if err != nil {
		t.usable = false
		return err
	}
	t.digest, t.usable = sha256.Sum256(secret), true
	return nil
}

// current is the digest of the secret in force, reading the file again when it changed;
// ok is false while the file is unusable.
func (t *adminToken) current() (digest [sha256.Size]byte, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fi, err := os.Stat(t.file)
	switch {
	case err != nil:
		if t.usable {
			t.log.Error("admin token file unreadable: the admin kill-switch refuses every request", "err", err)
		}
		t.usable = false
		t.modTime, t.size = time.Time{}, -1
	case !fi.ModTime().Equal(t.modTime) || fi.Size() != t.size:
		if err := t.load(fi); err != nil {
			t.log.Error("admin token file unusable: the admin kill-switch refuses every request", "err", err)
		} else {
			t.log.Info("admin token file read again")
		}
	}
	return t.digest, t.usable
}

// allows reports whether authorization (an Authorization header) carries the secret. The
// digests are compared in constant time, so neither the secret's bytes nor its length
// show in the timing.
func (t *adminToken) allows(authorization string) bool {
	scheme, presented, found := strings.Cut(authorization, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	want, ok := t.current()
	got := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1 && ok
}
