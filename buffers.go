// This file holds the scanner's read buffer: its sizes, how it grows and
// shrinks, and the pools that busy streams borrow large buffers from.

package eventsource

import (
	"math/bits"
	"sync"
)

const (
	// minBufferSize is the read buffer an idle stream holds.
	minBufferSize = 512
	// maxBufferSize is how far a busy stream's read buffer grows to read
	// more per call; only a longer line grows it further.
	maxBufferSize = 64 << 10
	// keepBufferSize is the largest read or data buffer kept once the line
	// or event that grew it is done: a huge one is let go, so that a long
	// line and a long event do not both stay held.
	keepBufferSize = 4 * maxBufferSize
)

// bufferPools holds read buffers of 1 KiB to maxBufferSize, one pool per
// power of two: a stream borrows one for the reads of a burst, and gives it
// back once it has caught up, to wait for its next bytes in a buffer of
// minBufferSize. A busy stream gets its buffer back from the pool without
// an allocation; thousands of quiet streams hold none (the garbage
// collector empties the pools).
var bufferPools [poolClasses]sync.Pool

const (
	minPooled   = 1 << 10
	poolClasses = 7 // minPooled << 6 == maxBufferSize
)

// poolOf returns the pool of buffers of size bytes, or nil when that size
// is not pooled.
func poolOf(size int) *sync.Pool {
	if size < minPooled || size > maxBufferSize || size&(size-1) != 0 {
		return nil
	}
	return &bufferPools[bits.TrailingZeros(uint(size/minPooled))]
}

// grow makes room at the end of the buffer: it moves the unparsed bytes to
// the front, and doubles the buffer when they fill more than half of it, or
// when the last read filled it (a busy stream reads more per call). The buffer
// never passes bufferLimit.
func (s *scanner) grow() {
	size := len(s.buf)
	switch {
	case s.regrow > size && s.fullReads >= 1:
		size, s.regrow = s.regrow, 0
		s.fullReads = 0
	case s.end-s.start > size/2 || (s.fullReads >= 1 && size < maxBufferSize):
		size = min(2*size, s.bufferLimit())
		s.fullReads = 0
	}
	s.moveTo(size)
}

// quiet reports whether the buffer is used up and the reads since it was
// last used up brought little of it: the stream does not need a large
// buffer now.
func (s *scanner) quiet() bool {
	return s.start == s.end && s.readPeak <= len(s.buf)/8
}

// moveTo moves the unparsed bytes to the front of a buffer of size bytes:
// the same one when its size stays, a new one when it changes. Where the
// next CR is must then be looked for again.
func (s *scanner) moveTo(size int) {
	pending := s.end - s.start
	if size == len(s.buf) {
		copy(s.buf, s.buf[s.start:s.end])
	} else {
		old, pooled := s.buf, s.pooled
		s.buf, s.pooled = s.buffer(size)
		copy(s.buf, old[s.start:s.end])
		giveBack(pooled)
	}
	s.start, s.end = 0, pending
	s.crAt, s.crFrom, s.hasCR = -1, 0, false
}

// buffer returns a read buffer of size bytes: the small one, one from
// bufferPools (and its box, to give it back in), or a new one.
func (s *scanner) buffer(size int) ([]byte, *[]byte) {
	if size == minBufferSize {
		if s.small == nil {
			s.small = make([]byte, minBufferSize)
		}
		return s.small, nil
	}
	pool := poolOf(size)
	if pool == nil {
		return make([]byte, size), nil
	}
	if box, ok := pool.Get().(*[]byte); ok {
		return *box, box
	}
	box := new([]byte)
	*box = make([]byte, size)
	return *box, box
}

// release gives the read buffer back to its pool, if it came from one.
// The scanner must not read or use its lines after.
func (s *scanner) release() {
	if s.pooled != nil {
		giveBack(s.pooled)
		s.buf, s.pooled = nil, nil
	}
}

// giveBack puts a buffer that buffer took from bufferPools back in its
// pool; a nil one came from no pool.
func giveBack(pooled *[]byte) {
	if pooled != nil {
		poolOf(len(*pooled)).Put(pooled)
	}
}

// bufferLimit is the largest read buffer: a line of max bytes and its line
// end, or the BOM at least.
func (s *scanner) bufferLimit() int {
	return max(s.max+1, len(bom)+1)
}
