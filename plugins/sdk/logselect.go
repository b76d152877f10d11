package sdk

import (
	"bytes"
	"encoding/json"
	"io"
	"time"
)

// A container's output log is newline-delimited LogRecord objects, oldest first, as the guest appends them:
// the answer of GET /containers/{id}/logs, and the file a ContainerInfo's logFile names. The helpers here
// select from it what LogOptions ask for, the same way for a backend that serves the log and for a client
// that reads the file itself.

// LogLines returns the complete, non-empty lines of data, an output log from its start (without their
// newlines), the last tail of them when tail is not negative, and the incomplete rest, still being written.
func LogLines(data []byte, tail int64) (lines [][]byte, rest []byte) {
	end := bytes.LastIndexByte(data, '\n')
	if end < 0 {
		return nil, data
	}
	for l := range bytes.SplitSeq(data[:end], []byte{'\n'}) {
		if len(l) > 0 {
			lines = append(lines, l)
		}
	}
	if tail >= 0 && int64(len(lines)) > tail {
		lines = lines[int64(len(lines))-tail:]
	}
	return lines, append([]byte(nil), data[end+1:]...)
}

// LogFilter applies since and until to the lines of an output log.
type LogFilter struct {
	Opts LogOptions
	// Done says a record at or after until was seen, so nothing later can qualify, or a write failed.
	Done bool
}

// Write writes the selected lines, each with its newline, in one write; false means until was reached.
func (f *LogFilter) Write(w io.Writer, lines [][]byte) bool {
	var out bytes.Buffer
	more := f.append(&out, lines)
	if out.Len() > 0 {
		if _, err := w.Write(out.Bytes()); err != nil {
			f.Done = true
		}
	}
	return more
}

func (f *LogFilter) append(out *bytes.Buffer, lines [][]byte) bool {
	for _, line := range lines {
		var rec struct {
			Time time.Time `json:"time"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			continue // not a record (a torn write at a crash): skip it rather than fail the stream
		}
		if !f.Opts.Until.IsZero() && !rec.Time.Before(f.Opts.Until) {
			f.Done = true
			return false
		}
		if !f.Opts.Since.IsZero() && rec.Time.Before(f.Opts.Since) {
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return true
}

// SelectLog is what a read of the log that does not follow answers: the records of data, an output log
// from its start, that opts select (tail, since, until), as newline-delimited lines.
func SelectLog(data []byte, opts LogOptions) []byte {
	lines, _ := LogLines(data, opts.Tail)
	var out bytes.Buffer
	f := LogFilter{Opts: opts}
	f.append(&out, lines)
	return out.Bytes()
}
