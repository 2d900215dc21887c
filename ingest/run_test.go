package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
)

// sliceSource yields fixed results: a Record, or an error when err is set.
type sliceSource struct {
	items []sourceItem
	i     int
}

type sourceItem struct {
	rec ingest.Record
	err error
}

func (s *sliceSource) Next(context.Context) (ingest.Record, error) {
	if s.i >= len(s.items) {
		return ingest.Record{}, io.EOF
	}
	it := s.items[s.i]
	s.i++
	return it.rec, it.err
}

func (s *sliceSource) Close() error { return nil }

// TestInteractionLog: a file of user, track id, action and timestamp (no
// track columns) adds interactions to tracks already imported.
func TestInteractionLog(t *testing.T) {
	src := mustOpen(t, "../testdata/plays.csv")
	if got := strings.Join(src.Mapper().Mapping(), " "); got != "id←track_id user←user_id action←action timestamp←timestamp" {
		t.Errorf("Mapping() = %s", got)
	}
	db := newFakeDB()
	sum, err := ingest.Run(t.Context(), src, db.begin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.InteractionsAdded != 0 || sum.Rejected != 8 {
		t.Errorf("into an empty catalogue: %+v, want every row rejected", sum)
	}

	importTracksOnly(t, db, sample)
	sum = importFile(t, db, "../testdata/plays.csv", nil)
	if sum.InteractionsAdded != 5 || sum.TracksAdded != 0 || sum.Rejected != 3 {
		t.Errorf("after the sample: %+v, want 5 interactions (one twice), 3 rejected", sum)
	}
	want := map[int]string{
		7: `track "0000000000000000000000" is not in the catalogue (never imported, or deleted since): import its features first`,
		8: "missing user (column user_id is empty)",
		9: `timestamp: "tomorrow" is not a time`,
	}
	for _, e := range sum.Errors {
		if !strings.Contains(e.Reason, want[e.Line]) || want[e.Line] == "" {
			t.Errorf("line %d: %q, want %q", e.Line, e.Reason, want[e.Line])
		}
	}
	k := interactionKey{"bob", "65RTyZesurf9xxf7FZVL1u", soundalike.ActionLike, time.Unix(1709294700, 0).UTC()}
	if db.interactions[k] != 1 {
		t.Errorf("interaction %+v stored %d times, want 1 (the spotify: prefix stripped, Like canonical)", k, db.interactions[k])
	}
	if again := importFile(t, db, "../testdata/plays.csv", nil); again.InteractionsAdded != 0 {
		t.Errorf("re-import added %d interactions, want 0", again.InteractionsAdded)
	}
}

// importTracksOnly imports the file at path opened with
// FileOptions.NoInteractions into db.
func importTracksOnly(t *testing.T, db *fakeDB, path string) ingest.Summary {
	t.Helper()
	src, err := ingest.OpenFile(path, &ingest.FileOptions{NoInteractions: true})
	if err != nil {
		t.Fatalf("OpenFile(%s): %v", path, err)
	}
	defer src.Close()
	sum, err := ingest.Run(t.Context(), src, db.begin(), nil)
	if err != nil {
		t.Fatalf("Run(%s): %v", path, err)
	}
	return sum
}

func TestRunNoInteractions(t *testing.T) {
	db := newFakeDB()
	sum := importTracksOnly(t, db, sample)
	if sum.InteractionsAdded != 0 || db.interactionCount() != 0 {
		t.Errorf("interactions added %d (stored %d), want 0", sum.InteractionsAdded, db.interactionCount())
	}
	if sum.TracksAdded == 0 || sum.TracksAdded != len(db.tracks) {
		t.Errorf("tracks added %d, stored %d; want the same, non-zero", sum.TracksAdded, len(db.tracks))
	}
}

// Given a file opened with FileOptions.NoInteractions, when rows have a
// user, action or timestamp cell an interaction cannot hold (a NUL byte,
// more than MaxKeyLen bytes, a time of no accepted form or out of range),
// expect their tracks stored and no row rejected: a tracks-only import
// does not read those columns. An interaction log opened so stores
// nothing and rejects nothing, not even a row without a user or one of
// too few fields: its rows are not read. It is warned about, as a file
// that imports nothing, in the library's words (no command's flag).
func TestNoInteractionsLeavesUserColumnsUnread(t *testing.T) {
	long := strings.Repeat("u", soundalike.MaxKeyLen+1)
	file := featuresHeader + ",user_id,action,timestamp\n" +
		"t1,0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.9,one,u\x00,play,2024-01-01\n" +
		"t2,0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.9,two," + long + ",play,2024-01-01\n" +
		"t3,0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.9,three,u1," + long + ",2024-01-01\n" +
		"t4,0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.9,four,u1,play,tomorrow\n" +
		"t5,0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.9,five,u1,play,2300-01-01\n" +
		"t6,0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.9,six,u1,play,\xff\n"
	logFile := "user_id,track_id,action,timestamp\nu\x00,t1,play,2024-01-01\n,t2,play,tomorrow\nu1,t3,play,2024-01-01\nu1,t4\n"
	db := newFakeDB()
	for _, f := range []struct{ name, text string }{{"tracks.csv", file}, {"plays.csv", logFile}} {
		src, err := ingest.NewFileReader(f.name, strings.NewReader(f.text), &ingest.FileOptions{NoInteractions: true})
		if err != nil {
			t.Fatal(err)
		}
		sum, err := ingest.Run(t.Context(), src, db.begin(), nil)
		src.Close()
		if err != nil {
			t.Fatal(err)
		}
		// The interaction log is warned about: it imports nothing.
		wantWarnings := 0
		if f.name == "plays.csv" {
			wantWarnings = 1
		}
		if f.name == "tracks.csv" && sum.TracksAdded != 6 || sum.Rejected != 0 || sum.InteractionsAdded != 0 || len(sum.Warnings) != wantWarnings {
			t.Errorf("%s: %+v, want every track added (6 in tracks.csv), no row rejected, no interaction, %d warnings", f.name, sum, wantWarnings)
		}
		if w := sum.Warnings; wantWarnings == 1 && len(w) == 1 && (w[0].Reason != ingest.IgnoredLogReason || strings.Contains(w[0].Reason, "--")) {
			t.Errorf("%s: warning %q, want ingest.IgnoredLogReason, naming no flag", f.name, w[0].Reason)
		}
	}
	if len(db.tracks) != 6 || db.interactionCount() != 0 {
		t.Errorf("stored %d tracks and %d interactions, want 6 and 0", len(db.tracks), db.interactionCount())
	}
}

func TestRunProgress(t *testing.T) {
	fi, err := os.Stat(sample)
	if err != nil {
		t.Fatal(err)
	}
	var calls []ingest.Progress
	db := newFakeDB()
	importFile(t, db, sample, &ingest.Options{
		ProgressEvery: 500,
		Progress:      func(p ingest.Progress) { calls = append(calls, p) },
	})
	_, rows := readCSV(t, sample)
	if want := len(rows)/500 + 1; len(calls) != want {
		t.Fatalf("%d progress calls, want %d", len(calls), want)
	}
	for i, p := range calls[:len(calls)-1] {
		if p.Rows != int64(500*(i+1)) || p.Size != fi.Size() || p.Bytes <= 0 || p.Bytes > p.Size || p.Source != sample {
			t.Errorf("call %d = %+v, want %d rows, 0 < bytes <= size %d, source %s", i, p, 500*(i+1), fi.Size(), sample)
		}
	}
	last := calls[len(calls)-1]
	if want := (ingest.Progress{Source: sample, Rows: int64(len(rows)), Bytes: fi.Size(), Size: fi.Size()}); last != want {
		t.Errorf("last progress = %+v, want %+v", last, want)
	}
}

func TestRunCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	src := mustOpen(t, sample)
	db := newFakeDB()
	sum, err := ingest.Run(ctx, src, db.begin(), nil)
	if !errors.Is(err, context.Canceled) || sum.TracksAdded != 0 {
		t.Errorf("Run on a canceled context = %+v, %v; want nothing done and context.Canceled", sum, err)
	}
}

func TestRunSinkError(t *testing.T) {
	boom := errors.New("disk full")
	src := mustOpen(t, sample)
	sink := newFakeDB().begin()
	sink.failTrack = boom
	_, err := ingest.Run(t.Context(), src, sink, nil)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), sample+":2: store track") {
		t.Errorf("Run error = %v, want %q naming the line and wrapping the sink's error", err, sample+":2: store track …")
	}
}

func TestRunRejectsAndErrorCap(t *testing.T) {
	db := newFakeDB()
	db.tracks["known"] = &soundalike.Track{ID: "known"}
	var items []sourceItem
	for i := range 150 {
		items = append(items, sourceItem{err: &ingest.RowError{File: "f.csv", Line: i + 2, Reason: "bad"}})
	}
	items = append(items,
		sourceItem{rec: ingest.Record{Source: "pg", RowID: "7", Interaction: &soundalike.Interaction{User: "u", Track: "unknown", Action: "play"}}},
		sourceItem{rec: ingest.Record{Source: "pg", RowID: "8", Interaction: &soundalike.Interaction{User: "u", Track: "known", Action: "play"}}},
		sourceItem{rec: ingest.Record{Source: "pg", RowID: "9", Interaction: &soundalike.Interaction{Track: "known"}}},
		sourceItem{rec: ingest.Record{Source: "f.csv", Line: 200, Track: &soundalike.Track{ID: "x", Features: soundalike.Features{Danceability: 2}}}},
		sourceItem{rec: ingest.Record{Source: "f.csv", Line: 201, Track: &soundalike.Track{ID: "a\x00b"}}},
		sourceItem{rec: ingest.Record{Source: "f.csv", Line: 202, Track: &soundalike.Track{ID: soundalike.TrackID(strings.Repeat("x", 2000))}}},
		sourceItem{rec: ingest.Record{Source: "pg", RowID: "10", Interaction: &soundalike.Interaction{User: "u\x00", Track: "known", Action: "play"}}},
	)
	sum, err := ingest.Run(t.Context(), &sliceSource{items: items}, db.begin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rejected != 156 || len(sum.Errors) != ingest.MaxErrors || sum.InteractionsAdded != 1 {
		t.Errorf("summary: rejected %d, %d errors, %d interactions; want 156, %d, 1", sum.Rejected, len(sum.Errors), sum.InteractionsAdded, ingest.MaxErrors)
	}
	// Past the cap the rows are still counted but not listed; check the
	// reasons Run itself gives by running them alone.
	sum, _ = ingest.Run(t.Context(), &sliceSource{items: items[150:]}, db.begin(), nil)
	got := []string{}
	for _, e := range sum.Errors {
		got = append(got, e.Error())
	}
	want := []string{
		`pg: row 7: track "unknown" is not in the catalogue (never imported, or deleted since): import its features first`,
		`pg: row 9: interaction: missing user`,
		`f.csv:200: danceability: 2 is outside [0, 1]`,
		`f.csv:201: track id "a\x00b" contains a NUL byte`,
		`f.csv:202: track id is 2000 bytes long; at most 1024 are accepted`,
		`pg: row 10: interaction: user "u\x00" contains a NUL byte`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// TestRunWaitForTracks: with Options.WaitForTracks an interaction whose
// track the sink does not hold is counted as waiting, not rejected; one
// that fails its check is still rejected.
func TestRunWaitForTracks(t *testing.T) {
	db := newFakeDB()
	db.tracks["known"] = &soundalike.Track{ID: "known"}
	items := []sourceItem{
		{rec: ingest.Record{Source: "pg", RowID: "1", Interaction: &soundalike.Interaction{User: "u", Track: "unknown", Action: "play"}}},
		{rec: ingest.Record{Source: "pg", RowID: "2", Interaction: &soundalike.Interaction{User: "u", Track: "known", Action: "play"}}},
		{rec: ingest.Record{Source: "pg", RowID: "3", Interaction: &soundalike.Interaction{User: "v", Track: "unknown", Action: "like"}}},
		{rec: ingest.Record{Source: "pg", RowID: "4", Interaction: &soundalike.Interaction{Track: "unknown"}}},
	}
	sum, err := ingest.Run(t.Context(), &sliceSource{items: items}, db.begin(), &ingest.Options{WaitForTracks: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.InteractionsWaiting != 2 || sum.InteractionsAdded != 1 || sum.Rejected != 1 {
		t.Errorf("summary = %+v, want 2 interactions waiting, 1 added and 1 rejected (the one without a user)", sum)
	}
	if len(sum.Errors) != 1 || sum.Errors[0].Row != "4" {
		t.Errorf("errors = %+v, want row 4's alone", sum.Errors)
	}
}

// TestRunWarnsWhenAllInteractionsWait: with Options.WaitForTracks, a
// source none of whose interactions names a stored track (a query reading
// the user id as the track id) is warned about, which --strict refuses;
// one interaction whose track is stored, added or already there, is
// enough to silence it.
func TestRunWarnsWhenAllInteractionsWait(t *testing.T) {
	in := func(row, track string) sourceItem {
		return sourceItem{rec: ingest.Record{Source: "pg:interactions", RowID: row, Interaction: &soundalike.Interaction{User: "u", Track: soundalike.TrackID(track), Action: "play"}}}
	}
	db := newFakeDB()
	db.tracks["known"] = &soundalike.Track{ID: "known"}
	for _, tc := range []struct {
		name  string
		items []sourceItem
		warn  bool
	}{
		{"given interactions of unknown tracks only, expect a warning", []sourceItem{in("1", "u1"), in("2", "u2")}, true},
		{"given one of a stored track, expect none", []sourceItem{in("1", "u1"), in("2", "known")}, false},
		{"given no interaction, expect none", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for round := range 2 { // the second finds the stored interaction already there
				sum, err := ingest.Run(t.Context(), &sliceSource{items: tc.items}, db.begin(), &ingest.Options{WaitForTracks: true})
				if err != nil {
					t.Fatal(err)
				}
				got := len(sum.Warnings) == 1 && sum.Warnings[0].File == "pg:interactions" &&
					strings.HasPrefix(sum.Warnings[0].Reason, "all 2 interactions read name tracks not in the catalogue, so none was stored: their track ids are likely not the catalogue's")
				if got != tc.warn || (!tc.warn && len(sum.Warnings) > 0) {
					t.Errorf("round %d: warnings = %+v, want the all-wait warning: %v", round, sum.Warnings, tc.warn)
				}
			}
		})
	}
	// Without WaitForTracks such rows are rejected, and not warned about.
	sum, _ := ingest.Run(t.Context(), &sliceSource{items: []sourceItem{in("1", "u1")}}, db.begin(), nil)
	if sum.Rejected != 1 || len(sum.Warnings) != 0 {
		t.Errorf("without WaitForTracks: %+v, want 1 row rejected and no warning", sum)
	}
}

// TestSummaryRejectedFrom: rejected rows are counted by source, past
// MaxErrors too and across Add; the JSON leaves the counts out.
func TestSummaryRejectedFrom(t *testing.T) {
	var items []sourceItem
	for i := range ingest.MaxErrors + 5 {
		items = append(items, sourceItem{err: &ingest.RowError{File: "pg:tracks", Row: strconv.Itoa(i), Reason: "bad"}})
	}
	items = append(items,
		sourceItem{rec: ingest.Record{Source: "pg:interactions", RowID: "i1", Interaction: &soundalike.Interaction{Track: "t"}}},
		sourceItem{rec: ingest.Record{Source: "pg:tracks", RowID: "t1", Track: &soundalike.Track{ID: "t", Features: soundalike.Features{Danceability: 2}}}},
	)
	sum, err := ingest.Run(t.Context(), &sliceSource{items: items}, newFakeDB().begin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for source, want := range map[string]int{"pg:tracks": ingest.MaxErrors + 6, "pg:interactions": 1, "pg:other": 0} {
		if got := sum.RejectedFrom(source); got != want {
			t.Errorf("RejectedFrom(%q) = %d, want %d", source, got, want)
		}
	}
	var total ingest.Summary
	total.Add(sum)
	total.Add(sum)
	if got, want := total.RejectedFrom("pg:interactions"), 2; got != want {
		t.Errorf("RejectedFrom(pg:interactions) after Add twice = %d, want %d", got, want)
	}
	out, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(out, &fields); err != nil {
		t.Fatal(err)
	}
	want := []string{"errors", "interactions_added", "rejected", "repeated_ids", "tracks_added", "tracks_updated", "warnings"}
	if got := slices.Sorted(maps.Keys(fields)); !slices.Equal(got, want) {
		t.Errorf("the summary's JSON has fields %q, want %q", got, want)
	}
}

func TestSummaryAdd(t *testing.T) {
	var total ingest.Summary
	a := ingest.Summary{TracksAdded: 1, TracksUpdated: 2, InteractionsAdded: 3, InteractionsWaiting: 4, Rejected: 60}
	for i := range 60 {
		a.Errors = append(a.Errors, ingest.RowError{File: "a", Line: i})
	}
	total.Add(a)
	total.Add(a)
	if total.TracksAdded != 2 || total.TracksUpdated != 4 || total.InteractionsAdded != 6 || total.InteractionsWaiting != 8 || total.Rejected != 120 || len(total.Errors) != ingest.MaxErrors {
		t.Errorf("total = %+v counts, %d errors; want doubled counts and %d errors", total, len(total.Errors), ingest.MaxErrors)
	}
}

// TestMapperInteractionsOnly is the shape the PostgreSQL source uses:
// column names from a result set, string values, rows named by id.
func TestMapperInteractionsOnly(t *testing.T) {
	m, err := ingest.NewMapper("postgres", []string{"id", "user_id", "track_id", "action", "created_at"}, &ingest.MapperOptions{InteractionsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := m.MapRow("42", []string{"42", "u-1", "spotify:track:abc", "add_to_playlist", "2024-01-02 03:04:05.123456+00"})
	if err != nil {
		t.Fatal(err)
	}
	want := ingest.Record{Source: "postgres", RowID: "42", Interaction: &soundalike.Interaction{
		User: "u-1", Track: "abc", Action: soundalike.ActionAddToPlaylist,
		Time: time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC),
	}}
	if diff := cmp.Diff(want, rec, cmpopts.IgnoreUnexported(ingest.Record{})); diff != "" {
		t.Errorf("MapRow (-want +got):\n%s", diff)
	}
	_, err = m.MapRow("43", []string{"43", "", "abc", "", ""})
	if re, ok := errors.AsType[*ingest.RowError](err); !ok || re.Error() != "postgres: row 43: missing user (column user_id is empty)" {
		t.Errorf("MapRow with no user = %v, want a RowError for row 43", err)
	}
	_, err = ingest.NewMapper("postgres", []string{"track_id", "action"}, &ingest.MapperOptions{InteractionsOnly: true})
	if !errors.Is(err, ingest.ErrColumns) || !strings.Contains(err.Error(), "no user column") {
		t.Errorf("NewMapper without a user column = %v, want ErrColumns naming it", err)
	}
}

var features = strings.Split("acousticness,danceability,energy,instrumentalness,key,liveness,loudness,mode,speechiness,tempo,valence", ",")

// TestMapperColumns checks name matching and which column wins.
func TestMapperColumns(t *testing.T) {
	for _, tc := range []struct {
		cols []string
		want []string // Mapping() entries that must be present
	}{
		{[]string{"Track ID", "Track-Name", "ARTISTS"}, []string{"id←Track ID", "name←Track-Name", "artists←ARTISTS"}},
		{[]string{"id", "track_id", "userId"}, []string{"id←track_id", "user←userId"}},
		{[]string{"uri", "spotify_id", "playlist_id", "user_id"}, []string{"spotify_id←spotify_id", "user←user_id"}},
		{[]string{"id", "trackAlbumReleaseDate", "release_date", "playlistSubgenre", "type"}, []string{"release_date←trackAlbumReleaseDate", "subgenre←playlistSubgenre", "action←type"}},
	} {
		m, err := ingest.NewMapper("t", append(tc.cols, features...), nil)
		if err != nil {
			t.Fatalf("NewMapper(%v): %v", tc.cols, err)
		}
		got := strings.Join(m.Mapping(), " ")
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("NewMapper(%v).Mapping() = %s, want %s", tc.cols, got, w)
			}
		}
	}

	// id and spotify_id: ID from id, SpotifyID from spotify_id.
	m, err := ingest.NewMapper("t", append([]string{"id", "spotify_id"}, features...), nil)
	if err != nil {
		t.Fatal(err)
	}
	vals := append([]string{"uuid-1", "spotify:track:6f807x"}, "0.1", "0.2", "0.3", "0", "5", "0.1", "-5", "1", "0.1", "120", "0.5")
	rec, err := m.Map(2, vals)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Track.ID != "uuid-1" || rec.Track.SpotifyID != "6f807x" {
		t.Errorf("ID, SpotifyID = %q, %q; want uuid-1, 6f807x", rec.Track.ID, rec.Track.SpotifyID)
	}
	want := soundalike.Features{Acousticness: 0.1, Danceability: 0.2, Energy: 0.3, Key: 5, Liveness: 0.1, Loudness: -5, Mode: 1, Speechiness: 0.1, Tempo: 120, Valence: 0.5}
	if rec.Track.Features != want {
		t.Errorf("features = %+v, want %+v", rec.Track.Features, want)
	}
}

func TestArtistLists(t *testing.T) {
	m, err := ingest.NewMapper("t", append([]string{"track_id", "artists"}, features...), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"Tyler, The Creator", []string{"Tyler, The Creator"}},
		{`["Maroon 5", "Dillon Francis"]`, []string{"Maroon 5", "Dillon Francis"}},
		{`['Guns N\' Roses', "Sade"]`, []string{"Guns N' Roses", "Sade"}},
		{`{"Tyler, The Creator",Frank Ocean,NULL}`, []string{"Tyler, The Creator", "Frank Ocean"}},
		{`{"a \"quoted\" b"}`, []string{`a "quoted" b`}},
		{"Ed Sheeran; Justin Bieber;", []string{"Ed Sheeran", "Justin Bieber"}},
		{"[Unknown]", []string{"[Unknown]"}},
		{"{}", nil},
		{"  ", nil},
		{`["", " "]`, nil},
	} {
		rec, err := m.Map(2, append([]string{"x", tc.in}, "0.1", "0.2", "0.3", "0", "5", "0.1", "-5", "1", "0.1", "120", "0.5"))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, rec.Track.Artists); diff != "" {
			t.Errorf("artists %q (-want +got):\n%s", tc.in, diff)
		}
	}
}

// Given a row whose list columns come as lists (MapRowLists, a
// database's arrays), expect the artists and genres to be the elements as
// they are, not the cells split; a column without a list read from its
// cell; an element soundalike refuses named by its column and index; and
// lists not as long as the values refused.
func TestMapRowLists(t *testing.T) {
	m, err := ingest.NewMapper("postgres", append([]string{"track_id", "artist", "genre", "subgenre"}, features...), nil)
	if err != nil {
		t.Fatal(err)
	}
	values := append([]string{"x", "", "", "a;b"}, "0.1", "0.2", "0.3", "0", "5", "0.1", "-5", "1", "0.1", "120", "0.5")
	lists := make([][]string, len(values))
	lists[1], lists[2] = []string{"Tyler, The Creator", " a; b "}, []string{}
	rec, err := m.MapRowLists("x", values, lists)
	if err != nil {
		t.Fatal(err)
	}
	if tr := rec.Track; !slices.Equal(tr.Artists, lists[1]) || len(tr.Genres) != 0 || !slices.Equal(tr.Subgenres, []string{"a", "b"}) {
		t.Errorf("artists %q, genres %q, subgenres %q; want %q, none, [a b]", tr.Artists, tr.Genres, tr.Subgenres, lists[1])
	}
	lists[1] = []string{"ok", "b\x00"}
	if _, err := m.MapRowLists("x", values, lists); err == nil || err.Error() != `postgres: row x: artist[1] "b\x00" contains a NUL byte` {
		t.Errorf("MapRowLists with a NUL byte in artist[1]: %v", err)
	}
	if _, err := m.MapRowLists("x", values, lists[:2]); err == nil || !strings.Contains(err.Error(), "row has 2 lists for 15 fields") {
		t.Errorf("MapRowLists with 2 lists: %v", err)
	}
}

func TestParseTime(t *testing.T) {
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"2024-03-01T12:00:00Z", base},
		{"2024-03-01T13:00:00+01:00", base},
		{"2024-03-01T12:00:00.5Z", base.Add(500 * time.Millisecond)},
		{"2024-03-01 12:00:00", base},
		{"2024-03-01 12:00:00.250", base.Add(250 * time.Millisecond)},
		{"2024-03-01 14:00:00+02", base},
		{"2024-03-01 12:00:00.123456+00", base.Add(123456 * time.Microsecond)},
		{"2024-03-01T12:00:00", base},
		{"2024-03-01", base.Add(-12 * time.Hour)},
		{"1709294400", base},
		{"1709294400.5", base.Add(500 * time.Millisecond)},
		{"1709294400000", base},
		{"1709294400000000", base},
		{" 1709294400 ", base},
	} {
		got, err := ingest.ParseTime(tc.in)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"yesterday", "2024-13-01", "12:00", "1e400", "--1", "."} {
		if got, err := ingest.ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) = %v, nil; want an error", in, got)
		} else if !strings.Contains(err.Error(), "RFC 3339") {
			t.Errorf("ParseTime(%q) error %q does not say what is accepted", in, err)
		}
	}
}

func TestCanonicalAction(t *testing.T) {
	for in, want := range map[string]string{
		"": "play", "PLAY": "play", "played": "play", "stream": "play",
		"like": "like", "Liked": "like", "favourite": "like", "save": "like",
		"add_to_playlist": "addToPlaylist", "AddToPlaylist": "addToPlaylist", "add-to-playlist": "addToPlaylist", "addToPlaylist": "addToPlaylist", "playlist_add": "addToPlaylist",
		"skip": "skip", "Skipped": "skip",
		" share ": "share", "Download": "Download",
	} {
		if got := ingest.CanonicalAction(in); got != want {
			t.Errorf("CanonicalAction(%q) = %q, want %q", in, got, want)
		}
	}
}

func ExampleRun() {
	src, err := ingest.NewReader("tracks.csv", strings.NewReader(
		"track_id,track_name,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,playlist_id\n"+
			"6f807x0ima9a1j3VPbc7VN,I Don't Care,0.748,0.916,6,-2.634,1,0.0583,0.102,0,0.0653,0.518,122.036,p1\n"+
			",No id,0.748,0.916,6,-2.634,1,0.0583,0.102,0,0.0653,0.518,122.036,p1\n"+
			"0r7CVbZTWZgbTCYdfa2P31,Memories,0.726,0.815,11,-4.969,1,0.0373,0.0724,0.00421,0.357,0.693,-1,p1\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	sum, err := ingest.Run(context.Background(), src, newFakeDB().begin(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("added %d, interactions %d, rejected %d\n", sum.TracksAdded, sum.InteractionsAdded, sum.Rejected)
	for _, e := range sum.Errors {
		fmt.Println(e.Error())
	}
	// Output:
	// added 1, interactions 1, rejected 2
	// tracks.csv:3: missing track id (column track_id is empty)
	// tracks.csv:4: tempo: -1 is outside [0, 400]
}

// reserveSink records Reserve calls.
type reserveSink struct {
	ingest.Sink
	calls []int
}

func (s *reserveSink) Reserve(rows int) { s.calls = append(s.calls, rows) }

// TestRunReserves: with a source of known size, Run tells the sink once
// roughly how many rows are coming.
func TestRunReserves(t *testing.T) {
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	header, body, _ := bytes.Cut(data, []byte("\n"))
	big := append(append([]byte(nil), header...), '\n')
	for range 10 {
		big = append(big, body...)
	}
	_, rows := readCSV(t, sample)
	want := 10 * len(rows)
	src, err := ingest.NewReader("big.csv", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	sink := &reserveSink{Sink: newFakeDB().begin()}
	sum, err := ingest.Run(t.Context(), src, sink, nil)
	if err != nil || sum.Rejected != 0 {
		t.Fatalf("Run = %+v, %v", sum, err)
	}
	// Called after the first 8,192 rows, for the rest.
	if rest := want - 8192; len(sink.calls) != 1 || sink.calls[0] < rest*8/10 || sink.calls[0] > rest*13/10 {
		t.Errorf("Reserve calls = %v, want one estimate near %d rows", sink.calls, rest)
	}
}

// noRecycle hides a source's Recycle method, so that Run allocates every
// record afresh.
type noRecycle struct{ ingest.Source }

// pointerSink wraps a sink and counts the distinct track and interaction
// addresses it is given.
type pointerSink struct {
	ingest.Sink
	seen map[any]bool
}

func (s *pointerSink) PutTrack(t *soundalike.Track) (bool, bool, error) {
	s.seen[t] = true
	return s.Sink.PutTrack(t)
}

func (s *pointerSink) PutInteraction(in *soundalike.Interaction) (bool, error) {
	s.seen[in] = true
	return s.Sink.PutInteraction(in)
}

// TestRunRecyclesRecords: Run hands consumed records back to a file
// source, which maps later rows into the same memory, and the result is
// the same as with every record allocated afresh.
func TestRunRecyclesRecords(t *testing.T) {
	run := func(recycle bool) (*fakeDB, ingest.Summary, int) {
		src, err := ingest.Open(sample)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		var s ingest.Source = src
		if !recycle {
			s = noRecycle{src}
		}
		db := newFakeDB()
		sink := &pointerSink{Sink: db.begin(), seen: map[any]bool{}}
		sum, err := ingest.Run(t.Context(), s, sink, nil)
		if err != nil {
			t.Fatal(err)
		}
		return db, sum, len(sink.seen)
	}
	fresh, freshSum, freshPtrs := run(false)
	reused, reusedSum, reusedPtrs := run(true)
	if diff := cmp.Diff(freshSum, reusedSum, cmp.AllowUnexported(ingest.Summary{})); diff != "" {
		t.Errorf("summary with recycling differs (-fresh +recycled):\n%s", diff)
	}
	if diff := cmp.Diff(fresh, reused, cmp.AllowUnexported(fakeDB{})); diff != "" {
		t.Errorf("imported data with recycling differs (-fresh +recycled):\n%s", diff)
	}
	// Without recycling every row has its own track and interaction; with
	// it, no more rows than the read-ahead holds are ever live.
	if rows := freshSum.TracksAdded + freshSum.TracksUpdated; freshPtrs < 2*rows {
		t.Fatalf("fresh run: %d distinct records for %d rows, want one track and one interaction each", freshPtrs, rows)
	}
	if reusedPtrs > freshPtrs/2 {
		t.Errorf("recycled run: %d distinct records (fresh run: %d), want the rows' memory reused", reusedPtrs, freshPtrs)
	}
}
