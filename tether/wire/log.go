package wire

import "time"

// LogRecord is one line of a container's output log (the file-backed serial port output.log): a JSON object
// per line, as Docker's json-file driver writes, so stream and time are kept for `docker logs`.
type LogRecord struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"` // "stdout" or "stderr"
	Time   time.Time `json:"time"`
}
