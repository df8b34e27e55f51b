package eventsource_test

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

import "github.com/stretchr/testify/assert"
import "github.com/stretchr/testify/require"

import "github.com/go-eventsource/eventsource"
import est "github.com/go-eventsource/eventsource/eventsourcetest"

// TestStats proves the counters that a metrics exporter polls.
func TestStats(t *testing.T) {
	t.Parallel()
	body := "data: a\n\ndata: b\n\n"
	srv := newServer(t,
		est.Script{est.Raw(body)},
		est.Script{est.Status(http.StatusServiceUnavailable), est.Raw("busy\n")},
		est.Script{est.Data("c"), est.Stall()},
	)
	es := newES(t, srv, fastRetry(), zeroJitter, eventsource.WithRetry(time.Second))
	assert.Equal(t, eventsource.Stats{}, es.Stats())
	var delays []time.Duration
	es.OnError(func(error) { delays = append(delays, es.Stats().RetryDelay) })
	es.OnMessage(func(ev eventsource.Event) {
		if ev.Data == "c" {
			es.Close()
		}
	})
	require.NoError(t, recv(t, run(t, es)))

	st := es.Stats()
	assert.Equal(t, int64(3), st.Connections)
	assert.Equal(t, int64(2), st.Reconnections)
	assert.Equal(t, int64(3), st.Events)
	assert.Equal(t, int64(len(body)+len("data: c\n\n")), st.Bytes)
	var status *eventsource.StatusError
	require.ErrorAs(t, st.LastError, &status)
	assert.Equal(t, http.StatusServiceUnavailable, status.StatusCode)
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second}, delays, "RetryDelay during OnError")
}

// TestStatsEventsInCallback: Stats().Events, read inside a callback,
// counts the event being delivered, also for the events of the first read.
func TestStatsEventsInCallback(t *testing.T) {
	t.Parallel()
	srv := newServer(t, est.Script{est.AutoFlush(false), est.Repeat(50, est.Data("x")), est.Flush(), est.Stall()})
	es := newES(t, srv)
	var mu sync.Mutex
	var counts []int64
	n := int64(0)
	es.OnEvent(func(eventsource.Event) {
		n++
		mu.Lock()
		counts = append(counts, es.Stats().Events-n)
		mu.Unlock()
		if n == 50 {
			es.Close()
		}
	})
	require.NoError(t, recv(t, run(t, es)))
	assert.Equal(t, make([]int64, 50), counts, "Stats().Events minus the events delivered so far")
}
