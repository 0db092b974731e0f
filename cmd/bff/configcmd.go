package main

import (
	"context"
	"strings"

	"github.com/tokenward/bff/config"
)

// runConfig runs `bff config SUBCOMMAND`; the one subcommand is schema, which prints the
// JSON Schema of bff.yaml (config/bff.schema.json) for editors and CI linters.
func (a *app) runConfig(_ context.Context, args []string) error {
	fs := a.bareFlagSet("config schema", "print the JSON Schema (draft 2020-12) of the YAML configuration file")
	sub, rest := "", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, rest = args[0], args[1:]
	}
	if err := a.parse(fs, rest); err != nil { // -h prints the usage
		return err
	}
	switch sub {
	case "":
		return usageErrorf("config: want a subcommand: bff config schema")
	case "schema":
	default:
		return usageErrorf("config: unknown subcommand %q: the one subcommand is schema (bff config schema)", sub)
	}
	_, err := a.stdout.Write(config.Schema())
	return err
}
