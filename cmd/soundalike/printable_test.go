package main

import (
	"bytes"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/synth"
)

// Given ids and names holding escape sequences, when similar and search
// print for a person, expect no control character on the terminal.
func TestHumanOutputEscapesControlCharacters(t *testing.T) {
	db := testDB(t, 50)
	evil := &soundalike.Track{ID: "evil\x1b]0;pwned\x07", Name: "Evil \x1b[2J song", Artists: []string{"Bad\u202eartist"}}
	evil.Features = synth.SmallTrack(rand.New(rand.NewPCG(3, 4)), 0).Features
	eng, err := soundalike.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error { _, _, err := tx.PutTrack(evil); return err }); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Reindex(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"similar", "--db", db, "--track", string(evil.ID), "--k", "50"},
		{"similar", "--db", db, "--track", "t0000", "--k", "50"},
		{"search", "--db", db, "evil song"},
	} {
		var out bytes.Buffer
		if err := run(t.Context(), args, strings.NewReader(""), &out, io.Discard); err != nil {
			t.Fatalf("%s: %v", args, err)
		}
		if !strings.Contains(out.String(), `Evil \x1b[2J song`) {
			t.Errorf("%s printed %q, want the evil name escaped in it", args[0], out.String())
		}
		for _, r := range out.String() {
			if r != '\n' && (r < 0x20 || r == 0x7f || r == 0x202e) {
				t.Fatalf("%s printed %U raw: %q", args[0], r, out.String())
			}
		}
	}
}

// Given a --track holding escape sequences that names no track, when
// similar fails, expect its error (printed on the terminal) to quote the
// reference with its control characters escaped.
func TestSimilarErrorEscapesTrack(t *testing.T) {
	db := testDB(t, 20)
	ref := "\x1b]0;pwned\x07\x1b[2Jx"
	_, _, err := runCmd(t.Context(), "similar", "--db", db, "--track", ref)
	if err == nil {
		t.Fatalf("similar --track %q = nil, want not found", ref)
	}
	for _, r := range err.Error() {
		if r < 0x20 || r == 0x7f {
			t.Fatalf("similar --track %q = %q, want no raw control character in it", ref, err)
		}
	}
	if !strings.Contains(err.Error(), `--track \x1b]0;pwned\a`) && !strings.Contains(err.Error(), `--track \x1b]0;pwned\x07`) {
		t.Errorf("similar --track %q = %q, want the reference quoted, escaped", ref, err)
	}
}

// Given a track whose name and artist are in CJK characters (each two
// columns wide on a terminal), when similar and search print their
// tables, expect every column to start at the same display column on
// every line: the name's width counted in columns, not runes.
func TestTablesAlignWideNames(t *testing.T) {
	db := testDB(t, 30)
	wide := &soundalike.Track{ID: "t-cjk", Name: "Nightfall 東京の夜", Artists: []string{"宇多田ヒカル"}}
	wide.Features = synth.SmallTrack(rand.New(rand.NewPCG(5, 6)), 0).Features
	eng, err := soundalike.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Import(t.Context(), func(tx *soundalike.ImportTx) error { _, _, err := tx.PutTrack(wide); return err }); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Reindex(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	eng.Close()
	for _, args := range [][]string{
		{"similar", "--db", db, "--track", "t0000", "--k", "30"},
		{"search", "--db", db, "nightfall"},
		{"search", "--db", db, "-k", "5", "宇多田ヒカル"},
	} {
		var out bytes.Buffer
		if err := run(t.Context(), args, strings.NewReader(""), &out, io.Discard); err != nil {
			t.Fatalf("%s: %v", args, err)
		}
		if !strings.Contains(out.String(), "東京の夜") {
			t.Fatalf("%s printed %q, want the CJK name in it", args, out.String())
		}
		// The table: from its header to the end or a blank line.
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		at := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "#  ") })
		if at < 0 {
			t.Fatalf("%s printed %q, want a table with its header", args, out.String())
		}
		lines = lines[at:]
		if end := slices.Index(lines, ""); end >= 0 {
			lines = lines[:end]
		}
		header := cellStarts(lines[0])
		for _, line := range lines[1:] {
			if got := cellStarts(line); !slices.Equal(got, header) {
				t.Errorf("%s: line %q has its cells at display columns %v, the header %v:\n%s", args[0], line, got, header, out.String())
			}
		}
	}
}

// cellStarts is the display columns where the cells of a table's line
// start: its start and after each run of two or more spaces. A CJK
// character (Han, kana) counts two columns, any other rune one.
func cellStarts(line string) []int {
	starts := []int{0}
	col, spaces := 0, 0
	for _, r := range line {
		if r != ' ' && spaces >= 2 {
			starts = append(starts, col)
		}
		if r == ' ' {
			spaces++
		} else {
			spaces = 0
		}
		col++
		if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) {
			col++
		}
	}
	return starts
}
