// This file holds the counters behind EventSource.Stats.

package eventsource

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of an EventSource's counters, for metrics.
type Stats struct {
	Connections   int64         // requests made: the first, and each reconnection
	Reconnections int64         // reconnections started after a failure or a drop
	Events        int64         // events dispatched; inside a callback, the event being delivered included
	Bytes         int64         // bytes of stream bodies read
	LastError     error         // the last error that reached OnError, or nil
	RetryDelay    time.Duration // the wait before the pending or last reconnection
}

// Stats returns a snapshot of the counters. It is safe from any goroutine,
// at any time.
func (es *EventSource) Stats() Stats {
	return es.stats.snapshot()
}

// stats holds the counters behind [EventSource.Stats].
type stats struct {
	connections   atomic.Int64
	reconnections atomic.Int64
	events        atomic.Int64
	bytes         atomic.Int64

	mu         sync.Mutex // guards lastError, retryDelay
	lastError  error
	retryDelay time.Duration
}

func (s *stats) setError(err error, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastError, s.retryDelay = err, delay
}

func (s *stats) snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Connections:   s.connections.Load(),
		Reconnections: s.reconnections.Load(),
		Events:        s.events.Load(),
		Bytes:         s.bytes.Load(),
		LastError:     s.lastError,
		RetryDelay:    s.retryDelay,
	}
}
