package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// scaleConfig is the scale mode's part of the command line.
type scaleConfig struct {
	streams     []int    // streams per run
	protos      []string // "h1", "h2"
	reps        int
	burst       int // ticks per stream in the burst, at most maxBurst in all
	busyTotal   int // ticks in all in the busy phase
	steadyTotal int // ticks in all in the steady phase
	latencyDur  time.Duration
	profileDir  string // heap profiles of every state go here, if set
	// cpuProfileDir gets a CPU profile of each busy and steady phase, if
	// set
	cpuProfileDir string
}

// parse fills in the scale mode's settings from the command line.
func (c *scaleConfig) parse(streams, protos string, quick bool) error {
	if streams == "" {
		streams = "1000,10000"
		if quick {
			streams = "1000"
		}
	}
	for _, f := range split(streams) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return fmt.Errorf("-scale-streams: %q is not a number of streams", f)
		}
		c.streams = append(c.streams, n)
	}
	for _, p := range split(protos) {
		if protoNames[p] == "" {
			return fmt.Errorf("-scale-protos: unknown protocol %q (have h1, h2)", p)
		}
		c.protos = append(c.protos, p)
	}
	setDefault(&c.reps, 3, 1, quick)
	c.burst = 2000
	c.busyTotal = 1_000_000
	c.steadyTotal = 400_000
	c.latencyDur = 2 * time.Second
	if quick {
		c.busyTotal = 500_000
		c.steadyTotal = 200_000
	}
	return nil
}

const (
	// maxBurst bounds the burst's ticks over all streams, so that 10,000
	// streams get 200 each rather than 2,000.
	maxBurst = 2_000_000
	// steadyRate is the steady phase's ticks per second over all streams,
	// and steadyBatch how many ticks a stream's server writes and flushes
	// together. (With one tick per flush, every library pays the
	// transport's cost of a read for each event, and ends within a few
	// tenths of raw.)
	steadyRate  = 100_000
	steadyBatch = 100
	// latencyRate is the latency phase's: 10 a second on each of 1,000
	// streams.
	latencyRate = 10_000
	// openBatch is how many streams open at a time: the listen queue
	// holds a few thousand connections, and one that overflows waits a
	// second for its SYN to be sent again.
	openBatch = 1000
	// h2StreamsPerConn is how many streams Go's HTTP/2 server allows on
	// one connection, by default.
	h2StreamsPerConn = 250
	// stallTimeout fails a phase in which no tick has arrived for this
	// long after the server sent the last.
	stallTimeout = 10 * time.Second
)

// perStream returns the ticks each of n streams gets in the burst, the
// busy, steady and latency phases.
func (c *scaleConfig) perStream(n int) (burst, busy, steady, latency int) {
	return max(1, min(c.burst, maxBurst/n)), max(1, c.busyTotal/n), max(1, c.steadyTotal/n), max(1, int(latencyRate*c.latencyDur.Seconds())/n)
}

// every returns the time between two ticks of one of n streams when they
// share rate ticks a second.
func every(n, rate int) time.Duration { return time.Second * time.Duration(n) / time.Duration(rate) }

var protoNames = map[string]string{"h1": "HTTP/1.1", "h2": "HTTP/2 (h2c)"}

// stateNames names the three states in which memory is measured.
var stateNames = [3]string{"connected", "one", "burst"}

// A scaleSample is what one run of one library measured.
type scaleSample struct {
	mem        [3]float64 // KiB per stream in each state: heap in use and stacks beyond the baseline
	stack      [3]float64 // the part of mem that is stacks
	goroutines float64    // per stream, connected
	busy       phaseCost  // ticks sent as fast as the server can
	steady     phaseCost  // steadyRate ticks a second
	delays     []time.Duration
	conns      int64  // connections the server had open, connected
	startStack uint64 // the stack size of new goroutines at the baseline
	extra      int64  // requests beyond one per stream
}

// A phaseCost is what the ticks of one phase cost this process: CPU, heap
// allocations and collections.
type phaseCost struct {
	cpu    float64 // µs of user and system CPU per tick
	allocs float64 // heap allocations per tick
	bytes  float64 // bytes allocated per tick
	gcs    uint32  // collections during the phase
}

// A scaleResult is one library's row: its samples, or why it is WRONG.
type scaleResult struct {
	lib     *library
	wrong   string
	samples []scaleSample
}

func (r *scaleResult) median(f func(*scaleSample) float64) float64 {
	v := make([]float64, len(r.samples))
	for i := range r.samples {
		v[i] = f(&r.samples[i])
	}
	return medianOf(v)
}

// benchScale runs the scale mode: for each number of streams and each
// protocol, every library (and raw) in interleaved repetitions, each run
// with an http.Transport of its own that all its streams share.
func benchScale(out io.Writer, libs []*library, c scaleConfig) error {
	var subjects []*library
	for _, lib := range libs {
		if lib.scale != nil || lib.kind == ours || lib.kind == peer {
			subjects = append(subjects, lib)
		}
	}
	if len(subjects) == 0 {
		return errors.New("no library to run (see -libs)")
	}
	soft, hard, limitErr := raiseOpenFiles()
	tc, err := startTickServer()
	if err != nil {
		return err
	}
	defer tc.Close()
	for _, dir := range []string{c.profileDir, c.cpuProfileDir} {
		if dir == "" {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}

	fmt.Fprintf(out, "Ticks (`id: n`, `event: tick`, `data: {\"n\":…,\"s\":…,\"t\":…,\"p\":\"…\"}`, 100 B) come from a server in a process of its own (%s), over HTTP/1.1 or HTTP/2 without TLS (h2c); this process is the client, and only its memory and CPU count. Each run gives one library, or raw (bare net/http GETs that block in `Read`: the floor), a new `http.Transport` that all its streams share.\n\n", tc.addr)
	fmt.Fprintf(out, "- GODEBUG=%s: new goroutines start with a stack of 2 KiB (see README.md)\n", os.Getenv("GODEBUG"))
	fmt.Fprintf(out, "- open files: client %s, server %s\n", limitText(soft, hard, limitErr), limitText(tc.soft, tc.hard, errText(tc.limitErr)))
	fmt.Fprintf(out, "- memory per stream: `HeapInuse`+`StackInuse` after two collections, minus the same before the streams opened, over the number of streams: connected, before any tick; after one tick on every stream; after a burst of ticks sent at once on every stream\n")
	fmt.Fprintf(out, "- busy: %d ticks in all, sent at once on every stream, as fast as the server writes them: this process's CPU (`getrusage`, user+sys), heap allocations and collections over the phase, per tick; a collection starts once the runtime's memory has grown by %s\n", c.busyTotal, size(busyHeadroom))
	fmt.Fprintf(out, "- steady: %d ticks in all, %d/s over all streams, written and flushed %d at a time on each stream: the same figures; a collection starts once the runtime's memory has grown by %s\n", c.steadyTotal, steadyRate, steadyBatch, size(steadyHeadroom))
	fmt.Fprintf(out, "- latency: %d ticks/s over all streams for %s: from the server's clock just before it wrote each tick to the client's as the library hands it over\n", latencyRate, c.latencyDur)
	fmt.Fprintf(out, "- delivery: every tick of every stream must arrive once, in order and whole, or the library is WRONG\n")
	fmt.Fprintf(out, "- repetitions: %d, interleaved; medians, and latency percentiles over the ticks of all of them\n\n", c.reps)

	run := 0
	for _, n := range c.streams {
		if need := uint64(n) + 100; soft < need || tc.soft < need {
			fmt.Fprintf(out, "#### %d streams: not run\n\n%d streams need %d open files in each process; the limits are %d (client) and %d (server).\n\n", n, n, need, soft, tc.soft)
			continue
		}
		warmGoroutines(8 * n)
		for _, proto := range c.protos {
			results := make([]*scaleResult, len(subjects))
			for i, lib := range subjects {
				results[i] = &scaleResult{lib: lib}
			}
			for rep := range c.reps {
				for i := range results {
					r := results[(i+rep)%len(results)]
					if r.wrong != "" {
						continue
					}
					run++
					progress("scale", fmt.Sprintf("%d %s rep %d/%d %s", n, proto, rep+1, c.reps, r.lib.short))
					s, err := scaleRun(tc, r.lib, n, proto, strconv.Itoa(run), c)
					if err != nil {
						r.wrong = err.Error()
						continue
					}
					r.samples = append(r.samples, s)
				}
			}
			printScale(out, n, proto, c, results)
			if f, ok := out.(interface{ Flush() error }); ok {
				f.Flush()
			}
		}
	}
	return nil
}

func limitText(soft, hard uint64, err error) string {
	s := fmt.Sprintf("%d (hard limit %d)", soft, hard)
	if err != nil {
		s += fmt.Sprintf(", could not raise: %v", err)
	}
	return s
}

func errText(s string) error {
	if s == "" {
		return nil
	}
	return errors.New(s)
}

// A countingTransport is the run's shared transport, counting responses
// and which of them came over HTTP/2: the client's side of "connected",
// whatever the library.
type countingTransport struct {
	*http.Transport
	responses, h2 atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.Transport.RoundTrip(req)
	if err == nil {
		t.responses.Add(1)
		if resp.ProtoMajor == 2 {
			t.h2.Add(1)
		}
	}
	return resp, err
}

// newScaleTransport returns a transport for one run, speaking only HTTP/1.1
// or only HTTP/2 without TLS (h2c with prior knowledge).
func newScaleTransport(proto string) *countingTransport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	var p http.Protocols
	if proto == "h2" {
		p.SetUnencryptedHTTP2(true)
	} else {
		p.SetHTTP1(true)
	}
	tr.Protocols = &p
	return &countingTransport{Transport: tr}
}

// watch runs lib's client on one stream until ctx ends or the stream does,
// reporting to c.
func (lib *library) watch(ctx context.Context, hc *http.Client, url string, c *streamCheck) error {
	if lib.scale != nil {
		return lib.scale(ctx, hc, url, c)
	}
	return lib.stream(ctx, hc, url, &c.sink)
}

// scaleRun runs lib on n streams over proto once: it opens them, measures
// memory in the three states, then CPU in the busy phase and delays in the
// latency phase, and closes them.
func scaleRun(tc *tickClient, lib *library, n int, proto, id string, c scaleConfig) (s scaleSample, err error) {
	tr := newScaleTransport(proto)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	if _, err := tc.do("open %s %d", id, n); err != nil {
		return s, err
	}
	defer func() {
		f, cerr := tc.do("close")
		if err == nil && cerr != nil {
			err = cerr
		}
		if cerr == nil && len(f) > 0 {
			s.extra, _ = strconv.ParseInt(f[0], 10, 64)
		}
	}()
	burst, busyEach, steadyEach, latencyEach := c.perStream(n)

	// Everything the harness keeps per stream is made before the baseline.
	set := newStreamSet(n, latencyEach+8)
	urls := make([]string, n)
	for i := range urls {
		urls[i] = fmt.Sprintf("http://%s/s/%s/%d", tc.addr, id, i)
	}
	profile := func(state string) {
		if c.profileDir != "" {
			writeInuseProfile(filepath.Join(c.profileDir, fmt.Sprintf("%s-%s-%d-%s.pprof", lib.short, proto, n, state)))
		}
	}
	debug.FreeOSMemory()
	before := runtime.NumGoroutine()
	base := snapshot()
	profile("base")

	// No collection while the streams open, so that their goroutines
	// start alike: the mode runs with every new goroutine starting at
	// 2 KiB (fixedStackStart in main.go), and without it each collection
	// would set the size new goroutines start with from the average of
	// the stacks it scanned. Every goroutine grows as far as its own
	// calls take it.
	s.startStack = startingStackSize()
	gcPercent := debug.SetGCPercent(-1)
	gcOff := true
	defer func() {
		if gcOff {
			debug.SetGCPercent(gcPercent)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	var done sync.WaitGroup
	defer func() {
		cancel()
		done.Wait()
		// An HTTP/2 connection stays until it is idle and closed; its
		// streams end asynchronously, so it is closed again until then.
		if left := leftover(before, tr.CloseIdleConnections); left > 0 && !lib.lingers && err == nil {
			err = fmt.Errorf("%d goroutines still running 5 s after the streams were closed", left)
		}
	}()
	for i := range set.checks {
		done.Add(1)
		go func() {
			defer done.Done()
			c := &set.checks[i]
			err := lib.watch(ctx, hc, urls[i], c)
			if ctx.Err() == nil {
				c.fail(fmt.Sprintf("stream %d ended: %v", i, err))
			}
		}()
		first := i%h2StreamsPerConn == 0
		if first || (i+1)%openBatch == 0 || i == n-1 {
			if _, err := tc.do("wait %d 60", i+1); err != nil {
				return s, errors.Join(err, set.err())
			}
		}
		if first {
			// The first stream of each h2StreamsPerConn opens alone:
			// over HTTP/2, the others then find its connection,
			// rather than each dial one while it is being set up, as
			// many as the timing of the moment makes.
			if err := awaitResponses(tr, i+1, set); err != nil {
				return s, err
			}
		}
	}
	if err := awaitResponses(tr, n, set); err != nil {
		return s, err
	}
	debug.SetGCPercent(gcPercent)
	gcOff = false
	if proto == "h2" && tr.h2.Load() != int64(n) {
		return s, fmt.Errorf("only %d of %d responses came over HTTP/2", tr.h2.Load(), n)
	}
	f, err := tc.do("wait %d 1", n)
	if err != nil {
		return s, err
	}
	s.conns, _ = strconv.ParseInt(f[2], 10, 64)

	measure := func(state int) {
		settle()
		fp := snapshot()
		s.mem[state] = (float64(fp.heap+fp.stack) - float64(base.heap+base.stack)) / float64(n) / 1024
		s.stack[state] = (float64(fp.stack) - float64(base.stack)) / float64(n) / 1024
		if state == 0 {
			s.goroutines = float64(fp.goroutines-base.goroutines) / float64(n)
		}
		profile(stateNames[state])
	}
	measure(0)
	perStream := int64(0) // ticks sent on each stream so far
	phase := func(count int, every time.Duration, batch int) error {
		perStream += int64(count)
		return deliver(tc, set, perStream*int64(n), count, every, batch)
	}
	if err := phase(1, 0, 1); err != nil {
		return s, err
	}
	measure(1)
	if err := phase(burst, 0, 1); err != nil {
		return s, err
	}
	measure(2)

	cost := func(name string, headroom int64, count int, every time.Duration, batch int) (phaseCost, error) {
		profile := fmt.Sprintf("%s-%s-%d-%s.pprof", lib.short, proto, n, name)
		return measureCost(headroom, c.cpuProfileDir, profile, count*n, func() error {
			return phase(count, every, batch)
		})
	}
	if s.busy, err = cost("busy", busyHeadroom, busyEach, 0, 1); err != nil {
		return s, err
	}
	if s.steady, err = cost("steady", steadyHeadroom, steadyEach, steadyBatch*every(n, steadyRate), steadyBatch); err != nil {
		return s, err
	}

	set.timing.Store(true)
	err = phase(latencyEach, every(n, latencyRate), 1)
	set.timing.Store(false)
	if err != nil {
		return s, err
	}
	for i := range set.checks {
		s.delays = append(s.delays, set.checks[i].delays...)
	}
	return s, set.err()
}

// warmGoroutines starts n goroutines and ends them. The runtime keeps the
// record of a goroutine that ended (its g, about 0.5 KiB) for the next one,
// so without this the first run of a size would pay for the records of all
// its goroutines, and the runs after it for none.
func warmGoroutines(n int) {
	var started, ended sync.WaitGroup
	stop := make(chan struct{})
	started.Add(n)
	ended.Add(n)
	for range n {
		go func() {
			started.Done()
			<-stop
			ended.Done()
		}()
	}
	started.Wait()
	close(stop)
	ended.Wait()
}

// awaitResponses waits until the transport has handed out n responses.
func awaitResponses(tr *countingTransport, n int, set *streamSet) error {
	deadline := time.Now().Add(time.Minute)
	for tr.responses.Load() < int64(n) {
		if err := set.err(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d responses after a minute", tr.responses.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// settle waits until the number of goroutines has not changed for 100 ms
// (at most 2 s): every client has gone back to waiting for the network.
func settle() {
	last, same := runtime.NumGoroutine(), 0
	for deadline := time.Now().Add(2 * time.Second); same < 5 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		if g := runtime.NumGoroutine(); g == last {
			same++
		} else {
			last, same = g, 0
		}
	}
}

// deliver has the server send count ticks on every stream, one every
// every, and waits until the clients have all of them, want in all.
func deliver(tc *tickClient, set *streamSet, want int64, count int, every time.Duration, batch int) error {
	type reply struct {
		f   []string
		err error
	}
	sent := make(chan reply, 1)
	go func() {
		f, err := tc.do("send %d %s %d", count, every, batch)
		sent <- reply{f, err}
	}()
	var total, last int64
	var sentAt time.Time
	lastMove := time.Now()
	for {
		select {
		case r := <-sent:
			if r.err != nil {
				return r.err
			}
			if r.f[1] != "0" {
				return fmt.Errorf("the server could not send to %s streams", r.f[1])
			}
			sentAt, sent = time.Now(), nil
		case <-time.After(20 * time.Millisecond):
		}
		total = set.total()
		if err := set.err(); err != nil {
			return err
		}
		if total != last {
			last, lastMove = total, time.Now()
		}
		if sent == nil && total >= want {
			return nil
		}
		if sent == nil && time.Since(lastMove) > stallTimeout && time.Since(sentAt) > stallTimeout {
			return fmt.Errorf("%d of %d ticks missing %s after the server sent the last", want-total, want, stallTimeout)
		}
	}
}

// startingStackSize returns the size of a new goroutine's stack, which the
// runtime sets at each collection from the average of the stacks it scanned.
func startingStackSize() uint64 {
	m := []metrics.Sample{{Name: "/gc/stack/starting-size:bytes"}}
	metrics.Read(m)
	if m[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return m[0].Value.Uint64()
}

// measureCost runs a phase, which delivers the given number of ticks over
// all streams, and returns what each tick cost this process. The collector
// is paced by headroom (see paceGC), and if dir is set, a CPU profile of
// the phase goes to file in dir.
func measureCost(headroom int64, dir, file string, ticks int, run func() error) (phaseCost, error) {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	restoreGC := paceGC(m0, headroom)
	defer restoreGC()
	cpu0, err := cpuTime()
	if err != nil {
		return phaseCost{}, err
	}
	stopProfile := startCPUProfile(dir, file)
	err = run()
	stopProfile()
	cpu1, _ := cpuTime()
	if err != nil {
		return phaseCost{}, err
	}
	runtime.ReadMemStats(&m1)
	t := float64(ticks)
	return phaseCost{
		cpu:    float64((cpu1 - cpu0).Microseconds()) / t,
		allocs: float64(m1.Mallocs-m0.Mallocs) / t,
		bytes:  float64(m1.TotalAlloc-m0.TotalAlloc) / t,
		gcs:    m1.NumGC - m0.NumGC,
	}, nil
}

// steadyHeadroom and busyHeadroom are how far the runtime's memory may grow
// in the steady and busy phases before a collection: the same for every
// library (see paceGC). In the busy phase, the server writes faster than
// the slower libraries read, and net/http buffers what they have not read
// yet: over HTTP/2, hundreds of MiB at 1,000 streams. With room below
// that, the collector would run without pause while the buffers are full
// and charge it to the slower library.
const (
	steadyHeadroom = 32 << 20
	busyHeadroom   = 1 << 30
)

// paceGC sets the collector's pace for a phase, from m, read after a
// collection, and returns what restores it. By default a collection starts
// when the heap has grown by as much as was live after the last one, so a
// library that holds less would be collected more often for the same
// allocations, and its CPU per tick would carry more collections: at 1,000
// streams, 7 against 1 over a million ticks, for the same bytes allocated.
// In a service, the pace is set by the whole process's heap. So every
// library gets the same room instead: a collection starts when the
// runtime's memory has grown by headroom, and the collections a phase
// holds follow the bytes it allocated.
func paceGC(m runtime.MemStats, headroom int64) (restore func()) {
	percent := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(int64(m.Sys-m.HeapReleased) + headroom)
	return func() {
		debug.SetMemoryLimit(limit)
		debug.SetGCPercent(percent)
	}
}

// startCPUProfile starts a CPU profile into file in dir, unless dir is
// empty, and returns what stops it.
func startCPUProfile(dir, file string) (stop func()) {
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, file))
	if err == nil {
		if err = pprof.StartCPUProfile(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: CPU profile:", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// writeInuseProfile writes a heap profile, for go tool pprof
// -sample_index=inuse_space.
func writeInuseProfile(file string) {
	f, err := os.Create(file)
	if err == nil {
		err = pprof.WriteHeapProfile(f)
		f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: heap profile:", err)
	}
}

// printScale writes the two tables of one number of streams over one
// protocol: memory per stream, and CPU and latency.
func printScale(out io.Writer, n int, proto string, c scaleConfig, results []*scaleResult) {
	var raw *scaleResult
	for _, r := range results {
		if r.lib.scale != nil && r.wrong == "" && len(r.samples) > 0 {
			raw = r
		}
	}
	burst, busyEach, steadyEach, latencyEach := c.perStream(n)
	fmt.Fprintf(out, "#### %d streams over %s\n\n", n, protoNames[proto])
	fmt.Fprintf(out, "| %-38s | %17s | %17s | %17s | %14s | %10s |\n", "memory per stream, KiB (+ over raw)", "connected", "after 1 tick", fmt.Sprintf("after %d ticks", burst+1), "of which stacks", "goroutines")
	fmt.Fprintf(out, "|%s|%s:|%s:|%s:|%s:|%s:|\n", strings.Repeat("-", 40), strings.Repeat("-", 18), strings.Repeat("-", 18), strings.Repeat("-", 18), strings.Repeat("-", 15), strings.Repeat("-", 11))
	for _, r := range results {
		if r.wrong != "" {
			fmt.Fprintf(out, "| %-38s | WRONG: %s |\n", r.lib.name, oneLine(r.wrong))
			continue
		}
		var cells [3]string
		var stacks [3]string
		for st := range cells {
			stacks[st] = fmt.Sprintf("%.1f", r.median(func(s *scaleSample) float64 { return s.stack[st] }))
			v := r.median(func(s *scaleSample) float64 { return s.mem[st] })
			cells[st] = fmt.Sprintf("%.1f", v)
			if raw != nil && r != raw {
				d := v - raw.median(func(s *scaleSample) float64 { return s.mem[st] })
				if math.Abs(d) < 0.05 {
					d = 0 // not "-0.0"
				}
				cells[st] += fmt.Sprintf(" (%+.1f)", d)
			}
		}
		fmt.Fprintf(out, "| %-38s | %17s | %17s | %17s | %14s | %10.1f |\n", r.lib.name, cells[0], cells[1], cells[2], strings.Join(stacks[:], " "), r.median(func(s *scaleSample) float64 { return s.goroutines }))
	}
	fmt.Fprintln(out)

	printCost(out, fmt.Sprintf("busy: %d ticks at once, per tick", busyEach), results, raw, func(s *scaleSample) *phaseCost { return &s.busy }, false)
	printCost(out, fmt.Sprintf("steady: %d/s, per tick; latency", steadyRate), results, raw, func(s *scaleSample) *phaseCost { return &s.steady }, true)
	var notes []string
	for _, r := range results {
		var extra int64
		for _, s := range r.samples {
			extra += s.extra
		}
		if extra > 0 {
			notes = append(notes, fmt.Sprintf("%s made %d requests beyond one per stream (answered 204)", r.lib.name, extra))
		}
	}
	var conns []string
	stacks := map[uint64]bool{}
	for _, r := range results {
		if len(r.samples) > 0 {
			conns = append(conns, fmt.Sprintf("%s %.0f", r.lib.short, r.median(func(s *scaleSample) float64 { return float64(s.conns) })))
		}
		for _, s := range r.samples {
			stacks[s.startStack] = true
		}
	}
	fmt.Fprintf(out, "Ticks per stream: %d in the burst, %d in the busy phase (all at once), %d in the steady phase (%d every %s), %d in the latency phase (one every %s). Connections the server saw: %s.\n",
		burst, busyEach, steadyEach, steadyBatch, steadyBatch*every(n, steadyRate), latencyEach, every(n, latencyRate), strings.Join(conns, ", "))
	var sizes []string
	for _, k := range slices.Sorted(maps.Keys(stacks)) {
		sizes = append(sizes, size(int(k)))
	}
	fmt.Fprintf(out, "New goroutines started with a stack of %s.\n", strings.Join(sizes, " or "))
	if proto == "h2" {
		fmt.Fprintf(out, "Every response came over HTTP/2 (`ProtoMajor` 2, checked in the client), or the run would be WRONG.\n")
	}
	for _, note := range notes {
		fmt.Fprintf(out, "%s.\n", note)
	}
	fmt.Fprintln(out)
}

// bestPeer returns the peer whose median CPU per tick in the phase that
// cost picks is the lowest, or nil if no peer ran.
func bestPeer(results []*scaleResult, cost func(*scaleSample) *phaseCost) *scaleResult {
	var best *scaleResult
	var bestCPU float64
	for _, r := range results {
		if r.lib.kind != peer || r.wrong != "" || len(r.samples) == 0 {
			continue
		}
		if cpu := r.median(cpuOf(cost)); best == nil || cpu < bestCPU {
			best, bestCPU = r, cpu
		}
	}
	return best
}

// cpuOf returns what picks the CPU per tick from the phase that cost picks.
func cpuOf(cost func(*scaleSample) *phaseCost) func(*scaleSample) float64 {
	return func(s *scaleSample) float64 { return cost(s).cpu }
}

// pairedCPU returns the median over the repetitions of r's CPU per tick
// over other's in the same repetition, and of the difference: the
// machine's speed drifts between repetitions.
func pairedCPU(r, other *scaleResult, cost func(*scaleSample) *phaseCost) (ratio, diff float64) {
	k := min(len(r.samples), len(other.samples))
	ratios, diffs := make([]float64, k), make([]float64, k)
	for i := range k {
		a, b := cost(&r.samples[i]).cpu, cost(&other.samples[i]).cpu
		ratios[i], diffs[i] = a/b, a-b
	}
	return medianOf(ratios), medianOf(diffs)
}

// printCost writes the table of one phase's cost per tick, which cost
// picks from a sample: CPU, against raw and against the best peer,
// allocations and collections, and, if latency is set, the delays of the
// latency phase.
func printCost(out io.Writer, title string, results []*scaleResult, raw *scaleResult, cost func(*scaleSample) *phaseCost, latency bool) {
	best := bestPeer(results, cost)
	bestName := "best peer"
	if best != nil {
		bestName = best.lib.short
	}
	head := fmt.Sprintf("| %-38s | %8s | %6s | %8s | %12s | %12s | %8s | %4s |", title, "CPU µs", "x raw", "over raw", "x "+bestName, "allocs/tick", "B/tick", "GCs")
	rule := fmt.Sprintf("|%s|%s:|%s:|%s:|%s:|%s:|%s:|%s:|", strings.Repeat("-", 40), strings.Repeat("-", 9), strings.Repeat("-", 7), strings.Repeat("-", 9), strings.Repeat("-", 13), strings.Repeat("-", 13), strings.Repeat("-", 9), strings.Repeat("-", 5))
	if latency {
		head += fmt.Sprintf(" %11s | %11s |", "latency p50", "latency p99")
		rule += fmt.Sprintf("%s:|%s:|", strings.Repeat("-", 12), strings.Repeat("-", 12))
	}
	fmt.Fprintf(out, "%s\n%s\n", head, rule)
	for _, r := range results {
		if r.wrong != "" {
			fmt.Fprintf(out, "| %-38s | WRONG: see above |\n", r.lib.name)
			continue
		}
		ratio, over, vsBest := "-", "-", "-"
		if raw != nil {
			x, d := pairedCPU(r, raw, cost)
			ratio, over = fmt.Sprintf("%.2fx", x), fmt.Sprintf("%+.2f", d)
		}
		if best != nil && r != raw {
			x, _ := pairedCPU(r, best, cost)
			vsBest = fmt.Sprintf("%.2fx", x)
		}
		fmt.Fprintf(out, "| %-38s | %8.2f | %6s | %8s | %12s | %12.2f | %8.0f | %4.0f |", r.lib.name,
			r.median(cpuOf(cost)), ratio, over, vsBest,
			r.median(func(s *scaleSample) float64 { return cost(s).allocs }),
			r.median(func(s *scaleSample) float64 { return cost(s).bytes }),
			r.median(func(s *scaleSample) float64 { return float64(cost(s).gcs) }))
		if latency {
			var delays []time.Duration
			for _, s := range r.samples {
				delays = append(delays, s.delays...)
			}
			slices.Sort(delays)
			p50, p99 := "-", "-"
			if len(delays) > 0 {
				p50 = roundDelay(delays[len(delays)/2])
				p99 = roundDelay(delays[len(delays)*99/100])
			}
			fmt.Fprintf(out, " %11s | %11s |", p50, p99)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintln(out)
}

func roundDelay(d time.Duration) string {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d >= 100*time.Microsecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

// oneLine keeps a table cell on one line.
func oneLine(s string) string {
	return strings.NewReplacer("\n", "; ", "|", "/").Replace(s)
}
