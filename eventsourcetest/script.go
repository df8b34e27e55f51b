package eventsourcetest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// A Script is the server's answer to one request: its steps run in order,
// and the response ends normally after the last one, so a client sees a
// clean end of stream. The empty Script answers with an empty stream.
//
// The response status and headers go out with the first step that writes
// body bytes, with [Flush], or when the script ends. Until then the status is
// 200 OK; a 200 response gets "Content-Type: text/event-stream" and
// "Cache-Control: no-cache" unless [Status] set those headers. A script that
// waits ([Wait], [Stall]) before any of that holds back the headers too.
//
// Every step that writes is flushed to the client when it ends, unless
// [AutoFlush] turned that off. A Script stops early when its client goes away;
// one that waits drops its connection when the [Server] closes.
type Script []Step

// A Step is one action of a [Script]. The functions of this package make
// them; the zero Step does nothing.
type Step struct {
	run func(st *stream) error
}

// An Event is one event that [Send] and [Feed] write. Its fields are those of
// eventsource.Event.
type Event struct {
	Type string // written as an "event:" line unless empty; must not contain a line break
	Data string // written as one "data:" line per line of Data, split at "\n"
	ID   string // written as an "id:" line unless empty; must not contain a line break
}

// Send writes ev in the event stream format, ending with the empty line that
// dispatches it:
//
//	event: <Type>
//	id: <ID>
//	data: <first line of Data>
//	data: <second line of Data>
//	<empty line>
//
// An empty Data still writes one "data:" line, so the event fires with empty
// data. To write anything else, such as an "id:" line with an empty value,
// use [Raw].
func Send(ev Event) Step {
	var b strings.Builder
	if ev.Type != "" {
		b.WriteString("event: " + ev.Type + "\n")
	}
	if ev.ID != "" {
		b.WriteString("id: " + ev.ID + "\n")
	}
	for line := range strings.SplitSeq(ev.Data, "\n") {
		b.WriteString("data: " + line + "\n")
	}
	b.WriteString("\n")
	return Raw(b.String())
}

// Data writes an event of type "message" without an ID: Send(Event{Data: data}).
func Data(data string) Step {
	return Send(Event{Data: data})
}

// Comment writes text as a comment line (": text"), the way servers send
// heartbeats. Each line of text, split at "\n", becomes its own comment line.
func Comment(text string) Step {
	var b strings.Builder
	for line := range strings.SplitSeq(text, "\n") {
		b.WriteString(": " + line + "\n")
	}
	return Raw(b.String())
}

// Retry writes a "retry:" line that sets the client's reconnection time to d,
// in whole milliseconds.
func Retry(d time.Duration) Step {
	return Raw(fmt.Sprintf("retry: %d\n", d.Milliseconds()))
}

// Raw writes s exactly as it is: malformed lines, invalid UTF-8, NUL bytes, a
// byte order mark, CR or CRLF line ends, or a non-stream body after [Status].
func Raw(s string) Step {
	return Step{func(st *stream) error { return st.write(s) }}
}

// Flush sends the status, the headers and every byte written so far to the
// client.
func Flush() Step {
	return Step{func(st *stream) error { return st.flush() }}
}

// AutoFlush turns on or off the flush that ends every step that writes. It
// is on when a script starts. With it off, the bytes of later steps wait in
// the server's buffer (a few KiB, after which net/http sends them anyway)
// until a [Flush], a [Drop] or the end of the script, so a client receives
// several events in one read, or nothing for a while.
func AutoFlush(on bool) Step {
	return Step{func(st *stream) error {
		st.autoFlush = on
		return nil
	}}
}

// Drop sends what the script has written so far and then breaks the
// connection without ending the response properly: an HTTP/1.1 client reads
// an unexpected EOF in the middle of the body, an HTTP/2 client a stream
// reset. Before anything was written, the client gets no response at all.
// The steps after Drop never run.
func Drop() Step {
	return Step{func(*stream) error { return errDrop }}
}

// DropAfter lets the next n bytes of the body through and then drops the
// connection as [Drop] does, wherever those bytes end: in the middle of a
// line, of an event, or between the CR and the LF of a CRLF. The bytes count
// from this step on. If the script ends first, the response ends normally.
// DropAfter(0) drops at once.
func DropAfter(n int) Step {
	return Step{func(st *stream) error {
		if n <= 0 {
			return errDrop
		}
		st.budget = n
		return nil
	}}
}

// Wait blocks the script until ch is closed or yields a value, so a test
// decides when the stream goes on: a test that closes ch releases every
// request waiting on it. Wait ends the script if the client goes away first,
// and drops the connection if the [Server] closes first. Wait writes nothing:
// as the first step it holds back the response headers too.
func Wait(ch <-chan struct{}) Step {
	return Step{func(st *stream) error {
		select {
		case <-ch:
			return nil
		case <-st.r.Context().Done():
			return st.r.Context().Err()
		case <-st.closed:
			return errDrop
		}
	}}
}

// Stall blocks the script until the client goes away or the [Server]
// closes: Wait(nil). It keeps a connection open after the last event. To
// open the stream first and then stall, put [Flush] or an event before it.
func Stall() Step {
	return Wait(nil)
}

// Drip runs steps writing their bytes one at a time, each flushed on its
// own, so the client's reads see a byte at a time (for HTTP/1.1, each byte
// goes in its own chunk; how the network groups them is up to it).
func Drip(steps ...Step) Step {
	steps = slices.Clone(steps)
	return Step{func(st *stream) error {
		was := st.drip
		st.drip = true
		defer func() { st.drip = was }()
		return st.run(steps)
	}}
}

// Repeat runs steps n times, one round after the other; with n < 0 it
// repeats them until the client goes away, and drops the connection when
// the [Server] closes. It makes a body of any size without holding it in
// memory:
//
//	Repeat(-1, Raw("x"))                            // an endless line
//	Repeat(-1, Raw("data: x\n"))                    // an endless event
//	Repeat(1<<15, Comment(strings.Repeat("c", 30))) // a megabyte of comments
//
// With n < 0 the steps should write: steps that write nothing spin until
// the client leaves.
func Repeat(n int, steps ...Step) Step {
	steps = slices.Clone(steps)
	return Step{func(st *stream) error {
		for i := 0; n < 0 || i < n; i++ {
			select {
			case <-st.closed:
				return errDrop
			default:
			}
			if err := st.run(steps); err != nil {
				return err
			}
		}
		return nil
	}}
}

// Status sets the response's status code and adds headers, given as pairs
// of key and value: Status(503, "Retry-After", "1") or
// Status(307, "Location", "/next"). An empty value removes that header,
// default included, so Status(200, "Content-Type", "") answers without a
// Content-Type. Write a body with [Raw]. Status must come before the first
// step that writes or flushes, which sends the headers; a Status after that
// panics in the handler, which net/http logs before it breaks the connection.
// Status panics if kv has an odd length.
func Status(code int, kv ...string) Step {
	if len(kv)%2 != 0 {
		panic("eventsourcetest: Status: odd number of header strings")
	}
	kv = slices.Clone(kv)
	return Step{func(st *stream) error {
		if st.wroteHeader {
			panic("eventsourcetest: Status after the headers were sent")
		}
		st.status = code
		h := st.w.Header()
		for i := 0; i < len(kv); i += 2 {
			key := http.CanonicalHeaderKey(kv[i])
			if kv[i+1] == "" {
				h[key] = nil // a nil value also stops net/http from adding its own
				continue
			}
			h.Add(key, kv[i+1])
		}
		return nil
	}}
}

// Feed serves events as a resumable feed does: a request whose Last-Event-ID
// header names the ID of one of the events gets the events after it; any
// other request gets them from the first. At most n events are sent, each as
// [Send] writes it; n <= 0 sends all that remain. The script goes on after
// them, so
//
//	Script{Feed(events, 2)}           // two events, then a clean end of stream
//	Script{Feed(events, 2), Drop()}   // two events, then a broken connection
//	Script{Feed(events, 0), Stall()}  // the rest of the feed, then stay open
func Feed(events []Event, n int) Step {
	steps := make([]Step, len(events))
	ids := make([]string, len(events))
	for i, ev := range events {
		steps[i], ids[i] = Send(ev), ev.ID
	}
	return Step{func(st *stream) error {
		start := 0
		if id := st.req.LastEventID; id != "" {
			start = slices.Index(ids, id) + 1 // from the first when the ID is unknown
		}
		end := len(steps)
		if n > 0 {
			end = min(end, start+n)
		}
		return st.run(steps[start:end])
	}}
}

// Func runs the steps that fn returns for the request being answered, so a
// script can depend on the request (its path, its headers) or on something
// known only once the test runs, such as the URL of a server made later:
//
//	var b *eventsourcetest.Server // made after a, from a.URL
//	a := eventsourcetest.NewServer(eventsourcetest.Script{
//		eventsourcetest.Func(func(eventsourcetest.Request) eventsourcetest.Script {
//			return eventsourcetest.Script{eventsourcetest.Status(307, "Location", b.URL)}
//		}),
//	})
//
// fn runs on the goroutine that answers the request, once per request.
func Func(fn func(req Request) Script) Step {
	return Step{func(st *stream) error { return st.run(fn(st.req)) }}
}

// errDrop makes the script break its connection.
var errDrop = errors.New("eventsourcetest: drop the connection")

// A stream is the state of one script answering one request.
type stream struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	r      *http.Request
	req    Request         // what the server recorded of r
	closed <-chan struct{} // the server's

	status      int
	wroteHeader bool
	unflushed   bool // bytes were written since the last flush
	autoFlush   bool
	drip        bool
	budget      int // body bytes left before DropAfter drops; -1 when no DropAfter is in force
}

func (sc Script) serve(w http.ResponseWriter, r *http.Request, req Request, closed <-chan struct{}) {
	st := &stream{
		w:         w,
		rc:        http.NewResponseController(w),
		r:         r,
		req:       req,
		closed:    closed,
		status:    http.StatusOK,
		autoFlush: true,
		budget:    -1,
	}
	err := st.run(sc)
	if errors.Is(err, errDrop) {
		if st.wroteHeader {
			_ = st.rc.Flush() // the client may be gone already; the drop is all that is left
		}
		// The one way to break a response that works for HTTP/1.1 and
		// HTTP/2 alike; net/http does not log it.
		panic(http.ErrAbortHandler)
	}
	if err == nil {
		st.writeHeader()
	}
}

// run runs steps in order, flushing after each one that wrote when
// autoFlush is on. It stops at the first error, and when the client is gone.
func (st *stream) run(steps []Step) error {
	for _, step := range steps {
		if step.run == nil {
			continue
		}
		if err := st.r.Context().Err(); err != nil {
			return err
		}
		if err := step.run(st); err != nil {
			return err
		}
		if st.autoFlush && st.unflushed {
			if err := st.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (st *stream) write(s string) error {
	st.writeHeader()
	for len(s) > 0 {
		n := len(s)
		if st.drip {
			n = 1
		}
		if st.budget >= 0 {
			n = min(n, st.budget)
		}
		if _, err := io.WriteString(st.w, s[:n]); err != nil {
			return err
		}
		st.unflushed = true
		s = s[n:]
		if st.budget >= 0 {
			st.budget -= n
			if st.budget == 0 {
				return errDrop
			}
		}
		if st.drip {
			if err := st.flush(); err != nil {
				return err
			}
			if err := st.r.Context().Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (st *stream) flush() error {
	st.writeHeader()
	st.unflushed = false
	return st.rc.Flush()
}

func (st *stream) writeHeader() {
	if st.wroteHeader {
		return
	}
	st.wroteHeader = true
	if st.status == http.StatusOK {
		h := st.w.Header()
		if _, ok := h["Content-Type"]; !ok {
			h.Set("Content-Type", "text/event-stream")
		}
		if _, ok := h["Cache-Control"]; !ok {
			h.Set("Cache-Control", "no-cache")
		}
	}
	st.w.WriteHeader(st.status)
}
