package eventsource

import (
	"bytes"
	"testing"
)

// lineEndWant is lineEnd found the plainest way: the first LF or cr in b,
// and whether every byte before it is below 0x80.
func lineEndWant(b []byte, cr byte) (int, bool) {
	end := bytes.IndexFunc(b, func(r rune) bool { return r == '\n' || r == rune(cr) })
	if end < 0 {
		return -1, false
	}
	return end, !bytes.ContainsFunc(b[:end], func(r rune) bool { return r >= 0x80 })
}

// TestLineEnd checks lineEnd (in assembly on amd64, in Go elsewhere and
// with the build tag purego) against the plainest search: every length up
// to five blocks of 16 bytes, starting at every offset of a block, with CR
// or LF at every position (and the other one after it), among bytes far
// from them in value or next to them, with a byte above 0x7f before the
// line end, right after it or nowhere, and a line end just past the slice.
func TestLineEnd(t *testing.T) {
	for n := 0; n <= 80; n++ {
		for off := 0; off < 16; off++ {
			for at := -1; at < n; at++ {
				for _, first := range []byte{'\n', '\r'} {
					for _, filler := range []byte{'a', '\x0b', 0x7f, 0x8a, 0xff} {
						// The byte above 0x7f: at the start, in the middle
						// or last before the line end, right after it
						// (-1), or nowhere (-2).
						for _, high := range []int{-2, -1, 0, at / 2, at - 1} {
							if high >= max(at, 0) {
								continue
							}
							buf := bytes.Repeat([]byte{filler}, off+n+16)
							b := buf[off : off+n]
							switch {
							case high >= 0:
								b[high] = 0x80
							case high == -1 && at+1 < n:
								b[at+1] = 0xc3
							}
							if at >= 0 {
								b[at] = first
								if at+5 < n {
									b[at+5] = '\n' + '\r' - first
								}
							}
							buf[off+n] = '\n'
							for _, cr := range []byte{'\r', '\n'} {
								gotEnd, gotASCII := lineEnd(b, cr)
								wantEnd, wantASCII := lineEndWant(b, cr)
								if gotEnd != wantEnd || gotASCII != wantASCII {
									t.Fatalf("lineEnd(%q, %q) = %d, %v, want %d, %v (offset %d)", b, cr, gotEnd, gotASCII, wantEnd, wantASCII, off)
								}
							}
						}
					}
				}
			}
		}
	}
}
