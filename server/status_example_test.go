package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
)

// StatusOf maps the library's errors, wrapped or not, as the server does.
func ExampleStatusOf() {
	for _, err := range []error{
		fmt.Errorf("playlist 7: track %q: %w", "abc", soundalike.ErrNotFound),
		soundalike.ErrNoModel,
		fmt.Errorf("map: %w", soundalike.ErrNoLayout),
		context.DeadlineExceeded,
		errors.New("disk on fire"),
	} {
		fmt.Println(server.StatusOf(err))
	}
	// Output:
	// 404 playlist 7: track "abc": track not found
	// 503 no model: run `soundalike train` first
	// 503 no map: run `soundalike reindex` to compute it
	// 503 request timed out
	// 500 internal server error
}

// A service mounts the server under /api/ beside a handler of its own,
// which answers the library's errors with the server's statuses and body.
func ExampleWriteError() {
	dir, err := os.MkdirTemp("", "soundalike-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	eng, err := soundalike.Open(filepath.Join(dir, "catalogue.db"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer eng.Close()

	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", server.New(eng, nil)))
	mux.HandleFunc("GET /playlists/{id}/similar", func(w http.ResponseWriter, r *http.Request) {
		res, err := eng.Similar(r.Context(), soundalike.TrackID(r.PathValue("id")), 10, nil)
		if err != nil {
			server.WriteError(w, err)
			return
		}
		fmt.Fprintln(w, len(res.Neighbors))
	})

	for _, target := range []string{"/playlists/p1/similar", "/api/similar?track=p1"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		fmt.Print(w.Code, " ", w.Body)
	}
	// Output:
	// 503 {"error":"no database yet: run `soundalike import` first"}
	// 503 {"error":"no database yet: run `soundalike import` first"}
}
