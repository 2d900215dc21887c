//go:build !amd64 || amd64.v3

package trainer

// exactBuild is false: on this build gorgonia's own operations round
// differently in places from the default amd64 build's, so the tests
// that compare with them allow 1e-5 (exact_test.go).
const exactBuild = false
