package ingest_test

import (
	"context"
	"errors"
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

// TestNamelessColumnsAreNotRepeats: columns whose names have no letter
// or digit (the empty names of a spreadsheet's trailing columns, names
// in another script) feed no field, and are not one name repeated: they
// gave a warning, which --strict refuses.
func TestNamelessColumnsAreNotRepeats(t *testing.T) {
	file := featuresHeader + ",,,名前,備考,#,%\n" + row1 + ",,,a,b,c,d\n"
	sum, db := importText(t, "sheet.csv", file)
	if len(sum.Warnings) != 0 {
		t.Errorf("warnings %+v, want none", sum.Warnings)
	}
	if sum.TracksAdded != 1 || db.tracks["t1"] == nil {
		t.Errorf("summary %+v, want t1 added", sum)
	}
}

// TestOtherSeparatorNamed: a file separated by semicolons (what
// spreadsheets save where 0,5 is a half) or bars is read as one column;
// Open says which separator it has and which are accepted, rather than
// "no track id column" with track_id in sight.
func TestOtherSeparatorNamed(t *testing.T) {
	for _, sep := range []string{";", "|"} {
		file := strings.ReplaceAll(featuresHeader+"\n"+row1+"\n", ",", sep)
		_, err := ingest.NewReader("sep.csv", strings.NewReader(file))
		if !errors.Is(err, ingest.ErrColumns) {
			t.Fatalf("NewReader(%q-separated) error %v, want one wrapping ErrColumns", sep, err)
		}
		for _, w := range []string{"sep.csv: ", fmt.Sprintf("with '%s' between its names", sep), "accepted: comma-separated CSV or tab-separated TSV"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q, want it to contain %q", err, w)
			}
		}
	}
	// A header of one column without a separator keeps the usual error.
	if _, err := ingest.NewReader("one.csv", strings.NewReader("track_id\nt1\n")); err == nil || strings.Contains(err.Error(), "between its names") {
		t.Errorf("one column: error %v, want the usual columns error", err)
	}
}

// TestReleaseDateTimestamp: a release date written as a timestamp is cut
// to its date; other text after a date is refused, not cut away.
func TestReleaseDateTimestamp(t *testing.T) {
	header := "track_id,acousticness,danceability,energy,instrumentalness,key,liveness,loudness,mode,speechiness,tempo,valence,release_date\n"
	dates := []struct {
		cell, want string // want "" is refused
	}{
		{"2019-06-14 00:00:00", "2019-06-14"},
		{"2019-06-14T00:00:00Z", "2019-06-14"},
		{"2019-06-14 00:00:00.000+00", "2019-06-14"},
		{"2019-06-14T23:30:00-05:00", "2019-06-14"}, // the date where it was released
		{"2019-06-14 00:00", "2019-06-14"},
		{"2019-06-14 reissue", ""},
		{"2019-06-14 garbage", ""},
		{"2019-06-14T", ""},
		{"2019-06-14 99:99:99", ""},
	}
	var file strings.Builder
	file.WriteString(header)
	for i, d := range dates {
		fmt.Fprintf(&file, "t%d,0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.9,%s\n", i, d.cell)
	}
	sum, db := importText(t, "dates.csv", file.String())
	rejected := errLines(sum.Errors)
	for i, d := range dates {
		line := i + 2
		got := db.tracks[soundalike.TrackID(fmt.Sprintf("t%d", i))]
		switch {
		case d.want == "" && got != nil:
			t.Errorf("%q: stored release date %q, want the row refused", d.cell, got.ReleaseDate)
		case d.want == "" && !strings.Contains(rejected[line], "release_date"):
			t.Errorf("%q: line %d reason %q, want the release date named", d.cell, line, rejected[line])
		case d.want != "" && (got == nil || got.ReleaseDate != d.want):
			t.Errorf("%q: stored %+v (rejected: %q), want release date %q", d.cell, got, rejected[line], d.want)
		}
	}
}

// TestCRCRLFLineEnds: lines ended by \r\r\n (Python's csv module on
// Windows, with the file opened without newline="") are read as lines
// ended by \n, and an error names the line that wc, grep -n and sed
// count; each \r counted as a line end put it at 3n-2.
func TestCRCRLFLineEnds(t *testing.T) {
	bad := strings.Replace(row2, "0.9", "x", 1)
	quoted := strings.Replace(row1, "one", "\"one\r\r\nline two\"", 1)
	for _, tc := range []struct{ name, file string }{
		{"win.csv", featuresHeader + "\r\r\n" + quoted + "\r\r\n" + bad + "\r\r\n" + strings.Replace(row1, "t1", "t3", 1) + "\r\r\n"},
		{"win.tsv", strings.ReplaceAll(featuresHeader+"\r\r\n"+row1+"\r\r\n\r\r\n"+bad+"\r\r\n"+strings.Replace(row1, "t1", "t3", 1), ",", "\t")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum, db := importText(t, tc.name, tc.file)
			if sum.TracksAdded != 2 || sum.Rejected != 1 {
				t.Fatalf("summary %+v, want 2 tracks added, 1 row rejected", sum)
			}
			want := tc.name + `:4: valence: "x" is not a number (accepted: plain decimals such as 120, -7.25 or 1.06e-05)`
			if got := sum.Errors[0].Error(); got != want {
				t.Errorf("error %q, want %q", got, want)
			}
			if got := db.tracks["t1"]; got == nil || strings.ContainsRune(got.Name, '\r') {
				t.Errorf("track t1 = %+v, want its name without \\r", got)
			}
			if got := db.tracks["t3"]; got == nil || got.Name != "one" {
				t.Errorf("track t3 = %+v, want the last row read whole", got)
			}
		})
	}
}

// TestJoinedRowsWarn: a stray quote that opens a field of one row and
// closes in the same column of the next joins the two into one row with
// the header's number of fields: t1 took t2's values and t2 was lost,
// without a rejection or a warning. It is warned of now; a quoted field
// that holds a line end without commas after it is not.
func TestJoinedRowsWarn(t *testing.T) {
	joined := featuresHeader + "\n" + strings.Replace(row1, "one", `"one`, 1) + "\n" + strings.Replace(row2, "two", `two"`, 1) + "\n"
	sum, _ := importText(t, "joined.csv", joined)
	if len(sum.Warnings) != 1 || sum.Warnings[0].Line != 2 || !strings.Contains(sum.Warnings[0].Reason, `1 row has a quoted field holding a line end and then commas, as when a stray quote (") joins`) {
		t.Errorf("warnings %+v, want one for the row on line 2", sum.Warnings)
	}
	twoLines := featuresHeader + "\n" + strings.Replace(row1, "one", "\"one\ntwo\"", 1) + "\n" + row2 + "\n"
	sum, db := importText(t, "names.csv", twoLines)
	if len(sum.Warnings) != 0 || db.tracks["t1"] == nil || db.tracks["t1"].Name != "one\ntwo" {
		t.Errorf("warnings %+v, track t1 %+v; want none, and the name of two lines", sum.Warnings, db.tracks["t1"])
	}
}

// TestJoinedRowRejectedNamesItsLines: a row that a stray quote joined
// with the next and that is then rejected names every line it took: the
// error named only the first, and the count of one rejected row hid the
// second.
func TestJoinedRowRejectedNamesItsLines(t *testing.T) {
	for _, tc := range []struct{ name, second string }{
		{"quote.csv", strings.Replace(row2, "two", `tw"o`, 1)},                      // the quote closes a field, then more text
		{"count.csv", strings.Replace(row2, "0.9,two", `0.9",two`, 1) + "," + row1}, // too many fields
	} {
		file := featuresHeader + "\n" + strings.Replace(row1, "one", `"one`, 1) + "\n" + tc.second + "\n" + strings.Replace(row1, "t1", "t3", 1) + "\n"
		sum, db := importText(t, tc.name, file)
		if sum.Rejected != 1 || !strings.HasPrefix(sum.Errors[0].Error(), tc.name+":2: lines 2-3 were read as one row (a quoted field holds their line ends) and rejected: ") {
			t.Errorf("%s: errors %v, want line 2 naming lines 2-3", tc.name, sum.Errors)
		}
		if db.tracks["t3"] == nil {
			t.Errorf("%s: t3, after the joined row, was not stored", tc.name)
		}
	}
}

// unprintable returns the first rune of s that a terminal would act on
// rather than show (a control character, a bidirectional override, a
// line separator), or -1.
func unprintable(s string) rune {
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r < 0xa0 || r >= 0x202a && r <= 0x202e || r == 0x2028 || r == 0x2029 {
			return r
		}
	}
	return -1
}

// TestHeaderNamesEscapedInErrors: a column name from a file's header is
// printed escaped in every error and warning that names it: a quoted CSV
// field or a JSON key may hold a line end or an escape sequence, which
// would otherwise reach the terminal raw. Each header below still maps to
// its field (matching ignores what is not a letter or digit).
func TestHeaderNamesEscapedInErrors(t *testing.T) {
	feats := "acousticness,danceability,energy,instrumentalness,key,liveness,loudness,mode,speechiness,tempo,valence"
	vals := "0.1,0.2,0.3,0.4,5,0.6,-7,1,0.08,120,0.9"
	for _, tc := range []struct {
		name, file string
		want       string // in the error, escaped
	}{
		{"empty id.csv", "\"track\x1b\x07_id\"," + feats + "\n," + vals + "\n", `column track\x1b\x07_id is empty`},
		{"bad number.csv", "track_id," + feats + ",\"popu\nlarity\"\nt1," + vals + ",many\n", `popu\x0alarity: "many" is not a number`},
		{"bad time.csv", "track_id,user_id,\"time\u202estamp\"\nt1,u1,yesterday\n", `time\u202estamp: "yesterday" is not a time`},
		{"empty user.csv", "track_id,\"user\r\n_id\",action\nt1,,play\n", `column user\x0a_id is empty`},
		{"bad utf8.csv", "track_id,\"user\a_id\"\nt1,u\xff1\n", `user\x07_id: invalid UTF-8`},
		{"empty user.jsonl", `{"track_id":"t1","user\u001b_id":""}` + "\n", `column user\x1b_id is empty`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum, _ := importText(t, tc.name, tc.file)
			if len(sum.Errors) != 1 {
				t.Fatalf("errors %+v, want one", sum.Errors)
			}
			msg := sum.Errors[0].Error()
			if r := unprintable(msg); r >= 0 {
				t.Errorf("error %q holds the unprintable %U", msg, r)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q, want it to contain %q", msg, tc.want)
			}
		})
	}

	// A header that cannot make tracks is listed escaped.
	_, err := ingest.NewReader("cols.csv", strings.NewReader("\"a\x1b]0;title\x07\",\"b\nc\"\n1,2\n"))
	if err == nil {
		t.Fatal("NewReader succeeded, want an error for the columns")
	}
	if r := unprintable(err.Error()); r >= 0 || !strings.Contains(err.Error(), `found columns: a\x1b]0;title\x07, b\x0ac`) {
		t.Errorf("NewReader error %q, want the found columns escaped (unprintable %U)", err, r)
	}
}

// TestFieldErrorsNameTheColumn: an error about a field of a row names the
// file's column for it, under whichever accepted name, whether the reader
// or soundalike's checks (CheckTrack, CheckInteraction) refused the value.
func TestFieldErrorsNameTheColumn(t *testing.T) {
	header := "trackId,uri,Acousticness,DANCEABILITY,En-ergy,instrumentalness,key,liveness,loudness,mode,speechiness,tempo,valence," +
		"durationMs,Popularity,title,artist_name,album_name,album_release_date,track_genre,subgenres,userId,event,created_at\n"
	row := func(id, energy, rest string) string {
		return id + ",," + "0.1,0.2," + energy + ",0.4,5,0.6,-7,1,0.08,120,0.9," + rest + "\n"
	}
	ok := "1000,50,T,A,B,2019,pop,dance,u1,play,2020-01-01"
	long := strings.Repeat("x", soundalike.MaxKeyLen+1)
	want := []string{
		`f.csv:2: En-ergy: 1.5 is outside [0, 1]`,
		`f.csv:3: En-ergy: "high" is not a number`,
		`f.csv:4: En-ergy: missing value`,
		`f.csv:5: durationMs: -5 is outside 0..2147483647 (milliseconds; 0 means unknown)`,
		`f.csv:6: Popularity: 101 is outside 0..100`,
		`f.csv:7: title "T\x00" contains a NUL byte`,
		`f.csv:8: artist_name[1] "B\x00" contains a NUL byte`,
		`f.csv:9: artist_name "A\x00" contains a NUL byte`,
		`f.csv:10: album_name "B\x00" contains a NUL byte`,
		`f.csv:11: album_release_date: "2019-13" has no month 13`,
		`f.csv:12: track_genre "p\x00" contains a NUL byte`,
		`f.csv:13: subgenres[0] "d\x00" contains a NUL byte`,
		`f.csv:14: trackId is 1025 bytes long; at most 1024 are accepted`,
		`f.csv:15: userId "u\x00" contains a NUL byte`,
		`f.csv:16: event is 1025 bytes long; at most 1024 are accepted`,
		`f.csv:17: created_at: "2300-01-01" is outside ` + timeRange + `; leave the cell empty when unknown`,
		`f.csv:18: uri "s\x00" contains a NUL byte`,
	}
	file := header +
		row("t2", "1.5", ok) + row("t3", "high", ok) + row("t4", "", ok) +
		row("t5", "0.3", "-5,50,T,A,B,2019,pop,dance,u1,play,2020-01-01") +
		row("t6", "0.3", "1000,101,T,A,B,2019,pop,dance,u1,play,2020-01-01") +
		row("t7", "0.3", "1000,50,T\x00,A,B,2019,pop,dance,u1,play,2020-01-01") +
		row("t8", "0.3", "1000,50,T,A;B\x00,B,2019,pop,dance,u1,play,2020-01-01") +
		row("t9", "0.3", "1000,50,T,A\x00,B,2019,pop,dance,u1,play,2020-01-01") +
		row("t10", "0.3", "1000,50,T,A,B\x00,2019,pop,dance,u1,play,2020-01-01") +
		row("t11", "0.3", "1000,50,T,A,B,2019-13,pop,dance,u1,play,2020-01-01") +
		row("t12", "0.3", "1000,50,T,A,B,2019,p\x00,dance,u1,play,2020-01-01") +
		row("t13", "0.3", "1000,50,T,A,B,2019,pop,d\x00;e,u1,play,2020-01-01") +
		row(long, "0.3", ok) +
		row("t15", "0.3", "1000,50,T,A,B,2019,pop,dance,u\x00,play,2020-01-01") +
		row("t16", "0.3", "1000,50,T,A,B,2019,pop,dance,u1,"+long+",2020-01-01") +
		row("t17", "0.3", "1000,50,T,A,B,2019,pop,dance,u1,play,2300-01-01") +
		strings.Replace(row("t18", "0.3", ok), "t18,,", "t18,s\x00,", 1) +
		row("t19", "0.3", ok)
	sum, db := importText(t, "f.csv", file)
	if sum.TracksAdded != 1 || len(db.tracks) != 1 {
		t.Errorf("%d tracks added, want only t19's", sum.TracksAdded)
	}
	if len(sum.Errors) != len(want) {
		t.Fatalf("%d rows rejected, want %d: %v", len(sum.Errors), len(want), sum.Errors)
	}
	for i, e := range sum.Errors {
		if got := e.Error(); !strings.HasPrefix(got, want[i]) {
			t.Errorf("rejection %q, want %q…", got, want[i])
		}
	}
}

// timeRange is what an interaction's time may be, as errors say it.
const timeRange = "1677-09-21T00:12:43.145224192Z..2262-04-11T23:47:16.854775807Z (it is stored as nanoseconds since 1970 in 64 bits)"

// TestTimeCellOutOfRange: a timestamp cell of an accepted form whose
// time an interaction cannot hold is quoted as written, cut as other
// cells are, with the range accepted and how to leave the time unknown:
// a unix time past the range too, at 2⁶³ ns as well (int64 nanoseconds
// would wrap it to 1677), and one that reads as the zero time.
func TestTimeCellOutOfRange(t *testing.T) {
	longFraction := "2300-01-01T00:00:00." + strings.Repeat("0", 60) + "Z"
	for _, tc := range []struct{ cell, quoted string }{
		{"2300-01-01", `"2300-01-01"`},
		{"1600-06-30 12:00:00+02", `"1600-06-30 12:00:00+02"`},
		{"32503680000", `"32503680000"`}, // unix seconds: the year 3000
		{"-99999999999999999999", `"-99999999999999999999"`},
		{"9223372036.9", `"9223372036.9"`},               // seconds, past the range by less than one
		{"9223372036854775808", `"9223372036854775808"`}, // 2⁶³ ns: int64 wrapped it to 1677
		{"-62135596800", `"-62135596800"`},               // unix seconds of the year 1: the zero time, not unknown
		{"-62135596800000", `"-62135596800000"`},         // the same in milliseconds
		{"0001-01-01", `"0001-01-01"`},
		{longFraction, fmt.Sprintf("%q", longFraction[:40]+"…(81 bytes)")},
	} {
		sum, db := importText(t, "i.csv", "user_id,track_id,timestamp\nu1,t1,"+tc.cell+"\n")
		want := "i.csv:2: timestamp: " + tc.quoted + " is outside " + timeRange + "; leave the cell empty when unknown"
		if len(sum.Errors) != 1 || sum.Errors[0].Error() != want || len(db.interactions) != 0 {
			t.Errorf("timestamp %.30q: errors %v, want [%s]", tc.cell, sum.Errors, want)
		}
	}
}

// TestTimeCellNotATimeIsCut: a timestamp cell of no accepted form is
// quoted cut, as other cells are; it was quoted whole.
func TestTimeCellNotATimeIsCut(t *testing.T) {
	cell := strings.Repeat("x", 5000)
	sum, _ := importText(t, "i.csv", "user_id,track_id,timestamp\nu1,t1,"+cell+"\n")
	want := `i.csv:2: timestamp: "` + cell[:40] + `…(5000 bytes)" is not a time (accepted: `
	if len(sum.Errors) != 1 || !strings.HasPrefix(sum.Errors[0].Error(), want) {
		t.Errorf("errors %.200s; want one starting %s", fmt.Sprint(sum.Errors), want)
	}
}

// TestMapChecksInteractions: Map refuses a row whose interaction
// soundalike.CheckInteraction refuses, as it does one whose track
// CheckTrack refuses, naming the column; it passed it on to Run's check.
func TestMapChecksInteractions(t *testing.T) {
	m, err := ingest.NewMapper("i.csv", []string{"userId", "track_id", "event"}, &ingest.MapperOptions{InteractionsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		row  []string
		want string
	}{
		{[]string{"u\x00", "t1", "play"}, `i.csv:2: userId "u\x00" contains a NUL byte`},
		{[]string{"u1", "t1", strings.Repeat("x", soundalike.MaxKeyLen+1)}, "i.csv:2: event is 1025 bytes long; at most 1024 are accepted"},
	} {
		_, err := m.Map(2, tc.row)
		if re, ok := errors.AsType[*ingest.RowError](err); !ok || re.Error() != tc.want {
			t.Errorf("Map(%.20q) = %v, want the *RowError %s", tc.row, err, tc.want)
		}
	}
}
