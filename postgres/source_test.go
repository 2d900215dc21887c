package postgres

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
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
	similar := fx.countAction(soundalike.DefaultSimilarityActions()...)
	for _, batch := range []int{0, 7} {
		t.Run("batch="+strconv.Itoa(batch), func(t *testing.T) {
			src := openSource(t, db.URL, &Options{BatchSize: batch})
			sink := newMemSink()
			sum := importAll(t, src, sink)
			if sum.TracksAdded != len(fx.Tracks) || sum.InteractionsAdded != similar || sum.Rejected != 0 {
				t.Errorf("import = %+v, want %d tracks, %d interactions, 0 rejected", sum, len(fx.Tracks), similar)
			}
			if got, want := sink.users(), fx.Playlists+1; got != want { // the playlists and listener-1 (play, like); listener-2 only skips
				t.Errorf("users = %d, want %d", got, want)
			}
			if got, want := src.Rows(), int64(len(fx.Tracks)+similar); got != want {
				t.Errorf("Rows() = %d, want %d (the default query filters skips on the server)", got, want)
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
		{"default", nil, soundalike.DefaultSimilarityActions()},
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
				if query != "" {
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
	if want := fx.countAction(soundalike.DefaultSimilarityActions()...); sum.InteractionsAdded != want || sum.Rejected != 0 {
		t.Errorf("import = %+v, want %d interactions, 0 rejected", sum, want)
	}
	for _, in := range sink.interactions {
		if in.Action == soundalike.ActionSkip || !in.Time.IsZero() {
			t.Fatalf("imported %+v, want no skips and no time (the old table has none)", in)
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
	if diff := cmp.Diff(ingest.Summary{}, second, cmpopts.EquateEmpty()); diff != "" {
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
		if _, ok := bySpotify[in.Track]; ok && contains(soundalike.DefaultSimilarityActions(), in.Action) {
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
	var some soundalike.TrackID
	for id := range fx.Tracks {
		some = id
		break
	}
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
	}
	tests := []test{
		{"bad password", db.withPassword(t, "not-"+db.Password), nil, ErrAuth, []string{"password authentication failed", "soundalike@127.0.0.1"}},
		{"refused", refused, nil, ErrConnect, []string{"connection refused", strconv.Itoa(closedPort)}},
		{"TLS refused", setQuery(t, db.withHost(t, refusingTLS(t)), "sslmode", "require"), nil, ErrTLS, []string{"does not accept TLS", "sslmode"}},
		{"no database", strings.Replace(db.URL, "/soundalike?", "/nosuchdb?", 1), nil, ErrConnect, []string{`database "nosuchdb" does not exist`}},
		{"missing table", empty.URL, nil, ErrMissingTable, []string{`"Track"`, `"TrackFeatures"`, "--tracks-query"}},
		{"bad tracks query", db.URL, &Options{TracksQuery: "SELEC id FROM \"Track\""}, ErrBadQuery, []string{"--tracks-query", "syntax error"}},
		{"custom query missing table", db.URL, &Options{InteractionsQuery: `SELECT * FROM "Plays"`}, ErrBadQuery, []string{"--interactions-query", `"Plays" does not exist`}},
		{"custom query missing columns", db.URL, &Options{TracksQuery: `SELECT id, name FROM "Track"`}, ErrBadQuery, []string{"--tracks-query", "danceability"}},
		{"two statements", db.URL, &Options{TracksQuery: `SELECT 1; DROP TABLE "Track"`}, ErrBadQuery, []string{"--tracks-query"}},
		{"bad action", db.URL, &Options{Actions: []string{"play", ""}}, nil, []string{"invalid action"}},
		{"unparsable URL", "postgres://soundalike:" + db.Password + "@127.0.0.1:notaport/soundalike", nil, ErrURL, []string{"cannot be parsed"}},
	}
	if !serverTLS(t, db) {
		// The same refusal from the real server; with TLS on, TestTLS
		// checks that sslmode=require connects instead.
		tests = append(tests, test{"TLS refused by the server", db.withQuery(t, "sslmode", "require"), nil, ErrTLS, []string{"does not accept TLS", "sslmode"}})
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
	similar := fx.countAction(soundalike.DefaultSimilarityActions()...)
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
			if sum.TracksAdded != len(fx.Tracks) || sum.InteractionsAdded != similar || sum.Rejected != 0 {
				t.Errorf("import = %+v, want %d tracks, %d interactions, 0 rejected", sum, len(fx.Tracks), similar)
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
