// This file holds the callbacks and listeners of an EventSource: their
// copy-on-write registry, and the dispatch of each event to them.

package eventsource

import (
	"slices"
	"sync/atomic"
)

// handlers is one immutable snapshot of the callbacks and listeners. A
// dispatch uses the snapshot it loaded, whatever changes meanwhile.
type handlers struct {
	onOpen    func()
	onMessage func(Event)
	onError   func(error)
	onEvent   func(Event)
	onComment func(string)
	listeners []typeListeners // in the order their types were first added
}

type typeListeners struct {
	eventType string
	fns       []*listener // in the order they were added
}

// listener is a pointer so that remove finds exactly the one it added.
// removed is set by remove before the snapshot changes, and checked just
// before each call, so that a dispatch that loaded an older snapshot does
// not call it after remove returned.
type listener struct {
	fn      func(Event)
	removed atomic.Bool
}

// OnOpen sets the function called each time a connection opens, before its
// first event. A nil fn removes it.
func (es *EventSource) OnOpen(fn func()) {
	es.update(func(h *handlers) { h.onOpen = fn })
}

// OnMessage sets the function called for each event of type "message": the
// events whose block had no "event:" field. A nil fn removes it.
func (es *EventSource) OnMessage(fn func(Event)) {
	es.update(func(h *handlers) { h.onMessage = fn })
}

// OnError sets the function called for every failed attempt to connect and
// every dropped connection (a clean end of stream included), with the
// reason. During fn, [EventSource.ReadyState] is Connecting when a
// reconnection follows and Closed when none does, and
// [EventSource.Stats] tells the wait before that reconnection. It is not
// called for Close or the end of Run's context. A nil fn removes it.
//
// An event of type "error" sent by the server is an ordinary event: listen
// for it with AddEventListener("error", …).
func (es *EventSource) OnError(fn func(error)) {
	es.update(func(h *handlers) { h.onError = fn })
}

// OnEvent sets the function called for every event, whatever its type,
// before OnMessage and the listeners. A nil fn removes it.
func (es *EventSource) OnEvent(fn func(Event)) {
	es.update(func(h *handlers) { h.onEvent = fn })
}

// OnComment sets the function called for each comment line of the stream
// (heartbeats are often comments), with the text after the ':' and one
// leading space removed. A nil fn removes it.
func (es *EventSource) OnComment(fn func(comment string)) {
	es.update(func(h *handlers) { h.onComment = fn })
}

// AddEventListener adds fn to the functions called for events of
// eventType, after those added before. Adding the same fn twice calls it
// twice. The returned function removes this listener; it is idempotent and
// safe from any goroutine, also from inside a callback. Once it returns, fn
// is never called again; a call that Run's goroutine had already begun may
// still be running when it returns from another goroutine.
func (es *EventSource) AddEventListener(eventType string, fn func(Event)) (remove func()) {
	l := &listener{fn: fn}
	es.update(func(h *handlers) {
		// The old snapshot may be dispatching: copy what changes.
		h.listeners = slices.Clone(h.listeners)
		for i, tl := range h.listeners {
			if tl.eventType == eventType {
				h.listeners[i].fns = append(slices.Clip(tl.fns), l)
				return
			}
		}
		h.listeners = append(h.listeners, typeListeners{eventType, []*listener{l}})
	})
	return func() { es.removeListener(eventType, l) }
}

func (es *EventSource) removeListener(eventType string, l *listener) {
	l.removed.Store(true)
	es.update(func(h *handlers) {
		for i, tl := range h.listeners {
			if tl.eventType != eventType {
				continue
			}
			if j := slices.Index(tl.fns, l); j >= 0 {
				h.listeners = slices.Clone(h.listeners)
				h.listeners[i].fns = slices.Delete(slices.Clone(tl.fns), j, j+1)
			}
			return
		}
	})
}

// update replaces the handlers with a changed copy. The slices in the copy
// are shared with the old snapshot: change must copy any it modifies.
func (es *EventSource) update(change func(*handlers)) {
	es.hmu.Lock()
	defer es.hmu.Unlock()
	h := *es.handlers.Load()
	change(&h)
	es.handlers.Store(&h)
}

// dispatch runs the callbacks for ev, in the order the package promises,
// and checks before each whether they must stop (see stopped), so that
// none starts after a Close made from a callback. It reports whether they
// may go on.
func (es *EventSource) dispatch(ev *Event, runDone <-chan struct{}) bool {
	h := es.handlers.Load()
	if h.onEvent != nil {
		if es.stopped(runDone) {
			return false
		}
		h.onEvent(*ev)
	}
	if ev.Type == "message" && h.onMessage != nil {
		if es.stopped(runDone) {
			return false
		}
		h.onMessage(*ev)
	}
	for i := range h.listeners {
		if h.listeners[i].eventType != ev.Type {
			continue
		}
		for _, l := range h.listeners[i].fns {
			if es.stopped(runDone) {
				return false
			}
			if !l.removed.Load() {
				l.fn(*ev)
			}
		}
		break
	}
	if es.sink != nil && !es.stopped(runDone) && !es.sink(*ev) {
		es.Close()
	}
	return !es.stopped(runDone)
}

func isDone(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}
