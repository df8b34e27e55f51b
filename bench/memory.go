package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// A footprint is the memory a set of live goroutines and their data hold.
type footprint struct {
	heap, stack uint64 // runtime.MemStats HeapInuse and StackInuse
	goroutines  int
}

// snapshot returns the footprint now, after two collections so that only
// live data remains.
func snapshot() footprint {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return footprint{heap: m.HeapInuse, stack: m.StackInuse, goroutines: runtime.NumGoroutine()}
}

// idleServer holds every request open, after the headers and a flush, until
// its context ends or release is closed.
func idleServer(release <-chan struct{}) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		if http.NewResponseController(w).Flush() != nil {
			return
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
}

// benchIdle opens n idle streams with raw GETs that block in Read, and
// then n with our EventSource, idleRounds times in alternation, and prints
// what each raw stream costs and what each of ours costs beyond it: medians
// of the rounds, each measured from the footprint just before it. Both
// include the in-process server's side of each connection, which the
// difference cancels out. Where freed stacks and spans go from one round to
// the next moves memory between "heap" and "stacks", which is why the
// rounds alternate and the total is the figure to read.
func benchIdle(out io.Writer, n int) error {
	const idleRounds = 5
	var raw, our [3][]float64 // heap, stacks, goroutines per stream
	add := func(to *[3][]float64, fp, base footprint) {
		to[0] = append(to[0], (float64(fp.heap)-float64(base.heap))/float64(n)/1024)
		to[1] = append(to[1], (float64(fp.stack)-float64(base.stack))/float64(n)/1024)
		to[2] = append(to[2], float64(fp.goroutines-base.goroutines)/float64(n))
	}
	for range idleRounds {
		debug.FreeOSMemory()
		base := snapshot()
		fp, err := idleRaw(n)
		if err != nil {
			return fmt.Errorf("raw GETs: %w", err)
		}
		add(&raw, fp, base)
		debug.FreeOSMemory()
		base = snapshot()
		if fp, err = idleOurs(n); err != nil {
			return fmt.Errorf("our client: %w", err)
		}
		add(&our, fp, base)
	}
	med := func(v []float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		return v[len(v)/2]
	}
	totals := func(f *[3][]float64) []float64 {
		t := make([]float64, len(f[0]))
		for i := range t {
			t[i] = f[0][i] + f[1][i]
		}
		return t
	}
	rawTotal, ourTotal := med(totals(&raw)), med(totals(&our))
	fmt.Fprintf(out, "| %-44s | %10s | %10s | %10s | %10s |\n", fmt.Sprintf("%d idle streams, per stream (median of %d)", n, idleRounds), "heap", "stacks", "total", "goroutines")
	fmt.Fprintf(out, "|%s|-----------:|-----------:|-----------:|-----------:|\n", "----------------------------------------------")
	fmt.Fprintf(out, "| %-44s | %6.1f KiB | %6.1f KiB | %6.1f KiB | %10.1f |\n", "raw GET blocked in Read (client + server)",
		med(raw[0]), med(raw[1]), rawTotal, med(raw[2]))
	fmt.Fprintf(out, "| %-44s | %6.1f KiB | %6.1f KiB | %6.1f KiB | %10.1f |\n", "go-eventsource (ours), beyond the raw GET",
		med(our[0])-med(raw[0]), med(our[1])-med(raw[1]), ourTotal-rawTotal, med(our[2])-med(raw[2]))
	fmt.Fprintln(out)
	return nil
}

// idleRaw returns the footprint of n GETs whose goroutines block in
// resp.Body.Read, and then ends them.
func idleRaw(n int) (footprint, error) {
	release := make(chan struct{})
	srv := idleServer(release)
	defer srv.Close()
	hc, closeIdle := newClient()
	defer closeIdle()

	var ready, done sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			resp, err := hc.Get(srv.URL)
			ready.Done()
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			buf := make([]byte, 512)
			for {
				if _, err := resp.Body.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	ready.Wait()
	fp := snapshot()
	close(release)
	done.Wait()
	close(errs)
	return fp, <-errs
}

// idleOurs returns the footprint of n of our EventSources connected to an
// idle stream, and then ends them.
func idleOurs(n int) (footprint, error) {
	srv := idleServer(nil)
	defer srv.Close()
	hc, closeIdle := newClient()
	defer closeIdle()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var opened, done sync.WaitGroup
	errs := make(chan error, n)
	opened.Add(n)
	for range n {
		done.Add(1)
		go func() {
			defer done.Done()
			var once sync.Once
			open := func() { once.Do(opened.Done) }
			if err := oursWatch(ctx, hc, srv.URL, open, nil); err != nil {
				errs <- err
			}
			open() // a client that failed must not hold up the others
		}()
	}
	opened.Wait()
	fp := snapshot()
	cancel()
	done.Wait()
	close(errs)
	return fp, <-errs
}

// benchLimit sends one line of lineSize bytes to our EventSource configured
// with WithMaxEventSize(max), and reports how Run ended and the peak of
// HeapInuse while it ran, sampled every 100 µs, and all it allocated (an
// upper bound of the peak's growth that sampling cannot miss).
func benchLimit(out io.Writer, lineSize, limit int) error {
	ss := &limitServer{size: lineSize}
	srv := httptest.NewServer(ss)
	defer srv.Close()
	hc, closeIdle := newClient()
	defer closeIdle()

	debug.FreeOSMemory()
	base := snapshot().heap
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := make(chan struct{})
	peak := make(chan uint64, 1)
	go func() {
		var m runtime.MemStats
		var top uint64
		for {
			runtime.ReadMemStats(&m)
			top = max(top, m.HeapInuse)
			select {
			case <-stop:
				peak <- top
				return
			default:
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	tooLarge, err := oursLimit(ctx, hc, srv.URL, limit)
	elapsed := time.Since(start)
	close(stop)
	top := <-peak
	runtime.ReadMemStats(&after)

	verdict := "ok"
	if !tooLarge {
		verdict = "WRONG: Run did not end with ErrEventTooLarge"
	}
	mib := func(b uint64) string { return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20)) }
	fmt.Fprintf(out, "%s line against WithMaxEventSize(%s): %s\n", size(lineSize), size(limit), verdict)
	fmt.Fprintf(out, "- Run returned after %s: %v\n", elapsed.Round(time.Millisecond), err)
	fmt.Fprintf(out, "- the server wrote %s before the client hung up; requests: %d\n", mib(uint64(ss.written.Load())), ss.requests.Load())
	fmt.Fprintf(out, "- peak HeapInuse %s (%s before the run, so +%s); %s allocated in all during the run, client and server\n\n",
		mib(top), mib(base), mib(top-min(top, base)), mib(after.TotalAlloc-before.TotalAlloc))
	return nil
}

// A limitServer sends a single data line of size bytes, generated as it
// goes, to its first request and 204 No Content to any later one.
type limitServer struct {
	size     int
	written  atomic.Int64 // bytes of the line sent so far
	requests atomic.Int32
}

func (ls *limitServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if ls.requests.Add(1) > 1 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	if _, err := io.WriteString(w, "data: "); err != nil {
		return
	}
	for left := ls.size; left > 0; left -= len(chunk) {
		n, err := w.Write(chunk[:min(left, len(chunk))])
		ls.written.Add(int64(n))
		if err != nil || rc.Flush() != nil {
			return
		}
	}
	io.WriteString(w, "\n\n")
}
