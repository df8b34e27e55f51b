//go:build !purego

package eventsource

// lineEnd returns the index in b of the first LF or cr, or -1, and whether
// the bytes before it are all ASCII (false when there is none), in one
// SSE2 pass (bytealg_amd64.s). The other platforms have it in Go
// (bytealg_generic.go).
//
//go:noescape
func lineEnd(b []byte, cr byte) (end int, ascii bool)
