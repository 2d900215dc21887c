package embedder_test

import (
	"bytes"
	"fmt"
	"math"

	"github.com/audotics/soundalike/embedder"
)

// A two-input model: key (cyclic) and energy, one dense layer to 2-d.
func Example() {
	inputs := []embedder.Input{
		{Name: "key", Encoding: embedder.Cyclic, Param: 12},
		{Name: "energy"},
	}
	// Encoded columns: sin(key), cos(key), energy; standardise energy only.
	mean := []float32{0, 0, 0.5}
	std := []float32{1, 1, 0.25}
	layer := embedder.Layer{In: 3, Out: 2,
		W: []float32{
			1, 0, // sin(key)
			0, 1, // cos(key)
			1, 1, // energy
		},
		B: []float32{0, 0},
	}
	m, err := embedder.New(inputs, mean, std, []embedder.Layer{layer}, []byte(`{"note":"example"}`))
	if err != nil {
		panic(err)
	}
	v, err := m.Embed([]float32{3, 0.5}, nil) // key 3: sin 1, cos 0; energy at the mean
	if err != nil {
		panic(err)
	}
	fmt.Printf("%v %.3f %.3f\n", m.Inputs(), v[0], math.Abs(float64(v[1])))

	// Missing values (NaN) become the input's Impute value (0 here).
	if v, err = m.Embed([]float32{float32(math.NaN()), 0.5}, nil); err != nil {
		panic(err)
	}
	fmt.Printf("%.3f %.3f\n", math.Abs(float64(v[0])), v[1])

	// Save and load.
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		panic(err)
	}
	m2, err := embedder.Read(&buf)
	if err != nil {
		panic(err)
	}
	fmt.Println(m2.Dim(), string(m2.Config()))
	// Output:
	// [key energy] 1.000 0.000
	// 0.000 1.000
	// 2 {"note":"example"}
}
