// Package image checks the Dockerfile and the .dockerignore at the repository root.
//
// The Dockerfile is parsed by BuildKit's own parser and instruction decoder (the code
// `docker build` runs), with its linter collecting every warning `docker build --check`
// would print for these rules; the stages are then checked against the contract of
// docs/deploy: a static, trimmed build, a distroless non-root final image that exposes
// the BFF's two listeners and runs bff. The build context is computed with the
// .dockerignore matcher Docker uses and compared with what `go list` says the build of
// ./cmd/bff reads, for every target platform: nothing the build needs may be left out,
// and nothing secret (.env, .git, local configs and keys) may be let in.
package image

import (
	"bytes"
	"fmt"
	"os"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Dockerfile is a parsed Dockerfile.
type Dockerfile struct {
	Stages   []instructions.Stage
	MetaArgs []instructions.ArgCommand
	// Warnings are the parser's and the linter's warnings, one line each.
	Warnings []string
}

// ParseDockerfile parses the Dockerfile at path as BuildKit does, collecting warnings
// rather than failing on them.
func ParseDockerfile(path string) (Dockerfile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Dockerfile{}, fmt.Errorf("image: %w", err)
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return Dockerfile{}, fmt.Errorf("image: parse %s: %w", path, err)
	}
	var df Dockerfile
	for _, w := range res.Warnings {
		df.Warnings = append(df.Warnings, w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		df.Warnings = append(df.Warnings, fmt.Sprintf("line %d: %s: %s", line, rule, msg))
	}})
	df.Stages, df.MetaArgs, err = instructions.Parse(res.AST, lint)
	if err != nil {
		return Dockerfile{}, fmt.Errorf("image: instructions of %s: %w", path, err)
	}
	return df, nil
}

// MetaArg returns the default value of a global ARG (declared before the first FROM).
func (d Dockerfile) MetaArg(name string) (string, bool) {
	for _, a := range d.MetaArgs {
		for _, kv := range a.Args {
			if kv.Key == name && kv.Value != nil {
				return *kv.Value, true
			}
		}
	}
	return "", false
}

// Context is a .dockerignore: which paths of the repository reach the build context.
type Context struct {
	pm *patternmatcher.PatternMatcher
}

// ReadDockerignore reads a .dockerignore file.
func ReadDockerignore(path string) (Context, error) {
	f, err := os.Open(path)
	if err != nil {
		return Context{}, fmt.Errorf("image: %w", err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return Context{}, fmt.Errorf("image: read %s: %w", path, err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return Context{}, fmt.Errorf("image: patterns of %s: %w", path, err)
	}
	return Context{pm: pm}, nil
}

// Includes reports whether the file at rel (slash-separated, relative to the context
// root) is sent with the build context, as Docker decides: the last pattern matching the
// file or one of its parent directories wins.
func (c Context) Includes(rel string) (bool, error) {
	excluded, err := c.pm.MatchesOrParentMatches(rel)
	if err != nil {
		return false, fmt.Errorf("image: match %s: %w", rel, err)
	}
	return !excluded, nil
}
