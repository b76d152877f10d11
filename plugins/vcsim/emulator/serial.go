package emulator

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"time"
)

// runSerial connects the VM's network-backed serial port for as long as ctx lasts: it dials the port's
// ServiceURI (the VCH), joins each connection to the guest's serial socket, and dials again when either side
// hangs up. The VCH may go away and come back; the guest keeps running and gets a fresh line each time.
func runSerial(ctx context.Context, log *slog.Logger, serviceURI, guestSock string) {
	log = log.With("serviceURI", serviceURI)
	u, err := url.Parse(serviceURI)
	if err != nil || u.Host == "" || (u.Scheme != "tcp" && u.Scheme != "telnet") {
		log.Warn("serial port backing not supported; the line stays unconnected", "err", err)
		return
	}
	var d net.Dialer
	backoff := minBackoff
	for ctx.Err() == nil {
		vch, err := d.DialContext(ctx, "tcp", u.Host)
		if err != nil {
			log.Debug("serial line: VCH not reachable", "err", err, "retryIn", backoff)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		guest, err := d.DialContext(ctx, "unix", guestSock)
		if err != nil {
			vch.Close()
			log.Warn("serial line: guest socket", "err", err)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		log.Debug("serial line connected")
		began := time.Now()
		splice(ctx, vch, guest)
		log.Debug("serial line hung up", "after", time.Since(began).Round(time.Millisecond))
		// A line that held for a while earns a quick redial; one dropped at once is backed off, so a VCH that
		// accepts and closes is not dialled in a tight loop.
		if time.Since(began) > maxBackoff {
			backoff = minBackoff
		}
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// splice copies both ways until either side ends or ctx does, then closes both.
func splice(ctx context.Context, a, b net.Conn) {
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			a.Close()
			b.Close()
		})
	}
	stop := context.AfterFunc(ctx, closeBoth)
	defer stop()
	var wg sync.WaitGroup
	wg.Add(2)
	for _, p := range [][2]net.Conn{{a, b}, {b, a}} {
		go func() {
			defer wg.Done()
			_, _ = io.Copy(p[0], p[1])
			closeBoth()
		}()
	}
	wg.Wait()
}
