//go:build !purego

package eventsource

// indexLineEnd returns the index in b of the first CR or LF, or -1, in one
// pass (bytealg_amd64.s).
//
//go:noescape
func indexLineEnd(b []byte) int
