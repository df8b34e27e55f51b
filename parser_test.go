package eventsource_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

import "github.com/stretchr/testify/assert"
import "github.com/stretchr/testify/require"

import "github.com/go-eventsource/eventsource"

// A decoderCase is one stream and everything a Decoder must report for it.
type decoderCase struct {
	name      string
	in        string
	want      []any // eventsource.Event and decComment, in stream order
	lastID    string
	retry     time.Duration
	retrySeen bool
}

// decoderCases covers each rule of WHATWG HTML 9.2.5 "Parsing an event
// stream" (rule1, rule2) and 9.2.6 "Interpreting an event stream" (rule3 …
// rule7), https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation,
// the Decoder's own rules for its edges (edge; docs/design.md, "Event
// stream format"), and the WPT format tests that apply to a parser (wpt,
// each named after its test: wpt/format-bom is WPT
// eventsource/format-bom.htm).
func decoderCases() []decoderCase {
	x2048 := strings.Repeat("x", 2048)
	manyIn, manyWant, manyLastID := decoderManyEvents()
	longValue := strings.Repeat("0123456789", 1000)
	const ms = time.Millisecond
	return []decoderCase{
		// Rule 1: UTF-8, one leading BOM, U+FFFD per maximal invalid subpart.
		{name: "rule1/bom stripped", in: "\xEF\xBB\xBFdata:1\n\n", want: []any{decMsg("1")}},
		{name: "rule1/bom before a comment", in: "\xEF\xBB\xBF: c\n", want: []any{decComment("c")}},
		{name: "rule1/bom before a blank line", in: "\xEF\xBB\xBF\ndata:1\n\n", want: []any{decMsg("1")}},
		{name: "rule1/bom alone", in: "\xEF\xBB\xBF"},
		{name: "rule1/bom after the first line is part of a field name", in: "data:1\n\n\xEF\xBB\xBFdata:2\n\n", want: []any{decMsg("1")}},
		{name: "rule1/bom inside a value is data", in: "data:\xEF\xBB\xBFx\n\n", want: []any{decMsg("\uFEFFx")}},
		{name: "rule1/partial bom is not stripped", in: "\xEF\xBBdata:1\n\ndata:2\n\n", want: []any{decMsg("2")}},
		{name: "rule1/valid multibyte", in: "data:é€😀\n\n", want: []any{decMsg("é€😀")}},
		{name: "rule1/valid U+FFFD passes through", in: "data:\xEF\xBF\xBD\n\n", want: []any{decMsg("\uFFFD")}},
		{name: "rule1/truncated 3-byte sequence then ASCII", in: "data:\xe2\x82A\n\n", want: []any{decMsg("\uFFFDA")}},
		{name: "rule1/two invalid lead bytes", in: "data:\xff\xfe\n\n", want: []any{decMsg("\uFFFD\uFFFD")}},
		{name: "rule1/truncated 4-byte sequence at line end", in: "data:\xf0\x9f\x98\n\n", want: []any{decMsg("\uFFFD")}},
		{name: "rule1/truncated 4-byte sequence then a valid one", in: "data:\xf0\x9f\x98\xf0\x9f\x98\x80\n\n", want: []any{decMsg("\uFFFD😀")}},
		{name: "rule1/surrogate", in: "data:\xed\xa0\x80\n\n", want: []any{decMsg("\uFFFD\uFFFD\uFFFD")}},
		{name: "rule1/overlong 2-byte", in: "data:\xc0\xaf\n\n", want: []any{decMsg("\uFFFD\uFFFD")}},
		{name: "rule1/overlong 3-byte", in: "data:\xe0\x80\xaf\n\n", want: []any{decMsg("\uFFFD\uFFFD\uFFFD")}},
		{name: "rule1/above U+10FFFF", in: "data:\xf4\x90\x80\x80\n\n", want: []any{decMsg("\uFFFD\uFFFD\uFFFD\uFFFD")}},
		{name: "rule1/5-byte form", in: "data:\xf8\x88\x80\x80\x80\n\n", want: []any{decMsg("\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD")}},
		{name: "rule1/lone continuation byte", in: "data:a\x80b\n\n", want: []any{decMsg("a\uFFFDb")}},
		{name: "rule1/truncated sequence before CR", in: "data:\xe2\x82\rdata:\xe2\x82\xac\r\r", want: []any{decMsg("\uFFFD\n€")}},
		{
			name: "rule1/invalid bytes in comment, type and id",
			in:   ":\xff\nevent:\xfe\nid:\xc3\ndata:x\n\n",
			want: []any{decComment("\uFFFD"), decEv("\uFFFD", "x", "\uFFFD")}, lastID: "\uFFFD",
		},
		{name: "rule1/overlong NUL in id is not U+0000", in: "id:\xc0\x80\n\n", lastID: "\uFFFD\uFFFD"},
		{name: "rule1/invalid byte in field name", in: "d\xffata:x\n\ndata\xff:y\n\n"},

		// Rule 2: CRLF, LF and CR end lines, also across reads.
		{name: "rule2/LF", in: "data:a\ndata:b\n\n", want: []any{decMsg("a\nb")}},
		{name: "rule2/CRLF", in: "data:a\r\ndata:b\r\n\r\n", want: []any{decMsg("a\nb")}},
		{name: "rule2/CR", in: "data:a\rdata:b\r\r", want: []any{decMsg("a\nb")}},
		{name: "rule2/mixed", in: "data:a\rdata:b\ndata:c\r\n\ndata:d\r\r\n", want: []any{decMsg("a\nb\nc"), decMsg("d")}},
		{name: "rule2/LF CR is a blank line", in: "data:a\n\rdata:b\n\n", want: []any{decMsg("a"), decMsg("b")}},
		{name: "rule2/CR CR LF", in: "data:a\r\r\ndata:b\n\n", want: []any{decMsg("a"), decMsg("b")}},
		{name: "rule2/CR LF LF", in: "data:a\r\n\ndata:b\r\n\n", want: []any{decMsg("a"), decMsg("b")}},
		{name: "rule2/CRLF is one line end", in: "data:a\r\ndata:b\r\n\r\n\r\n", want: []any{decMsg("a\nb")}},
		{name: "rule2/stream ends with CR", in: "data:a\r\r", want: []any{decMsg("a")}},
		{name: "rule2/stream ends with LF CR", in: "data:a\n\r", want: []any{decMsg("a")}},
		{name: "rule2/blank lines only", in: "\r\r\r\n\r\n\n\n\r"},

		// Rule 3: a blank line dispatches; a line starting with ':' is a comment.
		{name: "rule3/blank line dispatches", in: "data:a\n\ndata:b\n\n", want: []any{decMsg("a"), decMsg("b")}},
		{name: "rule3/comment", in: ":hello\n", want: []any{decComment("hello")}},
		{
			name: "rule3/comment loses one leading space",
			in:   ": x\n:  x\n:x\n:\tx\n: \n:\n",
			want: []any{decComment("x"), decComment(" x"), decComment("x"), decComment("\tx"), decComment(""), decComment("")},
		},
		{name: "rule3/comment keeps colons and trailing spaces", in: ":data: x \n", want: []any{decComment("data: x ")}},
		{name: "rule3/comment keeps NUL", in: ":\x00\n", want: []any{decComment("\x00")}},
		{name: "rule3/comment inside an event", in: "data:a\n: c\ndata:b\n\n", want: []any{decComment("c"), decMsg("a\nb")}},
		{name: "rule3/comment does not dispatch", in: "data:a\n: c\n", want: []any{decComment("c")}},
		{name: "rule3/comments with CR and CRLF", in: ": a\r: b\r\n: c\n", want: []any{decComment("a"), decComment("b"), decComment("c")}},
		{
			name: "rule3/comments in stream order",
			in:   ": a\ndata:1\n\n: b\ndata:2\n\n: c\n",
			want: []any{decComment("a"), decMsg("1"), decComment("b"), decMsg("2"), decComment("c")},
		},

		// Rule 4: field name before the first ':', one space removed from the value.
		{name: "rule4/one space removed", in: "data: a\n\n", want: []any{decMsg("a")}},
		{name: "rule4/only one space removed", in: "data:  a\n\n", want: []any{decMsg(" a")}},
		{name: "rule4/no space", in: "data:a\n\n", want: []any{decMsg("a")}},
		{name: "rule4/tab is kept", in: "data:\ta\n\n", want: []any{decMsg("\ta")}},
		{name: "rule4/trailing space is kept", in: "data: a \n\n", want: []any{decMsg("a ")}},
		{name: "rule4/value is only a space", in: "data: \n\n", want: []any{decMsg("")}},
		{name: "rule4/first colon splits", in: "data: a: b:c\n\n", want: []any{decMsg("a: b:c")}},
		{name: "rule4/no colon means an empty value", in: "data\n\n", want: []any{decMsg("")}},
		{name: "rule4/no colon on event resets the type", in: "event:x\nevent\ndata:a\n\n", want: []any{decMsg("a")}},
		{name: "rule4/space before the name", in: " data:a\n\n"},
		{name: "rule4/space before the colon", in: "data :a\n\n"},

		// Rule 5: event, data, id, retry; other fields are ignored.
		{name: "rule5/event sets the type", in: "event:add\ndata:1\n\n", want: []any{decEv("add", "1", "")}},
		{name: "rule5/last event wins", in: "event:a\nevent:b\ndata:1\n\n", want: []any{decEv("b", "1", "")}},
		{name: "rule5/event after data", in: "data:1\nevent:a\n\n", want: []any{decEv("a", "1", "")}},
		{name: "rule5/empty event is message", in: "event:\ndata:1\n\n", want: []any{decMsg("1")}},
		{name: "rule5/event named message", in: "event:message\ndata:1\n\n", want: []any{decMsg("1")}},
		{name: "rule5/event keeps inner and trailing spaces", in: "event: a b \ndata:1\n\n", want: []any{decEv("a b ", "1", "")}},
		{name: "rule5/data lines joined with LF", in: "data:a\ndata:b\ndata:c\n\n", want: []any{decMsg("a\nb\nc")}},
		{name: "rule5/empty data lines", in: "data\ndata\n\n", want: []any{decMsg("\n")}},
		{name: "rule5/data keeps NUL", in: "data:a\x00b\n\n", want: []any{decMsg("a\x00b")}},
		{name: "rule5/id sets the event ID", in: "id:1\ndata:a\n\n", want: []any{decEv("message", "a", "1")}, lastID: "1"},
		{name: "rule5/id persists", in: "id:1\ndata:a\n\ndata:b\n\n", want: []any{decEv("message", "a", "1"), decEv("message", "b", "1")}, lastID: "1"},
		{name: "rule5/id changes", in: "id:1\ndata:a\n\nid:2\ndata:b\n\n", want: []any{decEv("message", "a", "1"), decEv("message", "b", "2")}, lastID: "2"},
		{name: "rule5/empty id resets", in: "id:1\ndata:a\n\nid:\ndata:b\n\n", want: []any{decEv("message", "a", "1"), decMsg("b")}},
		{name: "rule5/id without colon resets", in: "id:1\ndata:a\n\nid\ndata:b\n\n", want: []any{decEv("message", "a", "1"), decMsg("b")}},
		{name: "rule5/id of one space resets", in: "id:1\n\nid: \ndata:b\n\n", want: []any{decMsg("b")}},
		{name: "rule5/id with NUL is ignored", in: "id:1\ndata:a\n\nid:2\x003\ndata:b\n\n", want: []any{decEv("message", "a", "1"), decEv("message", "b", "1")}, lastID: "1"},
		{name: "rule5/id of NUL only is ignored", in: "id:1\n\nid:\x00\n\n", lastID: "1"},
		{name: "rule5/id with NUL keeps an earlier id of the block", in: "id:1\nid:2\x00\ndata:x\n\n", want: []any{decEv("message", "x", "1")}, lastID: "1"},
		{name: "rule5/id keeps spaces and colons", in: "id:  a:b \ndata:x\n\n", want: []any{decEv("message", "x", " a:b ")}, lastID: " a:b "},
		{name: "rule5/id non-ASCII", in: "id:é€😀\ndata:x\n\n", want: []any{decEv("message", "x", "é€😀")}, lastID: "é€😀"},
		{name: "rule5/event ID is the last id in effect", in: "data:a\nid:1\nid:2\n\n", want: []any{decEv("message", "a", "2")}, lastID: "2"},
		{name: "rule5/retry", in: "retry:1000\n", retry: time.Second, retrySeen: true},
		{name: "rule5/retry with one space", in: "retry: 1500\n", retry: 1500 * ms, retrySeen: true},
		{name: "rule5/retry with two spaces is ignored", in: "retry:  1500\n"},
		{name: "rule5/retry zero", in: "retry: 0\n", retry: 0, retrySeen: true},
		{name: "rule5/retry plus sign is ignored", in: "retry:+5\n"},
		{name: "rule5/retry minus sign is ignored", in: "retry:-5\n"},
		{name: "rule5/retry empty is ignored", in: "retry:\nretry: \n"},
		{name: "rule5/retry non-ASCII digits are ignored", in: "retry:１２\nretry:٣\n"},
		{
			name:  "rule5/bogus retry keeps the previous value",
			in:    "retry:2000\nretry:1000x\nretry:1.5\nretry:1e3\nretry:0x10\nretry:7\t\nretry:7 \nretry:\xff\n",
			retry: 2 * time.Second, retrySeen: true,
		},
		{name: "rule5/last valid retry wins", in: "retry:1\nretry:2\n", retry: 2 * ms, retrySeen: true},
		{name: "rule5/retry with many leading zeros", in: "retry:0000000000000000000000001000\n", retry: time.Second, retrySeen: true},
		{name: "rule5/retry largest duration", in: "retry:9223372036854\n", retry: 9223372036854 * ms, retrySeen: true},
		{name: "rule5/retry too large for a duration is ignored", in: "retry:1000\nretry:9223372036855\n", retry: time.Second, retrySeen: true},
		{name: "rule5/retry too large for int64 is ignored", in: "retry:1000\nretry:99999999999999999999999999\n", retry: time.Second, retrySeen: true},
		{name: "rule5/retry without a following event", in: "retry:500\n\n", retry: 500 * ms, retrySeen: true},
		{name: "rule5/retry inside an event", in: "retry:10\ndata:a\n\n", want: []any{decMsg("a")}, retry: 10 * ms, retrySeen: true},
		{name: "rule5/unknown field is ignored", in: "foo:bar\ndata:a\n\n", want: []any{decMsg("a")}},
		{name: "rule5/unknown field alone fires nothing", in: "foo:bar\n\n"},
		{name: "rule5/field names are case-sensitive", in: "Data:a\nEVENT:x\nID:1\nRetry:5\n\ndata:b\n\n", want: []any{decMsg("b")}},

		// Rule 6: dispatch.
		{name: "rule6/no data fires nothing", in: "event:a\n\n"},
		{name: "rule6/type is reset when nothing fires", in: "event:a\n\ndata:b\n\n", want: []any{decMsg("b")}},
		{name: "rule6/id-only block sets the last event ID", in: "id:5\n\n", lastID: "5"},
		{name: "rule6/id-only block then an event", in: "id:5\n\ndata:a\n\n", want: []any{decEv("message", "a", "5")}, lastID: "5"},
		{name: "rule6/empty data fires", in: "data\n\n", want: []any{decMsg("")}},
		{name: "rule6/one trailing LF stripped", in: "data:a\ndata\n\n", want: []any{decMsg("a\n")}},
		{name: "rule6/only one trailing LF stripped", in: "data\ndata\ndata\n\n", want: []any{decMsg("\n\n")}},
		{name: "rule6/several blank lines", in: "data:a\n\n\n\ndata:b\n\n", want: []any{decMsg("a"), decMsg("b")}},
		{
			name: "rule6/type and data reset, id kept",
			in:   "event:a\nid:1\ndata:x\n\ndata:y\n\n",
			want: []any{decEv("a", "x", "1"), decEv("message", "y", "1")}, lastID: "1",
		},
		{
			name: "rule6/types repeat and change",
			in:   "event:a\ndata:1\n\nevent:b\ndata:2\n\nevent:a\ndata:3\n\ndata:4\n\nevent:ab\ndata:5\n\n",
			want: []any{decEv("a", "1", ""), decEv("b", "2", ""), decEv("a", "3", ""), decMsg("4"), decEv("ab", "5", "")},
		},
		{
			name: "rule6/ids repeat and change",
			in:   "id:1\ndata:a\n\nid:2\ndata:b\n\nid:1\ndata:c\n\nid:\ndata:d\n\nid:12\ndata:e\n\n",
			want: []any{
				decEv("message", "a", "1"), decEv("message", "b", "2"), decEv("message", "c", "1"),
				decMsg("d"), decEv("message", "e", "12"),
			},
			lastID: "12",
		},

		// Rule 7: at end of stream, an event without its blank line is discarded.
		{name: "rule7/empty stream", in: ""},
		{name: "rule7/unterminated line", in: "data:a"},
		{name: "rule7/event without blank line", in: "data:a\n"},
		{name: "rule7/last event discarded", in: "data:a\n\ndata:b\n", want: []any{decMsg("a")}},
		{name: "rule7/last event ending in CR discarded", in: "data:a\n\ndata:b\r", want: []any{decMsg("a")}},
		{name: "rule7/id of a discarded event is not the last event ID", in: "id:1\ndata:a\n\nid:2\ndata:b\n", want: []any{decEv("message", "a", "1")}, lastID: "1"},
		{name: "rule7/id of a block never dispatched", in: "id:1\n\nid:2", lastID: "1"},
		{name: "rule7/unterminated retry line is discarded", in: "retry:500"},
		{name: "rule7/unterminated comment is discarded", in: "data:a\n\n: ping", want: []any{decMsg("a")}},

		// Decoder edge rules and stress.
		{name: "edge/no retry seen", in: "data:a\n\n", want: []any{decMsg("a")}},
		{name: "edge/line longer than a read buffer", in: "data:" + longValue + "\n\n", want: []any{decMsg(longValue)}},
		{name: "edge/many events", in: manyIn, want: manyWant, lastID: manyLastID},

		// WPT eventsource/format-*.
		{name: "wpt/format-field-data", in: "data:\n\ndata\ndata\n\ndata:test\n\n\n", want: []any{decMsg(""), decMsg("\n"), decMsg("test")}},
		{
			name: "wpt/format-comments",
			in:   "data:1\r:\x00\n:\r\ndata:2\n:" + x2048 + "\rdata:3\n:data:fail\r:" + x2048 + "\ndata:4\n\n",
			want: []any{
				decComment("\x00"), decComment(""), decComment(x2048), decComment("data:fail"), decComment(x2048),
				decMsg("1\n2\n3\n4"),
			},
		},
		{
			name: "wpt/format-field-parsing",
			in:   "data:\x00\ndata:  2\rData:1\ndata\x00:2\ndata:1\r\x00data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n",
			want: []any{decMsg("\x00\n 2\n1\n3\n\n4")},
		},
		{name: "wpt/format-leading-space", in: "data:\ttest\rdata: \ndata:test\n\n", want: []any{decMsg("\ttest\n\ntest")}},
		{name: "wpt/format-newlines", in: "data:test\r\ndata\ndata:test\r\n\r\n", want: []any{decMsg("test\n\ntest")}},
		{
			name: "wpt/format-field-unknown",
			in:   "data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n",
			want: []any{decComment("thisisacommentyay"), decMsg("test\n\ntest")},
		},
		{name: "wpt/format-bom", in: "\xEF\xBB\xBFdata:1\n\n\xEF\xBB\xBFdata:2\n\ndata:3\n\n", want: []any{decMsg("1"), decMsg("3")}},
		{name: "wpt/format-bom-2", in: "\xEF\xBB\xBF\xEF\xBB\xBFdata:1\n\ndata:2\n\ndata:3\n\n", want: []any{decMsg("2"), decMsg("3")}},
		{name: "wpt/format-field-event", in: "event:test\ndata:x\n\ndata:x\n\n", want: []any{decEv("test", "x", ""), decMsg("x")}},
		{name: "wpt/format-field-event-empty", in: "event: \ndata:data\n\n", want: []any{decMsg("data")}},
		{name: "wpt/format-null-character", in: "data:\x00\n\n\n", want: []any{decMsg("\x00")}},
		{name: "wpt/format-utf-8", in: "data:ok\xE2\x80\xA6\n\n", want: []any{decMsg("ok…")}},
		{
			name: "wpt/format-data-before-final-empty-line",
			in:   "retry:1000\ndata:test1\n\nid:test\ndata:test2\n",
			want: []any{decMsg("test1")}, retry: time.Second, retrySeen: true,
		},
		{name: "wpt/format-field-retry", in: "retry:02000\ndata:x\n\n", want: []any{decMsg("x")}, retry: 2 * time.Second, retrySeen: true},
		{name: "wpt/format-field-retry-bogus", in: "retry:2000\nretry:1000x\ndata:x\n\n", want: []any{decMsg("x")}, retry: 2 * time.Second, retrySeen: true},
		{name: "wpt/format-field-retry-empty", in: "retry\ndata:test\n\n", want: []any{decMsg("test")}},
		{name: "wpt/format-field-id-null", in: "id:1\ndata:a\n\nid: \x00\x00\ndata:b\n\n", want: []any{decEv("message", "a", "1"), decEv("message", "b", "1")}, lastID: "1"},
		{
			name: "wpt/format-field-id-3 persists",
			in:   "id:1\ndata:a\n\ndata:b\n\n",
			want: []any{decEv("message", "a", "1"), decEv("message", "b", "1")}, lastID: "1",
		},
		{
			name: "wpt/format-field-id-3 changes and persists",
			in:   "id:1\ndata:a\n\nid:2\ndata:b\n\ndata:c\n\n",
			want: []any{decEv("message", "a", "1"), decEv("message", "b", "2"), decEv("message", "c", "2")}, lastID: "2",
		},
		{
			name: "wpt/format-field-id-3 resets",
			in:   "id:1\ndata:a\n\nid:\ndata:b\n\ndata:c\n\n",
			want: []any{decEv("message", "a", "1"), decMsg("b"), decMsg("c")},
		},
	}
}

// decoderManyEvents is a stream several read buffers long, whose events vary
// their type, id and data, with comments in between, so that a Decoder that
// keeps views into its buffer, or reuses a stale type or id, shows it.
func decoderManyEvents() (in string, want []any, lastID string) {
	var b strings.Builder
	types := []string{"", "add", "remove", "add"}
	for i := range 120 {
		if i%7 == 0 {
			fmt.Fprintf(&b, ": keepalive %d\n", i)
			want = append(want, decComment(fmt.Sprintf("keepalive %d", i)))
		}
		typ := types[i%len(types)]
		if typ != "" {
			fmt.Fprintf(&b, "event: %s\n", typ)
		}
		if i%3 == 0 {
			lastID = fmt.Sprint(i / 3)
			fmt.Fprintf(&b, "id: %s\n", lastID)
		}
		data := fmt.Sprintf("payload %d %s", i, strings.Repeat("ab", i%9))
		fmt.Fprintf(&b, "data: %s\n\n", data)
		if typ == "" {
			typ = "message"
		}
		want = append(want, decEv(typ, data, lastID))
	}
	return b.String(), want, lastID
}

func TestDecoder(t *testing.T) {
	t.Parallel()
	for _, tc := range decoderCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkDecoder(t, []byte(tc.in), 0, decodeResult{
				trace: tc.want, lastID: tc.lastID, retry: tc.retry, retrySeen: tc.retrySeen, err: io.EOF,
			})
		})
	}
}

// A decoderSizeCase is a stream read with SetMaxEventSize(max); a non-nil
// err is the error that must end it, after the events in want.
type decoderSizeCase struct {
	name   string
	max    int
	in     string
	want   []any
	lastID string
	err    error
}

func decoderSizeCases() []decoderSizeCase {
	const max = 64
	a := func(n int) string { return strings.Repeat("a", n) }
	return []decoderSizeCase{
		{name: "data line of exactly max, LF", max: max, in: "data:" + a(max-5) + "\n\n", want: []any{decMsg(a(max - 5))}},
		{name: "data line of exactly max, CRLF", max: max, in: "data:" + a(max-5) + "\r\n\r\n", want: []any{decMsg(a(max - 5))}},
		{name: "data line of exactly max, CR", max: max, in: "data:" + a(max-5) + "\r\r", want: []any{decMsg(a(max - 5))}},
		{name: "first line of exactly max after the BOM", max: max, in: "\xEF\xBB\xBFdata:" + a(max-5) + "\n\n", want: []any{decMsg(a(max - 5))}},
		{name: "comment of exactly max", max: max, in: ":" + a(max-1) + "\r\n", want: []any{decComment(a(max - 1))}},
		{name: "event line of exactly max", max: max, in: "event:" + a(max-6) + "\ndata\n\n", want: []any{decEv(a(max-6), "", "")}},
		{name: "data line of max+1", max: max, in: "data:" + a(max-4) + "\n\n", err: eventsource.ErrEventTooLarge},
		{name: "comment of max+1", max: max, in: ":" + a(max) + "\n", err: eventsource.ErrEventTooLarge},
		{name: "unknown field of max+1", max: max, in: "foo:" + a(max-3) + "\n", err: eventsource.ErrEventTooLarge},
		{name: "line without colon of max+1", max: max, in: a(max+1) + "\n", err: eventsource.ErrEventTooLarge},
		{name: "line of max+1 after the BOM", max: max, in: "\xEF\xBB\xBFdata:" + a(max-4) + "\n\n", err: eventsource.ErrEventTooLarge},
		{name: "long line after an event", max: max, in: "data:ok\n\n: ok\ndata:" + a(100) + "\n\n", want: []any{decMsg("ok"), decComment("ok")}, err: eventsource.ErrEventTooLarge},
		{name: "event data over max", max: max, in: strings.Repeat("data:"+a(30)+"\n", 3) + "\n", err: eventsource.ErrEventTooLarge},
		{name: "event data over max after an event", max: max, in: "data:ok\n\n" + strings.Repeat("data:"+a(40)+"\n", 2) + "\n", want: []any{decMsg("ok")}, err: eventsource.ErrEventTooLarge},
		{name: "event data under max", max: max, in: strings.Repeat("data:"+a(20)+"\n", 3) + "\n", want: []any{decMsg(a(20) + "\n" + a(20) + "\n" + a(20))}},
		{name: "data limit is per event", max: max, in: strings.Repeat("data:"+a(40)+"\n\n", 5), want: []any{decMsg(a(40)), decMsg(a(40)), decMsg(a(40)), decMsg(a(40)), decMsg(a(40))}},
		{
			name: "only data counts towards the event limit", max: max,
			in:   "data:" + a(30) + "\nevent:" + a(50) + "\nid:" + a(50) + "\n:" + a(60) + "\nfoo:" + a(50) + "\ndata:" + a(30) + "\n\n",
			want: []any{decComment(a(60)), decEv(a(50), a(30)+"\n"+a(30), a(50))}, lastID: a(50),
		},
		{name: "max of one byte after the BOM", max: 1, in: "\xEF\xBB\xBF:\n\n:\n", want: []any{decComment(""), decComment("")}},
		{name: "max of one byte", max: 1, in: ":\n\r\n:\r:x\n", want: []any{decComment(""), decComment("")}, err: eventsource.ErrEventTooLarge},
		{
			// The limit counts raw bytes, before invalid bytes become U+FFFD
			// (the doc of Decoder.SetMaxEventSize).
			name: "limit counts raw bytes", max: max, in: "data:" + strings.Repeat("\xff", 40) + "\n\n",
			want: []any{decMsg(strings.Repeat("\uFFFD", 40))},
		},
	}
}

func TestDecoderMaxEventSize(t *testing.T) {
	t.Parallel()
	for _, tc := range decoderSizeCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := decodeResult{trace: tc.want, lastID: tc.lastID, err: io.EOF}
			if tc.err != nil {
				want.err = tc.err
			}
			checkDecoder(t, []byte(tc.in), tc.max, want)
		})
	}
}

// TestDecoderDefaultMaxEventSize checks the 16 MiB default without
// SetMaxEventSize: a line of exactly 16 MiB passes, one more byte fails.
func TestDecoderDefaultMaxEventSize(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 16 MiB lines")
	}
	t.Parallel()
	const max = 16 << 20
	line := func(n int64) io.Reader {
		return io.MultiReader(strings.NewReader("data:"),
			io.LimitReader(&endlessReader{pattern: []byte("a")}, n-5), strings.NewReader("\n\n"))
	}

	d := eventsource.NewDecoder(line(max))
	ev, err := d.Next()
	require.NoError(t, err)
	assert.Equal(t, max-5, len(ev.Data))
	assert.Equal(t, max-5, strings.Count(ev.Data, "a"))
	_, err = d.Next()
	assert.Equal(t, io.EOF, err)

	d = eventsource.NewDecoder(line(max + 1))
	_, err = d.Next()
	require.ErrorIs(t, err, eventsource.ErrEventTooLarge)

	r := &endlessReader{prefix: []byte("data:"), pattern: []byte("a"), limit: 4 * max}
	_, err = eventsource.NewDecoder(r).Next()
	require.ErrorIs(t, err, eventsource.ErrEventTooLarge)
	assert.LessOrEqual(t, r.n, int64(2*max+16<<10), "bytes read")
}

func TestDecoderStickyError(t *testing.T) {
	t.Parallel()
	errRead := errors.New("read failed")
	for _, tc := range []struct {
		name string
		r    func() io.Reader
		want error
	}{
		{name: "too large", r: func() io.Reader { return strings.NewReader(":" + strings.Repeat("a", 100) + "\ndata:a\n\n") }, want: eventsource.ErrEventTooLarge},
		{name: "reader error", r: func() io.Reader {
			return io.MultiReader(strings.NewReader("data"), iotest.ErrReader(errRead), strings.NewReader(":a\n\ndata:b\n\n"))
		}, want: errRead},
		{name: "EOF", r: func() io.Reader { return strings.NewReader("data:a") }, want: io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := eventsource.NewDecoder(tc.r())
			d.SetMaxEventSize(64)
			_, first := d.Next()
			require.ErrorIs(t, first, tc.want)
			for range 3 {
				_, err := d.Next()
				assert.Equal(t, first, err)
			}
		})
	}
}

// TestDecoderStateDuringNext looks at LastEventID and Retry from OnComment,
// that is in the middle of Next: retry takes effect when its line is read,
// the last event ID only at a dispatch.
func TestDecoderStateDuringNext(t *testing.T) {
	t.Parallel()
	type state struct {
		comment   string
		lastID    string
		retry     time.Duration
		retrySeen bool
	}
	d := eventsource.NewDecoder(strings.NewReader(
		": start\nretry:500\n: a\nid:5\n: b\n\n: c\nid:6\n: d\nretry:x\n: e\ndata:z\n\n: f\n"))
	var got []state
	d.OnComment(func(c string) {
		s := state{comment: c, lastID: d.LastEventID()}
		s.retry, s.retrySeen = d.Retry()
		got = append(got, s)
	})
	ev, err := d.Next()
	require.NoError(t, err)
	assert.Equal(t, decEv("message", "z", "6"), ev)
	_, err = d.Next()
	require.Equal(t, io.EOF, err)
	want := []state{
		{comment: "start"},
		{comment: "a", retry: 500 * time.Millisecond, retrySeen: true},
		{comment: "b", retry: 500 * time.Millisecond, retrySeen: true},
		{comment: "c", lastID: "5", retry: 500 * time.Millisecond, retrySeen: true},
		{comment: "d", lastID: "5", retry: 500 * time.Millisecond, retrySeen: true},
		{comment: "e", lastID: "5", retry: 500 * time.Millisecond, retrySeen: true},
		{comment: "f", lastID: "6", retry: 500 * time.Millisecond, retrySeen: true},
	}
	assert.Equal(t, want, got)
}
