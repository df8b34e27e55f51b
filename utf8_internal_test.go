package eventsource

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

import "github.com/stretchr/testify/assert"

// TestValidUTF8 checks the quick path against utf8.Valid: every length
// around its word size and threshold, with a non-ASCII byte (valid or not)
// at every position.
func TestValidUTF8(t *testing.T) {
	for n := 0; n <= 200; n++ {
		ascii := bytes.Repeat([]byte{'a'}, n)
		assert.True(t, validUTF8(ascii), "%d ASCII bytes", n)
		for at := 0; at < n; at++ {
			for _, bad := range []string{"\xff", "\xc3", "é"} {
				b := append(append(append([]byte(nil), ascii[:at]...), bad...), ascii[at:]...)
				assert.Equal(t, utf8.Valid(b), validUTF8(b), "%q at %d of %d bytes", bad, at, n)
			}
		}
	}
}
