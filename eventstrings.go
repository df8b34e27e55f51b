// This file holds where the strings of an event come from: the blocks that
// small events share, the cache of recent event types, and the long data
// lines read into a buffer of their own, which the hand-over then gives
// away as the event's Data without a copy.

package eventsource

import (
	"strings"
	"unsafe"
)

const (
	// slabSize is how many bytes of small events' strings are allocated
	// at once: 14 KiB, a size class of which the runtime carves four out
	// of one span, where a 16 KiB block needs a span of its own
	// (BenchmarkDecoder/ticker: about 3 % quicker).
	slabSize = 14 << 10
	// maxSlabbed is the largest event (data and new ID) that shares a
	// slab; a larger one has an allocation of its own.
	maxSlabbed = 1 << 10
	// maxTypes is how many recent event types a Decoder keeps, and
	// maxKeptField the longest type it keeps, and the largest type or ID
	// buffer it keeps between events: a server that sends huge types or
	// IDs must not leave them held.
	maxTypes     = 8
	maxKeptField = 256
)

// readLongData reads the rest of a long data line straight into a data
// buffer of its own, which then becomes the event's Data without a copy
// (see handOver): the line's bytes are neither moved about in the read
// buffer nor copied into a string.
func (d *Decoder) readLongData() error {
	d.detachView()
	line := d.takePending()
	value := trimSpace(line[len("data:"):])
	size := d.longHint
	if n := len(d.data) + len(value); size <= n {
		size = max(2*n, minBufferSize)
	}
	data := make([]byte, len(d.data), min(size, d.max+2))
	copy(data, d.data)
	data = append(data, value...)
	data, done, err := d.readRest(data, len(line))
	d.data, d.owned = data, true
	if done {
		d.data = append(d.data, '\n')
	}
	return err
}

// handOver returns raw, the data of the event being dispatched, as a string
// without a copy. It is the one place where a byte slice becomes a string
// that shares its memory, and the rule that makes it safe is:
//
//   - raw lies in d.data, a buffer that readLongData made for this event
//     alone (d.owned), never one the read buffer or an earlier event
//     shares;
//   - handOver forgets d.data, so the Decoder never writes it again: the
//     next event's data goes to a new buffer;
//   - dispatch calls it only when the buffer is not much larger than raw,
//     so the string does not pin much unused memory.
//
// TestDecoderLongDataLines makes events hand their buffers over and then
// writes more lines after them, in every read size and line end: any
// reuse shows as an event that changed.
func (d *Decoder) handOver(raw []byte) string {
	d.data, d.owned = nil, false
	return unsafe.String(unsafe.SliceData(raw), len(raw))
}

// newString returns a string of a followed by b. Small ones are carved out
// of a shared block (slab), so that a burst of small events allocates once
// per block rather than once per event. The slab is a strings.Builder:
// what it holds is never written again, and a string of it stays valid.
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
		// A block holds the strings of the read that filled the buffer:
		// those of its events are at most as long as its bytes. A read
		// of one event gets a string of its own size; a burst, blocks of
		// up to slabSize.
		d.slab.Reset()
		d.slab.Grow(min(slabSize, n+len(d.pending())))
	}
	at := d.slab.Len()
	d.slab.Write(a)
	d.slab.Write(b)
	return d.slab.String()[at:]
}

// releaseSlab lets the block of small strings go once the read whose events
// it holds is used up, so that a quiet stream holds none. The last event ID
// may lie in the block, carved with its event's data: the Decoder and its
// EventSource keep that ID, and with it the whole block, so the ID of a
// large block moves to memory of its own first (idMoved tells the
// EventSource). A small block, that of a read of one event, stays with its
// ID: it is little more than the ID.
func (d *Decoder) releaseSlab() {
	if d.idInSlab && d.slab.Cap() > maxKeptField {
		d.lastID = strings.Clone(d.lastID)
		if d.idMoved != nil {
			d.idMoved(d.lastID)
		}
	}
	d.idInSlab = false
	d.slab.Reset()
}

// recentType reports whether v is one of the last two event types, and
// then makes it the type of the event: a stream of two types that
// alternate ("quote", "trade") takes each without a copy or a search.
func (d *Decoder) recentType(v []byte) bool {
	switch {
	case len(d.types) > 0 && d.types[0] == string(v):
	case len(d.types) > 1 && d.types[1] == string(v):
		d.types[0], d.types[1] = d.types[1], d.types[0]
	default:
		return false
	}
	d.sameType = true
	return true
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
