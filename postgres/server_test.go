package postgres

// Helpers for the tests that need a real PostgreSQL server: the server comes
// from $SOUNDALIKE_TEST_POSTGRES (set by .ci/run and scripts/pg-test-server),
// each test gets its own schema holding the app's tables, loaded with the
// shared sample in ../testdata/.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/csv"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/ingest"
)

const (
	envServer   = "SOUNDALIKE_TEST_POSTGRES"
	envRequired = "SOUNDALIKE_TEST_POSTGRES_REQUIRED"
	// envRootCert names the test server's self-signed TLS certificate
	// (scripts/pg-test-server makes DIR/data/server.crt; .ci/run sets it).
	envRootCert = "SOUNDALIKE_TEST_POSTGRES_ROOTCERT"
)

// mustRun reports whether the postgres tests must run here rather than skip:
// with $SOUNDALIKE_TEST_POSTGRES_REQUIRED or CI=true.
func mustRun() bool {
	return os.Getenv(envRequired) != "" || os.Getenv("CI") == "true"
}

func TestMain(m *testing.M) {
	if os.Getenv(envServer) == "" && mustRun() {
		fmt.Fprintf(os.Stderr, "postgres tests: $%s is not set, and they must run here ($%s or CI=true): start a server with scripts/pg-test-server, or run .ci/run\n", envServer, envRequired)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// serverURL returns the test server's URL, or skips the test saying why.
func serverURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(envServer)
	if u == "" {
		t.Skipf("no PostgreSQL server: set $%s (scripts/pg-test-server start prints one; .ci/run sets it)", envServer)
	}
	return u
}

// serverTLS reports whether the test server accepts TLS (SHOW ssl).
func serverTLS(t testing.TB, db *testDB) bool {
	t.Helper()
	var ssl string
	if err := db.Conn.QueryRow(context.Background(), "SHOW ssl").Scan(&ssl); err != nil {
		t.Fatalf("SHOW ssl: %v", err)
	}
	return ssl == "on"
}

// rootCert returns the file of the test server's TLS certificate, to use as
// sslrootcert. Without TLS on the server or without $SOUNDALIKE_TEST_POSTGRES_ROOTCERT
// it skips the test saying why, or fails it where the tests must run.
func rootCert(t testing.TB, db *testDB) string {
	t.Helper()
	why := ""
	file := os.Getenv(envRootCert)
	switch {
	case !serverTLS(t, db):
		why = "the test server does not accept TLS (SHOW ssl is off; scripts/pg-test-server turns it on)"
	case file == "":
		why = fmt.Sprintf("$%s is not set: set it to the server's certificate (DIR/data/server.crt from scripts/pg-test-server; .ci/run sets it)", envRootCert)
	}
	if why != "" {
		if mustRun() {
			t.Fatalf("%s, and the TLS tests must run here ($%s or CI=true)", why, envRequired)
		}
		t.Skip(why)
	}
	return file
}

// refusingTLS returns the address of a server that answers every TLS
// request with 'N', as PostgreSQL does with ssl off, and then hangs up.
func refusingTLS(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				// SSLRequest: length 8, code 80877103.
				var req [8]byte
				if _, err := io.ReadFull(c, req[:]); err != nil || binary.BigEndian.Uint32(req[4:]) != 80877103 {
					return
				}
				c.Write([]byte{'N'})
			}()
		}
	}()
	return l.Addr().String()
}

// selfSignedCert writes a self-signed certificate for the test server's
// names (localhost, 127.0.0.1, ::1) that is not the server's, and returns
// its file.
func selfSignedCert(t testing.TB) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "other.crt")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// testDB is one test's own schema on the test server.
type testDB struct {
	URL      string // connects with the schema first on the search path
	Password string
	Conn     *pgx.Conn
	Schema   string
}

// newTestDB creates an empty schema for the test and drops it afterwards.
func newTestDB(t testing.TB) *testDB {
	t.Helper()
	base := serverURL(t)
	ctx := context.Background()
	schema := fmt.Sprintf("t_%d_%d", time.Now().UnixNano(), os.Getpid())
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse $%s: %v", envServer, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	pw, _ := u.User.Password()
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatalf("connect with search_path: %v", err)
	}
	t.Cleanup(func() {
		conn.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
		admin.Close(ctx)
	})
	return &testDB{URL: u.String(), Password: pw, Conn: conn, Schema: schema}
}

// appSchema is the app's schema, as its ORM creates it.
const appSchema = `
CREATE TABLE "Track" (
  id text PRIMARY KEY,
  "spotifyId" text UNIQUE NOT NULL,
  name text NOT NULL,
  artists text[] NOT NULL,
  album text NOT NULL,
  popularity integer NOT NULL DEFAULT 0,
  "createdAt" timestamp(3),
  "updatedAt" timestamp(3)
);
CREATE TABLE "TrackFeatures" (
  id text PRIMARY KEY,
  "trackId" text UNIQUE NOT NULL REFERENCES "Track"(id),
  danceability double precision NOT NULL,
  energy double precision NOT NULL,
  loudness double precision NOT NULL,
  speechiness double precision NOT NULL,
  acousticness double precision NOT NULL,
  instrumentalness double precision NOT NULL,
  liveness double precision NOT NULL,
  valence double precision NOT NULL,
  tempo double precision NOT NULL,
  key integer NOT NULL,
  mode integer NOT NULL,
  "updatedAt" timestamp(3)
);
CREATE TABLE "TrackInteraction" (
  id text PRIMARY KEY,
  "userId" text NOT NULL,
  "trackId" text NOT NULL REFERENCES "Track"(id),
  type text NOT NULL,
  timestamp timestamp(3) NOT NULL DEFAULT now()
);`

// uuidFor returns a stable UUID-shaped id for s.
func uuidFor(s string) string {
	h := sha1.Sum([]byte(s))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// fixture is what was loaded, as import should return it.
type fixture struct {
	Tracks       map[soundalike.TrackID]soundalike.Track
	Interactions []soundalike.Interaction // every row of "TrackInteraction"
	Playlists    int                      // distinct playlists in the sample
}

// countAction returns how many interactions have one of actions.
func (f *fixture) countAction(actions ...string) int {
	n := 0
	for _, in := range f.Interactions {
		for _, a := range actions {
			if in.Action == a {
				n++
			}
		}
	}
	return n
}

// extraTracks are tracks whose metadata the sample lacks: several artists
// with commas, quotes, backslashes, a literal "NULL", none at all.
var extraTracks = []soundalike.Track{
	{Name: `Earfquake`, Artists: []string{"Tyler, The Creator", `A "quoted" name`, `back\slash`, "NULL", "  spaced  "}, Album: "IGOR", Popularity: 81},
	{Name: "Silence", Artists: []string{}, Album: "", Popularity: 0},
	{Name: "Ünïcødé 曲 ; {braces}", Artists: []string{"{Curly}", "Comma,Inside"}, Album: "Al'bum", Popularity: 100},
}

// samplePath is the shared sample of whole playlists from the dev file.
const samplePath = "../testdata/spotify_sample.csv"

// loadSample creates the app's schema in db and loads samplePath:
// one "Track" (with a generated UUID id) and "TrackFeatures" row per track,
// one addToPlaylist "TrackInteraction" per CSV row (user = playlist), and
// extra play, like and skip interactions for the action filter.
// anyTrack returns the id of one of the fixture's tracks.
func (fx *fixture) anyTrack() soundalike.TrackID {
	for id := range fx.Tracks {
		return id
	}
	return ""
}

func loadSample(t testing.TB, db *testDB) *fixture {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Conn.Exec(ctx, appSchema); err != nil {
		t.Fatalf("create the app's schema: %v", err)
	}
	f, err := os.Open(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", samplePath, err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	fx := &fixture{Tracks: map[soundalike.TrackID]soundalike.Track{}}
	var trackRows, featureRows, interactionRows [][]any
	addTrack := func(tr soundalike.Track) {
		trackRows = append(trackRows, []any{string(tr.ID), tr.SpotifyID, tr.Name, tr.Artists, tr.Album, tr.Popularity})
		ft := tr.Features
		featureRows = append(featureRows, []any{uuidFor("features " + string(tr.ID)), string(tr.ID),
			ft.Danceability, ft.Energy, ft.Loudness, ft.Speechiness, ft.Acousticness,
			ft.Instrumentalness, ft.Liveness, ft.Valence, ft.Tempo, ft.Key, ft.Mode})
		fx.Tracks[tr.ID] = tr
	}
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	addInteraction := func(user string, id soundalike.TrackID, action string) {
		n := len(fx.Interactions)
		in := soundalike.Interaction{User: user, Track: id, Action: action, Time: base.Add(time.Duration(n)*time.Minute + time.Duration(n%1000)*time.Millisecond)}
		fx.Interactions = append(fx.Interactions, in)
		interactionRows = append(interactionRows, []any{uuidFor(fmt.Sprint("interaction ", n)), in.User, string(in.Track), in.Action, in.Time})
	}
	var ids []soundalike.TrackID
	playlists := map[string]bool{}
	for _, r := range rows[1:] {
		sid := r[col["track_id"]]
		id := soundalike.TrackID(uuidFor(sid))
		if _, seen := fx.Tracks[id]; !seen {
			tr := soundalike.Track{ID: id, SpotifyID: sid, Name: r[col["track_name"]],
				Artists: []string{r[col["track_artist"]]}, Album: r[col["track_album_name"]]}
			if tr.Popularity, err = strconv.Atoi(r[col["track_popularity"]]); err != nil {
				t.Fatal(err)
			}
			for i, name := range soundalike.FeatureNames() {
				v, err := strconv.ParseFloat(r[col[name]], 64)
				if err != nil {
					t.Fatalf("%s: %s: %v", samplePath, name, err)
				}
				tr.Features.Set(i, v)
			}
			addTrack(tr)
			ids = append(ids, id)
		}
		addInteraction(r[col["playlist_id"]], id, soundalike.ActionAddToPlaylist)
		playlists[r[col["playlist_id"]]] = true
	}
	fx.Playlists = len(playlists)
	for i, tr := range extraTracks {
		tr.SpotifyID = fmt.Sprintf("extra%017d", i)
		tr.ID = soundalike.TrackID(uuidFor(tr.SpotifyID))
		tr.Features = fx.Tracks[ids[i]].Features
		tr.Features.Key = -1
		addTrack(tr)
		ids = append(ids, tr.ID)
	}
	for i, id := range ids {
		switch i % 5 {
		case 0:
			addInteraction("listener-1", id, soundalike.ActionPlay)
		case 1:
			addInteraction("listener-2", id, soundalike.ActionSkip)
		case 2:
			addInteraction("listener-1", id, soundalike.ActionLike)
		}
	}
	copyRows(t, db, "Track", []string{"id", "spotifyId", "name", "artists", "album", "popularity"}, trackRows)
	copyRows(t, db, "TrackFeatures", []string{"id", "trackId", "danceability", "energy", "loudness", "speechiness",
		"acousticness", "instrumentalness", "liveness", "valence", "tempo", "key", "mode"}, featureRows)
	copyRows(t, db, "TrackInteraction", []string{"id", "userId", "trackId", "type", "timestamp"}, interactionRows)
	return fx
}

func copyRows(t testing.TB, db *testDB, table string, cols []string, rows [][]any) {
	t.Helper()
	n, err := db.Conn.CopyFrom(context.Background(), pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
	if err != nil || int(n) != len(rows) {
		t.Fatalf("copy %d rows into %q: %d, %v", len(rows), table, n, err)
	}
}

func (db *testDB) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := db.Conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// withPassword returns db.URL with another password.
func (db *testDB) withPassword(t testing.TB, pw string) string {
	u, err := url.Parse(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), pw)
	return u.String()
}

// withHost returns db.URL with another host:port.
func (db *testDB) withHost(t testing.TB, host string) string {
	u, err := url.Parse(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = host
	return u.String()
}

// port returns the port in db.URL.
func (db *testDB) port(t testing.TB) string {
	t.Helper()
	u, err := url.Parse(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

// withQuery returns db.URL with one query parameter set.
func (db *testDB) withQuery(t testing.TB, key, value string) string {
	return setQuery(t, db.URL, key, value)
}

// setQuery returns rawURL with query parameters set from key, value pairs.
func setQuery(t testing.TB, rawURL string, kv ...string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

type interactionKey struct {
	user   string
	track  soundalike.TrackID
	action string
	time   int64
}

// memSink is an in-memory ingest.Sink with storage's upsert semantics.
type memSink struct {
	tracks       map[soundalike.TrackID]soundalike.Track
	interactions map[interactionKey]soundalike.Interaction
}

var _ ingest.Sink = (*memSink)(nil)

func newMemSink() *memSink {
	return &memSink{tracks: map[soundalike.TrackID]soundalike.Track{}, interactions: map[interactionKey]soundalike.Interaction{}}
}

func (s *memSink) PutTrack(t *soundalike.Track) (added, changed bool, err error) {
	old, ok := s.tracks[t.ID]
	c := *t // Run reuses t's slices once PutTrack returns
	c.Artists, c.Genres, c.Subgenres = slices.Clone(t.Artists), slices.Clone(t.Genres), slices.Clone(t.Subgenres)
	s.tracks[t.ID] = c
	if !ok {
		return true, true, nil
	}
	return false, fmt.Sprint(old) != fmt.Sprint(*t), nil
}

func (s *memSink) PutInteraction(in *soundalike.Interaction) (bool, error) {
	if _, ok := s.tracks[in.Track]; !ok {
		return false, soundalike.ErrNotFound
	}
	k := interactionKey{in.User, in.Track, in.Action, in.Time.UnixNano()}
	if _, ok := s.interactions[k]; ok {
		return false, nil
	}
	s.interactions[k] = *in
	return true, nil
}

func (s *memSink) users() int {
	u := map[string]bool{}
	for _, in := range s.interactions {
		u[in.User] = true
	}
	return len(u)
}

// importAll runs ingest.Run from src into sink.
func importAll(t testing.TB, src ingest.Source, sink ingest.Sink) ingest.Summary {
	t.Helper()
	sum, err := ingest.Run(t.Context(), src, sink, nil)
	if err != nil {
		t.Fatalf("ingest.Run: %v", err)
	}
	return sum
}

// openSource opens a Source on url and closes it when the test ends.
func openSource(t testing.TB, url string, opts *Options) *Source {
	t.Helper()
	src, err := Open(t.Context(), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := src.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return src
}

// noSecret fails the test if s contains the password.
func noSecret(t testing.TB, what, s, password string) {
	t.Helper()
	if password != "" && strings.Contains(s, password) {
		t.Errorf("%s contains the password: %s", what, s)
	}
}
