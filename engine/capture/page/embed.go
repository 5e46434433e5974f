// Package page holds the capture page's static assets (plain HTML, CSS and
// JavaScript, no CDN) so the web server can embed and serve them.
//
// capture.js exposes HeshenCapture.start(options), which opens the camera,
// makes a non-trickle WebRTC offer with the "ctl" DataChannel, POSTs it as
// JSON {"sdp": offer} to options.offerURL, expects {"sdp": answer} (or
// {"error": {...}}), renders each challenge step the server sends and
// acknowledges it. index.html is a complete capture screen built on it.
package page

import (
	"embed"
	"io/fs"
)

//go:embed assets
var assets embed.FS

// FS returns the assets: index.html, index.js, capture.js, capture.css (no
// inline script, so a strict script-src 'self' CSP works).
func FS() fs.FS {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}
