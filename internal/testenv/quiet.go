package testenv

import (
	"log/slog"

	"github.com/tokenward/bff/session"
)

// Tests that kill Redis on purpose would fill the output with go-redis's dial errors.
func init() { session.SetRedisLogger(slog.New(slog.DiscardHandler)) }
