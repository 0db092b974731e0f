package config

import (
	"fmt"
	"io"
	"os"
)

// maxConfigFileSize bounds the YAML file.
const maxConfigFileSize = 1 << 20

// Source says where Load reads the configuration from. Every field is optional.
type Source struct {
	// File is a YAML file (--config); "" means none.
	File string
	// Env is the process environment as os.Environ returns it ("KEY=value").
	Env []string
	// Set maps key paths to values (--set key=value), in the env syntax.
	Set map[string]string
}

// Load builds a Config from, in increasing precedence: Defaults, the YAML file, the
// BFF_* environment, and Set. It then reads the secret files (…File keys) and fills in
// the route defaults (Route.WithDefaults).
//
// Load reports problems with keys (an unknown or duplicate key, a value of the wrong
// type, a secret set twice, an unreadable secret file) all at once as a
// *ValidationError; an unreadable or unparsable YAML file as a plain wrapped error. It
// does NOT check values: call Validate on the result. Load never puts a secret value in
// an error. It only reads files and is safe for concurrent use.
//
// With a *ValidationError, Load also returns what it could load, so a caller such as
// `bff check` can Validate it and report every problem in one go; such a Config MUST NOT
// be used to run anything. With any other error, the Config is the zero value.
func Load(src Source) (Config, error) {
	c := Defaults()
	var ps problems
	if src.File != "" {
		data, err := readConfigFile(src.File)
		if err != nil {
			return Config{}, err
		}
		if err := decodeYAML(&c, data, &ps); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", src.File, err)
		}
	}
	overlayEnv(&c, src.Env, &ps)
	overlaySet(&c, src.Set, &ps)
	resolveSecretFiles(&c, &ps)
	for i := range c.Routes {
		c.Routes[i] = c.Routes[i].WithDefaults()
	}
	return c, ps.err()
}

func readConfigFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", name, err)
	}
	if len(data) > maxConfigFileSize {
		return nil, fmt.Errorf("config file %s: %w", name, errTooLarge)
	}
	return data, nil
}
