package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/synth"
	"github.com/audotics/soundalike/server"
)

// testDB builds a database of n random tracks with a model and an index,
// closes it and returns its path.
func testDB(t testing.TB, n int) string {
	t.Helper()
	path := noIndexDB(t, n)
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if _, err := eng.Reindex(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return path
}

// noIndexDB builds a database of n random tracks with a model and no
// index yet, closes it and returns its path.
func noIndexDB(t testing.TB, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	eng, err := soundalike.Open(path, &soundalike.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	err = eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		for i := range n {
			if _, _, err := tx.PutTrack(synth.SmallTrack(rng, i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := synth.Model(1, []int{32}, 16)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SaveModel(ctx, m, soundalike.ModelRun{}); err != nil {
		t.Fatal(err)
	}
	return path
}

// `similar --json` prints what GET /similar answers, took_us aside.
func TestSimilarCommandMatchesAPI(t *testing.T) {
	db := testDB(t, 300)
	out, _, err := runCmd(t.Context(), "similar", "--db", db, "--track", "t0007", "-k", "5", "--json")
	if err != nil {
		t.Fatalf("similar: %v", err)
	}
	eng, err := soundalike.Open(db, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	w := httptest.NewRecorder()
	server.New(eng, nil).ServeHTTP(w, httptest.NewRequest("GET", "/similar?track=t0007&k=5", nil))
	if w.Code != 200 {
		t.Fatalf("GET /similar = %d %s", w.Code, w.Body)
	}
	norm := func(s string) server.SimilarResponse {
		var r server.SimilarResponse
		if err := json.Unmarshal([]byte(s), &r); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		r.TookUS = 0
		return r
	}
	cli, api := norm(out), norm(w.Body.String())
	if len(cli.Results) != 5 || cli.Track == nil || cli.Track.TrackID != "t0007" {
		t.Fatalf("similar --json = %s, want t0007 and 5 results", out)
	}
	for _, r := range api.Results {
		if r.TrackID == "t0007" {
			t.Errorf("GET /similar?track=t0007 returned t0007 itself: %+v", api.Results)
		}
	}
	cb, _ := json.Marshal(cli)
	ab, _ := json.Marshal(api)
	if !bytes.Equal(cb, ab) {
		t.Errorf("similar --json = %s\nGET /similar = %s\nwant the same", cb, ab)
	}

	out, _, err = runCmd(t.Context(), "similar", "--db", db, "--track", "t0007", "-k", "3")
	if err != nil {
		t.Fatalf("similar: %v", err)
	}
	for _, want := range []string{"Song 7", cli.Results[0].TrackID, cli.Results[0].Name, "SCORE"} {
		if !strings.Contains(out, want) {
			t.Errorf("similar table = %q, want it to contain %q", out, want)
		}
	}
}

func TestSimilarCommandErrors(t *testing.T) {
	db := testDB(t, 50)
	cases := []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"given no --track, when similar, expect a usage error", []string{"--db", db}, true, "--track"},
		{"given -k 0, when similar, expect a usage error naming the range", []string{"--db", db, "--track", "t0001", "-k", "0"}, true, "1..1000"},
		{"given -k 1001, when similar, expect a usage error", []string{"--db", db, "--track", "t0001", "-k", "1001"}, true, "-k"},
		{"given an unknown track, when similar, expect not found", []string{"--db", db, "--track", "nope"}, false, `track "nope" is not in the catalogue (never imported, or deleted since)`},
		{"given a stray argument, when similar, expect a usage error", []string{"--db", db, "t0001"}, true, "--track"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCmd(t.Context(), append([]string{"similar"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("similar %v = %v, want an error mentioning %q", tc.args, err, tc.want)
			}
			if got := exitCode(err, io.Discard) == 2; got != tc.usage {
				t.Errorf("similar %v: usage error = %v, want %v", tc.args, got, tc.usage)
			}
		})
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// serve answers, picks up a reindex made by another writer without a
// restart, and stops cleanly when its context is done.
func TestServeCommand(t *testing.T) {
	db := testDB(t, 200)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	var errw bytes.Buffer
	go func() {
		done <- run(ctx, []string{"serve", "--db", db, "--addr", addr, "--reload", "50ms", "--log", "json"}, strings.NewReader(""), io.Discard, &errw)
	}()
	base := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _ := get(t, base+"/readyz"); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready after 10s; stderr: %s", errw.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, body := get(t, base+"/similar?track=t0003&k=4"); code != 200 || strings.Count(body, `"track_id"`) != 5 {
		t.Fatalf("GET /similar = %d %s, want 200 with the track and 4 results", code, body)
	}
	if code, body := get(t, base+"/map?sample=5"); code != 200 || strings.Count(body, `"track_id"`) != 5 {
		t.Fatalf("GET /map?sample=5 = %d %s, want 200 with 5 points (the explorer's map)", code, body)
	}
	if code, _ := get(t, base+"/tracks/t9999"); code != 404 {
		t.Fatalf("GET /tracks/t9999 = %d, want 404 before the import", code)
	}

	// Queries run in a loop while another writer (as `import` and
	// `reindex` would be) adds a track and the server reloads: none fails.
	stopLoop := make(chan struct{})
	loopDone := make(chan [2]int)
	go func() {
		n, failed := 0, 0
		for {
			select {
			case <-stopLoop:
				loopDone <- [2]int{n, failed}
				return
			default:
			}
			if code, body := get(t, base+"/similar?track=t0003&k=10"); code != 200 {
				failed++
				t.Errorf("during reindex and reload: GET /similar = %d %s", code, body)
			}
			n++
		}
	}()
	addAndReindex(t, db) // t9999
	deadline = time.Now().Add(10 * time.Second)
	for {
		code, _ := get(t, base+"/similar?track=t9999&k=3")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /similar?track=t9999 = %d 10s after the reindex, want 200 (reload)", code)
		}
		time.Sleep(20 * time.Millisecond)
	}

	close(stopLoop)
	if r := <-loopDone; r[0] == 0 || r[1] != 0 {
		t.Errorf("queries during reindex and reload: %d sent, %d failed; want some sent and none failed", r[0], r[1])
	}
	// The --reload ticks' lines (the import and the reindex may make two
	// reloads): the engine's, with the fields SIGHUP's has.
	var reloaded []string
	for l := range strings.Lines(errw.String()) {
		if strings.Contains(l, `"msg":"reloaded"`) {
			reloaded = append(reloaded, l)
		}
	}
	hasFields := func(l string) bool {
		return strings.Contains(l, `"on":"watch"`) && strings.Contains(l, `"read_under_lock":"`) && // a duration as text: 88ms
			!slices.ContainsFunc(reloadedFields, func(f string) bool { return !strings.Contains(l, `"`+strings.TrimSuffix(f, "=")+`":`) })
	}
	if len(reloaded) == 0 || slices.ContainsFunc(reloaded, func(l string) bool { return !hasFields(l) }) {
		t.Errorf("serve's reloaded lines: %q, want them on watch with %v\n%s", reloaded, reloadedFields, errw.String())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after its context was done, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop within 10s of its context being done")
	}
	logs := errw.String()
	for _, want := range []string{`"msg":"serving"`, `"route":"/similar"`, `"client_ip":"127.0.0.1"`, `"msg":"stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("serve logs lack %s:\n%s", want, logs)
		}
	}
}

func TestServeCommandFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"given a bad proxy CIDR, when serve, expect a usage error naming it", []string{"--trusted-proxies", "10.0.0.0/99"}, "10.0.0.0/99"},
		{"given a trailing comma in the proxies, when serve, expect a usage error naming the empty entry", []string{"--trusted-proxies", "10.0.0.0/8,"}, "--trusted-proxies: entry 2 of 2 is empty"},
		{"given a bad log format, when serve, expect a usage error", []string{"--log", "xml"}, "--log"},
		{"given a negative reload, when serve, expect a usage error", []string{"--reload", "-1s"}, "--reload"},
		{"given a reload of 1ns, when serve, expect a usage error naming the shortest", []string{"--reload", "1ns"}, "at least 10ms"},
		{"given a bad address, when serve, expect a usage error naming it", []string{"--addr", "127.0.0.1:notaport"}, "--addr"},
		{"given an empty address, when serve, expect a usage error naming it with an example", []string{"--addr", ""}, "--addr is empty: give the host:port to listen on, such as 127.0.0.1:8080"},
		{"given a hedge delay without --weaviate, when serve, expect a usage error", []string{"--weaviate-hedge-delay", "100ms"}, "needs --weaviate"},
		{"given a collection without --weaviate, when serve, expect a usage error", []string{"--addr", "127.0.0.1:0", "--collection", "Songs"}, "--collection needs --weaviate"},
		{"given --hugetlb with --weaviate, when serve, expect a usage error", []string{"--addr", "127.0.0.1:0", "--weaviate", "http://127.0.0.1:1", "--hugetlb"}, "--hugetlb and --weaviate are alternatives"},
		{"given a hedge delay of 0, when serve, expect a usage error saying what it takes", []string{"--weaviate", "http://127.0.0.1:1", "--weaviate-hedge-delay", "0"}, "negative one (-1s) to never hedge"},
		{"given a negative --max-in-flight, when serve, expect a usage error", []string{"--max-in-flight", "-1"}, "--max-in-flight"},
		{"given a negative --max-queued, when serve, expect a usage error", []string{"--max-queued", "-1"}, "--max-queued"},
		{"given a socket mode that is not octal, when serve, expect a usage error saying what it takes", []string{"--addr", "unix:x.sock", "--socket-mode", "0999"}, "want an octal mode of at most 0777"},
		{"given a socket mode over 0777, when serve, expect a usage error", []string{"--addr", "unix:x.sock", "--socket-mode", "4777"}, "--socket-mode"},
		{"given a socket mode with a TCP address, when serve, expect a usage error", []string{"--addr", "127.0.0.1:0", "--socket-mode", "0600"}, "--socket-mode needs --addr unix:PATH"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Bounded: a flag taken by mistake would serve until stopped.
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, _, err := runCmd(ctx, append([]string{"serve", "--db", filepath.Join(t.TempDir(), "x.db")}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err, io.Discard) != 2 {
				t.Fatalf("serve %v = %v, want a usage error mentioning %q", tc.args, err, tc.want)
			}
		})
	}
	// demo serves too: an empty --addr is refused before its minute of
	// work. (Stopped already, so that a demo that took it would not serve
	// on.)
	stopped, stop := context.WithCancel(t.Context())
	stop()
	if _, _, err := runCmd(stopped, "demo", "--addr", "", "--epochs", "1"); err == nil || !strings.Contains(err.Error(), "--addr is empty") || exitCode(err, io.Discard) != 2 {
		t.Errorf("demo --addr '' = %v, want a usage error naming --addr", err)
	}
	ps, err := parsePrefixes(flag.NewFlagSet("serve", flag.ContinueOnError), "10.0.0.0/8, 192.168.1.7,fd00::/8")
	if err != nil || len(ps) != 3 || ps[1].Bits() != 32 {
		t.Errorf("parsePrefixes = %v, %v, want 3 prefixes, the bare address as /32", ps, err)
	}
}

// Given an entry of --trusted-proxies that is neither an address nor a
// CIDR, when serve, expect it refused as a flag's value is: the flag, its
// value, the entry and what the flag takes, then the pointer to serve -h.
func TestTrustedProxiesEntryRefused(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	for _, entry := range []string{"10.0.0.0/99", "proxy.local"} {
		value := "10.0.0.0/8," + entry
		wantFlagRefused(t, []string{"serve", "--db", db, "--trusted-proxies", value},
			`--trusted-proxies "`+value+`": entry "`+entry+`" is not an address or CIDR; want comma-separated addresses or CIDRs (e.g. 10.0.0.0/8)`)
	}
}

// Given a port another program listens on, when serve or demo is run on
// it, expect exit 1 (the machine's state, not the command line, is at
// fault) and an error naming --addr and the address; given an address
// that is wrong in itself, expect a usage error (exit 2).
func TestServeListenErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	// Stopped already: a command that got the port would not serve on.
	stopped, stop := context.WithCancel(t.Context())
	stop()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"serve", "--addr", addr}, 1, "--addr " + addr + ": listen tcp " + addr + ": bind: address already in use"},
		{[]string{"demo", "--addr", addr, "--epochs", "1"}, 1, "--addr " + addr + ": listen tcp " + addr + ": bind: address already in use (choose another with --addr 127.0.0.1:PORT)"},
		{[]string{"serve", "--addr", "127.0.0.1"}, 2, "--addr 127.0.0.1: listen tcp: address 127.0.0.1: missing port in address"},
		{[]string{"demo", "--addr", "127.0.0.1:99999", "--epochs", "1"}, 2, "--addr 127.0.0.1:99999: listen tcp: address 99999: invalid port"},
		{[]string{"serve", "--addr", "unix:"}, 2, "--addr unix: names no socket: give unix:PATH"},
	} {
		_, _, err := runCmd(stopped, append(tc.args, "--db", filepath.Join(t.TempDir(), "x.db"))...)
		if code := exitCode(err, io.Discard); code != tc.code || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v = %v (exit %d), want exit %d and %q", tc.args, err, code, tc.code, tc.want)
		}
	}
}

// addAndReindex adds track t9999 to the database at db, as another
// process would while serve runs, and reindexes it.
func addAndReindex(t *testing.T, db string) {
	t.Helper()
	w, err := soundalike.Open(db, &soundalike.Options{NoSync: true, LockTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	nt := synth.SmallTrack(rand.New(rand.NewPCG(9, 9)), 9999)
	if err := w.Import(t.Context(), func(tx *soundalike.ImportTx) error { _, _, err := tx.PutTrack(nt); return err }); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Reindex(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
}
