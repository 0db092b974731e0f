package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/idp"
)

// defaultCheckTimeout bounds the discovery attempt of `bff check`.
const defaultCheckTimeout = 15 * time.Second

// runCheck loads and validates a configuration exactly as serve would, prints EVERY
// problem with its key path (exit 2), then, unless --offline, makes one discovery
// attempt at the IdP (exit 1 when it fails). It never prints a secret.
func (a *app) runCheck(ctx context.Context, args []string) error {
	fs, cf := a.flagSet("check", "load and validate a configuration, then try one OIDC discovery at the IdP")
	offline := fs.Bool("offline", false, "skip the discovery request to the IdP")
	timeout := fs.Duration("timeout", defaultCheckTimeout, "bound on the discovery attempt")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return usageErrorf("check: --timeout must be positive")
	}
	cfg, err := a.loadValid("check", cf)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "configuration OK")
	a.printNotes(cfg)
	if *offline {
		fmt.Fprintln(a.stdout, "discovery skipped (--offline)")
		return nil
	}
	dctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := a.discover(dctx, cfg); err != nil {
		return fmt.Errorf("check: IdP %s: %w", cfg.OIDC.Issuer, err)
	}
	fmt.Fprintf(a.stdout, "discovery OK: %s\n", cfg.OIDC.Issuer)
	return nil
}

// printNotes prints what to register at the IdP and warns about settings that are valid
// but rarely wanted in production.
func (a *app) printNotes(cfg config.Config) {
	fmt.Fprintf(a.stdout, "register at the IdP: redirect URI %s, post-logout redirect URI %s\n",
		cfg.RedirectURL(), cfg.PostLogoutURL())
	if cfg.Embedded() {
		fmt.Fprintln(a.stderr, "warning: session.store is embedded: sessions are lost on restart and not shared between replicas")
	}
	if cfg.OIDC.AllowInsecureIssuer {
		fmt.Fprintln(a.stderr, "warning: oidc.allowInsecureIssuer is set: for loopback demos and tests only")
	}
	for i, r := range cfg.Routes {
		if r.AllowInsecureUpstream && strings.HasPrefix(strings.ToLower(r.Upstream), "http:") {
			fmt.Fprintf(a.stderr, "warning: routes[%d].allowInsecureUpstream is set: %s gets the bearer over plain http; "+
				"make sure a same-pod hop or a mesh with mTLS protects it\n", i, r.Name)
		}
	}
}

// discoverIdP makes one discovery attempt with the relying party serve would build.
func discoverIdP(ctx context.Context, cfg config.Config) error {
	p, err := idp.New(bff.IdPConfig(cfg))
	if err != nil {
		return fmt.Errorf("relying party: %w", err)
	}
	return p.Discover(ctx)
}
