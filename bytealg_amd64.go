//go:build !purego

package eventsource

// lineEnd returns the index in b of the first CR or LF, or -1, in one SSE2
// pass (bytealg_amd64.s). The other platforms have it in Go
// (bytealg_generic.go).
//
//go:noescape
func lineEnd(b []byte) int
