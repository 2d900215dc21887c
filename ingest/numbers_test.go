package ingest_test

import (
	"errors"
	"testing"

	"github.com/audotics/soundalike/ingest"
)

// numberRow maps one row of the features, track_popularity and
// duration_ms, with the given cells in place of the defaults.
func numberRow(t *testing.T, cells map[string]string) (ingest.Record, error) {
	t.Helper()
	cols := append(append([]string{"track_id"}, features...), "track_popularity", "duration_ms")
	vals := map[string]string{"track_id": "t1", "key": "5", "loudness": "-7", "mode": "1", "tempo": "120",
		"track_popularity": "50", "duration_ms": "194754"}
	row := make([]string, len(cols))
	for i, c := range cols {
		v, ok := cells[c]
		switch {
		case ok:
		case vals[c] != "":
			v = vals[c]
		default:
			v = "0.5"
		}
		row[i] = v
	}
	m, err := ingest.NewMapper("f.csv", cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m.Map(2, row)
}

// A number cell is a plain decimal: Go's other literal forms, which
// strconv reads, are refused in every numeric column, quoting the cell
// and saying what is accepted.
func TestNumberCellsArePlainDecimals(t *testing.T) {
	const accepted = "plain decimals such as 120, -7.25 or 1.06e-05"
	const whole = "whole numbers such as 50 or 50.0"
	for _, tc := range []struct{ col, cell, want string }{
		{"danceability", "0x1p-2", `danceability: "0x1p-2" is not a number (accepted: ` + accepted + ")"},
		{"danceability", "1_0", `danceability: "1_0" is not a number (accepted: ` + accepted + ")"},
		{"tempo", "1_20", `tempo: "1_20" is not a number (accepted: ` + accepted + ")"},
		{"tempo", "Infinity", `tempo: "Infinity" is not a number (accepted: ` + accepted + ")"},
		{"tempo", "nan", `tempo: "nan" is not a number (accepted: ` + accepted + ")"},
		{"key", "0x5", `key: "0x5" is not a number (accepted: ` + accepted + ")"},
		{"track_popularity", "5_0", `track_popularity: "5_0" is not a number (accepted: ` + whole + ")"},
		{"track_popularity", "0x10", `track_popularity: "0x10" is not a number (accepted: ` + whole + ")"},
		{"duration_ms", "0x1p10", `duration_ms: "0x1p10" is not a number (accepted: ` + whole + ")"},
		{"duration_ms", "Inf", `duration_ms: "Inf" is not a number (accepted: ` + whole + ")"},
	} {
		_, err := numberRow(t, map[string]string{tc.col: tc.cell})
		if re, ok := errors.AsType[*ingest.RowError](err); !ok || re.Reason != tc.want {
			t.Errorf("%s=%s: error %v, want %q", tc.col, tc.cell, err, tc.want)
		}
	}
}

// The whole-number columns share one rule: a whole value, written with
// or without a zero fraction or an exponent; a fraction is refused in
// each, naming the values the column accepts (duration_ms is not
// rounded; key and mode in soundalike's words), and a value too large
// for any of them is quoted as written with the accepted range, as a
// value in range of an int is by soundalike's check.
func TestWholeNumberCells(t *testing.T) {
	const durations = "0..2147483647 (milliseconds; 0 means unknown)"
	for _, tc := range []struct{ col, cell, want string }{
		{"duration_ms", "1.5", `duration_ms: "1.5" is not a whole number in ` + durations},
		{"duration_ms", "194754.5", `duration_ms: "194754.5" is not a whole number in ` + durations},
		{"track_popularity", "50.5", `track_popularity: "50.5" is not a whole number in 0..100`},
		{"key", "5.5", "key: 5.5 is not a whole number in -1..11 (pitch class, -1 = unknown)"},
		{"mode", "0.5", "mode: 0.5 is not 0 (minor) or 1 (major)"},
		{"track_popularity", "99999999999999999999", `track_popularity: "99999999999999999999" is outside 0..100`},
		{"track_popularity", "1e400", `track_popularity: "1e400" is outside 0..100`},
		{"track_popularity", "-3000000000", `track_popularity: "-3000000000" is outside 0..100`},
		{"track_popularity", "101", "track_popularity: 101 is outside 0..100"},
		{"duration_ms", "99999999999999999999", `duration_ms: "99999999999999999999" is outside ` + durations},
		{"duration_ms", "2147483648", `duration_ms: "2147483648" is outside ` + durations},
		{"duration_ms", "-5", "duration_ms: -5 is outside " + durations},
		{"tempo", "1e400", `tempo: "1e400" is outside [0, 400]`},
	} {
		_, err := numberRow(t, map[string]string{tc.col: tc.cell})
		if re, ok := errors.AsType[*ingest.RowError](err); !ok || re.Reason != tc.want {
			t.Errorf("%s=%s: error %v, want %q", tc.col, tc.cell, err, tc.want)
		}
	}
	for _, tc := range []struct {
		cells                     map[string]string
		popularity, duration, key int
	}{
		{map[string]string{"duration_ms": "194754.0", "track_popularity": "50.0", "key": "1.0"}, 50, 194754, 1},
		{map[string]string{"duration_ms": "1.94754e5", "track_popularity": "5e1", "key": " 7 "}, 50, 194754, 7},
		{map[string]string{"duration_ms": "2147483647", "track_popularity": "+0", "key": "-1"}, 0, 2147483647, -1},
		{map[string]string{"duration_ms": "", "track_popularity": " "}, 0, 0, 5},
	} {
		rec, err := numberRow(t, tc.cells)
		if err != nil {
			t.Errorf("%v: %v", tc.cells, err)
			continue
		}
		if got := rec.Track; got.Popularity != tc.popularity || got.DurationMS != tc.duration || got.Features.Key != tc.key {
			t.Errorf("%v: popularity %d, duration_ms %d, key %d; want %d, %d, %d", tc.cells,
				got.Popularity, got.DurationMS, got.Features.Key, tc.popularity, tc.duration, tc.key)
		}
	}
}
