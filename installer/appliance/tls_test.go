package appliance

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vice-engine/vice/installer/vchwire"
)

// The appliance waits for the certificates, reporting an unusable value, and writes them once they come;
// the key only root may read.
func TestWaitTLS(t *testing.T) {
	pki := newPKI(t)
	gi := newFakeGuestInfo()
	state := t.TempDir()
	a := &appliance{o: Options{GuestInfo: gi, State: state, TLSPoll: 10 * time.Millisecond},
		log: slog.New(slog.DiscardHandler), status: newReporter(gi, slog.New(slog.DiscardHandler)), secrets: &secrets{gi: gi}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	type result struct {
		m   *material
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := a.waitTLS(ctx, vchwire.TLSVerify)
		done <- result{m, err}
	}()
	waitFor(t, "a few polls", 5*time.Second, func() bool {
		gi.mu.Lock()
		defer gi.mu.Unlock()
		return gi.gets[vchwire.KeyApplianceTLS] >= 3
	})
	// Verify mode needs the CA; the server key must be sealed, to this VM's key.
	other := newFakeGuestInfo()
	inClear := pki.wire(t, gi, true)
	inClear.ServerKey = vchwire.Sealed(pki.serverKey)
	for what, v := range map[string]vchwire.ApplianceTLS{
		"no CA": pki.wire(t, gi, false), "a key in clear": inClear, "another VM's key": pki.wire(t, other, true),
	} {
		gi.mu.Lock()
		gi.statuses = nil
		gi.mu.Unlock()
		gi.put(t, vchwire.KeyApplianceTLS, v)
		waitFor(t, what+" to be reported", 5*time.Second, func() bool { return gi.status().Error != "" })
		if e := gi.status().Error; strings.Contains(e, "PRIVATE KEY") {
			t.Errorf("%s: the error shows the key: %s", what, e)
		}
		t.Logf("%s: %s", what, gi.status().Error)
		select {
		case r := <-done:
			t.Fatalf("accepted certificates with %s: %v", what, r.err)
		default:
		}
	}
	gi.put(t, vchwire.KeyApplianceTLS, pki.wire(t, gi, true))
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !r.m.covers("127.0.0.1") || r.m.covers("10.9.9.9") {
		t.Error("covers() is wrong")
	}
	server := &serverTLS{}
	if err := a.installTLS(r.m, "127.0.0.1", server); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]struct {
		data string
		mode os.FileMode
	}{
		CACertFile: {pki.caPEM, 0o644}, ServerCertFile: {pki.serverCert, 0o644}, ServerKeyFile: {pki.serverKey, 0o600},
	} {
		p := filepath.Join(state, name)
		b, err := os.ReadFile(p)
		st, _ := os.Stat(p)
		if err != nil || string(b) != want.data || st.Mode().Perm() != want.mode {
			t.Errorf("%s: mode %v, %v", name, st.Mode(), err)
		}
	}
	broken, _ := json.Marshal(vchwire.ApplianceTLS{ServerCert: "x", ServerKey: gi.seal(t, vchwire.SecretServerKey, pki.serverKey)})
	if _, err := parseTLS(ctx, string(broken), vchwire.TLSServer, a.secrets); err == nil {
		t.Error("a broken pair was accepted")
	}
	if _, err := parseTLS(ctx, `{`, vchwire.TLSServer, a.secrets); err == nil {
		t.Error("bad JSON was accepted")
	}

	// Cancelled while waiting.
	gi2 := newFakeGuestInfo()
	a.o.GuestInfo = gi2
	a.status = newReporter(gi2, a.log)
	a.secrets = &secrets{gi: gi2}
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if _, err := a.waitTLS(cctx, vchwire.TLSServer); err == nil {
		t.Error("waitTLS returned without certificates")
	}
}

func TestSelfSigned(t *testing.T) {
	c, err := selfSigned("127.64.0.9")
	if err != nil {
		t.Fatal(err)
	}
	m := &material{cert: c}
	if !m.covers("127.64.0.9") {
		t.Error("self-signed certificate does not name its address")
	}
}
