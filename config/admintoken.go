package config

import (
	"errors"
	"fmt"
	"strings"
)

// MinAdminTokenBytes is the shortest admin bearer secret accepted (server.adminTokenFile):
// 256 bits, so that guessing it over the admin listener is hopeless without a rate limit.
const MinAdminTokenBytes = 32

// errAdminTokenShort: the admin token file holds fewer than MinAdminTokenBytes.
var errAdminTokenShort = errors.New("holds a secret shorter than 32 bytes: write at least 32 random bytes, e.g. `openssl rand -base64 48`")

// ReadAdminToken reads the admin bearer secret from file (server.adminTokenFile): its
// content with surrounding white space trimmed, at least MinAdminTokenBytes long. Load
// checks it once; the handler reads it again whenever the file changes (rotation without
// a restart). Errors name the file, never its content.
func ReadAdminToken(file string) ([]byte, error) {
	data, err := readSecretFile(file)
	if err != nil {
		return nil, err
	}
	token := strings.TrimSpace(string(data))
	if len(token) < MinAdminTokenBytes {
		return nil, fmt.Errorf("file %s %w", file, errAdminTokenShort)
	}
	return []byte(token), nil
}

// checkAdminTokenFile refuses a server.adminTokenFile that cannot be read or holds too
// short a secret: the kill-switch is never enabled without a usable secret.
func checkAdminTokenFile(file string, ps *problems) {
	if file == "" {
		return
	}
	if _, err := ReadAdminToken(file); err != nil {
		ps.add("server.adminTokenFile", "%v", err)
	}
}
