// This file holds the word-at-a-time helpers of the scanner: they look at
// 8 bytes at once for the line ends of short lines.

package eventsource

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// indexByte is bytes.IndexByte, quicker for the short lines of most
// streams ("id: 7", "event: quote", the blank line): it looks at the first
// 16 bytes itself, 8 at a time, before it calls bytes.IndexByte, whose call
// and setup cost more than such a line.
func indexByte(b []byte, c byte) int {
	pattern := ones * uint64(c)
	if len(b) >= 16 {
		if m := zeroBytes(binary.LittleEndian.Uint64(b) ^ pattern); m != 0 {
			return bits.TrailingZeros64(m) / 8
		}
		if m := zeroBytes(binary.LittleEndian.Uint64(b[8:]) ^ pattern); m != 0 {
			return 8 + bits.TrailingZeros64(m)/8
		}
		if i := bytes.IndexByte(b[16:], c); i >= 0 {
			return 16 + i
		}
		return -1
	}
	return bytes.IndexByte(b, c)
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
