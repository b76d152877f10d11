package vsphere

import (
	"net"
	"sync"
	"time"
)

// lineSession is one SSH session's use of a serial line that outlives it: closing it ends the session's
// reads and writes (those under way are woken, and wait no longer) and leaves the line open for the next
// session, which the tether offers on the same connection.
type lineSession struct {
	net.Conn
	mu     sync.Mutex
	closed bool
	active sync.WaitGroup
	once   sync.Once
}

func newLineSession(c net.Conn) *lineSession { return &lineSession{Conn: c} }

func (s *lineSession) begin() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return net.ErrClosed
	}
	s.active.Add(1)
	return nil
}

func (s *lineSession) Read(p []byte) (int, error) {
	if err := s.begin(); err != nil {
		return 0, err
	}
	defer s.active.Done()
	return s.Conn.Read(p)
}

func (s *lineSession) Write(p []byte) (int, error) {
	if err := s.begin(); err != nil {
		return 0, err
	}
	defer s.active.Done()
	return s.Conn.Write(p)
}

// Close ends the session, not the line: once it returns (to every caller, the SSH library's own included),
// nothing of the session touches the line again, its deadlines included.
func (s *lineSession) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		_ = s.Conn.SetDeadline(time.Unix(1, 0)) // wakes what is blocked on the line
		s.active.Wait()
		_ = s.Conn.SetDeadline(time.Time{})
	})
	return nil
}
