package ingest_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
)

// readAll reads a stream to the end or to its first fatal error. Whatever
// the input, it must not panic, must end, and every record it yields must
// be a valid track.
func readAll(t *testing.T, name string, data []byte) {
	src, err := ingest.NewReader(name, bytes.NewReader(data))
	if err != nil {
		if !strings.HasPrefix(err.Error(), name) {
			t.Fatalf("NewReader error %q does not name the file", err)
		}
		return
	}
	defer src.Close()
	for i := 0; ; i++ {
		if i > len(data)+2 {
			t.Fatalf("more records (%d) than input bytes (%d)", i, len(data))
		}
		rec, err := src.Next(t.Context())
		if err == io.EOF {
			return
		}
		if re, ok := errors.AsType[*ingest.RowError](err); ok {
			if re.File != name || re.Line < 1 || re.Reason == "" {
				t.Fatalf("row error without file, line or reason: %+v", re)
			}
			continue
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), name) {
				t.Fatalf("fatal error %q does not name the file", err)
			}
			return
		}
		if rec.Track == nil && rec.Interaction == nil {
			t.Fatalf("record with neither a track nor an interaction: %+v", rec)
		}
		if rec.Track != nil {
			if err := rec.Track.Validate(); err != nil {
				t.Fatalf("invalid track got through: %v (%+v)", err, rec.Track)
			}
		}
		if in := rec.Interaction; in != nil && (in.User == "" || in.Track == "" || rec.Track != nil && in.Track != rec.Track.ID) {
			t.Fatalf("bad interaction: %+v", in)
		}
	}
}

func addFiles(f *testing.F, names ...string) {
	for _, n := range names {
		b, err := os.ReadFile("../testdata/" + n)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 4<<10 {
			b = b[:4<<10]
		}
		f.Add(b)
	}
}

func FuzzCSV(f *testing.F) {
	addFiles(f, "rejects.csv", "camel_case.csv", "unterminated_quote.csv", "spotify_sample.csv", "truncated.csv.gz", "plays.csv")
	f.Fuzz(func(t *testing.T, data []byte) { readAll(t, "f.csv", data) })
}

func FuzzTSV(f *testing.F) {
	addFiles(f, "tracks.tsv")
	f.Fuzz(func(t *testing.T, data []byte) { readAll(t, "f.tsv", data) })
}

func FuzzJSONL(f *testing.F) {
	addFiles(f, "tracks.jsonl")
	f.Fuzz(func(t *testing.T, data []byte) { readAll(t, "f.jsonl", data) })
}

// FuzzRoundTrip writes a valid track as CSV, TSV and JSON Lines (and
// gzipped CSV) and checks that each reads back identically.
func FuzzRoundTrip(f *testing.F) {
	f.Add("6f807x0ima9a1j3VPbc7VN", "I Don't Care", "Ed Sheeran", 0.748, 0.916, 0.5, 0.0, 6.0, 0.0653, 0.3, 1.0, 0.0583, 0.3, 0.518, 66, "p1")
	f.Add("id", "Two\nlines, \"quoted\"", "Tyler, The Creator", 1.0, 0.0, 1e-9, 2.33e-5, -1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0, "")
	f.Fuzz(func(t *testing.T, id, name, artist string, a, d, e, in, key, l, loud, mode, s, tempo, v float64, pop int, user string) {
		clean := func(s string) bool {
			return utf8.ValidString(s) && s == strings.TrimSpace(s) && !strings.ContainsRune(s, '\r')
		}
		if !clean(id) || !clean(name) || !clean(artist) || !clean(user) || id == "" ||
			isReducedRef(id) ||
			strings.ContainsAny(artist, "[{;") {
			t.Skip()
		}
		in01 := func(x float64) float64 { return math.Abs(x) - math.Floor(math.Abs(x)) }
		if math.IsNaN(a+d+e+in+key+l+loud+mode+s+tempo+v) || math.IsInf(a+d+e+in+key+l+loud+mode+s+tempo+v, 0) {
			t.Skip()
		}
		want := soundalike.Track{
			ID: soundalike.TrackID(id), Name: name,
			Features: soundalike.Features{
				Acousticness: in01(a), Danceability: in01(d), Energy: in01(e), Instrumentalness: in01(in),
				Key: int(math.Abs(key))%13 - 1, Liveness: in01(l), Loudness: -100 * in01(loud), Mode: int(math.Abs(mode)) % 2,
				Speechiness: in01(s), Tempo: 400 * in01(tempo), Valence: in01(v),
			},
			Popularity: (pop%101 + 101) % 101,
		}
		if artist != "" {
			want.Artists = []string{artist}
		}
		vals := want.Features.Values()
		header := append([]string{"track_id", "track_name", "track_artist", "track_popularity", "user_id"}, soundalike.FeatureNames()...)
		row := []string{id, name, artist, strconv.Itoa(want.Popularity), user}
		obj := map[string]any{"track_id": id, "track_name": name, "track_artist": artist, "track_popularity": want.Popularity, "user_id": user}
		for i, x := range vals {
			row = append(row, strconv.FormatFloat(x, 'g', -1, 64))
			obj[soundalike.FeatureName(i)] = x
		}

		var csvBuf bytes.Buffer
		w := csv.NewWriter(&csvBuf)
		w.Write(header)
		w.Write(row)
		w.Flush()
		jsonLine, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		inputs := map[string][]byte{
			"f.csv":    csvBuf.Bytes(),
			"f.csv.gz": gzipped(t, csvBuf.Bytes()),
			"f.jsonl":  append(jsonLine, '\n'),
		}
		tsvOK := true
		for _, x := range row {
			if strings.ContainsAny(x, "\t\n") || len(x) >= 2 && x[0] == '"' && x[len(x)-1] == '"' {
				tsvOK = false
			}
		}
		if tsvOK {
			inputs["f.tsv"] = []byte(strings.Join(header, "\t") + "\n" + strings.Join(row, "\t") + "\n")
		}
		for name, data := range inputs {
			src, err := ingest.NewReader(name, bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%s: NewReader: %v", name, err)
			}
			rec, err := src.Next(t.Context())
			if err != nil {
				t.Fatalf("%s: Next: %v\n%s", name, err, data)
			}
			if diff := cmp.Diff(&want, rec.Track); diff != "" {
				t.Errorf("%s: track (-want +got):\n%s", name, diff)
			}
			if (rec.Interaction != nil) != (user != "") {
				t.Errorf("%s: interaction %v for user %q", name, rec.Interaction, user)
			}
			if _, err := src.Next(t.Context()); err != io.EOF {
				t.Errorf("%s: second Next = %v, want io.EOF", name, err)
			}
			src.Close()
		}
	})
}

// isReducedRef reports whether an id cell holds a Spotify URI or link,
// which an import stores as the bare id it names.
func isReducedRef(id string) bool {
	ref, err := soundalike.ParseTrackRef(id)
	return err == nil && string(ref) != id
}
