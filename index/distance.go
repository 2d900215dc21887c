package index

import (
	"fmt"
	"math"
)

// dotGo is the portable dot product, the reference the SIMD kernel is
// tested against.
func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// DimensionError reports a vector whose length differs from the index's.
type DimensionError struct {
	Got, Want int
}

func (e *DimensionError) Error() string {
	return fmt.Sprintf("vector has %d dimensions, want %d", e.Got, e.Want)
}

// normalizeInto checks v (dimension, finiteness, non-zero norm) and writes
// v/‖v‖ to dst, which must have len(v) elements. The norm is accumulated in
// float64 so that large finite components do not overflow.
func normalizeInto(dst, v []float32, dim int) error {
	if len(v) != dim {
		return &DimensionError{Got: len(v), Want: dim}
	}
	var ss float64
	for i, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("component %d is %v: want a finite number", i, x)
		}
		ss += f * f
	}
	if ss == 0 {
		return fmt.Errorf("vector is all zeros: cosine similarity is undefined")
	}
	inv := 1 / math.Sqrt(ss)
	for i, x := range v {
		dst[i] = float32(float64(x) * inv)
	}
	return nil
}

// Dot returns the dot product of a and b (len(b) ≥ len(a)) with the kernel
// the index searches with: the cosine similarity of two unit vectors.
func Dot(a, b []float32) float32 { return dot(a, b) }
