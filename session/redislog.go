package session

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// SetRedisLogger sends go-redis's own messages (pool dial failures and the like, which it
// otherwise prints to stderr in its own format) to l at debug level. go-redis has only a
// process-wide logger, so the CLI calls this once at start. The messages name addresses,
// never credentials or values.
func SetRedisLogger(l *slog.Logger) {
	redis.SetLogger(redisLogger{l})
}

type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
