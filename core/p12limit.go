package core

import (
	"encoding/asn1"
	"fmt"
	"math/big"
)

// maxP12Iterations bounds the key-derivation rounds a .p12 file may ask
// for. Real keys use a few thousand (Google's and OpenSSL's 2048, Windows'
// up to 10,000); the PKCS#12 library has no limit, and a crafted file
// asking for 2^31 rounds keeps a CPU busy for an hour (on the SSH server,
// for every admin).
const maxP12Iterations = 200_000

// checkP12Work refuses a .p12 file whose MAC or encryption parameters ask
// for more than maxP12Iterations rounds. It walks the DER (and DER held in
// OCTET STRINGs) for what every such parameter looks like: an OCTET STRING
// (the salt) followed by an INTEGER (the rounds) in one SEQUENCE. Counts
// inside encrypted content cannot be seen before decryption; the MAC and
// outer counts, which are computed first, are.
func checkP12Work(der []byte) error {
	worst := new(big.Int)
	walkP12(der, 0, worst)
	if worst.Cmp(big.NewInt(maxP12Iterations)) > 0 {
		n := "more than 2^63"
		if worst.IsInt64() {
			n = fmt.Sprint(worst.Int64())
		}
		return &FindingError{Finding: p12TooMuchWorkFinding(n)}
	}
	return nil
}

func walkP12(der []byte, depth int, worst *big.Int) {
	if depth > 16 {
		return
	}
	var prevSalt bool
	for len(der) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(der, &v)
		if err != nil {
			return
		}
		der = rest
		switch {
		case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagInteger && prevSalt:
			n := new(big.Int).SetBytes(v.Bytes)
			if len(v.Bytes) > 0 && v.Bytes[0]&0x80 != 0 { // negative: treat its size as the count
				n.Lsh(big.NewInt(1), uint(8*len(v.Bytes)))
			}
			if n.Cmp(worst) > 0 {
				worst.Set(n)
			}
		case v.IsCompound:
			walkP12(v.Bytes, depth+1, worst)
		case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString:
			walkP12(v.Bytes, depth+1, worst) // authSafe content is DER inside an OCTET STRING
		}
		prevSalt = v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString && !v.IsCompound
	}
}
