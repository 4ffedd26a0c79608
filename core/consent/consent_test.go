package consent

import (
	"errors"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
)

// Without a profile, the authorizer refuses with an input error naming the
// setup command to run.
func TestNoProfileSaysSetup(t *testing.T) {
	var ie *core.InputError
	if _, err := New(nil, nil, nil); !errors.As(err, &ie) || !strings.Contains(err.Error(), "run `mailoauth setup --domain D --sender ADDR --client FILE` first") {
		t.Errorf("New(nil): %v", err)
	}
}
