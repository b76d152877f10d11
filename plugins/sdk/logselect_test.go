package sdk_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
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

// TestOpenLogFile checks that reading a log file as it is needed answers what SelectLog answers of its
// content, for logs whose lines cross the reads from the file's end.
func TestOpenLogFile(t *testing.T) {
	base := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 40 {
		var b bytes.Buffer
		n := rng.IntN(400)
		for i := range n {
			switch rng.IntN(20) {
			case 0:
				b.WriteString("\n") // an empty line
			case 1:
				b.WriteString(`{"log":"torn` + "\n") // not a record
			case 2:
				b.WriteString(logLine(strings.Repeat("x", 70<<10), base.Add(time.Duration(i)*time.Second)) + "\n")
			default:
				b.WriteString(logLine(fmt.Sprintf("line %d", i), base.Add(time.Duration(i)*time.Second)) + "\n")
			}
		}
		if rng.IntN(2) == 0 {
			b.WriteString(`{"log":"still being wri`) // the last line, not complete yet
		}
		path := filepath.Join(t.TempDir(), "output.log")
		if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, opts := range []sdk.LogOptions{
			{Tail: -1}, {Tail: 0}, {Tail: 1}, {Tail: int64(rng.IntN(n + 2))}, {Tail: int64(n + 5)},
			{Tail: -1, Since: base.Add(time.Duration(rng.IntN(n+1)) * time.Second)},
			{Tail: int64(rng.IntN(n + 2)), Until: base.Add(time.Duration(rng.IntN(n+1)) * time.Second)},
		} {
			rc, err := sdk.OpenLogFile(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(iotest.HalfReader(rc))
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if want := sdk.SelectLog(b.Bytes(), opts); !bytes.Equal(got, want) {
				t.Fatalf("round %d, %+v: %d bytes, SelectLog gives %d", round, opts, len(got), len(want))
			}
		}
	}
	if _, err := sdk.OpenLogFile(filepath.Join(t.TempDir(), "none"), sdk.LogOptions{Tail: -1}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a missing file: %v", err)
	}
}
