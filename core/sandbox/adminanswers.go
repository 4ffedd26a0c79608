package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// adminAnswer is an Admin console call being answered: fail with an error
// (400), decode the JSON body (answering a bad one itself: false), need a
// field (answering "FIELD is required" when it is not present: false), and
// ok.
type adminAnswer struct {
	w http.ResponseWriter
	r *http.Request
}

func (a adminAnswer) fail(err error) {
	writeJSON(a.w, http.StatusBadRequest, map[string]string{"error": err.Error()})
}

func (a adminAnswer) decode(v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(a.w, a.r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		a.fail(fmt.Errorf("invalid JSON body: %v", err))
		return false
	}
	return true
}

func (a adminAnswer) need(field string, present bool) bool {
	if !present {
		a.fail(fmt.Errorf("%s is required", field))
	}
	return present
}

func (a adminAnswer) ok() { writeJSON(a.w, http.StatusOK, map[string]bool{"ok": true}) }

// withEmail answers a call about one user, whose body is {"email":
// ADDRESS}: do runs with the address, then ok; a bad body or a missing
// address is answered instead.
func (a adminAnswer) withEmail(do func(email string)) {
	var b struct {
		Email string `json:"email"`
	}
	if a.decode(&b) && a.need("email", b.Email != "") {
		do(b.Email)
		a.ok()
	}
}
