package ingest_test

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
)

const sample = "../testdata/spotify_sample.csv"

// devFile is the shared dev data set; tests that need it skip without it.
func devFile(t testing.TB) string {
	p := os.Getenv("SOUNDALIKE_DEV_DATA")
	if p == "" {
		p = "/work/shared/data/spotify_songs_dev.csv.gz"
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("dev data not available (%v); set SOUNDALIKE_DEV_DATA", err)
	}
	return p
}

// importFile opens path and runs it into db, failing the test on a fatal
// error.
func importFile(t *testing.T, db *fakeDB, path string, opts *ingest.Options) ingest.Summary {
	t.Helper()
	src, err := ingest.Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	defer src.Close()
	sum, err := ingest.Run(t.Context(), src, db.begin(), opts)
	if err != nil {
		t.Fatalf("Run(%s): %v", path, err)
	}
	return sum
}

// readCSV reads a CSV file with encoding/csv, as an independent reference.
func readCSV(t *testing.T, path string) (header []string, rows []map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all[1:] {
		m := map[string]string{}
		for i, h := range all[0] {
			m[h] = r[i]
		}
		rows = append(rows, m)
	}
	return all[0], rows
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestSample imports the committed sample and checks counts and every
// field of every track against an independent read of the CSV.
func TestSample(t *testing.T) {
	_, rows := readCSV(t, sample)
	db := newFakeDB()
	sum := importFile(t, db, sample, nil)

	ids := map[string]bool{}
	users := map[string]bool{}
	genres := map[string][]string{}
	for _, r := range rows {
		ids[r["track_id"]] = true
		users[r["playlist_id"]] = true
		genres[r["track_id"]] = merge(genres[r["track_id"]], []string{r["playlist_genre"]})
	}
	if sum.TracksAdded != len(ids) || sum.TracksUpdated != 0 || sum.InteractionsAdded != len(rows) || sum.Rejected != 0 {
		t.Errorf("summary = %+v, want %d tracks added, none updated, %d interactions, 0 rejected", sum, len(ids), len(rows))
	}
	if got := db.users(); got != len(users) {
		t.Errorf("users = %d, want %d", got, len(users))
	}
	for _, r := range rows {
		got := db.tracks[soundalike.TrackID(r["track_id"])]
		want := soundalike.Track{
			ID:          soundalike.TrackID(r["track_id"]),
			Name:        r["track_name"],
			Album:       r["track_album_name"],
			Popularity:  int(num(t, r["track_popularity"])),
			DurationMS:  int(num(t, r["duration_ms"])),
			ReleaseDate: r["track_album_release_date"],
			Genres:      genres[r["track_id"]],
		}
		if r["track_artist"] != "" {
			want.Artists = []string{r["track_artist"]}
		}
		for i, n := range soundalike.FeatureNames() {
			want.Features.Set(i, num(t, r[n]))
		}
		// Subgenres accumulate too; compare as a set below.
		want.Subgenres = got.Subgenres
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Fatalf("track %s (-want +got):\n%s", r["track_id"], diff)
		}
		if !strings.Contains(strings.Join(got.Subgenres, "|"), r["playlist_subgenre"]) {
			t.Fatalf("track %s subgenres = %v, want to contain %q", r["track_id"], got.Subgenres, r["playlist_subgenre"])
		}
	}

	// Importing again adds nothing.
	again := importFile(t, db, sample, nil)
	if again.TracksAdded != 0 || again.TracksUpdated != 0 || again.InteractionsAdded != 0 || again.Rejected != 0 {
		t.Errorf("second import = %+v, want all zero", again)
	}
}

// TestDevFile imports the shared dev file (gzip) twice: the counts the
// issue gives, then nothing new.
func TestDevFile(t *testing.T) {
	path := devFile(t)
	if testing.Short() {
		t.Skip("short: the dev file has 25,762 rows")
	}
	db := newFakeDB()
	sum := importFile(t, db, path, nil)
	if sum.TracksAdded != 23009 || sum.InteractionsAdded != 25762 || sum.Rejected != 0 {
		t.Errorf("first import = added %d, interactions %d, rejected %d; want 23009, 25762, 0 (errors %v)",
			sum.TracksAdded, sum.InteractionsAdded, sum.Rejected, sum.Errors)
	}
	if got := db.users(); got != 377 {
		t.Errorf("users = %d, want 377", got)
	}
	again := importFile(t, db, path, nil)
	if again.TracksAdded != 0 || again.TracksUpdated != 0 || again.InteractionsAdded != 0 {
		t.Errorf("second import = %+v, want nothing added or updated", again)
	}
	if len(db.tracks) != 23009 || db.interactionCount() != 25762 {
		t.Errorf("after two imports: %d tracks, %d interactions; want 23009, 25762", len(db.tracks), db.interactionCount())
	}
}

// TestRejects checks each rejection reason, with its line, in
// testdata/rejects.csv, and that the good rows around them are kept.
func TestRejects(t *testing.T) {
	want := map[int]string{
		3:  "missing track id (column track_id is empty)",
		4:  `danceability: "abc" is not a number`,
		5:  "energy: missing value",
		6:  `danceability: "NaN" is not a number (accepted: plain decimals`,
		7:  `energy: "Inf" is not a number (accepted: plain decimals`,
		8:  `loudness: "-Inf" is not a number (accepted: plain decimals`,
		9:  "danceability: 1.5 is outside [0, 1]",
		10: "energy: -0.1 is outside [0, 1]",
		11: "key: 12 is outside -1..11 (pitch class, -1 = unknown)",
		12: "key: -2 is outside -1..11 (pitch class, -1 = unknown)",
		13: "key: 5.5 is not a whole number in -1..11 (pitch class, -1 = unknown)",
		14: "loudness: 11 is outside [-100, 10]",
		15: "loudness: -101 is outside [-100, 10]",
		16: "mode: 2 is not 0 (minor) or 1 (major)",
		17: "speechiness: 1.01 is outside [0, 1]",
		18: "acousticness: -0.5 is outside [0, 1]",
		19: "instrumentalness: 2 is outside [0, 1]",
		20: "liveness: 1.1 is outside [0, 1]",
		21: "valence: -0.01 is outside [0, 1]",
		22: "tempo: -5 is outside [0, 400]",
		23: "tempo: 401 is outside [0, 400]",
		24: "track_popularity: 101 is outside 0..100",
		25: `track_popularity: "high" is not a number`,
		26: "duration_ms: -5 is ", // soundalike.Track.Validate's wording, naming the column
		27: "row has 14 fields, the header has 16",
		28: `stray quote (") inside an unquoted field`,
		29: "track_name: invalid UTF-8",
	}
	db := newFakeDB()
	sum := importFile(t, db, "../testdata/rejects.csv", nil)
	if sum.Rejected != len(want) || len(sum.Errors) != len(want) {
		t.Fatalf("rejected %d (%d errors), want %d: %v", sum.Rejected, len(sum.Errors), len(want), sum.Errors)
	}
	for _, e := range sum.Errors {
		w, ok := want[e.Line]
		if !ok {
			t.Errorf("unexpected rejection %v", &e)
			continue
		}
		if e.File != "../testdata/rejects.csv" || !strings.Contains(e.Reason, w) {
			t.Errorf("line %d: got %q in %q, want reason containing %q", e.Line, e.Reason, e.File, w)
		}
		delete(want, e.Line)
	}
	for line, w := range want {
		t.Errorf("line %d not rejected, want %q", line, w)
	}
	good := []soundalike.TrackID{"0r7CVbZTWZgbTCYdfa2P31", "1z1Hg7Vb0AhHDiEmnDE79l", "75FpbthrwQmzHlBJLuGdC7",
		"3QoZYtoasMKcUSpEh8cFBU", "5MsG9cmCf7ReAcOVpu8rGW", "6XUHsYE38CPdtwfNgUxnKw"}
	if sum.TracksAdded != len(good) || len(db.tracks) != len(good) {
		t.Errorf("added %d tracks (%d stored), want %d", sum.TracksAdded, len(db.tracks), len(good))
	}
	for _, id := range good {
		if db.tracks[id] == nil {
			t.Errorf("track %s (a good row) was not stored", id)
		}
	}
	if got := db.tracks["3QoZYtoasMKcUSpEh8cFBU"]; got != nil && got.Name != "Two\nlines" {
		t.Errorf("multi-line name = %q, want %q", got.Name, "Two\nlines")
	}
	if got := db.tracks["5MsG9cmCf7ReAcOVpu8rGW"]; got != nil && got.Features.Key != -1 {
		t.Errorf("key = %d, want -1", got.Features.Key)
	}
}

// TestFatalErrors: an unterminated quote or a truncated gzip stops the
// import with an error naming the file (and line), never a panic.
func TestFatalErrors(t *testing.T) {
	for _, tc := range []struct {
		file   string
		is     error
		want   string
		before int // tracks read before the failure
	}{
		{"unterminated_quote.csv", csv.ErrQuote, "unterminated_quote.csv:3: unterminated quoted field: the quote opened on line 3 is never closed", 1},
		{"truncated.csv.gz", io.ErrUnexpectedEOF, "truncated.csv.gz: after line", -1},
	} {
		t.Run(tc.file, func(t *testing.T) {
			src, err := ingest.Open("../testdata/" + tc.file)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer src.Close()
			db := newFakeDB()
			sum, err := ingest.Run(t.Context(), src, db.begin(), nil)
			if err == nil {
				t.Fatalf("Run = %+v, nil; want an error", sum)
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run error = %q, want one containing %q and wrapping %v", err, tc.want, tc.is)
			}
			if tc.before >= 0 && sum.TracksAdded != tc.before {
				t.Errorf("tracks before the failure = %d, want %d", sum.TracksAdded, tc.before)
			}
			if tc.before < 0 && sum.TracksAdded == 0 {
				t.Errorf("no tracks read before the truncation")
			}
		})
	}
}

// TestRefusedColumns: files whose columns cannot make tracks are refused
// by Open, naming the columns found and those accepted.
func TestRefusedColumns(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"no_id_column.csv", []string{"no track id column", "found columns: track_name, track_artist, danceability", "accepted: track_id, trackId, id, spotify_id, uri"}},
		{"no_feature_columns.csv", []string{"no audio feature columns", "found columns: track_id, track_name, track_artist, playlist_id", "acousticness, danceability, energy"}},
		{"missing_features.csv", []string{"missing feature column(s) key, mode", "found columns: track_id, danceability"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			src, err := ingest.Open("../testdata/" + tc.file)
			if err == nil {
				src.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if !errors.Is(err, ingest.ErrColumns) {
				t.Errorf("Open error %q does not wrap ErrColumns", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open error = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

// collect reads every record and row error from a source.
func collect(t *testing.T, src ingest.Source) (recs []ingest.Record, rowErrs []ingest.RowError) {
	t.Helper()
	for {
		rec, err := src.Next(t.Context())
		if err == io.EOF {
			return recs, rowErrs
		}
		if re, ok := errors.AsType[*ingest.RowError](err); ok {
			rowErrs = append(rowErrs, *re)
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		recs = append(recs, rec)
	}
}

func mustOpen(t *testing.T, path string) *ingest.FileSource {
	t.Helper()
	src, err := ingest.Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func errLines(errs []ingest.RowError) map[int]string {
	m := map[int]string{}
	for _, e := range errs {
		m[e.Line] = e.Reason
	}
	return m
}

// TestCamelCase reads camelCase headers, list-valued artists in three
// notations, action spellings and timestamp formats.
func TestCamelCase(t *testing.T) {
	src := mustOpen(t, "../testdata/camel_case.csv")
	recs, errs := collect(t, src)
	if len(errs) != 1 || errs[0].Line != 8 || !strings.Contains(errs[0].Reason, `Timestamp: "yesterday" is not a time`) {
		t.Errorf("row errors = %v, want one on line 8 about the timestamp", errs)
	}
	type want struct {
		line     int
		artists  []string
		release  string
		duration int
		genres   []string
		in       *soundalike.Interaction
	}
	ts := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	wants := []want{
		{2, []string{"Maroon 5", "Dillon Francis"}, "2019-12-13", 162600, []string{"pop"},
			&soundalike.Interaction{User: "u1", Track: "0r7CVbZTWZgbTCYdfa2P31", Action: soundalike.ActionAddToPlaylist, Time: ts}},
		{3, []string{"Tyler, The Creator", "Frank Ocean"}, "2019-07", 176616, []string{"edm"},
			&soundalike.Interaction{User: "u1", Track: "1z1Hg7Vb0AhHDiEmnDE79l", Action: soundalike.ActionAddToPlaylist, Time: ts.Add(250 * time.Millisecond)}},
		{4, []string{"Tyler, The Creator"}, "2019", 169093, []string{"rap"},
			&soundalike.Interaction{User: "u2", Track: "75FpbthrwQmzHlBJLuGdC7", Action: soundalike.ActionPlay, Time: time.Unix(1709294400, 0).UTC()}},
		{5, []string{"Ed Sheeran", "Justin Bieber"}, "2019-06-14", 194754, []string{"pop"},
			&soundalike.Interaction{User: "u2", Track: "6f807x0ima9a1j3VPbc7VN", Action: soundalike.ActionLike, Time: time.Unix(1709294400, 0).UTC()}},
		{6, []string{"Nobody"}, "", 200000, []string{"rock"},
			&soundalike.Interaction{User: "u3", Track: "3QoZYtoasMKcUSpEh8cFBU", Action: soundalike.ActionSkip}},
		{7, []string{"Nobody"}, "", 200000, []string{"rock"}, nil}, // no user: a track only
	}
	if len(recs) != len(wants) {
		t.Fatalf("got %d records, want %d", len(recs), len(wants))
	}
	for i, w := range wants {
		r := recs[i]
		if r.Line != w.line || r.Track == nil {
			t.Fatalf("record %d: line %d, track %v; want line %d with a track", i, r.Line, r.Track, w.line)
		}
		got := want{r.Line, r.Track.Artists, r.Track.ReleaseDate, r.Track.DurationMS, r.Track.Genres, r.Interaction}
		if diff := cmp.Diff(w, got, cmp.AllowUnexported(want{})); diff != "" {
			t.Errorf("line %d (-want +got):\n%s", w.line, diff)
		}
	}
	if k := recs[4].Track.Features.Key; k != -1 {
		t.Errorf("line 6 key = %d, want -1", k)
	}
	if f := recs[1].Track.Features.Instrumentalness; f != 2.33e-5 {
		t.Errorf("line 3 instrumentalness = %v, want 2.33e-5", f)
	}
}

// TestTSV reads a tab-separated file: commas inside fields, quoted fields,
// a ragged row and a bad number.
func TestTSV(t *testing.T) {
	src := mustOpen(t, "../testdata/tracks.tsv")
	if src.Format() != ingest.TSV {
		t.Errorf("Format = %v, want TSV", src.Format())
	}
	recs, errs := collect(t, src)
	var names []string
	for _, r := range recs {
		names = append(names, r.Track.Name)
		if r.Interaction == nil || r.Interaction.User == "" {
			t.Errorf("line %d: no interaction, want one from playlist_id", r.Line)
		}
	}
	if diff := cmp.Diff([]string{"Memories, remix", `All the "Time"`, `Say "hi"`}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[int]string{5: "row has 4 fields, the header has 16", 6: `tempo: "fast" is not a number (accepted: plain decimals such as 120, -7.25 or 1.06e-05)`}, errLines(errs)); diff != "" {
		t.Errorf("row errors (-want +got):\n%s", diff)
	}
}

// TestJSONL reads JSON Lines: Spotify API objects (id, uri, artists as an
// array), strings for numbers, null, keys added after the first object,
// and broken lines.
func TestJSONL(t *testing.T) {
	src := mustOpen(t, "../testdata/tracks.jsonl")
	if src.Format() != ingest.JSONL {
		t.Errorf("Format = %v, want JSON Lines", src.Format())
	}
	recs, errs := collect(t, src)
	type got struct {
		Line    int
		ID      soundalike.TrackID
		Artists []string
		Album   string
		Genres  []string
		Dance   float64
	}
	var gots []got
	for _, r := range recs {
		gots = append(gots, got{r.Line, r.Track.ID, r.Track.Artists, r.Track.Album, r.Track.Genres, r.Track.Features.Danceability})
		if r.Interaction != nil {
			t.Errorf("line %d: interaction %v, want none (no user column)", r.Line, r.Interaction)
		}
	}
	want := []got{
		{1, "0r7CVbZTWZgbTCYdfa2P31", []string{"Maroon 5", "Dillon Francis"}, "", nil, 0.726},
		{3, "1z1Hg7Vb0AhHDiEmnDE79l", []string{"Zara Larsson"}, "", []string{"edm"}, 0.675},
		{8, "5MsG9cmCf7ReAcOVpu8rGW", nil, "", []string{"rock", "indie"}, 0.5},
	}
	if diff := cmp.Diff(want, gots); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	wantErrs := map[int]string{4: "invalid JSON", 5: "not a JSON object", 6: "tempo: missing value", 7: "invalid JSON"}
	lines := errLines(errs)
	for l, w := range wantErrs {
		if !strings.Contains(lines[l], w) {
			t.Errorf("line %d error = %q, want it to contain %q", l, lines[l], w)
		}
	}
	if len(lines) != len(wantErrs) {
		t.Errorf("row errors = %v, want lines 4-7 only", lines)
	}
}

func gzipped(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDetect: formats are recognised from content first, then the name.
func TestDetect(t *testing.T) {
	csvData, err := os.ReadFile("../testdata/rejects.csv")
	if err != nil {
		t.Fatal(err)
	}
	tsvData, _ := os.ReadFile("../testdata/tracks.tsv")
	jsonData, _ := os.ReadFile("../testdata/tracks.jsonl")
	header := "track_id,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo\n"
	for _, tc := range []struct {
		name     string
		data     []byte
		format   ingest.Format
		gz       bool
		wantErr  string
		wantRecs int
	}{
		{"tracks.tsv", csvData, ingest.CSV, false, "", 6}, // content wins over the name
		{"data", tsvData, ingest.TSV, false, "", 3},
		{"data.bin", jsonData, ingest.JSONL, false, "", 3},
		{"x.csv.gz", gzipped(t, csvData), ingest.CSV, true, "", 6},
		{"x", gzipped(t, tsvData), ingest.TSV, true, "", 3},
		{"x", gzipped(t, jsonData), ingest.JSONL, true, "", 3},
		{"bom.csv", append([]byte("\xef\xbb\xbf"), csvData...), ingest.CSV, false, "", 6},
		{"crlf.csv", bytes.ReplaceAll(csvData, []byte("\n"), []byte("\r\n")), ingest.CSV, false, "", 6},
		{"header-only.csv", []byte(header), ingest.CSV, false, "", 0},
		{"empty.csv", nil, 0, false, "empty file", 0},
		{"blank.csv", []byte("\n \n"), 0, false, "empty file", 0},
		{"a.json", []byte(`[{"track_id":"x"}]`), 0, false, "is a JSON array", 0},
		{"a.zip", []byte("PK\x03\x04rest"), 0, false, "zip archive", 0},
		{"a.xz", []byte("\xfd7zXZ\x00rest"), 0, false, "only gzip is supported", 0},
		{"bad.gz", []byte("\x1f\x8bnot really"), 0, false, "not a valid gzip file", 0},
		{"binary.csv", []byte("\x00\x01\x02\n\x03"), 0, false, "not UTF-8 text", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := ingest.NewReader(tc.name, bytes.NewReader(tc.data))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), tc.name+":") {
					t.Fatalf("NewReader error = %v, want one starting with %q and containing %q", err, tc.name+":", tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewReader: %v", err)
			}
			defer src.Close()
			if src.Format() != tc.format || src.Compressed() != tc.gz {
				t.Errorf("format %v, compressed %v; want %v, %v", src.Format(), src.Compressed(), tc.format, tc.gz)
			}
			recs, _ := collect(t, src)
			if len(recs) != tc.wantRecs {
				t.Errorf("read %d records, want %d", len(recs), tc.wantRecs)
			}
		})
	}
}

// TestRepeatedRowsCountTracks: the summary counts tracks, not rows, into a
// real engine. The sample lists some tracks once per playlist, with other
// genres: a fresh import adds each once and updates none. A track stored
// before is updated once however many of its rows change it; a row that
// only repeats it changes nothing; rows of a new track with other values
// add it once and are counted as repeated ids.
func TestRepeatedRowsCountTracks(t *testing.T) {
	eng, err := soundalike.Open(filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	run := func(name string, src func() (*ingest.FileSource, error)) ingest.Summary {
		t.Helper()
		var sum ingest.Summary
		err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error {
			s, err := src()
			if err != nil {
				return err
			}
			defer s.Close()
			sum, err = ingest.Run(t.Context(), s, tx, nil)
			return err
		})
		if err != nil {
			t.Fatalf("import %s: %v", name, err)
		}
		return sum
	}

	_, rows := readCSV(t, sample)
	ids := map[string]bool{}
	for _, r := range rows {
		ids[r["track_id"]] = true
	}
	if len(ids) == len(rows) {
		t.Fatalf("the sample has no repeated track id: the test needs some")
	}
	sum := run(sample, func() (*ingest.FileSource, error) { return ingest.Open(sample) })
	if sum.TracksAdded != len(ids) || sum.TracksUpdated != 0 || sum.RepeatedIDs != 0 {
		t.Errorf("fresh import of %d rows, %d track ids: added %d, updated %d, repeated ids %d; want %d, 0, 0",
			len(rows), len(ids), sum.TracksAdded, sum.TracksUpdated, sum.RepeatedIDs, len(ids))
	}

	rename := func(row, name string) string { return strings.Replace(row, ",one", ","+name, 1) }
	csvFile := func(name string, rows []string) func() (*ingest.FileSource, error) {
		return func() (*ingest.FileSource, error) {
			return ingest.NewReader(name, strings.NewReader(featuresHeader+"\n"+strings.Join(rows, "\n")+"\n"))
		}
	}
	for _, tc := range []struct {
		name                    string
		stored, rows            []string // stored: imported first, on its own
		added, updated, repeats int
	}{
		{"stored, then changed twice", []string{row1}, []string{row1, rename(row1, "uno"), rename(row1, "eins")}, 0, 1, 2},
		{"changed, then repeated", []string{row1}, []string{rename(row1, "un"), rename(row1, "un")}, 0, 1, 0},
		{"new, with other values", nil, []string{"t9" + row1[2:], rename("t9"+row1[2:], "nine")}, 1, 0, 1},
	} {
		if tc.stored != nil {
			run("stored.csv", csvFile("stored.csv", tc.stored))
		}
		sum := run(tc.name, csvFile("rep.csv", tc.rows))
		if sum.TracksAdded != tc.added || sum.TracksUpdated != tc.updated || sum.RepeatedIDs != tc.repeats {
			t.Errorf("%s: added %d, updated %d, repeated ids %d; want %d, %d, %d",
				tc.name, sum.TracksAdded, sum.TracksUpdated, sum.RepeatedIDs, tc.added, tc.updated, tc.repeats)
		}
	}
}
