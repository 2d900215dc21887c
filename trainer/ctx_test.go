package trainer

import (
	"context"
	"strings"
	"testing"
)

// TestTrainRefusesANilCtx: Train with a nil ctx returns an error saying
// what to pass, as the root package's calls do, rather than panic.
func TestTrainRefusesANilCtx(t *testing.T) {
	tracks, ins := loadSample(t)
	var nilCtx context.Context
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("Train(nil ctx) panicked: %v", r)
			}
		}()
		_, err = Train(nilCtx, tracks, ins, smallConfig())
	}()
	if err == nil || !strings.Contains(err.Error(), "ctx is nil: pass context.Background()") {
		t.Errorf("Train(nil ctx) = %v, want an error saying ctx is nil", err)
	}
}
