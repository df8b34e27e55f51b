package eventsource_test

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

import "github.com/stretchr/testify/assert"
import "github.com/stretchr/testify/require"

import "github.com/go-eventsource/eventsource"

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

// TestDecoderWithoutWaiting reads from a pipe that stays open: an event
// must come out of Next, and a heartbeat comment reach OnComment while Next
// still waits, as soon as its line has arrived, also when that line ended
// with a CR that an LF might still follow.
func TestDecoderWithoutWaiting(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"data:a\n\n", "data:a\r\n\r\n", "data:a\r\r", "data:a\n\r", // an event
		": ping\n", ": ping\r\n", ": ping\r", // a comment
	} {
		t.Run(strconv.Quote(in), func(t *testing.T) {
			t.Parallel()
			pr, pw := io.Pipe()
			// Closing the pipe ends a Next that waits for more, and a Write
			// that nobody reads, so that both goroutines exit.
			t.Cleanup(func() { pw.Close() })
			d := eventsource.NewDecoder(pr)
			comments := make(chan string, 1)
			d.OnComment(func(c string) { comments <- c })
			next := make(chan error, 1)
			var ev eventsource.Event
			go func() {
				var err error
				ev, err = d.Next()
				next <- err
			}()
			go func() { _, _ = pw.Write([]byte(in)) }()
			if strings.HasPrefix(in, ":") {
				assert.Equal(t, "ping", recv(t, comments))
				require.NoError(t, pw.Close())
				assert.Equal(t, io.EOF, recv(t, next))
				return
			}
			require.NoError(t, recv(t, next))
			assert.Equal(t, decMsg("a"), ev)
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

// TestDecoderCRLFLines checks a stream of CRLF lines against the reference
// model: 40 lines, and in turn at each of them a line end that breaks the
// pattern (LF, CR, or a CR inside the line, which ends it early), read in
// every way checkDecoder reads. A scanner that took CRLF for granted once
// it had seen a few would fail it.
func TestDecoderCRLFLines(t *testing.T) {
	t.Parallel()
	var lines []string
	for i := range 40 {
		lines = append(lines, []string{"event: quote", "id: " + strconv.Itoa(i), "data: " + strings.Repeat("x", 3*i), ""}[i%4])
	}
	stream := func(at int, brk string) []byte {
		var b strings.Builder
		for i, line := range lines {
			switch {
			case i == at && brk == "CR inside":
				b.WriteString(line + "\rdata: more\r\n")
			case i == at:
				b.WriteString(line + brk)
			default:
				b.WriteString(line + "\r\n")
			}
		}
		return []byte(b.String())
	}
	for _, brk := range []string{"\n", "\r", "CR inside"} {
		for at := -1; at < len(lines); at++ {
			in := stream(at, brk)
			ref := refDecode(in, 16<<20)
			t.Run(fmt.Sprintf("%q at line %d", brk, at), func(t *testing.T) {
				t.Parallel()
				checkDecoder(t, in, 0, decodeResult{
					trace: ref.trace, lastID: ref.lastID, retry: ref.retry, retrySeen: ref.retrySeen, err: io.EOF,
				})
			})
		}
	}
}
