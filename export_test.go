package soundalike

// ForceScan makes filtered searches scan the matching tracks (true) or
// search the graph (false), so that tests check both against the brute
// force; nil restores the cost model's choice.
func ForceScan(v *bool) { forceScan = v }
