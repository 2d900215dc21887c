package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/audotics/soundalike"
)

func TestReindexCommand(t *testing.T) {
	db := testDB(t, 200)
	out, _, err := runCmd(t.Context(), "reindex", "--db", db, "--json")
	if err != nil {
		t.Fatalf("reindex: %v", err)
	}
	var got reindexJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("reindex --json printed %q: %v", out, err)
	}
	if got.Tracks != 200 || got.Embedded != 0 || got.Full {
		t.Errorf("incremental reindex with nothing new = %+v, want 200 tracks, 0 embedded", got)
	}
	out, _, err = runCmd(t.Context(), "reindex", "--db", db, "--full", "--json")
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(out), &got)
	if !got.Full || got.Embedded != 200 || got.Inserted != 200 || got.Model != "v1" {
		t.Errorf("reindex --full = %+v, want 200 embedded and inserted with v1", got)
	}
	for _, args := range [][]string{
		{"reindex", "--db", db, "--m", "1"},
		{"reindex", "--db", db, "--model", "vX"},
		{"reindex", "--db", db, "extra"},
	} {
		_, _, err := runCmd(t.Context(), args...)
		if code := exitCode(err, io.Discard); code != 2 {
			t.Errorf("%v: exit %d (%v), want 2", args, code, err)
		}
	}
	_, _, err = runCmd(t.Context(), "reindex", "--db", db, "--model", "v9")
	if err == nil || !strings.Contains(err.Error(), "v9") {
		t.Errorf("reindex --model v9 = %v, want an error naming v9", err)
	}
}

func TestReindexWithoutModel(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tracks.db")
	csv := filepath.Join(t.TempDir(), "t.csv")
	os.WriteFile(csv, []byte("track_id,track_name,track_artist,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo\n"+
		"t1,A,B,0.5,0.5,1,-5,1,0.1,0.1,0,0.1,0.5,120\n"), 0o600)
	if _, _, err := runCmd(t.Context(), "import", "--db", db, csv); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCmd(t.Context(), "reindex", "--db", db)
	if err == nil || !strings.Contains(err.Error(), "soundalike train") {
		t.Errorf("reindex without a model = %v, want an error naming `soundalike train`", err)
	}
}

func TestExportCommand(t *testing.T) {
	db := testDB(t, 150)
	out := filepath.Join(t.TempDir(), "emb.jsonl")
	if _, _, err := runCmd(t.Context(), "export", "--db", db, "--out", out); err != nil {
		t.Fatalf("export: %v", err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	eng, err := soundalike.Open(db, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var line exportLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		tr, err := eng.Track(t.Context(), soundalike.TrackID(line.TrackID))
		if err != nil {
			t.Fatalf("exported track %q: %v", line.TrackID, err)
		}
		want, _ := eng.Embed(tr)
		if len(line.Embedding) != len(want) || line.Name != tr.Name {
			t.Fatalf("line %d: %d values, name %q; want %d, %q", n+1, len(line.Embedding), line.Name, len(want), tr.Name)
		}
		for i := range want {
			// The index keeps each component rounded to half precision
			// (2⁻¹¹ relative), and Vector scales the result to unit length.
			if d := math.Abs(float64(line.Embedding[i] - want[i])); d > max(math.Abs(float64(want[i]))/1024, 1e-7) {
				t.Fatalf("%s: embedding[%d] = %v, want %v", line.TrackID, i, line.Embedding[i], want[i])
			}
		}
		n++
	}
	if n != 150 {
		t.Errorf("exported %d lines, want 150", n)
	}
}

// The README's main command: the demo imports, trains, indexes and serves,
// and the URLs it prints answer.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	db := filepath.Join(t.TempDir(), "demo.db")
	go func() {
		done <- run(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--epochs", "2", "--db", db}, strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var curls [][]string // every example command, split as a shell would
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "curl ") {
			curls = append(curls, shellWords(line))
			if strings.HasSuffix(line, "/metrics") {
				break // the last example
			}
		}
	}
	go io.Copy(io.Discard, pr)
	if len(curls) == 0 {
		t.Fatalf("demo printed no example (err %v)", <-done)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	var gone, base string // a track the first example answers, and the demo's URL
	for i, args := range curls {
		req, err := curlRequest(args)
		if err != nil {
			t.Fatalf("demo's example %q: %v", args, err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("the demo's example %q answers %d %s", args, resp.StatusCode, b)
		}
		if i == 0 { // a similar track: five named results
			var body struct {
				Results []struct {
					TrackID string `json:"track_id"`
					Name    string `json:"name"`
				} `json:"results"`
			}
			json.Unmarshal(b, &body)
			if len(body.Results) != 5 || body.Results[0].Name == "" {
				t.Fatalf("%q answers %d results, want 5 named ones: %s", args, len(body.Results), b)
			}
			gone = body.Results[0].TrackID
			base = req.URL.Scheme + "://" + req.URL.Host
		}
	}
	// The demo reloads its database as serve does: a track deleted by
	// another command is soon gone from its answers.
	if _, errOut, err := runCmd(ctx, "delete", "--db", db, gone); err != nil {
		t.Fatalf("delete %s from the demo's database: %v %s", gone, err, errOut)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := client.Get(base + "/tracks/" + url.PathEscape(gone))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /tracks/%s = %d 15 s after its deletion, want 404: the demo does not reload", gone, resp.StatusCode)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("demo after cancel: %v", err)
	}
}

// shellWords splits a command line as the shell does for the demo's
// examples: words separated by spaces, single quotes kept together.
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	inQuote, inWord := false, false
	for _, r := range line {
		switch {
		case r == '\'':
			inQuote, inWord = !inQuote, true
		case r == ' ' && !inQuote:
			if inWord {
				words = append(words, w.String())
				w.Reset()
			}
			inWord = false
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// curlRequest builds the request of a curl command with -X, -H and -d.
func curlRequest(args []string) (*http.Request, error) {
	method, target, body := "GET", "", ""
	var headers []string
	for i := 1; i < len(args); i++ {
		switch args[i] {
		case "-X", "-H", "-d":
			if i+1 == len(args) {
				return nil, fmt.Errorf("%s without a value", args[i])
			}
			switch v := args[i+1]; args[i] {
			case "-X":
				method = v
			case "-H":
				headers = append(headers, v)
			case "-d":
				body = v
				if method == "GET" {
					method = "POST"
				}
			}
			i++
		default:
			target = args[i]
		}
	}
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // curl -d's default
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return req, nil
}

// Given a model version the database does not hold, when reindex, eval or
// models promote names it, expect an error saying that version does not
// exist and listing those that do, in the command line's terms.
func TestUnknownModelVersion(t *testing.T) {
	db := testDB(t, 20) // v1
	for _, args := range [][]string{
		{"reindex", "--model", "v9"},
		{"eval", "--model", "9"},
		{"models", "promote", "v9"},
	} {
		_, _, err := runCmd(t.Context(), append(args, "--db", db)...)
		if err == nil || !strings.Contains(err.Error(), "model version v9 does not exist; "+db+" holds v1 (current)") ||
			!strings.Contains(err.Error(), args[len(args)-2]) || strings.Contains(err.Error(), "trainer.Train") {
			t.Errorf("%v = %v, want an error naming %s, saying v9 does not exist and v1 does", args, err, args[len(args)-2])
		}
	}
}

// Given HNSW flags out of range, when reindex, expect a usage error naming
// each flag, its value quoted and its range, as refuseFlag words them, then
// the pointer to reindex -h once.
func TestReindexIndexFlagErrors(t *testing.T) {
	db := testDB(t, 20)
	_, _, err := runCmd(t.Context(), "reindex", "--db", db, "--m", "-1", "--ef-construction", "-1", "--ef-search", "70000", "--workers", "-2")
	for _, want := range []string{`-m "-1": want 2..256`, `--ef-construction "-1": want 1..65536`, `--ef-search "70000": want 1..65536`, `--workers "-2": want 1..1024`, "Run `soundalike reindex -h`"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("reindex with bad index flags = %v, want %q", err, want)
		}
	}
	if err != nil && strings.Count(err.Error(), "Run `soundalike") != 1 {
		t.Errorf("reindex with bad index flags = %v, want the pointer to reindex -h once, after them all", err)
	}
	if code := exitCode(err, io.Discard); code != 2 {
		t.Errorf("reindex with bad index flags: exit %d, want 2", code)
	}
}

// Given a reindex interrupted (Ctrl-C) before it stored its index, expect
// an error still wrapping context.Canceled that names the database and
// says the index it had, the served one, is unchanged (or that it still
// has none), and that index indeed unchanged.
func TestReindexInterrupted(t *testing.T) {
	db := testDB(t, 200)
	before := indexState(t, db)
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(stopSignal{syscall.SIGINT})
	_, _, err := runCmd(ctx, "reindex", "--db", db, "--full")
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "reindex: interrupted (interrupt signal received)") || !strings.Contains(err.Error(), db+" still holds its previous index (model "+before.Model) ||
		!strings.Contains(err.Error(), "unchanged, and that is the index served") {
		t.Fatalf("reindex interrupted = %v, want context.Canceled saying %s still holds and serves its previous index, unchanged", err, db)
	}
	if after := indexState(t, db); !after.Created.Equal(before.Created) {
		t.Fatalf("index built %v after the interrupted reindex, want the one built %v", after.Created, before.Created)
	}

	db = importFile(t, "../../trainer/testdata/tracks.csv")
	if _, stderr, err := runCmd(t.Context(), append([]string{"train", "--db", db, "--runs", t.TempDir()}, strings.Fields(smallTrain)...)...); err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	_, _, err = runCmd(ctx, "reindex", "--db", db)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), db+" still has no index") {
		t.Fatalf("first reindex interrupted = %v, want context.Canceled saying %s still has no index", err, db)
	}
}

func indexState(t *testing.T, db string) soundalike.IndexState {
	t.Helper()
	eng, err := soundalike.Open(db, &soundalike.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	st, err := eng.IndexState(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st
}
