package core

import "time"

// SetDoctorTimeout shortens Doctor's bound for a test; the returned func
// restores it.
func SetDoctorTimeout(d time.Duration) func() {
	old := doctorTimeout
	doctorTimeout = d
	return func() { doctorTimeout = old }
}
