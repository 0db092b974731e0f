package bff

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tokenward/bff/internal/framing"
)

// Run serves the public and admin listeners of the configuration until ctx ends, then
// shuts down gracefully within server.shutdownTimeout.
func (s *Server) Run(ctx context.Context) error {
	pub, err := net.Listen("tcp", s.cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("bff: public listener: %w", err)
	}
	adm, err := net.Listen("tcp", s.cfg.Server.AdminListen)
	if err != nil {
		_ = pub.Close()
		return fmt.Errorf("bff: admin listener: %w", err)
	}
	return s.Serve(ctx, pub, adm)
}

// Serve is Run on listeners the caller opened (tests, socket activation).
func (s *Server) Serve(ctx context.Context, pub, adm net.Listener) error {
	defer s.Close()
	maxHeader := s.cfg.Server.MaxHeaderBytes
	psrv := newHTTPServer(s.public, maxHeader)
	// Every public connection is watched for ambiguous request framing, which Go's
	// server lets through (see internal/framing); guardFraming answers it.
	psrv.ConnContext = framing.ConnContext
	pub = framing.Listener{Listener: pub, MaxHeaderBytes: maxHeader}
	asrv := newHTTPServer(s.admin, maxHeader)
	errc := make(chan error, 2)
	go func() { errc <- psrv.Serve(pub) }()
	go func() { errc <- asrv.Serve(adm) }()
	s.log.Info("bff listening", "public", pub.Addr().String(), "admin", adm.Addr().String(), "publicURL", s.cfg.Server.PublicURL)
	select {
	case err := <-errc:
		_ = psrv.Close()
		_ = asrv.Close()
		return fmt.Errorf("bff: serve: %w", err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.log.Info("shutting down", "timeout", s.cfg.Server.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Server.ShutdownTimeout)
	defer cancel()
	// Streams never finish on their own: cut them so Shutdown can complete. Each ends
	// cleanly (an SSE response with its final chunk, a websocket with close frames).
	s.proxy.CloseAll()
	s.handlers.CloseEvents()
	err := psrv.Shutdown(sctx)
	if err != nil {
		_ = psrv.Close() // the deadline passed: cut what is left
	}
	// Shutdown does not wait for hijacked connections: let the websockets' close
	// frames go out before the process exits.
	if werr := s.proxy.WaitStreams(sctx); werr != nil {
		s.log.Warn("streams still ending at the shutdown deadline", "err", werr)
	}
	// No request runs any more; refreshes behind them and refreshed tokens still waiting
	// for their save may: let them land rather than lose them with the process.
	if derr := s.refresher.Drain(sctx); derr != nil {
		s.log.Warn("shutdown: refreshes still running", "err", derr)
	}
	// The admin listener goes last, so probes see "not ready" while the public one drains.
	_ = asrv.Shutdown(sctx)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("bff: shutdown: %w", err)
	}
	s.log.Info("shut down")
	return nil
}

// newHTTPServer returns a server with bounded header reads. A request head over
// maxHeaderBytes (server.maxHeaderBytes; Go allows 4 KiB more) gets 431.
func newHTTPServer(h http.Handler, maxHeaderBytes int) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}
