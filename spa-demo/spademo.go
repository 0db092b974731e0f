// Package spademo holds the demo single-page app (web/, plain HTML and ES modules with no
// build step, embedded) and the demo API that `bff demo` and the end-to-end tests put
// behind the BFF. The API verifies the bearer it receives like any real resource server
// would and reports what it saw, so the SPA can show a refresh happen.
package spademo

import (
	"embed"
	"io/fs"
)

//go:embed web
var web embed.FS

// Files is the demo SPA: index.html, app.js, style.css (the client is the BFF's /bff/client.js).
func Files() fs.FS {
	sub, err := fs.Sub(web, "web")
	if err != nil {
		panic(err) // the embed directive guarantees web/ exists
	}
	return sub
}
