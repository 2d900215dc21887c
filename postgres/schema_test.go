package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// newTestDatabase creates a database of its own on the test server and
// drops it when the test ends, and returns its URL (without a search
// path; with a query, so that more parameters follow an &) and a
// connection to it. Unlike a schema of newTestDB, nothing
// else is in it: no other test's tables.
func newTestDatabase(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	base := serverURL(t)
	ctx := context.Background()
	name := fmt.Sprintf("d_%d_%d", time.Now().UnixNano(), os.Getpid())
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	if u.RawQuery == "" {
		u.RawQuery = "sslmode=prefer"
	}
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatalf("connect to the new database: %v", err)
	}
	t.Cleanup(func() {
		conn.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database: %v", err)
		}
		admin.Close(ctx)
	})
	return u.String(), conn
}

// TestTablesInAnotherSchema: when the app's tables are not on the search
// path, the error says where it looked, which schema holds them and how
// to name it in the URL; the URL so changed imports. It said only that
// the tables did not exist.
func TestTablesInAnotherSchema(t *testing.T) {
	base, conn := newTestDatabase(t)
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(t.Context(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// The advice in an error, followed to the letter: the URL with the
	// search_path it gives, then with the options form it gives.
	advice := regexp.MustCompile(`postgres://…/db\?(search_path=[^ ,]+), or (options=[^ ,]+),`)
	follow := func(err error) []string {
		t.Helper()
		m := advice.FindStringSubmatch(err.Error())
		if m == nil {
			t.Fatalf("Open: %v, want a URL with search_path= and options=", err)
		}
		return m[1:]
	}

	// No such tables anywhere: where it looked, and how to look elsewhere.
	_, err := Open(t.Context(), base, nil)
	if !errors.Is(err, ErrMissingTable) {
		t.Fatalf("Open on an empty database: %v, want ErrMissingTable", err)
	}
	for _, want := range []string{`no tables "Track" and "TrackFeatures" (which the default tracks query reads) in the search path ("$user", public)`,
		"if the app's tables are in another schema, add search_path=SCHEMA to the URL", "options=-csearch_path%3DSCHEMA", "--tracks-query"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open on an empty database: %q, want it to contain %q", err, want)
		}
	}

	// The tables in schema app (as Prisma's ?schema=app makes them), and
	// in App, which search_path must quote.
	for _, schema := range []string{"app", "App"} {
		t.Run(schema, func(t *testing.T) {
			ident := pgx.Identifier{schema}.Sanitize()
			exec("CREATE SCHEMA " + ident)
			exec("SET search_path = " + ident)
			exec(appSchema)
			exec("RESET search_path")
			defer exec("DROP SCHEMA " + ident + " CASCADE")

			_, err := Open(t.Context(), base, nil)
			if !errors.Is(err, ErrMissingTable) {
				t.Fatalf("Open: %v, want ErrMissingTable", err)
			}
			t.Logf("Open: %v", err)
			for _, want := range []string{`no tables "Track" and "TrackFeatures" (which the default tracks query reads) in the search path ("$user", public); they are in schema ` + fmt.Sprintf("%q", schema),
				"--tracks-query"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Open: %q, want it to contain %q", err, want)
				}
			}
			for _, param := range follow(err) {
				src, err := Open(t.Context(), base+"&"+param, nil)
				if err != nil {
					t.Fatalf("Open with %s, as the error advised: %v", param, err)
				}
				src.Close()
			}
		})
	}

	// The tracks on the search path, the interactions elsewhere.
	exec(appSchema)
	exec(`CREATE SCHEMA events`)
	exec(`ALTER TABLE "TrackInteraction" SET SCHEMA events`)
	_, err = Open(t.Context(), base, nil)
	if !errors.Is(err, ErrMissingTable) {
		t.Fatalf("Open with the interactions in schema events: %v, want ErrMissingTable", err)
	}
	for _, want := range []string{`neither "TrackInteraction" nor "UserInteraction" (which the default interactions query reads) exists in the search path ("$user", public); one is in schema "events": add search_path=events`,
		"--interactions-query", "--no-interactions"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open: %q, want it to contain %q", err, want)
		}
	}
	src, err := Open(t.Context(), base+"&search_path=public,events", nil)
	if err != nil {
		t.Fatalf("Open with both schemas on the search path: %v", err)
	}
	src.Close()
}

// TestUnreadMetadataNotice: the default tracks query reads no genre,
// release date or duration, since the app's "Track" has none; Open says
// so, and how to import them, which a custom tracks query does. Genre and
// year filters matched none of the tracks, and nothing said why.
func TestUnreadMetadataNotice(t *testing.T) {
	db := newTestDB(t)
	fx := loadSample(t, db)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	sink := newMemSink()
	src := openSource(t, db.URL, &Options{Logger: logger, NoInteractions: true})
	importAll(t, src, sink)
	src.Close() // its snapshot would hold up ALTER TABLE below
	msg := logs.String()
	for _, want := range []string{"level=INFO", "soundalike@", "the default tracks query reads no genre, release date or duration",
		"genre and year filters match none", "--tracks-query", "genre", "release_date", "duration_ms"} {
		if !strings.Contains(msg, want) {
			t.Errorf("log = %q, want it to contain %q", msg, want)
		}
	}
	for _, tr := range sink.tracks {
		if len(tr.Genres) > 0 || tr.ReleaseDate != "" || tr.DurationMS != 0 {
			t.Fatalf("default query imported %+v, want no genre, release date or duration", tr)
		}
	}

	// What the notice advises: a tracks query returning them.
	some := fx.anyTrack()
	db.exec(t, `ALTER TABLE "Track" ADD COLUMN genre text, ADD COLUMN "releaseDate" date, ADD COLUMN "durationMs" integer`)
	db.exec(t, `UPDATE "Track" SET genre = 'pop', "releaseDate" = '2019-07-12', "durationMs" = 219600 WHERE id = $1`, string(some))
	tracks := `SELECT t.id, t."spotifyId", t.name, t.artists, t.album, t.popularity,
	  t.genre, t."releaseDate" AS release_date, t."durationMs" AS duration_ms, f.*
	  FROM "Track" t JOIN "TrackFeatures" f ON f."trackId" = t.id`
	logs.Reset()
	sink = newMemSink()
	if sum := importAll(t, openSource(t, db.URL, &Options{Logger: logger, NoInteractions: true, TracksQuery: tracks}), sink); sum.Rejected != 0 {
		t.Fatalf("rejected %d rows: %v", sum.Rejected, sum.Errors)
	}
	if strings.Contains(logs.String(), "genre") {
		t.Errorf("log with a tracks query = %q, want no notice about what the default query reads", logs.String())
	}
	got := sink.tracks[some]
	if len(got.Genres) != 1 || got.Genres[0] != "pop" || got.ReleaseDate != "2019-07-12" || got.ReleaseYear() != 2019 || got.DurationMS != 219600 {
		t.Errorf("track %s = genres %q, release %q, duration %d; want [pop], 2019-07-12, 219600", some, got.Genres, got.ReleaseDate, got.DurationMS)
	}
}
