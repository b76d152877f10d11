package containers

import (
	"bytes"
	"testing"
)

func TestParseDetachKeys(t *testing.T) {
	cases := map[string][]byte{
		"ctrl-p,ctrl-q": {16, 17},
		"a,ctrl-@":      {'a', 0},
		"ctrl-[":        {27},
		"x":             {'x'},
	}
	for spec, want := range cases {
		got, err := parseDetachKeys(spec)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%q: %v %v, want %v", spec, got, err, want)
		}
	}
	for _, bad := range []string{"ctrl-", "ctrl-1", "ab", "", "ctrl-p,,"} {
		if _, err := parseDetachKeys(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDetachFilter(t *testing.T) {
	for _, c := range []struct {
		keys   []byte
		chunks []string
		fwd    string
		detach bool
	}{
		{nil, []string{"a\x10\x11b"}, "a\x10\x11b", false},
		{[]byte{16, 17}, []string{"ab\x10", "\x11cd"}, "ab", true},
		{[]byte{16, 17}, []string{"a\x10", "x\x10\x10", "\x11"}, "a\x10x\x10", true},
		{[]byte{16, 17}, []string{"a\x10", "b"}, "a\x10b", false},
		{[]byte{3}, []string{"ab\x03c"}, "ab", true},
	} {
		f := detachFilter{keys: c.keys}
		var fwd []byte
		detach := false
		for _, ch := range c.chunks {
			out, d := f.filter([]byte(ch))
			fwd = append(fwd, out...)
			if d {
				detach = true
				break
			}
		}
		if string(fwd) != c.fwd || detach != c.detach {
			t.Errorf("keys %q chunks %q: forwarded %q detach %v, want %q %v", c.keys, c.chunks, fwd, detach, c.fwd, c.detach)
		}
	}
}
