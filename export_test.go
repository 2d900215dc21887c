package soundalike

// ForceScan makes filtered searches scan the matching tracks (true) or
// search the graph (false), so that tests check both against the brute
// force; nil restores the cost model's choice.
func ForceScan(v *bool) { forceScan = v }

// OnCandidateSource calls fn with where each search takes its candidates
// from, as it chooses (sourceFor): "index", "scan" or "kept" (the graph
// through kept tracks only); nil stops it.
func OnCandidateSource(fn func(source string)) {
	if fn == nil {
		sourceChosen = nil
		return
	}
	sourceChosen = func(src source) {
		fn([...]string{fromIndex: "index", fromScan: "scan", fromKept: "kept"}[src])
	}
}
