package images

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/jsonstream"
)

// Message is one line of Docker's JSON progress stream, as the docker CLI renders it.
type Message struct {
	Stream      string               `json:"stream,omitempty"`
	Status      string               `json:"status,omitempty"`
	Detail      *jsonstream.Progress `json:"progressDetail,omitempty"`
	Progress    string               `json:"progress,omitempty"`
	ID          string               `json:"id,omitempty"`
	ErrorDetail *jsonstream.Error    `json:"errorDetail,omitempty"`
	Error       string               `json:"error,omitempty"`
	// Aux carries a result beside the progress (a push's tag, digest and size).
	Aux any `json:"aux,omitempty"`
}

// ErrorMessage is the message that ends a stream with err.
func ErrorMessage(err error) Message {
	return Message{ErrorDetail: &jsonstream.Error{Message: err.Error()}, Error: err.Error()}
}

// ProgressFunc receives the messages of a pull, load or import; the store calls it from one goroutine at a time.
type ProgressFunc func(Message)

// serialized makes out safe to call from several goroutines.
func serialized(out ProgressFunc) ProgressFunc {
	if out == nil {
		return func(Message) {}
	}
	var mu sync.Mutex
	return func(m Message) {
		mu.Lock()
		defer mu.Unlock()
		out(m)
	}
}

func status(id, text string) Message { return Message{ID: id, Status: text} }

// zeroProgress is the empty progressDetail ({}) Docker sends with "Pulling fs layer".
func zeroProgress() *jsonstream.Progress { return &jsonstream.Progress{} }

// progressMessage is a "Downloading" or "Extracting" line with its detail and bar.
func progressMessage(id, action string, current, total int64, start time.Time) Message {
	d := &jsonstream.Progress{Current: current, Total: total, Start: start.Unix()}
	return Message{ID: id, Status: action, Detail: d, Progress: progressBar(d, time.Now())}
}

// progressBar renders Docker's bar for a 200-column terminal, as the daemon does.
func progressBar(p *jsonstream.Progress, now time.Time) string {
	if p.Current <= 0 && p.Total <= 0 {
		return ""
	}
	if p.Total <= 0 {
		return fmt.Sprintf("%8v", units.HumanSize(float64(p.Current)))
	}
	pct := min(int(float64(p.Current)/float64(p.Total)*100)/2, 50)
	bar := fmt.Sprintf("[%s>%s] ", strings.Repeat("=", pct), strings.Repeat(" ", max(50-pct, 0)))
	numbers := fmt.Sprintf("%8v/%v", units.HumanSize(float64(p.Current)), units.HumanSize(float64(p.Total)))
	if p.Current > p.Total {
		numbers = fmt.Sprintf("%8v", units.HumanSize(float64(p.Current)))
	}
	left := ""
	if p.Current > 0 && p.Start > 0 && pct < 50 {
		perByte := now.Sub(time.Unix(p.Start, 0)) / time.Duration(p.Current)
		left = " " + (time.Duration(p.Total-p.Current) * perByte).Round(time.Second).String()
	}
	return bar + numbers + left
}

// progressReader reports what has been read through it, at most every 100ms, and once at the end.
type progressReader struct {
	r      io.Reader
	id     string
	action string
	total  int64
	n      int64
	start  time.Time
	last   time.Time
	out    ProgressFunc
}

func newProgressReader(r io.Reader, id, action string, total int64, out ProgressFunc) *progressReader {
	return &progressReader{r: r, id: id, action: action, total: total, start: time.Now(), out: out}
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.advance(n, err)
	return n, err
}

// advance counts n more bytes read (err is the read's error) and reports them when it is time.
func (p *progressReader) advance(n int, err error) {
	p.n += int64(n)
	if n > 0 && (p.last.IsZero() || time.Since(p.last) >= 100*time.Millisecond || err == io.EOF) {
		p.last = time.Now()
		p.out(progressMessage(p.id, p.action, p.n, p.total, p.start))
	}
}
