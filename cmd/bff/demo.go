package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
	spademo "github.com/tokenward/bff/spa-demo"
)

// demo runs the whole flow on loopback: the demo OpenID provider, the embedded session
// store, the demo API and the BFF serving the demo SPA. `serve` never enables the demo OP.
func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dc spademo.DemoConfig
	fs.StringVar(&dc.Listen, "listen", "127.0.0.1:8080", "the BFF and the SPA (opened as http://localhost:PORT)")
	fs.StringVar(&dc.OPListen, "op-listen", "127.0.0.1:8081", "the demo OpenID provider")
	fs.StringVar(&dc.APIListen, "api-listen", "127.0.0.1:8082", "the demo API behind the BFF")
	fs.StringVar(&dc.AdminListen, "admin-listen", "127.0.0.1:9090", "/healthz, /readyz, /metrics")
	fs.DurationVar(&dc.AccessTokenLifetime, "access-token-lifetime", time.Minute, "access token lifetime at the demo OP")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dc.Logger = bff.NewLogger(stderr, config.Log{Format: "text", Level: *level})
	start := time.Now()
	d, err := spademo.Start(ctx, dc)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Tokenward BFF demo ready in %v\n\n  open   %s\n\n", time.Since(start).Round(time.Millisecond), d.URL)
	fmt.Fprintf(stdout, "  demo users (at the OpenID provider %s):\n", d.OPURL)
	for _, u := range d.Users {
		fmt.Fprintf(stdout, "    %-6s password %s\n", u.Username, u.Password)
	}
	fmt.Fprintf(stdout, "\n  access tokens live %v, so the BFF's refresh shows; admin on %s\n  Ctrl-C stops everything.\n", dc.AccessTokenLifetime, d.Admin)
	return d.Wait()
}
