// Package postgres imports tracks and interactions straight from the music
// app's PostgreSQL database. It is the only package that imports pgx.
//
// A Source is an ingest.Source: it yields the tracks first (by default
// "Track" joined with "TrackFeatures"), then the interactions (by default
// every row of "TrackInteraction", or of the older "UserInteraction" table
// when "TrackInteraction" does not exist, as a file import reads every
// row; Options.Actions keeps some actions only). Both are
// read in one read-only, repeatable-read transaction through a server-side
// cursor, a batch at a time, so memory stays flat however many rows there
// are. Rows are mapped by column name with the same rules as file import;
// a rejected row is reported with its id rather than a line (control
// characters escaped, a long id cut: see rowLabel).
//
// Errors never contain the password of the connection URL.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
	"github.com/audotics/soundalike/internal/pgarray"
	"github.com/audotics/soundalike/internal/printable"
)

// DefaultTracksQuery reads the app's tracks with their audio features. The
// track id is "Track".id (the app's own id); the Spotify id, name, artists,
// album and popularity come along as metadata. The app's "Track" has no
// genre, release date or duration, so it reads none: Open says so
// (Options.Logger), and a TracksQuery returning them imports them.
const DefaultTracksQuery = `SELECT t.id, t."spotifyId", t.name, t.artists, t.album, t.popularity,
  f.acousticness, f.danceability, f.energy, f.instrumentalness, f.key,
  f.liveness, f.loudness, f.mode, f.speechiness, f.tempo, f.valence
FROM "Track" t JOIN "TrackFeatures" f ON f."trackId" = t.id`

// Interaction tables the default interactions query reads, in order of
// preference.
const (
	TableTrackInteraction = `"TrackInteraction"`
	TableUserInteraction  = `"UserInteraction"`
)

// DefaultInteractionsQuery returns the query that reads interactions from
// table (TableTrackInteraction or TableUserInteraction) whose action column
// holds one of values, exactly as stored; nil values reads every row, which
// Open asks for unless Options.Actions chooses some. With chosen actions,
// Open passes the stored spellings that ingest.CanonicalAction maps to
// them, so the server drops the rest. The value "" also matches NULL: the
// source reads a NULL action as "", which is a play, as an empty action in
// a file is.
func DefaultInteractionsQuery(table string, values []string) string {
	col, q := "i.type", `SELECT i.id, i."userId", i."trackId", i.type, i."timestamp"
FROM "TrackInteraction" i`
	if table == TableUserInteraction {
		col, q = "u.action", `SELECT u."userId", u."trackId", u.action
FROM "UserInteraction" u`
	}
	switch {
	case values == nil:
		return q
	case len(values) == 0:
		return q + "\nWHERE false"
	}
	lits := make([]string, len(values))
	for i, v := range values {
		lits[i] = quoteLiteral(v)
	}
	where := col + " IN (" + strings.Join(lits, ", ") + ")"
	if slices.Contains(values, "") {
		where += " OR " + col + " IS NULL"
	}
	return q + "\nWHERE " + where
}

// quoteLiteral quotes s as an SQL string literal. The session runs with
// standard_conforming_strings on, so only quotes need doubling.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Options control a Source. The zero value (or nil) means the defaults.
type Options struct {
	// TracksQuery replaces DefaultTracksQuery. It only needs to return
	// columns named as a file's (ingest's names, case and _ ignored): a
	// track id (track_id, trackId or id), the eleven feature names, and any
	// metadata (name, artists, album, popularity, genre, release_date,
	// duration_ms, …); a text[] column of artists or genres is read
	// element by element.
	TracksQuery string
	// InteractionsQuery replaces the default interactions query, which
	// reads "TrackInteraction"(id, "userId", "trackId", type, "timestamp")
	// or "UserInteraction"("userId", "trackId", action). It needs a user
	// column (userId, user_id), a track column (trackId, track_id) and
	// optionally the action (a column named action, type or event), the
	// time (timestamp, time, created_at, …) and id (the row id for
	// errors). Its rows are filtered to Actions too.
	InteractionsQuery string
	// Actions are the interaction actions to import (the usual spellings
	// of each are matched: ingest.CanonicalAction); nil or empty means
	// every action, as a file import reads every row. Skips are worth
	// importing: recommendations take a user's skips as negatives and
	// leave out every track the user heard, while training ignores them
	// (it reads soundalike.DefaultSimilarityActions).
	Actions []string
	// NoInteractions reads tracks only: the interactions query is not
	// run, and the tracks query's user, action and timestamp columns, if
	// it has any, are not read.
	NoInteractions bool
	// BatchSize is the number of rows fetched from the cursor at a time;
	// 0 means 10,000.
	BatchSize int
	// ConnectTimeout bounds connecting when the URL sets no connect_timeout;
	// 0 means 10 s.
	ConnectTimeout time.Duration
	// StallTimeout bounds how long the source waits for the server to send
	// something, once connected: the answer to a request, or the next rows
	// of a query. Each row restarts it, so it bounds silence, not how long
	// a query or an import takes. A server that stays silent longer fails
	// Open or Next with ErrStalled. 0 means DefaultStallTimeout; a negative
	// value waits for as long as it takes (ctx still ends the wait).
	StallTimeout time.Duration
	// URLFrom names where connString came from, in the errors about what
	// it holds (one that cannot be parsed, ErrURL; a password the server
	// refuses, ErrAuth): "$DATABASE_URL", "--postgres", never the URL.
	// "" calls it the connection URL alone.
	URLFrom string
	// Logger receives notices, each message a sentence that names the
	// server: the metadata the default tracks query does not read, the
	// fall-back to "UserInteraction", and interaction rows read and
	// skipped for their action (Source.Skipped). nil means discard.
	Logger *slog.Logger
}

// Source reads tracks, then interactions, from a PostgreSQL database. It
// implements ingest.Source. It is not safe for concurrent use.
//
// A reader goroutine, started by the first Next, fetches the next batch
// from the cursor while Next maps the current one, so that the server and
// the mapping work at the same time. At most three batches exist at once.
type Source struct {
	conn  *pgx.Conn
	sec   secrets
	where string
	batch int
	stall time.Duration // Options.StallTimeout; ≤ 0: none
	watch *stallWatch   // of the requests being made: Open's, then the reader's
	log   *slog.Logger
	// allow holds the actions Options.Actions chose (canonical), or is
	// nil when it chose none: rows of other actions are skipped.
	allow          map[string]bool
	noInteractions bool // Options.NoInteractions: the tracks query's user columns are not read
	phases         []*phase
	table          string

	started bool
	stop    context.CancelFunc
	batches chan *batch
	cur     *batch // being mapped
	i       int    // next row of cur
	err     error  // sticky: the reader's failure

	skipped int64
	kept    int64 // interaction rows mapped with a chosen action
	// skippedActions are the distinct actions of the skipped rows, at
	// most maxActionValues of them, for what the end of the import says.
	skippedActions map[string]bool
	rowsRead       int64
	vals           []string   // mapRow's buffer for a row's values
	lists          [][]string // and for its list fields' arrays
	mapping        int        // the phase whose rows Next maps now: see Recycle
}

// batch is one FETCH worth of rows of one phase, copied out of the driver's
// buffers: each row is one string holding its columns end to end.
type batch struct {
	phase int
	ncols int
	rows  []string
	ends  []int // ncols per row: where each column ends in its row string
	err   error // set on the reader's last batch when reading failed
}

var _ ingest.Source = (*Source)(nil)

// column kinds: how a column's text is rewritten before mapping.
const (
	colPlain = iota
	colArray
	colTimestamp // timestamp without time zone
)

type column struct {
	name string
	kind int
	drop bool // not given to the mapper (an interaction's row id)
	list bool // an array feeding a list field (ingest.IsListColumn): the mapper gets its elements
}

// phase is one query: tracks or interactions.
type phase struct {
	which  string // "tracks" or "interactions"
	flag   string // the option that set a custom query, "" for the default
	query  string
	cursor string // the server-side cursor Open declares and read reads
	source string // Record.Source and RowError.File
	mapper rowMapper
	cols   []column
	rowID  int // column holding the row id, -1: the row's ordinal
	n      int64
}

// The names of a Source's two queries as their records give them
// (ingest.Record.Source) and their rejected rows print them
// ("postgres:tracks: row ID: …").
const (
	TracksSource       = "postgres:tracks"
	InteractionsSource = "postgres:interactions"
)

// Open connects to the database at connString (a postgres:// URL or a
// key=value DSN), starts a read-only snapshot and checks both queries, so
// that a missing table, a bad custom query, a missing column or a table
// the role may not read fails here, before anything is imported.
func Open(ctx context.Context, connString string, opts *Options) (*Source, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 10000
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.StallTimeout == 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, parseError(err, o.URLFrom)
	}
	s := &Source{sec: newSecrets(cfg.Password), where: target(&cfg.Config), batch: o.BatchSize, stall: o.StallTimeout, log: log,
		noInteractions: o.NoInteractions}
	for _, a := range o.Actions {
		if strings.TrimSpace(a) == "" || strings.ContainsRune(a, 0) {
			return nil, s.sec.errorf(nil, "invalid action %q: want names such as play, like, addToPlaylist", a)
		}
	}
	if len(o.Actions) > 0 {
		s.allow = map[string]bool{}
		for _, a := range o.Actions {
			s.allow[ingest.CanonicalAction(a)] = true
		}
	}
	timeout := o.ConnectTimeout.String()
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = o.ConnectTimeout
	} else {
		timeout = cfg.ConnectTimeout.String()
	}
	rp := cfg.RuntimeParams
	rp["application_name"] = "soundalike import"
	rp["TimeZone"] = "UTC"
	rp["DateStyle"] = "ISO, MDY"
	rp["extra_float_digits"] = "3"
	// The cursor is read to the end: plan for all rows, not the first 10%
	// (which picks nested loops over hash joins).
	rp["cursor_tuple_fraction"] = "1"
	rp["standard_conforming_strings"] = "on"
	rp["client_encoding"] = "UTF8"

	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, connectError(err, &cfg.Config, s.sec, timeout, o.URLFrom)
	}
	s.conn = conn
	wctx, w := watch(ctx, s.stall)
	s.watch = w
	err = s.start(wctx, &o)
	w.stop()
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// start begins the snapshot, picks the tables, describes the queries and
// declares their cursors. ctx is from watch.
func (s *Source) start(ctx context.Context, o *Options) error {
	if err := s.exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return s.queryError(ctx, err, "the database", "")
	}
	tracks := &phase{which: "tracks", flag: "--tracks-query", query: trimQuery(o.TracksQuery), source: TracksSource, cursor: "soundalike_tracks"}
	if tracks.query == "" {
		if err := s.tracksTables(ctx); err != nil {
			return err
		}
		tracks.query, tracks.flag = DefaultTracksQuery, ""
		s.log.Info(fmt.Sprintf("%s: %s", s.where, unreadMetadata))
	}
	s.phases = append(s.phases, tracks)
	if !o.NoInteractions {
		in := &phase{which: "interactions", flag: "--interactions-query", query: trimQuery(o.InteractionsQuery), source: InteractionsSource, cursor: "soundalike_interactions"}
		if in.query == "" {
			table, err := s.interactionsTable(ctx)
			if err != nil {
				return err
			}
			s.table = table
			var values []string // nil: every row
			if s.allow != nil {
				if values, err = s.storedActions(ctx, table); err != nil {
					return err
				}
			}
			in.query, in.flag = DefaultInteractionsQuery(table, values), ""
		}
		s.phases = append(s.phases, in)
	}
	for _, p := range s.phases {
		if err := s.describe(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// unreadMetadata is the notice Open gives when it reads the default tracks
// query: what that query does not read, what goes without it, and how to
// import it. Without it, genre and year filters matched none of the
// imported tracks and the model trained without release year or duration,
// and nothing said why.
const unreadMetadata = `the default tracks query reads no genre, release date or duration (the app's "Track" has no such columns): ` +
	`genre and year filters match none of these tracks, and train learns without release year or duration; ` +
	`if your tables hold them, give --tracks-query returning them as genre (text or text[]), release_date and duration_ms`

// tracksTables checks that the tables the default tracks query reads
// exist.
func (s *Source) tracksTables(ctx context.Context) error {
	missing, err := s.missingTables(ctx, `"Track"`, `"TrackFeatures"`)
	if err != nil || len(missing) == 0 {
		return err
	}
	what := "no table " + missing[0]
	if len(missing) > 1 {
		what = "no tables " + strings.Join(missing, " and ")
	}
	where, err := s.elsewhere(ctx, missing, len(missing))
	if err != nil {
		return err
	}
	return s.sec.errorf(ErrMissingTable, "%s: %s (which the default tracks query reads) %s; or give --tracks-query to read tracks from other tables",
		s.where, what, where)
}

// interactionsTable picks "TrackInteraction", or "UserInteraction" when only
// that one exists, and says so.
func (s *Source) interactionsTable(ctx context.Context) (string, error) {
	missing, err := s.missingTables(ctx, TableTrackInteraction, TableUserInteraction)
	if err != nil {
		return "", err
	}
	switch len(missing) {
	case 0:
		return TableTrackInteraction, nil
	case 2:
		where, err := s.elsewhere(ctx, missing, 1)
		if err != nil {
			return "", err
		}
		return "", s.sec.errorf(ErrMissingTable, "%s: neither %s nor %s (which the default interactions query reads) exists %s; or give --interactions-query to read interactions from other tables, or --no-interactions to import tracks only",
			s.where, TableTrackInteraction, TableUserInteraction, where)
	}
	if missing[0] == TableUserInteraction {
		return TableTrackInteraction, nil
	}
	s.log.Warn(fmt.Sprintf(`no %s table in %s: reading interactions from the older %s table`, TableTrackInteraction, s.where, TableUserInteraction))
	return TableUserInteraction, nil
}

// maxActionValues bounds the distinct action spellings the server-side
// filter lists; past it, every row is read and filtered here.
const maxActionValues = 1000

// storedActions returns the distinct action values stored in table that
// are among the chosen actions (after ingest.CanonicalAction), or nil when
// there are too many distinct values to list. A NULL value is returned as
// "", the action the source reads it as (see DefaultInteractionsQuery).
//
// When the table holds actions but none of the chosen ones, nothing of it
// would be imported, without a word: that is an error naming the stored
// ones, since a misspelt action ("plays") is the likely cause.
func (s *Source) storedActions(ctx context.Context, table string) ([]string, error) {
	col := "type"
	if table == TableUserInteraction {
		col = "action"
	}
	s.watch.begin()
	defer s.watch.end()
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT "+col+" FROM "+table+" LIMIT "+strconv.Itoa(maxActionValues+1))
	if err != nil {
		if e := s.missingColumnError(err, "interactions", table); e != nil {
			return nil, e
		}
		return nil, s.queryError(ctx, err, "the interaction actions", "")
	}
	values, stored := []string{}, []string{}
	n := 0
	for rows.Next() {
		s.watch.heard()
		var v *string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, s.queryError(ctx, err, "the interaction actions", "")
		}
		n++
		if v == nil {
			v = new(string)
		}
		stored = append(stored, *v)
		if s.allow[ingest.CanonicalAction(*v)] && !slices.Contains(values, *v) {
			values = append(values, *v)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.queryError(ctx, err, "the interaction actions", "")
	}
	switch {
	case n > maxActionValues:
		return nil, nil
	case len(values) > 0 || n == 0:
		return values, nil
	}
	return nil, s.sec.errorf(nil, "%s: none of the chosen actions (%s) is among those %s holds (%s): choose from those",
		s.where, quotedList(slices.Collect(maps.Keys(s.allow))), table, quotedList(stored))
}

// maxListed bounds the values quotedList lists.
const maxListed = 20

// quotedList returns the distinct values of vs sorted, each quoted (and
// so escaped) as Go quotes it, joined by commas: at most maxListed of
// them, then how many more there are.
func quotedList(vs []string) string {
	vs = slices.Compact(slices.Sorted(slices.Values(vs)))
	more := ""
	if len(vs) > maxListed {
		more = fmt.Sprintf(" and %d more", len(vs)-maxListed)
		vs = vs[:maxListed]
	}
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ") + more
}

// missingTables returns those of tables (quoted identifiers, resolved
// through the search path) that do not exist.
func (s *Source) missingTables(ctx context.Context, tables ...string) ([]string, error) {
	var missing []string
	s.watch.begin()
	defer s.watch.end()
	err := s.conn.QueryRow(ctx, `SELECT array_agg(t ORDER BY n) FROM unnest($1::text[]) WITH ORDINALITY AS u(t, n)
WHERE to_regclass(t) IS NULL`, tables).Scan(&missing)
	if err != nil {
		return nil, s.queryError(ctx, err, "the table list", "")
	}
	return missing, nil
}

// maxSchemas bounds the schemas elsewhere names.
const maxSchemas = 5

// elsewhere says, for tables (quoted identifiers) that missingTables found
// missing, where they were looked for and where they may be: the search
// path, then the schemas the role may use that hold at least want of
// them, or, when none does, how to name another schema. A Prisma app
// whose schema is not public (?schema=app in its URL) keeps its tables
// there, and the search path does not reach them; pgx sends a URL's
// search_path parameter to the server as the session's setting, as libpq
// does options=-csearch_path=SCHEMA.
func (s *Source) elsewhere(ctx context.Context, tables []string, want int) (string, error) {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(t, `"`), `"`), `""`, `"`)
	}
	var (
		path    string
		schemas []string
	)
	s.watch.begin()
	defer s.watch.end()
	err := s.conn.QueryRow(ctx, `SELECT current_setting('search_path'), coalesce(array_agg(nspname::text ORDER BY nspname), '{}') FROM (
  SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND has_schema_privilege(n.oid, 'USAGE')
  GROUP BY n.nspname HAVING count(DISTINCT c.relname) >= $2
  ORDER BY n.nspname LIMIT $3) s`, names, want, maxSchemas+1).Scan(&path, &schemas)
	if err != nil {
		return "", s.queryError(ctx, err, "the schemas", "")
	}
	in := "in the search path (" + printable.String(path) + ")"
	if len(schemas) == 0 {
		return in + ": if the app's tables are in another schema, add search_path=SCHEMA to the URL " +
			"(postgres://…/db?search_path=SCHEMA, or options=-csearch_path%3DSCHEMA, which psql takes too)", nil
	}
	subject := "they are"
	switch {
	case want < len(tables):
		subject = "one is"
	case len(tables) == 1:
		subject = "it is"
	}
	listed := make([]string, 0, len(schemas))
	for i, n := range schemas {
		if i == maxSchemas {
			listed = append(listed, "…")
			break
		}
		listed = append(listed, strconv.Quote(n))
	}
	which, other := "schema", ""
	if len(schemas) > 1 {
		which, other = "schemas", " (or another of those)"
	}
	p := printable.String(url.QueryEscape(searchPathName(schemas[0])))
	return fmt.Sprintf("%s; %s in %s %s: add search_path=%s%s to the URL (postgres://…/db?search_path=%[5]s, or options=-csearch_path%%3D%[5]s, which psql takes too)",
		in, subject, which, strings.Join(listed, ", "), p, other), nil
}

// searchPathName returns schema as search_path names it: as it is when
// the server would read it unchanged (lower case, digits, _), else as a
// quoted identifier, since the server lowers an unquoted name.
func searchPathName(schema string) string {
	plain := schema != "" && (schema[0] < '0' || schema[0] > '9')
	for _, c := range schema {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			plain = false
		}
	}
	if plain {
		return schema
	}
	return `"` + strings.ReplaceAll(schema, `"`, `""`) + `"`
}

// missingColumnError explains the failure of a default query (of which,
// "tracks" or "interactions", reading table for interactions) whose table
// lacks a column it reads, SQLSTATE 42703: it names the columns the query
// reads and the option that reads others. It returns nil for any other
// failure. The server's position in the query is left out: the user never
// saw the query.
func (s *Source) missingColumnError(err error, which, table string) *Error {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	if !ok || pgErr.Code != "42703" {
		return nil
	}
	reads := `"TrackInteraction"(id, "userId", "trackId", type, "timestamp")`
	switch {
	case which == "tracks":
		reads = `"Track"(id, "spotifyId", name, artists, album, popularity) joined with "TrackFeatures"("trackId", ` +
			strings.Join(soundalike.FeatureNames(), ", ") + ")"
	case table == TableUserInteraction:
		reads = `"UserInteraction"("userId", "trackId", action)`
	}
	return s.sec.errorf(ErrMissingTable, "%s: %s; the default %s query reads %s (give --%s-query to read %s from other columns)",
		s.where, pgErr.Message, which, reads, which, which)
}

// trimQuery drops surrounding space and trailing semicolons, which cannot
// follow a query inside DECLARE.
func trimQuery(q string) string {
	return strings.TrimRight(strings.TrimSpace(q), "; \t\r\n")
}

// describe asks the server for the query's columns without running it, and
// builds the phase's column plan and mapper.
func (s *Source) describe(ctx context.Context, p *phase) error {
	s.watch.begin()
	sd, err := s.conn.PgConn().Prepare(ctx, "", p.query, nil)
	s.watch.end()
	if err != nil {
		if p.flag == "" {
			if e := s.missingColumnError(err, p.which, s.table); e != nil {
				return e
			}
		}
		return s.queryError(ctx, err, p.which, p.flag)
	}
	names := make([]string, len(sd.Fields))
	p.cols = make([]column, len(sd.Fields))
	p.rowID = -1
	idx := map[string]int{}
	for i, f := range sd.Fields {
		names[i] = f.Name
		n := normalizeColumn(f.Name)
		if _, dup := idx[n]; !dup {
			idx[n] = i
		}
		c := column{name: f.Name}
		if isTextArray(f.DataTypeOID) {
			c.kind, c.list = colArray, ingest.IsListColumn(f.Name)
		}
		if f.DataTypeOID == oidTimestamp {
			c.kind = colTimestamp
		}
		p.cols[i] = c
	}
	has := func(n string) (int, bool) { i, ok := idx[n]; return i, ok }
	if i, ok := has("id"); ok && p.which == "interactions" {
		if _, ok := has("trackid"); ok {
			p.rowID = i
			p.cols[i].drop = true
		}
	}
	var mapped []string
	for i, c := range p.cols {
		if !c.drop {
			mapped = append(mapped, names[i])
		}
	}
	m, err := newRowMapper(p.source, mapped, &ingest.MapperOptions{InteractionsOnly: p.which == "interactions", NoInteractions: s.noInteractions})
	if err != nil {
		what := "the default " + p.which + " query"
		if p.flag != "" {
			what = "the " + p.which + " query (" + p.flag + ")"
		}
		return s.sec.errorf(ErrBadQuery, "%s returns columns import cannot use: %v", what, err)
	}
	p.mapper = m
	if p.which == "tracks" {
		// The row id is the track id, from the column the mapper reads
		// it from (no tracks column is dropped: the indexes agree).
		p.rowID = m.IDColumn()
	}
	// The cursor is declared here, and read fetches from it. Declaring it
	// checks what preparing does not: the privileges on the tables read.
	// A role that may not read one fails here, before the caller opens
	// (and creates) its database, not at the first batch. No row is read:
	// a cursor runs its query as it is fetched from.
	if err := s.exec(ctx, "DECLARE "+p.cursor+" NO SCROLL CURSOR FOR "+p.query); err != nil {
		return s.queryError(ctx, err, p.which, p.flag)
	}
	return nil
}

// InteractionsTable returns the table the default interactions query reads
// (TableTrackInteraction or TableUserInteraction), or "" when interactions
// come from a custom query or are not read.
func (s *Source) InteractionsTable() string { return s.table }

// Rows returns the number of rows read so far, including rejected and
// skipped ones.
func (s *Source) Rows() int64 { return s.rowsRead }

// Skipped returns the number of interaction rows left out because their
// action is not one of Options.Actions.
func (s *Source) Skipped() int64 { return s.skipped }

// end is what Next returns after the last row: io.EOF, once it has said
// what the filter on chosen actions (Options.Actions) left out here. The
// server filters the default query's rows (DefaultInteractionsQuery)
// unless the table holds more than maxActionValues distinct actions; a
// custom query's rows are filtered here. Skipped rows are a notice
// (Options.Logger); when no interaction row had a chosen action (the
// others skipped or rejected), nothing of them is imported, which
// storedActions makes an error: so is it here, where it is found only at
// the end.
func (s *Source) end() error {
	if s.skipped == 0 {
		return io.EOF
	}
	var read int64
	for _, p := range s.phases {
		if p.which == "interactions" {
			read = p.n
		}
	}
	from := "the rows of " + s.table
	if s.table == "" {
		from = "the rows of --interactions-query"
	}
	skipped := quotedList(slices.Collect(maps.Keys(s.skippedActions)))
	if len(s.skippedActions) == maxActionValues {
		skipped += " and maybe more"
	}
	chosen := quotedList(slices.Collect(maps.Keys(s.allow)))
	if s.kept == 0 {
		return s.sec.errorf(nil, "%s: none of the chosen actions (%s) is among those of %s (%s): choose from those",
			s.where, chosen, from, skipped)
	}
	s.log.Info(fmt.Sprintf("%s: skipped %d of %d interaction rows, whose actions (%s) are none of those chosen (%s)",
		s.where, s.skipped, read, skipped, chosen))
	return io.EOF
}

// Next returns the next record: all tracks, then all interactions. It
// returns a *ingest.RowError (with Row set to the row's id) for a rejected
// row, io.EOF after the last row, and an *Error when reading fails.
func (s *Source) Next(ctx context.Context) (ingest.Record, error) {
	if !s.started {
		s.started = true
		rctx, cancel := context.WithCancel(context.Background())
		s.stop = cancel
		s.batches = make(chan *batch, 1)
		go s.read(rctx)
	}
	for {
		if s.err != nil {
			return ingest.Record{}, s.err
		}
		if s.cur == nil || s.i >= len(s.cur.rows) {
			// A cancelled ctx wins over a batch or the end that is also
			// ready: select would pick between them at random.
			if err := ctx.Err(); err != nil {
				return ingest.Record{}, err
			}
			select {
			case b, ok := <-s.batches:
				if !ok {
					s.err = s.end()
					continue
				}
				if b.err != nil {
					s.err = b.err
					continue
				}
				s.cur, s.i = b, 0
			case <-ctx.Done():
				return ingest.Record{}, ctx.Err()
			}
			continue
		}
		b := s.cur
		row, ends := b.rows[s.i], b.ends[s.i*b.ncols:(s.i+1)*b.ncols]
		s.i++
		p := s.phases[b.phase]
		s.mapping = b.phase
		s.rowsRead++
		p.n++
		rec, keep, err := s.mapRow(p, row, ends)
		if keep {
			return rec, err
		}
		p.mapper.Recycle(rec) // an action filtered out: nobody saw it
	}
}

// read runs in its own goroutine: it fetches each phase's rows from the
// cursor Open declared, a batch at a time, sends them, and closes the
// cursor; then it closes s.batches. A failure is sent as the last batch.
func (s *Source) read(ctx context.Context) {
	defer close(s.batches)
	// Requests are made under wctx, which the watch cancels when the
	// server stops answering; sending waits on ctx alone, so that the
	// failure is sent.
	wctx, w := watch(ctx, s.stall)
	s.watch = w
	defer w.stop()
	send := func(b *batch) bool {
		select {
		case s.batches <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	fail := func(p *phase, err error) {
		send(&batch{err: s.queryError(wctx, err, p.which, p.flag)})
	}
	for pi, p := range s.phases {
		fetch := "FETCH FORWARD " + strconv.Itoa(s.batch) + " FROM " + p.cursor
		ncols := len(p.cols)
		for {
			b := &batch{phase: pi, ncols: ncols, rows: make([]string, 0, s.batch), ends: make([]int, 0, s.batch*ncols)}
			var buf []byte
			w.begin()
			rr := s.conn.PgConn().ExecParams(wctx, fetch, nil, nil, nil, nil)
			for rr.NextRow() {
				w.heard()
				// One string per row, sliced per column by Next: one
				// allocation instead of one per column. (NULL and ''
				// both become "".)
				buf = buf[:0]
				for _, v := range rr.Values() {
					buf = append(buf, v...)
					b.ends = append(b.ends, len(buf))
				}
				b.rows = append(b.rows, string(buf))
			}
			_, err := rr.Close()
			w.end()
			if err != nil {
				fail(p, err)
				return
			}
			n := len(b.rows)
			if n > 0 && !send(b) {
				return
			}
			if n < s.batch {
				break
			}
		}
		if err := s.exec(wctx, "CLOSE "+p.cursor); err != nil {
			fail(p, err)
			return
		}
	}
}

// maxRowLabel bounds how much of a row's id an error quotes: more than any
// real key (a UUID is 36 bytes, a SHA-256 in hex 64), few enough that an
// error stays readable.
const maxRowLabel = 128

// rowLabel returns a row's id as errors name it (RowError.Row), escaped
// and cut at maxRowLabel bytes (printable.Cut): the id comes from the
// database, and import prints errors to a terminal one a line, so an id
// must not inject escape sequences or break the line.
func rowLabel(id string) string { return printable.Cut(id, maxRowLabel) }

// dropBlank drops the elements of a list that are empty or only spaces,
// in place: an empty artist or genre names nobody, and file import drops it
// too. The others are kept as stored, spaces included.
func dropBlank(elems []string) []string {
	out := elems[:0]
	for _, e := range elems {
		if strings.TrimSpace(e) != "" {
			out = append(out, e)
		}
	}
	return out
}

// mapRow maps one row. keep is false for an interaction whose action is
// not among the chosen ones.
func (s *Source) mapRow(p *phase, row string, ends []int) (rec ingest.Record, keep bool, err error) {
	vals, lists := s.vals[:0], s.lists[:0]
	value := func(i int) string {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		return row[start:ends[i]]
	}
	rowID := ""
	if p.rowID >= 0 {
		rowID = rowLabel(value(p.rowID))
	}
	if rowID == "" {
		rowID = "#" + strconv.FormatInt(p.n, 10)
	}
	for i, c := range p.cols {
		if c.drop {
			continue
		}
		v := value(i)
		var elems []string // a list field's array: the mapper takes it as it is
		switch c.kind {
		case colTimestamp:
			// 2025-01-02 03:04:05.678 (UTC: the session's zone) as RFC 3339,
			// the first form ingest.ParseTime tries. A time BC (… 10:00:00
			// BC) is left as stored, so that the error refusing it quotes
			// what the database holds.
			if len(v) >= 19 && v[10] == ' ' && strings.IndexByte(v[19:], ' ') < 0 {
				v = v[:10] + "T" + v[11:] + "Z"
			}
		case colArray:
			if v == "" { // NULL
				break
			}
			parsed, err := pgarray.Parse(v)
			if err != nil {
				return ingest.Record{}, true, &ingest.RowError{File: p.source, Row: rowID, Reason: fmt.Sprintf("%s: %v", printable.String(c.name), err)}
			}
			if c.list {
				elems, v = dropBlank(parsed), ""
			} else {
				v = strings.Join(parsed, ", ")
			}
		}
		vals, lists = append(vals, v), append(lists, elems)
	}
	s.vals, s.lists = vals, lists
	rec, err = p.mapper.MapRowLists(rowID, vals, lists)
	if err != nil {
		if _, ok := errors.AsType[*ingest.RowError](err); ok {
			return ingest.Record{}, true, err
		}
		return ingest.Record{}, true, &ingest.RowError{File: p.source, Row: rowID, Reason: err.Error()}
	}
	if in := rec.Interaction; in != nil && p.which == "interactions" && s.allow != nil && !s.allow[in.Action] {
		s.skipped++
		if len(s.skippedActions) < maxActionValues {
			if s.skippedActions == nil {
				s.skippedActions = map[string]bool{}
			}
			s.skippedActions[in.Action] = true
		}
		return rec, false, nil // rec only for Recycle
	}
	if rec.Interaction != nil {
		s.kept++
	}
	return rec, true, nil
}

// exec runs sql, a statement without rows, under s.watch.
func (s *Source) exec(ctx context.Context, sql string) error {
	s.watch.begin()
	defer s.watch.end()
	_, err := s.conn.PgConn().Exec(ctx, sql).ReadAll()
	return err
}

// queryError is queryError for a request made under ctx, a context from
// watch: one cut off because the server stopped answering says so, and
// how to wait longer.
func (s *Source) queryError(ctx context.Context, err error, which, flag string) *Error {
	if stalled(ctx) {
		return s.sec.errorf(ErrStalled, "reading %s from %s: the server sent nothing for %s, so import stopped waiting: "+
			"if the server is busy rather than gone (a long sort before the first row, a query waiting for a migration's lock), raise --stall-timeout (Options.StallTimeout); otherwise check the server and the network",
			which, s.where, s.stall)
	}
	return queryError(err, which, flag, s.where, s.sec)
}

// Recycle implements ingest.Recycler: a record's memory goes back to the
// mapper of the phase being read, which maps the next rows (rows of the
// two phases are alike).
func (s *Source) Recycle(rec ingest.Record) {
	if s.mapping < len(s.phases) {
		s.phases[s.mapping].mapper.Recycle(rec)
	}
}

// Close stops the reader, ends the snapshot and closes the connection.
func (s *Source) Close() error {
	if s.conn == nil {
		return nil
	}
	if s.started {
		s.stop()
		for range s.batches { // wait for the reader to let go of the connection
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.conn.Close(ctx)
	s.conn = nil
	if err != nil {
		return s.sec.errorf(ErrConnect, "closing the connection to %s: %s", s.where, innermost(err))
	}
	return nil
}
