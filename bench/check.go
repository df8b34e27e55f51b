package main

import (
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"strings"
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
}

// add records one event. typ is what the library reports, after the adapter
// has mapped its documented conventions (see peers.go) to the spec's terms.
func (s *sink) add(typ, data, id string) {
	s.events++
	s.bytes += len(data)
	if s.check != nil {
		s.check.add(s.events-1, typ, data, id)
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
}

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
