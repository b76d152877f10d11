package backendtest

import (
	"strings"
	"testing"

	"github.com/vice-engine/vice/swagger/gen/client/interaction"
)

// echoer copies stdin lines to stdout and stderr until stdin ends, then exits with 3.
var echoer = process{
	args:      []string{"/bin/sh", "-c", `while read l; do echo "out:$l"; echo "err:$l" >&2; done; echo end; exit 3`},
	openStdin: true,
}

// stdin reaches the process; stdout and stderr come back apart; with stdinOnce, closing stdin ends the
// process's stdin, and the stream ends when the process does.
func (s *suite) testAttachStdio(t *testing.T) {
	p := echoer
	p.stdinOnce = true
	c := s.run(t, p)
	a := s.attach(t, *c.ID, false, attachOpts{stdin: true, stdout: true, stderr: true})
	a.send(t, "one\n")
	a.expect(t, stdout, "out:one\n")
	a.expect(t, stderr, "err:one\n")
	a.send(t, "two\n")
	a.expect(t, stdout, "out:two\n")
	a.closeStdin(t)
	a.expect(t, stdout, "end\n")
	a.waitEnd(t)
	if out, err := a.output(stdout), a.output(stderr); out != "out:one\nout:two\nend\n" || err != "err:one\nerr:two\n" {
		t.Errorf("stdout %q, stderr %q", out, err)
	}
	s.exited(t, *c.ID, 3)
}

// An attachment gets only the streams it asked for, and stdin only when it asked for it.
func (s *suite) testAttachStreams(t *testing.T) {
	c := s.run(t, echoer)
	errOnly := s.attach(t, *c.ID, false, attachOpts{stderr: true})
	errOnly.send(t, "dropped\n") // without stdin, the bytes go nowhere
	outOnly := s.attach(t, *c.ID, false, attachOpts{stdin: true, stdout: true})
	outOnly.send(t, "kept\n")
	outOnly.expect(t, stdout, "out:kept\n")
	errOnly.expect(t, stderr, "err:kept\n")
	for _, a := range []*attachment{outOnly, errOnly} {
		if all := a.output(stdout) + a.output(stderr); strings.Contains(all, "dropped") {
			t.Errorf("stdin of an attachment without stdin reached the process: %q", all)
		}
	}
	if got := outOnly.output(stderr); got != "" {
		t.Errorf("an attachment without stderr got %q", got)
	}
	if got := errOnly.output(stdout); got != "" {
		t.Errorf("an attachment without stdout got %q", got)
	}
}

// shell is an interactive busybox shell on a tty.
var shell = process{args: []string{"/bin/sh"}, tty: true, openStdin: true}

// With a tty the stream is the terminal's raw bytes: the line discipline echoes input and ends lines with
// CR LF, and there is one stream.
func (s *suite) testAttachTTY(t *testing.T) {
	c := s.run(t, shell)
	a := s.attach(t, *c.ID, true, attachOpts{stdin: true, stdout: true, stderr: true})
	a.send(t, "echo hi-$((40+2)); tty\n")
	a.expect(t, stdout, "echo hi-$((40+2)); tty\r\n") // the echo of the input
	a.expect(t, stdout, "hi-42\r\n")
	a.expect(t, stdout, "/dev/pts/")
	a.send(t, "echo to-stderr >&2\n")
	a.expect(t, stdout, "to-stderr\r\n")
	a.send(t, "exit 4\n")
	a.waitEnd(t)
	s.exited(t, *c.ID, 4)
}

func (s *suite) resize(t *testing.T, id string, height, width int64) error {
	_, err := s.pl.Interaction.ResizeContainer(interaction.NewResizeContainerParamsWithContext(ctx(t)).
		WithID(id).WithHeight(height).WithWidth(width))
	return err
}

// A resize reaches the process's terminal.
func (s *suite) testAttachResize(t *testing.T) {
	c := s.run(t, shell)
	if err := s.resize(t, *c.ID, 33, 77); err != nil {
		t.Fatalf("resize: %v", errText(err))
	}
	a := s.attach(t, *c.ID, true, attachOpts{stdin: true, stdout: true})
	a.send(t, "stty size\n")
	a.expect(t, stdout, "33 77\r\n")
	if err := s.resize(t, *c.ID, 50, 120); err != nil {
		t.Fatalf("resize: %v", errText(err))
	}
	a.send(t, "stty size\n")
	a.expect(t, stdout, "50 120\r\n")
	a.send(t, "exit\n")
	a.waitEnd(t)
}

// Closing an attachment ends it and leaves the process running with its stdin open, for the next one; a
// half-close closes stdin only for a process with stdinOnce: this one's ends the attachment after its input
// reached the process, and the process keeps reading.
func (s *suite) testAttachDetach(t *testing.T) {
	c := s.run(t, echoer)
	first := s.attach(t, *c.ID, false, attachOpts{stdin: true, stdout: true})
	first.send(t, "one\n")
	first.expect(t, stdout, "out:one\n")
	first.close(t)
	second := s.attach(t, *c.ID, false, attachOpts{stdin: true, stdout: true})
	second.send(t, "two\n")
	second.expect(t, stdout, "out:two\n")
	if strings.Contains(second.output(stdout), "out:one") {
		t.Errorf("a new attachment replayed earlier output: %q", second.output(stdout))
	}
	second.send(t, "last\n")
	second.closeStdin(t)
	second.waitEnd(t)
	third := s.attach(t, *c.ID, false, attachOpts{stdin: true, stdout: true})
	third.send(t, "three\n")
	third.expect(t, stdout, "out:three\n")
	// The process read the input sent before the half-close, and before the next attachment's.
	if out := strings.Join(lines(s.logs(t, *c.ID, logQuery{}), "stdout"), " "); out != "out:one out:two out:last out:three" {
		t.Errorf("the process's stdout: %q", out)
	}
	if st := s.get(t, *c.ID).State; !st.Running {
		t.Fatalf("closing attachments ended the process: %s", stateText(st))
	}
}
