// Package embedder applies a trained track-embedding network in pure Go.
//
// A [Model] reads a track's raw inputs (named as in soundalike.RawInputs:
// the eleven Spotify audio features plus duration_ms, release_year and
// popularity; NaN means missing), encodes them, standardises the encoded
// columns, runs a stack of dense layers and L2-normalises the result. The
// model carries its input names, encodings, standardisation, weights and
// training config, so inference always matches training. The package
// deals only in []float32 and uint32 token ids (TokenID, Key and
// NameTokens define how the root package turns names into ids); it never
// imports gorgonia (package trainer
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
// A Token input (encoding 4) adds no column of its own: its raw value is a
// token id (TokenID, below 2^24, exact in a float32; NaN when absent), and
// after the standardised columns come, for each Table in order, the first
// Dim columns of the mean of the rows of the track's present tokens (zeros
// when none). A table's other OutDim columns of that mean are added to the
// last layer's output before the normalisation.
// Each layer computes act(x·W + B) with W stored row-major, In rows of Out
// columns; the output y becomes y / sqrt(|y|² + NormEps). An output with a
// non-finite component, or shorter than sqrt(1000·NormEps), has no
// direction to normalise: Embed and EmbedBatch write it as all NaN and
// return an error wrapping ErrDegenerate.
//
// # Model file format, versions 1 and 2
//
// A model file (also the database's model blob) is little-endian:
//
//	offset  size  field
//	0       8     magic "SNDLKMDL"
//	8       4     format version, uint32: 1 or 2
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
// Version 2 (written for a model with tables) adds, per input after max, a
// uint16 table index; and after the standard deviations:
//
//	uint32 tokenizer version (TokenizerVersion; others are refused)
//	uint32 number of tables, then per table:
//	    uint16 name length, name
//	    uint32 Dim, uint32 OutDim
//	    uint32 vocabulary size V, uint32[V] token ids (increasing)
//	    uint32 buckets, uint32 hash seed
//	    float32[(V+buckets)*(Dim+OutDim)] rows
//
// Readers reject unknown versions, bad checksums, trailing bytes, counts
// that exceed the data present, layers that do not chain (the first
// layer's in must be W), and non-finite numbers. Writers produce exactly
// what readers accept, so decoding and re-encoding a file gives the same
// bytes. testdata/model_v1.bin and model_v2.bin must keep loading.
//
// # Speed and concurrency
//
// A Model is immutable and safe for concurrent use. Embed does not
// allocate (scratch buffers come from a pool). EmbedBatch splits large
// batches over GOMAXPROCS goroutines, 64 tracks per matrix product (gonum's
// Sgemm), and allocates only for those goroutines.
package embedder
