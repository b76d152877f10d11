package machine

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

func TestPromptPassword(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	var out bytes.Buffer
	type result struct {
		pw  string
		err error
	}
	done := make(chan result, 1)
	go func() {
		pw, err := promptPassword(tty, &out, "admin", "vc.example.com")
		done <- result{pw, err}
	}()
	go io.Copy(io.Discard, ptmx) // whatever the terminal echoes
	time.Sleep(100 * time.Millisecond)
	if _, err := ptmx.Write([]byte("s3cret\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.pw != "s3cret" {
			t.Fatalf("password %q, %v", r.pw, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the prompt did not return")
	}
	if !strings.Contains(out.String(), "Password for admin@vc.example.com: ") {
		t.Errorf("prompt %q", out.String())
	}

	// Not a terminal: no prompt, no password.
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if pw, err := promptPassword(f, &out, "admin", "host"); pw != "" || err != nil {
		t.Errorf("prompt on /dev/null: %q %v", pw, err)
	}
}
