package ingest

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// checkDecimal fails when parseDecimal accepts s but disagrees with
// strconv.ParseFloat to the bit.
func checkDecimal(t *testing.T, s string) (accepted bool) {
	t.Helper()
	got, ok := parseDecimal(s)
	if !ok {
		return false
	}
	want, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Errorf("parseDecimal(%q) = %v, but ParseFloat refuses it: %v", s, got, err)
	} else if math.Float64bits(got) != math.Float64bits(want) {
		t.Errorf("parseDecimal(%q) = %v (%#x), ParseFloat = %v (%#x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
	}
	return true
}

func TestParseDecimal(t *testing.T) {
	for _, s := range []string{
		// The dev file's shapes.
		"0.0123", "0.748", "-5.738", "122.036", "1.06e-05", "2.55E-4", "0", "1", "11", "-1",
		"194754", "66", "0.000102", "9.99e-01",
		// Signs, zeros, bare points.
		"-0", "+0", "-0.0", "+1.5", "1.", ".5", "-.5", "007.50", "0e0", "0e999", "1e0", "1e+2",
		// The fast path's edges: 2^53, 19 digits, powers of ten up to 22.
		"9007199254740992", "9007199254740993", "1234567890123456789", "0.1234567890123456789",
		"1e22", "1e23", "1e-22", "1e-23", "123456789e15", "3.14159e-20",
	} {
		checkDecimal(t, s)
	}
	for _, s := range []string{"", "-", "+", ".", "e5", "1e", "1e+", "1.5x", " 1", "1 ",
		"0x1p3", "inf", "NaN", "1_000", "12345678901234567890", "1e12345", "--1", "1.2.3"} {
		if f, ok := parseDecimal(s); ok {
			t.Errorf("parseDecimal(%q) = %v, want it left to ParseFloat", s, f)
		}
	}
}

// parseNumber reads plain decimals, spaces around them allowed, as
// strconv.ParseFloat does, and refuses the other forms ParseFloat reads
// (Go's hex and _ separators, Inf and NaN spellings).
func TestParseNumber(t *testing.T) {
	for s, want := range map[string]float64{
		"0.5": 0.5, "  0.5 ": 0.5, "\t-7.25": -7.25, "1.06e-05": 1.06e-05, "120": 120, "+1": 1, ".5": 0.5, "1.": 1,
		"194754.0": 194754, "2E3": 2000, "1e-400": 0, "12345678901234567890": 12345678901234567890,
	} {
		if got, err := parseNumber(s); err != nil || got != want {
			t.Errorf("parseNumber(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for s, want := range map[string]float64{"1e400": math.Inf(1), " -1e400": math.Inf(-1)} {
		if got, err := parseNumber(s); !errors.Is(err, errOverflow) || got != want {
			t.Errorf("parseNumber(%q) = %v, %v; want %v, errOverflow", s, got, err, want)
		}
	}
	for _, s := range []string{
		"0x1p-2", "0x10", "0X1P2", "1_20", "5_0", "1_000.5", "0b101", "0o17", // Go literals
		"Inf", "+Inf", "-inf", "Infinity", "-Infinity", "NaN", "nan", // Inf and NaN spellings
		"", " ", "-", ".", "e5", "1e", "1e+", "1.5x", "1 2", "--1", "1.2.3", "١٢", "1,5",
	} {
		if got, err := parseNumber(s); !errors.Is(err, errNotNumber) {
			t.Errorf("parseNumber(%q) = %v, %v; want errNotNumber", s, got, err)
		}
	}
}

// plainDecimal is the grammar of a plain decimal, which isDecimal and
// parseDecimal each scan by hand.
var plainDecimal = regexp.MustCompile(`^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$`)

// FuzzParseNumber: parseNumber accepts exactly the plain decimals, with
// spaces around them, and reads them as strconv.ParseFloat does.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"0.0123", " -5.738 ", "1.06e-05", "1e400", ".5", "1.", "0x1p-2", "1_20", "Inf", "NaN", "+.e1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseNumber(s)
		trimmed := strings.TrimSpace(s)
		plain := plainDecimal.MatchString(trimmed)
		if (err != errNotNumber) != plain {
			t.Fatalf("parseNumber(%q) = %v, %v; plain decimal: %v", s, got, err, plain)
		}
		if !plain {
			return
		}
		want, werr := strconv.ParseFloat(trimmed, 64)
		if math.Float64bits(got) != math.Float64bits(want) || (err == errOverflow) != (werr != nil) {
			t.Errorf("parseNumber(%q) = %v, %v; ParseFloat = %v, %v", s, got, err, want, werr)
		}
	})
}

// FuzzParseDecimal: whatever the fast path accepts, it parses exactly as
// strconv.ParseFloat does.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0.0123", "-5.738", "1.06e-05", "9007199254740993", "1e22", ".5", "1."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkDecimal(t, s) })
}

// TestParseDecimalExhaustiveShapes compares the fast path with ParseFloat
// on many generated decimals of the lengths and exponents features have.
func TestParseDecimalExhaustiveShapes(t *testing.T) {
	x := uint64(88172645463325252)
	next := func() uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
	n := 0
	for range 200000 {
		digits := strconv.FormatUint(next()%(1<<uint(1+next()%54)), 10)
		s := digits
		if p := int(next() % uint64(len(digits)+1)); p < len(digits) {
			s = digits[:p] + "." + digits[p:]
		}
		if next()%3 == 0 {
			s += "e" + strconv.Itoa(int(next()%50)-25)
		}
		if next()%2 == 0 {
			s = "-" + s
		}
		if checkDecimal(t, s) {
			n++
		}
		if t.Failed() {
			return
		}
	}
	if n < 100000 {
		t.Errorf("the fast path took only %d of 200000 generated decimals", n)
	}
}
