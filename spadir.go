package bff

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrSPADir: spa.dir names no directory, a file, or a directory without index.html. The
// BFF would otherwise start and answer every page with a bare 404.
var ErrSPADir = errors.New("spa.dir is not a built SPA")

// CheckSPADir checks that dir is a directory holding index.html. Its error names the
// path as given and as resolved (relative paths are relative to the working directory,
// which surprises under systemd and in containers) and says what to do.
func CheckSPADir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	where := fmt.Sprintf("%q (%s)", dir, abs)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s does not exist: build the SPA first (e.g. npm run build) "+
			"and set spa.dir to the folder that holds its index.html", ErrSPADir, where)
	case err != nil:
		return fmt.Errorf("%w: %s: %w", ErrSPADir, where, err)
	case !st.IsDir():
		return fmt.Errorf("%w: %s is a file, not a directory: "+
			"set spa.dir to the folder that holds the SPA's index.html", ErrSPADir, where)
	}
	st, err = os.Stat(filepath.Join(dir, "index.html"))
	if err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("%w: %s has no index.html: set spa.dir to the build output "+
			"(e.g. ./dist after npm run build), not the project's root", ErrSPADir, where)
	}
	return nil
}
