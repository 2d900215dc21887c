package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/printable"
	"github.com/audotics/soundalike/server"
)

// searchFlags are the search options similar and recommend share:
// --exclude, --exclude-artist and --no-dedupe.
type searchFlags struct {
	exclude            listValue
	exArtist, noDedupe bool
}

// add defines the flags on fs; whose names the tracks whose artists and
// songs they refer to ("the query track's", "the examples'").
func (f *searchFlags) add(fs *flag.FlagSet, whose string) {
	fs.Var(&f.exclude, "exclude", fmt.Sprintf("comma-separated `tracks` to leave out (ids, spotify:track: URIs or open.spotify.com links); give it more than once to leave out more (--exclude A,B --exclude C), as the API repeats exclude=; at most %d in all", server.MaxExclude))
	fs.BoolVar(&f.exArtist, "exclude-artist", false, "leave out tracks by "+whose+" artists")
	fs.BoolVar(&f.noDedupe, "no-dedupe", false, "keep other copies of "+whose+" songs and repeated songs")
}

// options returns the search options the flags ask for, or a usage
// error for an --exclude that the API would refuse: one with an empty
// entry (trackList), or more than server.MaxExclude references.
func (f *searchFlags) options() (soundalike.SearchOptions, error) {
	exclude, err := trackList("--exclude", f.exclude.String())
	if err != nil {
		return soundalike.SearchOptions{}, err
	}
	if len(exclude) > server.MaxExclude {
		return soundalike.SearchOptions{}, usagef("--exclude: %d tracks: at most %d in one query", len(exclude), server.MaxExclude)
	}
	return soundalike.SearchOptions{ExcludeArtist: f.exArtist, NoDedupe: f.noDedupe, Exclude: exclude}, nil
}

// trackList splits list, the comma-separated track references flag
// gives (splitList: an empty entry is a usage error, as the API refuses
// an empty reference). The references are passed on as given, spaces
// trimmed, as the server passes them: a stored id may have any form,
// which only the engine can tell, and refUsage names the flag of one it
// refuses (one that no stored id could be).
func trackList(flag, list string) ([]soundalike.TrackID, error) {
	entries, err := splitList(flag, list, "track references ("+soundalike.TrackRefForms+")")
	if err != nil {
		return nil, err
	}
	out := make([]soundalike.TrackID, len(entries))
	for i, e := range entries {
		out[i] = soundalike.TrackID(e)
	}
	return out, nil
}

// optionFlags are the flags that set the engine's options that take track
// references (soundalike.TrackRefError's Option).
var optionFlags = map[string]string{
	"SearchOptions.Exclude":   "--exclude",
	"RecommendQuery.Positive": "--positive",
	"RecommendQuery.Negative": "--negative",
}

// refUsage returns the engine's refusal of a track reference (a
// soundalike.TrackRefError in err) as a usage error naming the flag that
// gave it, track for the command's own track (Option ""), and nil when
// err is no such refusal.
func refUsage(err error, track string) error {
	re, ok := errors.AsType[*soundalike.TrackRefError](err)
	if !ok {
		return nil
	}
	flag := track
	if re.Option != "" {
		flag = optionFlags[re.Option]
	}
	if flag == "" {
		return nil
	}
	return usagef("%s: %s", flag, re.Reason)
}

// announceLoad says on a terminal that a query first loads the catalogue
// (and what else, e.g. "the index"): seconds at a million tracks.
func announceLoad(eng *soundalike.Engine, dbPath, also string, stdio stdio) {
	c, err := eng.Counts()
	if err != nil || c.Tracks < 100_000 || !isTerminal(stdio.err) {
		return
	}
	if also != "" {
		also = " and " + also
	}
	fmt.Fprintf(stdio.err, "loading %d tracks%s from %s…\n", c.Tracks, also, dbPath)
}

// loadBeforeQuery runs eng's first load (the catalogue, the model and
// the index) before the command's query, so that the query's took_us is
// the search's time, as a server's answer's is (a server has loaded before
// its requests), not the load's as well: seconds at a million tracks
// against a search's microseconds. A load that fails is the query's to
// report: it meets the same error, and words it as the command does.
func loadBeforeQuery(ctx context.Context, eng *soundalike.Engine) {
	_ = eng.Ready(ctx)
}

// closeBeforePrinting closes eng, the read-only engine a command has
// its whole answer from, before the command prints it: the answer is a
// copy (its strings point into the catalogue the engine copied from the
// file onto the heap, kept alive by the garbage collector while they are
// used; none into the file's mapped pages), and the shared lock on dbPath
// must not last as long as the reader of standard output takes. A pager
// (| less) or a pipe nobody drains would otherwise hold up every import,
// train and reindex. The deferred Close that follows does nothing.
func closeBeforePrinting(eng *soundalike.Engine, dbPath string) error {
	if err := eng.Close(); err != nil {
		return fmt.Errorf("close %s: %w", dbPath, err)
	}
	return nil
}

// writeResults prints the results of similar and recommend as a table,
// control characters escaped, its columns aligned by display width
// (writeTable).
func writeResults(w io.Writer, rs []server.Result) error {
	rows := [][]string{{"#", "SCORE", "TRACK", "NAME", "ARTISTS"}}
	for i, r := range rs {
		rows = append(rows, []string{strconv.Itoa(i + 1), fmt.Sprintf("%.4f", r.Score), printable.String(r.TrackID), printable.String(r.Name), printableJoin(r.Artists, ", ")})
	}
	return writeTable(w, rows)
}
