package eventsource_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-eventsource/eventsource"
	est "github.com/go-eventsource/eventsource/eventsourcetest"
)

// This file holds the fault tests: a hostile or broken server
// (eventsourcetest) drops connections at any byte, answers every status,
// redirects, and sends bodies meant to break the client. Each test checks
// exactly what the callbacks saw and which requests the server got.

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
	srv := faultServer(t, est.Script{est.Func(func(req est.Request) est.Script {
		rest := feed.stream[feed.resumeAt(t, req.LastEventID):]
		mu.Lock()
		defer mu.Unlock()
		if k := len(served); k < drops {
			served = append(served, rest[:min(offsets[k], len(rest))])
			return est.Script{est.DropAfter(offsets[k]), est.Raw(rest)}
		}
		return est.Script{est.Raw(rest), est.Stall()}
	})})
	es := faultES(t, srv, fastRetry())
	tp := listen(es)
	tp.stopAt = total
	require.NoError(t, recvWithin(t, runCtx(t, context.Background(), es), 60*time.Second))

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
			srv := faultServer(t,
				est.Script{est.DropAfter(n), est.Raw(stream)},
				est.Script{est.Feed(events, 0), est.Stall()},
			)
			es := faultES(t, srv, fastRetry())
			tp := listen(es)
			tp.stopAt = len(want)
			require.NoError(t, recv(t, runCtx(t, context.Background(), es)))
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
// a blank line that dispatches no event (it does: DESIGN.md §6).
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
				srv := faultServer(t, first, est.Script{est.Data("next"), est.Stall()})
				es := faultES(t, srv, append([]eventsource.Option{fastRetry()}, tc.opts...)...)
				tp := listen(es)
				es.AddEventListener("message", func(ev eventsource.Event) {
					if ev.Data == "next" {
						es.Close()
					}
				})
				require.NoError(t, recv(t, runCtx(t, context.Background(), es)))

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

// TestStatusSequence answers 500, 503 with Retry-After in seconds, 503 with
// an HTTP-date, 429, 408, then 200: each is retried after the backoff, never
// less than its Retry-After, and OnError gets a *StatusError for each.
func TestStatusSequence(t *testing.T) {
	t.Parallel()
	clock := eventsource.NewFakeClock(true)
	// The waits of 1 s and 7 s pass on the clock before the response that
	// carries the date, 90 s ahead by then.
	date := clock.Now().Add(98 * time.Second).UTC().Format(http.TimeFormat)
	srv := faultServer(t,
		est.Script{est.Status(500), est.Raw("down")},
		est.Script{est.Status(503, "Retry-After", "7")},
		est.Script{est.Status(503, "Retry-After", date)},
		est.Script{est.Status(429, "Retry-After", "2")},
		est.Script{est.Status(408)},
		est.Script{est.Send(est.Event{ID: "1", Data: "ok"}), est.Stall()},
	)
	es := faultES(t, srv, eventsource.WithClock(clock), eventsource.WithJitter(func(time.Duration) time.Duration { return 0 }),
		eventsource.WithRetry(time.Second), eventsource.WithMaxRetryDelay(time.Minute))
	tp := listen(es)
	tp.stopAt = 1
	require.NoError(t, recv(t, runCtx(t, context.Background(), es)))

	type status struct {
		Code       int
		RetryAfter time.Duration
		Header     string
	}
	var got []status
	for _, err := range tp.errs {
		var se *eventsource.StatusError
		require.ErrorAs(t, err, &se)
		got = append(got, status{se.StatusCode, se.RetryAfter, se.Header.Get("Retry-After")})
	}
	assert.Equal(t, []status{
		{500, 0, ""}, {503, 7 * time.Second, "7"}, {503, 90 * time.Second, date}, {429, 2 * time.Second, "2"}, {408, 0, ""},
	}, got)
	assert.Equal(t, []eventsource.ReadyState{eventsource.Connecting, eventsource.Connecting, eventsource.Connecting,
		eventsource.Connecting, eventsource.Connecting}, tp.states)
	// base 1s doubling: 1s, 2s→7s (Retry-After), 4s→90s (date), 8s (over 2s), 16s.
	assert.Equal(t, []time.Duration{time.Second, 7 * time.Second, 90 * time.Second, 8 * time.Second, 16 * time.Second},
		clock.Durations())
	assert.Equal(t, []eventsource.Event{{Type: "message", Data: "ok", ID: "1"}}, tp.events)
	assert.Equal(t, 1, tp.opens)
	reqs := srv.Requests()
	require.Len(t, reqs, 6)
	for i, req := range reqs {
		assert.Equal(t, http.MethodGet, req.Method, "request %d", i)
		assert.Equal(t, "text/event-stream", req.Header.Get("Accept"), "request %d", i)
		assert.Equal(t, "no-cache", req.Header.Get("Cache-Control"), "request %d", i)
	}
}

// TestStatusEndsAtOnce: these statuses end the stream after one request,
// even with a Retry-After, and Run returns the *StatusError.
func TestStatusEndsAtOnce(t *testing.T) {
	t.Parallel()
	for _, code := range []int{400, 401, 403, 404, 405, 410, 418, 300, 304, 201, 206} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			t.Parallel()
			srv := faultServer(t, est.Script{est.Status(code, "Retry-After", "1"), est.Raw(`{"error":"no"}`)})
			clock := eventsource.NewFakeClock(true)
			es := faultES(t, srv, eventsource.WithClock(clock))
			tp := listen(es)
			err := recv(t, runCtx(t, context.Background(), es))
			var se *eventsource.StatusError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, code, se.StatusCode)
			assert.Len(t, srv.Requests(), 1)
			assert.Empty(t, clock.Durations(), "no reconnection wait")
			require.Len(t, tp.errs, 1)
			require.ErrorAs(t, tp.errs[0], &se)
			assert.Equal(t, code, se.StatusCode)
			assert.Equal(t, []eventsource.ReadyState{eventsource.Closed}, tp.states)
			assert.Zero(t, tp.opens)
			assert.Equal(t, eventsource.Closed, es.ReadyState())
		})
	}
}

// TestRedirects follows 301, 302, 307 and 308 to the same origin, to
// another port and to another host: custom headers, Authorization and Cookie
// included, go only to the same origin; Accept, Cache-Control and
// Last-Event-ID always go.
func TestRedirects(t *testing.T) {
	t.Parallel()
	custom := map[string]string{"Authorization": "Bearer s3cr3t", "Cookie": "session=s3cr3t", "X-Custom": "custom"}
	for _, code := range []int{301, 302, 307, 308} {
		for _, target := range []string{"same origin", "another port", "another host"} {
			t.Run(fmt.Sprintf("%d/%s", code, target), func(t *testing.T) {
				t.Parallel()
				var dest *est.Server // the server that answers the redirected request
				src := faultServer(t,
					est.Script{est.Func(func(req est.Request) est.Script {
						loc := "/moved"
						switch target {
						case "another port":
							loc = dest.URL + "/moved"
						case "another host":
							// Same listener, another name: anyHost dials it.
							loc = "http://stream.example:" + portOf(dest.URL) + "/moved"
						}
						return est.Script{est.Status(code, "Location", loc)}
					})},
					est.Script{est.Data("moved"), est.Stall()},
				)
				dest = src
				if target == "another port" {
					dest = faultServer(t, est.Script{est.Data("moved"), est.Stall()})
				}
				opts := []eventsource.Option{eventsource.WithLastEventID("7"), eventsource.WithHTTPClient(anyHost(t, src))}
				for k, v := range custom {
					opts = append(opts, eventsource.WithHeader(k, v))
				}
				es, err := eventsource.New(src.URL+"/start", opts...)
				require.NoError(t, err)
				tp := listen(es)
				tp.stopAt = 1
				require.NoError(t, recv(t, runCtx(t, context.Background(), es)))
				assert.Equal(t, []eventsource.Event{{Type: "message", Data: "moved", ID: "7"}}, tp.events)
				assert.Empty(t, tp.errs)

				first := src.Requests()[0]
				reqs := dest.Requests()
				last := reqs[len(reqs)-1]
				assert.Equal(t, "/moved", last.URL)
				for k, v := range custom {
					assert.Equal(t, v, first.Header.Get(k), "first request, %s", k)
					if target == "same origin" {
						assert.Equal(t, v, last.Header.Get(k), "after the redirect, %s", k)
					} else {
						assert.Empty(t, last.Header.Values(k), "after the redirect, %s", k)
					}
				}
				assert.Equal(t, "text/event-stream", last.Header.Get("Accept"))
				assert.Equal(t, "no-cache", last.Header.Get("Cache-Control"))
				assert.Equal(t, "7", last.LastEventID)
			})
		}
	}
	for _, code := range []int{307, 308} {
		t.Run(fmt.Sprintf("%d keeps POST and its body", code), func(t *testing.T) {
			t.Parallel()
			srv := faultServer(t,
				est.Script{est.Status(code, "Location", "/moved")},
				est.Script{est.Data("moved"), est.Stall()},
			)
			es := faultES(t, srv, eventsource.WithMethod(http.MethodPost), eventsource.WithBody([]byte(`{"q":1}`)))
			tp := listen(es)
			tp.stopAt = 1
			require.NoError(t, recv(t, runCtx(t, context.Background(), es)))
			reqs := srv.Requests()
			require.Len(t, reqs, 2)
			for _, req := range reqs {
				assert.Equal(t, http.MethodPost, req.Method)
				assert.Equal(t, `{"q":1}`, req.Body)
			}
		})
	}
}

// TestRedirectLoopEnds: a redirect loop, on one server or between two, ends
// the stream with ErrTooManyRedirects after 10 hops, without a retry.
func TestRedirectLoopEnds(t *testing.T) {
	t.Parallel()
	for _, code := range []int{302, 307, 308} {
		t.Run(strconv.Itoa(code)+"/self", func(t *testing.T) {
			t.Parallel()
			srv := faultServer(t, est.Script{est.Status(code, "Location", "/loop")})
			es := faultES(t, srv, fastRetry())
			tp := listen(es)
			require.ErrorIs(t, recv(t, runCtx(t, context.Background(), es)), eventsource.ErrTooManyRedirects)
			assert.Len(t, srv.Requests(), 10)
			require.Len(t, tp.errs, 1)
			require.ErrorIs(t, tp.errs[0], eventsource.ErrTooManyRedirects)
			assert.Equal(t, []eventsource.ReadyState{eventsource.Closed}, tp.states)
		})
		t.Run(strconv.Itoa(code)+"/two servers", func(t *testing.T) {
			t.Parallel()
			var a, b *est.Server
			a = faultServer(t, est.Script{est.Func(func(est.Request) est.Script {
				return est.Script{est.Status(code, "Location", b.URL+"/b")}
			})})
			b = faultServer(t, est.Script{est.Func(func(est.Request) est.Script {
				return est.Script{est.Status(code, "Location", a.URL+"/a")}
			})})
			es := faultES(t, a, fastRetry(), eventsource.WithHeader("Authorization", "Bearer s3cr3t"))
			tp := listen(es)
			require.ErrorIs(t, recv(t, runCtx(t, context.Background(), es)), eventsource.ErrTooManyRedirects)
			assert.Equal(t, 10, len(a.Requests())+len(b.Requests()))
			for i, req := range append(a.Requests()[1:], b.Requests()...) {
				assert.Empty(t, req.Header.Values("Authorization"), "hop %d: never restored", i)
			}
			assert.Len(t, tp.errs, 1)
		})
	}
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
			es := faultES(t, srv, fastRetry())
			tp := listen(es)
			tp.stopAt = 3
			require.NoError(t, recv(t, runCtx(t, context.Background(), es)))

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
// CR and LF (DESIGN.md §5), and "a reconnection carries Last-Event-ID when
// the last event ID is not empty". An ID with another control character
// must not stop the client from reconnecting: a server that sends one must
// not be able to cut the client off for good.
func TestIDWithControlCharacter(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"a\x01b", "a\x1fb", "a\x7fb", "\x0c"} {
		t.Run(strconv.Quote(id), func(t *testing.T) {
			t.Parallel()
			srv := faultServer(t,
				est.Script{est.Raw("id: " + id + "\ndata: a\n\n")},
				est.Script{est.Data("b"), est.Stall()},
			)
			es := faultES(t, srv, fastRetry(), eventsource.WithMaxRetries(3))
			tp := listen(es)
			tp.stopAt = 2
			err := recv(t, runCtx(t, context.Background(), es))
			require.NoError(t, err, "OnError got %v", tp.errs)
			assert.Len(t, srv.Requests(), 2, "the reconnection reaches the server")
			require.Len(t, tp.events, 2)
			assert.Equal(t, eventsource.Event{Type: "message", Data: "b", ID: id}, tp.events[1])
		})
	}
}

// TestOptionWithControlCharacter: New must reject a header value or a last
// event ID that net/http will not send, or the requests must go out; it
// must not accept it and then fail every attempt for ever.
func TestOptionWithControlCharacter(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]eventsource.Option{
		"WithHeader":      eventsource.WithHeader("X-A", "a\x01b"),
		"WithLastEventID": eventsource.WithLastEventID("a\x01b"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := faultServer(t, est.Script{est.Data("a"), est.Stall()})
			es, err := eventsource.New(srv.URL, eventsource.WithHTTPClient(srv.Client()), fastRetry(),
				eventsource.WithMaxRetries(3), opt)
			if err != nil {
				return // rejected up front: fine
			}
			tp := listen(es)
			tp.stopAt = 1
			require.NoError(t, recv(t, runCtx(t, context.Background(), es)), "New accepted the option, so the request must go out")
			assert.Len(t, srv.Requests(), 1)
		})
	}
}

// TestHostileBodies sends bodies meant to break a client, with a 64 KiB
// limit: an endless line, an endless event, endless comments, a flood of
// blank lines and of comments, invalid UTF-8, NUL bytes, byte order marks
// in the middle. The client ends the stream with ErrEventTooLarge where
// DESIGN.md says so, after reading about the limit and no more, and reads
// the rest as the spec says.
func TestHostileBodies(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	kib := strings.Repeat("x", 1024)
	tooLarge := []struct {
		name     string
		script   est.Script
		events   []eventsource.Event
		maxBytes int64 // the most the client may read
	}{
		{"endless line", est.Script{est.Repeat(-1, est.Raw(kib))}, nil, 2 * limit},
		{"endless comment", est.Script{est.Raw(":"), est.Repeat(-1, est.Raw(kib))}, nil, 2 * limit},
		{"endless field value", est.Script{est.Raw("data: "), est.Repeat(-1, est.Raw(kib))}, nil, 2 * limit},
		{"endless event", est.Script{est.Repeat(-1, est.Raw("data: "+kib+"\n"))}, nil, 2 * limit},
		// Each "data" line adds one byte, its "\n", to the event's data.
		{"endless event in short lines", est.Script{est.Repeat(-1, est.Raw("data\n"))}, nil, 6 * limit},
		{"endless event after an event", est.Script{est.Send(est.Event{ID: "1", Data: "a"}), est.Repeat(-1, est.Raw("data: "+kib+"\r\n"))},
			[]eventsource.Event{{Type: "message", Data: "a", ID: "1"}}, 2 * limit},
	}
	for _, tc := range tooLarge {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := faultServer(t, tc.script)
			es := faultES(t, srv, fastRetry(), eventsource.WithMaxEventSize(limit))
			tp := listen(es)
			err := recv(t, runCtx(t, context.Background(), es))
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
		srv := faultServer(t, est.Script{est.AutoFlush(false), est.Repeat(1<<15, est.Comment(comment)),
			est.AutoFlush(true), est.Data("after"), est.Stall()})
		es := faultES(t, srv, eventsource.WithMaxEventSize(limit))
		tp := listen(es)
		tp.stopAt = 1
		require.NoError(t, recv(t, runCtx(t, context.Background(), es)))
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
		srv := faultServer(t, est.Script{est.AutoFlush(false), est.Repeat(1<<10, est.Raw(strings.Repeat("\n", 512)+strings.Repeat("\r\n", 256))),
			est.AutoFlush(true), est.Data("after"), est.Stall()})
		es := faultES(t, srv, eventsource.WithMaxEventSize(limit))
		tp := listen(es)
		tp.stopAt = 1
		require.NoError(t, recv(t, runCtx(t, context.Background(), es)))
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
			comments: []string{"\uFFFD\uFFFD"},
			lastID:   "i\uFFFD",
		},
		{
			name:     "NUL bytes",
			first:    "id: 1\nid: 2\x00\nevent: n\x00t\ndata: a\x00b\n\n:\x00c\n\x00data: x\n\n",
			second:   "data: \x00\n\n",
			events:   []eventsource.Event{{Type: "n\x00t", ID: "1", Data: "a\x00b"}, {Type: "message", ID: "1", Data: "\x00"}},
			comments: []string{"\x00c"},
			lastID:   "1",
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
			srv := faultServer(t,
				est.Script{est.Raw(tc.first)},
				est.Script{est.Drip(est.Raw(tc.second)), est.Data("end"), est.Stall()},
			)
			es := faultES(t, srv, fastRetry(), eventsource.WithMaxEventSize(limit))
			tp := listen(es)
			tp.stopAt = len(tc.events) + 1
			require.NoError(t, recv(t, runCtx(t, context.Background(), es)))
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

// faultServer starts an eventsourcetest server, closed at the end of the
// test.
func faultServer(t *testing.T, scripts ...est.Script) *est.Server {
	t.Helper()
	srv := est.NewServer(scripts...)
	t.Cleanup(srv.Close)
	return srv
}

// faultES returns an EventSource for srv that uses srv's client.
func faultES(t *testing.T, srv *est.Server, opts ...eventsource.Option) *eventsource.EventSource {
	t.Helper()
	es, err := eventsource.New(srv.URL, append([]eventsource.Option{eventsource.WithHTTPClient(srv.Client())}, opts...)...)
	require.NoError(t, err)
	return es
}

// fastRetry makes every reconnection wait pass at once.
func fastRetry() eventsource.Option { return eventsource.WithClock(eventsource.NewFakeClock(true)) }

// anyHost returns a client that connects to srv for the host
// stream.example, so that a redirect can go to another host over loopback.
// Its connections close at the end of the test.
func anyHost(t *testing.T, srv *est.Server) *http.Client {
	var d net.Dialer
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, _, _ := net.SplitHostPort(addr); host == "stream.example" {
			addr = srv.Listener.Addr().String()
		}
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// portOf returns the port of a URL such as http://127.0.0.1:1234.
func portOf(u string) string { return u[strings.LastIndexByte(u, ':')+1:] }

// A tape records what the callbacks of an EventSource saw. Its fields are
// written on Run's goroutine: read them after Run returned.
type tape struct {
	events   []eventsource.Event
	errs     []error
	states   []eventsource.ReadyState // ReadyState during each OnError
	ids      []string                 // LastEventID during each OnError
	comments []string
	opens    int
	stopAt   int // Close after this many events; 0 for never
}

// listen sets the callbacks of es to record on a new tape.
func listen(es *eventsource.EventSource) *tape {
	tp := &tape{}
	es.OnOpen(func() { tp.opens++ })
	es.OnComment(func(c string) { tp.comments = append(tp.comments, c) })
	es.OnEvent(func(ev eventsource.Event) {
		tp.events = append(tp.events, ev)
		if len(tp.events) == tp.stopAt {
			es.Close()
		}
	})
	es.OnError(func(err error) {
		tp.errs = append(tp.errs, err)
		tp.states = append(tp.states, es.ReadyState())
		tp.ids = append(tp.ids, es.LastEventID())
	})
	return tp
}

// TestStatus1xx: a 1xx that reaches the client as the final response is a
// *StatusError, at once and without reading its body: after a 101 the body
// is the raw connection, which nothing would end.
func TestStatus1xx(t *testing.T) {
	t.Parallel()
	t.Run("101 then silence", func(t *testing.T) {
		t.Parallel()
		reached := make(chan struct{})
		url, client, _ := rawServer(t, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n", reached)
		es, err := eventsource.New(url, eventsource.WithHTTPClient(client))
		require.NoError(t, err)
		var se *eventsource.StatusError
		require.ErrorAs(t, recv(t, run(t, es)), &se)
		assert.Equal(t, http.StatusSwitchingProtocols, se.StatusCode)
		assert.Equal(t, eventsource.Closed, es.ReadyState())
	})
	t.Run("103 as the final response", func(t *testing.T) {
		t.Parallel()
		body := &blockingBody{closed: make(chan struct{})}
		client := &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: http.StatusEarlyHints, Header: http.Header{}, Body: body, Request: req}, nil
		})}
		es, err := eventsource.New("http://stream.example/", eventsource.WithHTTPClient(client))
		require.NoError(t, err)
		var se *eventsource.StatusError
		require.ErrorAs(t, recv(t, run(t, es)), &se)
		assert.Equal(t, http.StatusEarlyHints, se.StatusCode)
		assert.Zero(t, body.reads.Load(), "the body is not read")
		recv(t, body.closed)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// A blockingBody blocks every Read until it is closed.
type blockingBody struct {
	reads     atomic.Int32
	closed    chan struct{}
	closeOnce sync.Once
}

func (b *blockingBody) Read([]byte) (int, error) {
	b.reads.Add(1)
	<-b.closed
	return 0, net.ErrClosed
}

func (b *blockingBody) Close() error {
	b.closeOnce.Do(func() { close(b.closed) })
	return nil
}

// TestErrorBodyReadEnds: the body of an error response that stalls half
// way is read for StatusError.Body, but Close, the context, the idle
// timeout and a time limit of its own each end that read at once.
func TestErrorBodyReadEnds(t *testing.T) {
	t.Parallel()
	const head = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 1000\r\n\r\n"
	for _, stop := range []string{"Close", "cancel", "idle timeout", "body time limit"} {
		t.Run(stop, func(t *testing.T) {
			t.Parallel()
			url, client, gone := rawServer(t, head+"partial", make(chan struct{}))
			reading := make(chan struct{}, 8)
			client.Transport = readSignal{client.Transport, reading}
			clock := eventsource.NewFakeClock(false)
			opts := []eventsource.Option{eventsource.WithHTTPClient(client), eventsource.WithClock(clock), eventsource.WithMaxRetries(0)}
			switch stop {
			case "idle timeout":
				opts = append(opts, eventsource.WithIdleTimeout(time.Minute))
			case "body time limit":
				opts = append(opts, eventsource.WithErrorBodyTimeout(time.Millisecond))
			}
			es, err := eventsource.New(url, opts...)
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := runCtx(t, ctx, es)
			recv(t, reading) // the first read returns "partial"
			recv(t, reading) // the second waits for the rest
			switch stop {
			case "Close":
				require.NoError(t, es.Close())
			case "cancel":
				cancel()
			case "idle timeout":
				require.True(t, recv(t, clock.Timers()).Fire())
			}
			err = recv(t, done)
			switch stop {
			case "Close":
				require.NoError(t, err)
			case "cancel":
				require.ErrorIs(t, err, context.Canceled)
			default:
				var se *eventsource.StatusError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, "partial", se.Body)
			}
			recv(t, gone) // the connection was closed
		})
	}
}

// readSignal sends on reading at each Read of a response body, before the
// Read itself.
type readSignal struct {
	rt      http.RoundTripper
	reading chan<- struct{}
}

func (t readSignal) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err == nil {
		resp.Body = signalBody{resp.Body, t.reading}
	}
	return resp, err
}

type signalBody struct {
	io.ReadCloser
	reading chan<- struct{}
}

func (b signalBody) Read(p []byte) (int, error) {
	b.reading <- struct{}{}
	return b.ReadCloser.Read(p)
}
