// Command bench measures github.com/go-eventsource/eventsource against the
// other Go Server-Sent Events libraries, and against floors that no SSE
// library can beat.
//
// It generates deterministic workloads in memory and runs each library on
// them in two modes: parse (the library's own parser over an in-memory
// reader) and e2e (the library's client reading a loopback httptest server
// that streams the workload once). Before timing, every library's events are
// checked against what the generator wrote; one whose count or checksum
// differs is reported as WRONG, with the reason, instead of a speed. The
// timed runs are interleaved repetitions whose medians the tables show.
//
// Two smaller modes look at our library alone: latency (the delay from the
// server's flush of an event to the OnEvent callback) and memory (the cost
// of an idle stream, and the peak heap while a 64 MiB line meets
// WithMaxEventSize(1 MiB)).
//
// The scale mode, which runs only when named, opens thousands of streams at
// once from a server in a child process (the binary started again) and
// measures, for every library and for bare net/http, the memory each stream
// holds, the CPU per event under load and the latency.
//
// Usage:
//
//	go run .                      # everything, ~32 MiB per workload
//	go run . -quick               # everything, small, under a minute
//	go run . -modes scale -quick  # 1,000 streams, every library, one repetition
//	go run . -modes parse -workloads llm,large -libs ours,go-sse,floor -reps 9
//	go run . -modes parse -workloads llm -cpuprofile cpu.prof && go tool pprof -tagfocus=lib=ours -top cpu.prof
//	go run . -modes parse -libs ours -memprofile mem.prof && go tool pprof -sample_index=alloc_objects -top mem.prof
//
// See README.md for what each column means.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

// config holds the command line.
type config struct {
	quick         bool
	workloads     []string
	modes         []string
	libs          []string
	reps          int
	sizeMiB       int
	latencyEvents int
	streams       int
	peerDefaults  bool
	cpuprofile    string
	memprofile    string
	scale         scaleConfig
}

// modeNames lists every mode; scale runs only when asked for.
var modeNames = []string{"parse", "e2e", "latency", "memory", "scale"}

const defaultModes = "parse,e2e,latency,memory"

func main() {
	if os.Getenv(scaleServerEnv) != "" {
		os.Exit(scaleServerMain())
	}
	var c config
	var workloads, modes, libs, scaleStreams, scaleProtos string
	flag.BoolVar(&c.quick, "quick", false, "small workloads and few repetitions: finishes in under a minute")
	flag.StringVar(&workloads, "workloads", strings.Join(workloadNames, ","), "comma-separated workloads to run")
	flag.StringVar(&modes, "modes", defaultModes, "comma-separated modes to run: "+strings.Join(modeNames, ", "))
	flag.StringVar(&libs, "libs", "ours,go-sse,launchdarkly,donovanhide,r3labs,floor,bound,raw", "comma-separated libraries to run (bound runs in e2e only, raw in scale only)")
	flag.IntVar(&c.reps, "reps", 0, "timed repetitions per library and workload (default 7, or 3 with -quick)")
	flag.IntVar(&c.sizeMiB, "size", 0, "MiB per workload (default 32, or 4 with -quick)")
	flag.IntVar(&c.latencyEvents, "latency-events", 0, "events per latency run (default 2000, or 500 with -quick)")
	flag.IntVar(&c.streams, "streams", 1000, "concurrent idle streams in the memory mode")
	flag.BoolVar(&c.peerDefaults, "peer-defaults", false, "leave peers at their default event size limits (64 KiB for go-sse and r3labs) instead of 16 MiB")
	flag.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile to `file`; timed runs carry the labels lib (ours) and run (ours/parse/llm)")
	flag.StringVar(&c.memprofile, "memprofile", "", "write an allocation profile of the whole run to `file` (every allocation sampled)")
	flag.StringVar(&scaleStreams, "scale-streams", "", "comma-separated numbers of streams in the scale mode (default 1000,10000, or 1000 with -quick)")
	flag.IntVar(&c.scale.reps, "scale-reps", 0, "repetitions of the scale mode (default 3, or 1 with -quick)")
	flag.StringVar(&scaleProtos, "scale-protos", "h1,h2", "protocols of the scale mode: h1 (HTTP/1.1), h2 (HTTP/2 without TLS)")
	flag.StringVar(&c.scale.profileDir, "scale-heapprofile", "", "write heap profiles of the scale mode's states to `dir` (every allocation sampled)")
	flag.StringVar(&c.scale.cpuProfileDir, "scale-cpuprofile", "", "write CPU profiles of the scale mode's busy and steady phases to `dir`")
	flag.Parse()
	c.workloads = split(workloads)
	c.modes = split(modes)
	c.libs = split(libs)
	setDefault(&c.reps, 7, 3, c.quick)
	setDefault(&c.sizeMiB, 32, 4, c.quick)
	setDefault(&c.latencyEvents, 2000, 500, c.quick)
	if err := c.scale.parse(scaleStreams, scaleProtos, c.quick); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if slices.Contains(c.modes, "scale") && !strings.Contains(os.Getenv("GODEBUG"), fixedStackStart) {
		os.Exit(rerunWithFixedStackStart())
	}
	if c.scale.profileDir != "" {
		runtime.MemProfileRate = 1
	}
	if err := run(os.Stdout, c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// fixedStackStart makes every new goroutine start with the smallest stack
// (2 KiB). By default the runtime starts them with the average of the
// stacks that the last collection scanned: in the scale mode, the harness's
// own goroutines set it, at 4 or 8 KiB depending on how deep its main
// goroutine happens to be at the baseline, and a library whose goroutines
// cannot shrink back would look heavier or lighter by that chance. With
// it, each goroutine's stack is what its own calls need.
const fixedStackStart = "adaptivestackstart=0"

// rerunWithFixedStackStart runs this program again, with fixedStackStart
// added to GODEBUG (which the runtime reads only at start), and returns its
// exit code.
func rerunWithFixedStackStart() int {
	godebug := fixedStackStart
	if old := os.Getenv("GODEBUG"); old != "" {
		godebug = old + "," + fixedStackStart
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), "GODEBUG="+godebug)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "bench: running again with GODEBUG="+godebug+":", err)
		return 1
	}
	return 0
}

func split(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// setDefault sets an unset flag value to its default, or to its -quick one.
func setDefault(v *int, full, quick int, isQuick bool) {
	switch {
	case *v > 0:
	case isQuick:
		*v = quick
	default:
		*v = full
	}
}

// run runs the modes c asks for and writes the report to stdout.
func run(stdout io.Writer, c config) error {
	for _, m := range c.modes {
		if !slices.Contains(modeNames, m) {
			return fmt.Errorf("unknown mode %q (have %s)", m, strings.Join(modeNames, ", "))
		}
	}
	var libs []*library
	var known []string
	for _, lib := range libraries() {
		known = append(known, lib.short)
		if slices.Contains(c.libs, lib.short) {
			libs = append(libs, lib)
		}
	}
	for _, name := range c.libs {
		if !slices.Contains(known, name) {
			return fmt.Errorf("unknown library %q (have %s)", name, strings.Join(known, ", "))
		}
	}
	if c.peerDefaults {
		peerMaxEventSize = 0
	}
	if c.cpuprofile != "" {
		f, err := os.Create(c.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if c.memprofile != "" {
		runtime.MemProfileRate = 1
		defer writeHeapProfile(c.memprofile)
	}

	out := bufio.NewWriter(stdout)
	defer out.Flush()
	printMachine(out, c)
	out.Flush()

	has := func(mode string) bool { return slices.Contains(c.modes, mode) }
	// Memory first: the runtime starts new goroutines with stacks sized
	// from the average it has seen, which the throughput runs raise.
	if has("memory") {
		progress("memory", "")
		fmt.Fprintf(out, "### memory\n\n")
		if err := benchIdle(out, c.streams); err != nil {
			return fmt.Errorf("memory: %w", err)
		}
		if err := benchLimit(out, 64<<20, 1<<20); err != nil {
			return fmt.Errorf("memory: %w", err)
		}
		out.Flush()
	}
	// Scale next, for the same reason.
	if has("scale") {
		progress("scale", "")
		fmt.Fprintf(out, "### scale\n\n")
		if err := benchScale(out, libs, c.scale); err != nil {
			return fmt.Errorf("scale: %w", err)
		}
		out.Flush()
	}
	var ss *streamServer
	if has("e2e") {
		ss = newStreamServer()
		defer ss.Close()
	}
	for _, name := range c.workloads {
		if !has("parse") && !has("e2e") {
			break
		}
		w, err := newWorkload(name, c.sizeMiB<<20)
		if err != nil {
			return err
		}
		sum := expectedSum(w)
		fmt.Fprintf(out, "### %s: %s\n\n%s, %d events (%.1f B/event), checksum fnv64a %#016x\n\n",
			w.name, w.about, size(len(w.wire)), w.events, float64(len(w.wire))/float64(w.events), sum)
		if has("parse") {
			progress("parse", w.name)
			benchMode(out, w, sum, "parse", libs, c.reps, func(lib *library, s *sink) (sample, error) {
				return measure(func() error { return lib.parse(bytes.NewReader(w.wire), s) })
			})
		}
		if has("e2e") {
			progress("e2e", w.name)
			benchMode(out, w, sum, "e2e", libs, c.reps, func(lib *library, s *sink) (sample, error) {
				return ss.runStream(lib, w, s)
			})
		}
		out.Flush()
	}
	if has("latency") {
		progress("latency", "")
		fmt.Fprintf(out, "### latency\n\n%d events per run, one every %s, %d runs per subject\n\n", c.latencyEvents, latencyGap, c.reps)
		if err := benchLatency(out, c.latencyEvents, c.reps); err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		out.Flush()
	}
	fmt.Fprintf(out, "load average at the end: %s\n", loadAverage())
	return nil
}

// writeHeapProfile writes the allocation profile to file, for
// go tool pprof -sample_index=alloc_objects.
func writeHeapProfile(file string) {
	f, err := os.Create(file)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: memprofile:", err)
	}
}

// benchMode checks every library once against the workload, times those
// that passed, and prints the table. run runs one library once, reporting
// to the sink it is given.
func benchMode(out io.Writer, w *workload, sum uint64, mode string, libs []*library, reps int, run func(*library, *sink) (sample, error)) {
	libs = slices.DeleteFunc(slices.Clone(libs), func(lib *library) bool {
		return mode == "parse" && lib.parse == nil || mode == "e2e" && lib.stream == nil
	})
	results := make([]*result, len(libs))
	for i, lib := range libs {
		s := newSink(w, lib, mode, true)
		before := runtime.NumGoroutine()
		_, err := run(lib, s)
		why := verdict(s, err, sum, lib.kind.reference())
		if left := leftover(before, nil); left > 0 && !lib.lingers {
			why = strings.TrimPrefix(why+"; ", "; ") + fmt.Sprintf("%d goroutines still running 5 s after it stopped", left)
		}
		results[i] = &result{lib: lib, wrong: why}
	}
	runReps(results, reps, func(lib *library) (smp sample, err error) {
		s := newSink(w, lib, mode, false)
		if mode == "parse" {
			// An untimed run first, as testing.B does: a timed run then
			// starts with the heap and caches of its own library, not
			// those of the one before (a peer that allocates ten times
			// more leaves a heap that slows the next parse by up to 20 %).
			run(lib, newSink(w, lib, mode, false))
		}
		runtime.GC() // so that no run pays for the garbage of the one before
		// The labels let a CPU profile focus on the timed runs of one
		// library (go tool pprof -tagfocus=lib=ours), or of one library in
		// one mode on one workload (-tagfocus=run=ours/parse/llm).
		labels := pprof.Labels("lib", lib.short, "run", lib.short+"/"+mode+"/"+w.name)
		pprof.Do(context.Background(), labels, func(context.Context) { smp, err = run(lib, s) })
		if err == nil && s.events != s.want {
			err = fmt.Errorf("%d events instead of %d", s.events, s.want)
		}
		return smp, err
	})
	printTable(out, w, mode, results)
}

// leftover waits up to 5 s for the number of goroutines to fall back to
// before, and returns how many more there still are: a client that was
// stopped must not leave any behind. Connections that close asynchronously
// (the server's side, the transport's loops) get the time they need. poll,
// if not nil, runs at every look.
func leftover(before int, poll func()) int {
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		if poll != nil {
			poll()
		}
		time.Sleep(time.Millisecond)
	}
	return max(runtime.NumGoroutine()-before, 0)
}

// newSink returns a sink for one run of lib in mode. A floor's or a bound's
// sink counts what it measures: blank lines (parse) or bytes (e2e).
func newSink(w *workload, lib *library, mode string, check bool) *sink {
	s := &sink{want: w.events}
	switch {
	case lib.kind == floor && mode == "parse":
		s.want = w.blanks
	case lib.kind.reference():
		s.want = len(w.wire)
		s.eventSize = len(w.wire) / w.events
	case check:
		s.check = &checker{w: w}
	}
	return s
}

func progress(mode, workload string) {
	fmt.Fprintf(os.Stderr, "%s %s %s\n", time.Now().Format("15:04:05"), mode, workload)
}

// printMachine writes the header: when, where and with what the results
// were made.
func printMachine(out io.Writer, c config) {
	fmt.Fprintf(out, "# eventsource benchmarks\n\n")
	fmt.Fprintf(out, "- date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(out, "- command: `%s`\n", strings.Join(append([]string{"cd bench && go run ."}, os.Args[1:]...), " "))
	fmt.Fprintf(out, "- library: %s\n", libraryRevision())
	fmt.Fprintf(out, "- machine: %s, %d CPUs (GOMAXPROCS %d), %s/%s\n", cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(out, "- Go: %s\n", runtime.Version())
	fmt.Fprintf(out, "- load average at the start: %s (the machine is shared; see README.md)\n", loadAverage())
	if bi, ok := debug.ReadBuildInfo(); ok {
		var peers []string
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/tmaxmax/go-sse", "github.com/launchdarkly/eventsource",
				"github.com/donovanhide/eventsource", "github.com/r3labs/sse/v2":
				peers = append(peers, d.Path+" "+d.Version)
			}
		}
		fmt.Fprintf(out, "- peers: %s\n", strings.Join(peers, ", "))
	}
	limits := "peers given a 16 MiB event size limit where they have a setting"
	if c.peerDefaults {
		limits = "peers at their default event size limits"
	}
	if slices.Contains(c.modes, "parse") || slices.Contains(c.modes, "e2e") {
		fmt.Fprintf(out, "- %d MiB per workload, %d interleaved repetitions, medians; %s\n", c.sizeMiB, c.reps, limits)
	} else {
		fmt.Fprintf(out, "- %s\n", limits)
	}
	fmt.Fprintln(out)
}

// cpuModel returns the processor's model name from /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// loadAverage returns the 1, 5 and 15 minute load averages from
// /proc/loadavg: other work on the machine slows every library alike, but
// widens the spread of the repetitions.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// libraryRevision names the commit of the library under test (the module in
// ../, which the build info only calls "(devel)"), and says whether its Go
// files differ from that commit. It only reads: GIT_OPTIONAL_LOCKS=0 keeps
// git status from refreshing the index.
func libraryRevision() string {
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", append([]string{"-C", ".."}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0")
		out, err := cmd.Output()
		return strings.TrimRight(string(out), "\n"), err
	}
	rev, err := git("log", "-1", "--format=%h %s")
	if err != nil {
		return "../ (not a git checkout)"
	}
	status, err := git("status", "--porcelain", "--untracked-files=no", "--", ":(top,glob)*.go")
	var changed []string
	for line := range strings.Lines(status) {
		if len(line) > 3 && err == nil {
			changed = append(changed, strings.TrimSpace(line[3:])) // "XY path"
		}
	}
	if len(changed) > 0 {
		rev += ", with uncommitted changes to " + strings.Join(changed, ", ")
	}
	return "../ at " + rev
}
