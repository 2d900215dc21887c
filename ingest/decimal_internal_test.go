package ingest

import (
	"math"
	"strconv"
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
	// parseNumber, with the fast path, still gives what it gave before.
	for s, want := range map[string]float64{"  0.5 ": 0.5, "1e400": math.Inf(1), "-1e400": math.Inf(-1), "1.06e-05": 1.06e-05} {
		if got, err := parseNumber(s); err != nil || got != want {
			t.Errorf("parseNumber(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
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
