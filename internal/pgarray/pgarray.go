// Package pgarray reads PostgreSQL's text form of a one-dimensional array
// of strings, such as {a,"b c","d\"e",NULL}: the form a text[] column has
// in a query's text output and in a CSV exported from PostgreSQL. It is
// the one array parser of the import path: package postgres uses it for
// array columns, package ingest for list cells written as arrays.
package pgarray

import (
	"errors"
	"strings"
)

// ErrSyntax: the text is not an array literal.
var ErrSyntax = errors.New("malformed array literal")

// ErrDimensions: the array has more than one dimension.
var ErrDimensions = errors.New("multi-dimensional arrays are not supported")

// Parse returns the elements of a one-dimensional array literal, as
// PostgreSQL's array_in reads them: elements are separated by commas;
// double quotes protect commas, braces and spaces; a backslash escapes the
// next character, quoted or not; spaces around an unquoted element are
// dropped. An unquoted NULL (in any case) is no element at all: an artist
// or genre that is NULL is no artist or genre. A leading dimension
// decoration ([1:2]={a,b}) is accepted. {} gives an empty, non-nil slice.
func Parse(s string) ([]string, error) {
	if strings.HasPrefix(s, "[") {
		i := strings.Index(s, "={")
		if i < 0 {
			return nil, ErrSyntax
		}
		s = s[i+1:]
	}
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, ErrSyntax
	}
	body := s[1 : len(s)-1]
	if strings.TrimSpace(body) == "" {
		return []string{}, nil
	}
	var out []string
	var b strings.Builder
	for i := 0; ; i++ { // i++ skips the comma
		i = skipSpaces(body, i)
		if i >= len(body) {
			return nil, ErrSyntax // a trailing comma
		}
		elem, null, next, err := element(body, i, &b)
		if err != nil {
			return nil, err
		}
		if !null {
			out = append(out, elem)
		}
		i = skipSpaces(body, next)
		if i >= len(body) {
			return out, nil
		}
		if body[i] != ',' {
			return nil, ErrSyntax
		}
	}
}

// element reads the element that starts at body[i], and returns it,
// whether it is an unquoted NULL, and where it ends.
func element(body string, i int, b *strings.Builder) (elem string, null bool, next int, err error) {
	b.Reset()
	switch body[i] {
	case '{':
		return "", false, 0, ErrDimensions
	case '"':
		for i++; i < len(body); i++ {
			switch c := body[i]; {
			case c == '\\' && i+1 < len(body):
				i++
				b.WriteByte(body[i])
			case c == '"':
				return b.String(), false, i + 1, nil
			default:
				b.WriteByte(c)
			}
		}
		return "", false, 0, ErrSyntax // no closing quote
	}
	start := i
	for ; i < len(body) && body[i] != ','; i++ {
		if body[i] == '\\' && i+1 < len(body) {
			i++
		}
		b.WriteByte(body[i])
	}
	raw := strings.TrimRight(body[start:i], " ")
	return strings.TrimRight(b.String(), " "), strings.EqualFold(raw, "NULL"), i, nil
}

func skipSpaces(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}
