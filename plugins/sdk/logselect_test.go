package sdk_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/vice-engine/vice/plugins/sdk"
)

func logLine(msg string, at time.Time) string {
	return `{"log":"` + msg + `\n","stream":"stdout","time":"` + at.Format(time.RFC3339Nano) + `"}`
}

func TestSelectLog(t *testing.T) {
	base := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	one, two, three := logLine("one", base), logLine("two", base.Add(time.Second)), logLine("three", base.Add(2*time.Second))
	// A torn record (a crash mid-write) and an empty line are skipped; the last line is still being written.
	data := []byte(one + "\n" + `{"log":"to` + "\n\n" + two + "\n" + three + "\n" + `{"log":"fo`)
	for _, tc := range []struct {
		name string
		opts sdk.LogOptions
		want []string
	}{
		{"all", sdk.LogOptions{Tail: -1}, []string{one, two, three}},
		{"tail", sdk.LogOptions{Tail: 2}, []string{two, three}},
		{"tail 0", sdk.LogOptions{Tail: 0}, nil},
		{"since", sdk.LogOptions{Tail: -1, Since: base.Add(time.Second)}, []string{two, three}},
		{"until", sdk.LogOptions{Tail: -1, Until: base.Add(time.Second)}, []string{one}},
		{"tail then since", sdk.LogOptions{Tail: 1, Since: base.Add(time.Second)}, []string{three}},
	} {
		got := sdk.SelectLog(data, tc.opts)
		want := ""
		if tc.want != nil {
			want = strings.Join(tc.want, "\n") + "\n"
		}
		if string(got) != want {
			t.Errorf("%s: %q, want %q", tc.name, got, want)
		}
	}
	if lines, rest := sdk.LogLines(data, -1); len(lines) != 4 || !bytes.Equal(rest, []byte(`{"log":"fo`)) {
		t.Errorf("LogLines: %d lines, rest %q", len(lines), rest)
	}
}
