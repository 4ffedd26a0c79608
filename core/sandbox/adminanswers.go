package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// adminAnswers are an Admin console call's ways to answer: fail with an
// error (400), decode the JSON body (answering a bad one itself: false), and
// ok.
func adminAnswers(w http.ResponseWriter, r *http.Request) (fail func(error), decode func(any) bool, ok func()) {
	fail = func(err error) { writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()}) }
	decode = func(v any) bool {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			fail(fmt.Errorf("invalid JSON body: %v", err))
			return false
		}
		return true
	}
	ok = func() { writeJSON(w, http.StatusOK, map[string]bool{"ok": true}) }
	return fail, decode, ok
}
