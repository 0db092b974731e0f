package spademo_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// netRecorder watches the tab's network through the DevTools protocol: every request hop
// (a redirect chain shares one request id, one hop per URL), the cookies the browser
// attached to or withheld from each hop, and the full body of every response from one
// origin (the BFF's), streams included.
//
// Concurrency: chromedp calls the listener on the goroutine that reads the browser's
// messages, in order; the listener only queues the events, and one worker goroutine
// handles them in that order and issues the protocol commands that fetch bodies. Every
// method is safe for concurrent use.
type netRecorder struct {
	ctx    context.Context // the tab
	origin string          // bodies are kept for this origin only

	mu      sync.Mutex
	queue   []any
	wake    chan struct{}
	hops    []hop
	cookies map[network.RequestID][][]*network.AssociatedCookie
	bodies  map[network.RequestID]*exchange
	order   []network.RequestID
	errs    []error
}

// hop is one URL a request went to.
type hop struct {
	id     network.RequestID
	url    string
	method string
	typ    network.ResourceType
}

// exchange is a response from the recorded origin as the page received it.
type exchange struct {
	id        network.RequestID
	url       string
	status    int64
	mime      string
	typ       network.ResourceType
	streaming bool // an event stream, read with Network.streamResourceContent
	done      bool // the body is complete (or the stream was cut)
	body      []byte
}

// barrier is queued by sync: the worker closes it once every earlier event is handled.
type barrier chan struct{}

// recordNetwork starts recording the tab of b; bodies are kept for origin.
func recordNetwork(b *browser, origin string) *netRecorder {
	b.t.Helper()
	r := &netRecorder{
		ctx: b.ctx, origin: origin, wake: make(chan struct{}, 1),
		cookies: map[network.RequestID][][]*network.AssociatedCookie{},
		bodies:  map[network.RequestID]*exchange{},
	}
	// Keep response bodies in the browser process, so that they survive the
	// cross-site (so cross-process) navigations to the OP and back.
	maxTotal, maxResource := int64(64<<20), int64(8<<20)
	call(b, "keep response bodies", network.Enable, network.EnableParams{
		MaxTotalBufferSize: &maxTotal, MaxResourceBufferSize: &maxResource,
		EnableDurableMessages: new(true),
	})
	if err := chromedp.Listen(b.ctx, r.enqueue); err != nil {
		b.fatalf("listen to the network: %v", err)
	}
	go r.work()
	return r
}

// enqueue runs in chromedp's read loop: it must return at once and send no command.
func (r *netRecorder) enqueue(ev any) {
	switch ev.(type) {
	case *network.EventRequestWillBeSent, *network.EventRequestWillBeSentExtraInfo,
		*network.EventResponseReceived, *network.EventDataReceived,
		*network.EventLoadingFinished, *network.EventLoadingFailed:
	default:
		return
	}
	r.push(ev)
}

func (r *netRecorder) push(v any) {
	r.mu.Lock()
	r.queue = append(r.queue, v)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *netRecorder) work() {
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			r.mu.Unlock()
			select {
			case <-r.wake:
				continue
			case <-r.ctx.Done():
				return
			}
		}
		v := r.queue[0]
		r.queue = r.queue[1:]
		r.mu.Unlock()
		r.handle(v)
	}
}

func (r *netRecorder) handle(v any) {
	switch ev := v.(type) {
	case barrier:
		close(ev)
	case *network.EventRequestWillBeSent:
		r.mu.Lock()
		r.hops = append(r.hops, hop{id: ev.RequestID, url: ev.Request.URL, method: ev.Request.Method, typ: ev.Type})
		r.mu.Unlock()
	case *network.EventRequestWillBeSentExtraInfo:
		r.mu.Lock()
		r.cookies[ev.RequestID] = append(r.cookies[ev.RequestID], ev.AssociatedCookies)
		r.mu.Unlock()
	case *network.EventResponseReceived:
		r.response(ev)
	case *network.EventDataReceived:
		r.mu.Lock()
		if x := r.bodies[ev.RequestID]; x != nil && x.streaming {
			x.body = append(x.body, ev.Data...)
		}
		r.mu.Unlock()
	case *network.EventLoadingFinished:
		r.finished(ev.RequestID)
	case *network.EventLoadingFailed:
		r.mu.Lock()
		if x := r.bodies[ev.RequestID]; x != nil {
			x.done = true // a cut stream keeps what it received
		}
		r.mu.Unlock()
	}
}

func (r *netRecorder) response(ev *network.EventResponseReceived) {
	if !strings.HasPrefix(ev.Response.URL, r.origin+"/") {
		return
	}
	x := &exchange{
		id: ev.RequestID, url: ev.Response.URL, status: ev.Response.Status, mime: ev.Response.MimeType, typ: ev.Type,
		streaming: ev.Response.MimeType == "text/event-stream",
	}
	r.mu.Lock()
	r.bodies[ev.RequestID] = x
	r.order = append(r.order, ev.RequestID)
	r.mu.Unlock()
	if !x.streaming {
		return
	}
	res, err := within(r.ctx, func(ctx context.Context) (network.StreamResourceContentResult, error) {
		return chromedp.Call(ctx, network.StreamResourceContent, network.StreamResourceContentParams{RequestID: ev.RequestID})
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("stream %s: %w", x.url, err))
		return
	}
	x.body = append(res.BufferedData, x.body...)
}

func (r *netRecorder) finished(id network.RequestID) {
	r.mu.Lock()
	x := r.bodies[id]
	r.mu.Unlock()
	if x == nil {
		return
	}
	if x.streaming {
		r.mu.Lock()
		x.done = true
		r.mu.Unlock()
		return
	}
	res, err := within(r.ctx, func(ctx context.Context) (network.GetResponseBodyResult, error) {
		return chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: id})
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	x.done = true
	if err != nil {
		// Redirects and empty answers have no body to fetch.
		if x.status >= 300 && x.status < 400 || x.status == 204 {
			return
		}
		r.errs = append(r.errs, fmt.Errorf("body of %s: %w", x.url, err))
		return
	}
	x.body = res.Body
}

// within runs f with a 5 s deadline derived from parent.
func within[T any](parent context.Context, f func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(parent, 5*time.Second)
	defer cancel()
	return f(ctx)
}

// sync waits until every event received so far has been handled.
func (r *netRecorder) sync(b *browser) {
	b.t.Helper()
	done := make(barrier)
	r.push(done)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		b.fatalf("network recorder: events not handled within 10s")
	}
}

// snapshot returns copies of what was recorded.
func (r *netRecorder) snapshot() ([]hop, map[network.RequestID][][]*network.AssociatedCookie, []exchange, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	hops := append([]hop(nil), r.hops...)
	cookies := make(map[network.RequestID][][]*network.AssociatedCookie, len(r.cookies))
	for id, c := range r.cookies {
		cookies[id] = append([][]*network.AssociatedCookie(nil), c...)
	}
	var xs []exchange
	for _, id := range r.order {
		x := *r.bodies[id]
		x.body = append([]byte(nil), x.body...)
		xs = append(xs, x)
	}
	return hops, cookies, xs, append([]error(nil), r.errs...)
}
