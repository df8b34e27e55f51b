// This file holds the line scanner under the Decoder: the reads (into the
// read buffer of buffers.go), the line ends (CR, LF and CRLF, also across
// reads) and the byte order mark at the start of a stream. It knows nothing
// of fields or events.

package eventsource

import (
	"bytes"
	"fmt"
	"io"
)

var bom = []byte("\xef\xbb\xbf")

// A scanner cuts a stream into lines, as the WHATWG HTML standard's
// "event stream interpretation" says
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
// a line ends at CRLF, LF or CR, and one U+FEFF at the very start of the
// stream is dropped. A line is a view into the read buffer, valid until the
// next read.
type scanner struct {
	r   io.Reader
	max int // the longest line, in bytes

	buf        []byte  // read buffer; buf[start:end] is not parsed yet
	pooled     *[]byte // buf, when it came from bufferPools, to give back
	small      []byte  // the buffer of minBufferSize, kept for when buf is not it
	start, end int
	searched   int   // buf[start:start+searched] holds no line end: neither LF nor CR
	crAt       int   // the index in buf of the next CR, if ≥ start
	crFrom     int   // buf[start:crFrom] holds no CR but the one at crAt
	hasCR      bool  // a CR was found since the buffer last moved: lines are searched for CR and LF at once
	fullReads  int   // reads in a row that filled the whole buffer
	emptyReads int   // reads in a row that returned nothing
	readPeak   int   // the largest read since the buffer was last used up
	regrow     int   // the size of the buffer before it shrank for a quiet stream
	rerr       error // the reader's error, reported once buf is drained

	bomDone bool // the start of the stream was checked for a BOM
	skipLF  bool // the last line ended with CR: an LF right after it is part of that line end
}

func newScanner(r io.Reader, max int) scanner {
	return scanner{r: r, max: max, crAt: -1}
}

// nextLine is the common case of line: the buffer holds a whole line. It
// consumes the line and its line end, or reports false and consumes
// nothing; ascii tells that the line has no byte above 0x7f (false when
// not known: its data is then validated). Most streams have no CR at all:
// while the buffered bytes hold none, it looks for LF alone; once they do,
// for both at once. It is a fast path of line, kept in step with it by
// TestDecoder, which runs every case through readers that split the input
// at every offset.
func (s *scanner) nextLine() (line []byte, ascii, ok bool) {
	if s.skipLF || !s.bomDone {
		return nil, false, false
	}
	if !s.hasCR && s.crFrom < s.end {
		s.findCR()
	}
	cr := byte('\n')
	if s.hasCR {
		cr = '\r'
	}
	// The bytes before from were searched by an earlier call, which did
	// not keep whether they were ASCII: whole is false then.
	from, whole := s.start+s.searched, s.searched == 0
	i, ascii := lineEnd(s.buf[from:s.end], cr)
	if i < 0 {
		s.searched = s.end - s.start
		return nil, false, false
	}
	at := from + i
	if at-s.start > s.max {
		return nil, false, false
	}
	next, lfMayFollow := afterLineEnd(s.buf[:s.end], at)
	if lfMayFollow {
		return nil, false, false // line waits for what follows the CR
	}
	line = s.buf[s.start:at]
	s.start, s.searched = next, 0
	return line, ascii && whole, true
}

// line returns the next whole line in the buffer, without its line end, and
// consumes both. It reports false when the buffer holds no whole line; err
// is then the reader's error, if any, or an error wrapping
// [ErrEventTooLarge] for a line longer than max.
func (s *scanner) line() (line []byte, ok bool, err error) {
	if s.skipLF && s.start < s.end {
		// The CR that ended the previous line was the last byte of a
		// read; "\r\n" straddled the reads.
		if s.buf[s.start] == '\n' {
			s.start++
		}
		s.skipLF = false
	}
	if !s.bomDone && !s.checkBOM() {
		return nil, false, nil
	}
	if line, ok := s.cutLine(); ok {
		if len(line) > s.max {
			return nil, false, s.tooLarge("a line")
		}
		return line, true, nil
	}
	if s.end-s.start > s.max {
		return nil, false, s.tooLarge("a line")
	}
	return nil, false, s.rerr
}

// pending returns the bytes read and not yet consumed: the start of the
// next line.
func (s *scanner) pending() []byte { return s.buf[s.start:s.end] }

// takePending returns the pending bytes, and empties the buffer: the bytes
// stay valid until the next read.
func (s *scanner) takePending() []byte {
	p := s.buf[s.start:s.end]
	s.start, s.end, s.searched = 0, 0, 0
	s.crAt, s.crFrom, s.hasCR = -1, 0, false
	return p
}

// readRest reads the rest of a line, whose first lineLen bytes were taken
// with takePending, straight into the spare capacity of dst, which it grows
// up to max+2 bytes, and returns dst with the line appended, without its
// line end. What follows the line end goes back into the read buffer. done
// is false when the reader failed or ended before the line did: line then
// reports the reader's error. dst may hold at most max bytes, as the data
// of one event.
func (s *scanner) readRest(dst []byte, lineLen int) (_ []byte, done bool, err error) {
	for {
		if len(dst) > s.max {
			return dst, false, s.tooLarge("an event's data")
		}
		if len(dst) == cap(dst) {
			grown := make([]byte, len(dst), min(2*cap(dst), s.max+2))
			copy(grown, dst)
			dst = grown
		}
		space := dst[len(dst):cap(dst)]
		n := s.read(space)
		read := space[:n]
		end, _ := lineEnd(read, '\r')
		if end < 0 {
			end = n
		}
		if lineLen += end; lineLen > s.max {
			return dst, false, s.tooLarge("a line")
		}
		dst = dst[:len(dst)+end]
		if end < n {
			next, lfMayFollow := afterLineEnd(read, end)
			rest := read[next:]
			s.skipLF = lfMayFollow
			if len(s.buf) < len(rest) {
				s.start, s.end = 0, 0
				s.moveTo(min(max(2*len(rest), minBufferSize), s.bufferLimit()))
			}
			s.end = copy(s.buf, rest)
			if len(dst) > s.max {
				return dst, false, s.tooLarge("an event's data")
			}
			return dst, true, nil
		}
		if s.rerr != nil {
			return dst, false, nil
		}
	}
}

// afterLineEnd returns the index in b just after the line end at b[at], a
// CR or an LF: CRLF is one line end. lfMayFollow reports a CR that is the
// last byte of b, whose LF, if any, is still to be read. This is the one
// place that says what a line end is.
func afterLineEnd(b []byte, at int) (next int, lfMayFollow bool) {
	next = at + 1
	if b[at] == '\r' {
		if next == len(b) {
			return next, true
		}
		if b[next] == '\n' {
			next++
		}
	}
	return next, false
}

// checkBOM strips one U+FEFF at the very start of the stream. It reports
// whether it decided; it cannot before three bytes, or the end, arrived.
func (s *scanner) checkBOM() bool {
	head := s.buf[s.start:s.end]
	if len(head) < len(bom) && s.rerr == nil && bytes.HasPrefix(bom, head) {
		return false
	}
	if bytes.HasPrefix(head, bom) {
		s.start += len(bom)
	}
	s.bomDone = true
	return true
}

// cutLine returns the next complete line in the buffer and consumes it and
// its line end: CRLF, LF or CR.
func (s *scanner) cutLine() ([]byte, bool) {
	at := s.end
	from := s.start + s.searched
	if i := bytes.IndexByte(s.buf[from:s.end], '\n'); i >= 0 {
		at = from + i
	}
	if s.crAt < s.start && s.crFrom < s.end {
		s.findCR()
	}
	if s.crAt >= s.start && s.crAt < at {
		at = s.crAt
	}
	if at == s.end {
		s.searched = s.end - s.start
		return nil, false
	}
	line := s.buf[s.start:at]
	s.start, s.skipLF = afterLineEnd(s.buf[:s.end], at)
	s.searched = 0
	return line, true
}

// findCR looks for the next CR after the last one found. CRs are looked
// for once per read, not once per line: most streams have none.
func (s *scanner) findCR() {
	s.crAt = -1
	s.crFrom = max(s.crFrom, s.start)
	if i := bytes.IndexByte(s.buf[s.crFrom:s.end], '\r'); i >= 0 {
		s.crAt = s.crFrom + i
		s.crFrom = s.crAt + 1
		s.hasCR = true
	} else {
		s.crFrom = s.end
	}
}

// fill reads once into the buffer, making room first; with small, it reads
// at most minBufferSize bytes. A reader error is kept in s.rerr and
// reported after the buffered lines.
func (s *scanner) fill(small bool) {
	if s.buf == nil {
		s.buf, s.pooled = s.buffer(min(minBufferSize, s.bufferLimit()))
	}
	switch {
	case len(s.buf) > keepBufferSize && s.end-s.start <= maxBufferSize/2:
		s.moveTo(maxBufferSize)
	case !small && s.start == s.end && s.fullReads == 0 && len(s.buf) > minBufferSize:
		// The reader has caught up with the stream: it may now wait
		// long for its next bytes, and waits in the small buffer. The
		// large one goes back to its pool, and comes back from it, with
		// no allocation, when a read fills the small one (grow): a
		// busy stream pays one more read per burst, and a stream that
		// goes quiet after a burst holds no more than one that never
		// had one.
		s.regrow = len(s.buf)
		s.moveTo(minBufferSize)
	case s.start == s.end:
		s.moveTo(len(s.buf))
	}
	if s.start == s.end {
		s.readPeak = 0 // the reads of a new cycle
	}
	if s.end == len(s.buf) || (s.fullReads >= 1 && len(s.buf) < maxBufferSize) {
		s.grow()
	}
	space := s.buf[s.end:]
	if small {
		space = space[:min(len(space), minBufferSize)]
	}
	n := s.read(space)
	s.end += n
	s.readPeak = max(s.readPeak, n)
	if n == len(space) {
		s.fullReads++
	} else {
		s.fullReads = 0
	}
}

// read reads once into p and returns the count. A reader error is kept in
// s.rerr, as is io.ErrNoProgress after 100 reads in a row that returned
// nothing.
func (s *scanner) read(p []byte) int {
	n, err := s.r.Read(p)
	if n < 0 || n > len(p) {
		n, err = 0, fmt.Errorf("eventsource: reader returned invalid count %d", n)
	}
	switch {
	case err != nil:
		s.rerr = err
	case n == 0:
		if s.emptyReads++; s.emptyReads >= 100 {
			s.rerr = io.ErrNoProgress
		}
	default:
		s.emptyReads = 0
	}
	return n
}

func (s *scanner) tooLarge(what string) error {
	return fmt.Errorf("%w: %s passed the limit of %d bytes (raise it with WithMaxEventSize or Decoder.SetMaxEventSize)",
		ErrEventTooLarge, what, s.max)
}
