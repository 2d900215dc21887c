package index

import (
	"fmt"
	"math"
)

// The index keeps its vectors in IEEE 754 half precision (binary16): two
// bytes a component instead of four, so that a node's block is four cache
// lines at dim 64, M 16 rather than six, and a search reads a third less
// memory at random. A unit vector's components keep 11 significant bits;
// the cosine of two such vectors is off by about 1e-4, well below the gaps
// between neighbours that decide a ranking. Queries stay in float32.
//
// Conversions round to nearest, ties to even, as the F16C instructions do
// with rounding control 0; toHalf and fromHalf are the portable reference
// the kernels in dot_amd64.s are tested against.

// toHalf returns the half-precision value nearest to f (ties to even).
// Values beyond the largest half (65504) become infinities; NaNs stay NaN.
func toHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff { // infinity or NaN: keep the payload's top bits, quiet
		if mant == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7e00 | uint16(mant>>13)
	}
	e := exp - 127 + 15 // the half's biased exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	var h, rem, halfway uint32
	if e > 0 {
		h = uint32(e)<<10 | mant>>13
		rem, halfway = mant&0x1fff, 0x1000
	} else { // a half subnormal: value = h·2⁻²⁴
		shift := uint(14 - e)
		if shift > 24 {
			return sign // below half the smallest subnormal (float32 subnormals too)
		}
		full := mant | 0x800000 // exp > 0 here: a float32 subnormal returned above
		h = full >> shift
		rem, halfway = full&(1<<shift-1), 1<<(shift-1)
	}
	if rem > halfway || rem == halfway && h&1 == 1 {
		h++ // a carry into the exponent is the right result, up to infinity
	}
	return sign | uint16(h)
}

// fromHalf returns the float32 equal to the half h (exact). The half's
// exponent and mantissa bits, moved to a float32's, read as a number
// 2¹¹² times too small, subnormals included; one multiply scales it.
func fromHalf(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	if h&0x7c00 == 0x7c00 { // infinity or NaN
		return math.Float32frombits(sign | 0x7f800000 | uint32(h&0x3ff)<<13)
	}
	f := math.Float32frombits(uint32(h&0x7fff)<<13) * 0x1p112
	return math.Float32frombits(math.Float32bits(f) | sign)
}

// toHalvesGo writes the halves nearest to src to dst (len(dst) ≥ len(src)).
func toHalvesGo(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = toHalf(f)
	}
}

// fromHalves writes the float32 values of src to dst (len(dst) ≥ len(src)).
func fromHalves(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = fromHalf(h)
	}
}

// sameHalves reports whether a and b hold the same values, −0 equal to +0
// (as float32 comparison has it): a vector given again that rounds to the
// stored one is the same vector.
func sameHalves(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && (a[i]|b[i])&0x7fff != 0 {
			return false
		}
	}
	return true
}

// dotHalfGo is the portable dot product of a float32 query and a stored
// half vector.
func dotHalfGo(q []float32, v []uint16) float32 {
	v = v[:len(q)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(q); i += 4 {
		s0 += q[i] * fromHalf(v[i])
		s1 += q[i+1] * fromHalf(v[i+1])
		s2 += q[i+2] * fromHalf(v[i+2])
		s3 += q[i+3] * fromHalf(v[i+3])
	}
	for ; i < len(q); i++ {
		s0 += q[i] * fromHalf(v[i])
	}
	return s0 + s1 + s2 + s3
}

// dotHalfNormGo is the portable q·v and v·v of a float32 query and a
// stored half vector.
func dotHalfNormGo(q []float32, v []uint16) (dot, vv float32) {
	v = v[:len(q)]
	for i, x := range q {
		f := fromHalf(v[i])
		dot += x * f
		vv += f * f
	}
	return dot, vv
}

// dotHalvesGo is the portable dot product of two stored half vectors.
func dotHalvesGo(a, b []uint16) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += fromHalf(a[i]) * fromHalf(b[i])
		s1 += fromHalf(a[i+1]) * fromHalf(b[i+1])
		s2 += fromHalf(a[i+2]) * fromHalf(b[i+2])
		s3 += fromHalf(a[i+3]) * fromHalf(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += fromHalf(a[i]) * fromHalf(b[i])
	}
	return s0 + s1 + s2 + s3
}

// Stored returns v as an HNSW holds it, the vector that Vector returns
// after Add(id, v): normalised, rounded to halves, and scaled back to unit
// length. v must have finite components, not all zero.
func Stored(v []float32) ([]float32, error) {
	out := make([]float32, len(v))
	if err := normalizeInto(out, v, len(v)); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	h := make([]uint16, len(v))
	toHalves(h, out)
	widenUnit(out, h)
	return out, nil
}

// widenUnit writes the stored vector h to dst scaled to unit length: the
// rounding to halves moved its length from 1 by up to 5e-4. A stored
// vector is finite and not zero (Add checked it before rounding), so the
// normalisation cannot fail.
func widenUnit(dst []float32, h []uint16) {
	dst = dst[:len(h)]
	fromHalves(dst, h)
	_ = normalizeInto(dst, dst, len(h))
}
