//go:build !amd64

package trainer

// hasAVX is false: adamStep is the Go loop.
const hasAVX = false

// adamStep applies the update to the first len(w) elements of w, g, m
// and v.
func adamStep(w, g, m, v []float32, k *adamConsts) { adamStepGo(w, g, m, v, k) }
