package core_test

import (
	"context"
	"testing"

	"github.com/mailoauth/mailoauth/core/doctor"
)

// An administrator who presses ctrl+c during `mailoauth doctor` gets every
// line marked as not run, never a crash.
func TestDoctorCancelledReportsInsteadOfPanicking(t *testing.T) {
	e := newEnv(t, 1, true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 20; i++ { // the lock's select used to pick at random
		items := doctor.Run(ctx, e.profile, e.cache, doctor.ProbeTimeout)
		if len(items) != 6 {
			t.Fatalf("want 6 doctor lines, got %d: %+v", len(items), items)
		}
		for _, it := range items[3:] {
			if it.OK || it.Finding == nil {
				t.Fatalf("%s passed or has no finding although the run was cancelled: %+v", it.Name, it)
			}
		}
	}
}
