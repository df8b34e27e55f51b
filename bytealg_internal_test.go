package eventsource

import (
	"bytes"
	"testing"
)

import "github.com/stretchr/testify/assert"

// TestIndexByte checks the quick path against bytes.IndexByte: every
// length around its two words, with the byte (and bytes next to it in value)
// at every position, once and twice.
func TestIndexByte(t *testing.T) {
	for n := 0; n <= 40; n++ {
		for at := -1; at < n; at++ {
			for _, c := range []byte{'\n', '\r'} {
				b := bytes.Repeat([]byte{c + 1}, n)
				if at >= 0 {
					b[at] = c
					if at+3 < n {
						b[at+3] = c
					}
					if at > 0 {
						b[at-1] = c - 1
					}
				}
				assert.Equal(t, bytes.IndexByte(b, c), indexByte(b, c), "%q in %q", c, b)
			}
		}
	}
}

// lineEndWant is the first CR or LF in b, found the plainest way.
func lineEndWant(b []byte) int {
	return bytes.IndexFunc(b, func(r rune) bool { return r == '\n' || r == '\r' })
}

// TestLineEnd checks lineEnd (in assembly on amd64, in Go elsewhere and
// with the build tag purego) against the plainest search: every length up
// to five blocks of 16 bytes, starting at every offset of a block, with CR
// or LF at every position (and the other one after it), among bytes far
// from them in value or next to them, and a line end just past the slice.
func TestLineEnd(t *testing.T) {
	for n := 0; n <= 80; n++ {
		for off := 0; off < 16; off++ {
			for at := -1; at < n; at++ {
				for _, first := range []byte{'\n', '\r'} {
					for _, filler := range []byte{'a', '\x0b', 0x8a, 0xff} {
						buf := bytes.Repeat([]byte{filler}, off+n+16)
						b := buf[off : off+n]
						if at >= 0 {
							b[at] = first
							if at+5 < n {
								b[at+5] = '\n' + '\r' - first
							}
						}
						buf[off+n] = '\n'
						if got, want := lineEnd(b), lineEndWant(b); got != want {
							t.Fatalf("lineEnd(%q) = %d, want %d (offset %d)", b, got, want, off)
						}
					}
				}
			}
		}
	}
}
