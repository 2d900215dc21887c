package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/printable"
	"github.com/audotics/soundalike/server"
)

func init() {
	register(command{name: "search", summary: "find tracks by words of their name and artists, as GET /tracks?q= answers", run: runSearch})
}

func runSearch(ctx context.Context, args []string, stdio stdio) error {
	var (
		dbPath string
		k      int
		asJSON bool
	)
	fs := newFlagSet("search", stdio, &dbPath)
	fs.IntVar(&k, "k", server.DefaultTracksK, fmt.Sprintf("number of results, 1..%d", soundalike.MaxSearchK))
	fs.BoolVar(&asJSON, "json", false, "print the JSON that GET /tracks?q= answers")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: soundalike search [--db PATH] TEXT [-k 10] [--json]

Prints the catalogue tracks whose name and artists hold the words of TEXT
("blinding lights weeknd"; the last word may be cut short), tracks holding
every word whole first, then the more popular: the same results as
GET /tracks?q=TEXT (and, with --json, the same JSON). Print a track's id to
pass to similar --track.`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil { // flags may come among the words
		return err
	}
	text := strings.Join(fs.Args(), " ")
	if strings.TrimSpace(text) == "" {
		return usagef("search needs TEXT: words of a track's name and artists, e.g. soundalike search blinding lights weeknd")
	}
	// Before the database is opened: a text without a word is the
	// user's to fix whether or not the database exists.
	if err := soundalike.CheckSearchText(text); err != nil {
		return usageError{fmt.Errorf("search: %w: give words of a track's name and artists", err)}
	}
	if k < 1 || k > soundalike.MaxSearchK {
		return refuseFlag(fs, "k", k, "want 1..%d", soundalike.MaxSearchK)
	}
	eng, err := soundalike.Open(dbPath, stdio.engineOptions(&soundalike.Options{ReadOnly: true}))
	if err != nil {
		return err
	}
	defer eng.Close()
	announceLoad(eng, dbPath, "", stdio)
	resp, err := server.SearchTracks(ctx, eng, text, k)
	if err != nil {
		return fmt.Errorf("search %s: %w", quoteText(text), reword(err))
	}
	if err := closeBeforePrinting(eng, dbPath); err != nil {
		return err
	}
	if asJSON {
		_, err := stdio.out.Write(append(resp.AppendJSON(nil), '\n'))
		return err
	}
	if len(resp.Results) == 0 {
		fmt.Fprintf(stdio.out, "No track holds the words %s.\n", quoteText(text))
		return nil
	}
	rows := [][]string{{"#", "TRACK", "NAME", "ARTISTS", "POPULARITY"}}
	for i, t := range resp.Results {
		rows = append(rows, []string{strconv.Itoa(i + 1), printable.String(t.TrackID), printable.String(t.Name), printableJoin(t.Artists, ", "), strconv.Itoa(t.Popularity)})
	}
	return writeTable(stdio.out, rows)
}
