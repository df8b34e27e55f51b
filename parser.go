package eventsource

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"math"
	"math/bits"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

const (
	// defaultMaxEventSize bounds one line, and one event's data.
	defaultMaxEventSize = 16 << 20
	// minBufferSize is the read buffer an idle stream holds.
	minBufferSize = 512
	// maxBufferSize is how far a busy stream's read buffer grows to read
	// more per call; only a longer line grows it further.
	maxBufferSize = 64 << 10
	// keepBufferSize is the largest read or data buffer kept once the line
	// or event that grew it is done: a huge one is let go, so that a long
	// line and a long event do not both stay held.
	keepBufferSize = 4 * maxBufferSize
	// slabSize is how many bytes of small events' strings are allocated
	// at once.
	slabSize = 16 << 10
	// maxSlabbed is the largest event (data and new ID) that shares a
	// slab; a larger one has an allocation of its own.
	maxSlabbed = 1 << 10
	// longData is the length from which a data line that the read buffer
	// does not hold whole is read straight into a data buffer.
	longData = 16 << 10
	// maxTypes is how many recent event types a Decoder keeps, and
	// maxKeptField the longest type it keeps, and the largest type or ID
	// buffer it keeps between events: a server that sends huge types or
	// IDs must not leave them held.
	maxTypes     = 8
	maxKeptField = 256
)

var bom = []byte("\xef\xbb\xbf")

// A Decoder reads Server-Sent Events from a byte stream, exactly as the
// WHATWG HTML standard ("event stream interpretation") says. It reads any
// [io.Reader]: an [net/http.Response] body from a POST to an LLM API, a file,
// a pipe. It does not reconnect; [EventSource] does.
//
// A Decoder buffers what it reads; it holds at most one line and one event's
// data, each bounded by [Decoder.SetMaxEventSize]. Invalid UTF-8 becomes
// U+FFFD. A Decoder is not safe for concurrent use.
//
// The strings of small events (up to 1 KiB) are carved out of shared 16 KiB
// blocks, one allocation for many events: an Event kept alive keeps its
// block alive. A data line too long for the read buffer is read straight
// into memory of its own, which becomes the event's Data.
type Decoder struct {
	r   io.Reader
	max int

	buf        []byte // read buffer; buf[start:end] is not parsed yet
	start, end int
	searched   int   // buf[start:start+searched] holds no line end: neither LF nor CR
	crAt       int   // the index in buf of the next CR, if ≥ start
	crFrom     int   // buf[start:crFrom] holds no CR but the one at crAt
	hasCR      bool  // a CR was found since the buffer last moved: lines are searched for CR and LF at once
	fullReads  int   // reads in a row that filled the whole buffer
	emptyReads int   // reads in a row that returned nothing
	rerr       error // the reader's error, reported once buf is drained
	err        error // the sticky error of Next

	bomDone bool // the start of the stream was checked for a BOM
	skipLF  bool // the last line ended with CR: an LF right after it is part of that line end

	data     []byte          // data buffer: each data line followed by '\n'
	view     []byte          // the event's only data line so far, still in buf
	hasView  bool            // view holds the data: data is empty
	typ      []byte          // event type buffer, valid UTF-8
	sameType bool            // the event type is types[0]; typ is empty
	id       []byte          // last event ID buffer, valid UTF-8, when idSet
	idSet    bool            // an "id:" field came since the last dispatch; if not, the buffer's value is lastID
	lastID   string          // the last event ID, set at dispatch
	types    []string        // recent event types, reused when they come again
	owned    bool            // data was made for this event by readLongData
	longHint int             // the size of the last long event's data buffer
	longData int             // see the constant longData; tests lower it
	slab     strings.Builder // memory for the strings of small events; see newString
	retry    time.Duration
	hasRetry bool

	comment func(line []byte) // called for each comment line, if set
}

// NewDecoder returns a Decoder that reads from r. It does not read until the
// first call of [Decoder.Next].
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, max: defaultMaxEventSize, crAt: -1, longData: longData}
}

// newStreamDecoder returns a Decoder for one connection of an
// [EventSource]: its last event ID buffer starts at lastID, as in Chromium,
// so an event without "id:" after a reconnection keeps the stored ID.
func newStreamDecoder(r io.Reader, max int, lastID string) *Decoder {
	return &Decoder{r: r, max: max, lastID: lastID, crAt: -1, longData: longData}
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
		line, ok := d.nextLine()
		if !ok {
			var err error
			if line, err = d.readLine(); err != nil {
				d.err = err
				return "", "", ""
			}
		}
		switch {
		case len(line) == 0:
			if typ, data, id, ok := d.dispatch(); ok {
				return typ, data, id
			}
		case len(line) >= 5 && string(line[:5]) == "data:" && !d.hasView && len(d.data) == 0:
			// The first data line of an event, the most common line
			// there is: keep a view, copied only if the read buffer
			// changes before the event's blank line.
			d.view, d.hasView = trimSpace(line[5:]), true
		case len(line) >= 3 && string(line[:3]) == "id:" && isPlainASCII(trimSpace(line[3:])):
			// An ID of ASCII without NUL, as most are: nothing to check
			// or repair.
			d.id, d.idSet = append(d.id[:0], trimSpace(line[3:])...), true
		case len(line) > 6 && string(line[:6]) == "event:" && len(d.types) > 0 && d.types[0] == string(trimSpace(line[6:])):
			// The type of the event before, most often.
			d.typ, d.sameType = d.typ[:0], true
		default:
			if err := d.processLine(line); err != nil {
				d.err = err
				return "", "", ""
			}
		}
	}
}

// nextLine is the common case of readLine: the buffer holds a whole line.
// It consumes the line and its line end, or reports false and consumes
// nothing. Most streams have no CR at all: while the buffered bytes hold
// none, it looks for LF alone; once they do, for both at once.
func (d *Decoder) nextLine() ([]byte, bool) {
	if d.skipLF || !d.bomDone {
		return nil, false
	}
	if !d.hasCR && d.crFrom < d.end {
		d.findCR()
	}
	if !d.hasCR {
		from := d.start + d.searched
		i := indexByte(d.buf[from:d.end], '\n')
		if i < 0 {
			d.searched = d.end - d.start
			return nil, false
		}
		lf := from + i
		if lf-d.start > d.max {
			return nil, false
		}
		line := d.buf[d.start:lf]
		d.start, d.searched = lf+1, 0
		return line, true
	}
	i := lineEnd(d.buf[d.start+d.searched : d.end])
	if i < 0 {
		d.searched = d.end - d.start
		return nil, false
	}
	at := d.start + d.searched + i
	if at-d.start > d.max {
		return nil, false
	}
	next := at + 1
	if d.buf[at] == '\r' {
		if next == d.end {
			return nil, false // readLine waits for what follows the CR
		}
		if d.buf[next] == '\n' {
			next++
		}
	}
	line := d.buf[d.start:at]
	d.start, d.searched = next, 0
	return line, true
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

// readLine returns the next line without its line end. The line is a view
// into the read buffer: it stops being valid at the next call.
func (d *Decoder) readLine() ([]byte, error) {
	for {
		if d.skipLF && d.start < d.end {
			// The CR that ended the previous line was the last byte of a
			// read; "\r\n" straddled the reads.
			if d.buf[d.start] == '\n' {
				d.start++
			}
			d.skipLF = false
		}
		if !d.bomDone && d.checkBOM() {
			continue
		}
		if d.bomDone {
			if line, ok := d.cutLine(); ok {
				if len(line) > d.max {
					return nil, d.tooLarge("a line")
				}
				return line, nil
			}
			if d.end-d.start > d.max {
				return nil, d.tooLarge("a line")
			}
		}
		if d.rerr != nil {
			return nil, d.rerr
		}
		// A data line that the buffer does not hold whole, and that is
		// long, or likely to be after a long event, is read straight into
		// a buffer of its own.
		if d.bomDone && d.end-d.start > len("data:") && string(d.buf[d.start:d.start+5]) == "data:" &&
			(d.end-d.start >= d.longData || d.longHint >= d.longData) {
			if err := d.readLongData(); err != nil {
				return nil, err
			}
			continue
		}
		d.fill()
	}
}

// readLongData reads the rest of a long data line straight into a data
// buffer of its own, which then becomes the event's Data without a copy:
// the line's bytes are neither moved about in the read buffer nor copied
// into a string. The bytes that follow the line are put back into the read
// buffer.
func (d *Decoder) readLongData() error {
	line := d.buf[d.start:d.end]
	value := trimSpace(line[len("data:"):])
	d.detachView()
	size := d.longHint
	if n := len(d.data) + len(value); size <= n {
		size = max(2*n, minBufferSize)
	}
	data := make([]byte, len(d.data), min(size, d.max+2))
	copy(data, d.data)
	d.data, d.owned = append(data, value...), true
	lineLen := len(line)
	d.start, d.end, d.searched = 0, 0, 0
	d.crAt, d.crFrom, d.hasCR = -1, 0, false
	for {
		if len(d.data) > d.max {
			return d.tooLarge("an event's data")
		}
		if len(d.data) == cap(d.data) {
			grown := make([]byte, len(d.data), min(2*cap(d.data), d.max+2))
			copy(grown, d.data)
			d.data = grown
		}
		space := d.data[len(d.data):cap(d.data)]
		n := d.read(space)
		read := space[:n]
		end := lineEnd(read)
		if end < 0 {
			end = n
		}
		if lineLen += end; lineLen > d.max {
			return d.tooLarge("a line")
		}
		d.data = d.data[:len(d.data)+end]
		if end < n {
			// The line is done: what follows its line end goes back into
			// the read buffer.
			rest := read[end+1:]
			if read[end] == '\r' {
				switch {
				case len(rest) == 0:
					d.skipLF = true
				case rest[0] == '\n':
					rest = rest[1:]
				}
			}
			if len(d.buf) < len(rest) {
				d.buf = make([]byte, min(max(2*len(rest), minBufferSize), d.bufferLimit()))
			}
			d.end = copy(d.buf, rest)
			if len(d.data) > d.max {
				return d.tooLarge("an event's data")
			}
			d.data = append(d.data, '\n')
			return nil
		}
		if d.rerr != nil {
			return nil
		}
	}
}

// checkBOM strips one U+FEFF at the very start of the stream. It reports
// whether it decided; it cannot before three bytes, or the end, arrived.
func (d *Decoder) checkBOM() bool {
	head := d.buf[d.start:d.end]
	if len(head) < len(bom) && d.rerr == nil && bytes.HasPrefix(bom, head) {
		return false
	}
	if bytes.HasPrefix(head, bom) {
		d.start += len(bom)
	}
	d.bomDone = true
	return true
}

// cutLine returns the next complete line in the buffer and consumes it and
// its line end: CRLF, LF or CR.
func (d *Decoder) cutLine() ([]byte, bool) {
	at := d.end
	from := d.start + d.searched
	if i := bytes.IndexByte(d.buf[from:d.end], '\n'); i >= 0 {
		at = from + i
	}
	if d.crAt < d.start && d.crFrom < d.end {
		d.findCR()
	}
	if d.crAt >= d.start && d.crAt < at {
		at = d.crAt
	}
	if at == d.end {
		d.searched = d.end - d.start
		return nil, false
	}
	line := d.buf[d.start:at]
	d.start = at + 1
	d.searched = 0
	if d.buf[at] == '\r' {
		if d.start < d.end {
			if d.buf[d.start] == '\n' {
				d.start++
			}
		} else {
			d.skipLF = true
		}
	}
	return line, true
}

// findCR looks for the next CR after the last one found. CRs are looked
// for once per read, not once per line: most streams have none.
func (d *Decoder) findCR() {
	d.crAt = -1
	d.crFrom = max(d.crFrom, d.start)
	if i := indexByte(d.buf[d.crFrom:d.end], '\r'); i >= 0 {
		d.crAt = d.crFrom + i
		d.crFrom = d.crAt + 1
		d.hasCR = true
	} else {
		d.crFrom = d.end
	}
}

// indexByte is bytes.IndexByte, quicker for the short lines of most
// streams ("id: 7", "event: quote", the blank line): it looks at the first
// 16 bytes itself, 8 at a time, before it calls bytes.IndexByte, whose call
// and setup cost more than such a line.
func indexByte(b []byte, c byte) int {
	pattern := ones * uint64(c)
	if len(b) >= 16 {
		if m := zeroBytes(binary.LittleEndian.Uint64(b) ^ pattern); m != 0 {
			return bits.TrailingZeros64(m) / 8
		}
		if m := zeroBytes(binary.LittleEndian.Uint64(b[8:]) ^ pattern); m != 0 {
			return 8 + bits.TrailingZeros64(m)/8
		}
		if i := bytes.IndexByte(b[16:], c); i >= 0 {
			return 16 + i
		}
		return -1
	}
	return bytes.IndexByte(b, c)
}

// ones has 1 in each byte of a word; ones*c has c in each.
const ones = 0x0101010101010101

// zeroBytes marks the zero bytes of x with their high bit. The lowest bit
// set marks the first zero byte exactly: a borrow can set bits above it,
// never below, and none when x has no zero byte. Used on x = word ^ ones*c,
// it finds the first byte c in a word of 8.
func zeroBytes(x uint64) uint64 {
	return (x - ones) &^ x & 0x8080808080808080
}

// lineEnd returns the index in b of the first CR or LF, or -1. It looks at
// the first 16 bytes itself, 8 at a time and for both bytes at once, as
// indexByte does for one.
func lineEnd(b []byte) int {
	if len(b) < 16 {
		for i, c := range b {
			if c == '\n' || c == '\r' {
				return i
			}
		}
		return -1
	}
	for k := 0; k < 16; k += 8 {
		w := binary.LittleEndian.Uint64(b[k:])
		if m := zeroBytes(w^(ones*'\n')) | zeroBytes(w^(ones*'\r')); m != 0 {
			return k + bits.TrailingZeros64(m)/8
		}
	}
	rest := b[16:]
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[:i]
	}
	if i := bytes.IndexByte(rest, '\r'); i >= 0 {
		return 16 + i
	}
	if len(rest) < len(b)-16 {
		return 16 + len(rest)
	}
	return -1
}

// fill reads once into the buffer, making room first. A reader error is kept
// in d.rerr and reported after the buffered lines.
func (d *Decoder) fill() {
	d.detachView()
	if d.buf == nil {
		d.buf = make([]byte, min(minBufferSize, d.bufferLimit()))
	}
	switch {
	case len(d.buf) > keepBufferSize && d.end-d.start <= maxBufferSize/2:
		d.moveTo(maxBufferSize)
	case d.start == d.end:
		d.moveTo(len(d.buf))
	}
	if d.end == len(d.buf) || (d.fullReads >= 2 && len(d.buf) < maxBufferSize) {
		d.grow()
	}
	space := d.buf[d.end:]
	if d.longHint >= d.longData {
		// The last event was long, and so likely is the next: read
		// little, and then the data line straight into its buffer.
		space = space[:min(len(space), minBufferSize)]
	}
	n := d.read(space)
	d.end += n
	if n == len(space) {
		d.fullReads++
	} else {
		d.fullReads = 0
	}
}

// read reads once into p and returns the count. A reader error is kept in
// d.rerr, as is io.ErrNoProgress after 100 reads in a row that returned
// nothing.
func (d *Decoder) read(p []byte) int {
	n, err := d.r.Read(p)
	if n < 0 || n > len(p) {
		n, err = 0, fmt.Errorf("eventsource: reader returned invalid count %d", n)
	}
	switch {
	case err != nil:
		d.rerr = err
	case n == 0:
		if d.emptyReads++; d.emptyReads >= 100 {
			d.rerr = io.ErrNoProgress
		}
	default:
		d.emptyReads = 0
	}
	return n
}

// grow makes room at the end of the buffer: it moves the unparsed bytes to
// the front, and doubles the buffer when they fill more than half of it, or
// when reads keep filling it (a busy stream reads more per call). The buffer
// never passes bufferLimit.
func (d *Decoder) grow() {
	size := len(d.buf)
	if d.end-d.start > size/2 || (d.fullReads >= 2 && size < maxBufferSize) {
		size = min(2*size, d.bufferLimit())
		d.fullReads = 0
	}
	d.moveTo(size)
}

// moveTo moves the unparsed bytes to the front of a buffer of size bytes:
// the same one when its size stays, a new one when it changes. Where the
// next CR is must then be looked for again.
func (d *Decoder) moveTo(size int) {
	pending := d.end - d.start
	if size == len(d.buf) {
		copy(d.buf, d.buf[d.start:d.end])
	} else {
		buf := make([]byte, size)
		copy(buf, d.buf[d.start:d.end])
		d.buf = buf
	}
	d.start, d.end = 0, pending
	d.crAt, d.crFrom, d.hasCR = -1, 0, false
}

// bufferLimit is the largest read buffer: a line of max bytes and its line
// end, or the BOM at least.
func (d *Decoder) bufferLimit() int {
	return max(d.max+1, len(bom)+1)
}

// processLine interprets one non-empty line.
func (d *Decoder) processLine(line []byte) error {
	if line[0] == ':' {
		if d.comment != nil {
			d.comment(trimSpace(line[1:]))
		}
		return nil
	}
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
		if len(d.data) == 0 && !d.hasView {
			// Most events have one data line, and their blank line is
			// in the same read: keep a view, copied only if it is not.
			d.view, d.hasView = value, true
			return nil
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
	case !validUTF8(raw):
		if idChanged {
			d.lastID = string(d.id)
		}
		data = repairedString(raw)
	case owned && cap(d.data)-len(raw) <= len(raw)/4:
		// The data buffer was made for this event, and is not much
		// larger than it: it becomes the event's Data, and is never
		// written again.
		if idChanged {
			d.lastID = string(d.id)
		}
		data = unsafe.String(unsafe.SliceData(raw), len(raw))
		d.data = nil
	case idChanged && len(raw)+len(d.id) <= maxSlabbed:
		s := d.newString(raw, d.id)
		data, d.lastID = s[:len(raw)], s[len(raw):]
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

// newString returns a string of a followed by b. Small ones are carved out
// of a shared slab, so that a stream of small events allocates once per
// slab rather than once per event. The slab is a strings.Builder: what it
// holds is never written again, and a string of it stays valid.
func (d *Decoder) newString(a, b []byte) string {
	n := len(a) + len(b)
	switch {
	case n == 0:
		return ""
	case n > maxSlabbed && len(b) == 0:
		return string(a)
	case n > maxSlabbed:
		var sb strings.Builder
		sb.Grow(n)
		sb.Write(a)
		sb.Write(b)
		return sb.String()
	}
	if d.slab.Cap()-d.slab.Len() < n {
		d.slab.Reset()
		d.slab.Grow(slabSize)
	}
	at := d.slab.Len()
	d.slab.Write(a)
	d.slab.Write(b)
	return d.slab.String()[at:]
}

// eventType returns the type buffer as a string. Streams use a handful of
// types: the last few are kept, so that a type that comes again costs no
// allocation.
func (d *Decoder) eventType() string {
	if d.sameType {
		return d.types[0]
	}
	if len(d.typ) == 0 {
		return "message"
	}
	for i, t := range d.types {
		if t == string(d.typ) {
			if i > 0 {
				// Move to front: the most frequent types stay cheapest.
				copy(d.types[1:i+1], d.types[:i])
				d.types[0] = t
			}
			return t
		}
	}
	t := string(d.typ)
	if len(t) > maxKeptField {
		return t
	}
	if len(d.types) < maxTypes {
		d.types = append(d.types, "")
	}
	copy(d.types[1:], d.types)
	d.types[0] = t
	return t
}

func (d *Decoder) tooLarge(what string) error {
	return fmt.Errorf("%w: %s passed the limit of %d bytes (raise it with WithMaxEventSize or Decoder.SetMaxEventSize)",
		ErrEventTooLarge, what, d.max)
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

// validString converts b to a string, with each maximal invalid subpart of
// UTF-8 replaced by U+FFFD.
func validString(b []byte) string {
	if validUTF8(b) {
		return string(b)
	}
	return repairedString(b)
}

// repairedString is validString for b that is not valid UTF-8. The string
// is the only allocation: a large event with invalid bytes costs no scratch
// buffer.
func repairedString(b []byte) string {
	size := 0
	for rest := b; len(rest) > 0; {
		valid, bad := cutValid(rest)
		size += valid
		if bad == 0 {
			break
		}
		size += len(replacement)
		rest = rest[valid+bad:]
	}
	var sb strings.Builder
	sb.Grow(size)
	for len(b) > 0 {
		valid, bad := cutValid(b)
		sb.Write(b[:valid])
		if bad == 0 {
			break
		}
		sb.WriteString(replacement)
		b = b[valid+bad:]
	}
	return sb.String()
}

// appendValidUTF8 appends src to dst with each maximal invalid subpart
// replaced by one U+FFFD, as the WHATWG UTF-8 decoder does. (Neither
// strings.ToValidUTF8, one per run, nor range, one per byte, does that.)
func appendValidUTF8(dst, src []byte) []byte {
	if validUTF8(src) {
		return append(dst, src...)
	}
	for len(src) > 0 {
		valid, bad := cutValid(src)
		dst = append(dst, src[:valid]...)
		if bad == 0 {
			break
		}
		dst = append(dst, replacement...)
		src = src[valid+bad:]
	}
	return dst
}

const replacement = "\uFFFD"

// validUTF8 is utf8.Valid, quicker on the short ASCII data of most events:
// it looks at 16 bytes a step, and only calls utf8.Valid for data that is
// long (where utf8.Valid is quicker) or not ASCII.
func validUTF8(b []byte) bool {
	if len(b) > 192 {
		return utf8.Valid(b)
	}
	var or uint64
	if len(b) >= 8 {
		rest := b
		for len(rest) >= 16 {
			or |= binary.LittleEndian.Uint64(rest) | binary.LittleEndian.Uint64(rest[8:])
			rest = rest[16:]
		}
		if len(rest) >= 8 {
			or |= binary.LittleEndian.Uint64(rest)
		}
		or |= binary.LittleEndian.Uint64(b[len(b)-8:]) // the last 0 to 7 bytes, and some again
	} else {
		for _, c := range b {
			or |= uint64(c)
		}
	}
	return or&0x8080808080808080 == 0 || utf8.Valid(b)
}

// isPlainASCII reports whether b, an event ID, is ASCII without NUL: it
// can be used as it is.
func isPlainASCII(b []byte) bool {
	for _, c := range b {
		if c-1 >= utf8.RuneSelf-1 {
			return false
		}
	}
	return true
}

// cutValid returns the length of the valid UTF-8 at the start of s, and the
// length of the maximal invalid subpart after it, 0 at the end of s.
func cutValid(s []byte) (valid, bad int) {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i, invalidPrefixLen(s[i:])
		}
		i += n
	}
	return len(s), 0
}

// invalidPrefixLen returns the length of the maximal subpart of an invalid
// UTF-8 sequence at the start of s: its lead byte and the continuation
// bytes that could still have made it valid.
func invalidPrefixLen(s []byte) int {
	lo, hi := byte(0x80), byte(0xbf)
	var need int
	switch b := s[0]; {
	case b >= 0xc2 && b <= 0xdf:
		need = 1
	case b == 0xe0:
		need, lo = 2, 0xa0
	case b == 0xed:
		need, hi = 2, 0x9f
	case b >= 0xe1 && b <= 0xef:
		need = 2
	case b == 0xf0:
		need, lo = 3, 0x90
	case b == 0xf4:
		need, hi = 3, 0x8f
	case b >= 0xf1 && b <= 0xf3:
		need = 3
	default:
		return 1
	}
	n := 1
	for n <= need && n < len(s) && s[n] >= lo && s[n] <= hi {
		lo, hi = 0x80, 0xbf
		n++
	}
	return n
}
