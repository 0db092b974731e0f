package bff

import (
	"io"
	"log/slog"
	"strings"

	"github.com/tokenward/bff/config"
)

// NewLogger returns the process logger: JSON (default) or text, at the configured level.
func NewLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(c.Level) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
