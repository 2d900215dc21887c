package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	neturl "net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
	"github.com/audotics/soundalike/internal/printable"
	"github.com/audotics/soundalike/postgres"
)

// postgresFlags are import's flags for reading straight from the app's
// PostgreSQL database:
//
//	--postgres [URL] [--tracks-query SQL] [--interactions-query SQL] [--actions LIST] [--stall-timeout D] [--prune]
//
// --postgres is a boolean-style flag so that it can be given without a
// value, which means $DATABASE_URL, as the app does. Go's flag package does
// not let a flag take an optional value, so the URL can follow it as
// --postgres=URL or as --postgres URL (the one argument after the flags;
// import takes no files with --postgres). --postgres= (empty) and
// --postgres "" also mean $DATABASE_URL, so --postgres "$DATABASE_URL"
// behaves the same whether or not the variable is set in the shell.
type postgresFlags struct {
	url               postgresURL
	tracksQuery       string
	interactionsQuery string
	actions           string
	actionsSet        bool
	stallTimeout      time.Duration
	prune             bool
	pruneMax          int // percent of the catalogue one --prune may delete
	// urlInArgs is set by resolve when the URL came from the command
	// line rather than $DATABASE_URL.
	urlInArgs bool
}

// postgresURL is the value of --postgres.
type postgresURL struct {
	given bool
	url   string
}

func (u *postgresURL) String() string   { return "" } // never print a URL: it may hold a password
func (u *postgresURL) IsBoolFlag() bool { return true }
func (u *postgresURL) Set(s string) error {
	u.given = true
	if s == "true" { // --postgres alone
		s = ""
	}
	if s == "false" {
		u.given = false
		s = ""
	}
	u.url = s
	return nil
}

// addPostgresFlags adds the PostgreSQL flags to import's flag set.
func addPostgresFlags(fs *flag.FlagSet) *postgresFlags {
	p := &postgresFlags{}
	fs.Var(&p.url, "postgres", "import from the app's PostgreSQL database at `URL` (postgres://user:password@host:port/db or a key=value DSN; add ?search_path=SCHEMA when the app's tables are not in public); without a value, $DATABASE_URL")
	fs.StringVar(&p.tracksQuery, "tracks-query", "", "with --postgres: the `SQL` that reads tracks, returning columns named as a file's: a track id (track_id or id), the eleven features, "+
		"and any of name, artists, album, popularity, genre, release_date, duration_ms "+
		"(default: \"Track\"(id, \"spotifyId\", name, artists, album, popularity) joined with \"TrackFeatures\"(\"trackId\" and the eleven features), which reads no genre, release date or duration)")
	fs.StringVar(&p.interactionsQuery, "interactions-query", "", "with --postgres: the `SQL` that reads interactions, returning a user (userId or user_id), a track id (trackId or track_id) and optionally the action (a column named action, type or event), timestamp and id "+
		"(default: \"TrackInteraction\"(id, \"userId\", \"trackId\", type, \"timestamp\"), else \"UserInteraction\"(\"userId\", \"trackId\", action))")
	fs.Func("actions", "with --postgres: import only the interactions of these actions, a comma-separated `LIST` such as play,like,addToPlaylist "+
		"(default: every action, as a file import: skips too, which recommendations take as negatives and leave out, and training ignores)", func(s string) error {
		p.actions, p.actionsSet = s, true
		return nil
	})
	fs.BoolVar(&p.prune, "prune", false, "with --postgres: delete the catalogue's tracks that the tracks query no longer returns, in the same all-or-nothing import "+
		"(their interactions are kept; refused when the tracks query returns no rows; nothing is deleted when a row of the tracks query is rejected)")
	fs.IntVar(&p.pruneMax, "prune-max", 10, "with --prune: the most of the catalogue one import may delete, in `PERCENT` (1..100); more is refused, writing nothing, as a tracks query gone wrong (a LIMIT, another schema) is likelier than an app that dropped that much since the last sync")
	fs.DurationVar(&p.stallTimeout, "stall-timeout", postgres.DefaultStallTimeout, "with --postgres: how long the server may send nothing (no answer, no row) before import stops waiting, e.g. 30m; it restarts at every row, so a long import is not cut short; 0 waits for ever")
	return p
}

// given reports whether --postgres was given.
func (p *postgresFlags) given() bool { return p.url.given }

// checkUnused refuses the PostgreSQL-only flags without --postgres.
func (p *postgresFlags) checkUnused(fs *flag.FlagSet) error {
	for _, name := range []string{"tracks-query", "interactions-query", "actions", "stall-timeout", "prune", "prune-max"} {
		if isFlagSet(fs, name) {
			return usagef("import: --%s needs --postgres (it applies to the PostgreSQL source, not to files)", name)
		}
	}
	return nil
}

// resolve finishes parsing once fs has parsed args with --postgres given:
// it takes the URL from the one positional argument when --postgres had
// no value and falls back to $DATABASE_URL. It returns the URL and the
// source's options.
func (p *postgresFlags) resolve(fs *flag.FlagSet, noInteractions bool, getenv func(string) string) (string, *postgres.Options, error) {
	url := p.url.url
	if fs.NArg() > 0 {
		if url != "" {
			return "", nil, usagef("import: --postgres=URL reads the database, so no FILE can be given too (got %s)", quoteArg(fs.Arg(0)))
		}
		url = fs.Arg(0)
		if fs.NArg() > 1 {
			return "", nil, usagef("import: --postgres reads the database, not files: unexpected argument %s after the URL", quoteArg(fs.Arg(1)))
		}
	}
	p.urlInArgs = url != ""
	if url == "" {
		url = getenv("DATABASE_URL")
		if url == "" {
			return "", nil, usagef("import: --postgres was given without a URL and $DATABASE_URL is not set (export DATABASE_URL=postgres://user:password@host:port/db; a URL given on the command line is readable by other local users)")
		}
	}
	if p.pruneMax < 1 || p.pruneMax > 100 {
		return "", nil, refuseFlag(fs, "prune-max", p.pruneMax, "want a percent of the catalogue, 1..100")
	}
	if isFlagSet(fs, "prune-max") && !p.prune {
		return "", nil, usagef("import: --prune-max bounds --prune: give --prune too")
	}
	if p.stallTimeout < 0 {
		return "", nil, refuseFlag(fs, "stall-timeout", p.stallTimeout, "want a duration such as 10m or 1h, or 0 to wait for ever")
	}
	opts := &postgres.Options{
		TracksQuery:       p.tracksQuery,
		InteractionsQuery: p.interactionsQuery,
		NoInteractions:    noInteractions,
		StallTimeout:      p.stallTimeout,
		URLFrom:           "$DATABASE_URL",
	}
	if p.urlInArgs {
		opts.URLFrom = "--postgres"
	}
	if p.stallTimeout == 0 {
		opts.StallTimeout = -1 // the option's 0 is the default
	}
	if p.actionsSet {
		for _, a := range strings.Split(p.actions, ",") {
			if a = strings.TrimSpace(a); a == "" {
				return "", nil, usagef("import: --actions %q has an empty name: give a comma-separated list such as play,like,addToPlaylist", p.actions)
			}
			opts.Actions = append(opts.Actions, a)
		}
	}
	if noInteractions && (p.interactionsQuery != "" || p.actionsSet) {
		return "", nil, usagef("import: --no-interactions reads no interactions, so --interactions-query and --actions cannot be given with it")
	}
	return url, opts, nil
}

// quoteArg quotes a command-line argument for a usage error. One that
// holds a password (a second connection URL) is shown as postgres.Describe
// shows it, user@host:port/database: nothing import prints holds a
// password.
func quoteArg(s string) string {
	if hasPassword(s) {
		return fmt.Sprintf("%q (a connection URL; its password is not shown)", postgres.Describe(s))
	}
	return fmt.Sprintf("%q", s)
}

// passwordInArgsWarning is printed when the URL on the command line holds
// a password: a process's arguments are readable by every local user.
const passwordInArgsWarning = "import: warning: the --postgres URL on the command line holds a password, which every local user can read (ps, /proc/PID/cmdline) while import runs; " +
	"export DATABASE_URL and give --postgres alone, or keep the password in ~/.pgpass or $PGPASSWORD"

// hasPassword reports whether a PostgreSQL URL (postgres://user:pw@host/db)
// or key=value DSN (password=pw) holds a password.
func hasPassword(dsn string) bool {
	if u, err := neturl.Parse(dsn); err == nil && u.Scheme != "" {
		_, ok := u.User.Password()
		return ok || u.Query().Has("password")
	}
	for _, f := range strings.Fields(dsn) {
		if k, _, ok := strings.Cut(f, "="); ok && strings.TrimSpace(k) == "password" {
			return true
		}
	}
	return false
}

func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// importPostgres imports the database at url into the soundalike database
// at dbPath in one transaction. With strict, nothing is written when a row
// was rejected (rolledBack is then true and the counts are zeroed). With
// prune, the same transaction deletes the catalogue's tracks that the
// tracks query did not return (see pruner).
//
// An interaction whose track is not in the catalogue waits
// (ingest.Options.WaitForTracks) rather than being rejected: the app logs
// plays of tracks whose features are not computed yet, and every import
// from the database reads every interaction again, so the first one after
// the features arrive adds it. Its track may also be one deleted (--prune,
// soundalike delete) or no track at all: nothing read tells these apart,
// and the summary says so. --strict does not refuse these either, since a
// sync run by cron would fail every time, unless every interaction read
// waits (none names a stored track): ingest then warns that the
// interactions query likely reads the wrong ids, and --strict refuses that
// warning as any other.
// Notices and progress go to stdio.err; nothing printed holds the password.
func importPostgres(ctx context.Context, dbPath string, engOpts *soundalike.Options, url string, opts *postgres.Options, strict, prune bool, pruneMax int, stdio stdio) (rep importReport, rolledBack bool, err error) {
	// Connect and check both queries before touching the soundalike
	// database: a bad URL, password or query writes nothing.
	o := *opts
	o.Logger = slog.New(noticeHandler{stdio.err})
	src, err := postgres.Open(ctx, url, &o)
	if err != nil {
		return rep, false, fmt.Errorf("import: %w", err)
	}
	defer src.Close()

	eng, err := soundalike.Open(dbPath, engOpts)
	if err != nil {
		return rep, false, err
	}
	defer eng.Close()
	var pr *pruner
	if prune {
		if pr, err = newPruner(ctx, eng, pruneMax); err != nil {
			return rep, false, fmt.Errorf("import: nothing was written: --prune: %w", err)
		}
	}

	where := postgres.Describe(url)
	bar := newProgress(stdio.err, -1, "import "+where, "rows")
	start := time.Now()
	err = eng.Import(ctx, func(tx *soundalike.ImportTx) error {
		var sink ingest.Sink = tx
		if pr != nil {
			sink = pr.sink(tx)
		}
		var err error
		rep.Summary, err = ingest.Run(ctx, src, sink, &ingest.Options{
			WaitForTracks: true,
			Progress: func(p ingest.Progress) {
				rate := float64(p.Rows) / max(time.Since(start).Seconds(), 1e-3)
				bar.Describe(fmt.Sprintf("import %s: %d rows, %.0f rows/s", where, p.Rows, rate))
				bar.Set(p.Rows)
			},
		})
		if err != nil {
			return err
		}
		if pr != nil {
			if err := pr.checkRead(&rep.Summary); err != nil {
				return err
			}
		}
		if strict && strictRefuses(rep.Summary) {
			rolledBack = true
			return soundalike.ErrRollback
		}
		if pr != nil {
			deleted, err := pr.prune(tx, &rep.Summary)
			rep.TracksDeleted = &deleted
			return err
		}
		return nil
	})
	bar.Done()
	if err != nil {
		return rep, false, fmt.Errorf("import: nothing was written: %w", err)
	}
	if rolledBack {
		rep.TracksAdded, rep.TracksUpdated, rep.InteractionsAdded = 0, 0, 0
	}
	return rep, rolledBack, nil
}

// pruner is --prune's state: the catalogue's tracks that no row of the
// tracks query has named yet. Those left once the source is read are the
// tracks to delete.
//
// The catalogue's ids are listed (Engine.ForEachTrackID: no track is
// decoded) before the import's transaction begins. A track
// that another process imports in between is not listed, so not deleted
// (the next --prune deletes it if the query does not return it); one it
// deletes in between is not deleted twice (DeleteTrack reports it gone).
// Nothing the query returned is ever deleted.
type pruner struct {
	unnamed map[soundalike.TrackID]struct{}
	listed  int // the catalogue's tracks when listed
	stored  int // tracks the query returned and the import stored
	max     int // --prune-max: the percent of listed it may delete
}

func newPruner(ctx context.Context, eng *soundalike.Engine, max int) (*pruner, error) {
	p := &pruner{unnamed: map[soundalike.TrackID]struct{}{}, max: max}
	err := eng.ForEachTrackID(ctx, func(id soundalike.TrackID) error {
		p.unnamed[id] = struct{}{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list the catalogue: %w", err)
	}
	p.listed = len(p.unnamed)
	return p, nil
}

// sink returns tx as an ingest.Sink that strikes each track it stores
// from p.unnamed. The embedded *ImportTx keeps the rest of the Sink and
// the optional methods ingest.Run looks for (BeginSource, Reserve).
func (p *pruner) sink(tx *soundalike.ImportTx) ingest.Sink {
	return pruneSink{tx, p}
}

type pruneSink struct {
	*soundalike.ImportTx
	p *pruner
}

func (s pruneSink) PutTrack(t *soundalike.Track) (added, changed bool, err error) {
	added, changed, err = s.ImportTx.PutTrack(t)
	if err == nil {
		delete(s.p.unnamed, t.ID)
		s.p.stored++
	}
	return added, changed, err
}

// checkRead refuses to prune after a tracks query that returned no rows
// (none stored, none of its rows rejected in sum): an empty or wrong table
// (another database or schema, a query that reads the wrong thing) would
// otherwise delete the whole catalogue. It refuses whatever the catalogue
// holds, so that the mistake shows on the first run. Rejected rows of the
// interactions query are no rows of the tracks query.
func (p *pruner) checkRead(sum *ingest.Summary) error {
	if p.stored > 0 || sum.RejectedFrom(postgres.TracksSource) > 0 {
		return nil
	}
	return fmt.Errorf("--prune: the tracks query returned no rows, and pruning would delete every track of the catalogue (%d); "+
		"check that the URL, its ?search_path= and any --tracks-query read the app's tracks, or leave out --prune to import without deleting", p.listed)
}

// prune deletes the listed tracks that no row of the tracks query named,
// and returns how many it deleted. After a rejected row of the tracks
// query it deletes none and says why in sum's warnings: the track of such
// a row (a value out of range, say) cannot be told from a track the query
// no longer returns, and must be kept. A rejected row of the interactions
// query (an anonymous play, without a user) names no track that the
// tracks query returns or drops, so it does not stop the pruning: the
// import still exits 1 for it.
func (p *pruner) prune(tx *soundalike.ImportTx, sum *ingest.Summary) (int, error) {
	if n := sum.RejectedFrom(postgres.TracksSource); n > 0 {
		rows := fmt.Sprintf("%d rows of the tracks query were", n)
		if n == 1 {
			rows = "1 row of the tracks query was"
		}
		sum.Warnings = append(sum.Warnings, ingest.RowError{File: "--prune",
			Reason: fmt.Sprintf("deleted no track, as %s rejected: the track of a rejected row cannot be told from one the tracks query no longer returns; the first import whose tracks query has no rejected row prunes", rows)})
		return 0, nil
	}
	if n := len(p.unnamed); n*100 > p.max*p.listed {
		return 0, fmt.Errorf("--prune would delete %d of the catalogue's %d tracks (%.1f%%), more than --prune-max %d%%: a tracks query gone wrong (a LIMIT, a WHERE, another database or schema) is likelier than an app that dropped that many since the last sync; check the URL, its search_path and --tracks-query, or give --prune-max 100 to delete them",
			n, p.listed, 100*float64(n)/float64(p.listed), p.max)
	}
	deleted := 0
	for _, id := range slices.Sorted(maps.Keys(p.unnamed)) {
		ok, err := tx.DeleteTrack(id)
		if err != nil {
			return deleted, fmt.Errorf("--prune: delete track %s: %w", quoteText(string(id)), err)
		}
		if ok {
			deleted++
		}
	}
	return deleted, nil
}

// noticeHandler prints the PostgreSQL source's notices (Options.Logger)
// on stderr as import prints its own, one line each: "import: warning: "
// and the message, which names the server. Attributes are left out.
type noticeHandler struct{ w io.Writer }

func (h noticeHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h noticeHandler) Handle(_ context.Context, r slog.Record) error {
	prefix := "import: "
	if r.Level >= slog.LevelWarn {
		prefix = "import: warning: "
	}
	_, err := fmt.Fprintln(h.w, prefix+printable.String(r.Message))
	return err
}
func (h noticeHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h noticeHandler) WithGroup(string) slog.Handler      { return h }

// runImportPostgres is import with --postgres, after flag parsing, with
// import's flags f: its summary and its failures print as for files.
func runImportPostgres(ctx context.Context, p *postgresFlags, fs *flag.FlagSet, f *importFlags, stdio stdio) error {
	url, opts, err := p.resolve(fs, f.noInteractions, os.Getenv)
	if err != nil {
		return err
	}
	if p.urlInArgs && hasPassword(url) {
		fmt.Fprintln(stdio.err, passwordInArgsWarning)
	}
	engOpts := stdio.engineOptions(f.engineOptions())
	rep, rolledBack, err := importPostgres(ctx, f.db, engOpts, url, opts, f.strict, p.prune, p.pruneMax, stdio)
	if err != nil {
		return importFailed(stdio, f.asJSON, rep, err)
	}
	if err := printImport(stdio, rep, f.asJSON, rolledBack); err != nil {
		return err
	}
	if rep.Rejected > 0 || rolledBack {
		return errSilent
	}
	return nil
}
