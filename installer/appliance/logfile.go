package appliance

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sync"
)

// DefaultLogSize bounds each log file of the state directory; one older generation (".1") is kept.
const DefaultLogSize = 4 << 20

// Log file names in <state>/logs.
const (
	LogDir        = "logs"
	InitLogName   = "init.log"
	EngineLogName = "vice-engine.log"
)

// validLogName is what the admin portal serves from the log directory.
var validLogName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*\.log$`)

// LogFile is an append-only log of bounded size: when a write would take it past its limit it becomes the
// ".1" generation (replacing the previous one) and a new file is started.
type LogFile struct {
	mu   sync.Mutex
	path string
	max  int64
	f    *os.File
	size int64
}

var _ io.Writer = (*LogFile)(nil)

// OpenLogFile opens (appending to) or creates the log at path.
func OpenLogFile(path string, max int64) (*LogFile, error) {
	if max <= 0 {
		max = DefaultLogSize
	}
	l := &LogFile{path: path, max: max}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *LogFile) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size = f, st.Size()
	return nil
}

// Write appends p, rotating first when p would not fit.
func (l *LogFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	if l.size > 0 && l.size+int64(len(p)) > l.max {
		l.f.Close()
		l.f = nil
		if err := os.Rename(l.path, l.path+".1"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, err
		}
		if err := l.open(); err != nil {
			return 0, err
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// Close closes the file; later writes fail.
func (l *LogFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// readLog is the whole of a log: its older generation, then the current file.
func readLog(path string) ([]byte, error) {
	var buf bytes.Buffer
	for _, p := range []string{path + ".1", path} {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(&buf, f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	if buf.Len() == 0 {
		if _, err := os.Stat(path); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// listLogs names the logs of dir that the portal serves.
func listLogs(dir string) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	var names []string
	for _, m := range matches {
		if n := filepath.Base(m); validLogName.MatchString(n) {
			names = append(names, n)
		}
	}
	return names
}

// tail keeps the last bytes written to it, for error messages.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}

func (t *tail) Reset() {
	t.mu.Lock()
	t.buf = t.buf[:0]
	t.mu.Unlock()
}
