package main

import (
	"context"
	"io"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
)

// serve runs one BFF replica until ctx ends (SIGINT/SIGTERM), then shuts down gracefully.
func serve(ctx context.Context, cfg config.Config, _, stderr io.Writer) error {
	log := bff.NewLogger(stderr, cfg.Log)
	bff.SetRedisLogger(log)
	srv, err := bff.New(ctx, cfg, bff.WithLogger(log))
	if err != nil {
		// New's errors already say what failed ("bff: session store: …"); a "serve: "
		// in front would print as "bff: serve: bff: …".
		return err
	}
	return srv.Run(ctx)
}
