package plugintest

import (
	"bytes"
	"io"
	"sync"
	"testing"

	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

var busybox = sync.OnceValues(func() ([]byte, error) {
	l, err := fixtures.BusyboxLayer()
	if err != nil {
		return nil, err
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
})

// Busybox is a busybox root filesystem as an uncompressed layer tar: /bin/busybox (Debian's busybox-static)
// with a symlink per applet, and /etc/passwd and /etc/group, the layer of the e2e fixtures' busybox image.
func Busybox(t testing.TB) io.Reader {
	t.Helper()
	b, err := busybox()
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}
