package eventsource

import (
	"io"
	"strings"
	"testing"
)

import "github.com/stretchr/testify/assert"
import "github.com/stretchr/testify/require"

// TestNextLineASCII checks that nextLine tells a line is ASCII only when it
// saw all of it: the start of a line that an earlier call searched before
// the rest arrived may hold bytes above 0x7f, and its data must then be
// validated. Lines end in LF, and in CRLF (searched for CR and LF).
func TestNextLineASCII(t *testing.T) {
	for _, end := range []string{"\n", "\r\n"} {
		// One string per Read.
		r := io.MultiReader(strings.NewReader("data: \xff"), strings.NewReader("abc"+end+"data: abc"+end))
		s := newScanner(r, 1<<10)
		s.fill(false)
		require.True(t, s.checkBOM())
		_, _, ok := s.nextLine()
		require.False(t, ok, "a line without its end")
		s.fill(false)

		line, ascii, ok := s.nextLine()
		require.True(t, ok)
		assert.Equal(t, "data: \xffabc", string(line))
		assert.False(t, ascii, "%q, its start searched before", line)

		line, ascii, ok = s.nextLine()
		require.True(t, ok)
		assert.Equal(t, "data: abc", string(line))
		assert.True(t, ascii, "%q", line)
	}
}
