package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
)

func TestImportCounts(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	all := len(fx.Interactions) // skips too, as a file import reads them
	for _, batch := range []int{0, 7} {
		t.Run("batch="+strconv.Itoa(batch), func(t *testing.T) {
			src := openSource(t, db.URL, &Options{BatchSize: batch})
			sink := newMemSink()
			sum := importAll(t, src, sink)
			if sum.TracksAdded != len(fx.Tracks) || sum.InteractionsAdded != all || sum.Rejected != 0 {
				t.Errorf("import = %+v, want %d tracks, %d interactions, 0 rejected", sum, len(fx.Tracks), all)
			}
			if got, want := sink.users(), fx.Playlists+2; got != want { // the playlists, listener-1 (play, like) and listener-2 (skips)
				t.Errorf("users = %d, want %d", got, want)
			}
			if got, want := src.Rows(), int64(len(fx.Tracks)+all); got != want {
				t.Errorf("Rows() = %d, want %d", got, want)
			}
			if src.Skipped() != 0 {
				t.Errorf("Skipped() = %d, want 0", src.Skipped())
			}
			if got := src.InteractionsTable(); got != TableTrackInteraction {
				t.Errorf("InteractionsTable() = %q, want %q", got, TableTrackInteraction)
			}
		})
	}
}

func TestRoundTripEveryField(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	src := openSource(t, db.URL, &Options{Actions: []string{"play", "like", "addToPlaylist", "skip"}})
	sink := newMemSink()
	if sum := importAll(t, src, sink); sum.Rejected != 0 {
		t.Fatalf("rejected %d rows: %v", sum.Rejected, sum.Errors)
	}
	// Only the fields the app's database has; the rest stay unknown (zero).
	opts := []cmp.Option{cmpopts.EquateEmpty()}
	if diff := cmp.Diff(fx.Tracks, sink.tracks, opts...); diff != "" {
		t.Errorf("tracks differ (-loaded +imported):\n%s", diff)
	}
	var got []soundalike.Interaction
	for _, in := range sink.interactions {
		got = append(got, in)
	}
	byTime := func(s []soundalike.Interaction) {
		sort.Slice(s, func(i, j int) bool { return s[i].Time.Before(s[j].Time) })
	}
	byTime(got)
	want := append([]soundalike.Interaction(nil), fx.Interactions...)
	byTime(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("interactions differ (-loaded +imported):\n%s", diff)
	}
}

func TestActionFilter(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	// A custom query returns every row; the source filters them itself.
	custom := `SELECT id, "userId", "trackId", type AS action, "timestamp" FROM "TrackInteraction"`
	tests := []struct {
		name    string
		actions []string
		want    []string
	}{
		{"default: every action", nil, []string{soundalike.ActionPlay, soundalike.ActionLike, soundalike.ActionAddToPlaylist, soundalike.ActionSkip}},
		{"similarity actions", soundalike.DefaultSimilarityActions(), soundalike.DefaultSimilarityActions()},
		{"like only", []string{"like"}, []string{soundalike.ActionLike}},
		{"other spelling", []string{"add_to_playlist"}, []string{soundalike.ActionAddToPlaylist}},
		{"skips too", []string{"play", "skip"}, []string{soundalike.ActionPlay, soundalike.ActionSkip}},
	}
	for _, tt := range tests {
		for _, query := range []string{"", custom} {
			name := tt.name + "/default query"
			if query != "" {
				name = tt.name + "/custom query"
			}
			t.Run(name, func(t *testing.T) {
				src := openSource(t, db.URL, &Options{Actions: tt.actions, InteractionsQuery: query})
				sink := newMemSink()
				sum := importAll(t, src, sink)
				if want := fx.countAction(tt.want...); sum.InteractionsAdded != want {
					t.Errorf("interactions added = %d, want %d", sum.InteractionsAdded, want)
				}
				for _, in := range sink.interactions {
					if !contains(tt.want, in.Action) {
						t.Errorf("imported a %q interaction, want only %v", in.Action, tt.want)
						break
					}
				}
				wantSkipped := int64(0)
				if query != "" && tt.actions != nil {
					wantSkipped = int64(len(fx.Interactions) - fx.countAction(tt.want...))
				}
				if src.Skipped() != wantSkipped {
					t.Errorf("Skipped() = %d, want %d", src.Skipped(), wantSkipped)
				}
			})
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestUserInteractionFallback(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	db.exec(t, `CREATE TABLE "UserInteraction" ("userId" text NOT NULL, "trackId" text NOT NULL, action text NOT NULL)`)
	db.exec(t, `INSERT INTO "UserInteraction" SELECT "userId", "trackId", type FROM "TrackInteraction"`)
	db.exec(t, `DROP TABLE "TrackInteraction"`)

	var logs bytes.Buffer
	src, err := Open(t.Context(), db.URL, &Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if got := src.InteractionsTable(); got != TableUserInteraction {
		t.Errorf("InteractionsTable() = %q, want %q", got, TableUserInteraction)
	}
	if !strings.Contains(logs.String(), `UserInteraction`) || !strings.Contains(logs.String(), `TrackInteraction`) {
		t.Errorf("log = %q, want a notice naming both tables", logs.String())
	}
	noSecret(t, "log", logs.String(), db.Password)
	sink := newMemSink()
	sum := importAll(t, src, sink)
	if want := len(fx.Interactions); sum.InteractionsAdded != want || sum.Rejected != 0 {
		t.Errorf("import = %+v, want %d interactions, 0 rejected", sum, want)
	}
	for _, in := range sink.interactions {
		if !in.Time.IsZero() {
			t.Errorf("imported %+v, want no time (the old table has none)", in)
			break
		}
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}

	// With neither table, the error says what to do.
	db.exec(t, `DROP TABLE "UserInteraction"`)
	_, err = Open(t.Context(), db.URL, nil)
	if !errors.Is(err, ErrMissingTable) || !strings.Contains(err.Error(), "--no-interactions") {
		t.Errorf("Open without interaction tables: %v, want ErrMissingTable suggesting --no-interactions", err)
	}
	src = openSource(t, db.URL, &Options{NoInteractions: true})
	if sum := importAll(t, src, newMemSink()); sum.TracksAdded != len(fx.Tracks) || sum.InteractionsAdded != 0 {
		t.Errorf("import with NoInteractions = %+v, want %d tracks only", sum, len(fx.Tracks))
	}
}

func TestReimportAddsNothing(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	sink := newMemSink()
	first := importAll(t, openSource(t, db.URL, nil), sink)
	if first.TracksAdded != len(fx.Tracks) {
		t.Fatalf("first import = %+v, want %d tracks added", first, len(fx.Tracks))
	}
	second := importAll(t, openSource(t, db.URL, nil), sink)
	if diff := cmp.Diff(ingest.Summary{}, second, cmpopts.EquateEmpty(), cmp.AllowUnexported(ingest.Summary{})); diff != "" {
		t.Errorf("second import added or changed something (-want +got):\n%s", diff)
	}
}

func TestCustomQueries(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	// Another shape: the Spotify id as the track id, file-style column
	// names, and a trailing semicolon.
	tracks := `SELECT t."spotifyId" AS track_id, t.name AS track_name, t.artists AS track_artist,
	  f.danceability, f.energy, f.key, f.loudness, f.mode, f.speechiness,
	  f.acousticness, f.instrumentalness, f.liveness, f.valence, f.tempo
	FROM "Track" t JOIN "TrackFeatures" f ON f."trackId" = t.id WHERE t.popularity >= 50;`
	interactions := `SELECT i."userId" AS user_id, t."spotifyId" AS track_id, i.type AS action
	FROM "TrackInteraction" i JOIN "Track" t ON t.id = i."trackId" WHERE t.popularity >= 50`
	src := openSource(t, db.URL, &Options{TracksQuery: tracks, InteractionsQuery: interactions})
	sink := newMemSink()
	sum := importAll(t, src, sink)

	wantTracks := map[soundalike.TrackID]soundalike.Track{}
	bySpotify := map[soundalike.TrackID]soundalike.TrackID{}
	for _, tr := range fx.Tracks {
		if tr.Popularity >= 50 {
			id := soundalike.TrackID(tr.SpotifyID)
			bySpotify[tr.ID] = id
			wantTracks[id] = soundalike.Track{ID: id, Name: tr.Name, Artists: tr.Artists, Features: tr.Features}
		}
	}
	wantInteractions := 0
	for _, in := range fx.Interactions {
		if _, ok := bySpotify[in.Track]; ok {
			wantInteractions++
		}
	}
	if len(wantTracks) == 0 || sum.TracksAdded != len(wantTracks) || sum.InteractionsAdded != wantInteractions || sum.Rejected != 0 {
		t.Errorf("import = %+v, want %d tracks, %d interactions", sum, len(wantTracks), wantInteractions)
	}
	if diff := cmp.Diff(wantTracks, sink.tracks, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("tracks differ (-want +got):\n%s", diff)
	}
}

func TestRowErrorCarriesID(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	some := fx.anyTrack()
	db.exec(t, `UPDATE "TrackFeatures" SET danceability = 1.5 WHERE "trackId" = $1`, string(some))
	db.exec(t, `UPDATE "TrackInteraction" SET "userId" = '' WHERE id = $1`, uuidFor("interaction 0"))

	sum := importAll(t, openSource(t, db.URL, nil), newMemSink())
	if sum.TracksAdded != len(fx.Tracks)-1 {
		t.Errorf("tracks added = %d, want %d (all but the bad one)", sum.TracksAdded, len(fx.Tracks)-1)
	}
	want := map[string]string{string(some): "postgres:tracks", uuidFor("interaction 0"): "postgres:interactions"}
	found := 0
	for _, e := range sum.Errors {
		if file, ok := want[e.Row]; ok && e.File == file && e.Line == 0 {
			found++
			if e.Row == string(some) && !strings.Contains(e.Reason, "danceability") {
				t.Errorf("error for the bad track = %q, want it to name danceability", e.Reason)
			}
			if !strings.Contains(e.Error(), "row "+e.Row) {
				t.Errorf("RowError.Error() = %q, want it to name the row", e.Error())
			}
		}
	}
	// The bad track's interactions are rejected too (unknown track).
	if found != 2 {
		t.Errorf("errors = %+v, want one for track %s and one for interaction %s", sum.Errors, some, uuidFor("interaction 0"))
	}
}

func TestConnectionErrors(t *testing.T) {
	db := newTestDB(t)
	loadSample(t, db)
	empty := newTestDB(t)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	refused := db.withHost(t, "127.0.0.1:"+strconv.Itoa(closedPort))

	type test struct {
		name string
		url  string
		opts *Options
		kind error
		want []string // in the message
		not  []string // not in the message
	}
	trustNone := setQuery(t, db.URL, "sslmode", "verify-full", "sslrootcert", "/nonexistent/root.crt")
	tests := []test{
		{"bad password", db.withPassword(t, "not-"+db.Password), nil, ErrAuth, []string{"password authentication failed", "soundalike@127.0.0.1"}, nil},
		{"refused", refused, nil, ErrConnect, []string{"connection refused", strconv.Itoa(closedPort)}, nil},
		{"TLS refused", setQuery(t, db.withHost(t, refusingTLS(t)), "sslmode", "require"), nil, ErrTLS, []string{"does not accept TLS", "sslmode"}, nil},
		{"no database", strings.Replace(db.URL, "/soundalike?", "/nosuchdb?", 1), nil, ErrConnect, []string{`database "nosuchdb" does not exist`}, nil},
		{"missing table", empty.URL, nil, ErrMissingTable, []string{`"Track"`, `"TrackFeatures"`, "--tracks-query"}, nil},
		{"bad tracks query", db.URL, &Options{TracksQuery: "SELEC id FROM \"Track\""}, ErrBadQuery, []string{"--tracks-query", "syntax error"}, nil},
		{"custom query missing table", db.URL, &Options{InteractionsQuery: `SELECT * FROM "Plays"`}, ErrBadQuery, []string{"--interactions-query", `"Plays" does not exist`}, nil},
		{"custom query missing columns", db.URL, &Options{TracksQuery: `SELECT id, name FROM "Track"`}, ErrBadQuery, []string{"--tracks-query", "danceability"}, nil},
		{"two statements", db.URL, &Options{TracksQuery: `SELECT 1; DROP TABLE "Track"`}, ErrBadQuery, []string{"--tracks-query"}, nil},
		{"bad action", db.URL, &Options{Actions: []string{"play", ""}}, nil, []string{"invalid action"}, nil},
		{"unparsable URL", "postgres://soundalike:" + db.Password + "@127.0.0.1:notaport/soundalike", nil, ErrURL, []string{"cannot be parsed"}, nil},
		// The password is scrubbed from the values in a message, not from
		// its words: a wrong password that is a common word left
		// "******** authentication failed".
		{"a common word as password", db.withPassword(t, "password"), nil, ErrAuth, []string{"postgres: password authentication failed", "check the password in the connection URL"}, nil},
		{"postgres as password", db.withPassword(t, "postgres"), nil, ErrAuth, []string{"postgres: password authentication failed"}, nil},
		// With sslmode=prefer, a refused TLS request is followed by an
		// attempt without TLS: that one's failure is the error, not the
		// refusal, which the URL does not require.
		{"TLS refused, then no answer without", setQuery(t, db.withHost(t, refusingTLS(t)), "sslmode", "prefer"), nil, ErrConnect,
			[]string{"cannot connect to", "failed to receive message"}, []string{"does not accept TLS"}},
		// A TLS file or sslmode pgx cannot use is named: the URL parsed,
		// and checking its syntax or password would not help.
		{"sslrootcert missing", trustNone, nil, ErrURL, []string{"sslrootcert", "/nonexistent/root.crt", "no such file"}, []string{"cannot be parsed", "password"}},
		{"sslmode misspelt", db.withQuery(t, "sslmode", "verify_full"), nil, ErrURL, []string{"sslmode is not one of", "verify-full"}, []string{"cannot be parsed", "password"}},
		{"sslcert without sslkey", setQuery(t, db.URL, "sslmode", "require", "sslcert", "/nonexistent/client.crt"), nil, ErrURL, []string{"sslcert and sslkey must be given together"}, nil},
	}
	if !serverTLS(t, db) {
		// The same refusal from the real server; with TLS on, TestTLS
		// checks that sslmode=require connects instead.
		tests = append(tests, test{"TLS refused by the server", db.withQuery(t, "sslmode", "require"), nil, ErrTLS, []string{"does not accept TLS", "sslmode"}, nil})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := Open(t.Context(), tt.url, tt.opts)
			if err == nil {
				src.Close()
				t.Fatalf("Open succeeded, want an error")
			}
			if tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Errorf("Open: %v, want errors.Is %v", err, tt.kind)
			}
			msg := err.Error()
			t.Logf("Open: %s", msg)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Open: %q, want it to contain %q", msg, w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(msg, w) {
					t.Errorf("Open: %q, want it not to contain %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("Open: %q, want one line", msg)
			}
			noSecret(t, "error", msg, db.Password)
		})
	}
	// The database is untouched by the two-statement query.
	importAll(t, openSource(t, db.URL, nil), newMemSink())
}

// TestTLS connects over TLS to the test server, whose certificate is
// self-signed: trusted through sslrootcert, it imports; not trusted, the
// error says so and what to check.
func TestTLS(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	cert := rootCert(t, db)
	other := selfSignedCert(t)
	// Without sslrootcert in the URL, only the system's roots are trusted.
	t.Setenv("PGSSLROOTCERT", "")
	all := len(fx.Interactions)
	localhost := setQuery(t, db.withHost(t, net.JoinHostPort("localhost", db.port(t))), "sslmode", "verify-full", "sslrootcert", cert)

	trusted := []struct {
		name string
		url  string
	}{
		{"verify-full", setQuery(t, db.URL, "sslmode", "verify-full", "sslrootcert", cert)},
		{"verify-full localhost", localhost},
		{"verify-ca", setQuery(t, db.URL, "sslmode", "verify-ca", "sslrootcert", cert)},
		{"require", setQuery(t, db.URL, "sslmode", "require")}, // encrypted, not verified
	}
	for _, tt := range trusted {
		t.Run(tt.name, func(t *testing.T) {
			sum := importAll(t, openSource(t, tt.url, nil), newMemSink())
			if sum.TracksAdded != len(fx.Tracks) || sum.InteractionsAdded != all || sum.Rejected != 0 {
				t.Errorf("import = %+v, want %d tracks, %d interactions, 0 rejected", sum, len(fx.Tracks), all)
			}
			conn, err := pgx.Connect(t.Context(), tt.url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			var ssl bool
			if err := conn.QueryRow(t.Context(), "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil {
				t.Fatal(err)
			}
			if !ssl {
				t.Errorf("pg_stat_ssl.ssl = false for %s, want a TLS connection", tt.name)
			}
		})
	}

	untrusted := []struct {
		name string
		url  string
	}{
		{"verify-full without sslrootcert", setQuery(t, db.URL, "sslmode", "verify-full")},
		{"verify-full with another certificate", setQuery(t, db.URL, "sslmode", "verify-full", "sslrootcert", other)},
		{"verify-ca with another certificate", setQuery(t, db.URL, "sslmode", "verify-ca", "sslrootcert", other)},
	}
	for _, tt := range untrusted {
		t.Run(tt.name, func(t *testing.T) {
			src, err := Open(t.Context(), tt.url, nil)
			if err == nil {
				src.Close()
				t.Fatalf("Open succeeded, want an error")
			}
			if !errors.Is(err, ErrTLS) {
				t.Errorf("Open: %v, want errors.Is %v", err, ErrTLS)
			}
			msg := err.Error()
			t.Logf("Open: %s", msg)
			for _, w := range []string{"the TLS certificate of soundalike@127.0.0.1:" + db.port(t), "is not trusted", "sslrootcert", "sslmode"} {
				if !strings.Contains(msg, w) {
					t.Errorf("Open: %q, want it to contain %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("Open: %q, want one line", msg)
			}
			noSecret(t, "error", msg, db.Password)
		})
	}
}

func TestCloseEarlyAndCancel(t *testing.T) {
	db := newTestDB(t)
	loadSample(t, db)
	for _, batch := range []int{0, 5} {
		src, err := Open(t.Context(), db.URL, &Options{BatchSize: batch})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := src.Next(t.Context()); err != nil {
				t.Fatalf("Next: %v", err)
			}
		}
		start := time.Now()
		if err := src.Close(); err != nil {
			t.Errorf("Close after 3 of many rows: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Close took %v, want it to stop the reader at once", d)
		}
		if err := src.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}

	src := openSource(t, db.URL, nil)
	ctx, cancel := context.WithCancel(t.Context())
	if _, err := src.Next(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	for {
		_, err := src.Next(ctx)
		if errors.Is(err, context.Canceled) {
			break
		}
		if err != nil {
			t.Fatalf("Next after cancel: %v, want context.Canceled", err)
		}
		// Rows already fetched may still come; the cancel must show soon.
	}
}

// TestMissingColumnSaysWhatIsRead: when one of the app's tables lacks a
// column a default query reads, the error names the column, the columns
// the query reads and the option that reads others, rather than the
// server's position in a query the user never saw.
func TestMissingColumnSaysWhatIsRead(t *testing.T) {
	tests := []struct {
		name  string
		alter []string
		opts  *Options
		want  []string
	}{
		{"no timestamp", []string{`ALTER TABLE "TrackInteraction" RENAME COLUMN "timestamp" TO "createdAt"`}, nil,
			[]string{"timestamp does not exist", `"TrackInteraction"(id, "userId", "trackId", type, "timestamp")`, "--interactions-query"}},
		{"no type", []string{`ALTER TABLE "TrackInteraction" RENAME COLUMN type TO action`}, nil,
			[]string{`i.type does not exist`, `"TrackInteraction"(id, "userId", "trackId", type, "timestamp")`, "--interactions-query"}},
		{"no type, chosen actions", []string{`ALTER TABLE "TrackInteraction" RENAME COLUMN type TO action`}, &Options{Actions: []string{"play"}},
			[]string{`"type" does not exist`, `"TrackInteraction"(id, "userId", "trackId", type, "timestamp")`, "--interactions-query"}},
		{"no tempo", []string{`ALTER TABLE "TrackFeatures" RENAME COLUMN tempo TO bpm`}, &Options{NoInteractions: true},
			[]string{"tempo does not exist", `"TrackFeatures"("trackId", acousticness,`, "--tracks-query"}},
		{"old table without action", []string{`DROP TABLE "TrackInteraction"`,
			`CREATE TABLE "UserInteraction" ("userId" text NOT NULL, "trackId" text NOT NULL, kind text)`}, nil,
			[]string{`u.action does not exist`, `"UserInteraction"("userId", "trackId", action)`, "--interactions-query"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newTestDB(t)
			loadSample(t, db)
			for _, sql := range tt.alter {
				db.exec(t, sql)
			}
			src, err := Open(t.Context(), db.URL, tt.opts)
			if err == nil {
				src.Close()
				t.Fatal("Open succeeded, want an error")
			}
			msg := err.Error()
			t.Logf("Open: %s", msg)
			if !errors.Is(err, ErrMissingTable) {
				t.Errorf("Open: %v, want errors.Is ErrMissingTable", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Open: %q, want it to contain %q", msg, w)
				}
			}
			if strings.Contains(msg, "at character") {
				t.Errorf("Open: %q, want no position in the default query", msg)
			}
		})
	}
}

// TestRowIDIsPrintable: a rejected row is named by its id as errors print
// it: control characters escaped (an id could otherwise recolour the
// terminal or break the one line an error takes) and a long id cut.
func TestRowIDIsPrintable(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	some := fx.anyTrack()
	long := strings.Repeat("0123456789", 30)
	for _, id := range []string{"ctl\x1b[31m\nid\u202e", long} {
		db.exec(t, `INSERT INTO "Track" (id, "spotifyId", name, artists, album) VALUES ($1, $1, 'x', '{a}', '')`, id)
		db.exec(t, `INSERT INTO "TrackFeatures" SELECT 'f' || $1, $1, 1.5, energy, loudness, speechiness, acousticness,
		  instrumentalness, liveness, valence, tempo, key, mode FROM "TrackFeatures" WHERE "trackId" = $2`, id, string(some))
	}
	sum := importAll(t, openSource(t, db.URL, nil), newMemSink())
	want := map[string]bool{`ctl\x1b[31m\x0aid\u202e`: false, long[:maxRowLabel] + "…(300 bytes)": false}
	for _, e := range sum.Errors {
		if _, ok := want[e.Row]; ok {
			want[e.Row] = true
		}
		for _, r := range e.Error() {
			if r < 0x20 || r == 0x7f || r == 0x202e {
				t.Errorf("error %q holds the unprintable %U", e.Error(), r)
				break
			}
		}
	}
	for row, found := range want {
		if !found {
			t.Errorf("no error for row %q in %+v", row, sum.Errors)
		}
	}
}

// TestBlankListElementsDropped: an empty (or all-space) element of an
// artists or genres array names nobody, and is dropped as file import
// drops it; the others are kept as stored.
func TestBlankListElementsDropped(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	some := fx.anyTrack()
	db.exec(t, `UPDATE "Track" SET artists = '{"", "  ", "  spaced  ", NULL, "b"}' WHERE id = $1`, string(some))
	tracks := `SELECT t.id, t.artists, '{"",rock}'::text[] AS genres, f.* FROM "Track" t JOIN "TrackFeatures" f ON f."trackId" = t.id`
	sink := newMemSink()
	if sum := importAll(t, openSource(t, db.URL, &Options{TracksQuery: tracks, NoInteractions: true}), sink); sum.Rejected != 0 {
		t.Fatalf("rejected %d rows: %v", sum.Rejected, sum.Errors)
	}
	got := sink.tracks[some]
	if !slices.Equal(got.Artists, []string{"  spaced  ", "b"}) || !slices.Equal(got.Genres, []string{"rock"}) {
		t.Errorf("artists %q, genres %q; want [\"  spaced  \" \"b\"] and [\"rock\"]", got.Artists, got.Genres)
	}
}

// Given a tracks query that returns a track a second time, with other
// values, a batch after the first (BatchSize 1), when one Run reads it,
// expect the repeat warned about and the track counted once: the Run's
// own repeat check spans every batch of the source, so import --postgres,
// one Run, needs no ingest.Repeats (that is for the Runs of several files).
func TestTracksQueryRepeatAcrossBatches(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	some := fx.anyTrack()
	cols := `t.id, f.acousticness, f.danceability, f.energy, f.instrumentalness, f.key, f.liveness, f.loudness, f.mode, f.speechiness, f.tempo`
	from := ` FROM "Track" t JOIN "TrackFeatures" f ON f."trackId" = t.id`
	tracks := `SELECT * FROM (SELECT ` + cols + `, f.valence, 0 AS ord` + from +
		` UNION ALL SELECT ` + cols + `, CASE WHEN f.valence < 0.5 THEN 0.9 ELSE 0.1 END, 1` + from + ` WHERE t.id = ` + quoteLiteral(string(some)) +
		`) u ORDER BY ord`
	sum := importAll(t, openSource(t, db.URL, &Options{TracksQuery: tracks, NoInteractions: true, BatchSize: 1}), newMemSink())
	if sum.TracksAdded != len(fx.Tracks) || sum.TracksUpdated != 0 || sum.RepeatedIDs != 1 || len(sum.Warnings) != 1 ||
		!strings.Contains(sum.Warnings[0].Error(), TracksSource+": 1 row repeats the track id of an earlier row with other values") {
		t.Errorf("import = %+v, want %d tracks added, 0 updated, RepeatedIDs 1 and its warning", sum, len(fx.Tracks))
	}
}

// Given a tracks query with a user and a timestamp column whose cells an
// interaction cannot hold (a user longer than soundalike.MaxKeyLen, a
// time out of range), when it is read with NoInteractions, expect every
// track and no row rejected: those columns are not read.
func TestNoInteractionsLeavesTracksQueryUserUnread(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	tracks := fmt.Sprintf(`SELECT t.id, f.*, repeat('u', %d) AS user_id, timestamp '2300-01-01' AS "timestamp" FROM "Track" t JOIN "TrackFeatures" f ON f."trackId" = t.id`,
		soundalike.MaxKeyLen+1)
	sink := newMemSink()
	sum := importAll(t, openSource(t, db.URL, &Options{TracksQuery: tracks, NoInteractions: true}), sink)
	if sum.Rejected != 0 || sum.TracksAdded != len(fx.Tracks) || len(sink.interactions) != 0 {
		t.Errorf("import = %+v, want %d tracks, no interaction, none rejected", sum, len(fx.Tracks))
	}
}

// TestNullActionIsAPlay: a NULL action is read as an empty one, a play, as
// in a file; the default query's filter on the server (with chosen
// actions) keeps those rows too, so that it imports what a custom query
// returning every row imports.
func TestNullActionIsAPlay(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	db.exec(t, `ALTER TABLE "TrackInteraction" ALTER COLUMN type DROP NOT NULL`)
	db.exec(t, `UPDATE "TrackInteraction" SET type = NULL WHERE type = 'play'`)
	similar := soundalike.DefaultSimilarityActions()
	want := fx.countAction(similar...)
	if fx.countAction(soundalike.ActionPlay) == 0 {
		t.Fatal("the sample has no plays")
	}
	custom := `SELECT id, "userId", "trackId", type AS action, "timestamp" FROM "TrackInteraction"`
	for _, query := range []string{"", custom} {
		sum := importAll(t, openSource(t, db.URL, &Options{InteractionsQuery: query, Actions: similar}), newMemSink())
		if sum.InteractionsAdded != want || sum.Rejected != 0 {
			t.Errorf("query %q: import = %+v, want %d interactions (NULL actions are plays)", query, sum, want)
		}
	}
	// Without plays among the actions, NULL rows stay on the server.
	src := openSource(t, db.URL, &Options{Actions: []string{"like"}})
	if sum := importAll(t, src, newMemSink()); sum.InteractionsAdded != fx.countAction(soundalike.ActionLike) {
		t.Errorf("likes only: import = %+v, want %d interactions", sum, fx.countAction(soundalike.ActionLike))
	}
}

// TestTimestampErrorQuotesStoredValue: a timestamp import refuses is quoted
// as the database holds it, not as the source rewrote it for parsing.
func TestTimestampErrorQuotesStoredValue(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	some := fx.anyTrack()
	db.exec(t, `INSERT INTO "TrackInteraction" VALUES ('bc', 'u', $1, 'play', '0044-03-15 10:00:00 BC')`, string(some))
	sum := importAll(t, openSource(t, db.URL, nil), newMemSink())
	for _, e := range sum.Errors {
		if e.Row == "bc" {
			if !strings.Contains(e.Reason, `"0044-03-15 10:00:00 BC"`) {
				t.Errorf("error = %q, want it to quote the stored 0044-03-15 10:00:00 BC", e.Reason)
			}
			return
		}
	}
	t.Errorf("no error for row bc in %+v", sum.Errors)
}

// TestNoPrivilegeFailsOpen: a table the role may not read fails Open, as a
// missing one does, rather than the first batch, once the caller has opened
// its own database. Preparing a query does not check privileges.
func TestNoPrivilegeFailsOpen(t *testing.T) {
	db := newTestDB(t)
	loadSample(t, db)
	db.exec(t, `REVOKE SELECT ON "TrackFeatures" FROM CURRENT_USER`)
	tracks := `SELECT f.*, f."trackId" AS id FROM "TrackFeatures" f`
	for _, opts := range []*Options{nil, {TracksQuery: tracks}} {
		src, err := Open(t.Context(), db.URL, opts)
		if err == nil {
			src.Close()
			t.Fatalf("Open with %+v succeeded, want an error", opts)
		}
		if !strings.Contains(err.Error(), "permission denied for table TrackFeatures") {
			t.Errorf("Open with %+v: %v, want it to say permission denied", opts, err)
		}
	}
	db.exec(t, `GRANT SELECT ON "TrackFeatures" TO CURRENT_USER`)
	importAll(t, openSource(t, db.URL, nil), newMemSink())
}

// TestRowIDFromURIColumn: a tracks query whose id is a Spotify URI names
// its rejected rows by that id, as the mapper reads it, not by ordinal.
func TestRowIDFromURIColumn(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	some := fx.anyTrack()
	db.exec(t, `UPDATE "TrackFeatures" SET danceability = 1.5 WHERE "trackId" = $1`, string(some))
	tracks := `SELECT 'spotify:track:' || t."spotifyId" AS uri, f.danceability, f.energy, f.key, f.loudness, f.mode,
	  f.speechiness, f.acousticness, f.instrumentalness, f.liveness, f.valence, f.tempo
	  FROM "Track" t JOIN "TrackFeatures" f ON f."trackId" = t.id`
	sum := importAll(t, openSource(t, db.URL, &Options{TracksQuery: tracks, NoInteractions: true}), newMemSink())
	want := "spotify:track:" + fx.Tracks[some].SpotifyID
	if sum.Rejected != 1 || len(sum.Errors) != 1 || sum.Errors[0].Row != want {
		t.Errorf("errors = %+v, want one for row %s", sum.Errors, want)
	}
}

// TestActionsMatchingNoStoredAction: actions given in Options that match
// none of the interactions table's stored actions (a misspelling) fail
// Open naming the stored ones, instead of importing no interaction
// without a word. Without Options.Actions, every stored action is
// imported, whatever it is, with no word about actions.
func TestActionsMatchingNoStoredAction(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	src, err := Open(t.Context(), db.URL, &Options{Actions: []string{"plays"}})
	if err == nil {
		src.Close() // it holds a transaction the update below would wait for
	}
	if err == nil || !strings.Contains(err.Error(), `"plays"`) || !strings.Contains(err.Error(), `"play"`) {
		t.Fatalf("Open(--actions plays) = %v, want an error naming the chosen and the stored actions", err)
	}

	db.exec(t, `UPDATE "TrackInteraction" SET type = 'skip'`)
	db.exec(t, `UPDATE "TrackInteraction" SET type = 'pause' WHERE id IN (SELECT id FROM "TrackInteraction" LIMIT 1)`)
	var logs bytes.Buffer
	src = openSource(t, db.URL, &Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	sum := importAll(t, src, newMemSink())
	if sum.InteractionsAdded != len(fx.Interactions) || sum.TracksAdded != len(fx.Tracks) {
		t.Errorf("every action over a table of skips and pauses imported %+v, want the %d tracks and %d interactions", sum, len(fx.Tracks), len(fx.Interactions))
	}
	if msg := logs.String(); strings.Contains(msg, "action") {
		t.Errorf("log = %q, want no word about actions", msg)
	}
}

// TestOpenDeclaresTheCursors: Open declares each query's cursor, which
// checks the role may read its tables (TestNoPrivilegeFailsOpen), and
// leaves it for the reads to fetch from: one round trip a query.
func TestOpenDeclaresTheCursors(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	src := openSource(t, db.URL, nil)
	var names []string
	if err := src.conn.QueryRow(t.Context(), `SELECT array_agg(name::text ORDER BY name) FROM pg_cursors WHERE name <> ''`).Scan(&names); err != nil {
		t.Fatal(err)
	}
	if want := []string{"soundalike_interactions", "soundalike_tracks"}; !slices.Equal(names, want) {
		t.Errorf("cursors after Open = %q, want %q", names, want)
	}
	sum := importAll(t, src, newMemSink())
	if want := len(fx.Interactions); sum.TracksAdded != len(fx.Tracks) || sum.InteractionsAdded != want {
		t.Errorf("import = %+v, want %d tracks and %d interactions", sum, len(fx.Tracks), want)
	}
}

// TestStallTimeout: a server that sends nothing for StallTimeout, while
// Open or Next waits for it, fails with ErrStalled naming what was being
// read, the server, the timeout and the flag that raises it; and the
// server is asked to cancel the query, which stops holding its locks. A
// slow server that keeps sending is not cut off, however long the import,
// nor is one left waiting while the caller is busy.
func TestStallTimeout(t *testing.T) {
	const stall = 300 * time.Millisecond
	wantErr := func(t *testing.T, err error, what string) {
		t.Helper()
		if !errors.Is(err, ErrStalled) {
			t.Fatalf("error = %v, want ErrStalled", err)
		}
		msg := err.Error()
		t.Logf("error: %s", msg)
		for _, w := range []string{what, "soundalike@127.0.0.1:", "300ms", "--stall-timeout"} {
			if !strings.Contains(msg, w) {
				t.Errorf("error = %q, want it to contain %q", msg, w)
			}
		}
	}

	t.Run("open", func(t *testing.T) {
		db := newTestDB(t)
		loadSample(t, db)
		// Another session's lock keeps Open's reading of the stored
		// actions (with chosen ones), or of the query's columns, waiting.
		lock, err := pgx.Connect(t.Context(), db.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Close(context.Background())
		if _, err := lock.Exec(t.Context(), `BEGIN; LOCK TABLE "TrackInteraction" IN ACCESS EXCLUSIVE MODE`); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			actions []string
			what    string
		}{{[]string{"play"}, "reading the interaction actions from"}, {nil, "reading interactions from"}} {
			src, err := Open(t.Context(), db.URL, &Options{StallTimeout: stall, Actions: tt.actions})
			if err == nil {
				src.Close()
			}
			wantErr(t, err, tt.what)
			waitNoImport(t, db, "Lock")
		}
	})

	t.Run("rows", func(t *testing.T) {
		db := newTestDB(t)
		loadSample(t, db)
		// Three rows, then a minute of silence in the second FETCH.
		tracks := `(SELECT f.* FROM "TrackFeatures" f LIMIT 3) UNION ALL (SELECT f.* FROM "TrackFeatures" f, pg_sleep(60) LIMIT 1)`
		src := openSource(t, db.URL, &Options{TracksQuery: tracks, NoInteractions: true, BatchSize: 2, StallTimeout: stall})
		rows := 0
		var err error
		for {
			if _, err = src.Next(t.Context()); err != nil {
				break
			}
			rows++
		}
		if rows < 2 || rows > 3 {
			t.Errorf("read %d rows before the error, want the first batch's 2 (and the third, if the server sent it)", rows)
		}
		wantErr(t, err, "reading tracks from")
		waitNoImport(t, db, "PgSleep")
	})

	t.Run("slow but steady", func(t *testing.T) {
		db := newTestDB(t)
		loadSample(t, db)
		// A row every 50 ms, 12 of them: longer in all than the timeout.
		const slow = 3 * stall
		tracks := `SELECT f.*, pg_sleep(0.05) FROM "TrackFeatures" f LIMIT 12`
		src := openSource(t, db.URL, &Options{TracksQuery: tracks, NoInteractions: true, BatchSize: 1, StallTimeout: slow})
		start := time.Now()
		if _, err := src.Next(t.Context()); err != nil {
			t.Fatal(err)
		}
		// The caller away for longer than the timeout: the reader waits
		// for it, not for the server.
		time.Sleep(2 * slow)
		sum := importAll(t, src, newMemSink())
		if sum.TracksAdded != 11 {
			t.Errorf("import = %+v, want the 11 rows after the first", sum)
		}
		if d := time.Since(start); d < slow {
			t.Errorf("the import took %v, want longer than the %v timeout for the test to mean anything", d, slow)
		}
	})
}

// waitNoImport waits until no session of import waits on the server for
// waitEvent (pg_stat_activity's wait_event_type or wait_event, e.g. Lock
// or PgSleep), once it
// stopped waiting for a server that went silent, and fails the test if one
// still does after a few seconds (then ending it, so that the test's schema
// can be dropped).
func waitNoImport(t *testing.T, db *testDB, waitEvent string) {
	t.Helper()
	const q = `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'soundalike import' AND $1 IN (wait_event_type, wait_event)`
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		if err := db.Conn.QueryRow(t.Context(), q, waitEvent).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d import sessions still wait on %s: the query was not cancelled", n, waitEvent)
			db.exec(t, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'soundalike import' AND $1 IN (wait_event_type, wait_event)`, waitEvent)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestActionsFilteredHereAreReported: rows whose action is not chosen,
// when the filter runs here (a custom query; a table of more distinct
// actions than the server-side filter lists), are counted in a notice;
// when they are every interaction row, that is an error, as when the
// server filters (TestActionsMatchingNoStoredAction).
func TestActionsFilteredHereAreReported(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	custom := `SELECT id, "userId", "trackId", type AS action, "timestamp" FROM "TrackInteraction"`
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	src := openSource(t, db.URL, &Options{InteractionsQuery: custom, Actions: []string{"like"}, Logger: logger})
	sum := importAll(t, src, newMemSink())
	if want := fx.countAction(soundalike.ActionLike); sum.InteractionsAdded != want || want == 0 {
		t.Fatalf("--actions like imported %d interactions, want %d (> 0)", sum.InteractionsAdded, want)
	}
	want := fmt.Sprintf("skipped %d of %d interaction rows", len(fx.Interactions)-sum.InteractionsAdded, len(fx.Interactions))
	if msg := logs.String(); !strings.Contains(msg, "level=INFO") || !strings.Contains(msg, want) || !strings.Contains(msg, `\"play\"`) {
		t.Errorf("log = %q, want an INFO line saying %q and naming the skipped \"play\"", msg, want)
	}

	// A row the importer rejects is not one with a chosen action either.
	db.exec(t, `INSERT INTO "TrackInteraction" (id, "userId", "trackId", type)
		SELECT 'no-user', '', "trackId", 'plays' FROM "TrackInteraction" LIMIT 1`)
	src = openSource(t, db.URL, &Options{InteractionsQuery: custom, Actions: []string{"plays"}})
	_, err := ingest.Run(t.Context(), src, newMemSink(), nil)
	if err == nil || !strings.Contains(err.Error(), `"plays"`) || !strings.Contains(err.Error(), `"play"`) || !strings.Contains(err.Error(), "--interactions-query") {
		t.Errorf("import with --actions plays over a custom query = %v, want an error naming the chosen and the read actions and the query", err)
	}

	// More distinct actions than the server-side filter lists: the
	// default query reads every row, and none is a chosen action.
	db.exec(t, `UPDATE "TrackInteraction" SET type = 'kind' || (random() * 3000)::int`)
	db.exec(t, `INSERT INTO "TrackInteraction" (id, "userId", "trackId", type)
		SELECT 'extra' || g, "userId", "trackId", 'extra' || g FROM (SELECT * FROM "TrackInteraction" LIMIT 1) r, generate_series(1, 1001) g`)
	src = openSource(t, db.URL, &Options{Actions: []string{"like"}})
	_, err = ingest.Run(t.Context(), src, newMemSink(), nil)
	if err == nil || !strings.Contains(err.Error(), `"like"`) || !strings.Contains(err.Error(), `"kind`) || !strings.Contains(err.Error(), `"TrackInteraction"`) {
		t.Errorf("import with --actions like over %d+ distinct others = %v, want an error naming the chosen and the read actions and the table", maxActionValues, err)
	}
	if src.Skipped() != int64(len(fx.Interactions)+1001) {
		t.Errorf("Skipped() = %d, want every row but the rejected one: %d", src.Skipped(), len(fx.Interactions)+1001)
	}
}
