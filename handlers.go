package bff

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/handler"
	"github.com/tokenward/bff/proxy"
)

// publicHandler is the echo stack: /bff/* endpoints, then routes, then the SPA.
func (s *Server) publicHandler(spa http.Handler) http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Pre(handler.Observe(s.log, s.observe), handler.RejectH2C)
	s.handlers.Mount(e)
	s.handlers.MountClient(e) // /bff/client.js, /bff/client-config (handler/clientjs.go)
	e.Any("/*", func(c echo.Context) error {
		r := c.Request()
		if h, ok := s.proxy.Match(r); ok {
			handler.SetRoute(r, proxy.RouteName(h))
			if err := s.handlers.CheckCSRF(r); err != nil {
				return err
			}
			h.ServeHTTP(c.Response(), r)
			return nil
		}
		handler.SetRoute(r, "spa")
		spa.ServeHTTP(c.Response(), r)
		return nil
	})
	return e
}

func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", handler.Health)
	mux.HandleFunc("GET /readyz", s.handlers.Ready(s.draining.Load))
	mux.Handle("GET /metrics", s.metricsHandler())
	s.handlers.MountAdmin(mux) // the kill-switch, with server.adminTokenFile only
	return mux
}

func spaHandler(c config.SPA, embedded fs.FS) (http.Handler, error) {
	switch {
	case embedded != nil:
		return handler.SPAFiles(embedded), nil
	case c.Upstream != "":
		u, err := url.Parse(c.Upstream)
		if err != nil {
			return nil, fmt.Errorf("bff: spa.upstream: %w", err)
		}
		return handler.SPAUpstream(u), nil
	case c.Dir != "":
		if err := CheckSPADir(c.Dir); err != nil {
			return nil, fmt.Errorf("bff: %w", err)
		}
		return handler.SPAFiles(os.DirFS(c.Dir)), nil
	default:
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.NotFound(w, r)
		}), nil
	}
}
