package embedder

import (
	"fmt"
	"math"
)

// EncodedWidth returns the number of encoded columns the inputs produce.
func EncodedWidth(inputs []Input) int {
	w := 0
	for _, in := range inputs {
		w += in.Width()
	}
	return w
}

// Encode appends to dst[:0] the encoded, not yet standardised, columns of
// one track's raw numeric inputs (in the order of inputs; NaN = missing;
// Token inputs add no column here, see Model.Prepare). The
// trainer uses it to fit the standardisation; Model.Embed applies the same
// code. It panics if len(raw) != len(inputs).
func Encode(inputs []Input, raw, dst []float32) []float32 {
	if len(raw) != len(inputs) {
		panic(fmt.Sprintf("embedder: %d raw values for %d inputs", len(raw), len(inputs)))
	}
	dst = dst[:0]
	for i, in := range inputs {
		if in.Encoding == Token {
			continue // its table's columns come after the numeric ones
		}
		v := raw[i]
		missing := v != v
		if missing {
			v = in.Impute
		}
		if in.Min < in.Max {
			v = min(max(v, in.Min), in.Max)
		}
		switch in.Encoding {
		case Log:
			dst = append(dst, float32(math.Log(float64(max(v, 0)+in.Param))))
		case Cyclic:
			s, c := math.Sincos(2 * math.Pi * float64(v) / float64(in.Param))
			dst = append(dst, float32(s), float32(c))
		case Binary:
			b := float32(0)
			if v >= 0.5 {
				b = 1
			}
			dst = append(dst, b)
		default:
			dst = append(dst, v)
		}
		if in.Indicator {
			b := float32(0)
			if missing {
				b = 1
			}
			dst = append(dst, b)
		}
	}
	return dst
}

// FitStandardization returns the mean and standard deviation (population,
// zero std reported as 1) of each column of rows, a flat row-major matrix
// of width columns. It panics if len(rows) is not a multiple of width.
func FitStandardization(rows []float32, width int) (mean, std []float32) {
	if width <= 0 || len(rows)%width != 0 {
		panic(fmt.Sprintf("embedder: %d values do not form rows of %d", len(rows), width))
	}
	n := len(rows) / width
	sum := make([]float64, width)
	sq := make([]float64, width)
	for r := 0; r < n; r++ {
		for j, v := range rows[r*width : (r+1)*width] {
			sum[j] += float64(v)
		}
	}
	mean = make([]float32, width)
	std = make([]float32, width)
	for j := range sum {
		if n > 0 {
			sum[j] /= float64(n)
		}
		mean[j] = float32(sum[j])
	}
	for r := 0; r < n; r++ {
		for j, v := range rows[r*width : (r+1)*width] {
			d := float64(v) - sum[j]
			sq[j] += d * d
		}
	}
	for j := range sq {
		s := 0.0
		if n > 0 {
			s = math.Sqrt(sq[j] / float64(n))
		}
		if s == 0 || math.IsNaN(s) {
			s = 1
		}
		std[j] = float32(s)
	}
	return mean, std
}
