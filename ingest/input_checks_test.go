package ingest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
)

// importText imports file (named name) into a fresh fake catalogue.
func importText(t *testing.T, name, file string) (ingest.Summary, *fakeDB) {
	t.Helper()
	src, err := ingest.NewReader(name, strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	db := newFakeDB()
	sum, err := ingest.Run(context.Background(), src, db.begin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return sum, db
}

const (
	row1 = "t1,0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.9,one"
	row2 = "t2,0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.9,two"
)

func TestCROnlyLineEnds(t *testing.T) {
	for _, tc := range []struct{ name, file string }{
		{"mac.csv", featuresHeader + "\r" + row1 + "\r" + row2 + "\r"},
		{"mac.tsv", strings.ReplaceAll(featuresHeader+"\r"+row1+"\r"+row2, ",", "\t")},
		{"mixed.csv", featuresHeader + "\r" + row1 + "\r\n" + row2 + "\r\n"},
		{"quoted.csv", featuresHeader + "\r" + row1 + "\r" + strings.Replace(row2, "two", "\"two\rlines\"", 1) + "\r"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum, db := importText(t, tc.name, tc.file)
			if sum.TracksAdded != 2 || sum.Rejected != 0 || len(sum.Warnings) != 0 {
				t.Fatalf("summary %+v, want 2 tracks added, nothing rejected", sum)
			}
			if got := db.tracks["t2"]; got == nil || !strings.HasPrefix(got.Name, "two") {
				t.Errorf("track t2 = %+v", got)
			}
		})
	}
}

func TestNoRowsWarns(t *testing.T) {
	sum, _ := importText(t, "header.csv", featuresHeader+"\n")
	if len(sum.Warnings) != 1 || !strings.Contains(sum.Warnings[0].Error(), "header.csv: no rows") {
		t.Fatalf("warnings %+v, want header.csv: no rows", sum.Warnings)
	}
}

func TestRepeatedColumnsWarn(t *testing.T) {
	file := featuresHeader + ",Energy,energy,x,x\n" + row1 + ",0.5,0.6,a,b\n"
	sum, db := importText(t, "dup.csv", file)
	var msgs []string
	for _, w := range sum.Warnings {
		msgs = append(msgs, w.Error())
	}
	want := []string{
		`dup.csv:1: column "energy" appears 3 times; the first is read, the others are ignored`,
		`dup.csv:1: column "x" appears 2 times; the first is read, the others are ignored`,
	}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
	if got := db.tracks["t1"].Features.Energy; got != 0.3 {
		t.Errorf("energy = %v, want the first column's 0.3", got)
	}
}

func TestRepeatedIDsWarn(t *testing.T) {
	// t1 three times: once the same (no conflict), then twice with
	// another name; t2 once.
	file := featuresHeader + "\n" + row1 + "\n" + row1 + "\n" + row2 + "\n" +
		strings.Replace(row1, "one", "uno", 1) + "\n" + strings.Replace(row1, "one", "eins", 1) + "\n"
	sum, db := importText(t, "rep.csv", file)
	if sum.RepeatedIDs != 2 {
		t.Errorf("RepeatedIDs = %d, want 2", sum.RepeatedIDs)
	}
	if len(sum.Warnings) != 1 || !strings.HasPrefix(sum.Warnings[0].Error(), `rep.csv:5: 2 rows repeat the track id of an earlier row with other values; the last row's values are kept`) {
		t.Errorf("warnings %+v", sum.Warnings)
	}
	if got := db.tracks["t1"].Name; got != "eins" {
		t.Errorf("name = %q, want the last row's", got)
	}
}

func TestReleaseDate(t *testing.T) {
	for date, ok := range map[string]bool{
		"": true, "2019": true, "2019-06": true, "2019-06-14": true, "2020-02-29": true, "1999-12-31": true,
		"9999-99-99": false, "2019-13": false, "2019-00": false, "2019-06-31": false, "2019-02-29": false,
		"2019-06-00": false, "19": false, "2019-6-1": false, "20190614": false, "2019/06/14": false, "abcd": false,
	} {
		tr := &soundalike.Track{ID: "t", ReleaseDate: date}
		err := soundalike.CheckTrack(tr)
		if (err == nil) != ok {
			t.Errorf("CheckTrack(release_date %q) = %v, want ok %v", date, err, ok)
		}
		if err != nil && (!strings.Contains(err.Error(), "release_date") || !strings.Contains(err.Error(), "YYYY, YYYY-MM or YYYY-MM-DD")) {
			t.Errorf("error %q does not name the field and the accepted forms", err)
		}
	}
	// Every day number of every month of leap and common years, centuries
	// included, agrees with package time.
	for _, year := range []int{1900, 1999, 2000, 2023, 2024, 2100, 2400} {
		for month := 1; month <= 12; month++ {
			for day := 0; day <= 32; day++ {
				date := fmt.Sprintf("%04d-%02d-%02d", year, month, day)
				_, perr := time.Parse(time.DateOnly, date)
				if err := soundalike.CheckTrack(&soundalike.Track{ID: "t", ReleaseDate: date}); (err == nil) != (perr == nil) {
					t.Errorf("CheckTrack(release_date %q) = %v; time.Parse: %v", date, err, perr)
				}
			}
		}
	}
	file := "track_id,acousticness,danceability,energy,instrumentalness,key,liveness,loudness,mode,speechiness,tempo,valence,release_date\n" +
		"t1,0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.9,9999-99-99\nt2,0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.9,2019-06-14\n"
	sum, _ := importText(t, "dates.csv", file)
	if sum.TracksAdded != 1 || sum.Rejected != 1 || !strings.Contains(sum.Errors[0].Error(), `dates.csv:2: release_date: "9999-99-99" has no month 99`) {
		t.Errorf("summary %+v, want line 2 rejected for its month", sum)
	}
}

// TestRepeatedColumnsCapped: a header of many repeated names gives at
// most MaxErrors warnings and a count of the rest.
func TestRepeatedColumnsCapped(t *testing.T) {
	var h, r strings.Builder
	for i := range 150 {
		fmt.Fprintf(&h, ",c%d,c%d", i, i)
		r.WriteString(",x,y")
	}
	sum, _ := importText(t, "many.csv", featuresHeader+h.String()+"\n"+row1+r.String()+"\n")
	if len(sum.Warnings) != ingest.MaxErrors+1 || !strings.Contains(sum.Warnings[ingest.MaxErrors].Reason, "and 50 more repeated column names") {
		t.Errorf("%d warnings, the last %+v; want %d and a count of 50 more", len(sum.Warnings), sum.Warnings[len(sum.Warnings)-1], ingest.MaxErrors+1)
	}
}

// TestRunRefusesArgs: Run returns an error before reading for arguments
// it cannot work with, instead of panicking on its read-ahead goroutine,
// where no caller could recover.
func TestRunRefusesArgs(t *testing.T) {
	file := featuresHeader + "\n" + row1 + "\n" + row2 + "\n"
	newSrc := func() ingest.Source {
		src, err := ingest.NewReader("x.csv", strings.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	var nilCtx context.Context
	calls := 0
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"nil src", func() error { _, err := ingest.Run(t.Context(), nil, newFakeDB().begin(), nil); return err }, "src is nil"},
		{"nil sink", func() error { _, err := ingest.Run(t.Context(), newSrc(), nil, nil); return err }, "sink is nil"},
		{"nil ctx", func() error { _, err := ingest.Run(nilCtx, newSrc(), newFakeDB().begin(), nil); return err }, "ctx is nil"},
		{"negative ProgressEvery", func() error {
			_, err := ingest.Run(t.Context(), newSrc(), newFakeDB().begin(), &ingest.Options{ProgressEvery: -5, Progress: func(ingest.Progress) { calls++ }})
			return err
		}, "Options.ProgressEvery = -5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	if calls != 0 {
		t.Errorf("Progress was called %d times by a refused Run", calls)
	}
}

// panicSource is a Source whose Next panics.
type panicSource struct{}

func (panicSource) Next(context.Context) (ingest.Record, error) { panic("broken source") }
func (panicSource) Close() error                                { return nil }

// TestRunRaisesSourcePanic: a panic in the source, which Run reads on its
// own goroutine, comes out of Run, where the caller can recover it.
func TestRunRaisesSourcePanic(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "broken source") {
			t.Errorf("Run raised %v, want the source's panic", r)
		}
	}()
	ingest.Run(t.Context(), panicSource{}, newFakeDB().begin(), nil)
	t.Error("Run returned; want it to raise the source's panic")
}

// TestNewReaderRefuses: a nil reader and a negative MaxLineBytes are
// errors naming them.
func TestNewReaderRefuses(t *testing.T) {
	if _, err := ingest.NewReader("x.csv", nil); err == nil || !strings.Contains(err.Error(), "reader is nil") {
		t.Errorf("NewReader(nil) = %v, want an error saying the reader is nil", err)
	}
	file := featuresHeader + "\n" + row1 + "\n"
	_, err := ingest.NewFileReader("x.csv", strings.NewReader(file), &ingest.FileOptions{MaxLineBytes: -1})
	if err == nil || !strings.Contains(err.Error(), "FileOptions.MaxLineBytes = -1") {
		t.Errorf("NewFileReader(MaxLineBytes -1) = %v, want an error naming FileOptions.MaxLineBytes", err)
	}
}
