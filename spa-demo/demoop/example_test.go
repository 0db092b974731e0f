package demoop_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/tokenward/bff/spa-demo/demoop"
)

// ExampleNew serves an OP on a loopback port: the issuer must be known before New, so the
// listener is opened first.
func ExampleNew() {
	srv := httptest.NewUnstartedServer(nil)
	op, err := demoop.New(demoop.Config{
		Issuer: "http://" + srv.Listener.Addr().String(),
		Clients: []demoop.Client{{
			ID: "bff", Secret: "demo-secret",
			RedirectURIs:           []string{"http://127.0.0.1:8080/bff/callback"},
			PostLogoutRedirectURIs: []string{"http://127.0.0.1:8080/"},
			BackchannelLogoutURI:   "http://127.0.0.1:8080/bff/backchannel-logout",
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv.Config.Handler = op.Handler()
	srv.Start()
	defer srv.Close()
	fmt.Println(op.Stats().AuthCodeGrants)
	// Output: 0
}
