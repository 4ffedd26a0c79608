package core

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// minRSABits is the smallest RSA key accepted: Google's service-account
// keys are 2048 bits, and shorter RSA keys can be factored.
const minRSABits = 2048

// notRSA is the finding for a private key of another algorithm than RSA,
// saying which it is: Google's service-account keys are always RSA, so
// such a key was not issued by Google (it is not damaged).
func notRSA(key any, where string) error {
	alg := "a non-RSA"
	switch key.(type) {
	case *ecdsa.PrivateKey:
		alg = "an EC (elliptic-curve)"
	case ed25519.PrivateKey, *ed25519.PrivateKey:
		alg = "an Ed25519"
	}
	return &FindingError{Finding: notRSAFinding(where, alg)}
}

// checkRSASize refuses an RSA key shorter than minRSABits.
func checkRSASize(k *rsa.PrivateKey, where string) error {
	if bits := k.N.BitLen(); bits < minRSABits {
		return &FindingError{Finding: rsaTooShortFinding(where, bits)}
	}
	return nil
}

// jsonNotAnObject is the finding for a file that is valid JSON but not an
// object, the shape of every Google credential file.
func jsonNotAnObject(trimmed []byte) error {
	return &FindingError{Finding: jsonNotAnObjectFinding(jsonKind(trimmed))}
}

// jsonKind names the kind of the JSON value that starts data.
func jsonKind(data []byte) string {
	switch data = bytes.TrimSpace(data); {
	case len(data) == 0:
		return "nothing"
	case data[0] == '[':
		return "a list"
	case data[0] == '{':
		return "an object"
	case data[0] == '"':
		return "a string"
	case bytes.HasPrefix(data, []byte("true")), bytes.HasPrefix(data, []byte("false")):
		return "true or false"
	case bytes.HasPrefix(data, []byte("null")):
		return "null"
	}
	return "a number"
}

// jsonProblem says what is wrong with JSON in the words of JSON (a string,
// a number, an object, a list), never Go's type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		want := "another kind of value"
		switch te.Type.Kind().String() {
		case "string":
			want = "a string"
		case "int", "int64", "int32", "uint", "uint64", "float64":
			want = "a number"
		case "bool":
			want = "true or false"
		case "struct", "map":
			want = "an object"
		case "slice", "array":
			want = "a list"
		}
		got := te.Value
		switch got {
		case "array":
			got = "list"
		case "bool":
			got = "true or false"
		}
		field := te.Field
		if field == "" {
			return fmt.Sprintf("the file is a JSON %s where %s is expected", got, want)
		}
		return fmt.Sprintf("%q is a JSON %s where %s is expected", field, got, want)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("it is not valid JSON at byte %d (%s)", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if strings.HasPrefix(msg, "unknown field ") {
		return "it has the " + msg
	}
	if msg == "unexpected EOF" || msg == "EOF" {
		return "it ends before its JSON is complete"
	}
	return msg
}

// oauthSectionProblem says what is wrong with the "web" or "installed"
// section of an OAuth client JSON that does not decode.
func oauthSectionProblem(inner json.RawMessage, err error) string {
	if t := bytes.TrimSpace(inner); len(t) > 0 && t[0] != '{' {
		return "it is " + jsonKind(t) + ", not an object"
	}
	return jsonProblem(err)
}
