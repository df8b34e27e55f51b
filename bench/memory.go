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

// benchIdle opens n idle streams with raw GETs that block in Read, then n
// with our EventSource, and prints what each of ours costs beyond a raw one.
// Both sets include the in-process server's side of each connection, which
// the difference cancels out.
func benchIdle(out io.Writer, n int) error {
	debug.FreeOSMemory()
	empty := snapshot()

	raw, err := idleRaw(n)
	if err != nil {
		return fmt.Errorf("raw GETs: %w", err)
	}
	our, err := idleOurs(n)
	if err != nil {
		return fmt.Errorf("our client: %w", err)
	}
	per := func(a, b uint64) string {
		return fmt.Sprintf("%.1f KiB", (float64(a)-float64(b))/float64(n)/1024)
	}
	fmt.Fprintf(out, "| %-44s | %10s | %10s | %10s | %10s |\n", fmt.Sprintf("%d idle streams, per stream", n), "heap", "stacks", "total", "goroutines")
	fmt.Fprintf(out, "|%s|-----------:|-----------:|-----------:|-----------:|\n", "----------------------------------------------")
	fmt.Fprintf(out, "| %-44s | %10s | %10s | %10s | %10.1f |\n", "raw GET blocked in Read (client + server)",
		per(raw.heap, empty.heap), per(raw.stack, empty.stack), per(raw.heap+raw.stack, empty.heap+empty.stack),
		float64(raw.goroutines-empty.goroutines)/float64(n))
	fmt.Fprintf(out, "| %-44s | %10s | %10s | %10s | %10.1f |\n", "go-eventsource (ours), beyond the raw GET",
		per(our.heap, raw.heap), per(our.stack, raw.stack), per(our.heap+our.stack, raw.heap+raw.stack),
		float64(our.goroutines-raw.goroutines)/float64(n))
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
