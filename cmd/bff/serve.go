package main

import (
	"context"
	"fmt"
	"io"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
)

// serve runs one BFF replica until ctx ends (SIGINT/SIGTERM), then shuts down gracefully.
func serve(ctx context.Context, cfg config.Config, _, stderr io.Writer) error {
	srv, err := bff.New(ctx, cfg, bff.WithLogger(bff.NewLogger(stderr, cfg.Log)))
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return srv.Run(ctx)
}
