// Package eventsource implements a client for Server-Sent Events (the WHATWG
// EventSource).
//
// There are two ways in. For a long-lived feed (a ticker, a change feed,
// notifications), [New] makes an [EventSource] and [EventSource.Run] connects,
// dispatches each event to the callbacks, and reconnects when the connection
// drops, sending the Last-Event-ID header so the server can resume:
//
//	es, err := eventsource.New("https://example.com/events")
//	if err != nil { … }
//	es.OnMessage(func(ev eventsource.Event) { fmt.Println(ev.Data) })
//	err = es.Run(ctx) // blocks until ctx ends, Close, or a final error
//
// For a one-shot stream, such as an LLM API that answers a POST with a
// stream ending in "data: [DONE]", make the request yourself and read the
// body with [NewDecoder]. An EventSource would reconnect when that stream
// ends, and send the POST again.
//
// The API follows the browser's:
//
//	JavaScript                          Go
//	new EventSource(url)                eventsource.New(url, opts...) then es.Run(ctx)
//	es.onopen = fn                      es.OnOpen(fn)
//	es.onmessage = fn                   es.OnMessage(fn)
//	es.onerror = fn                     es.OnError(fn)
//	es.addEventListener(type, fn)       remove := es.AddEventListener(type, fn)
//	es.removeEventListener(type, fn)    remove()
//	es.close()                          es.Close()
//	es.readyState                       es.ReadyState()
//	es.url                              es.URL()
//	event.data, event.lastEventId       ev.Data, ev.ID
//
// # Reconnection
//
// Network errors, a clean end of stream, [ErrIdleTimeout], and the statuses
// 5xx, 408 and 429 are retried; a Retry-After header is honoured as the
// least wait, up to an hour ([WithMaxRetryAfter]). A 204 ([ErrNoContent]), a
// 1xx as the final response, a response that is not
// text/event-stream ([ErrContentType]), an event larger than the limit
// ([ErrEventTooLarge]) and any other status ([*StatusError]) end the stream:
// the server would answer the same way again. [WithRetryPolicy] changes that.
//
// The wait before reconnection n (failures in a row, from 0) is
// min(base×2ⁿ, 30s) plus a random jitter of up to half of that, where base is
// the reconnection time: 3s, or [WithRetry], or what the server's "retry:"
// field says. A connection that delivers an event, or stays open 60 s,
// resets n. Whatever the server does, attempts are spaced: three may start
// at once, then one per 250 ms. A server that answers "retry: 0", one event
// and a close, again and again, gets four connections a second; a
// "retry: 0" stream that drops now and then still reconnects at once. Retries never stop by themselves;
// [WithMaxRetries] sets a limit. Every failed attempt and every dropped
// connection reaches [EventSource.OnError].
//
// # Limits
//
// A line, and the data of one event, may be at most 16 MiB
// ([WithMaxEventSize], [Decoder.SetMaxEventSize]); a longer one is
// [ErrEventTooLarge], and the client never holds more than about that much
// per connection, whatever the server sends; between events, a stream holds
// its last event ID and small buffers, whatever types, IDs and comments came
// before. Invalid UTF-8 becomes U+FFFD. The body of an error response is
// read for [StatusError.Body] for 5 s at most.
//
// # Resumable requests
//
// Streams of LLM and MCP APIs resume with a request that differs from the
// first: [WithRequestHook] may change the method, the URL, the headers and
// the body of each attempt; [WithResponseHook] sees every response before
// its events, reads headers such as Mcp-Session-Id, and may reject it.
// [EventSource.Reconnect] drops a connection on demand, from a callback
// too, when the events say the server is in trouble; an error wrapping
// [ErrRetryNow] reconnects without the backoff.
//
// # Compression
//
// net/http asks for gzip and decompresses it, unless user code set
// Accept-Encoding itself or the transport has DisableCompression; the
// client then decompresses a "Content-Encoding: gzip" stream itself, each
// event as it arrives. The size limit counts decompressed bytes. A stream
// in another encoding ends with [ErrContentType].
//
// # Concurrency
//
// Run blocks; the goroutine that calls it reads the stream and runs every
// callback, one at a time, in stream order. Run starts no goroutine of its
// own that outlives it. Callbacks and listeners may be set, added and
// removed from any goroutine at any time, also while Run runs and from
// inside a callback. [EventSource.Close], [EventSource.Reconnect],
// [EventSource.ReadyState], [EventSource.LastEventID], [EventSource.Stats]
// and [EventSource.URL] are safe from any goroutine.
package eventsource
