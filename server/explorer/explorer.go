// Package explorer holds the explorer, the web page the server serves at
// /: plain HTML, CSS and JavaScript, embedded in the binary, with no
// third-party code and nothing fetched from the network but the server's
// own API. index.html is the page; explorer.js and explorer.css are
// served under /explorer/. The page names them, and the API, by URLs
// relative to itself, so it works under any path prefix.
package explorer

import "embed"

// Files are the page's files by name: index.html, explorer.css,
// explorer.js.
//
//go:embed index.html explorer.css explorer.js
var Files embed.FS
