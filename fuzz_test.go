package eventsource_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-eventsource/eventsource"
)

// FuzzDecoder decodes arbitrary streams with a small maximum event size and
// checks that the Decoder does not panic, reports only valid UTF-8, keeps
// events within the maximum, fails with ErrEventTooLarge only when a line or
// an event is too large, gives the same result in one-byte reads as in a
// single read, and agrees with refDecode, a naive reading of DESIGN.md.
func FuzzDecoder(f *testing.F) {
	for _, tc := range decoderCases() {
		f.Add([]byte(tc.in), uint16(4095))
	}
	for _, tc := range decoderSizeCases() {
		f.Add([]byte(tc.in), uint16(tc.max-1))
	}
	f.Fuzz(func(t *testing.T, in []byte, size uint16) {
		max := int(size)%4096 + 1
		got := decodeAll(t, bytes.NewReader(in), max, true)
		oneByte := decodeAll(t, iotest.OneByteReader(bytes.NewReader(in)), max, true)
		assert.Equal(t, got.trace, oneByte.trace, "one-byte reads")
		assert.Equal(t, fmt.Sprint(got.err), fmt.Sprint(oneByte.err), "one-byte reads")
		assert.Equal(t, errors.Is(got.err, eventsource.ErrEventTooLarge), errors.Is(oneByte.err, eventsource.ErrEventTooLarge), "one-byte reads")
		assert.Equal(t, got.lastID, oneByte.lastID, "one-byte reads")
		assert.Equal(t, got.retry, oneByte.retry, "one-byte reads")
		assert.Equal(t, got.retrySeen, oneByte.retrySeen, "one-byte reads")
		// Half reads leave the read buffer holding part of a line, which
		// a low threshold makes the Decoder read straight into its data
		// buffer.
		long := decodeAllLong(t, iotest.HalfReader(bytes.NewReader(in)), max, true, 6)
		assert.Equal(t, got.trace, long.trace, "data lines read straight")
		assert.Equal(t, fmt.Sprint(got.err), fmt.Sprint(long.err), "data lines read straight")
		assert.Equal(t, got.lastID, long.lastID, "data lines read straight")

		for _, v := range got.trace {
			switch v := v.(type) {
			case eventsource.Event:
				assert.True(t, utf8.ValidString(v.Type), "Type %q", v.Type)
				assert.True(t, utf8.ValidString(v.Data), "Data %q", v.Data)
				assert.True(t, utf8.ValidString(v.ID), "ID %q", v.ID)
				assert.NotEmpty(t, v.Type)
				// The limit counts raw bytes and each raw byte decodes to at
				// most one rune, so it bounds the runes (an invalid byte
				// becomes the three bytes of U+FFFD).
				assert.LessOrEqual(t, utf8.RuneCountInString(v.Data), max, "runes of Data")
			case decComment:
				assert.True(t, utf8.ValidString(string(v)), "comment %q", v)
			}
		}
		assert.True(t, utf8.ValidString(got.lastID), "LastEventID %q", got.lastID)

		ref := refDecode(in, max)
		switch {
		case got.err == io.EOF:
			require.Negative(t, ref.mustFail, "io.EOF although the stream has a line or an event over %d bytes", max)
			assert.Equal(t, ref.trace, got.trace)
			assert.Equal(t, ref.lastID, got.lastID, "LastEventID")
			assert.Equal(t, ref.retry, got.retry, "Retry")
			assert.Equal(t, ref.retrySeen, got.retrySeen, "Retry seen")
		case errors.Is(got.err, eventsource.ErrEventTooLarge):
			require.GreaterOrEqual(t, ref.mayFail, 0, "%v although no line or event is over %d bytes", got.err, max)
			n := len(got.trace)
			require.GreaterOrEqual(t, n, ref.mayFail, "%v before the first line over the limit", got.err)
			if ref.mustFail >= 0 {
				require.LessOrEqual(t, n, ref.mustFail, "reported past a line or an event over the limit")
			}
			require.LessOrEqual(t, n, len(ref.trace))
			if n > 0 {
				assert.Equal(t, ref.trace[:n], got.trace)
			}
		default:
			t.Fatalf("Next: %v", got.err)
		}
	})
}

// TestDecoderReferenceModel checks refDecode, which FuzzDecoder trusts,
// against the table.
func TestDecoderReferenceModel(t *testing.T) {
	t.Parallel()
	for _, tc := range decoderCases() {
		ref := refDecode([]byte(tc.in), 16<<20)
		assert.Equal(t, tc.want, ref.trace, tc.name)
		assert.Equal(t, tc.lastID, ref.lastID, tc.name)
		assert.Equal(t, tc.retry, ref.retry, tc.name)
		assert.Equal(t, tc.retrySeen, ref.retrySeen, tc.name)
		assert.Equal(t, -1, ref.mayFail, tc.name)
	}
	for _, tc := range decoderSizeCases() {
		ref := refDecode([]byte(tc.in), tc.max)
		if tc.err == nil {
			assert.Equal(t, tc.want, ref.trace, tc.name)
			assert.Equal(t, -1, ref.mayFail, tc.name)
		} else {
			assert.Equal(t, len(tc.want), ref.mustFail, tc.name)
			assert.Equal(t, len(tc.want), ref.mayFail, tc.name)
		}
	}
}

// refResult is what refDecode makes of a stream.
type refResult struct {
	trace     []any // the events and comments with no size limit
	lastID    string
	retry     time.Duration
	retrySeen bool
	// mayFail is len(trace) before the first line whose size, or whose event
	// data's size, a correct Decoder may count over the maximum; -1 when
	// there is none. It leaves room for what DESIGN.md does not pin down:
	// whether the event limit counts the data buffer's last "\n", and what
	// becomes of an unterminated last line. (The BOM is no part of a line.)
	mayFail int
	// mustFail is len(trace) before the first line longer than the maximum,
	// or whose event data, joined, is longer; -1 when there is none.
	mustFail int
}

// refDecode reads a whole stream the simplest way DESIGN.md "Event stream
// interpretation" allows: split into lines, then each line by the rules.
func refDecode(in []byte, max int) refResult {
	res := refResult{mayFail: -1, mustFail: -1}
	over := func(may, must bool) {
		if may && res.mayFail < 0 {
			res.mayFail = len(res.trace)
		}
		if must && res.mustFail < 0 {
			res.mustFail = len(res.trace)
		}
	}
	in = bytes.TrimPrefix(in, []byte("\xEF\xBB\xBF"))
	var typ, id string
	var data []string
	dataSize := 0
	for len(in) > 0 {
		end := bytes.IndexAny(in, "\r\n")
		if end < 0 {
			// Rule 7: the last line has no end, so it is no line at all.
			over(len(in) > max, false)
			break
		}
		line := in[:end]
		if bytes.HasPrefix(in[end:], []byte("\r\n")) {
			in = in[end+2:]
		} else {
			in = in[end+1:]
		}
		over(len(line) > max, len(line) > max)

		switch {
		case len(line) == 0:
			res.lastID = id
			if data != nil {
				ev := eventsource.Event{Type: "message", Data: strings.Join(data, "\n"), ID: id}
				if typ != "" {
					ev.Type = typ
				}
				res.trace = append(res.trace, ev)
			}
			typ, data, dataSize = "", nil, 0
		case line[0] == ':':
			res.trace = append(res.trace, decComment(refUTF8(bytes.TrimPrefix(line[1:], []byte(" ")))))
		default:
			name, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			switch string(name) {
			case "event":
				typ = refUTF8(value)
			case "data":
				dataSize += len(value) + 1
				over(dataSize > max, dataSize-1 > max)
				data = append(data, refUTF8(value))
			case "id":
				if bytes.IndexByte(value, 0) < 0 {
					id = refUTF8(value)
				}
			case "retry":
				if d, ok := refRetry(value); ok {
					res.retry, res.retrySeen = d, true
				}
			}
		}
	}
	return res
}

// refRetry reads a retry value: ASCII digits only, in milliseconds, ignored
// when it does not fit a time.Duration.
func refRetry(v []byte) (time.Duration, bool) {
	const maxMillis = math.MaxInt64 / int64(time.Millisecond)
	if len(v) == 0 {
		return 0, false
	}
	var ms int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		digit := int64(c - '0')
		if ms > (maxMillis-digit)/10 {
			return 0, false
		}
		ms = ms*10 + digit
	}
	return time.Duration(ms) * time.Millisecond, true
}

// refUTF8 is the UTF-8 decoder of the WHATWG Encoding standard, step by step
// as the standard writes it: each maximal invalid subpart becomes one U+FFFD.
func refUTF8(b []byte) string {
	var sb strings.Builder
	var cp rune
	needed, seen := 0, 0
	lower, upper := byte(0x80), byte(0xBF)
	for i := 0; i < len(b); {
		c := b[i]
		if needed == 0 {
			i++
			switch {
			case c <= 0x7F:
				sb.WriteByte(c)
			case 0xC2 <= c && c <= 0xDF:
				needed, cp = 1, rune(c&0x1F)
			case 0xE0 <= c && c <= 0xEF:
				if c == 0xE0 {
					lower = 0xA0
				}
				if c == 0xED {
					upper = 0x9F
				}
				needed, cp = 2, rune(c&0x0F)
			case 0xF0 <= c && c <= 0xF4:
				if c == 0xF0 {
					lower = 0x90
				}
				if c == 0xF4 {
					upper = 0x8F
				}
				needed, cp = 3, rune(c&0x07)
			default:
				sb.WriteRune(utf8.RuneError)
			}
			continue
		}
		if c < lower || c > upper {
			// The standard puts c back in the stream: it may start a sequence.
			needed, seen, cp, lower, upper = 0, 0, 0, 0x80, 0xBF
			sb.WriteRune(utf8.RuneError)
			continue
		}
		i++
		lower, upper = 0x80, 0xBF
		cp = cp<<6 | rune(c&0x3F)
		seen++
		if seen == needed {
			sb.WriteRune(cp)
			needed, seen, cp = 0, 0, 0
		}
	}
	if needed != 0 {
		sb.WriteRune(utf8.RuneError)
	}
	return sb.String()
}
