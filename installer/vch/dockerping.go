package vch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/vice-engine/vice/installer/vchwire"
)

// pingDocker checks that the appliance's Docker API answers GET /_ping, with the client certificate in
// vchwire.TLSVerify mode. It retries until ctx ends: the engine may take a moment after the appliance says running.
func (m *Manager) pingDocker(ctx context.Context, st *vchwire.ApplianceStatus, t *tlsMaterial) error {
	addr := dockerAddr(st, t.mode)
	host, _, _ := net.SplitHostPort(addr)
	scheme := "https"
	tr := &http.Transport{DisableKeepAlives: true}
	if t.mode == vchwire.TLSOff {
		scheme = "http"
	} else {
		cfg, err := t.clientConfig(host)
		if errors.Is(err, errNoClientCert) {
			m.log().Warnf("Docker API check SKIPPED - no client certificate in %s", t.folder.Dir)
			return nil
		}
		if err != nil {
			return err
		}
		tr.TLSClientConfig = cfg
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	url := fmt.Sprintf("%s://%s/_ping", scheme, addr)
	m.log().Infof("Checking the Docker API at %s", url)
	var lastErr error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				m.log().Infof("Docker API endpoint check OK")
				return nil
			}
			err = fmt.Errorf("%s: %s", resp.Status, body)
		}
		lastErr = err
		m.log().Debugf("Docker API not answering yet: %v", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("the Docker API at %s does not answer: %v; check that the workstation can reach %s "+
				"(firewall, routes) and look at the appliance's console log", url, lastErr, addr)
		case <-time.After(m.poll()):
		}
	}
}
