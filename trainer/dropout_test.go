package trainer

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFillDropoutDrawsAsFloat32: fillDropout keeps exactly the units for
// which the generator's Float32 is below keep, and leaves the generator
// where those draws would.
func TestFillDropoutDrawsAsFloat32(t *testing.T) {
	for _, keep := range []float32{0.8, 0.5, 0.999, 1, 1 - 0.35, 0.1 + 0.2, 1.0 / 3} {
		got, ref := rand.New(rand.NewPCG(9, 10)), rand.New(rand.NewPCG(9, 10))
		mask := make([]float32, 100_000)
		fillDropout(mask, keep, got)
		kept := 0
		for i, m := range mask {
			want := float32(0)
			if ref.Float32() < keep {
				want = 1 / keep
				kept++
			}
			if math.Float32bits(m) != math.Float32bits(want) {
				t.Fatalf("keep %v, unit %d: %v, want %v", keep, i, m, want)
			}
		}
		if got.Uint64() != ref.Uint64() {
			t.Fatalf("keep %v: the generators part after the masks", keep)
		}
		t.Logf("keep %v: %d of %d kept", keep, kept, len(mask))
	}
}

// values is a rand.Source that returns its values in turn.
type values []uint64

func (v *values) Uint64() uint64 {
	x := (*v)[0]
	*v = (*v)[1:]
	return x
}

// TestFillDropoutBoundary: at draws either side of keep's boundary, and
// with the high bits Float32 drops set, fillDropout decides as Float32.
func TestFillDropoutBoundary(t *testing.T) {
	for _, keep := range []float32{0.8, 0.5, 1} {
		limit := uint64(math.Ceil(float64(keep) * (1 << 24)))
		var draws []uint64
		for _, k := range []uint64{0, 1, limit - 2, limit - 1, limit, limit + 1, 1<<24 - 1} {
			for _, high := range []uint64{0, 0xff} {
				draws = append(draws, (high<<24|k%(1<<24))<<32|0xdeadbeef)
			}
		}
		src, ref := values(append([]uint64(nil), draws...)), values(append([]uint64(nil), draws...))
		mask := make([]float32, len(draws))
		fillDropout(mask, keep, rand.New(&src))
		r := rand.New(&ref)
		for i, m := range mask {
			want := float32(0)
			if r.Float32() < keep {
				want = 1 / keep
			}
			if m != want {
				t.Errorf("keep %v, draw %#x: %v, want %v", keep, draws[i], m, want)
			}
		}
	}
}
