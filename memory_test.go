package eventsource_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

import "github.com/stretchr/testify/assert"
import "github.com/stretchr/testify/require"

import "github.com/go-eventsource/eventsource"
import est "github.com/go-eventsource/eventsource/eventsourcetest"

// TestHostileBodiesMemory streams 64 MiB of hostile bodies through a 1 MiB
// WithMaxEventSize and checks the promise of the package doc ("Limits"):
// the client never holds more than about the maximum event size per
// connection, whatever the server sends. The live heap, sampled (after a
// GC) as the client reads and in its callbacks, stays below the limit plus
// 1 MiB over the heap before Run. The callbacks keep nothing.
//
// It does not call t.Parallel: other tests would change the heap it
// measures.
func TestHostileBodiesMemory(t *testing.T) {
	const limit = 1 << 20
	const slack = 1 << 20
	kib4 := strings.Repeat("x", 4<<10)
	tests := []struct {
		name    string
		script  est.Script
		conns   int  // connections to make; each ends with an error
		tooBig  bool // each connection ends with ErrEventTooLarge
		minRead int64
		// bound is how far the live heap may rise over the start; 0 means
		// limit+slack.
		bound uint64
	}{
		{"endless line", est.Script{est.Repeat(-1, est.Raw(kib4))}, 12, true, 12 << 20, 0},
		{"endless event", est.Script{est.Repeat(-1, est.Raw("data: "+kib4+"\n"))}, 12, true, 12 << 20, 0},
		{"comments", est.Script{est.Repeat(20<<10, est.Comment(strings.Repeat("c", 1021)))}, 1, false, 20 << 20, 0},
		// A line up to the limit (a comment), then an event up to the limit
		// in short lines: the line must not stay held while the event grows.
		{"a line then an event, each up to the limit", est.Script{est.Repeat(4,
			est.Raw(": "+strings.Repeat("c", limit-64)+"\n"),
			est.Repeat(255, est.Raw("data: "+kib4+"\n")), est.Raw("\n"))}, 1, false, 8000 << 10, 0},
		// Each invalid byte becomes the three bytes of U+FFFD: 85 lines of
		// 4 KiB decode to just under the limit...
		{"invalid UTF-8 decoded up to the limit", est.Script{est.Repeat(4,
			est.Repeat(85, est.Raw("data: "+strings.Repeat("\xff", 4<<10)+"\n")), est.Raw("\n"))}, 1, false, 1300 << 10, 0},
		// ... and an event of invalid bytes up to the limit, which the
		// limit lets through (it counts raw bytes: Decoder.SetMaxEventSize):
		// its string is three times the limit, beside the line in the read
		// buffer.
		{"invalid UTF-8 raw up to the limit", est.Script{est.Repeat(4, est.Raw("data: "+strings.Repeat("\xff", limit-64)+"\n\n"))}, 1, false, 4000 << 10, 4*limit + slack},
		{"NUL bytes", est.Script{est.Repeat(24, est.Raw("id: 1\x00\ndata: "+strings.Repeat("a\x00", 128<<10)+"\n\n"))}, 1, false, 6 << 20, 0},
		{"byte order marks", est.Script{est.Repeat(24, est.Raw("\xef\xbb\xbfdata: "+strings.Repeat("b", 256<<10)+"\n\n"))}, 1, false, 6 << 20, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, append(est.Script{est.AutoFlush(false)}, tc.script...))
			var heap heapSampler
			client := &http.Client{Transport: sampledTransport{srv.Client().Transport, &heap}}
			es, err := eventsource.New(srv.URL, eventsource.WithHTTPClient(client), fastRetry(),
				eventsource.WithMaxEventSize(limit),
				eventsource.WithRetryPolicy(func(err error) bool {
					// Reconnect after ErrEventTooLarge too, to stream more.
					return errors.Is(err, eventsource.ErrEventTooLarge) || eventsource.DefaultRetryPolicy(err)
				}))
			require.NoError(t, err)
			var events, comments, tooLarge, ends int
			es.OnEvent(func(eventsource.Event) {
				events++
				heap.sample(&heap.inCallback)
			})
			es.OnComment(func(string) { comments++ })
			es.OnError(func(err error) {
				switch {
				case errors.Is(err, eventsource.ErrEventTooLarge):
					tooLarge++
				case errors.Is(err, io.EOF):
					ends++
				default:
					t.Errorf("OnError: %v", err)
				}
				if tooLarge+ends == tc.conns {
					es.Close()
				}
			})
			heap.start()
			require.NoError(t, recv(t, run(t, es)))

			read := es.Stats().Bytes
			t.Logf("read %.1f MiB in %d connections: %d events, %d comments; live heap over the start: reading %.2f MiB, in callbacks %.2f MiB (%d samples)",
				float64(read)/(1<<20), tc.conns, events, comments,
				mib(heap.whileReading, heap.base), mib(heap.inCallback, heap.base), heap.samples)
			assert.GreaterOrEqual(t, read, tc.minRead)
			if tc.tooBig {
				assert.Equal(t, tc.conns, tooLarge, "every connection ends with ErrEventTooLarge")
			} else {
				assert.Equal(t, 1, ends, "the stream ends cleanly")
			}
			bound := tc.bound
			if bound == 0 {
				bound = limit + slack
			}
			assert.Less(t, heap.whileReading-heap.base, bound, "live heap while the client reads")
			assert.Less(t, heap.inCallback-heap.base, bound, "live heap in a callback, the event included")
		})
	}
}

// heapSampler records the highest live heap seen at its samples.
type heapSampler struct {
	base         uint64 // the live heap before Run
	whileReading uint64
	inCallback   uint64
	samples      int
}

func (h *heapSampler) start() {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	h.base, h.whileReading, h.inCallback = m.HeapAlloc, m.HeapAlloc, m.HeapAlloc
}

// sample collects the garbage, so that HeapAlloc is what is live, and
// raises *peak to it. It runs on Run's goroutine, as the reads and the
// callbacks do.
func (h *heapSampler) sample(peak *uint64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	h.samples++
	*peak = max(*peak, m.HeapAlloc)
}

func mib(peak, base uint64) float64 { return float64(int64(peak-base)) / (1 << 20) }

// sampledTransport wraps each response body so that reading it samples the
// heap every 256 KiB.
type sampledTransport struct {
	rt   http.RoundTripper
	heap *heapSampler
}

func (t sampledTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err == nil {
		resp.Body = &sampledBody{ReadCloser: resp.Body, heap: t.heap}
	}
	return resp, err
}

type sampledBody struct {
	io.ReadCloser
	heap  *heapSampler
	since int
}

func (b *sampledBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.since += n; b.since >= 256<<10 {
		b.since = 0
		b.heap.sample(&b.heap.whileReading)
	}
	return n, err
}

// TestHeldBetweenEvents: what a stream holds between events stays within
// about one maximum event size, whatever the server sent before: types,
// IDs and comments up to the limit, each of them distinct. The live heap is
// measured while Run waits for the next byte, against the heap before Run.
// The last event's ID is part of what a stream must hold: the next
// reconnection sends it.
//
// It does not call t.Parallel: other tests would change the heap it
// measures.
func TestHeldBetweenEvents(t *testing.T) {
	const limit = 1 << 20
	field := func(c byte) string { return strings.Repeat(string(c), limit-64) }
	var script est.Script
	for c := byte('a'); c < 'a'+8; c++ {
		script = append(script, est.Send(est.Event{Type: field(c), Data: "x"}))
	}
	script = append(script,
		est.Send(est.Event{ID: field('i'), Data: "x"}),
		est.Comment(field('c')),
		est.Send(est.Event{Type: field('z'), ID: "7", Data: "x"}),
		est.Stall())
	srv := newServer(t, script)
	es := newES(t, srv, eventsource.WithMaxEventSize(limit))
	idle := make(chan struct{})
	events := 0
	es.OnEvent(func(eventsource.Event) {
		if events++; events == 10 {
			close(idle)
		}
	})
	var heap heapSampler
	heap.start()
	done := run(t, es)
	recv(t, idle)
	// Run's goroutine is now back in its read, or on its way there: wait
	// for the heap to settle rather than for a moment that cannot be seen.
	var held uint64
	for range 20 {
		heap.sample(&heap.whileReading)
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		held = m.HeapAlloc - heap.base
		if held < limit/2 {
			break
		}
		runtime.Gosched()
	}
	t.Logf("held between events: %.2f MiB", float64(held)/(1<<20))
	assert.Less(t, held, uint64(limit/2), "held between events, after an event with ID 7")
	require.NoError(t, es.Close())
	require.NoError(t, recv(t, done))
}

// split cuts a burst as the network might: 40 KiB at first, which fills
// and grows the read buffer to 32 KiB, and then 6 KiB at a time, more than
// an eighth of it, as a busy stream's reads bring.
func split(burst string) []string {
	chunks := []string{burst[:40<<10]}
	for rest := burst[40<<10:]; rest != ""; {
		n := min(len(rest), 6<<10)
		chunks, rest = append(chunks, rest[:n]), rest[n:]
	}
	return chunks
}

// A stepReader returns one chunk per Read; once they run out, each Read
// sends on reading and blocks until the test closes release.
type stepReader struct {
	chunks  []string
	reading chan<- struct{}
	release <-chan struct{}
}

func (r *stepReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		r.reading <- struct{}{}
		<-r.release
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	if r.chunks[0] = r.chunks[0][n:]; r.chunks[0] == "" {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

// TestQuietDecoderLetsGo: the buffers that a burst grows go back once the
// Decoder has caught up with the stream: while it waits for the next read,
// it holds less than a KiB, whatever the burst left, whether the burst ends
// in a wait at once (the read buffer then held 32 KiB once) or in reads of
// one event at a time.
func TestQuietDecoderLetsGo(t *testing.T) {
	t.Parallel()
	const events = 700 // 52 KiB
	var burst strings.Builder
	for i := range events {
		fmt.Fprintf(&burst, "event: quote\nid: %d\ndata: {\"sym\":\"ACME\",\"bid\":%d.25}\ndata: second line\n\n", i, 100+i%50)
	}
	for name, quiet := range map[string][]string{
		"wait after the burst":   nil,
		"quiet after the burst":  {"id: q1\ndata: quiet\n\n", "data: again\n\n"},
		"a line across the wait": {"id: q2\ndata: split "},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reading := make(chan struct{}, 1)
			release := make(chan struct{})
			dec := eventsource.NewDecoder(&stepReader{
				chunks:  append(split(burst.String()), quiet...),
				reading: reading, release: release,
			})
			for i := range events {
				ev, err := dec.Next()
				require.NoError(t, err)
				require.Equal(t, fmt.Sprint(i), ev.ID)
			}
			busy := eventsource.DecoderHeld(dec)
			next := make(chan error, 1)
			go func() {
				var err error
				for err == nil {
					_, err = dec.Next()
				}
				next <- err
			}()
			recv(t, reading)
			held := eventsource.DecoderHeld(dec)
			close(release)
			require.ErrorIs(t, recv(t, next), io.EOF)
			t.Logf("held after the burst: %d bytes; waiting: %d bytes", busy, held)
			assert.Greater(t, busy, 16<<10, "the burst grew the buffers")
			assert.Less(t, held, 1<<10, "a Decoder that waits holds little")
		})
	}
}
