// Package repo locates the Tokenward repository from a test's working directory, so the
// deployment checks read the real files (compose.yaml, charts/bff, docs/…) rather than
// copies.
package repo

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MainModule is the module path of the BFF, whose go.mod marks the repository root.
const MainModule = "github.com/tokenward/bff"

// ErrNotFound is returned by Root when no parent directory holds the BFF's go.mod.
var ErrNotFound = errors.New("repository root not found")

// Root returns the repository root: the nearest directory at or above the working
// directory whose go.mod declares MainModule. It only reads files.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("repo: working directory: %w", err)
	}
	for {
		ok, err := declaresMainModule(filepath.Join(dir, "go.mod"))
		if err != nil {
			return "", err
		}
		if ok {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNotFound
		}
		dir = parent
	}
}

// Path returns the absolute path of rel (slash-separated, relative to the repository
// root).
func Path(rel string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, filepath.FromSlash(rel)), nil
}

func declaresMainModule(goMod string) (bool, error) {
	f, err := os.Open(goMod)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("repo: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if mod, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(mod), `"`) == MainModule, nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("repo: read %s: %w", goMod, err)
	}
	return false, nil
}
