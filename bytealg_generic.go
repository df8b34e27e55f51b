//go:build !amd64 || purego

package eventsource

import "bytes"

// indexLineEnd returns the index in b of the first CR or LF, or -1: it
// searches for LF, and then for CR before it.
func indexLineEnd(b []byte) int {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
		if j := bytes.IndexByte(b, '\r'); j >= 0 {
			return j
		}
		return i
	}
	return bytes.IndexByte(b, '\r')
}
