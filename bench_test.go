package eventsource_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

import "github.com/go-eventsource/eventsource"
import est "github.com/go-eventsource/eventsource/eventsourcetest"

// A benchWorkload is a whole event stream held in memory and the number of
// events a Decoder finds in it.
type benchWorkload struct {
	name   string
	in     []byte
	events int
}

// benchWorkloadSize is the least size of each workload.
const benchWorkloadSize = 4 << 20

// benchWorkloads returns the Decoder workloads, the same bytes on every call:
//
//   - llm: token streams, `data: {"token":…}`, about 60 bytes an event
//   - ticker: `event: quote`, an increasing `id:` and about 150 bytes of JSON
//   - large: one 64 KiB data line an event
//   - multiline: 20 data lines an event
//   - crlf: ticker with CRLF line ends
//   - heartbeat: llm with a `: ping` comment before each event
func benchWorkloads() []benchWorkload {
	words := []string{" the", " quick", " brown", " fox", " jumps", " over", " a", " lazy", " dog", ".", "\\n", " 42"}
	llm := func(b *bytes.Buffer, i int) {
		fmt.Fprintf(b, "data: {\"id\":\"chatcmpl-%08d\",\"token\":\"%s\",\"n\":%d}\n\n", i/64, words[i%len(words)], i)
	}
	symbols := []string{"AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "TSLA", "META"}
	ticker := func(eol string) func(b *bytes.Buffer, i int) {
		return func(b *bytes.Buffer, i int) {
			price := 10000 + (i*7919)%5000
			fmt.Fprintf(b, "event: quote%sid: %d%s", eol, i+1, eol)
			fmt.Fprintf(b, "data: {\"symbol\":\"%s\",\"bid\":%d.%02d,\"ask\":%d.%02d,\"last\":%d.%02d,\"size\":%d,\"volume\":%d,\"exchange\":\"XNAS\",\"currency\":\"USD\",\"ts\":\"2025-01-02T15:04:%02d.%03dZ\"}%s%s",
				symbols[i%len(symbols)], price/100, price%100, (price+3)/100, (price+3)%100, (price+1)/100, (price+1)%100,
				100+i%900, 1000000+i*37, i/1000%60, i%1000, eol, eol)
		}
	}
	blob := strings.Repeat("abcdefghijklmnopqrstuvwxyz012345", 64<<10/32)
	large := func(b *bytes.Buffer, i int) {
		head := fmt.Sprintf(`{"n":%d,"blob":"`, i)
		b.WriteString("data: " + head)
		b.WriteString(blob[:len(blob)-len(head)-len(`"}`)]) // the value is 64 KiB
		b.WriteString("\"}\n\n")
	}
	multiline := func(b *bytes.Buffer, i int) {
		for l := range 20 {
			fmt.Fprintf(b, "data: line %02d of event %d, lorem ipsum dolor sit amet\n", l, i)
		}
		b.WriteString("\n")
	}
	heartbeat := func(b *bytes.Buffer, i int) {
		b.WriteString(": ping\n")
		llm(b, i)
	}
	return []benchWorkload{
		benchGenerate("llm", llm),
		benchGenerate("ticker", ticker("\n")),
		benchGenerate("large", large),
		benchGenerate("multiline", multiline),
		benchGenerate("crlf", ticker("\r\n")),
		benchGenerate("heartbeat", heartbeat),
	}
}

// benchGenerate appends event i, for i = 0, 1, …, until the stream holds
// benchWorkloadSize bytes.
func benchGenerate(name string, event func(b *bytes.Buffer, i int)) benchWorkload {
	var b bytes.Buffer
	b.Grow(benchWorkloadSize + 128<<10)
	n := 0
	for b.Len() < benchWorkloadSize {
		event(&b, n)
		n++
	}
	return benchWorkload{name: name, in: b.Bytes(), events: n}
}

func BenchmarkDecoder(b *testing.B) {
	for _, w := range benchWorkloads() {
		b.Run(w.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(w.in)))
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			mallocs := ms.Mallocs
			for b.Loop() {
				d := eventsource.NewDecoder(bytes.NewReader(w.in))
				n := 0
				for {
					_, err := d.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != w.events {
					b.Fatalf("decoded %d events, want %d", n, w.events)
				}
			}
			runtime.ReadMemStats(&ms)
			events := float64(b.N) * float64(w.events)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
			b.ReportMetric(float64(ms.Mallocs-mallocs)/events, "allocs/event")
		})
	}
}

// BenchmarkEventSource measures the whole client on loopback: a server
// writes each workload of benchWorkloads once, and the EventSource reads it,
// counting the events in OnEvent and closing on the last.
func BenchmarkEventSource(b *testing.B) {
	for _, w := range benchWorkloads() {
		b.Run(w.name, func(b *testing.B) {
			srv := newServer(b, est.Script{est.Raw(string(w.in)), est.Stall()})
			benchEventSource(b, w, srv.URL, srv.Client())
		})
	}
}

// BenchmarkEventSourceBody measures what the client costs beyond the
// network: the EventSource reads each workload from a response body in
// memory, through OnEvent, so that neither a server nor the loopback
// connection shares the time.
func BenchmarkEventSourceBody(b *testing.B) {
	for _, w := range benchWorkloads() {
		b.Run(w.name, func(b *testing.B) {
			client := &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
				return &http.Response{
					StatusCode: http.StatusOK,
					Header:     http.Header{"Content-Type": {"text/event-stream"}},
					Body:       io.NopCloser(bytes.NewReader(w.in)),
					Request:    req,
				}, nil
			})}
			benchEventSource(b, w, "http://stream.test/", client)
		})
	}
}

// benchEventSource runs an EventSource on url through client once per
// iteration, counting w's events in OnEvent and closing on the last.
func benchEventSource(b *testing.B, w benchWorkload, url string, client *http.Client) {
	b.ReportAllocs()
	b.SetBytes(int64(len(w.in)))
	for b.Loop() {
		es, err := eventsource.New(url, eventsource.WithHTTPClient(client), eventsource.WithMaxRetries(0))
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
}

// BenchmarkDecoderStreams measures the Decoder as a process with many
// busy streams runs it: 1,000 Decoders take turns, each reading a batch of
// 100 small events (about 100 bytes, with an ID and a type) and then waiting
// for the next batch, so that each batch finds the Decoder's state and
// buffers gone from the cache. BenchmarkDecoder measures one stream.
func BenchmarkDecoderStreams(b *testing.B) {
	const streams, batch = 1000, 100
	var text bytes.Buffer
	for i := range batch {
		fmt.Fprintf(&text, "id: %d\nevent: tick\ndata: {\"n\":%d,\"s\":417,\"t\":1764762000123456789,\"p\":\"abcdefghijklmnopqrstuv\"}\n\n", 1000+i, 1000+i)
	}
	readers := make([]*batchReader, streams)
	decoders := make([]*eventsource.Decoder, streams)
	for i := range decoders {
		readers[i] = &batchReader{}
		decoders[i] = eventsource.NewDecoder(readers[i])
	}
	b.ReportAllocs()
	b.SetBytes(int64(streams * text.Len()))
	for b.Loop() {
		for i, d := range decoders {
			readers[i].rest = text.Bytes()
			for range batch {
				ev, err := d.Next()
				if err != nil || ev.Type != "tick" {
					b.Fatalf("stream %d: %+v, %v", i, ev, err)
				}
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*streams*batch), "ns/event")
}

// A batchReader reads rest, and then reports that it has nothing yet.
type batchReader struct{ rest []byte }

func (r *batchReader) Read(p []byte) (int, error) {
	if len(r.rest) == 0 {
		return 0, errors.New("read past the batch")
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}
