package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// latencyGap is the pause between two events of the latency stream: long
// enough that the client is idle, blocked in Read, when each event arrives.
const latencyGap = 500 * time.Microsecond

// A latencySubject reads the latency stream at url until it has n events,
// calling got(i) as soon as event i is in its hands.
type latencySubject struct {
	name string
	run  func(ctx context.Context, hc *http.Client, url string, n int, got func(i int)) error
}

var latencySubjects = []latencySubject{
	{"go-eventsource (ours), OnEvent", oursLatency},
	{"raw Read of the body", rawLatency},
}

// benchLatency measures, for each subject, the delay from the server's
// flush of an event to the moment the subject has it, over reps interleaved
// runs of n events each, and prints the median and the 99th percentile.
func benchLatency(out io.Writer, n, reps int) error {
	delays := make([][]time.Duration, len(latencySubjects))
	for rep := range reps {
		for k := range latencySubjects {
			j := (k + rep) % len(latencySubjects)
			d, err := latencyRun(latencySubjects[j], n)
			if err != nil {
				return fmt.Errorf("%s: %w", latencySubjects[j].name, err)
			}
			delays[j] = append(delays[j], d...)
		}
	}
	fmt.Fprintf(out, "| %-32s | %6s | %10s | %10s | %10s |\n", "latency: flush to callback", "events", "median", "p99", "max")
	fmt.Fprintf(out, "|%s|-------:|-----------:|-----------:|-----------:|\n", "----------------------------------")
	for j, s := range latencySubjects {
		d := delays[j]
		slices.Sort(d)
		fmt.Fprintf(out, "| %-32s | %6d | %10s | %10s | %10s |\n", s.name, len(d),
			d[len(d)/2].Round(100*time.Nanosecond), d[len(d)*99/100].Round(100*time.Nanosecond),
			d[len(d)-1].Round(100*time.Nanosecond))
	}
	fmt.Fprintln(out)
	return nil
}

// latencyRun serves n events, "data: i", one every latencyGap, to one
// subject, and returns the delay of each.
func latencyRun(subject latencySubject, n int) ([]time.Duration, error) {
	base := time.Now()
	sent := make([]atomic.Int64, n) // nanoseconds since base at each flush
	recv := make([]time.Duration, n)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		if rc.Flush() != nil {
			return
		}
		var b []byte
		for i := range n {
			time.Sleep(latencyGap)
			b = append(strconv.AppendInt(append(b[:0], "data: "...), int64(i), 10), "\n\n"...)
			if _, err := w.Write(b); err != nil {
				return
			}
			sent[i].Store(int64(time.Since(base)))
			if rc.Flush() != nil {
				return
			}
		}
		<-r.Context().Done() // the subject hangs up once it has every event
	}))
	defer srv.Close()
	hc, release := newClient()
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := subject.run(ctx, hc, srv.URL, n, func(i int) { recv[i] = time.Since(base) }); err != nil {
		return nil, err
	}
	d := make([]time.Duration, n)
	for i := range d {
		d[i] = recv[i] - time.Duration(sent[i].Load())
	}
	return d, nil
}

// oursLatency reads the latency stream with our EventSource and stops it
// with its context once it has n events.
func oursLatency(ctx context.Context, hc *http.Client, url string, n int, got func(i int)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	i := 0
	var bad error
	err := oursWatch(ctx, hc, url, nil, func(data string) {
		if i < n {
			got(i)
			if data != strconv.Itoa(i) && bad == nil {
				bad = fmt.Errorf("event %d has data %q", i, data)
			}
		}
		if i++; i == n {
			cancel()
		}
	})
	if err == nil && i < n {
		err = fmt.Errorf("only %d of %d events", i, n)
	}
	if err == nil {
		err = bad
	}
	return err
}

// rawLatency reads the latency stream's body with plain Read calls into a
// 4 KiB buffer; an event is in hand when the Read that returns its blank
// line returns. It is the floor for oursLatency.
func rawLatency(ctx context.Context, hc *http.Client, url string, n int, got func(i int)) error {
	resp, err := get(ctx, hc, url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf := make([]byte, 4096)
	i := 0
	var last byte
	for i < n {
		k, err := resp.Body.Read(buf)
		b := buf[:k]
		if k > 0 && last == '\n' && b[0] == '\n' {
			got(i)
			i++
			b = b[1:]
		}
		for j := bytes.Index(b, []byte("\n\n")); j >= 0 && i < n; j = bytes.Index(b, []byte("\n\n")) {
			got(i)
			i++
			b = b[j+2:]
		}
		if k > 0 {
			last = buf[k-1]
		}
		if err != nil {
			return fmt.Errorf("after %d of %d events: %w", i, n, err)
		}
	}
	return nil
}
