package trainer

import (
	"fmt"

	"github.com/audotics/soundalike/embedder"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// tableInput is an embedding table and the number of token slots a track
// has for it.
type tableInput struct {
	embedder.Table
	Slots int
}

// lookup is one embedding table beside the graph. The graph sees only the
// mean of the rows of each track's present tokens, as an input node
// (mean) whose gradient it computes; the table itself, its gradient and
// its Adam state stay in plain Go. Letting gorgonia differentiate a
// lookup instead (ByIndices) builds and Adam-updates a dense gradient
// tensor of the whole table with several passes and copies per step;
// here the gradient is scatter-added into one buffer that only the
// batch's rows touch, and one loop applies the same Adam update to every
// row.
//
// Slot s of graph row r is at s·rows + r of idx and wt; an absent slot
// has weight 0.
type lookup struct {
	slots, rows int
	spec        embedder.Table
	w           []float32 // the table, spec.Rows() rows of spec.RowWidth()
	idx         []int     // slots·rows token rows
	wt          []float32 // slots·rows: 1/present or 0
	meanv       *tensor.Dense
	mean        *G.Node   // (rows, RowWidth): Σ_s wt·w[idx]
	grad        []float32 // the step's gradient of w, cleared by each update
	adam        adam
}

// newLookup adds the mean-row input of table t (its W the initial
// weights) to g for rows graph rows; the table learns at rate, with
// decoupled weight decay decay.
func newLookup(g *G.ExprGraph, t tableInput, rows int, rate, decay float64) *lookup {
	rw := t.RowWidth()
	lk := &lookup{slots: t.Slots, rows: rows, spec: t.Table, w: append([]float32(nil), t.W...)}
	lk.idx = make([]int, t.Slots*rows)
	lk.wt = make([]float32, t.Slots*rows)
	lk.meanv = tensor.New(tensor.WithShape(rows, rw), tensor.Of(tensor.Float32))
	lk.mean = G.NewMatrix(g, G.Float32, G.WithShape(rows, rw), G.WithName("mean_"+t.Name), G.WithValue(lk.meanv))
	lk.grad = make([]float32, len(lk.w))
	lk.adam = newAdam(len(lk.w), rate, decay)
	return lk
}

// set fills graph row r from a track's token rows (−1 = absent slot).
func (lk *lookup) set(r int, rows []int) {
	present := 0
	for _, row := range rows {
		if row >= 0 {
			present++
		}
	}
	for s, row := range rows {
		k := s*lk.rows + r
		if row >= 0 {
			lk.idx[k], lk.wt[k] = row, 1/float32(present)
		} else {
			lk.idx[k], lk.wt[k] = 0, 0
		}
	}
}

// gather writes the graph rows' mean rows into the mean input.
func (lk *lookup) gather() {
	d := lk.spec.RowWidth()
	out := lk.meanv.Data().([]float32)
	clear(out)
	for s := range lk.slots {
		for r := range lk.rows {
			k := s*lk.rows + r
			wt := lk.wt[k]
			if wt == 0 {
				continue
			}
			src := lk.w[lk.idx[k]*d : (lk.idx[k]+1)*d]
			dst := out[r*d : (r+1)*d]
			for j, v := range src {
				dst[j] += wt * v
			}
		}
	}
}

// backward reads the gradient of the mean input from the last run and,
// with step, scatter-adds it into the table's gradient and applies one
// Adam update. The mean's gradient is cleared either way.
func (lk *lookup) backward(step bool) error {
	grad, err := lk.mean.Grad()
	if err != nil {
		return fmt.Errorf("table %s: gradient: %w", lk.spec.Name, err)
	}
	gm := grad.Data().([]float32)
	if step {
		d := lk.spec.RowWidth()
		g := lk.grad
		for k, wt := range lk.wt {
			if wt == 0 {
				continue
			}
			r := k % lk.rows
			dst := g[lk.idx[k]*d : (lk.idx[k]+1)*d]
			for j, v := range gm[r*d : (r+1)*d] {
				dst[j] += wt * v
			}
		}
		lk.adam.step(lk.w, lk.grad)
	}
	clear(gm)
	return nil
}

// weights returns a copy of the table with its current weights.
func (lk *lookup) weights() embedder.Table {
	t := lk.spec
	t.W = append([]float32(nil), lk.w...)
	return t
}
