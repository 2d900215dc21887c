package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/audotics/soundalike"
	"github.com/audotics/soundalike/internal/pgarray"
)

// normalizeName folds a column name for matching: lower case, letters and
// digits only, so that track_id, trackId, Track-ID and "track id" are the
// same name.
func normalizeName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteByte(c)
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		}
	}
	return b.String()
}

// CanonicalAction maps the usual spellings of an interaction's action to
// the root's Action constants: "" and play/played/listen/stream → play,
// like/liked/love/favorite/save/saved → like, add_to_playlist/AddToPlaylist/
// playlist_add → addToPlaylist, skip/skipped → skip. Any other action is
// kept as given (trimmed): the app may have its own.
func CanonicalAction(s string) string {
	s = strings.TrimSpace(s)
	switch normalizeName(s) {
	case "", "play", "played", "listen", "listened", "stream", "streamed":
		return soundalike.ActionPlay
	case "like", "liked", "love", "loved", "favorite", "favourite", "favorited", "save", "saved":
		return soundalike.ActionLike
	case "addtoplaylist", "addedtoplaylist", "playlistadd", "addtolist":
		return soundalike.ActionAddToPlaylist
	case "skip", "skipped":
		return soundalike.ActionSkip
	}
	return s
}

// timeLayouts are tried in order by ParseTime. When parsing, Go accepts a
// fractional second after the seconds even if the layout has none.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05Z07",    // PostgreSQL text output: 2024-01-02 03:04:05.123+00
	"2006-01-02T15:04:05Z07",    // the same with a T
	"2006-01-02 15:04:05 -0700", // Go's time.Time.String without the zone name
	"2006-01-02T15:04:05",       // no zone: UTC
	"2006-01-02 15:04:05",       // no zone: UTC
	"2006-01-02",                // a date: midnight UTC
}

// timeAccepted describes what ParseTime accepts, for error messages.
const timeAccepted = "RFC 3339, YYYY-MM-DD HH:MM:SS[.fff][±hh[:mm]], YYYY-MM-DD, or unix seconds/milliseconds"

// minTime and maxTime are the earliest and latest times an interaction
// can hold (soundalike.InteractionTimes): the Mapper refuses a cell
// outside them itself, to quote the cell as written.
var minTime, maxTime = soundalike.InteractionTimes()

// timeRange describes minTime..maxTime, for error messages.
var timeRange = minTime.Format(time.RFC3339Nano) + ".." + maxTime.Format(time.RFC3339Nano) +
	" (it is stored as nanoseconds since 1970 in 64 bits)"

// ParseTime parses an interaction's timestamp: RFC 3339, "YYYY-MM-DD
// HH:MM:SS[.fff]" with or without a zone offset (no offset means UTC), a
// bare date, or a unix time in seconds or milliseconds (microseconds and
// nanoseconds are recognised by magnitude; a fraction is allowed). "" is
// the zero time. Times are returned in UTC, any that the form holds: one
// outside what an interaction can hold (minTime..maxTime) is the Mapper's
// to refuse.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, ok := parseUnix(s); ok {
		return t, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (accepted: %s)", clip(s), timeAccepted)
}

// parseUnix parses an all-digit time (optionally signed, with a fraction)
// as unix seconds, milliseconds, microseconds or nanoseconds, by magnitude.
func parseUnix(s string) (time.Time, bool) {
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' || (i == 0 && (c == '-' || c == '+')):
		default:
			return time.Time{}, false
		}
	}
	if digits == 0 {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return time.Time{}, false
	}
	a := math.Abs(f)
	var ns float64
	switch {
	case a < 1e11: // seconds until the year 5138
		ns = f * 1e9
	case a < 1e14:
		ns = f * 1e6
	case a < 1e17:
		ns = f * 1e3
	default:
		ns = f
	}
	if ns >= math.MaxInt64 || ns < math.MinInt64 { // ±2⁶³: int64(ns) would wrap
		// A unix time all the same, outside what an interaction can hold
		// (minTime..maxTime), for the Mapper to refuse as such: to the
		// second away from that range, and within ±1e15 s, which int64
		// seconds hold.
		sec := max(-1e15, min(1e15, ns/1e9))
		if sec > 0 {
			sec = math.Ceil(sec)
		} else {
			sec = math.Floor(sec)
		}
		return time.Unix(int64(sec), 0).UTC(), true
	}
	return time.Unix(0, int64(ns)).UTC(), true
}

// splitList reads a list-valued cell (artists, genres): a JSON array
// (["a","b"]), a Python-style list (['a', 'b']), a PostgreSQL array literal
// ({a,"b, c"}), or names separated by semicolons. Anything else is one
// name, commas included: "Tyler, The Creator" is one artist. Empty
// elements are dropped; "" gives nil.
func splitList(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	n := len(s)
	switch {
	case s[0] == '[' && s[n-1] == ']':
		var l []string
		if err := json.Unmarshal([]byte(s), &l); err == nil {
			return compact(l)
		}
		if l, ok := parsePythonList(s[1 : n-1]); ok {
			return compact(l)
		}
	case s[0] == '{' && s[n-1] == '}':
		if l, err := pgarray.Parse(s); err == nil {
			return compact(l)
		}
	case strings.IndexByte(s, ';') >= 0:
		return compact(strings.Split(s, ";"))
	}
	return []string{s}
}

// compact trims the elements of l and drops the empty ones, in place.
func compact(l []string) []string {
	out := l[:0]
	for _, e := range l {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// parsePythonList splits the inside of a Python list literal of strings
// at its commas. Elements are quoted with ' or ", with backslash escapes
// inside quotes. It reports false for anything else (an unquoted element,
// nested lists, an unterminated quote, text after a closing quote).
func parsePythonList(s string) ([]string, bool) {
	var out []string
	i := 0
	for {
		i = skipSpaces(s, i)
		if i >= len(s) {
			if len(out) == 0 {
				return nil, true // "[]"
			}
			return nil, false // a trailing comma
		}
		q := s[i]
		if q != '"' && q != '\'' {
			return nil, false // Python lists quote their strings
		}
		elem, next, ok := quoted(s, i+1, q)
		if !ok {
			return nil, false
		}
		out = append(out, elem)
		i = skipSpaces(s, next)
		if i >= len(s) {
			return out, true
		}
		if s[i] != ',' {
			return nil, false
		}
		i++
	}
}

// quoted reads a string quoted with q that starts at s[i], after the
// opening quote, and returns it and where it ends.
func quoted(s string, i int, q byte) (elem string, next int, ok bool) {
	var b strings.Builder
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == q:
			return b.String(), i + 1, true
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, false
}

func skipSpaces(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// trackID cleans an id cell: spaces trimmed, and a Spotify URI or link
// reduced to the bare id, as the engine reduces a query's reference
// (soundalike.ParseTrackRef). A cell of no such form is the id as it is.
func trackID(s string) string {
	s = strings.TrimSpace(s)
	if id, err := soundalike.ParseTrackRef(s); err == nil {
		return string(id)
	}
	return s
}

// numberAccepted describes the cells parseNumber accepts, for error
// messages.
const numberAccepted = "plain decimals such as 120, -7.25 or 1.06e-05"

// errNotNumber and errOverflow are parseNumber's errors.
var (
	errNotNumber = errors.New("not a plain decimal")
	errOverflow  = errors.New("beyond the range of a float64")
)

// parseNumber parses a numeric cell: a plain decimal, that is an optional
// sign, digits with an optional decimal point (120, -7.25, .5, 1.), and an
// optional exponent (1.06e-05, 2E3), with spaces around it allowed. The
// other forms strconv.ParseFloat reads (hex, _ between digits, Inf,
// Infinity, NaN) give errNotNumber: no export writes them, so a cell
// holding one is a mistake, and reading it as Go would store a value
// nobody meant ("1_20" as 120). A decimal beyond float64's range gives
// ±Inf and errOverflow; one too small for it gives 0, as in ParseFloat.
func parseNumber(s string) (float64, error) {
	if f, ok := parseDecimal(s); ok {
		return f, nil
	}
	t := strings.TrimSpace(s)
	if !isDecimal(t) {
		return 0, errNotNumber
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil { // only ErrRange: t is well formed
		return f, errOverflow
	}
	return f, nil
}

// isDecimal reports whether s is a plain decimal, as parseNumber defines
// it: sign, digits (at least one, on either side of an optional point),
// exponent. parseDecimal scans the same grammar for speed (it gives up on
// what it cannot read exactly, such as more than 19 digits); the two are
// held to the one grammar by FuzzParseNumber.
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	start := i
	i = skipDigits(s, i)
	if i < len(s) && s[i] == '.' {
		i = skipDigits(s, i+1)
	}
	if i == start || (i == start+1 && s[start] == '.') {
		return false // no digit
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		e := i
		if i = skipDigits(s, i); i == e {
			return false
		}
	}
	return i == len(s)
}

func skipDigits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// releaseDate keeps a release date as given, except that a timestamp
// (2019-06-14 00:00:00, 2019-06-14T00:00:00Z, 2019-06-14 00:00: what
// databases and spreadsheets print for a date column read as a
// timestamp) is cut to its date. Other text after a date ("2019-06-14
// reissue", "2019-06-14T") is kept, for CheckReleaseDate to refuse: the
// cell may not mean that date, and cutting it would store it silently.
func releaseDate(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 10 && (s[10] == ' ' || s[10] == 'T') && isTimestamp(s) {
		return s[:10]
	}
	return s
}

// isTimestamp reports whether s is a date and a time of day: one that
// ParseTime accepts, or one to the minute.
func isTimestamp(s string) bool {
	if _, err := ParseTime(s); err == nil {
		return true
	}
	for _, layout := range [...]string{"2006-01-02 15:04", "2006-01-02T15:04"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseDecimal parses the common cells of a features file, such as
// "0.0123", "-7.25", "120" and "1.06e-05", as strconv.ParseFloat would,
// to the bit, in a third of the time. It reports false for anything else
// (spaces, more than 19 digits, and what parseNumber refuses: hex, inf,
// ...), which parseNumber then checks and hands to ParseFloat.
//
// It is Clinger's fast path, as in strconv: when the digits m are at most
// 2^53 and the power of ten p at most 22 in size, m and 10^p are exact
// float64s, and one multiplication or division rounds once, correctly.
//
// It is one function (cyclomatic complexity over 30) on purpose: a
// decoder of one grammar (sign, digits, fraction, exponent) read in one
// pass, which splitting would only scatter; FuzzParseDecimal checks it
// against strconv.
func parseDecimal(s string) (float64, bool) {
	i, neg := 0, false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	var m uint64
	digits, frac := 0, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		m = m*10 + uint64(s[i]-'0')
		digits++
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			m = m*10 + uint64(s[i]-'0')
			digits++
			frac++
		}
	}
	if digits == 0 || digits > 19 { // none, or m may have overflowed
		return 0, false
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			eneg = s[i] == '-'
			i++
		}
		start := i
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9' && i-start < 4; i++ {
			exp = exp*10 + int(s[i]-'0')
		}
		if i == start {
			return 0, false
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(s) || m > 1<<53 {
		return 0, false
	}
	f := float64(m)
	switch p := exp - frac; {
	case m == 0:
	case p < 0 && -p < len(pow10):
		f /= pow10[-p]
	case p >= 0 && p < len(pow10):
		f *= pow10[p]
	default:
		return 0, false
	}
	if neg {
		f = -f
	}
	return f, true
}
