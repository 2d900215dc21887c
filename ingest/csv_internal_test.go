package ingest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
)

// csvRowsOf reads every row of data as csvRows does; plain false sends
// every line to encoding/csv (the reader before the plain-line path). The
// plain reader reads through a lineLimiter whose limit no input reaches,
// which must change nothing.
func csvRowsOf(t *testing.T, data []byte, plain bool) []string {
	t.Helper()
	var lim *lineLimiter
	var in io.Reader = bytes.NewReader(data)
	if plain {
		lim = newLineLimiter("f.csv", in, int64(len(data))+1)
		in = lim
	}
	br := bufio.NewReaderSize(in, 4096)
	rr, _, err := newCSVRows("f.csv", br, lim, &MapperOptions{})
	if err != nil {
		return []string{"open: " + err.Error()}
	}
	c := rr.(*csvRows)
	c.synced = plain
	var out []string
	for range len(data) + 2 {
		line, values, err := c.next()
		if err != nil {
			out = append(out, fmt.Sprintf("%d: error %v", line, err))
			if _, ok := err.(*RowError); !ok {
				return out // the end, or a fatal error
			}
			continue
		}
		out = append(out, fmt.Sprintf("%d: %q", line, values))
	}
	t.Fatalf("more rows than input bytes")
	return nil
}

func checkPlainCSV(t *testing.T, data []byte) {
	t.Helper()
	want, got := csvRowsOf(t, data, false), csvRowsOf(t, data, true)
	if !slices.Equal(got, want) {
		for i := range max(len(got), len(want)) {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Fatalf("row %d: with plain lines split here %s, with encoding/csv alone %s", i, g, w)
			}
		}
	}
}

// header is a features header the mapper accepts.
const header = "track_id,acousticness,danceability,energy,instrumentalness,key,liveness,loudness,mode,speechiness,tempo,valence,track_name\n"

func TestPlainCSVLines(t *testing.T) {
	row := "id%d,0.1,0.2,0.3,0,1,0.2,-5.5,1,0.05,120,0.5,%s\n"
	var long strings.Builder
	long.WriteString(header)
	for i := range 2000 { // many buffer refills, lines split across them
		name := []string{"plain", `"with, comma"`, "\"two\nlines\"", "", "x,y"}[i%5]
		fmt.Fprintf(&long, row, i, name)
		if i%97 == 0 {
			long.WriteString("\r\n\n") // empty lines
		}
	}
	for name, data := range map[string]string{
		"long":              long.String(),
		"crlf":              strings.ReplaceAll(long.String(), "\n", "\r\n"),
		"no final newline":  header + "a,0.1,0.2,0.3,0,1,0.2,-5.5,1,0.05,120,0.5,n",
		"ragged then good":  header + "a,1\n" + fmt.Sprintf(row, 1, "n"),
		"multi-line ragged": header + "\"a\nb\",1\n" + fmt.Sprintf(row, 1, "n") + "c,2\n",
		"bare quote":        header + "a\"b,0.1,0.2,0.3,0,1,0.2,-5.5,1,0.05,120,0.5,n\n" + fmt.Sprintf(row, 2, "n"),
		"unterminated":      header + fmt.Sprintf(row, 1, "n") + "\"open,0.1\n" + fmt.Sprintf(row, 3, "n"),
		"quoted header":     "\"track_id\",acousticness,danceability,energy,instrumentalness,key,liveness,loudness,mode,speechiness,tempo,valence\n" + "a,0.1,0.2,0.3,0,1,0.2,-5.5,1,0.05,120,0.5\n",
	} {
		t.Run(name, func(t *testing.T) { checkPlainCSV(t, []byte(data)) })
	}
	for _, f := range []string{"spotify_sample.csv", "rejects.csv", "unterminated_quote.csv", "camel_case.csv"} {
		data, err := os.ReadFile("../testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(f, func(t *testing.T) { checkPlainCSV(t, data) })
	}
}

// FuzzPlainCSV: splitting quote-free lines here yields the same rows, line
// numbers and errors as encoding/csv alone.
func FuzzPlainCSV(f *testing.F) {
	f.Add([]byte(header + "a,0.1,0.2,0.3,0,1,0.2,-5.5,1,0.05,120,0.5,n\n"))
	f.Add([]byte(header + "\"a\nb\",1\n\r\nc,0.1,0.2,0.3,0,1,0.2,-5.5,1,0.05,120,0.5,n\r\n"))
	f.Add([]byte(header + "a\"b,1\nc\n"))
	f.Fuzz(func(t *testing.T, data []byte) { checkPlainCSV(t, data) })
}
