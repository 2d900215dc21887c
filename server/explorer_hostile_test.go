package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/server"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The explorer against catalogue data and input an attacker or an unlucky
// user brings: markup in names, ids that need escaping in a URL, bidi
// overrides, empty and very long names, unknown tracks, a model saved with
// records of another shape, and answers arriving out of order.

// Hostile names of hostileCatalogue's tracks.
const (
	markupName  = `<img src=x onerror=alert(1)>`
	pathID      = "a/b?c#d%25e f&g=h+i é🎵" // needs escaping in a path and a query
	overrideRLO = "\u202Eevil"             // a right-to-left override, then "evil"
)

// longName is one unbroken word longer than any screen is wide.
var longName = strings.Repeat("W", 3000)

// hostileCatalogue is tracks whose ids and metadata are hostile or
// unusual, close enough in features that they are each other's
// neighbours, and fillers.
func hostileCatalogue() []*soundalike.Track {
	var ts []*soundalike.Track
	add := func(id, name string, artists []string, energy float64) *soundalike.Track {
		tr := track(id, name, "", energy, 120)
		tr.Artists = artists
		ts = append(ts, tr)
		return tr
	}
	x := add("xss", markupName, []string{`</script><script>alert(2)</script>`, `"'><svg onload=alert(3)>`}, 0.50)
	x.Album = `<iframe src=javascript:alert(4)>`
	x.Genres = []string{`<b onmouseover=alert(5)>g</b>`}
	x.Subgenres = []string{`javascript:alert(6)`}
	add("javascript:alert(7)", "JS id", []string{"j"}, 0.51)
	add(pathID, "Path id", []string{"p"}, 0.52)
	add("..", "Dots", []string{"d"}, 0.53)
	add("x,y", "Comma", []string{"c"}, 0.54)
	e := add("empty", "", nil, 0.55)
	e.Album, e.Genres, e.Subgenres, e.ReleaseDate = "", nil, nil, ""
	add("rlo", overrideRLO, []string{"\u202Eartist"}, 0.56)
	add("zw", "\u200b\u200d\ufeff", []string{"emoji 🎤"}, 0.57)
	l := add("long", longName, []string{strings.Repeat("A", 3000)}, 0.58)
	l.Album = strings.Repeat("B", 3000)
	for i := range 10 {
		add(fmt.Sprintf("f%d", i), fmt.Sprintf("Filler %d", i), []string{"F"}, 0.4+0.01*float64(i))
	}
	return ts
}

// watchInjection makes every page b opens record, in window.injected,
// each dialog it opens and each Content-Security-Policy violation: what
// markup run as HTML would cause.
func watchInjection(b *browser) {
	b.t.Helper()
	_, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		window.injected = [];
		document.addEventListener("securitypolicyviolation", (e) => window.injected.push("CSP " + e.violatedDirective + " " + e.blockedURI));
		for (const f of ["alert", "confirm", "prompt"]) window[f] = (m) => window.injected.push(f + " " + m);`})
	if err != nil {
		b.t.Fatal(err)
	}
}

// injectedElements counts the elements the page has that markup in the
// catalogue would add.
const injectedElements = `document.querySelectorAll("img, svg, iframe, script:not([src]), b, i").length`

// rectJS defines rectOf(root, s): the bounding box, as drawn, of the first
// occurrence of s in root's text.
const rectJS = `function rectOf(root, s) {
	const w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
	for (let n; (n = w.nextNode());) {
		const i = n.data.indexOf(s);
		if (i < 0) continue;
		const r = document.createRange();
		r.setStart(n, i);
		r.setEnd(n, i + s.length);
		const b = r.getBoundingClientRect();
		return { left: b.left, right: b.right };
	}
	return null;
}`

// drawnBefore reports whether, in the element sel, text a is drawn wholly
// left of text b: their order when neither reorders the other.
func (b *browser) drawnBefore(sel, a, bText string) bool {
	b.t.Helper()
	return eval[bool](b, fmt.Sprintf(`(() => { %s
		const root = document.querySelector(%q), a = rectOf(root, %q), b = rectOf(root, %q);
		return !!(a && b) && a.right <= b.left + 0.5; })()`, rectJS, sel, a, bText))
}

// hover moves the pointer onto track id on the map and waits for the
// tooltip to name it.
func (b *browser) hover(id string) {
	b.t.Helper()
	b.do("scroll to the map", chromedp.ScrollIntoView("#map"))
	pos := eval[struct{ X, Y float64 }](b, fmt.Sprintf(`window.soundalikeExplorer.screenOf(%q)`, id))
	b.do("leave the map", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 1, 1))
	b.do("hover "+id, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, pos.X, pos.Y))
	b.waitFor("the tooltip of "+id, fmt.Sprintf(`!document.getElementById("tooltip").hidden && document.getElementById("tooltip").dataset.track === %q`, id))
}

// Given tracks whose names, artists, album and genres hold markup, when the
// explorer shows them (card, neighbours, suggestions, tooltip, legend,
// title), expect the text shown literally: no element added, no script run,
// and the page's CSP refusing any string written as HTML.
func TestExplorerMarkupIsText(t *testing.T) {
	b := newBrowser(t)
	watchInjection(b)
	eng := engineOf(t, hostileCatalogue(), soundalike.ModelRun{}, ready)
	ts := httptest.NewServer(server.New(eng, nil))
	defer ts.Close()

	b.do("open xss", chromedp.Navigate(ts.URL+"/?track=xss&k=100"))
	b.waitFor("the view of xss", `document.body.dataset.loaded === "xss"`)
	b.waitFor("the map", `document.getElementById("map-panel").dataset.points`)
	if got := eval[string](b, `document.querySelector("#query-card h3").textContent`); got != markupName {
		t.Errorf("the card's heading = %q, want %q", got, markupName)
	}
	if got, want := eval[string](b, `document.querySelector("#query-card > div").textContent`), `</script><script>alert(2)</script>, "'><svg onload=alert(3)>`; got != want {
		t.Errorf("the card's artists = %q, want %q", got, want)
	}
	if got := eval[string](b, "document.title"); !strings.Contains(got, markupName) {
		t.Errorf("title = %q, want it to hold %q", got, markupName)
	}
	if !eval[bool](b, `[...document.querySelectorAll("#legend li")].some((li) => li.textContent === "<b onmouseover=alert(5)>g</b>")`) {
		t.Errorf("the legend lacks the genre as text: %q", eval[string](b, `document.getElementById("legend").textContent`))
	}
	if n := eval[int](b, `document.querySelectorAll("#query-card a").length`); n != 0 {
		t.Errorf("the card of a track with no Spotify id has %d links", n)
	}
	// The results are every other track, its id in data-track.
	if got, want := len(b.resultIDs()), len(hostileCatalogue())-1; got != want || !slices.Contains(b.resultIDs(), pathID) {
		t.Errorf("neighbours = %q, want all %d others", b.resultIDs(), want)
	}

	b.do("type", chromedp.SendKeys("#search", "onerror"))
	b.waitFor("the suggestion", `document.querySelector('#suggestions li[data-track="xss"]')`)
	if got := eval[string](b, `document.querySelector('#suggestions li[data-track="xss"] strong').textContent`); got != markupName {
		t.Errorf("suggestion = %q, want %q", got, markupName)
	}
	b.hover("xss")
	b.waitFor("the tooltip's name", `document.getElementById("tooltip").dataset.name`)
	if got := eval[string](b, `document.getElementById("tooltip").textContent`); !strings.HasPrefix(got, markupName+" — </script>") {
		t.Errorf("tooltip = %q, want the name and artists as text", got)
	}

	if n := eval[int](b, injectedElements); n != 0 {
		t.Errorf("the page has %d elements that only markup in the catalogue adds", n)
	}
	if got := eval[[]string](b, "window.injected"); len(got) != 0 {
		t.Errorf("scripts or refused scripts: %q", got)
	}
	// Trusted Types: writing HTML is refused, so a future innerHTML of
	// catalogue text fails loudly instead of running it.
	if refused := eval[bool](b, `(() => { try { document.body.insertAdjacentHTML("beforeend", "<i>x</i>"); return false } catch (e) { return e instanceof TypeError } })()`); !refused {
		t.Error("insertAdjacentHTML of a string succeeded, want it refused by the CSP's require-trusted-types-for")
	}
	// The browser logs the refusal as an error: that one is expected.
	time.Sleep(200 * time.Millisecond)
	b.mu.Lock()
	b.errors = slices.DeleteFunc(b.errors, func(e string) bool { return strings.Contains(e, "TrustedHTML") })
	b.mu.Unlock()
}

// Given track ids holding characters a URL escapes (/ ? # % & + space,
// unicode), a colon, a comma and "..", when the explorer opens each from
// its link, reloads and hovers it on the map, expect the page to ask for
// that track every time.
func TestExplorerEscapedIDs(t *testing.T) {
	b := newBrowser(t)
	eng := engineOf(t, hostileCatalogue(), soundalike.ModelRun{}, ready)
	ts := httptest.NewServer(server.New(eng, nil))
	defer ts.Close()
	for _, c := range []struct{ id, name string }{
		{pathID, "Path id"}, {"javascript:alert(7)", "JS id"}, {"x,y", "Comma"}, {"..", "Dots"},
	} {
		b.do("open "+c.id, chromedp.Navigate(ts.URL+"/?track="+url.QueryEscape(c.id)))
		b.waitFor("the view of "+c.id, fmt.Sprintf(`document.body.dataset.loaded === %q`, c.id))
		b.do("reload", chromedp.Reload())
		b.waitFor("the view of "+c.id+" again", fmt.Sprintf(`document.body.dataset.loaded === %q`, c.id))
		if got := eval[string](b, `new URLSearchParams(location.search).get("track")`); got != c.id {
			t.Errorf("after a reload of %q: the URL's track = %q", c.id, got)
		}
		if got := eval[string](b, `document.querySelector("#query-card h3").textContent`); got != c.name {
			t.Errorf("the card of %q is headed %q, want %q", c.id, got, c.name)
		}
		b.waitFor("the map", `document.getElementById("map-panel").dataset.points`)
		b.hover(c.id)
		b.waitFor("the tooltip's name of "+c.id, `document.getElementById("tooltip").dataset.name`)
		if got := eval[string](b, `document.getElementById("tooltip").dataset.name`); got != c.name {
			t.Errorf("hovering %q: the tooltip names %q, want %q", c.id, got, c.name)
		}
	}
}

// Given a name or artist holding a right-to-left override, when it is
// shown followed by other text (a suggestion's year, the tooltip's genre,
// a history entry's date), expect that text drawn after it, not reordered
// by it: one track cannot pass for another.
func TestExplorerBidiIsolated(t *testing.T) {
	b := newBrowser(t)
	eng := engineOf(t, hostileCatalogue(), soundalike.ModelRun{}, ready)
	addHistory(t, eng, "u1", "rlo")
	ts := httptest.NewServer(server.New(eng, nil))
	defer ts.Close()

	b.do("open", chromedp.Navigate(ts.URL+"/?user=u1"))
	b.do("type", chromedp.SendKeys("#search", "evil"))
	b.waitFor("the suggestion", `document.querySelector('#suggestions li[data-track="rlo"]')`)
	if !b.drawnBefore(`#suggestions li[data-track="rlo"]`, "evil", "2019") {
		t.Errorf("suggestion %q: the year is drawn before the name", eval[string](b, `document.querySelector('#suggestions li[data-track="rlo"]').textContent`))
	}
	b.waitFor("the user's history", `document.querySelector('#user-view li[data-track="rlo"]')`)
	if !b.drawnBefore(`#user-view li[data-track="rlo"]`, "artist", "2024") {
		t.Errorf("history entry %q: the date is drawn before the artist", eval[string](b, `document.querySelector('#user-view li[data-track="rlo"]').textContent`))
	}
	b.waitFor("the map", `document.getElementById("map-panel").dataset.points`)
	b.hover("rlo")
	b.waitFor("the tooltip's name", `document.getElementById("tooltip").dataset.name`)
	if !b.drawnBefore("#tooltip", "evil", "pop") {
		t.Errorf("tooltip %q: the genre is drawn before the name", eval[string](b, `document.getElementById("tooltip").textContent`))
	}
}

// Given a track with an empty name and one whose name is only invisible
// characters, when they are the query and neighbours, expect each named
// by its id, so that it can be read and clicked.
func TestExplorerNamelessTracks(t *testing.T) {
	b := newBrowser(t)
	eng := engineOf(t, hostileCatalogue(), soundalike.ModelRun{}, ready)
	ts := httptest.NewServer(server.New(eng, nil))
	defer ts.Close()
	b.do("open", chromedp.Navigate(ts.URL+"/?track=empty&k=100"))
	b.waitFor("the view of empty", `document.body.dataset.loaded === "empty"`)
	if got := eval[string](b, `document.querySelector("#query-card h3").textContent`); got != "empty" {
		t.Errorf("the card of a nameless track is headed %q, want its id", got)
	}
	// zw's name is a zero-width space, joiner and no-break space.
	const sel = `#results button[data-track="zw"]`
	got := eval[struct {
		Text  string
		Width float64
	}](b, `(() => { const e = document.querySelector('`+sel+`'); return { text: e.textContent, width: e.getBoundingClientRect().width }; })()`)
	if got.Text != "zw" || got.Width < 5 {
		t.Errorf("the neighbour zw's button says %q, %.0f px wide; want its id, readable", got.Text, got.Width)
	}
	b.do("click zw", chromedp.Click(sel))
	b.waitFor("the view of zw", `document.body.dataset.loaded === "zw"`)
}

// Given a name and an artist of 3000 letters without a space, when the
// track is the query and a neighbour, expect the page no wider than the
// window: the text wraps.
func TestExplorerLongNamesWrap(t *testing.T) {
	b := newBrowser(t)
	eng := engineOf(t, hostileCatalogue(), soundalike.ModelRun{}, ready)
	ts := httptest.NewServer(server.New(eng, nil))
	defer ts.Close()
	for _, q := range []string{"long", "xss&k=100"} {
		b.do("open "+q, chromedp.Navigate(ts.URL+"/?track="+q))
		b.waitFor("the view", `document.body.dataset.loaded && document.querySelectorAll("#results li").length > 0`)
		b.waitFor("the map", `document.getElementById("map-panel").dataset.points`)
		if w, inner := eval[int](b, "document.documentElement.scrollWidth"), eval[int](b, "window.innerWidth"); w > inner {
			t.Errorf("/?track=%s: the page is %d px wide in a window of %d", q, w, inner)
		}
	}
	b.hover("long")
	b.waitFor("the tooltip's name", `document.getElementById("tooltip").dataset.name`)
	if w := eval[struct{ Scroll, Client int }](b, `({ scroll: document.getElementById("tooltip").scrollWidth, client: document.getElementById("tooltip").clientWidth })`); w.Scroll > w.Client {
		t.Errorf("the tooltip's text is %d px wide in a box of %d", w.Scroll, w.Client)
	}
}

// Given the view of a track, when the user asks for a track that does not
// exist, expect the error and none of the previous track's card, title or
// neighbours; when an option is refused for the track shown, expect its
// card kept.
func TestExplorerUnknownTrack(t *testing.T) {
	b := newBrowser(t)
	b.expectRefusals()
	eng := engineOf(t, hostileCatalogue(), soundalike.ModelRun{}, ready)
	ts := httptest.NewServer(server.New(eng, nil))
	defer ts.Close()

	b.do("open", chromedp.Navigate(ts.URL+"/?track=rlo"))
	b.waitFor("the view of rlo", `document.body.dataset.loaded === "rlo"`)
	const unknown = "AAAAAAAAAAAAAAAAAAAAAA" // a Spotify id, of no track here
	b.do("ask for "+unknown, chromedp.SendKeys("#search", unknown+"\r"))
	b.waitFor("the error", `document.getElementById("status").classList.contains("error")`)
	if got := eval[string](b, `document.getElementById("status").textContent`); !strings.Contains(got, "not in the catalogue") {
		t.Errorf("status = %q, want the track not in the catalogue", got)
	}
	if got := eval[string](b, `document.getElementById("card").textContent`); strings.Contains(got, "evil") {
		t.Errorf("after asking for %s the card still shows rlo: %q", unknown, got)
	}
	if got := eval[string](b, `document.title + " | " + (document.body.dataset.loaded || "")`); got != "soundalike explorer | " {
		t.Errorf("after asking for %s: title | loaded = %q, want the page's title and none", unknown, got)
	}
	if got := b.resultIDs(); len(got) != 0 {
		t.Errorf("after asking for %s the page lists %v", unknown, got)
	}

	b.do("back", chromedp.NavigateBack())
	b.waitFor("rlo again", `document.body.dataset.loaded === "rlo" && document.querySelectorAll("#results li").length > 0`)
	eval[bool](b, `document.getElementById("year-min").value = "2000";
		document.getElementById("year-max").value = "1990";
		document.getElementById("options").dispatchEvent(new Event("change")); true`)
	b.waitFor("the refusal", `document.getElementById("status").classList.contains("error")`)
	if got := eval[string](b, `document.querySelector("#query-card h3") ? document.querySelector("#query-card h3").textContent : ""`); got != overrideRLO {
		t.Errorf("after a refused option the card is headed %q, want rlo's %q", got, overrideRLO)
	}
	if got := b.resultIDs(); len(got) != 0 {
		t.Errorf("after a refused option the page lists %v", got)
	}
}

// Given models saved with metrics and history of another shape than the
// trainer's, when the explorer shows the model, expect its version and
// whatever curves the history allows, and no script error.
func TestExplorerModelRecords(t *testing.T) {
	for _, c := range []struct {
		name             string
		metrics, history string
		curves           int
	}{
		{"given epochs with only a loss, expect its curve", `{"model":{"precision":"high"},"k":"ten"}`, `{"epochs":[{"loss":0.5},{"loss":0.4}]}`, 1},
		{"given epochs that are no list, expect no curve", `[1,2]`, `{"epochs":"many"}`, 0},
		{"given a null epoch, expect no curve", `"s"`, `{"epochs":[null,{"loss":1}]}`, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBrowser(t)
			eng := engineOf(t, hostileCatalogue()[:3], soundalike.ModelRun{Metrics: json.RawMessage(c.metrics), History: json.RawMessage(c.history)}, ready)
			ts := httptest.NewServer(server.New(eng, nil))
			defer ts.Close()
			b.do("open", chromedp.Navigate(ts.URL+"/"))
			b.waitFor("the model panel", `document.querySelector("#model dl")`)
			if got := eval[string](b, `document.querySelector("#model dd").textContent`); got != "v1" {
				t.Errorf("the model panel's version = %q, want v1", got)
			}
			if got := eval[int](b, `document.querySelectorAll("#model canvas.curve").length`); got != c.curves {
				t.Errorf("the model panel draws %d curves, want %d", got, c.curves)
			}
		})
	}
}

// slowUser is an engine whose history of user is asked for (arrived is
// sent on) and answered only once release is closed: a slow answer the
// page must not let overwrite a later one.
type slowUser struct {
	*soundalike.Engine
	user             string
	arrived, release chan struct{}
}

func (s *slowUser) UserHistory(ctx context.Context, user string) ([]soundalike.Interaction, error) {
	if user == s.user {
		select {
		case s.arrived <- struct{}{}:
		default:
		}
		select {
		case <-s.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.Engine.UserHistory(ctx, user)
}

// Given a user whose view is slow to answer, when the user asks for
// another before it does, expect the other user's view to stay once the
// slow answer arrives.
func TestExplorerUserAnswersInOrder(t *testing.T) {
	b := newBrowser(t)
	eng := engineOf(t, hostileCatalogue(), soundalike.ModelRun{}, ready)
	addHistory(t, eng, "slow", "xss")
	addHistory(t, eng, "u1", "f1", "f2")
	s := &slowUser{Engine: eng, user: "slow", arrived: make(chan struct{}, 1), release: make(chan struct{})}
	ts := httptest.NewServer(server.New(s, nil))
	defer ts.Close()
	release := sync.OnceFunc(func() { close(s.release) })
	defer release() // before ts.Close, which waits for the request

	b.do("open", chromedp.Navigate(ts.URL+"/"))
	b.do("ask for slow", chromedp.SetValue("#user-id", "slow"), chromedp.Click(`#user-form button[type="submit"]`))
	select {
	case <-s.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the page did not ask for slow's history")
	}
	b.do("ask for u1", chromedp.SetValue("#user-id", "u1"), chromedp.Click(`#user-form button[type="submit"]`))
	b.waitFor("u1's view", `document.getElementById("user-view").dataset.user === "u1"`)
	release()
	b.waitFor("slow's answer", `performance.getEntriesByType("resource").some((e) => e.name.includes("/users/slow/history"))`)
	time.Sleep(100 * time.Millisecond) // the page's handling of it
	history := eval[[]string](b, `[...document.querySelector("#user-view ol").children].map((li) => li.dataset.track)`)
	if got := eval[string](b, `document.getElementById("user-view").dataset.user`); got != "u1" || !slices.Equal(history, []string{"f2", "f1"}) {
		t.Errorf("after slow's late answer the view is of %q with history %v, want u1's [f2 f1]", got, history)
	}
}

// Given users "." and "..", which a browser cannot name in a URL path
// (its URL parser resolves them as dot segments, escaped as %2E too),
// when the explorer is asked for their view, expect it to say why and to
// send no request; a user "..." is no dot segment and is shown. The API
// answers "..", escaped, to a client that sends the path as written.
func TestExplorerDotUserIDs(t *testing.T) {
	b := newBrowser(t)
	eng := engineOf(t, hostileCatalogue(), soundalike.ModelRun{}, ready)
	for _, u := range []string{".", "..", "..."} {
		addHistory(t, eng, u, "f1", "f2")
	}
	var mu sync.Mutex
	var paths []string
	srv := server.New(eng, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.EscapedPath())
		mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	defer ts.Close()

	for _, u := range []string{".", ".."} {
		b.do("open user "+u, chromedp.Navigate(ts.URL+"/?user="+url.QueryEscape(u)))
		b.waitFor("the view of user "+u, fmt.Sprintf(`document.getElementById("user-view").dataset.user === %q`, u))
		b.waitFor("the model panel", `document.querySelector("#model dl, #model p")`)
		msg := eval[string](b, `document.getElementById("user-view").textContent`)
		if !strings.Contains(msg, "cannot be asked for from a browser") || !strings.Contains(msg, "/users/"+strings.ReplaceAll(u, ".", "%2E")+"/history") {
			t.Errorf("the view of user %q says %q, want why a browser cannot ask for it", u, msg)
		}
	}
	b.do("ask for user ...", chromedp.SetValue("#user-id", "..."), chromedp.Click(`#user-form button[type="submit"]`))
	b.waitFor("the view of user ...", `document.getElementById("user-view").dataset.user === "..." && document.querySelector("#user-view ol")`)
	if got := eval[[]string](b, `[...document.querySelector("#user-view ol").children].map((li) => li.dataset.track)`); !slices.Equal(got, []string{"f2", "f1"}) {
		t.Errorf("user ...'s history on the page: %v, want [f2 f1]", got)
	}
	mu.Lock()
	for _, p := range paths {
		if strings.Contains(p, "history") || strings.Contains(p, "recommend") {
			if p != "/users/.../history" && p != "/users/.../recommend" {
				t.Errorf("the page asked for %s", p)
			}
		}
	}
	mu.Unlock()

	resp, err := http.Get(ts.URL + "/users/%2E%2E/history")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h server.HistoryResponse
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || resp.StatusCode != http.StatusOK || h.User != ".." || len(h.Interactions) != 2 {
		t.Errorf("GET /users/%%2E%%2E/history = %d %+v %v, want user ..'s 2 interactions", resp.StatusCode, h, err)
	}
}

// Given a map whose sample holds no point (the server here answers the
// page's GET /map?sample=25000 with none), when the explorer opens track
// "x,y", expect it to fetch the points of the query and its neighbours
// by id, the comma-holding id whole, and to draw them.
func TestExplorerMapCommaID(t *testing.T) {
	b := newBrowser(t)
	eng := engineOf(t, hostileCatalogue(), soundalike.ModelRun{}, ready)
	srv := server.New(eng, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/map" && r.URL.Query().Get("sample") == "25000" {
			r.URL.RawQuery = "sample=0"
		}
		srv.ServeHTTP(w, r)
	}))
	defer ts.Close()

	b.do("open x,y", chromedp.Navigate(ts.URL+"/?track="+url.QueryEscape("x,y")))
	b.waitFor("the view of x,y", `document.body.dataset.loaded === "x,y"`)
	want := append([]string{"x,y"}, b.resultIDs()...)
	b.waitFor("the map", `document.getElementById("map-panel").dataset.points === "0"`)
	b.waitFor("the query's point", `window.soundalikeExplorer.mapIDs().includes("x,y")`)
	got := eval[[]string](b, `window.soundalikeExplorer.mapIDs()`)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the map draws %v, want the query and its neighbours %v", got, want)
	}
	if p := eval[*struct{ X, Y float64 }](b, `window.soundalikeExplorer.screenOf("x,y")`); p == nil {
		t.Error("x,y is not drawn on the map")
	}
}
