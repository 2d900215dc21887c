package ingest

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/audotics/soundalike"
	clippkg "github.com/audotics/soundalike/internal/clip"
	"github.com/audotics/soundalike/internal/printable"
)

// ErrColumns is wrapped by the error NewMapper (and so Open) returns when
// the columns cannot make tracks: no track id column, or missing feature
// columns. Nothing has been read or written at that point.
var ErrColumns = errors.New("unusable columns")

// field is a destination in Record that a column can feed.
type field int

const (
	fTrackID   field = iota // track_id, trackId, id
	fSpotifyID              // spotify_id, uri: the id when there is no fTrackID
	fName
	fArtists
	fAlbum
	fPopularity
	fDuration
	fRelease
	fGenre
	fSubgenre
	fUser
	fAction
	fTime
	fFeature  // fFeature+i is feature i of soundalike.FeatureNames()
	numFields = fFeature + soundalike.NumFeatures
)

// fieldAliases are the accepted column names of each field, best first, as
// they are shown in error messages. Matching ignores case and any
// character that is not a letter or digit.
var fieldAliases = [...][]string{
	fTrackID:    {"track_id", "trackId", "id"},
	fSpotifyID:  {"spotify_id", "uri", "track_uri", "spotify_uri"},
	fName:       {"track_name", "name", "title"},
	fArtists:    {"track_artist", "track_artists", "artists", "artist", "artist_name", "artist_names"},
	fAlbum:      {"track_album_name", "album", "album_name"},
	fPopularity: {"track_popularity", "popularity"},
	fDuration:   {"duration_ms", "track_duration_ms"},
	fRelease:    {"track_album_release_date", "release_date", "album_release_date"},
	fGenre:      {"playlist_genre", "genre", "genres", "track_genre"},
	fSubgenre:   {"playlist_subgenre", "subgenre", "subgenres"},
	fUser:       {"user_id", "userId", "user", "playlist_id"},
	fAction:     {"action", "type", "event"},
	fTime:       {"timestamp", "time", "ts", "played_at", "created_at"},
}

// aliasIndex maps a normalised column name to its field and rank (0 =
// best alias).
var aliasIndex = func() map[string]fieldRank {
	m := make(map[string]fieldRank)
	for f, names := range fieldAliases {
		for r, n := range names {
			m[normalizeName(n)] = fieldRank{field(f), r}
		}
	}
	for i, n := range soundalike.FeatureNames() {
		m[normalizeName(n)] = fieldRank{fFeature + field(i), 0}
	}
	return m
}()

type fieldRank struct {
	f    field
	rank int
}

// IsListColumn reports whether a column of this name feeds one of a
// track's lists (artists, genres, subgenres), by the names a Mapper
// accepts (case and any character not a letter or digit ignored). A
// source whose list columns may come as lists already (a database's
// arrays) gives such a column's elements to MapRowLists.
func IsListColumn(name string) bool {
	fr, ok := aliasIndex[normalizeName(name)]
	return ok && (fr.f == fArtists || fr.f == fGenre || fr.f == fSubgenre)
}

// MapperOptions change what a Mapper expects. The zero value (or nil)
// means rows are tracks, and interactions too when there is a user column.
type MapperOptions struct {
	// InteractionsOnly maps rows that carry a user and a track id, and
	// optionally an action and a timestamp, but no features: Record.Track
	// stays nil. The track must already be in the catalogue.
	InteractionsOnly bool
	// NoInteractions maps tracks alone: the user, action and timestamp
	// columns are not read, so a bad cell there rejects nothing, and
	// Record.Interaction stays nil. A file that is an interaction log
	// (see Open) is still opened, but none of its rows is read: it has
	// nothing to import, and Run warns of it (IgnoredLogReason).
	NoInteractions bool
}

// Mapper turns rows of string values into Records, by column name. It is
// built once per header. It keeps the rows given back by Recycle for later
// Map and MapRow calls, so it is for one goroutine at a time.
type Mapper struct {
	source  string
	columns []string
	col     [numFields]int // column index per field, -1 when absent
	rank    [numFields]int
	idField field // fTrackID or fSpotifyID: where ID comes from
	opts    MapperOptions
	free    []*row // rows given back by Recycle
	// seen maps each normalised column name to its first column; repeats
	// counts, by that first column, the later columns of the same name,
	// which are ignored. A name that normalises to "" is in neither: see
	// addColumn.
	seen    map[string]int
	repeats map[int]int
	// firstObjectLine is, for JSON Lines, the line of the object whose
	// keys are the columns; 0 for other sources.
	firstObjectLine int
}

// NewMapper builds a Mapper for rows with the given column names. source
// names the rows in errors (a file name, or "postgres"). It fails, wrapping
// ErrColumns, when there is no track id column, or (unless
// InteractionsOnly) when any of the eleven feature columns is missing, or
// (with InteractionsOnly) when there is no user column; the error names the
// columns found and the names accepted.
func NewMapper(source string, columns []string, opts *MapperOptions) (*Mapper, error) {
	m := newMapper(source, opts)
	for _, c := range columns {
		m.addColumn(c)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

func newMapper(source string, opts *MapperOptions) *Mapper {
	m := &Mapper{source: source}
	if opts != nil {
		m.opts = *opts
	}
	for i := range m.col {
		m.col[i] = -1
	}
	return m
}

// addColumn appends a column and maps it to a field when its name is
// known and no better-named column feeds that field. It reports whether
// the column was mapped.
func (m *Mapper) addColumn(name string) bool {
	name = strings.TrimSpace(name)
	i := len(m.columns)
	m.columns = append(m.columns, name)
	norm := normalizeName(name)
	if norm == "" {
		// No letter or digit: an empty name (spreadsheets write one per
		// trailing empty column), or one in another script ("名前",
		// "備考"). It feeds no field, and two of them are not the same
		// name, so they are not counted as repeats.
		return false
	}
	if m.seen == nil {
		m.seen, m.repeats = map[string]int{}, map[int]int{}
	}
	if first, dup := m.seen[norm]; dup {
		m.repeats[first]++
		return false
	}
	m.seen[norm] = i
	fr, ok := aliasIndex[norm]
	if !ok {
		return false
	}
	if m.col[fr.f] >= 0 && m.rank[fr.f] <= fr.rank {
		return false
	}
	m.col[fr.f], m.rank[fr.f] = i, fr.rank
	m.idField = fTrackID
	if m.col[fTrackID] < 0 {
		m.idField = fSpotifyID
	}
	return true
}

// checkFile is check for a file, whose columns say what it holds: tracks
// (a track id and the features), or an interaction log (a track id and a
// user, and nothing about the track itself: no feature or metadata column),
// which is mapped InteractionsOnly.
func (m *Mapper) checkFile() error {
	err := m.check()
	if err == nil || m.opts.InteractionsOnly || !errors.Is(err, ErrColumns) || !m.isInteractionLog() {
		return err
	}
	m.opts.InteractionsOnly = true
	return m.check()
}

// isInteractionLog reports whether the columns are a track id and a user,
// with no column that describes the track.
func (m *Mapper) isInteractionLog() bool {
	if m.col[fUser] < 0 || (m.col[fTrackID] < 0 && m.col[fSpotifyID] < 0) {
		return false
	}
	for f := fName; f < numFields; f++ {
		if f >= fUser && f <= fTime {
			continue
		}
		if m.col[f] >= 0 {
			return false
		}
	}
	return true
}

func (m *Mapper) check() error {
	if m.col[fTrackID] < 0 && m.col[fSpotifyID] < 0 {
		return m.columnsError("no track id column", acceptedNames(fTrackID, fSpotifyID))
	}
	if m.opts.InteractionsOnly {
		if m.col[fUser] < 0 {
			return m.columnsError("no user column", acceptedNames(fUser))
		}
		return nil
	}
	var missing []string
	for i, n := range soundalike.FeatureNames() {
		if m.col[fFeature+field(i)] < 0 {
			missing = append(missing, n)
		}
	}
	switch {
	case len(missing) == soundalike.NumFeatures:
		return m.columnsError("no audio feature columns", "the eleven Spotify audio features "+strings.Join(soundalike.FeatureNames(), ", ")+
			"; or, for a file of interactions alone, a track id and a user column ("+strings.Join(fieldAliases[fUser], ", ")+
			") with optional action and timestamp, and no other track columns")
	case len(missing) > 0 && m.firstObjectLine > 0:
		// A serializer that leaves out null values leaves out the key.
		return m.columnsError(fmt.Sprintf("line %[1]d's object (which sets the columns) lacks feature key(s) %[2]s: give line %[1]d's object every feature key, null where a value is unknown (that row alone is then rejected), or put first an object that has them all",
			m.firstObjectLine, strings.Join(missing, ", ")),
			"all eleven Spotify audio features "+strings.Join(soundalike.FeatureNames(), ", "))
	case len(missing) > 0:
		return m.columnsError("missing feature column(s) "+strings.Join(missing, ", "),
			"all eleven Spotify audio features "+strings.Join(soundalike.FeatureNames(), ", "))
	}
	return nil
}

func (m *Mapper) columnsError(what, accepted string) error {
	found := m.columns
	more := ""
	if len(found) > 40 {
		more = fmt.Sprintf(" … (%d more)", len(found)-40)
		found = found[:40]
	}
	clipped := make([]string, len(found))
	for i, c := range found {
		clipped[i] = columnName(c)
	}
	list := strings.Join(clipped, ", ")
	if len(found) == 0 {
		list = "(none)"
	}
	where := m.source
	if m.firstObjectLine > 0 {
		where += ":" + strconv.Itoa(m.firstObjectLine)
	}
	return fmt.Errorf("%s: %w: %s; found columns: %s%s; accepted: %s (case, _ and - are ignored)",
		where, ErrColumns, what, list, more, accepted)
}

func acceptedNames(fs ...field) string {
	var names []string
	for _, f := range fs {
		names = append(names, fieldAliases[f]...)
	}
	return strings.Join(names, ", ")
}

// RepeatedColumns describes the columns whose name (case, _ and -
// ignored) an earlier column already has, e.g. `"energy" appears 2 times`:
// the first of them is read, the others are ignored. It is nil when every
// name is distinct.
func (m *Mapper) RepeatedColumns() []string {
	var out []string
	for i, c := range m.columns {
		if n, ok := m.repeats[i]; ok {
			out = append(out, fmt.Sprintf("%q appears %d times", clip(c), n+1))
		}
	}
	return out
}

// InteractionsOnly reports whether the Mapper maps interactions alone: it
// was built with MapperOptions.InteractionsOnly, or its file is an
// interaction log (see Open). Its records carry no Track.
func (m *Mapper) InteractionsOnly() bool { return m.opts.InteractionsOnly }

// ignoresRows reports whether the Mapper's rows carry nothing to import:
// interactions alone, which NoInteractions leaves unread.
func (m *Mapper) ignoresRows() bool { return m.opts.InteractionsOnly && m.opts.NoInteractions }

// IDColumn returns the index, in Columns, of the column the track id is
// read from: the best-named track id column, else the best-named Spotify
// id or URI column.
func (m *Mapper) IDColumn() int { return m.col[m.idField] }

// Columns returns the column names the Mapper was built with, in order.
func (m *Mapper) Columns() []string { return m.columns }

// Mapping describes which column feeds which field, e.g. "id←track_id",
// for logs and `import -v`. Columns that feed nothing are not listed.
func (m *Mapper) Mapping() []string {
	var out []string
	for f := field(0); f < numFields; f++ {
		if m.col[f] < 0 || (m.opts.NoInteractions && f >= fUser && f <= fTime) {
			continue
		}
		out = append(out, fieldName(f)+"←"+m.columns[m.col[f]])
	}
	return out
}

func fieldName(f field) string {
	if f >= fFeature {
		return soundalike.FeatureName(int(f - fFeature))
	}
	return [...]string{"id", "spotify_id", "name", "artists", "album", "popularity", "duration_ms",
		"release_date", "genre", "subgenre", "user", "action", "timestamp"}[f]
}

// Map turns the values of the row on the given line (1-based) into a
// Record. A row that cannot become a track or interaction that
// soundalike.CheckTrack and CheckInteraction accept gives a *RowError
// naming the source, the line, the column and the reason.
func (m *Mapper) Map(line int, values []string) (Record, error) {
	return m.mapRow(Record{Source: m.source, Line: line}, values, nil)
}

// MapRow is Map for rows that have an id rather than a line (database
// rows): errors carry RowError.Row instead of Line.
func (m *Mapper) MapRow(rowID string, values []string) (Record, error) {
	return m.mapRow(Record{Source: m.source, RowID: rowID}, values, nil)
}

// MapRowLists is MapRow for rows whose list columns may come as lists
// already (a database's array columns): where lists[i] is not nil, the
// artists, genres or subgenres that column i feeds are its elements, as
// they are, instead of values[i] split. lists is nil or as long as
// values. The elements are checked with the rest of the track, and an
// error names the one refused by its column and index (artists[2]).
// The Record's track keeps the lists' element slices.
func (m *Mapper) MapRowLists(rowID string, values []string, lists [][]string) (Record, error) {
	return m.mapRow(Record{Source: m.source, RowID: rowID}, values, lists)
}

// row holds everything one row allocates, so that mapping a row costs one
// allocation; the Record's pointers and slices point into it.
type row struct {
	track   soundalike.Track
	in      soundalike.Interaction
	artist  [1]string
	genre   [1]string
	subgnre [1]string
}

// Recycle gives back the memory of a record Map returned, for a later
// Map to reuse: nothing may use rec, or what it points to, afterwards.
func (m *Mapper) Recycle(rec Record) {
	if rec.row != nil {
		m.free = append(m.free, rec.row)
	}
}

func (m *Mapper) mapRow(rec Record, values []string, lists [][]string) (Record, error) {
	fail := func(err error) (Record, error) {
		return Record{}, &RowError{File: rec.Source, Line: rec.Line, Row: rec.RowID, Reason: err.Error()}
	}
	if len(values) != len(m.columns) {
		return fail(fmt.Errorf("row has %d fields, the header has %d", len(values), len(m.columns)))
	}
	if lists != nil && len(lists) != len(values) {
		return fail(fmt.Errorf("row has %d lists for %d fields", len(lists), len(values)))
	}
	r := m.newRow()
	rec.row = r
	id, err := m.readID(values, r)
	if err != nil {
		return fail(err)
	}
	if !m.opts.InteractionsOnly {
		if err := m.readTrack(values, lists, id, r); err != nil {
			return fail(err)
		}
		rec.Track, rec.checked = &r.track, &r.track
	}
	if m.col[fUser] >= 0 && !m.opts.NoInteractions {
		in, err := m.readInteraction(values, id, r)
		if err != nil {
			return fail(err)
		}
		rec.Interaction, rec.checkedIn = in, in
	}
	return rec, nil
}

// newRow returns a recycled row, cleared, or a new one.
func (m *Mapper) newRow() *row {
	if n := len(m.free); n > 0 {
		r := m.free[n-1]
		m.free = m.free[:n-1]
		*r = row{}
		return r
	}
	return new(row)
}

// text returns the trimmed value of field f, or "" when there is no such
// column; it fails when the value is not valid UTF-8.
func (m *Mapper) text(values []string, f field) (string, error) {
	i := m.col[f]
	if i < 0 {
		return "", nil
	}
	v := strings.TrimSpace(values[i])
	if !utf8.ValidString(v) {
		return "", fmt.Errorf("%s: invalid UTF-8 (text must be UTF-8 encoded)", m.column(i))
	}
	return v, nil
}

// readID returns the row's track id, and sets r's Spotify id when the
// row has one besides.
func (m *Mapper) readID(values []string, r *row) (string, error) {
	id, err := m.text(values, m.idField)
	if err != nil {
		return "", err
	}
	if id = trackID(id); id == "" {
		return "", fmt.Errorf("missing track id (column %s is empty)", m.column(m.col[m.idField]))
	}
	if m.idField == fTrackID && m.col[fSpotifyID] >= 0 {
		sid, err := m.text(values, fSpotifyID)
		if err != nil {
			return "", err
		}
		if sid = trackID(sid); sid != id {
			r.track.SpotifyID = sid
		}
	}
	return id, nil
}

// readTrack reads the row's track into r.track, its lists from lists
// where MapRowLists gave them, and checks it with soundalike.CheckTrack.
func (m *Mapper) readTrack(values []string, lists [][]string, id string, r *row) error {
	t := &r.track
	t.ID = soundalike.TrackID(id)
	if err := m.readFeatures(values, &t.Features); err != nil {
		return err
	}
	var err error
	if t.Popularity, err = m.wholeNumber(values, fPopularity, popularityRange); err != nil {
		return err
	}
	if t.DurationMS, err = m.wholeNumber(values, fDuration, durationRange); err != nil {
		return err
	}
	for _, f := range [...]field{fName, fArtists, fAlbum, fRelease, fGenre, fSubgenre} {
		v, err := m.text(values, f)
		if err != nil {
			return err
		}
		switch f {
		case fName:
			t.Name = v
		case fArtists:
			t.Artists = m.list(v, lists, f, &r.artist)
		case fAlbum:
			t.Album = v
		case fRelease:
			t.ReleaseDate = releaseDate(v)
		case fGenre:
			t.Genres = m.list(v, lists, f, &r.genre)
		case fSubgenre:
			t.Subgenres = m.list(v, lists, f, &r.subgnre)
		}
	}
	if err := soundalike.CheckTrack(t); err != nil {
		return m.named(err, t)
	}
	return nil
}

// readFeatures reads the eleven audio features into f.
func (m *Mapper) readFeatures(values []string, f *soundalike.Features) error {
	for i := range soundalike.NumFeatures {
		c := m.col[fFeature+field(i)]
		s := values[c]
		v, err := parseNumber(s)
		switch {
		case errors.Is(err, errOverflow):
			r := soundalike.FeatureRanges()[i]
			return fmt.Errorf("%s: %q is outside [%g, %g]", m.column(c), clip(s), r.Min, r.Max)
		case err != nil && strings.TrimSpace(s) == "":
			return fmt.Errorf("%s: missing value", m.column(c))
		case err != nil:
			return fmt.Errorf("%s: %q is not a number (accepted: %s)", m.column(c), clip(s), numberAccepted)
		}
		// Checked as read: the typed field may not hold the value (Set
		// rounds a key of 5.5).
		if err := soundalike.ValidateFeature(i, v); err != nil {
			return m.named(err, nil)
		}
		f.Set(i, v)
	}
	return nil
}

// readInteraction reads the row's interaction into r.in and checks it
// with soundalike.CheckInteraction; nil when the row has no user and may
// have none. A time outside what an interaction can hold is refused here,
// before that check, so that the error quotes the cell as written.
func (m *Mapper) readInteraction(values []string, id string, r *row) (*soundalike.Interaction, error) {
	user, err := m.text(values, fUser)
	if err != nil {
		return nil, err
	}
	if user == "" {
		if m.opts.InteractionsOnly {
			return nil, fmt.Errorf("missing user (column %s is empty)", m.column(m.col[fUser]))
		}
		return nil, nil
	}
	action, err := m.text(values, fAction)
	if err != nil {
		return nil, err
	}
	ts, err := m.text(values, fTime)
	if err != nil {
		return nil, err
	}
	when, err := ParseTime(ts)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", m.column(m.col[fTime]), err)
	}
	// By the cell, not the time: a cell may read as the zero time (unix
	// -62135596800 is the year 1), which is not "unknown".
	if ts != "" && (when.Before(minTime) || when.After(maxTime)) {
		return nil, fmt.Errorf("%s: %q is outside %s; leave the cell empty when unknown", m.column(m.col[fTime]), clip(ts), timeRange)
	}
	r.in = soundalike.Interaction{User: user, Track: soundalike.TrackID(id), Action: CanonicalAction(action), Time: when}
	if err := soundalike.CheckInteraction(&r.in); err != nil {
		return nil, m.named(err, nil)
	}
	return &r.in, nil
}

// list returns the entries of list field f: the elements lists gives for
// its column (MapRowLists), or else its cell v split.
func (m *Mapper) list(v string, lists [][]string, f field, one *[1]string) []string {
	if c := m.col[f]; c >= 0 && lists != nil && lists[c] != nil {
		return lists[c]
	}
	return oneOrList(v, one)
}

// oneOrList splits a list cell, storing a single element in *one to spare
// an allocation.
func oneOrList(v string, one *[1]string) []string {
	if v == "" {
		return nil
	}
	if !strings.ContainsAny(v, "[{;") {
		one[0] = v
		return one[:]
	}
	return splitList(v)
}

// popularityRange and durationRange are the values Track.Validate
// accepts for a track's popularity and duration, in its words, for
// wholeNumber's errors about the cells it never sees.
var (
	popularityRange = "0..100"
	durationRange   = fmt.Sprintf("0..%d (milliseconds; 0 means unknown)", soundalike.MaxDurationMS)
)

// wholeAccepted describes the cells wholeNumber accepts, for error
// messages.
const wholeAccepted = "whole numbers such as 50 or 50.0"

// wholeNumber parses an optional whole-number metadata field (popularity,
// duration_ms); accepted states the values Track.Validate takes for it.
// "" is 0. The cell is a plain decimal (parseNumber) of a whole value,
// with or without a zero fraction or an exponent: pandas writes 194754.0
// for an integer column with gaps. A fraction is refused, not rounded, in
// every such column, as soundalike refuses a fractional key: exports
// write these fields as integers, so a fraction is a mistake. A value
// outside int32, and so outside both fields' ranges, is refused here,
// with the cell quoted as written; Track.Validate checks the range of
// the others.
func (m *Mapper) wholeNumber(values []string, f field, accepted string) (int, error) {
	c := m.col[f]
	if c < 0 {
		return 0, nil
	}
	s := values[c]
	v, err := parseNumber(s)
	switch {
	case err != nil && strings.TrimSpace(s) == "":
		return 0, nil
	case errors.Is(err, errOverflow) || (err == nil && (v < math.MinInt32 || v > math.MaxInt32)):
		return 0, fmt.Errorf("%s: %q is outside %s", m.column(c), clip(s), accepted)
	case err != nil:
		return 0, fmt.Errorf("%s: %q is not a number (accepted: %s)", m.column(c), clip(s), wholeAccepted)
	case v != math.Trunc(v):
		return 0, fmt.Errorf("%s: %q is not a whole number in %s", m.column(c), clip(s), accepted)
	}
	return int(v), nil
}

// checkedFields are the fields of soundalike's checks, by the name their
// errors give them (soundalike.FieldError.Field); "track id" is not
// among them: it is whichever of fTrackID and fSpotifyID is m.idField.
var checkedFields = func() map[string]field {
	fs := map[string]field{
		"popularity": fPopularity, "duration_ms": fDuration, "name": fName, "album": fAlbum,
		"release_date": fRelease, "spotify_id": fSpotifyID, "artists": fArtists,
		"genres": fGenre, "subgenres": fSubgenre, "user": fUser, "action": fAction, "time": fTime,
	}
	for i, n := range soundalike.FeatureNames() {
		fs[n] = fFeature + field(i)
	}
	return fs
}()

// named returns err, the error of one of soundalike's checks of a value
// the Mapper read (t is its track, or nil), with the column the value
// came from named as the rows name it ("track_popularity: 101 is outside
// 0..100", not soundalike's "popularity: …"), so that every error about
// a field of a row names its column. An entry of a list column is named
// with its index when the column held more than one. An error that is
// not about one field, or about one no column feeds, is returned as it is.
func (m *Mapper) named(err error, t *soundalike.Track) error {
	fe, ok := errors.AsType[*soundalike.FieldError](err)
	if !ok {
		return err
	}
	f, ok := checkedFields[fe.Field]
	if fe.Field == "track id" {
		f, ok = m.idField, true
	}
	if !ok || m.col[f] < 0 {
		return err
	}
	name := m.column(m.col[f])
	if fe.Index >= 0 && listLen(t, f) > 1 {
		name = fmt.Sprintf("%s[%d]", name, fe.Index)
	}
	return errors.New(fe.Named(name))
}

// listLen returns the number of entries of t's list field f; 0 for any
// other field, or a nil t.
func listLen(t *soundalike.Track, f field) int {
	if t == nil {
		return 0
	}
	switch f {
	case fArtists:
		return len(t.Artists)
	case fGenre:
		return len(t.Genres)
	case fSubgenre:
		return len(t.Subgenres)
	}
	return 0
}

// clip shortens a value quoted in an error message.
func clip(s string) string { return clippkg.String(s) }

// columnName returns a column name from a file's header as errors and
// warnings print it: escaped (printable.Cut), since import prints them to
// a terminal one a line and a header may hold an escape sequence or, in a
// quoted CSV field or a JSON key, a line end; and cut as clip cuts, since
// a header is quoted, never echoed whole.
func columnName(s string) string { return printable.Cut(s, clippkg.Max) }

// column returns the name of column i as errors print it: see columnName.
func (m *Mapper) column(i int) string { return columnName(m.columns[i]) }
