package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxSecretFileSize bounds a secret file: a client secret, a Redis URL or a few
// hundred keys fit in far less.
const maxSecretFileSize = 64 << 10

// resolveSecretFiles reads every …File key that is set into its secret key, the way
// Kubernetes and Docker mount secrets: oidc.clientSecretFile and session.redisURLFile
// hold the value (a trailing newline is trimmed), session.keysFile one key per line
// (blank lines and lines starting with # are ignored). Setting both a secret and its
// file, from any sources, is a Problem. The file paths stay in c.
func resolveSecretFiles(c *Config, ps *problems) {
	resolveValueFile(&c.OIDC.ClientSecret, c.OIDC.ClientSecretFile, "oidc.clientSecret", ps)
	resolveValueFile(&c.OIDC.ClientKey, c.OIDC.ClientKeyFile, "oidc.clientKey", ps)
	resolveValueFile(&c.OIDC.ClientCert, c.OIDC.ClientCertFile, "oidc.clientCert", ps)
	resolveValueFile(&c.Session.RedisURL, c.Session.RedisURLFile, "session.redisURL", ps)
	resolveKeysFile(c, ps)
	checkAdminTokenFile(c.Server.AdminTokenFile, ps)
	for i := range c.OIDC.Providers {
		p := &c.OIDC.Providers[i]
		resolveValueFile(&p.ClientSecret, p.ClientSecretFile, providerPath(i, "clientSecret"), ps)
		resolveValueFile(&p.ClientKey, p.ClientKeyFile, providerPath(i, "clientKey"), ps)
		resolveValueFile(&p.ClientCert, p.ClientCertFile, providerPath(i, "clientCert"), ps)
	}
}

func resolveValueFile(dst *string, file, path string, ps *problems) {
	if file == "" {
		return
	}
	if *dst != "" {
		ps.add(path, "both %s and %sFile are set: keep one", path, path)
		return
	}
	data, err := readSecretFile(file)
	if err != nil {
		ps.add(path+"File", "%v", err)
		return
	}
	value := strings.TrimRight(string(data), "\r\n")
	if value == "" {
		ps.add(path+"File", "file %s is empty", file)
		return
	}
	*dst = value
}

func resolveKeysFile(c *Config, ps *problems) {
	file := c.Session.KeysFile
	if file == "" {
		return
	}
	if len(c.Session.Keys) > 0 {
		ps.add("session.keys", "both session.keys and session.keysFile are set: keep one")
		return
	}
	data, err := readSecretFile(file)
	if err != nil {
		ps.add("session.keysFile", "%v", err)
		return
	}
	keys := parseKeysFile(string(data))
	if len(keys) == 0 {
		ps.add("session.keysFile", "file %s holds no key", file)
		return
	}
	c.Session.Keys = keys
}

// parseKeysFile returns the keys of a keys file, one per line, newest first; blank lines
// and # comments are skipped, spaces around a key are trimmed.
func parseKeysFile(s string) []string {
	var keys []string
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		keys = append(keys, line)
	}
	return keys
}

// readSecretFile reads a file of at most maxSecretFileSize bytes. Errors name
// the file, never its content.
func readSecretFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read secret file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read secret file %s: %w", name, err)
	}
	if len(data) > maxSecretFileSize {
		return nil, fmt.Errorf("secret file %s: %w", name, errTooLarge)
	}
	return data, nil
}

// errTooLarge: a file is larger than a configuration or secret file can be.
var errTooLarge = errors.New("file too large")
