package eventsource_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-eventsource/eventsource"
)

// TestDecoderMaxEventSizeBoundsReads feeds a 16 MiB line or event: the
// Decoder must give up with ErrEventTooLarge after reading about the maximum
// of 1 MiB, not buffer the stream.
func TestDecoderMaxEventSizeBoundsReads(t *testing.T) {
	t.Parallel()
	const max = 1 << 20
	for _, tc := range []struct {
		name            string
		prefix, pattern string
		want            []any
	}{
		{name: "data line", prefix: "data:", pattern: "a"},
		{name: "comment", prefix: ":", pattern: "a"},
		{name: "field name", pattern: "a"},
		{name: "line after the BOM", prefix: "\xEF\xBB\xBFdata:", pattern: "a"},
		{name: "line after an event", prefix: "data:1\n\n", pattern: "a", want: []any{decMsg("1")}},
		{name: "data lines", pattern: "data:" + strings.Repeat("a", 1000) + "\n"},
		{name: "data lines with CRLF", pattern: "data:" + strings.Repeat("a", 1000) + "\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &endlessReader{prefix: []byte(tc.prefix), pattern: []byte(tc.pattern), limit: 16 * max}
			got := decodeAll(t, r, max, true)
			require.ErrorIs(t, got.err, eventsource.ErrEventTooLarge)
			assert.Equal(t, tc.want, got.trace)
			assert.LessOrEqual(t, r.n, int64(2*max+16<<10), "bytes read")
		})
	}
}

// TestDecoderDispatchesWithoutWaiting reads from a pipe that stays open: an
// event must come out of Next as soon as its blank line arrived, also when
// that line ended with a CR that an LF might still follow.
func TestDecoderDispatchesWithoutWaiting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in string }{
		{"LF", "data:a\n\n"},
		{"CRLF", "data:a\r\n\r\n"},
		{"CR", "data:a\r\r"},
		{"LF CR", "data:a\n\r"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pr, pw := io.Pipe()
			d := eventsource.NewDecoder(pr)
			type result struct {
				ev  eventsource.Event
				err error
			}
			next := make(chan result, 1)
			go func() {
				ev, err := d.Next()
				next <- result{ev, err}
			}()
			// Closing the pipe ends a Next that waits for more, and a Write
			// that nobody reads, so both goroutines exit.
			t.Cleanup(func() { pw.Close() })
			go func() { _, _ = pw.Write([]byte(tc.in)) }()
			select {
			case got := <-next:
				require.NoError(t, got.err)
				assert.Equal(t, decMsg("a"), got.ev)
			case <-time.After(5 * time.Second):
				t.Fatalf("Next did not return after %q", tc.in)
			}
		})
	}
}

// TestDecoderCommentsWithoutWaiting checks that a heartbeat comment reaches
// OnComment as soon as its line has arrived, while Next still waits.
func TestDecoderCommentsWithoutWaiting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in string }{
		{"LF", ": ping\n"},
		{"CRLF", ": ping\r\n"},
		{"CR", ": ping\r"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pr, pw := io.Pipe()
			d := eventsource.NewDecoder(pr)
			comments := make(chan string, 1)
			d.OnComment(func(c string) { comments <- c })
			done := make(chan error, 1)
			go func() {
				_, err := d.Next()
				done <- err
			}()
			go func() { _, _ = pw.Write([]byte(tc.in)) }()
			select {
			case got := <-comments:
				assert.Equal(t, "ping", got)
			case <-time.After(5 * time.Second):
				pw.Close()
				<-done
				t.Fatalf("OnComment not called after %q", tc.in)
			}
			require.NoError(t, pw.Close())
			assert.Equal(t, io.EOF, <-done)
		})
	}
}

func TestDecoderReaderError(t *testing.T) {
	t.Parallel()
	errRead := errors.New("read failed")
	const in = "id:1\ndata:a\n\n: c\nid:2\ndata:b\n"
	for _, tc := range []struct {
		name   string
		r      func() io.Reader
		want   []any
		lastID string
		err    error
	}{
		{name: "at once", r: func() io.Reader { return iotest.ErrReader(errRead) }, err: errRead},
		{
			name: "after events",
			r:    func() io.Reader { return io.MultiReader(strings.NewReader(in), iotest.ErrReader(errRead)) },
			want: []any{decEv("message", "a", "1"), decComment("c")}, lastID: "1", err: errRead,
		},
		{
			name: "with the last bytes",
			r:    func() io.Reader { return &dataErrReader{data: []byte(in), err: errRead} },
			want: []any{decEv("message", "a", "1"), decComment("c")}, lastID: "1", err: errRead,
		},
		{
			name: "timeout",
			r:    func() io.Reader { return iotest.TimeoutReader(strings.NewReader(in)) },
			want: []any{decEv("message", "a", "1"), decComment("c")}, lastID: "1", err: iotest.ErrTimeout,
		},
		{
			name: "EOF with the last bytes",
			r:    func() io.Reader { return &dataErrReader{data: []byte(in + "\n"), err: io.EOF} },
			want: []any{decEv("message", "a", "1"), decComment("c"), decEv("message", "b", "2")}, lastID: "2", err: io.EOF,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := decodeAll(t, tc.r(), 0, true)
			require.ErrorIs(t, got.err, tc.err)
			assert.Equal(t, tc.want, got.trace)
			assert.Equal(t, tc.lastID, got.lastID)
		})
	}
}

// dataErrReader returns all its data and err from a single Read.
type dataErrReader struct {
	data []byte
	err  error
}

func (r *dataErrReader) Read(p []byte) (int, error) {
	n := copy(p, r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 {
		return n, r.err
	}
	return n, nil
}
