package ingest_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
)

const jsonlFeatures = `"acousticness":0.1,"danceability":0.2,"energy":0.3,"instrumentalness":0.4,"key":5,"liveness":0.6,"loudness":-7,"mode":1,"speechiness":0.08,"valence":0.9`

// Given a JSON Lines file whose line 1 leaves out tempo (as serializers
// that omit nulls do), when it is opened, expect an error naming line 1,
// saying its object sets the columns and lacks tempo, and what to do. It
// said "missing feature column(s) tempo" naming no line.
func TestJSONLFirstObjectLacksKey(t *testing.T) {
	file := `{"id":"J1",` + jsonlFeatures + "}\n" + `{"id":"J2",` + jsonlFeatures + `,"tempo":120}` + "\n"
	_, err := ingest.NewFileReader("firstmiss.jsonl", strings.NewReader(file), nil)
	if err == nil || !errors.Is(err, ingest.ErrColumns) {
		t.Fatalf("err = %v, want ErrColumns", err)
	}
	for _, want := range []string{"firstmiss.jsonl:1: unusable columns: line 1's object (which sets the columns) lacks feature key(s) tempo", "null where a value is unknown", "or put first an object that has them all"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to say %q", err, want)
		}
	}
}

// Given JSON Lines objects that give a key twice, in the first object and
// in a later one, when they are imported, expect each key's first value
// read (as for a CSV column named twice) and one warning for the file,
// at the first such object's line.
func TestJSONLRepeatedKey(t *testing.T) {
	file := `{"id":"J1","id":"J9",` + jsonlFeatures + `,"tempo":120}` + "\n" +
		`{"id":"J4","id":"J5",` + jsonlFeatures + `,"tempo":120,"tempo":99}` + "\n" +
		`{"id":"J6",` + jsonlFeatures + `,"tempo":120}` + "\n"
	src, err := ingest.NewFileReader("dup.jsonl", strings.NewReader(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	db := newFakeDB()
	sum, err := ingest.Run(t.Context(), src, db.begin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"J1", "J4", "J6"} {
		if _, ok := db.tracks[soundalike.TrackID(id)]; !ok {
			t.Errorf("track %s not stored: the first value of id is read", id)
		}
	}
	for _, id := range []string{"J5", "J9"} {
		if _, ok := db.tracks[soundalike.TrackID(id)]; ok {
			t.Errorf("track %s stored: a repeated key's later value is ignored", id)
		}
	}
	if tr, ok := db.tracks["J4"]; ok && tr.Features.Tempo != 120 {
		t.Errorf("J4 tempo = %v, want the first value, 120", tr.Features.Tempo)
	}
	want := `dup.jsonl:1: 2 objects give a key twice (the first: "id"); the first value is read, the others are ignored, as for a column named twice`
	if len(sum.Warnings) != 1 || sum.Warnings[0].Error() != want {
		t.Errorf("warnings = %v\nwant [%s]", sum.Warnings, want)
	}
}

// Given three sources run into one sink with one Repeats, the second
// repeating a track of the first with other values and one with the
// same, the third a track of the first alone with other values and one
// with the second's values, expect a warning on the second and one on
// the third, each naming the first, RepeatedIDs 2 and each track counted
// once, as added.
func TestRunRepeatsAcrossSources(t *testing.T) {
	header := "track_id,acousticness,danceability,energy,instrumentalness,key,liveness,loudness,mode,speechiness,tempo,valence\n"
	features := ",0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,"
	db := newFakeDB()
	tx := db.begin()
	reps := ingest.NewRepeats()
	var total ingest.Summary
	for _, f := range []struct{ name, text string }{
		{"a.csv", header + "t1" + features + "0.9\nt2" + features + "0.9\nt0" + features + "0.9\n"},
		{"b.csv", header + "t2" + features + "0.9\nt3" + features + "0.9\nt1" + features + "0.5\n"},
		// t0 is a.csv's alone: b.csv's Run must carry it through. t1
		// repeats b.csv's values, the last stored: no warning.
		{"c.csv", header + "t5" + features + "0.9\nt0" + features + "0.3\nt1" + features + "0.5\n"},
	} {
		src, err := ingest.NewFileReader(f.name, strings.NewReader(f.text), nil)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := ingest.Run(t.Context(), src, tx, &ingest.Options{Repeats: reps})
		if err != nil {
			t.Fatal(err)
		}
		total.Add(sum)
	}
	want := []string{
		"b.csv:4: 1 row repeats the track id of a row of an earlier file of this import (a.csv) with other values; the last row's values are kept",
		"c.csv:3: 1 row repeats the track id of a row of an earlier file of this import (a.csv) with other values; the last row's values are kept",
	}
	var got []string
	for _, w := range total.Warnings {
		got = append(got, w.Error())
	}
	if total.TracksAdded != 5 || total.TracksUpdated != 0 || total.RepeatedIDs != 2 || !slices.Equal(got, want) {
		t.Errorf("summary = %+v\nwant 5 added, 0 updated, RepeatedIDs 2, the warnings\n%s", total, strings.Join(want, "\n"))
	}
}
