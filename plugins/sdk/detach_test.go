package sdk

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
		got, err := ParseDetachKeys(spec)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%q: %v %v, want %v", spec, got, err, want)
		}
	}
	for _, bad := range []string{"ctrl-", "ctrl-1", "ab", "", "ctrl-p,,"} {
		if _, err := ParseDetachKeys(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
