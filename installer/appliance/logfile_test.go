package appliance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogFileRotates(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	l, err := OpenLogFile(p, 100)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("a", 39) + "\n"
	for i := range 6 {
		if _, err := l.Write([]byte(line[:len(line)-2] + string(rune('0'+i)) + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	cur, _ := os.ReadFile(p)
	old, _ := os.ReadFile(p + ".1")
	if len(cur) > 100 || len(old) > 100 || len(cur)+len(old) != 160 {
		t.Errorf("sizes %d and %d", len(cur), len(old))
	}
	all, err := readLog(p)
	if err != nil || !strings.HasSuffix(string(all), "5\n") || !strings.HasPrefix(string(all), strings.Repeat("a", 38)+"2") {
		t.Errorf("readLog %q %v", all, err)
	}
	if _, err := l.Write([]byte("x")); err == nil {
		t.Error("write after close")
	}
	if got := listLogs(dir); len(got) != 1 || got[0] != "x.log" {
		t.Errorf("listLogs %v", got)
	}
	if _, err := readLog(filepath.Join(dir, "none.log")); err == nil {
		t.Error("read a missing log")
	}

	tl := &tail{max: 8}
	tl.Write([]byte("hello "))
	tl.Write([]byte("world\n"))
	if tl.String() != "o world" {
		t.Errorf("tail %q", tl.String())
	}
}
