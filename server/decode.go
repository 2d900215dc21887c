package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/audotics/soundalike"
)

// decodeBody reads the JSON body of r, at most limit bytes, into
// dst (a pointer to a struct with json tags). Every POST handler decodes
// its body with it, so that they all answer the same way:
//
//   - a Content-Type other than application/json (a charset other than
//     utf-8, or none at all) is a 415, and so is a Content-Encoding other
//     than identity (a gzipped body): bodies are read as sent;
//   - a body over limit is a 413 (*http.MaxBytesError), before any of it
//     is decoded;
//   - arrays and objects nested deeper than MaxJSONDepth are a 400 naming
//     the limit, found by the key walk at the first level past it, before
//     encoding/json decodes anything;
//   - keys match the json tags exactly: encoding/json would take "K" for
//     "k", and a client that sends "Exclude" believes it excluded
//     something;
//   - a key given twice in one object, unknown keys, a syntax error, a
//     value of the wrong type and a second JSON value are 400s naming the
//     key or the byte;
//   - a body that cannot be read (the client stalled past the server's read
//     timeout, or sent less than its Content-Length) is not bad JSON: 408
//     or 400 saying so.
//
// The key checks are a token pass over the body beside encoding/json's
// decoding rather than encoding/json/v2 (which is strict about both, but
// still an experiment in Go 1.26): it keeps encoding/json's errors, which
// decodeBody turns into messages, and adds no dependency. w is r's
// response writer, which http.MaxBytesReader needs.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	if err := checkContentEncoding(w, r.Header.Values("Content-Encoding")); err != nil {
		return err
	}
	if r.ContentLength > limit {
		return &http.MaxBytesError{Limit: limit}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return bodyReadError(err)
	}
	blankBOM(body)
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("empty body: send a JSON object")
	}
	return decodeValue(body, dst)
}

// utf8BOM is the UTF-8 byte order mark, which some clients (Windows
// tools, PowerShell's older versions) put before a body.
const utf8BOM = "\xef\xbb\xbf"

// blankBOM overwrites a UTF-8 byte order mark at the start of body with
// spaces, which JSON ignores: RFC 8259 (section 8.1) lets a parser ignore
// the mark, and encoding/json does not. Blanking it in place rather than
// cutting it off keeps the byte offsets of bad JSON counting the bytes the
// client sent, the mark's too.
func blankBOM(body []byte) {
	if bytes.HasPrefix(body, []byte(utf8BOM)) {
		copy(body, "   ")
	}
}

// decodeValue decodes one JSON value (a body, or one query of a batch)
// into dst with decodeBody's rules on keys and values.
func decodeValue(body []byte, dst any) error {
	t := reflect.TypeOf(dst)
	path := make(jsonPath, 0, MaxJSONDepth)
	if err := checkKeys(json.NewDecoder(bytes.NewReader(body)), t, "", &path); err != nil {
		if _, ok := errors.AsType[*httpError](err); ok {
			return err
		}
		// A syntax error: encoding/json reports it below, with its offset.
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err, body, t)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("bad JSON: the body holds more than one JSON value")
	}
	return nil
}

// checkContentType accepts application/json, with no parameter but a
// utf-8 charset.
func checkContentType(ct string) error {
	const want = "send the body as JSON with Content-Type: application/json"
	if ct == "" {
		return statusError(http.StatusUnsupportedMediaType, "no Content-Type: "+want)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return statusError(http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %s: %s", quoteShort(ct), want))
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return statusError(http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %s: JSON is UTF-8; %s (charset=utf-8 may be given)", quoteShort(ct), want))
		}
	}
	return nil
}

// checkContentEncoding refuses a body sent encoded (a Content-Encoding
// other than identity, such as gzip), which would otherwise be read as
// bad JSON: a 415 naming the encoding, with the Accept-Encoding RFC 7694
// gives such an answer, saying that only identity is read. The server
// decompresses nothing: a body is at most Options.MaxBodyBytes (1 MiB),
// small enough to send as it is.
func checkContentEncoding(w http.ResponseWriter, values []string) error {
	for _, v := range values {
		for enc := range strings.SplitSeq(v, ",") {
			if enc = strings.TrimSpace(enc); enc != "" && !strings.EqualFold(enc, "identity") {
				w.Header().Set("Accept-Encoding", "identity")
				return statusError(http.StatusUnsupportedMediaType, fmt.Sprintf(
					"Content-Encoding %s: request bodies are read as identity (uncompressed) JSON: send the body uncompressed, without Content-Encoding", quoteShort(enc)))
			}
		}
	}
	return nil
}

// bodyReadError describes a body that could not be read: over the limit
// (413), the client too slow (408), or cut short.
func bodyReadError(err error) error {
	if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return mbe
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return statusError(http.StatusRequestTimeout, "reading the request body timed out: send the whole body within the server's read timeout")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return badRequest("the request body ended before its Content-Length")
	}
	return badRequest("reading the request body: %v", err)
}

// MaxJSONDepth is how deeply the arrays and objects of a request body may
// nest. The deepest body the API takes nests 5 levels (a batch query's
// filter.genres, a recommendation example's features.artists); the rest
// is margin. A deeper body is a 400 as soon as the walk of its keys
// reaches the level past the limit, before anything else decodes it.
const MaxJSONDepth = 10

// jsonPath is where a value sits in a body: the keys and indexes that lead
// to it, one a level. The walk of a body's keys pushes and pops one path
// and renders it (String) only for an error, so that a wide or deep body
// costs no string, nor allocation, per value. Empty is the body itself.
type jsonPath []pathStep

// pathStep is one level of a jsonPath: an object's key, or an array's
// index.
type pathStep struct {
	key   string // when isKey
	index int    // otherwise
	isKey bool
}

// String renders p as messages name a value: features.tempo, queries[3].k.
func (p jsonPath) String() string {
	var b strings.Builder
	for i, s := range p {
		switch {
		case !s.isKey:
			fmt.Fprintf(&b, "[%d]", s.index)
		case i > 0:
			b.WriteString("." + s.key)
		default:
			b.WriteString(s.key)
		}
	}
	return b.String()
}

// checkKeys walks one JSON value with dec, checking the keys of every
// object against t, the Go type it decodes into: each key once, and
// exactly one of the struct's json names; the kind of every element of
// an array (checkElem); and the nesting, at most MaxJSONDepth levels.
// path is where the value sits; checkKeys leaves it as it found it.
// accepts is what the value's field takes, from its accepts tag ("" when
// it has none), for an element's refusal to say. It returns an
// *httpError for a key, an element or a level at fault, and the
// decoder's error for bad syntax.
func checkKeys(dec *json.Decoder, t reflect.Type, accepts string, path *jsonPath) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	return checkValue(dec, tok, t, accepts, path)
}

// checkValue is checkKeys of the value whose first token, tok, dec has
// read.
func checkValue(dec *json.Decoder, tok json.Token, t reflect.Type, accepts string, path *jsonPath) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[json.RawMessage]() {
		t = nil // any value, checked where it is decoded (an example, a batch's query)
	}
	switch tok {
	case json.Delim('{'), json.Delim('['):
		if len(*path) >= MaxJSONDepth {
			return badRequest("bad JSON at byte %d: arrays and objects nest deeper than %d levels: a request body may nest at most %d", dec.InputOffset(), MaxJSONDepth, MaxJSONDepth)
		}
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.StructField
		var elem reflect.Type
		switch {
		case t != nil && t.Kind() == reflect.Struct:
			fields = jsonFields(t)
		case t != nil && t.Kind() == reflect.Map:
			elem = t.Elem()
		}
		seen := make(map[string]bool)
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key := tok.(string)
			if seen[key] {
				return badRequest("duplicate key %s: give each key once", quoteShort(append(*path, pathStep{key: key, isKey: true}).String()))
			}
			seen[key] = true
			vt, vAccepts := elem, ""
			if fields != nil {
				f, ok := fields[key]
				if !ok {
					return unknownKey(*path, key, fields)
				}
				vt, vAccepts = f.Type, f.Tag.Get("accepts")
			}
			*path = append(*path, pathStep{key: key, isKey: true})
			err = checkKeys(dec, vt, vAccepts, path)
			*path = (*path)[:len(*path)-1]
			if err != nil {
				return err
			}
		}
		_, err := dec.Token() // '}'
		return err
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			*path = append(*path, pathStep{index: i})
			tok, err := dec.Token()
			if err == nil {
				err = checkValue(dec, tok, elem, "", path)
			}
			if err == nil {
				// After the walk of the element: nesting too deep is
				// reported first, wherever it is.
				err = checkElem(tok, elem, *path, t, accepts)
			}
			*path = (*path)[:len(*path)-1]
			if err != nil {
				return err
			}
		}
		_, err := dec.Token() // ']'
		return err
	}
	return nil
}

// checkElem refuses an element of an array, whose first token is tok,
// of a kind its Go type t cannot hold (an object where t is a string), or
// null where t is no pointer. encoding/json would name the array, not the
// element ("field tracks: an object is not a string"), and decodes null
// as a zero value (0 in a vector, "" in a list of genres). The 400 names
// the element by path (tracks[0]) and says what the array takes: accepts,
// its field's accepts tag, or else what its type list holds. An element
// whose type takes any value (a json.RawMessage: an example, a batch's
// query, each checked on its own) passes.
func checkElem(tok json.Token, t reflect.Type, path jsonPath, list reflect.Type, accepts string) error {
	if t == nil || t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface || t == reflect.TypeFor[json.RawMessage]() {
		return nil
	}
	var got string
	switch tok.(type) {
	case json.Delim:
		got = "an array"
		if tok == json.Delim('{') {
			got = "an object"
		}
	case string:
		got = "a string"
	case float64:
		got = "a number"
	case bool:
		got = "a bool"
	case nil:
		got = "null"
	}
	want, _ := nounOf(t)
	fits := false
	switch t.Kind() {
	case reflect.String:
		fits = got == "a string"
	case reflect.Bool:
		fits = got == "a bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		fits = got == "a number" // a number out of t's range is encoding/json's to refuse
	case reflect.Struct, reflect.Map:
		fits = got == "an object"
	case reflect.Slice, reflect.Array:
		fits = got == "an array"
	default:
		return nil
	}
	if fits {
		return nil
	}
	if accepts == "" {
		accepts = describeType(list)
	}
	return badRequest("bad JSON: field %s: %s is not %s: %s takes %s", path, got, want, path[:len(path)-1], accepts)
}

// unknownKey is the 400 of a key that names no field of the object at
// at, pointing out a field that differs only in case.
func unknownKey(at jsonPath, key string, fields map[string]reflect.StructField) error {
	path := at.String()
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
		if strings.EqualFold(n, key) {
			return badRequest("unknown field %s: keys are case-sensitive; did you mean %q?", quoteShort(joinPath(path, key)), joinPath(path, n))
		}
	}
	slices.Sort(names)
	where := ""
	if path != "" {
		where = " in " + path
	}
	return badRequest("unknown field %s%s: accepted are %s", quoteShort(key), where, strings.Join(names, ", "))
}

// jsonFields returns t's exported fields by their json names, as
// encoding/json sees them: an untagged embedded struct's fields as the
// outer object's own.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	fields := make(map[string]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			// An embedded struct's fields are the outer object's keys, as
			// encoding/json promotes them.
			maps.Copy(fields, jsonFields(f.Type))
			continue
		}
		if !f.IsExported() {
			continue
		}
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		fields[name] = f
	}
	return fields
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonError turns encoding/json's error into a 400 naming what is wrong.
// body is the input, to tell a NaN or Infinity (which JSON lacks) from
// other syntax errors; t is the type it decodes into, to name its keys.
func jsonError(err error, body []byte, t reflect.Type) error {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		hint := ""
		if at := se.Offset - 1; at >= 0 && at < int64(len(body)) {
			rest := strings.ToLower(string(body[at:min(int64(len(body)), at+8)]))
			if strings.HasPrefix(rest, "nan") || strings.HasPrefix(rest, "inf") {
				hint = " (NaN and Infinity are not JSON numbers)"
			}
		}
		return badRequest("bad JSON at byte %d: %v%s", se.Offset, se, hint)
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return typeError(te, t)
	}
	switch {
	case errors.Is(err, io.EOF):
		return badRequest("empty body: send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("bad JSON: the body ends before the JSON value does")
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		// checkKeys reports these first; this is a fallback.
		return badRequest("unknown field %s", strings.TrimPrefix(msg, "json: unknown field "))
	}
	return badRequest("bad JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// typeError is the 400 of a value of the wrong type, or of a number out
// of its field's range, in a body decoded into t. It names the field by
// its keys in the body and says what the field accepts.
func typeError(te *json.UnmarshalTypeError, t reflect.Type) error {
	if te.Field == "" {
		return badRequest("bad JSON: the body must be a JSON object, not %s", withArticle(te.Value))
	}
	key, accepts := bodyKey(t, te.Field)
	if num, ok := strings.CutPrefix(te.Value, "number "); ok {
		if outOfRange(num, te.Type) {
			return badRequest("bad JSON: field %s: the number %s is out of range for %s: want %s", key, quoteShort(num), key, numberRange(key, te.Type))
		}
		if digits, how, ok := wholeWritten(num); ok {
			// The range too: the digits may be outside it (1e4 for k).
			return badRequest("bad JSON: field %s: the number %s is a whole number written with %s: write it as %s (%s takes %s)", key, quoteShort(num), how, digits, key, numberRange(key, te.Type))
		}
	}
	if accepts == "" {
		accepts = describeType(te.Type)
	}
	return badRequest("bad JSON: field %s: %s is not %s", key, withArticle(te.Value), accepts)
}

// bodyKey turns encoding/json's name of a field of t into the keys the
// body gives it, and says what the field accepts when its "accepts" tag
// does (a json.RawMessage field, whose Go type says nothing). Since Go
// 1.24 encoding/json names embedded structs in the path
// ("searchBody.offset"); the body has no key for them ("offset").
func bodyKey(t reflect.Type, field string) (key, accepts string) {
	var keys []string
	for seg := range strings.SplitSeq(field, ".") {
		t = valueType(t)
		if t == nil || t.Kind() != reflect.Struct {
			keys, t, accepts = append(keys, seg), nil, ""
			continue
		}
		if f, ok := t.FieldByName(seg); ok && f.Anonymous && f.Tag.Get("json") == "" {
			t = f.Type // an embedded struct: its fields are the outer object's keys
			continue
		}
		st := t
		keys, t, accepts = append(keys, seg), nil, ""
		for i := range st.NumField() {
			if f := st.Field(i); jsonName(f) == seg {
				t, accepts = f.Type, f.Tag.Get("accepts")
				break
			}
		}
	}
	return strings.Join(keys, "."), accepts
}

// valueType is the type a JSON object's key or array's element decodes
// into, when t is a pointer, slice, array or map of it; t otherwise.
func valueType(t reflect.Type) reflect.Type {
	for t != nil {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			t = t.Elem()
		default:
			return t
		}
	}
	return nil
}

// jsonName is the key of a struct field as encoding/json sees it.
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

// outOfRange reports whether num, a JSON number that encoding/json could
// not store in a value of type t, is too large for t rather than of the
// wrong kind (a fraction where t takes whole numbers). A float refuses
// only numbers beyond its range. (The request types have no unsigned
// fields.)
func outOfRange(num string, t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f, err := strconv.ParseFloat(num, 64)
		return err != nil || f == math.Trunc(f) && math.Abs(f) >= math.Ldexp(1, t.Bits()-1)
	}
	return false
}

// numberRange says what a body's number field key, of Go type t, takes,
// for a number beyond any value of t: the field's own range where the
// server checks one (the spans of request.go, a feature's range), else
// t's.
func numberRange(key string, t reflect.Type) string {
	switch key {
	case "k":
		return kSpan.String()
	case "offset":
		return offsetSpan.String()
	case "max_per_artist":
		return maxPerArtistSpan.String()
	case "score_threshold":
		return scoreSpan.String()
	case "diversity":
		return diversitySpan.String()
	case "filter.year_min", "filter.year_max":
		return yearSpan.String()
	case "filter.popularity_min", "filter.popularity_max", "features.popularity":
		return popularitySpan.String()
	case "features.release_year":
		return releaseYearSpan.String()
	case "features.duration_ms":
		return fmt.Sprintf("0..%d", soundalike.MaxDurationMS)
	case "weight":
		return "a number ≥ 0"
	case "vector":
		return "finite 32-bit floats"
	}
	if name, ok := strings.CutPrefix(key, "features."); ok {
		if i := slices.Index(soundalike.FeatureNames(), name); i >= 0 {
			r := soundalike.FeatureRanges()[i]
			return span{r.Min, r.Max}.String()
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		lo := int64(-1) << (t.Bits() - 1)
		return fmt.Sprintf("%d..%d", lo, ^lo)
	}
	return "a finite number"
}

// wholeWritten reads a JSON number (valid, as encoding/json decoded it)
// that encoding/json refused for a whole-number field: when it is a whole
// number written with a fraction or an exponent (100.0, 1e2), which
// encoding/json takes only as digits alone, it returns those digits
// ("100") and how the number was written. The reading is exact, on the
// number's decimal text: 1.0000000000000001 is no whole number, though
// it rounds to one as a float64. A number beyond an int64 is not read
// (outOfRange judges those first).
func wholeWritten(num string) (digits, how string, ok bool) {
	mant, exp, hasExp := strings.Cut(strings.ToLower(num), "e")
	intPart, frac, hasFrac := strings.Cut(mant, ".")
	switch {
	case hasFrac && hasExp:
		how = "a fraction and an exponent"
	case hasFrac:
		how = "a fraction"
	case hasExp:
		how = "an exponent"
	default:
		return "", "", false // digits alone: refused for being out of range
	}
	neg := strings.HasPrefix(intPart, "-")
	d := strings.TrimLeft(strings.TrimPrefix(intPart, "-")+frac, "0")
	e := 0
	if hasExp {
		var err error
		if e, err = strconv.Atoi(exp); err != nil {
			return "", "", false
		}
	}
	e -= len(frac) // the value is d × 10^e
	trimmed := strings.TrimRight(d, "0")
	e += len(d) - len(trimmed)
	switch {
	case trimmed == "":
		return "0", how, true
	case e < 0 || len(trimmed)+e > 19:
		return "", "", false // a fraction, or beyond an int64
	}
	digits = trimmed + strings.Repeat("0", e)
	if neg {
		digits = "-" + digits
	}
	if _, err := strconv.ParseInt(digits, 10, 64); err != nil {
		return "", "", false
	}
	return digits, how, true
}

// withArticle puts "a" or "an" before encoding/json's name of a JSON
// value ("array", "object", "number 1.5", "bool").
func withArticle(value string) string {
	if value != "" && strings.ContainsRune("aeiou", rune(value[0])) {
		return "an " + value
	}
	return "a " + value
}

// describeType says what JSON a Go type accepts, without naming Go types:
// "a whole number", "an array of strings".
func describeType(t reflect.Type) string {
	one, _ := nounOf(t)
	return one
}

// nounOf names what JSON a Go type accepts, as one value ("a string") and
// as many ("strings").
func nounOf(t reflect.Type) (one, many string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[json.RawMessage]() {
		return "a JSON value", "JSON values"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object", "objects"
	case reflect.Slice, reflect.Array:
		_, elems := nounOf(t.Elem())
		return "an array of " + elems, "arrays of " + elems
	case reflect.String:
		return "a string", "strings"
	case reflect.Bool:
		return "true or false", "true or false values"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number", "whole numbers"
	case reflect.Float32, reflect.Float64:
		return "a number", "numbers"
	}
	return "accepted here", "values accepted here"
}

// quoteShort quotes s for a message, cut to 200 bytes: a client's input is
// never echoed whole.
func quoteShort(s string) string {
	const max = 200
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:cut], len(s))
}

// queryOf parses r's query string, refusing a parameter that is badly
// escaped (url.Values.Query drops it silently, which would make a bad
// escape in track look like a missing track).
func queryOf(r *http.Request) (url.Values, error) {
	q := make(url.Values)
	for part := range strings.SplitSeq(r.URL.RawQuery, "&") {
		if part == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return nil, badRequest("query parameter %s is badly escaped: escape %% as %%25 and give %%XX with two hex digits", quoteShort(rawKey))
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return nil, badRequest("query parameter %s: its value %s is badly escaped: escape %% as %%25 and give %%XX with two hex digits", quoteShort(key), quoteShort(rawValue))
		}
		q[key] = append(q[key], value)
	}
	return q, nil
}
