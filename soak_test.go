package eventsource_test

import (
	"flag"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

import "github.com/stretchr/testify/assert"
import "github.com/stretchr/testify/require"
import "go.uber.org/goleak"

import "github.com/go-eventsource/eventsource"
import est "github.com/go-eventsource/eventsource/eventsourcetest"

var soak = flag.Duration("soak", 0, "run TestSoak for this long, e.g. -soak=30s, instead of a fixed 300 reconnections")

// TestSoak reconnects thousands of times (with -soak; 300 times by
// default), through the ways a connection ends: a clean end, a drop between
// events or inside one, a 503 with Retry-After, no response at all, a cut
// event after a comment and a "retry:" field, a byte-by-byte event. The
// server resumes after the Last-Event-ID; every event must arrive once, in
// order, across all of them. Afterwards no goroutine of the run is left, and
// the goroutine count and the live heap are what they were before, within a
// small margin. With -soak it logs its progress every 5 s.
//
// It does not call t.Parallel: other tests would change what it counts.
func TestSoak(t *testing.T) {
	const reconnections = 300
	ev := func(i int) string { return fmt.Sprintf("id: %d\ndata: event %d\n\n", i, i) }
	var conns atomic.Int64
	srv := newServer(t, est.Script{est.Func(func(req est.Request) est.Script {
		next := 1
		if req.LastEventID != "" {
			n, err := strconv.Atoi(req.LastEventID)
			if err != nil {
				return est.Script{est.Status(http.StatusBadRequest)}
			}
			next = n + 1
		}
		switch conns.Add(1) % 7 {
		case 0: // a clean end
			return est.Script{est.Raw(ev(next) + ev(next+1))}
		case 1: // a drop between events
			return est.Script{est.Raw(ev(next)), est.Drop()}
		case 2: // a drop inside an event
			return est.Script{est.Raw(ev(next) + ev(next + 1)[:9]), est.Drop()}
		case 3:
			return est.Script{est.Status(http.StatusServiceUnavailable, "Retry-After", "1")}
		case 4: // no response
			return est.Script{est.Drop()}
		case 5: // a cut event after a comment and "retry:"
			return est.Script{est.Raw(": heartbeat\nretry: 0\n" + ev(next) + "id: cut\n")}
		default: // byte by byte, then a cut event
			return est.Script{est.Drip(est.Raw(ev(next))), est.Raw("data: cut")}
		}
	})})

	clock := eventsource.NewFakeClock(true)
	es := newES(t, srv, eventsource.WithRetry(0), eventsource.WithClock(clock)) // at once, and the backoff waits too
	last := 0
	var errs int
	es.OnEvent(func(ev eventsource.Event) {
		if want := strconv.Itoa(last + 1); ev.ID != want || ev.Data != "event "+want {
			t.Errorf("got event %q %q after %d", ev.ID, ev.Data, last)
			es.Close()
		}
		last++
	})
	start := time.Now()
	lastLog := start
	es.OnError(func(error) {
		errs++
		srv.ClearRequests() // the server's record would grow with the reconnections
		now := time.Now()
		if *soak == 0 && errs >= reconnections || *soak > 0 && now.Sub(start) >= *soak {
			es.Close()
		}
		if now.Sub(lastLog) >= 5*time.Second {
			lastLog = now
			t.Logf("%v: %d reconnections, %d events, %d goroutines", now.Sub(start).Round(time.Second), errs, last, runtime.NumGoroutine())
		}
	})

	goroutines, heap := settled()
	ignore := goleak.IgnoreCurrent()
	// The clock holds at most 4096 timers that nobody received.
	stop, drained := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case <-clock.Timers():
			case <-stop:
				return
			}
		}
	}()
	var err error
	select {
	case err = <-run(t, es):
	case <-time.After(*soak + 5*time.Second):
		t.Fatal("Run did not return")
	}
	close(stop)
	<-drained
	require.NoError(t, err)
	srv.Client().CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
	goroutinesAfter, heapAfter := settled()

	elapsed := time.Since(start)
	t.Logf("%d reconnections, %d events in %v (%.0f/s); goroutines %d -> %d; live heap %d -> %d KiB",
		errs, last, elapsed.Round(time.Millisecond), float64(errs)/elapsed.Seconds(), goroutines, goroutinesAfter, heap>>10, heapAfter>>10)
	assert.GreaterOrEqual(t, errs, reconnections)
	assert.GreaterOrEqual(t, last, reconnections/2)
	stats := es.Stats()
	assert.Equal(t, int64(last), stats.Events)
	assert.Equal(t, int64(errs), stats.Reconnections+1, "each failure but the last was followed by a reconnection")
	assert.LessOrEqual(t, goroutinesAfter, goroutines+2, "goroutines")
	// The fake clock keeps the duration of every timer, 8 bytes each.
	clockBytes := uint64(16 * len(clock.Durations()))
	assert.Less(t, heapAfter, heap+1<<20+clockBytes, "live heap")
}

// settled returns the number of goroutines and the live heap after a GC.
func settled() (goroutines int, heap uint64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return runtime.NumGoroutine(), m.HeapAlloc
}
