package server_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
	"github.com/prometheus/client_golang/prometheus"
)

// An embedder that swaps engines builds a new Server on the Registerer
// the old one used: /metrics then reports the new Server's engine and
// searches, not the old one's, whichever Server's /metrics is asked.
func TestMetricsSharedRegistererReadsNewestServer(t *testing.T) {
	reg := prometheus.NewRegistry()
	old := &canned{stats: soundalike.Stats{}} // a closed engine reports nothing
	a := server.New(old, &server.Options{Registerer: reg})
	loaded := time.Unix(1700000000, 0)
	entered, unblock := make(chan struct{}, 1), make(chan struct{})
	f := &hooked{Engine: newEngine(t, ready), hook: func(soundalike.Query) error { entered <- struct{}{}; <-unblock; return nil }}
	b := server.New(statsOf{f, soundalike.Stats{Tracks: 3043, Indexed: 3040, Generation: 7, ModelVersion: "v2", ReloadFailures: 1, Loaded: loaded}},
		&server.Options{Registerer: reg})

	done := make(chan struct{})
	go func() {
		defer close(done)
		b.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), "GET", "/similar?track=a", nil))
	}()
	<-entered // a search runs on b
	for name, h := range map[string]*server.Server{"the old server": a, "the new server": b} {
		m := do(t, h, "GET", "/metrics", "").Body.String()
		for _, want := range []string{
			"soundalike_catalogue_tracks 3043", "soundalike_index_size 3040", "soundalike_generation 7",
			`soundalike_model_info{version="v2"} 1`, "soundalike_reload_failures_total 1",
			"soundalike_reload_last_success_timestamp_seconds 1.7e+09", "soundalike_searches_in_flight 1",
		} {
			if !strings.Contains(m, want) {
				t.Errorf("GET /metrics of %s lacks %s:\n%s", name, want, grepLines(m, "soundalike_"))
			}
		}
	}
	close(unblock)
	<-done
}

// The help of the searches' gauges names the serve flag that bounds each,
// for an operator, and the option, for an embedder.
func TestMetricsHelpNamesTheFlags(t *testing.T) {
	m := do(t, server.New(newEngine(t, ready), nil), "GET", "/metrics", "").Body.String()
	for metric, names := range map[string][]string{
		"soundalike_searches_in_flight": {"serve --max-in-flight", "Options.MaxInFlight"},
		"soundalike_searches_queued":    {"serve --max-queued", "Options.MaxQueued"},
	} {
		help := grepLines(m, "# HELP "+metric+" ")
		for _, name := range names {
			if !strings.Contains(help, name) {
				t.Errorf("%s's help %q does not name %s", metric, help, name)
			}
		}
	}
}

// statsOf is a Searcher whose Stats are given.
type statsOf struct {
	server.Searcher
	stats soundalike.Stats
}

func (s statsOf) Stats() soundalike.Stats { return s.stats }
