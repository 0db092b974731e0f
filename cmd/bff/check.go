package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
)

// defaultCheckTimeout bounds the store check and the discovery attempt of `bff check`.
const defaultCheckTimeout = 15 * time.Second

// runCheck loads and validates a configuration exactly as serve would, prints EVERY
// problem with its key path (exit 2), then, unless --offline, PINGs the Redis session
// store and makes one discovery attempt at the IdP (exit 1 when either fails, with the
// setting to fix). It never prints a secret.
func (a *app) runCheck(ctx context.Context, args []string) error {
	fs, cf := a.flagSet("check", "load and validate a configuration, then try the session store and one OIDC discovery at the IdP")
	offline := fs.Bool("offline", false, "skip the network: no store PING, no discovery request to the IdP")
	timeout := fs.Duration("timeout", defaultCheckTimeout, "bound on the store check and on the discovery attempt, each")
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
		fmt.Fprintln(a.stdout, "store check and discovery skipped (--offline)")
		return nil
	}
	if err := a.checkStore(ctx, cfg, *timeout); err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := a.discover(dctx, cfg); err != nil {
		return fmt.Errorf("check: IdP %s: %w", cfg.OIDC.Issuer, err)
	}
	fmt.Fprintf(a.stdout, "discovery OK: %s\n", cfg.OIDC.Issuer)
	return nil
}

// checkStore PINGs the Redis session store, as serve relies on it. The embedded store
// has nothing to reach.
func (a *app) checkStore(ctx context.Context, cfg config.Config, timeout time.Duration) error {
	if cfg.Embedded() {
		return nil
	}
	where := bff.StoreLocation(cfg)
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := a.pingStore(sctx, cfg); err != nil {
		return fmt.Errorf("check: session store %s: %w; start Redis there or fix session.redisURL (or session.redisURLFile)", where, err)
	}
	fmt.Fprintf(a.stdout, "session store OK: %s\n", where)
	return nil
}

// printNotes prints what to register at the IdP and warns about settings that are valid
// but rarely wanted in production.
func (a *app) printNotes(cfg config.Config) {
	fmt.Fprintln(a.stdout, "register at the IdP, for this confidential client:")
	fmt.Fprintf(a.stdout, "  redirect URI              %s\n", cfg.RedirectURL())
	fmt.Fprintf(a.stdout, "  post-logout redirect URI  %s\n", cfg.PostLogoutURL())
	fmt.Fprintf(a.stdout, "  back-channel logout URI   %s\n", backchannelURL(cfg))
	fmt.Fprintf(a.stdout, "the SPA sends the header %q with the value 1 on API and /bff/* calls (csrf.headerName)\n",
		bff.CSRFHeaderName(cfg))
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

// backchannelURL is the OIDC Back-Channel Logout URI of the BFF.
func backchannelURL(cfg config.Config) string {
	return strings.TrimSuffix(cfg.Server.PublicURL, "/") + "/bff/backchannel-logout"
}
