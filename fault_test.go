package eventsource_test

import (
	"cmp"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

import "github.com/stretchr/testify/assert"
import "github.com/stretchr/testify/require"

import "github.com/go-eventsource/eventsource"
import est "github.com/go-eventsource/eventsource/eventsourcetest"

// This file holds the fault tests: a hostile or broken server
// (eventsourcetest) drops connections at any byte, over every transport,
// sends IDs that HTTP headers cannot carry, and sends bodies meant to break
// the client. Each test checks exactly what the callbacks saw and which
// requests the server got. The statuses and redirects of such a server are
// tested with their units: conn_test.go, reconnect_test.go and
// redirect_test.go.

// TestExactlyOnceUnderRandomDrops streams 1,000 events with IDs, in LF, CRLF
// and CR lines, and drops the connection at 200 random (seeded) byte offsets:
// in a line, an event, a CRLF or a UTF-8 sequence. The server resumes after
// the Last-Event-ID it gets. The callbacks must see every event once, in
// order, none cut, and each reconnection must carry the ID of the last event
// the previous connection completed.
func TestExactlyOnceUnderRandomDrops(t *testing.T) {
	t.Parallel()
	const total, drops, seed = 1000, 200, 20260102
	feed := newDropFeed(total)
	// Offsets average 80 % of the feed over the drops, so the drops spread
	// over the whole feed and the last connection still has events to send.
	maxOffset := 2 * len(feed.stream) * 8 / 10 / drops
	rng := rand.New(rand.NewPCG(seed, seed))
	offsets := make([]int, drops)
	for i := range offsets {
		offsets[i] = rng.IntN(maxOffset + 1)
	}
	t.Logf("seed %d: %d bytes, drops at offsets up to %d", seed, len(feed.stream), maxOffset)

	var mu sync.Mutex
	var served []string // the bytes each dropped connection was to send
	srv := newServer(t, est.Script{est.Func(func(req est.Request) est.Script {
		rest := feed.stream[feed.resumeAt(t, req.LastEventID):]
		mu.Lock()
		defer mu.Unlock()
		if k := len(served); k < drops {
			served = append(served, rest[:min(offsets[k], len(rest))])
			return est.Script{est.DropAfter(offsets[k]), est.Raw(rest)}
		}
		return est.Script{est.Raw(rest), est.Stall()}
	})})
	es := newES(t, srv, fastRetry())
	tp := listen(es)
	tp.stopAt = total
	require.NoError(t, recvWithin(t, run(t, es), 60*time.Second))

	require.Equal(t, feed.events, tp.events, "every event once, in order, none cut")
	assert.Len(t, tp.errs, drops, "one OnError per dropped connection")
	for i, s := range tp.states {
		assert.Equal(t, eventsource.Connecting, s, "ReadyState during OnError %d", i)
	}
	reqs := srv.Requests()
	require.Len(t, reqs, drops+1)
	want := "" // the Last-Event-ID the next request must carry
	for k, req := range reqs {
		assert.Equal(t, want, req.LastEventID, "request %d", k)
		if k > 0 {
			assert.Equal(t, want, tp.ids[k-1], "LastEventID during OnError %d", k-1)
		}
		if k < drops {
			// A Decoder over exactly the bytes that went out says which
			// events completed, whatever the cut.
			dec := eventsource.NewDecoder(strings.NewReader(served[k]))
			for _, err := range dec.All() {
				require.NoError(t, err)
			}
			if id := dec.LastEventID(); id != "" {
				want = id
			}
		}
	}
	t.Logf("the %d dropped connections delivered events 1 to %s", drops, reqs[drops].LastEventID)
}

// A dropFeed is a stream of events, each with an ID, whose server can resume
// after any ID.
type dropFeed struct {
	stream string
	events []eventsource.Event
	ends   map[string]int // ID -> offset just after its event
}

// newDropFeed makes n events in four shapes: LF lines; CRLF lines with a
// type and two data lines; CR lines after a comment; a "retry:" field and
// multi-byte UTF-8, mixing LF and CRLF.
func newDropFeed(n int) *dropFeed {
	f := &dropFeed{ends: make(map[string]int)}
	var b strings.Builder
	for i := 1; i <= n; i++ {
		id := strconv.Itoa(i)
		ev := eventsource.Event{Type: "message", ID: id, Data: id}
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "id: %d\ndata: %d\n\n", i, i)
		case 1:
			fmt.Fprintf(&b, "id: %d\r\nevent: tick\r\ndata: %d\r\ndata: second\r\n\r\n", i, i)
			ev.Type, ev.Data = "tick", id+"\nsecond"
		case 2:
			fmt.Fprintf(&b, ": c\rid: %d\rdata: %d\r\r", i, i)
		case 3:
			fmt.Fprintf(&b, "retry: 5\nid: %d\r\ndata: %d é€\n\r\n", i, i)
			ev.Data = id + " é€"
		}
		f.events = append(f.events, ev)
		f.ends[id] = b.Len()
	}
	f.stream = b.String()
	return f
}

// resumeAt returns the offset of the first event after the one with ID id;
// 0 for no ID.
func (f *dropFeed) resumeAt(t *testing.T, id string) int {
	if id == "" {
		return 0
	}
	end, ok := f.ends[id]
	assert.True(t, ok, "Last-Event-ID %q is no ID of the feed", id)
	return end
}

// TestDropAtEveryByte drops the first connection after each byte of a small
// CRLF stream in turn: the client then gets every complete event once,
// resumes from the last complete one, and never sees a cut one.
func TestDropAtEveryByte(t *testing.T) {
	t.Parallel()
	events := []est.Event{{ID: "1", Data: "a"}, {ID: "2", Type: "x", Data: "b\nc"}, {ID: "3", Data: "d"}}
	var b strings.Builder
	for _, ev := range events {
		b.WriteString(strings.ReplaceAll(fmt.Sprintf("id: %s\n", ev.ID), "\n", "\r\n"))
		if ev.Type != "" {
			b.WriteString("event: " + ev.Type + "\r\n")
		}
		for line := range strings.SplitSeq(ev.Data, "\n") {
			b.WriteString("data: " + line + "\r\n")
		}
		b.WriteString("\r\n")
	}
	stream := b.String()
	want := []eventsource.Event{
		{Type: "message", ID: "1", Data: "a"},
		{Type: "x", ID: "2", Data: "b\nc"},
		{Type: "message", ID: "3", Data: "d"},
	}
	for n := 0; n < len(stream); n++ {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t,
				est.Script{est.DropAfter(n), est.Raw(stream)},
				est.Script{est.Feed(events, 0), est.Stall()},
			)
			es := newES(t, srv, fastRetry())
			tp := listen(es)
			tp.stopAt = len(want)
			require.NoError(t, recv(t, run(t, es)))
			assert.Equal(t, want, tp.events, "cut after %q", stream[:n])

			dec := eventsource.NewDecoder(strings.NewReader(stream[:n]))
			for _, err := range dec.All() {
				require.NoError(t, err)
			}
			reqs := srv.Requests()
			if dec.LastEventID() == "3" {
				assert.Len(t, reqs, 1, "every event came before the drop")
				return
			}
			require.Len(t, reqs, 2)
			assert.Equal(t, dec.LastEventID(), reqs[1].LastEventID, "cut after %q", stream[:n])
		})
	}
}

// TestDropAroundID cuts the stream next to an "id:" line: before the blank
// line that would dispatch it (the ID never takes effect), and right after
// a blank line that dispatches no event (it does: to dispatch is first to
// set the last event ID, WHATWG HTML 9.2.6 "Interpreting an event stream",
// https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
func TestDropAroundID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		first  string
		opts   []eventsource.Option
		wantID string // the Last-Event-ID of the reconnection; "" for none
	}{
		{"id: without its line end", "id: 1\ndata: a\n\nid: 2", nil, "1"},
		{"id: line without a blank line", "id: 1\ndata: a\n\nid: 2\n", nil, "1"},
		{"id: and data without a blank line", "id: 1\ndata: a\n\nid: 2\ndata: cut\n", nil, "1"},
		{"id: before the CR of a CRLF blank line", "id: 1\r\ndata: a\r\n\r\nid: 2\r\n", nil, "1"},
		{"id-only block", "id: 1\ndata: a\n\nid: 2\n\n", nil, "2"},
		{"id-only block cut inside its CRLF", "id: 1\r\ndata: a\r\n\r\nid: 2\r\n\r", nil, "2"},
		{"id-only block with a type", "id: 1\ndata: a\n\nevent: x\nid: 2\n\n", nil, "2"},
		{"id-only block after the stored ID", "id: 2\n\n", []eventsource.Option{eventsource.WithLastEventID("0")}, "2"},
		{"uncut ID after the stored ID", "data: a\n\nid: 2", []eventsource.Option{eventsource.WithLastEventID("0")}, "0"},
		{"id with no value resets", "id: 1\ndata: a\n\nid\n\n", nil, ""},
		{"id: with an empty value resets", "id: 1\ndata: a\n\nid:\n\n", nil, ""},
		{"reset not dispatched", "id: 1\ndata: a\n\nid:\n", nil, "1"},
		{"id with NUL is ignored", "id: 1\ndata: a\n\nid: 2\x003\n\n", nil, "1"},
	}
	for _, tc := range tests {
		for _, end := range []string{"drop", "clean end"} {
			t.Run(tc.name+"/"+end, func(t *testing.T) {
				t.Parallel()
				first := est.Script{est.Raw(tc.first), est.Drop()}
				if end == "clean end" {
					first = first[:1]
				}
				srv := newServer(t, first, est.Script{est.Data("next"), est.Stall()})
				es := newES(t, srv, append([]eventsource.Option{fastRetry()}, tc.opts...)...)
				tp := listen(es)
				es.AddEventListener("message", func(ev eventsource.Event) {
					if ev.Data == "next" {
						es.Close()
					}
				})
				require.NoError(t, recv(t, run(t, es)))

				assert.Equal(t, []string{tc.wantID}, tp.ids, "LastEventID when the connection dropped")
				require.NotEmpty(t, tp.events)
				assert.Equal(t, eventsource.Event{Type: "message", Data: "next", ID: tc.wantID}, tp.events[len(tp.events)-1],
					"an event without id: after the reconnection keeps the stored ID")
				for _, ev := range tp.events {
					assert.NotEqual(t, "cut", ev.Data)
				}
				reqs := srv.Requests()
				require.Len(t, reqs, 2)
				assert.Equal(t, tc.wantID, reqs[1].LastEventID)
				if tc.wantID == "" {
					assert.Empty(t, reqs[1].Header.Values("Last-Event-ID"), "no header for an empty ID")
				}
			})
		}
	}
}

// TestNoEventLostOrDuplicated ends the connection in three ways, each in
// the middle of an event: a clean end of stream, a connection that the
// server closes, and one that breaks in the middle of the chunked body. The
// client must get every complete event once, never the cut one, and resume
// after the last complete one.
func TestNoEventLostOrDuplicated(t *testing.T) {
	t.Parallel()
	const total = 12
	events := make([]est.Event, total)
	for i := range events {
		events[i] = est.Event{ID: strconv.Itoa(i + 1), Data: strconv.Itoa(i + 1)}
	}
	cut := est.Raw("id: 99\ndata: cut")
	srv := newServer(t,
		est.Script{est.Feed(events, 3), cut},              // a clean end of stream
		est.Script{est.Feed(events, 3), cut, est.Stall()}, // the test calls CloseClientConnections
		est.Script{est.Feed(events, 3), cut, est.Drop()},  // the connection breaks inside the body
		est.Script{est.Feed(events, 3), est.Stall()},
	)
	es := newES(t, srv, fastRetry())
	got := make(chan eventsource.Event, 2*total)
	es.OnEvent(func(ev eventsource.Event) {
		if got <- ev; ev.Data == strconv.Itoa(total) {
			es.Close()
		}
	})
	var drops atomic.Int32
	es.OnError(func(error) { drops.Add(1) })
	done := run(t, es)

	for i := 1; i <= total; i++ {
		ev := recv(t, got)
		require.Equal(t, eventsource.Event{Type: "message", Data: strconv.Itoa(i), ID: strconv.Itoa(i)}, ev)
		if i == 6 {
			srv.CloseClientConnections()
		}
	}
	require.NoError(t, recv(t, done))
	assert.Empty(t, got, "no event after the last")
	assert.Equal(t, int32(3), drops.Load())
	var lastIDs []string
	for _, req := range srv.Requests() {
		lastIDs = append(lastIDs, req.LastEventID)
	}
	assert.Equal(t, []string{"", "3", "6", "9"}, lastIDs)
}

// TestTransports streams, drops in the middle of an event and resumes, the
// same over HTTP/1.1, HTTPS and HTTP/2.
func TestTransports(t *testing.T) {
	t.Parallel()
	for _, proto := range []string{"HTTP/1.1", "HTTPS", "HTTP/2"} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			scripts := []est.Script{
				{est.Send(est.Event{ID: "1", Data: "a"}), est.Comment("ping"), est.Send(est.Event{ID: "2", Type: "t", Data: "b\nc"}),
					est.DropAfter(12), est.Send(est.Event{ID: "3", Data: "cut"})},
				{est.Send(est.Event{ID: "3", Data: "d"}), est.Stall()},
			}
			var srv *est.Server
			switch proto {
			case "HTTP/1.1":
				srv = est.NewServer(scripts...)
			case "HTTPS":
				srv = est.NewTLSServer(scripts...)
			case "HTTP/2":
				srv = est.NewUnstartedServer(scripts...)
				srv.EnableHTTP2 = true
				srv.StartTLS()
			}
			t.Cleanup(srv.Close)
			es := newES(t, srv, fastRetry())
			tp := listen(es)
			tp.stopAt = 3
			require.NoError(t, recv(t, run(t, es)))

			assert.Equal(t, []eventsource.Event{
				{Type: "message", Data: "a", ID: "1"},
				{Type: "t", Data: "b\nc", ID: "2"},
				{Type: "message", Data: "d", ID: "3"},
			}, tp.events)
			assert.Equal(t, []string{"ping"}, tp.comments)
			assert.Equal(t, 2, tp.opens)
			require.Len(t, tp.errs, 1)
			assert.Equal(t, []eventsource.ReadyState{eventsource.Connecting}, tp.states)
			reqs := srv.Requests()
			require.Len(t, reqs, 2)
			wantProto := map[string]string{"HTTP/1.1": "HTTP/1.1", "HTTPS": "HTTP/1.1", "HTTP/2": "HTTP/2.0"}[proto]
			assert.Equal(t, wantProto, reqs[0].Proto)
			assert.Equal(t, wantProto, reqs[1].Proto)
			assert.Empty(t, reqs[0].LastEventID)
			assert.Equal(t, "2", reqs[1].LastEventID)
		})
	}
}

// TestIDWithControlCharacter: an event ID may hold any character but NUL,
// CR and LF (WHATWG HTML 9.2.6 "Interpreting an event stream", the "id"
// field), and a reconnection carries Last-Event-ID when the last event ID
// is not empty (9.2.3 "Processing model",
// https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model). An ID with another control character
// must not stop the client from reconnecting: a server that sends one must
// not be able to cut the client off for good.
func TestIDWithControlCharacter(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"a\x01b", "a\x1fb", "a\x7fb", "\x0c"} {
		t.Run(strconv.Quote(id), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t,
				est.Script{est.Raw("id: " + id + "\ndata: a\n\n")},
				est.Script{est.Data("b"), est.Stall()},
			)
			es := newES(t, srv, fastRetry(), eventsource.WithMaxRetries(3))
			tp := listen(es)
			tp.stopAt = 2
			err := recv(t, run(t, es))
			require.NoError(t, err, "OnError got %v", tp.errs)
			assert.Len(t, srv.Requests(), 2, "the reconnection reaches the server")
			require.Len(t, tp.events, 2)
			assert.Equal(t, eventsource.Event{Type: "message", Data: "b", ID: id}, tp.events[1])
		})
	}
}

// TestHostileBodies sends bodies meant to break a client, with a 64 KiB
// limit: an endless line, an endless event, endless comments, a flood of
// blank lines and of comments, invalid UTF-8, NUL bytes, byte order marks
// in the middle. The client ends the stream with ErrEventTooLarge where the
// package doc ("Limits") and docs/design.md ("Memory") say so, after
// reading about the limit and no more, and reads the rest as WHATWG HTML
// 9.2.6 "Interpreting an event stream" says.
func TestHostileBodies(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	kib := strings.Repeat("x", 1024)
	tooLarge := []struct {
		name     string
		script   est.Script
		events   []eventsource.Event
		maxBytes int64 // the most the client may read
		max      int   // the limit, if not limit
	}{
		{"endless line", est.Script{est.Repeat(-1, est.Raw(kib))}, nil, 2 * limit, 0},
		{"endless comment", est.Script{est.Raw(":"), est.Repeat(-1, est.Raw(kib))}, nil, 2 * limit, 0},
		{"endless field value", est.Script{est.Raw("data: "), est.Repeat(-1, est.Raw(kib))}, nil, 2 * limit, 0},
		{"endless event", est.Script{est.Repeat(-1, est.Raw("data: "+kib+"\n"))}, nil, 2 * limit, 0},
		// Each "data" line adds one byte, its "\n", to the event's data.
		{"endless event in short lines", est.Script{est.Repeat(-1, est.Raw("data\n"))}, nil, 6 * limit, 0},
		{"endless event after an event", est.Script{est.Send(est.Event{ID: "1", Data: "a"}), est.Repeat(-1, est.Raw("data: "+kib+"\r\n"))},
			[]eventsource.Event{{Type: "message", Data: "a", ID: "1"}}, 2 * limit, 0},
		{name: "an event over the limit after an event", max: 1024, maxBytes: 4096,
			script: est.Script{est.Raw("data: small\n\ndata: " + strings.Repeat("x", 2048) + "\n\n"), est.Stall()},
			events: []eventsource.Event{{Type: "message", Data: "small"}}},
	}
	for _, tc := range tooLarge {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tc.script)
			es := newES(t, srv, fastRetry(), eventsource.WithMaxEventSize(cmp.Or(tc.max, limit)))
			tp := listen(es)
			err := recv(t, run(t, es))
			require.ErrorIs(t, err, eventsource.ErrEventTooLarge)
			assert.Equal(t, tc.events, tp.events)
			require.Len(t, tp.errs, 1)
			require.ErrorIs(t, tp.errs[0], eventsource.ErrEventTooLarge)
			assert.Equal(t, []eventsource.ReadyState{eventsource.Closed}, tp.states)
			assert.Len(t, srv.Requests(), 1, "not retried")
			assert.LessOrEqual(t, es.Stats().Bytes, tc.maxBytes, "read about the limit, and no more")
		})
	}

	t.Run("a megabyte of comments", func(t *testing.T) {
		t.Parallel()
		comment := strings.Repeat("c", 30)
		srv := newServer(t, est.Script{est.AutoFlush(false), est.Repeat(1<<15, est.Comment(comment)),
			est.AutoFlush(true), est.Data("after"), est.Stall()})
		es := newES(t, srv, eventsource.WithMaxEventSize(limit))
		tp := listen(es)
		tp.stopAt = 1
		require.NoError(t, recv(t, run(t, es)))
		assert.Len(t, tp.comments, 1<<15)
		for i, c := range tp.comments {
			if c != comment {
				assert.Equal(t, comment, c, "comment %d", i)
				break
			}
		}
		assert.Equal(t, []eventsource.Event{{Type: "message", Data: "after"}}, tp.events)
		assert.Empty(t, tp.errs)
	})
	t.Run("a megabyte of blank lines", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, est.Script{est.AutoFlush(false), est.Repeat(1<<10, est.Raw(strings.Repeat("\n", 512)+strings.Repeat("\r\n", 256))),
			est.AutoFlush(true), est.Data("after"), est.Stall()})
		es := newES(t, srv, eventsource.WithMaxEventSize(limit))
		tp := listen(es)
		tp.stopAt = 1
		require.NoError(t, recv(t, run(t, es)))
		assert.Equal(t, []eventsource.Event{{Type: "message", Data: "after"}}, tp.events, "blank lines fire nothing")
		assert.Empty(t, tp.errs)
	})

	tests := []struct {
		name     string
		first    string // the first connection's body, then a clean end
		second   string // the second's, then a stall
		events   []eventsource.Event
		comments []string
		lastID   string // the Last-Event-ID of the second request
	}{
		{
			name:     "invalid UTF-8",
			first:    "event: t\xffx\nid: i\xfe\ndata: \xc3\x28 \xe2\x82A \xf0\x9f\x98 \xed\xa0\x80\n\n:\xc0\xaf\n",
			second:   "data: \xff\n\n",
			events:   []eventsource.Event{{Type: "t\uFFFDx", ID: "i\uFFFD", Data: "\uFFFD( \uFFFDA \uFFFD \uFFFD\uFFFD\uFFFD"}, {Type: "message", ID: "i\uFFFD", Data: "\uFFFD"}},
			comments: []string{"\uFFFD\uFFFD"}, lastID: "i\uFFFD",
		},
		{name: "invalid UTF-8 in a type and data", first: "event: t\xffype\ndata: ok\xe2\x80\xa6 \xff \xe2\x82A\n\n",
			events: []eventsource.Event{{Type: "t\uFFFDype", Data: "ok… \uFFFD \uFFFDA"}}},
		{
			name:     "NUL bytes",
			first:    "id: 1\nid: 2\x00\nevent: n\x00t\ndata: a\x00b\n\n:\x00c\n\x00data: x\n\n",
			second:   "data: \x00\n\n",
			events:   []eventsource.Event{{Type: "n\x00t", ID: "1", Data: "a\x00b"}, {Type: "message", ID: "1", Data: "\x00"}},
			comments: []string{"\x00c"}, lastID: "1",
		},
		{
			name:   "byte order marks in the middle",
			first:  "\xef\xbb\xbfid: 1\ndata: 1\n\n\xef\xbb\xbfdata: 2\n\ndata: \xef\xbb\xbf3\n\n\xef\xbb\xbf\n",
			second: "\xef\xbb\xbfdata: 4\n\n\xef\xbb\xbfdata: 5\n\n",
			events: []eventsource.Event{{Type: "message", ID: "1", Data: "1"}, {Type: "message", ID: "1", Data: "\uFEFF3"},
				{Type: "message", ID: "1", Data: "4"}},
			lastID: "1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t,
				est.Script{est.Raw(tc.first)},
				est.Script{est.Drip(est.Raw(tc.second)), est.Data("end"), est.Stall()},
			)
			es := newES(t, srv, fastRetry(), eventsource.WithMaxEventSize(limit))
			tp := listen(es)
			tp.stopAt = len(tc.events) + 1
			require.NoError(t, recv(t, run(t, es)))
			want := append(tc.events, eventsource.Event{Type: "message", ID: tc.lastID, Data: "end"})
			assert.Equal(t, want, tp.events)
			assert.Equal(t, tc.comments, tp.comments)
			require.Len(t, tp.errs, 1)
			require.ErrorIs(t, tp.errs[0], io.EOF)
			reqs := srv.Requests()
			require.Len(t, reqs, 2)
			assert.Equal(t, tc.lastID, reqs[1].LastEventID)
		})
	}
}
