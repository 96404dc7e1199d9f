// Package web is the browser client `softphone serve` serves at /: plain ES
// modules and a stylesheet, embedded in the binary, with no build step. The
// module js/necallkit.js is NeCallKit's call API over the signaling
// protocol (docs/web-client.md); js/app.js is the client's screens.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// contentSecurityPolicy keeps the page to its own scripts and styles; media
// and signaling go to the server that served it (ws/wss) or one the user
// names at login, hence the scheme-wide connect-src.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Files returns the client's files (index.html, app.css, js/*.js).
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return sub
}

// Handler serves the client. Files are revalidated on every load, so a
// browser never mixes modules of two server versions.
func Handler() http.Handler {
	files := http.FileServerFS(Files())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", "camera=(self), microphone=(self)")
		files.ServeHTTP(w, r)
	})
}
