package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
)

// floorParse is the parse floor: it scans r for line ends with
// bytes.IndexByte and counts blank lines, the least work that finds where
// events end. It reports the count as s.events, which the harness compares
// with the workload's number of blank lines.
func floorParse(r io.Reader, s *sink) error {
	buf := make([]byte, 64<<10)
	pending := 0  // length of the line so far, before this read
	var last byte // last byte of that line
	for {
		n, err := r.Read(buf)
		b := buf[:n]
		for len(b) > 0 {
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				pending += len(b)
				last = b[len(b)-1]
				break
			}
			if i > 0 {
				last = b[i-1]
			}
			if l := pending + i; l == 0 || l == 1 && last == '\r' {
				s.events++
			}
			pending = 0
			b = b[i+1:]
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// floorStream is the end-to-end floor: a GET whose body is copied to
// io.Discard. It reports the bytes read as s.events, which the harness
// compares with the workload's length.
func floorStream(ctx context.Context, hc *http.Client, url string, s *sink) error {
	resp, err := get(ctx, hc, url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	s.events = int(n)
	return err
}

// kept holds the bound's last slice, so that the compiler cannot drop the
// allocations and copies.
var kept []byte

// boundStream is the end-to-end floor plus the least that a client which
// gives each event's data memory of its own must add: for every event's
// worth of bytes (the workload's mean), a new slice, and a copy of those
// bytes into it. It finds no line ends and checks nothing. It reports the
// bytes read as s.events.
func boundStream(ctx context.Context, hc *http.Client, url string, s *sink) error {
	resp, err := get(ctx, hc, url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf := make([]byte, 64<<10)
	var cur []byte // the current event's slice, len(cur) bytes filled
	for {
		n, err := resp.Body.Read(buf)
		s.events += n
		for b := buf[:n]; len(b) > 0; {
			if cur == nil {
				cur = make([]byte, 0, s.eventSize)
			}
			k := min(len(b), cap(cur)-len(cur))
			cur = append(cur, b[:k]...)
			b = b[k:]
			if len(cur) == cap(cur) {
				kept, cur = cur, nil
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// get makes the GET of a floor or a bound, which read the body themselves.
func get(ctx context.Context, hc *http.Client, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return hc.Do(req)
}

// rawScale is the floor of the scale mode: a GET whose body is read with
// plain Read calls into a 512-byte buffer, as a goroutine that blocks in
// net/http and does nothing else would. It counts the blank lines that end
// the ticks, and in the latency phase keeps each tick's text to take its
// send time. It returns when the body fails or ends.
func rawScale(ctx context.Context, hc *http.Client, url string, c *streamCheck) error {
	resp, err := get(ctx, hc, url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	buf := make([]byte, 512)
	var ev []byte // the tick so far, in the latency phase
	var prev byte // the byte before the next one read
	for {
		n, err := resp.Body.Read(buf)
		timing := c.set.timing.Load()
		for b := buf[:n]; len(b) > 0; {
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				if timing {
					ev = append(ev, b...)
				}
				prev = b[len(b)-1]
				break
			}
			if i > 0 {
				prev = b[i-1]
			}
			if timing {
				ev = append(ev, b[:i+1]...)
			}
			if prev == '\n' { // a blank line: the tick ends
				if t, ok := tickTime(ev); ok && timing {
					c.arrived(t)
				}
				c.count()
				ev, prev = ev[:0], 0
			} else {
				prev = '\n'
			}
			b = b[i+1:]
		}
		if err != nil {
			return err
		}
	}
}
