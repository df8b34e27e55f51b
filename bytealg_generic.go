//go:build !amd64 || purego

package eventsource

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// lineEnd returns the index in b of the first LF or cr, or -1, and whether
// the bytes before it are all ASCII (false when there is none): a search,
// and then isASCII over the line. On amd64, bytealg_amd64.s makes both one
// SSE2 pass.
func lineEnd(b []byte, cr byte) (end int, ascii bool) {
	end = lineEndIndex(b, cr)
	if end < 0 {
		return -1, false
	}
	return end, isASCII(b[:end])
}

// lineEndIndex is the search of lineEnd. It looks at the first 16 bytes
// itself, 8 at a time and for both bytes at once, which finds the end of
// "id: 7", "event: quote" or a blank line quicker than a call of
// bytes.IndexByte would, and then searches the rest for LF, and for cr
// before it (when cr is not LF too).
func lineEndIndex(b []byte, cr byte) int {
	if len(b) < 16 {
		for i, c := range b {
			if c == '\n' || c == cr {
				return i
			}
		}
		return -1
	}
	for k := 0; k < 16; k += 8 {
		w := binary.LittleEndian.Uint64(b[k:])
		if m := zeroBytes(w^(ones*'\n')) | zeroBytes(w^(ones*uint64(cr))); m != 0 {
			return k + bits.TrailingZeros64(m)/8
		}
	}
	rest := b[16:]
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[:i]
	}
	if cr != '\n' {
		if i := bytes.IndexByte(rest, cr); i >= 0 {
			return 16 + i
		}
	}
	if len(rest) < len(b)-16 {
		return 16 + len(rest)
	}
	return -1
}

// ones has 1 in each byte of a word; ones*c has c in each.
const ones = 0x0101010101010101

// zeroBytes marks the zero bytes of x with their high bit. The lowest bit
// set marks the first zero byte exactly: a borrow can set bits above it,
// never below, and none when x has no zero byte. Used on x = word ^ ones*c,
// it finds the first byte c in a word of 8.
func zeroBytes(x uint64) uint64 {
	return (x - ones) &^ x & 0x8080808080808080
}
