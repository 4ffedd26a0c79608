package proxy

import (
	"strings"
	"testing"
)

func TestPasswordHashVerify(t *testing.T) {
	pw, err := GeneratePassword()
	if err != nil {
		t.Fatal(err)
	}
	if len(pw) != 29 || strings.Count(pw, "-") != 5 || strings.ContainsAny(pw, "01ilo") {
		t.Fatalf("generated password %q: want 6 groups of 4 from the unambiguous alphabet", pw)
	}
	if other, _ := GeneratePassword(); other == pw {
		t.Fatal("two generated passwords are equal")
	}
	h, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, pw) {
		t.Fatalf("hash %q is not an argon2id PHC string", h)
	}
	if h2, _ := HashPassword(pw); h2 == h {
		t.Fatal("two hashes of one password share their salt")
	}
	if !VerifyPassword(h, pw) {
		t.Fatal("the right password does not verify")
	}
	for _, bad := range []string{"", pw + "x", strings.ToUpper(pw)} {
		if VerifyPassword(h, bad) {
			t.Fatalf("%q verifies against the hash of %q", bad, pw)
		}
	}
	for _, broken := range []string{"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$AAAA$AAAA", strings.Replace(h, "m=19456", "m=99999999", 1)} {
		if VerifyPassword(broken, pw) {
			t.Fatalf("malformed hash %q verifies", broken)
		}
	}
}
