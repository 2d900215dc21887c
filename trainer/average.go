package trainer

import "github.com/audotics/soundalike/embedder"

// epochWindow holds the weights of the last n epochs and gives their
// element-wise mean: the model an epoch is scored and kept as
// (--average-epochs). A metadata model peaks after a few epochs and then
// overfits, with large moves of the table rows from one epoch to the
// next; the mean of neighbouring epochs sits between them (as stochastic
// weight averaging does). With n = 1 it is the epoch's own weights.
type epochWindow struct {
	n      int
	tables [][]embedder.Table
	layers [][]embedder.Layer
}

// add records an epoch's weights (the window keeps them, so they must be
// copies) and returns the mean of the last n epochs' as new values.
func (w *epochWindow) add(tables []embedder.Table, layers []embedder.Layer) ([]embedder.Table, []embedder.Layer) {
	if w.n <= 1 {
		return tables, layers
	}
	w.tables = append(w.tables, tables)
	w.layers = append(w.layers, layers)
	if len(w.tables) > w.n {
		w.tables, w.layers = w.tables[1:], w.layers[1:]
	}
	k := float32(len(w.tables))
	mt := make([]embedder.Table, len(tables))
	for i, t := range tables {
		mt[i] = t
		mt[i].W = meanOf(len(t.W), k, func(e int) []float32 { return w.tables[e][i].W })
	}
	ml := make([]embedder.Layer, len(layers))
	for i, l := range layers {
		ml[i] = l
		ml[i].W = meanOf(len(l.W), k, func(e int) []float32 { return w.layers[e][i].W })
		ml[i].B = meanOf(len(l.B), k, func(e int) []float32 { return w.layers[e][i].B })
	}
	return mt, ml
}

// meanOf returns the element-wise mean of the k slices of length n that
// get returns for 0..k−1.
func meanOf(n int, k float32, get func(e int) []float32) []float32 {
	out := make([]float32, n)
	for e := range int(k) {
		for j, v := range get(e) {
			out[j] += v
		}
	}
	for j := range out {
		out[j] /= k
	}
	return out
}
