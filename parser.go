// This file holds the Decoder: its API, and the rules of the WHATWG HTML
// standard's "event stream interpretation"
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation)
// for each field and for the dispatch of an event. The lines come from the
// scanner (scan.go).

package eventsource

import (
	"bytes"
	"io"
	"iter"
	"math"
	"strings"
	"time"
)

const (
	// defaultMaxEventSize bounds one line, and one event's data.
	defaultMaxEventSize = 16 << 20
	// longData is the length from which a data line that the read buffer
	// does not hold whole is read straight into a data buffer.
	longData = 16 << 10
)

// A Decoder reads Server-Sent Events from a byte stream, exactly as the
// WHATWG HTML standard ("event stream interpretation") says. It reads any
// [io.Reader]: an [net/http.Response] body from a POST to an LLM API, a file,
// a pipe. It does not reconnect; [EventSource] does.
//
// A Decoder buffers what it reads; it holds at most one line and one event's
// data, each bounded by [Decoder.SetMaxEventSize]. Invalid UTF-8 becomes
// U+FFFD. A Decoder is not safe for concurrent use.
//
// The strings of small events (up to 1 KiB) are carved out of shared 14 KiB
// blocks, one allocation for many events: an Event kept alive keeps its
// block alive. A data line too long for the read buffer is read straight
// into memory of its own, which becomes the event's Data.
type Decoder struct {
	scanner       // the lines of the stream
	err     error // the sticky error of Next

	data      []byte          // data buffer: each data line followed by '\n'
	view      []byte          // the event's only data line so far, still in the read buffer
	hasView   bool            // view holds the data: data is empty
	viewASCII bool            // view is ASCII: it needs no UTF-8 validation
	typ       []byte          // event type buffer, valid UTF-8
	sameType  bool            // the event type is types[0]; typ is empty
	id        []byte          // last event ID buffer, valid UTF-8, when idSet
	idSet     bool            // an "id:" field came since the last dispatch; if not, the buffer's value is lastID
	lastID    string          // the last event ID, set at dispatch
	types     []string        // recent event types, reused when they come again
	owned     bool            // data was made for this event by readLongData: see handOver
	longHint  int             // the size of the last long event's data buffer
	longData  int             // see the constant longData; tests lower it
	slab      strings.Builder // memory for the strings of small events; see newString
	idInSlab  bool            // lastID lies in slab; see releaseSlab
	idChanges uint64          // how many times lastID changed
	idMoved   func(id string) // called when releaseSlab moves lastID
	retry     time.Duration
	hasRetry  bool

	comment func(line []byte) // called for each comment line, if set
}

// NewDecoder returns a Decoder that reads from r. It does not read until the
// first call of [Decoder.Next].
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{scanner: newScanner(r, defaultMaxEventSize), longData: longData}
}

// reset makes d a Decoder for one connection of an [EventSource]: its last
// event ID buffer starts at lastID, as in Chromium, so an event without
// "id:" after a reconnection keeps the stored ID.
func (d *Decoder) reset(r io.Reader, max int, lastID string) {
	d.release()
	// Field by field, so that no Decoder is built on the caller's stack.
	*d = Decoder{}
	d.r, d.max, d.crAt = r, max, -1
	d.lastID, d.longData = lastID, longData
}

// SetMaxEventSize limits one line, and the data of one event, to n bytes,
// counted before invalid UTF-8 is replaced. A longer line or event makes
// [Decoder.Next] return an error wrapping [ErrEventTooLarge]. The default is
// 16 MiB; n < 1 restores it. Call it before the first Next.
func (d *Decoder) SetMaxEventSize(n int) {
	if n < 1 {
		n = defaultMaxEventSize
	}
	d.max = n
}

// OnComment sets a function that Next calls for each comment line (a line
// that starts with ':'), with the text after the colon and one leading space
// removed. Heartbeats are usually comments. fn runs on the goroutine that
// calls Next, before Next returns the events that follow the comment.
// A nil fn removes it.
func (d *Decoder) OnComment(fn func(comment string)) {
	if fn == nil {
		d.comment = nil
		return
	}
	d.comment = func(line []byte) { fn(validString(line)) }
}

// LastEventID returns the last event ID so far: the value of the last "id:"
// field in effect when an event was last dispatched. A blank line sets it
// even when it fires no event, so "id: 7\n\n" makes it "7"; "id:\n\n" makes
// it empty.
func (d *Decoder) LastEventID() string { return d.lastID }

// Retry returns the reconnection time of the last valid "retry:" field, and
// whether the stream sent one. It takes effect as soon as its line is read,
// even if no event follows.
func (d *Decoder) Retry() (time.Duration, bool) { return d.retry, d.hasRetry }

// Next returns the next event. It returns [io.EOF] when the stream ends
// after the last complete event; an event that the stream cut off before its
// blank line is discarded. It returns an error wrapping [ErrEventTooLarge]
// for a line or event data longer than the maximum, and the reader's error
// as it is for any other failure. Errors are sticky: after Next returns an
// error, every later call returns the same error.
func (d *Decoder) Next() (Event, error) {
	// An Event is too large for the compiler to keep in registers: each
	// one built in memory and then copied costs a stall (the copy's loads
	// are wider than the stores before it). The strings come back in
	// registers instead, and Next is small enough to be inlined.
	typ, data, id := d.next()
	return Event{Type: typ, Data: data, ID: id}, d.err
}

// next is Next, returning the Event's strings apart, and its error in
// d.err.
func (d *Decoder) next() (typ, data, id string) {
	if d.err != nil {
		return "", "", ""
	}
	for {
		line, ascii, ok := d.nextLine()
		if !ok {
			var err error
			if line, err = d.readLine(); err != nil {
				d.err = err
				return "", "", ""
			}
		}
		switch {
		case len(line) == 0:
			if d.hasView || len(d.data) > 0 || d.idSet || len(d.typ) > 0 || d.sameType {
				if typ, data, id, ok := d.dispatch(); ok {
					return typ, data, id
				}
			}
			// Else the block was empty, or held only comments: the
			// dispatch would change nothing.
		case line[0] == ':':
			// A comment: heartbeats are the commonest.
			if d.comment != nil {
				d.comment(trimSpace(line[1:]))
			}
		// The three cases below are fast paths of processLine, which
		// holds the rules; TestDecoder and FuzzDecoder, against a model
		// of the standard, keep them in step.
		case len(line) >= 5 && string(line[:5]) == "data:" && !d.hasView && len(d.data) == 0:
			// The first data line of an event, the most common line
			// there is: keep a view, copied (detachView) only if the
			// read buffer changes before the event's blank line. A line
			// is never longer than the limit, so neither is the data.
			d.view, d.hasView, d.viewASCII = trimSpace(line[5:]), true, ascii
		case len(line) >= 3 && string(line[:3]) == "id:" && isPlainASCII(trimSpace(line[3:])):
			// An ID of ASCII without NUL, as most are: nothing to check
			// or repair.
			d.id, d.idSet = append(d.id[:0], trimSpace(line[3:])...), true
		case len(line) > 6 && string(line[:6]) == "event:" && d.recentType(trimSpace(line[6:])):
			// The type of one of the last two events, most often.
			d.typ = d.typ[:0]
		default:
			if err := d.processLine(line); err != nil {
				d.err = err
				return "", "", ""
			}
		}
	}
}

// All returns an iterator over the events of the stream, for use with range:
//
//	for ev, err := range dec.All() {
//		if err != nil { … }
//	}
//
// It stops after the last event at a clean end of stream; any other error is
// yielded once, as the last pair. Breaking out of the loop leaves the Decoder
// where it is: a later Next or All goes on with the next event.
func (d *Decoder) All() iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for {
			ev, err := d.Next()
			if err == io.EOF {
				return
			}
			if !yield(ev, err) || err != nil {
				return
			}
		}
	}
}

// readLine returns the next line without its line end, reading as needed.
// The line is a view into the read buffer: it stops being valid at the next
// call.
func (d *Decoder) readLine() ([]byte, error) {
	for {
		if line, ok, err := d.line(); ok || err != nil {
			return line, err
		}
		// A data line that the buffer does not hold whole, and that is
		// long, or likely to be after a long event, is read straight into
		// a buffer of its own.
		if p := d.pending(); len(p) > len("data:") && string(p[:5]) == "data:" &&
			(len(p) >= d.longData || d.longHint >= d.longData) {
			if err := d.readLongData(); err != nil {
				return nil, err
			}
			continue
		}
		d.detachView()
		if len(d.pending()) == 0 {
			// What the last read brought is used up: the block of its
			// strings goes (see newString), and so does a data buffer
			// that a burst grew, once reads bring little.
			d.releaseSlab()
			if cap(d.data) > maxKeptField && len(d.data) == 0 && d.quiet() {
				d.data = nil
			}
		}
		// After a long event, read little, and then the data line
		// straight into its buffer.
		d.fill(d.longHint >= d.longData)
	}
}

// processLine interprets a field: a line that is neither empty nor a comment
// (next takes those).
func (d *Decoder) processLine(line []byte) error {
	field, value := line, []byte(nil)
	if i := colon(line); i >= 0 {
		field, value = line[:i], trimSpace(line[i+1:])
	}
	switch string(field) {
	case "data":
		// The event's data is the buffer without its last '\n'.
		if len(d.data)+len(d.view)+len(value) > d.max {
			return d.tooLarge("an event's data")
		}
		d.detachView()
		d.data = append(d.data, value...)
		d.data = append(d.data, '\n')
	case "event":
		// A repeat of the type before was taken in next.
		d.typ, d.sameType = appendValidUTF8(d.typ[:0], value), false
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			d.id, d.idSet = appendValidUTF8(d.id[:0], value), true
		}
	case "retry":
		if ms, ok := parseRetry(value); ok {
			d.retry, d.hasRetry = ms, true
		}
	}
	return nil
}

// colon returns the index of the first ':' in line, or -1. The fields
// the standard defines are checked first, without a search.
func colon(line []byte) int {
	switch {
	case len(line) > 4 && line[4] == ':' && string(line[:4]) == "data":
		return 4
	case len(line) > 2 && line[2] == ':' && string(line[:2]) == "id":
		return 2
	case len(line) > 5 && line[5] == ':' && (string(line[:5]) == "event" || string(line[:5]) == "retry"):
		return 5
	}
	return bytes.IndexByte(line, ':')
}

// detachView copies the data line that view points to into the data
// buffer, before the read buffer changes.
func (d *Decoder) detachView() {
	if d.hasView {
		d.data = append(d.data, d.view...)
		d.data = append(d.data, '\n')
		d.view, d.hasView = nil, false
	}
}

// dispatch ends the event at a blank line. It reports whether an event
// fired: a block without data only sets the last event ID.
func (d *Decoder) dispatch() (typ, data, id string, fired bool) {
	idChanged := d.idSet && string(d.id) != d.lastID
	if idChanged {
		// The common case below carves the ID with the data instead.
		d.idInSlab = false
		d.idChanges++
	}
	var raw []byte
	switch {
	case d.hasView:
		raw = d.view
	case len(d.data) > 0:
		raw = d.data[:len(d.data)-1]
	default:
		if idChanged {
			d.lastID = string(d.id)
		}
		d.endBlock()
		return "", "", "", false
	}
	owned := d.owned
	// The next event likely has the size of this one.
	d.owned, d.longHint = false, 0
	if owned {
		d.longHint = len(d.data)
	}
	switch {
	case !(d.hasView && d.viewASCII) && !validUTF8(raw):
		if idChanged {
			d.lastID = string(d.id)
		}
		data = repairedString(raw)
	case owned && cap(d.data)-len(raw) <= len(raw)/4:
		if idChanged {
			d.lastID = string(d.id)
		}
		data = d.handOver(raw)
	case idChanged && len(raw)+len(d.id) <= maxSlabbed:
		s := d.newString(raw, d.id)
		data, d.lastID, d.idInSlab = s[:len(raw)], s[len(raw):], true
	default:
		if idChanged {
			d.lastID = string(d.id)
		}
		data = d.newString(raw, nil)
	}
	typ, id = d.eventType(), d.lastID
	d.data = d.data[:0]
	if cap(d.data) > keepBufferSize {
		d.data = nil
	}
	d.view, d.hasView = nil, false
	d.endBlock()
	return typ, data, id, true
}

// endBlock resets the type and ID buffers after a blank line: the ID
// buffer's value is lastID again. A buffer grown past maxKeptField by a
// huge field is let go.
func (d *Decoder) endBlock() {
	d.typ, d.sameType, d.idSet = d.typ[:0], false, false
	if cap(d.typ) > maxKeptField {
		d.typ = nil
	}
	if cap(d.id) > maxKeptField {
		d.id = nil
	}
}

// trimSpace removes one leading space, and only one.
func trimSpace(b []byte) []byte {
	if len(b) > 0 && b[0] == ' ' {
		return b[1:]
	}
	return b
}

// parseRetry parses a "retry:" value: ASCII digits only, in milliseconds.
// An empty value, or one too large for a time.Duration, is not valid.
func parseRetry(v []byte) (time.Duration, bool) {
	if len(v) == 0 {
		return 0, false
	}
	const limit = math.MaxInt64 / int64(time.Millisecond)
	var ms int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		ms = ms*10 + int64(c-'0')
		if ms > limit {
			return 0, false
		}
	}
	return time.Duration(ms) * time.Millisecond, true
}
