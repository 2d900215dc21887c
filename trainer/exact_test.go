//go:build amd64 && !amd64.v3

package trainer

// exactBuild is true on the default amd64 build (GOAMD64 v1 or v2), where
// the trainer's Adam and ops give gorgonia's float32s bit for bit and the
// tests compare bits. Built for GOAMD64=v3 or another architecture,
// gorgonia's own operations round differently in places.
const exactBuild = true
