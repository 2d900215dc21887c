package postgres

// PostgreSQL type OIDs whose text form the source rewrites before mapping.
const (
	oidTextArray    = 1009
	oidVarcharArray = 1015
	oidBpcharArray  = 1014
	oidNameArray    = 1003
	oidTimestamp    = 1114
)

// isTextArray reports whether oid is a one-dimensional array of strings.
func isTextArray(oid uint32) bool {
	switch oid {
	case oidTextArray, oidVarcharArray, oidBpcharArray, oidNameArray:
		return true
	}
	return false
}
