package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// decodeJSON reads the JSON body of c's request, at most limit bytes, into
// dst (a pointer to a struct with json tags). Every POST handler decodes
// its body with it, so that they all answer the same way:
//
//   - a Content-Type other than application/json (a charset other than
//     utf-8, or none at all) is a 415;
//   - a body over limit is a 413 (*http.MaxBytesError);
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
// decodeJSON turns into messages, and adds no dependency.
func decodeJSON(c echo.Context, limit int64, dst any) error {
	return decodeBody(c.Response(), c.Request(), limit, dst)
}

// decodeBody is decodeJSON on the plain request and its response writer.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	if r.ContentLength > limit {
		return &http.MaxBytesError{Limit: limit}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return bodyReadError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("empty body: send a JSON object")
	}
	return decodeValue(body, dst)
}

// decodeValue decodes one JSON value (a body, or one query of a batch)
// into dst with decodeJSON's rules on keys and values.
func decodeValue(body []byte, dst any) error {
	t := reflect.TypeOf(dst)
	if err := checkKeys(json.NewDecoder(bytes.NewReader(body)), t, ""); err != nil {
		if _, ok := errors.AsType[*httpError](err); ok {
			return err
		}
		// A syntax error: encoding/json reports it below, with its offset.
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err, body)
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
		return &httpError{http.StatusUnsupportedMediaType, "no Content-Type: " + want}
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return &httpError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %s: %s", quoteShort(ct), want)}
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return &httpError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %s: JSON is UTF-8; %s (charset=utf-8 may be given)", quoteShort(ct), want)}
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
		return &httpError{http.StatusRequestTimeout, "reading the request body timed out: send the whole body within the server's read timeout"}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return badRequest("the request body ended before its Content-Length")
	}
	return badRequest("reading the request body: %v", err)
}

// checkKeys walks one JSON value with dec, checking the keys of every
// object against t, the Go type it decodes into: each key once, and
// exactly one of the struct's json names. It returns an *httpError for a
// key at fault, and the decoder's error for bad syntax.
func checkKeys(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.Type
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
			at := joinPath(path, key)
			if seen[key] {
				return badRequest("duplicate key %s: give each key once", quoteShort(at))
			}
			seen[key] = true
			vt := elem
			if fields != nil {
				ft, ok := fields[key]
				if !ok {
					return unknownKey(path, key, fields)
				}
				vt = ft
			}
			if err := checkKeys(dec, vt, at); err != nil {
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
			if err := checkKeys(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ']'
		return err
	}
	return nil
}

// unknownKey is the 400 of a key that names no field of the object at
// path, pointing out a field that differs only in case.
func unknownKey(path, key string, fields map[string]reflect.Type) error {
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

// jsonFields returns the json names of t's exported fields and their
// types, as encoding/json sees them (embedded structs are not used in
// request types and are not followed).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
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
		fields[name] = f.Type
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
// other syntax errors.
func jsonError(err error, body []byte) error {
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
		if te.Field == "" {
			return badRequest("bad JSON: the body must be a JSON object, not %s", withArticle(te.Value))
		}
		return badRequest("bad JSON: field %s: %s is not %s", te.Field, withArticle(te.Value), describeType(te.Type))
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
	// Numbers out of range (1e999) and other value errors.
	return badRequest("bad JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// withArticle puts "a" or "an" before encoding/json's name of a JSON
// value ("array", "object", "number 1.5", "bool").
func withArticle(value string) string {
	if value != "" && strings.ContainsRune("aeiou", rune(value[0])) {
		return "an " + value
	}
	return "a " + value
}

// describeType says what JSON a Go type accepts, without naming Go types.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(describeType(t.Elem()), "an "), "a ") + "s"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "accepted here"
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
