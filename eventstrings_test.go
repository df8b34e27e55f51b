package eventsource_test

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

import "github.com/stretchr/testify/assert"
import "github.com/stretchr/testify/require"

import "github.com/go-eventsource/eventsource"

// TestDecoderLongDataLines decodes data lines longer than the read buffer
// holds, which the Decoder reads straight into a buffer that then becomes
// the event's Data, mixed with short ones, with each line end and in reads
// of every size. The events are all kept until the end: one whose memory
// was written again later would differ.
func TestDecoderLongDataLines(t *testing.T) {
	t.Parallel()
	// Each event's data lines. Long lines of the same size in a row are
	// read into buffers sized from the one before, which become their
	// events' Data; the short lines after them are appended to the
	// Decoder's data buffer, which must then be another.
	events := [][]string{
		{"a:100K"}, {"b:100K"}, {"c:100K"}, {"x", "y"}, {"d:64K"}, {"e:64K"}, {"z"},
		{"f:20K", "tail"}, {"g:20K"}, {"h:20K"}, {"i:17K", "j:70K"}, {"k:70K"}, {"short"},
	}
	line := func(spec string) string {
		c, n, ok := strings.Cut(spec, ":")
		if !ok {
			return spec
		}
		var k int
		fmt.Sscanf(n, "%dK", &k)
		return strings.Repeat(c, k<<10)
	}
	eols := []string{"\n", "\r\n", "\r"}
	var in strings.Builder
	var want []eventsource.Event
	for i, lines := range events {
		eol := eols[i%len(eols)]
		fmt.Fprintf(&in, "id: %d%s", i, eol)
		var data []string
		for _, spec := range lines {
			data = append(data, line(spec))
			fmt.Fprintf(&in, "data: %s%s", line(spec), eol)
		}
		in.WriteString(eol)
		want = append(want, decEv("message", strings.Join(data, "\n"), fmt.Sprint(i)))
	}
	for _, rd := range decoderReaders() {
		got := decodeAll(t, rd.new([]byte(in.String())), 0, false)
		require.Equal(t, io.EOF, got.err, rd.name)
		require.Len(t, got.trace, len(want), rd.name)
		for i, v := range got.trace {
			ev := v.(eventsource.Event)
			// Not assert.Equal on the events: a failure would print
			// megabytes.
			assert.True(t, ev == want[i], "%s: event %d: type %q, ID %q, %d bytes of data (%q…), want %d",
				rd.name, i, ev.Type, ev.ID, len(ev.Data), ev.Data[:min(len(ev.Data), 8)], len(want[i].Data))
		}
	}
}

// TestDecoderLongDataLinesLimit checks both limits on data lines read
// straight into their buffer: one line longer than the maximum, and lines
// each within it whose event's data is not.
func TestDecoderLongDataLinesLimit(t *testing.T) {
	t.Parallel()
	const max = 64 << 10
	long := func(n int) string { return "data: " + strings.Repeat("x", n) + "\n" }
	tests := []struct {
		name, in, what string
	}{
		{"a line", long(max-5) + "\n", "a line passed"},
		{"an event's data", long(40<<10) + long(40<<10) + "\n", "an event's data passed"},
	}
	for _, tc := range tests {
		for _, rd := range decoderReaders()[:3] {
			got := decodeAll(t, rd.new([]byte(tc.in)), max, false)
			require.ErrorIs(t, got.err, eventsource.ErrEventTooLarge, "%s, %s", tc.name, rd.name)
			assert.ErrorContains(t, got.err, tc.what, "%s, %s", tc.name, rd.name)
			assert.Empty(t, got.trace, "%s, %s", tc.name, rd.name)
		}
	}
	// At the limits exactly, both pass: a line of max bytes, "data: "
	// included, and an event's data of max bytes, "\n" between its lines
	// included.
	for in, n := range map[string]int{
		long(max-6) + "\n":                 max - 6,
		long(max/2) + long(max/2-1) + "\n": max,
	} {
		got := decodeAll(t, strings.NewReader(in), max, false)
		require.Equal(t, io.EOF, got.err)
		require.Len(t, got.trace, 1)
		assert.Equal(t, n, len(got.trace[0].(eventsource.Event).Data))
	}
}
