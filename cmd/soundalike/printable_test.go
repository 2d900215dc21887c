package main

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

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
