package eventsource

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

import "github.com/stretchr/testify/require"

// firedTimer is a timer that fired when it was made: a reconnection wait
// passes at once.
type firedTimer struct{}

func (firedTimer) Stop() bool               { return false }
func (firedTimer) Reset(time.Duration) bool { return false }

// TestCloseBeforeAttempt closes the EventSource in the one gap that neither
// an attempt's context nor the wait between attempts covers: after the
// wait, before the next attempt registers. Run has no context of its own
// that Close could cancel there, so the attempt must see the Close when it
// registers, and send no request.
func TestCloseBeforeAttempt(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: 1\n\n") // and the connection drops
	}))
	defer srv.Close()
	es, err := New(srv.URL, WithHTTPClient(srv.Client()))
	require.NoError(t, err)
	es.cfg.afterFunc = func(_ time.Duration, f func()) timer {
		f()
		return firedTimer{}
	}
	now := es.cfg.now
	es.cfg.now = func() time.Time {
		// The retry loop reads the clock right after it counts a
		// reconnection, and right before the attempt starts.
		if es.stats.reconnections.Load() == 1 {
			es.Close()
		}
		return now()
	}
	require.NoError(t, es.Run(context.Background()))
	require.Equal(t, int32(1), requests.Load(), "requests after Close")
	require.Equal(t, Closed, es.ReadyState())
}
