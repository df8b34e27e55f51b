package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"
)

// A sample is one timed run of one library over one workload.
type sample struct {
	elapsed time.Duration
	mallocs uint64 // heap allocations during the run, by any goroutine
	alloc   uint64 // bytes allocated during the run
}

// measure runs fn once and returns its time and allocations. The counts are
// process-wide: in end-to-end runs they include the in-process server and
// net/http, which the io.Copy floor shows on its own.
func measure(fn func() error) (sample, error) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	err := fn()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	return sample{
		elapsed: elapsed,
		mallocs: after.Mallocs - before.Mallocs,
		alloc:   after.TotalAlloc - before.TotalAlloc,
	}, err
}

// A result is what a table row shows for one library: the medians of its
// samples, or why it was not timed.
type result struct {
	lib     *library
	wrong   string // why its output differs from the generator's, or ""
	samples []sample
}

// median returns the median of the samples' field f.
func (r *result) median(f func(sample) float64) float64 {
	v := make([]float64, len(r.samples))
	for i, s := range r.samples {
		v[i] = f(s)
	}
	return medianOf(v)
}

// medianOf returns the median of v, which it sorts, or 0 for none.
func medianOf(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// mbps returns the median throughput in MB/s (10⁶ bytes per second) over a
// stream of n bytes.
func (r *result) mbps(n int) float64 {
	sec := r.median(func(s sample) float64 { return s.elapsed.Seconds() })
	return float64(n) / 1e6 / sec
}

// runReps times every library that passed its check reps times, interleaved:
// each repetition runs each library once, starting one further along the
// list than the repetition before, so that drift in the machine's load
// spreads over all of them.
func runReps(results []*result, reps int, run func(*library) (sample, error)) {
	var timed []*result
	for _, r := range results {
		if r.wrong == "" {
			timed = append(timed, r)
		}
	}
	for rep := range reps {
		for i := range timed {
			r := timed[(i+rep)%len(timed)]
			s, err := run(r.lib)
			if err != nil {
				r.wrong = fmt.Sprintf("failed in a timed run: %v", err)
				continue
			}
			r.samples = append(r.samples, s)
		}
	}
}

// printTable writes one workload's results for one mode as a Markdown table.
func printTable(out io.Writer, w *workload, mode string, results []*result) {
	var floorRes, bestRes *result
	var bestPeer float64
	bestPeerName := ""
	for _, r := range results {
		if r.wrong != "" || len(r.samples) == 0 {
			continue
		}
		v := r.mbps(len(w.wire))
		switch r.lib.kind {
		case floor:
			floorRes = r
		case peer:
			if v > bestPeer {
				bestPeer, bestPeerName, bestRes = v, r.lib.short, r
			}
		}
	}
	fmt.Fprintf(out, "| %-26s | %8s | %9s | %12s | %10s | %7s | %11s |\n",
		mode+" / "+w.name, "MB/s", "ns/event", "allocs/event", "B/event", "x floor", "x best peer")
	fmt.Fprintf(out, "|%s|%s:|%s:|%s:|%s:|%s:|%s:|\n", strings.Repeat("-", 28),
		strings.Repeat("-", 9), strings.Repeat("-", 10), strings.Repeat("-", 13),
		strings.Repeat("-", 11), strings.Repeat("-", 8), strings.Repeat("-", 12))
	for _, r := range results {
		name := r.lib.name
		if r.lib.kind == floor {
			name = floorName[mode]
		}
		if r.wrong != "" {
			fmt.Fprintf(out, "| %-26s | WRONG: %s |\n", name, r.wrong)
			continue
		}
		if len(r.samples) == 0 {
			continue
		}
		events := float64(w.events)
		v := r.mbps(len(w.wire))
		ns := r.median(func(s sample) float64 { return float64(s.elapsed.Nanoseconds()) }) / events
		allocs := r.median(func(s sample) float64 { return float64(s.mallocs) }) / events
		bytes := r.median(func(s sample) float64 { return float64(s.alloc) }) / events
		fmt.Fprintf(out, "| %-26s | %8.1f | %9.1f | %12.2f | %10.1f | %7s | %11s |\n",
			name, v, ns, allocs, bytes, pairedRatio(r, floorRes), pairedRatio(r, bestRes))
	}
	if bestPeerName != "" {
		fmt.Fprintf(out, "\nbest peer: %s\n", bestPeerName)
	}
	fmt.Fprintln(out)
}

// floorName names the floor row of each mode's table.
var floorName = map[string]string{
	"parse": "floor: IndexByte lines",
	"e2e":   "floor: io.Copy(Discard)",
}

// pairedRatio returns how much faster r is than other: the median, over the
// repetitions, of other's time over r's time in the same repetition. Runs of
// one repetition follow each other closely, so a machine whose speed drifts
// during the run (a shared VM) moves both times of a pair alike, which the
// ratio of two medians taken over the whole run would not cancel.
func pairedRatio(r, other *result) string {
	if other == nil {
		return "-"
	}
	n := min(len(r.samples), len(other.samples))
	v := make([]float64, n)
	for i := range n {
		v[i] = other.samples[i].elapsed.Seconds() / r.samples[i].elapsed.Seconds()
	}
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", medianOf(v))
}
