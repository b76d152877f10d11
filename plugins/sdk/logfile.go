package sdk

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
)

// logChunk is how much of an output log's end is read at a time while looking for where a tail begins.
const logChunk = 64 << 10

// OpenLogFile opens the output log at path and returns what SelectLog would of its content now, read as it is
// needed: a tail is found from the file's end, and no more than a line is held at a time, so a large log costs
// no more memory than a small one. What is appended after the open is left to a follower.
func OpenLogFile(path string, opts LogOptions) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	start, end, err := logBounds(f, st.Size(), opts.Tail)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &logFileReader{f: f, lines: bufio.NewReader(io.NewSectionReader(f, start, end-start)),
		filter: LogFilter{Opts: opts}}, nil
}

// logBounds is where the records to read of the file's first size bytes begin and end, in one scan back from
// its end: they end just after its last newline (what follows is still being written) and begin with the last
// tail non-empty lines (at 0 for a negative tail, or when there are no more).
func logBounds(f *os.File, size, tail int64) (start, end int64, err error) {
	end = -1
	var lineEnd, seen int64 // the end of the line being scanned back over, its newline included
	err = eachNewlineBack(f, size, func(at int64) bool {
		if end < 0 {
			end, lineEnd = at+1, at+1
			if tail == 0 {
				start = end
			}
			return tail > 0
		}
		begin := at + 1
		if lineEnd-begin > 1 { // more than its newline
			if seen++; seen == tail {
				start = begin
				return false
			}
		}
		lineEnd = begin
		return true
	})
	if end < 0 {
		return 0, 0, err
	}
	return start, end, err
}

// eachNewlineBack calls fn with the offset of each newline of the file's first size bytes, the last first,
// until fn returns false.
func eachNewlineBack(f *os.File, size int64, fn func(at int64) bool) error {
	buf := make([]byte, min(size, logChunk))
	for pos := size; pos > 0; {
		n := min(pos, logChunk)
		if _, err := f.ReadAt(buf[:n], pos-n); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		for i := n - 1; i >= 0; i-- {
			if buf[i] == '\n' && !fn(pos-n+int64(i)) {
				return nil
			}
		}
		pos -= n
	}
	return nil
}

// logFileReader reads the selected records of an output log a line at a time.
type logFileReader struct {
	f      *os.File
	lines  *bufio.Reader
	filter LogFilter
	out    bytes.Buffer
	done   bool
}

func (r *logFileReader) Read(p []byte) (int, error) {
	for r.out.Len() == 0 {
		if r.done {
			return 0, io.EOF
		}
		line, err := r.lines.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			if l := line[:len(line)-1]; len(l) > 0 && !r.filter.append(&r.out, [][]byte{l}) {
				r.done = true
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return 0, err
			}
			r.done = true
		}
	}
	return r.out.Read(p)
}

func (r *logFileReader) Close() error { return r.f.Close() }
