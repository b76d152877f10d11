package machine

import (
	"bytes"
	"testing"
	"time"
)

func TestShellQuote(t *testing.T) {
	got := formatCommand([]string{"vice-machine", "create", "--name", "vch1", "--bridge-network", "VCH Bridge", "--x", "it's"})
	want := "vice-machine create \\\n    --name vch1 \\\n    --bridge-network 'VCH Bridge' \\\n    --x 'it'\\''s'"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestUpgradeStatus(t *testing.T) {
	for _, tc := range [][3]string{
		{"v1.0.0", "v1.0.0", "Up to date"},
		{"v1.0.0", "v1.1.0", "Upgradeable to v1.1.0"},
		{"v1.10.0-3-gabc", "v1.9.2", "Newer than installer version v1.9.2"},
		{"e2e-2", "e2e-1", "Upgradeable to e2e-1"}, // not comparable: offer it
		{"", "v1", "Unknown version"},
	} {
		if got := upgradeStatus(tc[0], tc[1]); got != tc[2] {
			t.Errorf("%s vs %s: %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}

func TestLoggerFormat(t *testing.T) {
	var b bytes.Buffer
	l := NewLogger(&b, false)
	l.now = func() time.Time { return time.Date(2026, 11, 22, 23, 40, 1, 123e6, time.UTC) }
	l.Infof(`Creating resource pool %q`, "vch1")
	l.Warnf("two\nlines")
	l.Debugf("hidden")
	want := "Nov 22 2026 23:40:01.123Z INFO  Creating resource pool \"vch1\"\n" +
		"Nov 22 2026 23:40:01.123Z WARN  two\nNov 22 2026 23:40:01.123Z WARN  lines\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
