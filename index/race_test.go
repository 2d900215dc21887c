//go:build race

package index

// raceEnabled shrinks the heavy tests under the race detector, which slows
// them tenfold; they still assert the same properties.
const raceEnabled = true
