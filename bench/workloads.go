package main

import (
	"fmt"
	"strconv"
	"strings"
)

// An event is what a client should report for one dispatched event, in the
// terms of the WHATWG processing model: Type is "message" when the stream
// named none, and ID is the last event ID in effect at the dispatch.
type event struct {
	Type, Data, ID string
}

// A workload is an event stream generated in memory, together with what the
// generator knows it wrote: the number of events, the number of blank lines
// (which the parse floor counts) and the expected events themselves.
type workload struct {
	name   string
	about  string
	wire   []byte // the stream, as a server would send it
	events int    // events a conforming client dispatches
	blanks int    // blank lines in wire, each of which ends an event or a comment block

	// gen writes event i (and whatever precedes it on the wire) to b and
	// returns the grown slice and the event that a client should report.
	// It is a pure function of i, so the expected events can be replayed
	// without keeping them.
	gen func(b []byte, i int) ([]byte, event)
	// blanksPer is the number of blank lines gen writes per event.
	blanksPer int
}

// expected returns the event that a conforming client reports as the i-th.
func (w *workload) expected(i int) event {
	_, ev := w.gen(nil, i)
	return ev
}

// workloadNames lists every workload in the order the tables show them.
var workloadNames = []string{"llm", "ticker", "large", "multiline", "crlf", "heartbeat"}

// newWorkload generates the named workload, at least size bytes long.
func newWorkload(name string, size int) (*workload, error) {
	w := &workload{name: name, blanksPer: 1}
	switch name {
	case "llm":
		w.about = `small "data: {...token...}" events, unnamed, no id`
		w.gen = genLLM
	case "ticker":
		w.about = "event + id + data (~95 B of JSON), ~130 B per event"
		w.gen = func(b []byte, i int) ([]byte, event) { return genTicker(b, i, "\n") }
	case "large":
		w.about = "one 64 KiB single-line data field per event"
		w.gen = genLarge
	case "multiline":
		w.about = "20 data lines per event, with id"
		w.gen = genMultiline
	case "crlf":
		w.about = "ticker with CRLF line ends"
		w.gen = func(b []byte, i int) ([]byte, event) { return genTicker(b, i, "\r\n") }
	case "heartbeat":
		w.about = "3 comment blocks (\": keep-alive\" + blank line) before each small event"
		w.gen = genHeartbeat
		w.blanksPer = 4
	default:
		return nil, fmt.Errorf("unknown workload %q (have %s)", name, strings.Join(workloadNames, ", "))
	}
	b := make([]byte, 0, size+size/8)
	for i := 0; len(b) < size; i++ {
		b, _ = w.gen(b, i)
		w.events++
	}
	w.wire = b
	w.blanks = w.events * w.blanksPer
	return w, nil
}

// mix is splitmix64: a stateless, deterministic stand-in for randomness, so
// that event i is the same every time it is generated.
func mix(i int) uint64 {
	z := uint64(i)*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// tokens are LLM-style tokens, a few of them multi-byte UTF-8, as real
// completions carry.
var tokens = []string{
	" the", " of", " and", " to", " stream", " event", " Go", " parser",
	" naïve", " café", "ing", "ed", ",", ".", " 東京", " données",
	" server", " client", " token", " byte", " €", " line", " is", " a",
}

func genLLM(b []byte, i int) ([]byte, event) {
	r := mix(i)
	start := len(b)
	b = append(b, `data: {"id":"c`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `","token":"`...)
	b = append(b, tokens[r%uint64(len(tokens))]...)
	b = append(b, `","lp":-0.`...)
	b = appendPadded(b, int(r>>32%10000), 4)
	b = append(b, "}\n\n"...)
	return b, event{Type: "message", Data: string(b[start+len("data: ") : len(b)-2])}
}

var symbols = []string{"AAPL", "MSFT", "NVDA", "GOOG", "AMZN", "META", "TSLA", "BRK.B"}

func genTicker(b []byte, i int, eol string) ([]byte, event) {
	r := mix(i)
	typ := "quote"
	if r&3 == 0 {
		typ = "trade"
	}
	id := strconv.Itoa(1_000_000 + i)
	b = append(b, "event: "...)
	b = append(b, typ...)
	b = append(b, eol...)
	b = append(b, "id: "...)
	b = append(b, id...)
	b = append(b, eol...)
	b = append(b, "data: "...)
	start := len(b)
	px := 10000 + int(r>>8%90000)
	b = append(b, `{"sym":"`...)
	b = append(b, symbols[r>>40%uint64(len(symbols))]...)
	b = append(b, `","bid":`...)
	b = appendPrice(b, px)
	b = append(b, `,"ask":`...)
	b = appendPrice(b, px+1+int(r>>20%5))
	b = append(b, `,"bsz":`...)
	b = strconv.AppendInt(b, int64(100*(1+r>>24%9)), 10)
	b = append(b, `,"asz":`...)
	b = strconv.AppendInt(b, int64(100*(1+r>>28%9)), 10)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, 1_700_000_000_000+int64(i)*7, 10)
	b = append(b, `,"venue":"XNAS"}`...)
	data := string(b[start:])
	b = append(b, eol...)
	b = append(b, eol...)
	return b, event{Type: typ, Data: data, ID: id}
}

// largeSize is the data size of one event of the large workload: exactly the
// 64 KiB at which a default bufio.Scanner gives up.
const largeSize = 64 << 10

func genLarge(b []byte, i int) ([]byte, event) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b = append(b, "data: "...)
	start := len(b)
	for j := 0; j < largeSize; j += 8 {
		r := mix(i<<16 | j>>3)
		for k := 0; k < 8; k++ {
			b = append(b, alphabet[r>>(6*k)&63])
		}
	}
	data := string(b[start:])
	b = append(b, "\n\n"...)
	return b, event{Type: "message", Data: data}
}

func genMultiline(b []byte, i int) ([]byte, event) {
	id := strconv.Itoa(i)
	b = append(b, "id: "...)
	b = append(b, id...)
	b = append(b, '\n')
	var data []byte
	for j := range 20 {
		start := len(b)
		b = append(b, "data: "...)
		b = append(b, "line "...)
		b = appendPadded(b, j, 2)
		b = append(b, " of event "...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ':')
		b = append(b, tokens[mix(i*20+j)%uint64(len(tokens))]...)
		b = append(b, " lorem ipsum"...)
		if j > 0 {
			data = append(data, '\n')
		}
		data = append(data, b[start+len("data: "):]...)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	return b, event{Type: "message", Data: string(data), ID: id}
}

func genHeartbeat(b []byte, i int) ([]byte, event) {
	for range 3 {
		b = append(b, ": keep-alive\n\n"...)
	}
	start := len(b)
	b = append(b, `data: {"seq":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"status":"ok"}`...)
	data := string(b[start+len("data: "):])
	b = append(b, "\n\n"...)
	return b, event{Type: "message", Data: data}
}

// appendPadded appends n in decimal, zero-padded to width digits.
func appendPadded(b []byte, n, width int) []byte {
	s := strconv.Itoa(n)
	for range width - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}

// appendPrice appends cents as a decimal price, e.g. 12345 as 123.45.
func appendPrice(b []byte, cents int) []byte {
	b = strconv.AppendInt(b, int64(cents/100), 10)
	b = append(b, '.')
	return appendPadded(b, cents%100, 2)
}
