package eventsource_test

import (
	"net/http"
	"testing"

	"github.com/go-eventsource/eventsource"
)

// BenchmarkEventSource measures the whole client on loopback: a server
// writes each workload of benchWorkloads once, and the EventSource reads it,
// counting the events in OnEvent and closing on the last.
func BenchmarkEventSource(b *testing.B) {
	for _, w := range benchWorkloads() {
		b.Run(w.name, func(b *testing.B) {
			srv := newServer(b, func(rw http.ResponseWriter, r *http.Request) {
				startStream(rw)
				_, _ = rw.Write(w.in)
				rw.(http.Flusher).Flush()
				<-r.Context().Done()
			})
			client := srv.Client()
			b.ReportAllocs()
			b.SetBytes(int64(len(w.in)))
			for b.Loop() {
				es, err := eventsource.New(srv.URL, eventsource.WithHTTPClient(client), eventsource.WithMaxRetries(0))
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				es.OnEvent(func(eventsource.Event) {
					if n++; n == w.events {
						es.Close()
					}
				})
				if err := es.Run(b.Context()); err != nil {
					b.Fatal(err)
				}
				if n != w.events {
					b.Fatalf("got %d events, want %d", n, w.events)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*float64(w.events)), "ns/event")
		})
	}
}
