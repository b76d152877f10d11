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
	end, err := completeEnd(f, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	start := int64(0)
	if opts.Tail >= 0 {
		if start, err = tailStart(f, end, opts.Tail); err != nil {
			f.Close()
			return nil, err
		}
	}
	return &logFileReader{f: f, lines: bufio.NewReader(io.NewSectionReader(f, start, end-start)),
		filter: LogFilter{Opts: opts}}, nil
}

// completeEnd is the end of the complete lines of the file's first size bytes: just after its last newline.
func completeEnd(f *os.File, size int64) (int64, error) {
	buf := make([]byte, min(size, logChunk))
	for end := size; end > 0; {
		n := min(end, logChunk)
		if _, err := f.ReadAt(buf[:n], end-n); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return end - n + int64(i) + 1, nil
		}
		end -= n
	}
	return 0, nil
}

// tailStart is where the last tail non-empty lines of the file's complete lines (up to end, just after a
// newline) begin; 0 when there are no more than tail.
func tailStart(f *os.File, end, tail int64) (int64, error) {
	if tail == 0 || end == 0 {
		return end, nil
	}
	buf := make([]byte, min(end, logChunk))
	var seen int64
	lineEnd := end // the end of the line being scanned back over, its newline included
	// The byte at end-1 is that line's newline: the scan starts before it.
	for pos := end - 1; pos > 0; {
		n := min(pos, logChunk)
		if _, err := f.ReadAt(buf[:n], pos-n); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := n - 1; i >= 0; i-- {
			if buf[i] != '\n' {
				continue
			}
			begin := pos - n + int64(i) + 1
			if lineEnd-begin > 1 { // more than its newline
				if seen++; seen == tail {
					return begin, nil
				}
			}
			lineEnd = begin
		}
		pos -= n
	}
	return 0, nil
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
