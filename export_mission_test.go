package eventsource

// DecoderHeld returns the bytes that d's buffers hold: the read buffer, the
// data buffer, the block of small strings, and the type and ID buffers.
func DecoderHeld(d *Decoder) int {
	return cap(d.buf) + cap(d.data) + d.slab.Cap() + cap(d.typ) + cap(d.id)
}
