package main

import (
	"bytes"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
)

// A sink receives what a library reports. In a timed run it only counts
// events and data bytes, so that the measurement is the library's and not the
// harness's; in a checking run it also compares every event with the one the
// generator wrote and keeps an FNV-64a checksum of them.
type sink struct {
	want   int // events expected; adapters stop their client once they have them
	events int // events so far; a floor counts blank lines or bytes instead
	bytes  int // data bytes of the events
	check  *checker
	// eventSize is the workload's mean bytes per event, for the bound.
	eventSize int
	// ticks, in the scale mode, checks every event of one stream.
	ticks *streamCheck
}

// add records one event. typ is what the library reports, after the adapter
// has mapped its documented conventions (see peers.go) to the spec's terms.
func (s *sink) add(typ, data, id string) {
	s.events++
	s.bytes += len(data)
	if s.check != nil {
		s.check.add(s.events-1, typ, data, id)
	}
	if s.ticks != nil {
		s.ticks.add(typ, data, id)
	}
}

// addBytes is add for libraries that report events as byte slices, so that
// a timed run converts nothing.
func (s *sink) addBytes(typ, data, id []byte) {
	if s.check != nil {
		s.add(string(typ), string(data), string(id))
		return
	}
	s.events++
	s.bytes += len(data)
	if s.ticks != nil {
		// The check keeps none of them.
		s.ticks.add(unsafeString(typ), unsafeString(data), unsafeString(id))
	}
}

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// full reports whether the sink has every expected event.
func (s *sink) full() bool { return s.events >= s.want }

// A checker compares reported events with a workload's expected ones.
type checker struct {
	w        *workload
	sum      checksum
	mismatch string // the first difference, with its event number
}

func (c *checker) add(i int, typ, data, id string) {
	c.sum.add(typ, data, id)
	if c.mismatch != "" || i >= c.w.events {
		return
	}
	want := c.w.expected(i)
	if why := diff(want, event{typ, data, id}); why != "" {
		c.mismatch = fmt.Sprintf("event %d: %s", i, why)
	}
}

// A checksum is an FNV-64a hash over the type, data and ID of each event, in
// order, with a zero byte after each field.
type checksum struct{ h hash.Hash64 }

func (c *checksum) add(typ, data, id string) {
	if c.h == nil {
		c.h = fnv.New64a()
	}
	for _, f := range [...]string{typ, data, id} {
		io.WriteString(c.h, f)
		c.h.Write([]byte{0})
	}
}

// sum returns the checksum so far.
func (c *checksum) sum() uint64 {
	if c.h == nil {
		return fnv.New64a().Sum64()
	}
	return c.h.Sum64()
}

// expectedSum returns the workload's checksum, computed from the generator
// alone.
func expectedSum(w *workload) uint64 {
	var c checksum
	for i := range w.events {
		ev := w.expected(i)
		c.add(ev.Type, ev.Data, ev.ID)
	}
	return c.sum()
}

// diff explains how got differs from want, or returns "".
func diff(want, got event) string {
	switch {
	case got.Type != want.Type:
		if got.Type == "" && want.Type == "message" {
			return "type empty instead of message"
		}
		return fmt.Sprintf("type %q instead of %q", clip(got.Type), clip(want.Type))
	case got.Data != want.Data:
		return dataDiff(want.Data, got.Data)
	case got.ID != want.ID:
		return fmt.Sprintf("id %q instead of %q", clip(got.ID), clip(want.ID))
	}
	return ""
}

func dataDiff(want, got string) string {
	switch {
	case strings.HasPrefix(want, got):
		return fmt.Sprintf("data cut at %s of %s", size(len(got)), size(len(want)))
	case strings.HasPrefix(got, want):
		return fmt.Sprintf("data has %d extra bytes %q", len(got)-len(want), clip(got[len(want):]))
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	return fmt.Sprintf("data differs at byte %d: %q instead of %q", i, clip(got[i:]), clip(want[i:]))
}

// verdict returns "" when a checking run's result is right, or why it is not.
// err is what the library's run returned; floor runs check only the count
// they measure.
func verdict(s *sink, err error, wantSum uint64, floor bool) string {
	var why []string
	if err != nil {
		why = append(why, fmt.Sprintf("error after %d of %d events: %v", s.events, s.want, err))
	}
	switch {
	case s.events < s.want:
		why = append(why, fmt.Sprintf("%d events missing", s.want-s.events))
	case s.events > s.want:
		why = append(why, fmt.Sprintf("%d extra events", s.events-s.want))
	}
	if !floor {
		if s.check.mismatch != "" {
			why = append(why, s.check.mismatch)
		} else if len(why) == 0 && s.check.sum.sum() != wantSum {
			why = append(why, fmt.Sprintf("checksum %#x instead of %#x", s.check.sum.sum(), wantSum))
		}
	}
	return strings.Join(why, "; ")
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

// size formats n bytes the way people say it: "64 KiB", "1 MiB", "700 B".
func size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// A streamSet is the checks of one run of the scale mode, one per stream,
// with their counts side by side so that the harness sums them quickly.
type streamSet struct {
	checks []streamCheck
	counts []atomic.Int64 // ticks so far, per stream
	wrong  atomic.Pointer[string]
	// timing is set during the latency phase: the delay from the send
	// time in each tick's data to its arrival is recorded.
	timing atomic.Bool
}

// newStreamSet makes the checks of n streams, with room for perStream
// delays each.
func newStreamSet(n, perStream int) *streamSet {
	set := &streamSet{checks: make([]streamCheck, n), counts: make([]atomic.Int64, n)}
	for i := range set.checks {
		c := &set.checks[i]
		c.set, c.events = set, &set.counts[i]
		c.index = strconv.Itoa(i)
		c.sink = sink{want: math.MaxInt, ticks: c}
		c.delays = make([]time.Duration, 0, perStream)
	}
	return set
}

// total returns the ticks that all streams have had.
func (set *streamSet) total() int64 {
	var n int64
	for i := range set.counts {
		n += set.counts[i].Load()
	}
	return n
}

// err returns the first problem any stream had, or nil.
func (set *streamSet) err() error {
	if w := set.wrong.Load(); w != nil {
		return errors.New(*w)
	}
	return nil
}

// A streamCheck follows one stream of the scale mode, as the sink of a
// library's adapter or as the raw reader's counter. Every tick (see
// appendTick) must come once, in order and whole: its number, in the id and
// in the data, one more than the last one's; its stream's number; its type
// "tick"; its padding. The set keeps the first problem; the harness reports
// the library WRONG with it.
type streamCheck struct {
	set    *streamSet
	sink   sink   // what the adapter reports to; its ticks is this check
	index  string // the stream's number, as the server writes it
	next   int64  // the number the next tick must have
	events *atomic.Int64
	delays []time.Duration
}

func (c *streamCheck) fail(why string) { c.set.wrong.CompareAndSwap(nil, &why) }

// add checks one event that a library reported.
func (c *streamCheck) add(typ, data, id string) {
	want := c.next
	c.next++
	seq, t, why := parseTick(c.index, typ, data, id)
	switch {
	case why != "":
		c.fail(fmt.Sprintf("event %d of stream %s: %s", want, c.index, why))
	case seq < want:
		c.fail(fmt.Sprintf("stream %s: tick %d again, or late, after tick %d", c.index, seq, want-1))
	case seq > want:
		c.fail(fmt.Sprintf("stream %s: tick %d after tick %d: %d lost or out of order", c.index, seq, want-1, seq-want))
	}
	if c.set.timing.Load() {
		c.arrived(t)
	}
	c.events.Store(c.next)
}

// arrived records the delay of a tick sent at t (Unix nanoseconds).
func (c *streamCheck) arrived(t int64) {
	c.delays = append(c.delays, time.Duration(time.Now().UnixNano()-t))
}

// count counts a tick that the raw reader saw end, without checking it.
func (c *streamCheck) count() {
	c.next++
	c.events.Store(c.next)
}

// parseTick takes a tick apart and returns its number and send time, or
// what is wrong with it. It copies and allocates nothing: its cost is in
// every library's CPU per tick.
func parseTick(index, typ, data, id string) (seq, t int64, why string) {
	if typ != "tick" {
		return 0, 0, fmt.Sprintf("type %q instead of tick", clip(typ))
	}
	seq, ok := decimal(id)
	if !ok {
		return 0, 0, fmt.Sprintf("id %q", clip(id))
	}
	rest, ok := strings.CutPrefix(data, `{"n":`)
	for _, p := range [...]string{id, `,"s":`, index, `,"t":`} {
		if ok {
			rest, ok = strings.CutPrefix(rest, p)
		}
	}
	if ok {
		digits, rest, found := strings.Cut(rest, ",")
		t, ok = decimal(digits)
		ok = ok && found && rest == `"p":"`+tickPad+`"}`
	}
	if !ok {
		return seq, t, fmt.Sprintf("data %q with id %q", clip(data), clip(id))
	}
	return seq, t, ""
}

// decimal parses s, the digits of a number that fits an int64.
func decimal(s string) (int64, bool) {
	if s == "" || len(s) > 19 || (len(s) == 19 && s > "9223372036854775807") {
		return 0, false
	}
	var n int64
	for i := range len(s) {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		n = n*10 + int64(d)
	}
	return n, true
}

// tickTime returns the send time of the tick whose text is ev, or false.
func tickTime(ev []byte) (int64, bool) {
	_, rest, ok := bytes.Cut(ev, []byte(`"t":`))
	if !ok {
		return 0, false
	}
	digits, _, _ := bytes.Cut(rest, []byte(","))
	t, err := strconv.ParseInt(unsafeString(digits), 10, 64)
	return t, err == nil
}
