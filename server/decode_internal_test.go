package server

import "testing"

// wholeWritten reads a JSON number's decimal text exactly: a whole number
// written with a fraction or an exponent gives its digits; a fraction, a
// number beyond an int64, or one written as digits alone gives none, and
// an exponent of any size costs nothing.
func TestWholeWritten(t *testing.T) {
	for _, c := range []struct{ num, digits, how string }{
		{"1e2", "100", "an exponent"},
		{"1E+2", "100", "an exponent"},
		{"100.0", "100", "a fraction"},
		{"-2.50e1", "-25", "a fraction and an exponent"},
		{"10e-1", "1", "an exponent"},
		{"0.0e5", "0", "a fraction and an exponent"},
		{"-0.0", "0", "a fraction"},
		{"9.223372036854775807e18", "9223372036854775807", "a fraction and an exponent"},
		{"-9.223372036854775808e18", "-9223372036854775808", "a fraction and an exponent"},
		{"9.223372036854775808e18", "", ""}, // beyond an int64
		{"1.5", "", ""},
		{"1.0000000000000001", "", ""},
		{"1e-1", "", ""},
		{"1e-99999999999999999999999", "", ""},
		{"1e99999999999", "", ""},
		{"100", "", ""},
	} {
		digits, how, ok := wholeWritten(c.num)
		if digits != c.digits || how != c.how || ok != (c.digits != "") {
			t.Errorf("wholeWritten(%s) = %q, %q, %v; want %q, %q", c.num, digits, how, ok, c.digits, c.how)
		}
	}
}
