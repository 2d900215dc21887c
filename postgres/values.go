package postgres

import (
	"errors"
	"strings"
)

// PostgreSQL type OIDs whose text form the source rewrites before mapping.
const (
	oidTextArray    = 1009
	oidVarcharArray = 1015
	oidBpcharArray  = 1014
	oidNameArray    = 1003
	oidTimestamp    = 1114
)

// isTextArray reports whether oid is a one-dimensional array of strings.
func isTextArray(oid uint32) bool {
	switch oid {
	case oidTextArray, oidVarcharArray, oidBpcharArray, oidNameArray:
		return true
	}
	return false
}

var errArraySyntax = errors.New("malformed array literal")

// parseTextArray parses PostgreSQL's text form of a one-dimensional array of
// strings, such as {a,"b c","d\"e",NULL}. NULL elements are dropped: an
// artist or genre that is NULL is no artist or genre.
func parseTextArray(s string) ([]string, error) {
	// An optional dimension decoration: [1:2]={a,b}.
	if strings.HasPrefix(s, "[") {
		i := strings.Index(s, "={")
		if i < 0 {
			return nil, errArraySyntax
		}
		s = s[i+1:]
	}
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, errArraySyntax
	}
	body := s[1 : len(s)-1]
	if strings.TrimSpace(body) == "" {
		return []string{}, nil
	}
	var out []string
	var b strings.Builder
	i := 0
	for {
		for i < len(body) && body[i] == ' ' {
			i++
		}
		if i >= len(body) {
			return nil, errArraySyntax
		}
		b.Reset()
		switch body[i] {
		case '{':
			return nil, errors.New("multi-dimensional arrays are not supported")
		case '"':
			i++
			closed := false
			for i < len(body) {
				c := body[i]
				if c == '\\' && i+1 < len(body) {
					b.WriteByte(body[i+1])
					i += 2
					continue
				}
				if c == '"' {
					i++
					closed = true
					break
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return nil, errArraySyntax
			}
			out = append(out, b.String())
		default:
			start := i
			for i < len(body) && body[i] != ',' {
				if body[i] == '\\' && i+1 < len(body) {
					b.WriteByte(body[i+1])
					i += 2
					continue
				}
				b.WriteByte(body[i])
				i++
			}
			raw := strings.TrimRight(body[start:i], " ")
			v := strings.TrimRight(b.String(), " ")
			if !strings.EqualFold(raw, "NULL") {
				out = append(out, v)
			}
		}
		for i < len(body) && body[i] == ' ' {
			i++
		}
		if i >= len(body) {
			return out, nil
		}
		if body[i] != ',' {
			return nil, errArraySyntax
		}
		i++
	}
}
