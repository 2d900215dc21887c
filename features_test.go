package soundalike_test

import (
	"slices"
	"testing"

	"github.com/audotics/soundalike"
)

// TestValidateFeatureKeyAndMode: every error about key or mode, out of
// range or with a fraction, says the values the field accepts, in one
// wording per field; the whole values in range are accepted.
func TestValidateFeatureKeyAndMode(t *testing.T) {
	key := slices.Index(soundalike.FeatureNames(), "key")
	mode := slices.Index(soundalike.FeatureNames(), "mode")
	for _, tc := range []struct {
		i    int
		v    float64
		want string // "" for accepted
	}{
		{key, 6.5, "key: 6.5 is not a whole number in -1..11 (pitch class, -1 = unknown)"},
		{key, -0.5, "key: -0.5 is not a whole number in -1..11 (pitch class, -1 = unknown)"},
		{key, 12, "key: 12 is outside -1..11 (pitch class, -1 = unknown)"},
		{key, -2, "key: -2 is outside -1..11 (pitch class, -1 = unknown)"},
		{key, 11.5, "key: 11.5 is outside -1..11 (pitch class, -1 = unknown)"},
		{mode, 0.5, "mode: 0.5 is not 0 (minor) or 1 (major)"},
		{mode, 2, "mode: 2 is not 0 (minor) or 1 (major)"},
		{mode, -1, "mode: -1 is not 0 (minor) or 1 (major)"},
		{key, -1, ""},
		{key, 0, ""},
		{key, 11, ""},
		{mode, 0, ""},
		{mode, 1, ""},
	} {
		err := soundalike.ValidateFeature(tc.i, tc.v)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("ValidateFeature(%s, %v) = %v, want nil", soundalike.FeatureName(tc.i), tc.v, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("ValidateFeature(%s, %v) = %v, want %q", soundalike.FeatureName(tc.i), tc.v, err, tc.want)
		}
	}
}
