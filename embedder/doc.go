// Package embedder applies a trained track-embedding network in pure Go.
//
// A [Model] reads a track's raw inputs (named as in soundalike.RawInputs:
// the eleven Spotify audio features plus duration_ms, release_year and
// popularity; NaN means missing), encodes them, standardises the encoded
// columns, runs a stack of dense layers and L2-normalises the result. The
// model carries its input names, encodings, standardisation, weights and
// training config, so inference always matches training. The package
// deals only in []float32; it never imports gorgonia (package trainer
// trains models) or the soundalike root package.
//
// # Encoding
//
// For each input, in order: a missing value (NaN) becomes Impute; the
// value is clipped to [Min, Max] when Min < Max; then
//
//	Linear  x                                   1 column
//	Log     log(max(x,0) + Param)               1 column
//	Cyclic  sin(2πx/Param), cos(2πx/Param)      2 columns
//	Binary  1 if x ≥ 0.5 else 0                 1 column
//
// followed, when Indicator is set, by a column that is 1 if the value was
// missing. Each encoded column j is then standardised as (x−mean[j])/std[j].
// Each layer computes act(x·W + B) with W stored row-major, In rows of Out
// columns; the output y becomes y / sqrt(|y|² + NormEps).
//
// # Model file format, version 1
//
// A model file (also the database's model blob) is little-endian:
//
//	offset  size  field
//	0       8     magic "SNDLKMDL"
//	8       4     format version, uint32 = 1
//	12      4     payload length N, uint32
//	16      N     payload
//	16+N    4     CRC-32 (IEEE) of bytes [0, 16+N)
//
// The payload is
//
//	uint32 number of inputs, then per input:
//	    uint16 name length, name (UTF-8)
//	    uint8  encoding (0 linear, 1 log, 2 cyclic, 3 binary)
//	    uint8  flags (bit 0: missing-value indicator column; others 0)
//	    float32 param, impute, min, max
//	uint32 W, the number of encoded columns
//	float32[W] means, float32[W] standard deviations (never 0)
//	uint32 number of layers, then per layer:
//	    uint32 in, uint32 out, uint8 activation (0 identity, 1 ReLU)
//	    float32[in*out] weights (row-major), float32[out] biases
//	uint32 config length, config (the training run's config, JSON)
//
// Readers reject unknown versions, bad checksums, trailing bytes, counts
// that exceed the data present, layers that do not chain (the first
// layer's in must be W), and non-finite numbers. Writers produce exactly
// what readers accept, so decoding and re-encoding a file gives the same
// bytes. testdata/model_v1.bin is a version-1 file that must keep loading.
//
// # Speed and concurrency
//
// A Model is immutable and safe for concurrent use. EmbedBatch splits large
// batches over GOMAXPROCS goroutines; Embed and EmbedBatch do not allocate
// in the steady state.
package embedder
