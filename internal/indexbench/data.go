package indexbench

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
)

// Generate returns n unit vectors of dim dimensions, one after another.
//
//   - "clustered": 100 Gaussian centres with N(0,1) components; each point
//     is a centre plus 0.7·N(0,1) per component, L2-normalised. The centres
//     come from centreSeed, the points from seed, so queries drawn with
//     another seed fall in the same clusters.
//   - "sphere": i.i.d. N(0,1) components, L2-normalised.
func Generate(kind string, n, dim int, centreSeed, seed uint64) ([]float32, error) {
	r := rand.New(rand.NewPCG(seed, 2))
	out := make([]float32, n*dim)
	switch kind {
	case "clustered":
		cr := rand.New(rand.NewPCG(centreSeed, 1))
		centres := make([]float64, 100*dim)
		for i := range centres {
			centres[i] = cr.NormFloat64()
		}
		for i := range n {
			c := centres[r.IntN(100)*dim:][:dim]
			v := out[i*dim : (i+1)*dim]
			for j := range v {
				v[j] = float32(c[j] + 0.7*r.NormFloat64())
			}
			normalize(v)
		}
	case "sphere":
		for i := range out {
			out[i] = float32(r.NormFloat64())
		}
		for i := range n {
			normalize(out[i*dim : (i+1)*dim])
		}
	default:
		return nil, fmt.Errorf("data %q: want clustered, sphere or a file", kind)
	}
	return out, nil
}

func normalize(v []float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return
	}
	inv := 1 / math.Sqrt(ss)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
}

// ReadFile reads at most max vectors (max ≤ 0: all) from path and returns
// them one after another with their dimension. A path ending in .fvecs is
// read as the TEXMEX format (per vector: little-endian int32 dimension, then
// that many float32). Anything else is text: one vector per line,
// components separated by commas, spaces or tabs; blank lines and lines
// starting with # are skipped. Every vector must have the same dimension.
func ReadFile(path string, max int) ([]float32, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	if strings.HasSuffix(path, ".fvecs") {
		return readFvecs(bufio.NewReader(f), path, max)
	}
	return readText(f, path, max)
}

func readFvecs(r io.Reader, path string, max int) ([]float32, int, error) {
	var out []float32
	dim := 0
	for n := 0; max <= 0 || n < max; n++ {
		var d int32
		if err := binary.Read(r, binary.LittleEndian, &d); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, 0, fmt.Errorf("%s: vector %d: %w", path, n, err)
		}
		if d < 1 || d > 1<<16 {
			return nil, 0, fmt.Errorf("%s: vector %d: dimension %d: want 1..65536", path, n, d)
		}
		if dim == 0 {
			dim = int(d)
		} else if int(d) != dim {
			return nil, 0, fmt.Errorf("%s: vector %d: dimension %d, want %d like vector 0", path, n, d, dim)
		}
		v := make([]float32, dim)
		if err := binary.Read(r, binary.LittleEndian, v); err != nil {
			return nil, 0, fmt.Errorf("%s: vector %d: %w", path, n, err)
		}
		out = append(out, v...)
	}
	if dim == 0 {
		return nil, 0, fmt.Errorf("%s: no vectors", path)
	}
	return out, dim, nil
}

func readText(r io.Reader, path string, max int) ([]float32, int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var out []float32
	dim, n, line := 0, 0, 0
	for sc.Scan() && (max <= 0 || n < max) {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
		if dim == 0 {
			dim = len(fields)
		} else if len(fields) != dim {
			return nil, 0, fmt.Errorf("%s:%d: %d components, want %d like the first vector", path, line, len(fields), dim)
		}
		for i, fs := range fields {
			x, err := strconv.ParseFloat(fs, 32)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, 0, fmt.Errorf("%s:%d: component %d = %q: want a finite number", path, line, i+1, fs)
			}
			out = append(out, float32(x))
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	if dim == 0 {
		return nil, 0, fmt.Errorf("%s: no vectors", path)
	}
	return out, dim, nil
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 3)) }

// WriteFvecs writes vectors of dim dimensions to path in the .fvecs format
// that ReadFile reads, so that another library can be measured on exactly
// the benchmark's data.
func WriteFvecs(path string, vecs []float32, dim int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i := 0; i < len(vecs); i += dim {
		binary.Write(w, binary.LittleEndian, int32(dim))
		binary.Write(w, binary.LittleEndian, vecs[i:i+dim])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
