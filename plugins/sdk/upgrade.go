package sdk

import (
	"bufio"
	"fmt"
	"net"
	"net/http"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Upgrade hijacks an exchange for a full-duplex stream and answers it with 101. Over the plugin transport
// the hijack itself sends the 101; over plain HTTP (the debug listener) the status line is written here.
func Upgrade(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("this connection cannot be upgraded: %w", errdefs.ErrNotImplemented)
	}
	w.Header().Set("Connection", "Upgrade")
	w.Header().Set("Upgrade", "tcp")
	_, selfAnswering := w.(interface{ Upgrades() bool })
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	if !selfAnswering {
		if _, err := rw.WriteString("HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"); err != nil {
			conn.Close()
			return nil, nil, err
		}
		if err := rw.Flush(); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	return conn, rw, nil
}
