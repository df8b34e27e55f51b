// This file holds the UTF-8 rules of the Decoder: the stream is UTF-8,
// and each maximal invalid subpart of a sequence decodes to one U+FFFD, as
// the WHATWG Encoding standard's UTF-8 decoder says
// (https://encoding.spec.whatwg.org/#utf-8-decoder).

package eventsource

import (
	"encoding/binary"
	"strings"
	"unicode/utf8"
)

// validString converts b to a string, with each maximal invalid subpart of
// UTF-8 replaced by U+FFFD.
func validString(b []byte) string {
	if validUTF8(b) {
		return string(b)
	}
	return repairedString(b)
}

// repairedString is validString for b that is not valid UTF-8. The string
// is the only allocation: a large event with invalid bytes costs no scratch
// buffer.
func repairedString(b []byte) string {
	size := 0
	for rest := b; len(rest) > 0; {
		valid, bad := cutValid(rest)
		size += valid
		if bad == 0 {
			break
		}
		size += len(replacement)
		rest = rest[valid+bad:]
	}
	var sb strings.Builder
	sb.Grow(size)
	for len(b) > 0 {
		valid, bad := cutValid(b)
		sb.Write(b[:valid])
		if bad == 0 {
			break
		}
		sb.WriteString(replacement)
		b = b[valid+bad:]
	}
	return sb.String()
}

// appendValidUTF8 appends src to dst with each maximal invalid subpart
// replaced by one U+FFFD, as the WHATWG UTF-8 decoder does. (Neither
// strings.ToValidUTF8, one per run, nor range, one per byte, does that.)
func appendValidUTF8(dst, src []byte) []byte {
	if validUTF8(src) {
		return append(dst, src...)
	}
	for len(src) > 0 {
		valid, bad := cutValid(src)
		dst = append(dst, src[:valid]...)
		if bad == 0 {
			break
		}
		dst = append(dst, replacement...)
		src = src[valid+bad:]
	}
	return dst
}

const replacement = "\uFFFD"

// validUTF8 is utf8.Valid, quicker on the short ASCII data of most events:
// isASCII looks at 16 bytes a step, and utf8.Valid runs only for data that
// is long (where it is quicker) or not ASCII.
func validUTF8(b []byte) bool {
	if len(b) > 192 {
		return utf8.Valid(b)
	}
	return isASCII(b) || utf8.Valid(b)
}

// isASCII reports whether every byte of b is below 0x80, 16 bytes a step.
func isASCII(b []byte) bool {
	var or uint64
	if len(b) >= 8 {
		rest := b
		for len(rest) >= 16 {
			or |= binary.LittleEndian.Uint64(rest) | binary.LittleEndian.Uint64(rest[8:])
			rest = rest[16:]
		}
		if len(rest) >= 8 {
			or |= binary.LittleEndian.Uint64(rest)
		}
		or |= binary.LittleEndian.Uint64(b[len(b)-8:]) // the last 0 to 7 bytes, and some again
	} else {
		for _, c := range b {
			or |= uint64(c)
		}
	}
	return or&0x8080808080808080 == 0
}

// isPlainASCII reports whether b, an event ID, is ASCII without NUL: it
// can be used as it is.
func isPlainASCII(b []byte) bool {
	for _, c := range b {
		if c-1 >= utf8.RuneSelf-1 {
			return false
		}
	}
	return true
}

// cutValid returns the length of the valid UTF-8 at the start of s, and the
// length of the maximal invalid subpart after it, 0 at the end of s.
func cutValid(s []byte) (valid, bad int) {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i, invalidPrefixLen(s[i:])
		}
		i += n
	}
	return len(s), 0
}

// invalidPrefixLen returns the length of the maximal subpart of an invalid
// UTF-8 sequence at the start of s: its lead byte and the continuation
// bytes that could still have made it valid.
func invalidPrefixLen(s []byte) int {
	var need int
	switch b := s[0]; {
	case b >= 0xc2 && b <= 0xdf:
		need = 1
	case b >= 0xe0 && b <= 0xef:
		need = 2
	case b >= 0xf0 && b <= 0xf4:
		need = 3
	default:
		return 1
	}
	// The first continuation byte has a narrower range after these leads:
	// no overlong forms, no surrogates, nothing past U+10FFFF.
	lo, hi := byte(0x80), byte(0xbf)
	switch s[0] {
	case 0xe0:
		lo = 0xa0
	case 0xed:
		hi = 0x9f
	case 0xf0:
		lo = 0x90
	case 0xf4:
		hi = 0x8f
	}
	n := 1
	for n <= need && n < len(s) && s[n] >= lo && s[n] <= hi {
		lo, hi = 0x80, 0xbf
		n++
	}
	return n
}
