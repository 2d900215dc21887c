//go:build !amd64

package trainer

// adamConsts are an update's float32 constants.
type adamConsts struct {
	beta1, omb1, beta2, omb2, c1, c2, eps, negEta float32
}

// adamStep applies the update to the first len(w) of w, g, m and v.
func adamStep(w, g, m, v []float32, k *adamConsts) { adamStepGo(w, g, m, v, k) }
