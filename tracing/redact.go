package tracing

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// redactor is a SpanProcessor in front of next: next (and through it every exporter)
// sees each ended span only through redactedSpan. The redaction itself is lazy: it runs
// when next reads the attributes (for a batch processor: on the export goroutine), so the
// request path pays one small allocation per span.
type redactor struct {
	next sdktrace.SpanProcessor
}

func (p redactor) OnStart(ctx context.Context, s sdktrace.ReadWriteSpan) { p.next.OnStart(ctx, s) }
func (p redactor) OnEnd(s sdktrace.ReadOnlySpan)                         { p.next.OnEnd(redactedSpan{s}) }
func (p redactor) Shutdown(ctx context.Context) error                    { return p.next.Shutdown(ctx) }
func (p redactor) ForceFlush(ctx context.Context) error                  { return p.next.ForceFlush(ctx) }

// redactedSpan is s with its attributes, events and status description redacted.
// Embedding the interface keeps every other method (and the SDK's unexported one).
type redactedSpan struct {
	sdktrace.ReadOnlySpan
}

func (s redactedSpan) Attributes() []attribute.KeyValue {
	return redactAttributes(s.ReadOnlySpan.Attributes())
}

func (s redactedSpan) Events() []sdktrace.Event {
	in := s.ReadOnlySpan.Events()
	out := make([]sdktrace.Event, len(in))
	for i, e := range in {
		e.Name = stripQueries(e.Name)
		e.Attributes = redactAttributes(e.Attributes)
		out[i] = e
	}
	return out
}

func (s redactedSpan) Links() []sdktrace.Link {
	in := s.ReadOnlySpan.Links()
	out := make([]sdktrace.Link, len(in))
	for i, l := range in {
		l.Attributes = redactAttributes(l.Attributes)
		out[i] = l
	}
	return out
}

func (s redactedSpan) Status() sdktrace.Status {
	st := s.ReadOnlySpan.Status()
	st.Description = stripQueries(st.Description)
	return st
}

// droppedKeys are attributes that are never exported: header values (user agent), a
// client address taken from the spoofable X-Forwarded-For, and the query.
var droppedKeys = map[attribute.Key]bool{
	"user_agent.original": true,
	"http.user_agent":     true,
	"client.address":      true,
	"http.client_ip":      true,
	"url.query":           true,
}

// urlKeys hold URLs or request targets: they keep scheme, host and path only.
var urlKeys = map[attribute.Key]bool{
	"url.full":     true,
	"url.original": true,
	"http.url":     true,
	"http.target":  true,
}

// redactAttributes returns a redacted copy of in (in is never modified: it may be the
// SDK's own slice).
func redactAttributes(in []attribute.KeyValue) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(in))
	for _, kv := range in {
		if droppedKeys[kv.Key] || isHeaderKey(kv.Key) {
			continue
		}
		if kv.Value.Type() == attribute.STRING {
			v := kv.Value.AsString()
			if urlKeys[kv.Key] {
				v = redactURL(v)
			} else {
				v = stripQueries(v)
			}
			kv = kv.Key.String(v)
		}
		out = append(out, kv)
	}
	return out
}

func isHeaderKey(k attribute.Key) bool {
	s := string(k)
	return strings.HasPrefix(s, "http.request.header.") || strings.HasPrefix(s, "http.response.header.")
}

// redactURL keeps scheme, host and path of a URL or request target: the query and
// fragment are cut and userinfo ("user:pass@") is removed.
func redactURL(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, "://"); i >= 0 {
		authEnd := len(s)
		if j := strings.IndexByte(s[i+3:], '/'); j >= 0 {
			authEnd = i + 3 + j
		}
		if at := strings.LastIndexByte(s[i+3:authEnd], '@'); at >= 0 {
			s = s[:i+3] + s[i+3+at+1:]
		}
	}
	return s
}

// stripQueries cuts every query out of free text such as an error message
// (`Get "http://up/x?code=…": dial tcp …` → `Get "http://up/x": dial tcp …`): from each
// '?' up to the next space, quote or end.
func stripQueries(s string) string {
	if strings.IndexByte(s, '?') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, '?')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		end := strings.IndexAny(s, " \t\r\n\"'`")
		if end < 0 {
			return b.String()
		}
		s = s[end:]
	}
}
