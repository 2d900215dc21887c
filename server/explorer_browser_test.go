package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// The explorer (the page at /) is tested in a real headless Chromium,
// driven by chromedp. Without a browser the tests skip, saying how to
// install one; with SOUNDALIKE_TEST_BROWSER_REQUIRED set (as .ci/run sets
// it) or CI=true they fail instead.
//
// SOUNDALIKE_EXPLORER_SCREENSHOTS=DIR keeps the screenshots in DIR (the
// README's is docs/explorer.png, taken by TestExplorerCatalogue on the dev
// catalogue); otherwise they go to a temporary directory.

// browserPath returns the Chromium to drive, or skips (or fails, when
// required) without one.
func browserPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium on PATH: install it (Debian/Ubuntu: apt-get install -y chromium) to run the explorer's browser tests"
	if os.Getenv("SOUNDALIKE_TEST_BROWSER_REQUIRED") != "" || os.Getenv("CI") == "true" {
		t.Fatal(msg + " (they must run here: SOUNDALIKE_TEST_BROWSER_REQUIRED or CI=true is set)")
	}
	t.Skip(msg)
	return ""
}

// browser is a headless Chromium tab recording every console error.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu     sync.Mutex
	errors []string
	// refusals is set when the test makes the server refuse requests:
	// the browser's log entries for them are then no error.
	refusals bool
}

// expectRefusals stops counting the browser's log entries for requests
// the server answered with an error status ("Failed to load resource"),
// for a test that makes the server refuse some.
func (b *browser) expectRefusals() {
	b.mu.Lock()
	b.refusals = true
	b.mu.Unlock()
}

// newBrowser starts a headless Chromium with one tab, for the test's life.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := browserPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root
		chromedp.WindowSize(1280, 1400),
	)
	ctx := startBrowser(t, path, opts)
	b := &browser{t: t, ctx: ctx}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				if !b.refusals || m.Source != "network" {
					b.errors = append(b.errors, m.String()+" ("+m.URL+")")
				}
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(b.checkConsole)
	return b
}

// startAttempts is how many times startBrowser launches Chromium. On a
// loaded CI machine a launch can exit before it listens ("chrome failed
// to start"); a fresh launch with a fresh profile starts.
const startAttempts = 3

// startBrowser launches Chromium at path with opts and a profile of its
// own, and returns a context for a tab in it, closed when t ends.
func startBrowser(t *testing.T, path string, opts []chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	var err error
	for range startAttempts {
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(opts, chromedp.UserDataDir(t.TempDir()))...)
		ctx, cancel := chromedp.NewContext(actx)
		if err = chromedp.Do(ctx); err == nil {
			t.Cleanup(func() { cancel(); cancelAlloc() })
			return ctx
		}
		cancel()
		cancelAlloc()
		t.Logf("start %s: %v; launching again", path, err)
	}
	t.Fatalf("start %s: %d launches failed, the last: %v", path, startAttempts, err)
	return nil
}

// checkConsole fails the test on any console error or exception.
func (b *browser) checkConsole() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		b.t.Errorf("browser console: %s", e)
	}
	b.errors = nil
}

// do runs actions, failing the test on an error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page into v.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor waits until the expression is true in the page. (chromedp.Poll
// builds its predicate with new Function, which the page's CSP forbids.)
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s (%s): err %v; status %q", what, expr, err,
				eval[string](b, `document.getElementById("status").textContent`))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// screenshot saves the page as name.png in the screenshot directory.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("SOUNDALIKE_EXPLORER_SCREENSHOTS")
	if dir == "" {
		dir = b.t.TempDir()
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// resultIDs are the ids the page lists as neighbours, in order.
func (b *browser) resultIDs() []string {
	return eval[[]string](b, `[...document.querySelectorAll("#results > li")].map(li => li.dataset.track)`)
}

// similarIDs asks GET /similar (with the extra parameters) for the ids
// the page should list.
func similarIDs(t *testing.T, base, id, extra string) []string {
	t.Helper()
	resp, err := http.Get(base + "/similar?track=" + url.QueryEscape(id) + "&k=10" + extra)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body server.SimilarResponse
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /similar?track=%s%s: %d %v", id, extra, resp.StatusCode, err)
	}
	ids := make([]string, len(body.Results))
	for i, r := range body.Results {
		ids[i] = r.TrackID
	}
	return ids
}

// addHistory gives user a play of each track, an hour apart, in order.
func addHistory(t *testing.T, eng *soundalike.Engine, user string, tracks ...string) {
	t.Helper()
	day := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
		for i, id := range tracks {
			it := &soundalike.Interaction{User: user, Track: soundalike.TrackID(id), Action: soundalike.ActionPlay, Time: day.Add(time.Duration(i) * time.Hour)}
			if _, err := tx.PutInteraction(it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// userRecommendIDs asks GET /users/{user}/recommend?k=20 for the ids the
// page should list.
func userRecommendIDs(t *testing.T, base, user string) []string {
	t.Helper()
	resp, err := http.Get(base + "/users/" + url.PathEscape(user) + "/recommend?k=20")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /users/%s/recommend: %v %v", user, resp, err)
	}
	defer resp.Body.Close()
	var body struct {
		Results []struct {
			TrackID string `json:"track_id"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(body.Results))
	for i, r := range body.Results {
		ids[i] = r.TrackID
	}
	return ids
}

func TestExplorer(t *testing.T) {
	b := newBrowser(t)
	eng := newEngine(t, ready)
	ts := httptest.NewServer(server.New(eng, nil))
	defer ts.Close()

	// The page loads with its CSP and nothing inline.
	resp, err := http.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("GET / Content-Security-Policy = %q, want scripts from 'self' only", csp)
	}
	b.do("open /", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible("#search"))
	b.waitFor("the model panel", `document.querySelector("#model dl")`)
	b.waitFor("the map", `document.getElementById("map-panel").dataset.points === "30"`)

	// Type, pick a suggestion: the neighbours are GET /similar's.
	b.do("type", chromedp.SendKeys("#search", "song a"))
	b.waitFor("suggestions", `document.querySelector('#suggestions li[data-track="a"]')`)
	b.do("pick", chromedp.Click(`#suggestions li[data-track="a"]`))
	b.waitFor("the view of a", `document.body.dataset.loaded === "a"`)
	if loc := eval[string](b, "location.search"); loc != "?track=a" {
		t.Errorf("after picking a: location.search = %q, want ?track=a", loc)
	}
	ofA := b.resultIDs()
	if want := similarIDs(t, ts.URL, "a", ""); !slices.Equal(ofA, want) || len(want) == 0 {
		t.Errorf("neighbours of a: page lists %v, GET /similar answers %v", ofA, want)
	}
	if n := eval[int](b, `document.querySelectorAll("#query-card .bars .bar").length`); n != 11 {
		t.Errorf("the query card has %d feature bars, want 11", n)
	}
	b.screenshot("explorer-fixture")

	// Click a neighbour: it becomes the query, in the URL and the list.
	next := ofA[0]
	b.do("click a neighbour", chromedp.Click(fmt.Sprintf(`#results li[data-track=%q] button`, next)))
	b.waitFor("the neighbour's view", fmt.Sprintf(`document.body.dataset.loaded === %q`, next))
	if loc := eval[string](b, "location.search"); loc != "?track="+url.QueryEscape(next) {
		t.Errorf("after clicking %s: location.search = %q", next, loc)
	}
	if got := b.resultIDs(); slices.Equal(got, ofA) || !slices.Equal(got, similarIDs(t, ts.URL, next, "")) {
		t.Errorf("neighbours of %s: page lists %v (a's were %v)", next, got, ofA)
	}

	// Back returns to a's view.
	b.do("back", chromedp.NavigateBack())
	b.waitFor("a's view again", `document.body.dataset.loaded === "a" && location.search === "?track=a"`)

	// Exclude the same artist: the list is GET /similar's with the flag,
	// and none of a's artist is left.
	b.do("exclude artist", chromedp.Click("#exclude-artist"))
	b.waitFor("the excluded view", `location.search.includes("exclude_artist=true") && document.body.dataset.view.includes("exclude_artist=true")`)
	excl := b.resultIDs()
	if want := similarIDs(t, ts.URL, "a", "&exclude_artist=true"); !slices.Equal(excl, want) {
		t.Errorf("excluding a's artist: page lists %v, GET /similar answers %v", excl, want)
	}
	for _, id := range excl {
		if tr, err := eng.Track(context.Background(), soundalike.TrackID(id)); err != nil || slices.Contains(tr.Artists, "Artist X") {
			t.Errorf("excluding a's artist, the page lists %s (%v)", id, err)
		}
	}
	if slices.Equal(excl, ofA) {
		t.Errorf("excluding a's artist changed nothing: %v", excl)
	}

	// A per-artist cap and a popularity filter: the list is GET /similar's
	// with the same parameters.
	eval[bool](b, `document.getElementById("max-per-artist").value = "1";
		document.getElementById("popularity-min").value = "1";
		document.getElementById("options").dispatchEvent(new Event("change")); true`)
	b.waitFor("the filtered view", `document.body.dataset.view.includes("max_per_artist=1") && document.body.dataset.view.includes("popularity_min=1")`)
	if got, want := b.resultIDs(), similarIDs(t, ts.URL, "a", "&exclude_artist=true&max_per_artist=1&popularity_min=1"); !slices.Equal(got, want) || len(want) == 0 {
		t.Errorf("with a per-artist cap and popularity ≥ 1: page lists %v, GET /similar answers %v", got, want)
	}

	// A user's view: their history and GET /users/{id}/recommend's answer.
	addHistory(t, eng, "u1", "t03", "t07")
	b.do("a user", chromedp.SetValue("#user-id", "u1"), chromedp.Click(`#user-form button[type="submit"]`))
	b.waitFor("the user's view", `document.getElementById("user-view").dataset.user === "u1" && document.querySelectorAll("#user-view ol").length === 2`)
	lists := eval[[][]string](b, `[...document.querySelectorAll("#user-view ol")].map(ol => [...ol.children].map(li => li.dataset.track))`)
	if !slices.Equal(lists[0], []string{"t07", "t03"}) {
		t.Errorf("u1's history on the page: %v, want t07, t03 (newest first)", lists[0])
	}
	if got := eval[string](b, `document.querySelector("#user-view h3").textContent`); got != "History (2)" {
		t.Errorf("u1's history title: %q, want History (2)", got)
	}
	if want := userRecommendIDs(t, ts.URL, "u1"); !slices.Equal(lists[1], want) || len(want) == 0 {
		t.Errorf("u1's recommendations: page lists %v, GET /users/u1/recommend answers %v", lists[1], want)
	}
	// A track deleted since stays in the history, named by its id.
	if err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error { _, err := tx.DeleteTrack("t03"); return err }); err != nil {
		t.Fatal(err)
	}
	eval[bool](b, `document.getElementById("user-view").dataset.user = ""; true`)
	b.do("the user again", chromedp.Click(`#user-form button[type="submit"]`))
	b.waitFor("the user's view after t03's deletion", `document.getElementById("user-view").dataset.user === "u1" && document.querySelectorAll("#user-view ol").length === 2`)
	if got := eval[string](b, `document.querySelector('#user-view ol li[data-track="t03"]')?.textContent ?? ""`); !strings.Contains(got, "deleted") {
		t.Errorf("u1's history on the page after t03's deletion: t03's item %q, want it named as deleted", got)
	}

	// A history longer than the page shows: the title says how many of
	// how many.
	long := make([]string, 51)
	for i := range long {
		long[i] = "t07" // each at its own hour: 51 interactions
	}
	addHistory(t, eng, "u2", long...)
	b.do("a user with a long history", chromedp.SetValue("#user-id", "u2"), chromedp.Click(`#user-form button[type="submit"]`))
	b.waitFor("u2's view", `document.getElementById("user-view").dataset.user === "u2"`)
	if got := eval[string](b, `document.querySelector("#user-view h3").textContent`); got != "Recent history (newest 50 of 51)" {
		t.Errorf("u2's history title: %q, want Recent history (newest 50 of 51)", got)
	}

	// Hover a point of the map: the tooltip names the track under the
	// pointer.
	target := "t10"
	pos := eval[struct{ X, Y float64 }](b, `window.soundalikeExplorer.screenOf("t10")`)
	b.do("scroll to the map", chromedp.ScrollIntoView("#map"))
	pos = eval[struct{ X, Y float64 }](b, `window.soundalikeExplorer.screenOf("t10")`)
	b.do("hover", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, pos.X, pos.Y))
	b.waitFor("the tooltip", `!document.getElementById("tooltip").hidden && document.getElementById("tooltip").dataset.name`)
	under := eval[string](b, `document.getElementById("tooltip").dataset.track`)
	tip := eval[string](b, `document.getElementById("tooltip").textContent`)
	tr, err := eng.Track(context.Background(), soundalike.TrackID(under))
	if err != nil || !strings.Contains(tip, tr.Name) {
		t.Errorf("hovering %s: the tooltip says %q about %q (%v)", target, tip, under, err)
	}
	if p := eval[struct{ X, Y float64 }](b, fmt.Sprintf(`window.soundalikeExplorer.screenOf(%q)`, under)); (p.X-pos.X)*(p.X-pos.X)+(p.Y-pos.Y)*(p.Y-pos.Y) > 64 {
		t.Errorf("hovering %s at (%.0f, %.0f): the tooltip names %s, drawn at (%.0f, %.0f)", target, pos.X, pos.Y, under, p.X, p.Y)
	}
	b.screenshot("explorer-fixture-map")

	// Click the point: it becomes the query.
	b.do("click the point", chromedp.MouseClickXY(pos.X, pos.Y))
	b.waitFor("the point's view", fmt.Sprintf(`document.body.dataset.loaded === %q`, under))

	// A shared link opens its view directly.
	b.do("open a link", chromedp.Navigate(ts.URL+"/?track=t05&exclude_artist=true"))
	b.waitFor("the linked view", `document.body.dataset.loaded === "t05"`)
	if !eval[bool](b, `document.getElementById("exclude-artist").checked`) {
		t.Error("opening /?track=t05&exclude_artist=true: the exclude-artist box is not ticked")
	}
}

// prefixed serves h under prefix, as a reverse proxy that strips it
// does, and records every request that reaches the server outside it.
type prefixed struct {
	prefix string
	h      http.Handler

	mu      sync.Mutex
	outside []string
}

func (p *prefixed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != p.prefix && !strings.HasPrefix(r.URL.Path, p.prefix+"/") {
		p.mu.Lock()
		p.outside = append(p.outside, r.Method+" "+r.RequestURI)
		p.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	http.StripPrefix(p.prefix, p.h).ServeHTTP(w, r)
}

func (p *prefixed) requestsOutside() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.outside)
}

// Given the server mounted under /soundalike by a proxy that strips the
// prefix, when the explorer is opened there (without the trailing slash
// too), searched, clicked through, and its map, tooltip, user view and
// model panel used, expect the page to work and every request it makes
// to stay under the prefix.
func TestExplorerUnderPrefix(t *testing.T) {
	b := newBrowser(t)
	eng := newEngine(t, ready)
	addHistory(t, eng, "u1", "t03", "t07")
	p := &prefixed{prefix: "/soundalike", h: server.New(eng, nil)}
	ts := httptest.NewServer(p)
	defer ts.Close()
	base := ts.URL + "/soundalike"

	// Without the trailing slash, the page redirects to it: its relative
	// URLs resolve under the prefix only from there.
	b.do("open /soundalike", chromedp.Navigate(base+"?track=a"), chromedp.WaitVisible("#search"))
	if got := eval[string](b, "location.pathname + location.search"); got != "/soundalike/?track=a" {
		t.Errorf("opening /soundalike?track=a: the page is at %q, want /soundalike/?track=a", got)
	}
	b.waitFor("the view of a", `document.body.dataset.loaded === "a"`)
	ofA := b.resultIDs()
	if want := similarIDs(t, base, "a", ""); !slices.Equal(ofA, want) || len(want) == 0 {
		t.Errorf("neighbours of a: page lists %v, GET /soundalike/similar answers %v", ofA, want)
	}
	b.waitFor("the map", `document.getElementById("map-panel").dataset.points === "30"`)
	b.waitFor("the model panel", `document.querySelector("#model dl")`)

	// Search, pick, click a neighbour: the URL stays under the prefix.
	b.do("type", chromedp.SendKeys("#search", "x song 2"))
	b.waitFor("suggestions", `document.querySelector('#suggestions li[data-track="x2"]')`)
	b.do("pick", chromedp.Click(`#suggestions li[data-track="x2"]`))
	b.waitFor("the view of x2", `document.body.dataset.loaded === "x2"`)
	next := b.resultIDs()[0]
	b.do("click a neighbour", chromedp.Click(fmt.Sprintf(`#results li[data-track=%q] button`, next)))
	b.waitFor("the neighbour's view", fmt.Sprintf(`document.body.dataset.loaded === %q`, next))
	if got, want := eval[string](b, "location.pathname + location.search"), "/soundalike/?track="+url.QueryEscape(next); got != want {
		t.Errorf("after clicking %s: the page is at %q, want %q", next, got, want)
	}

	// The tooltip asks for the track under the pointer.
	b.do("scroll to the map", chromedp.ScrollIntoView("#map"))
	pos := eval[struct{ X, Y float64 }](b, `window.soundalikeExplorer.screenOf("t10")`)
	b.do("hover", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, pos.X, pos.Y))
	b.waitFor("the tooltip's name", `!document.getElementById("tooltip").hidden && document.getElementById("tooltip").dataset.name`)

	// A user's view.
	b.do("a user", chromedp.SetValue("#user-id", "u1"), chromedp.Click(`#user-form button[type="submit"]`))
	b.waitFor("the user's view", `document.getElementById("user-view").dataset.user === "u1" && document.querySelectorAll("#user-view ol").length === 2`)
	if got := eval[[]string](b, `[...document.querySelector("#user-view ol").children].map(li => li.dataset.track)`); !slices.Equal(got, []string{"t07", "t03"}) {
		t.Errorf("u1's history under the prefix: %v, want t07, t03", got)
	}

	// The heading links to the page under the prefix.
	if got := eval[string](b, `document.querySelector("header h1 a").href`); got != base+"/" {
		t.Errorf("the heading links to %q, want %q", got, base+"/")
	}
	b.do("follow the heading", chromedp.Click("header h1 a"))
	b.waitFor("the empty view", `location.pathname === "/soundalike/" && location.search === "" && !document.body.dataset.loaded`)
	b.waitFor("the map again", `document.getElementById("map-panel").dataset.points === "30"`)

	if out := p.requestsOutside(); len(out) > 0 {
		t.Errorf("requests outside /soundalike: %v", out)
	}
}

// TestExplorerCatalogue opens the explorer on a real database
// (SOUNDALIKE_EXPLORER_DB, built by import, train and reindex) and
// measures how long the first view takes: from navigation to the first
// neighbours listed. It takes the README's screenshot.
func TestExplorerCatalogue(t *testing.T) {
	path := os.Getenv("SOUNDALIKE_EXPLORER_DB")
	if path == "" {
		t.Skip("SOUNDALIKE_EXPLORER_DB is not set: point it at a database with a model and an index")
	}
	b := newBrowser(t)
	eng, err := soundalike.Open(path, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ts := httptest.NewServer(server.New(eng, nil))
	defer ts.Close()
	query := os.Getenv("SOUNDALIKE_EXPLORER_TRACK")
	if query == "" {
		ts, err := eng.SearchTracks(context.Background(), "blinding lights", 1)
		if err != nil || len(ts) == 0 {
			t.Fatalf("no query track: %v", err)
		}
		query = string(ts[0].ID)
	}
	if err := eng.Ready(t.Context()); err != nil { // load the snapshot before timing
		t.Fatal(err)
	}
	if _, err := server.Similar(context.Background(), eng, soundalike.TrackID(query), 10, nil); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	b.do("open", chromedp.Navigate(ts.URL+"/?track="+url.QueryEscape(query)))
	b.waitFor("the first neighbours", `document.querySelectorAll("#results > li").length > 0`)
	first := time.Since(start)
	b.waitFor("the map", `Number(document.getElementById("map-panel").dataset.points) > 0`)
	mapped := time.Since(start)
	t.Logf("first view of %s on %d tracks: neighbours listed after %v, map drawn after %v",
		query, eng.Stats().Tracks, first.Round(time.Millisecond), mapped.Round(time.Millisecond))
	t.Logf("requests: %s", eval[string](b, `performance.getEntriesByType("resource").map(e => e.name.replace(location.origin, "") + " " + Math.round(e.startTime) + "+" + Math.round(e.duration) + "ms").join("; ")`))
	b.waitFor("the model panel", `document.querySelector("#model dl")`)
	b.do("open the first neighbour's features", chromedp.Click("#results > li:first-child details summary"))
	b.screenshot("explorer")
}
