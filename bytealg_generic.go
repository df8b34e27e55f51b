//go:build !amd64 || purego

package eventsource

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// lineEnd returns the index in b of the first CR or LF, or -1. It looks at
// the first 16 bytes itself, 8 at a time and for both bytes at once, as
// indexByte does for one, and then searches the rest for LF, and for CR
// before it. On amd64, bytealg_amd64.s makes it one SSE2 pass.
func lineEnd(b []byte) int {
	if len(b) < 16 {
		for i, c := range b {
			if c == '\n' || c == '\r' {
				return i
			}
		}
		return -1
	}
	for k := 0; k < 16; k += 8 {
		w := binary.LittleEndian.Uint64(b[k:])
		if m := zeroBytes(w^(ones*'\n')) | zeroBytes(w^(ones*'\r')); m != 0 {
			return k + bits.TrailingZeros64(m)/8
		}
	}
	rest := b[16:]
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[:i]
	}
	if i := bytes.IndexByte(rest, '\r'); i >= 0 {
		return 16 + i
	}
	if len(rest) < len(b)-16 {
		return 16 + len(rest)
	}
	return -1
}
