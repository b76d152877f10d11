package guestinfo

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// fakeHypervisor answers backdoor calls as VMware's RPCI host side does, keeping guestinfo in a map, so
// the message protocol is tested without a VM.
type fakeHypervisor struct {
	t         *testing.T
	guestinfo map[string]string
	size      int
	in        []byte
	reply     []byte
	pos       int
}

const fakeChannel, fakeCookieHigh, fakeCookieLow = 7, 0x1234, 0x5678

func (h *fakeHypervisor) bdoor(r *bdoorRegs) {
	if uint32(r.ax) != bdoorMagic || uint16(r.dx) != bdoorPort || uint16(r.cx) != bdoorCmdMessage {
		h.t.Fatalf("bad backdoor call %+v", r)
	}
	sub := uint32(r.cx) >> 16
	r.cx = msgStatusSuccess << 16
	if sub == msgOpen {
		if uint32(r.bx) != rpciProtocol|guestMsgCookies {
			h.t.Fatalf("open with %#x", r.bx)
		}
		r.dx, r.si, r.di = fakeChannel<<16, fakeCookieHigh, fakeCookieLow
		return
	}
	if uint32(r.dx)>>16 != fakeChannel || r.si != fakeCookieHigh || r.di != fakeCookieLow {
		h.t.Fatalf("call on the wrong channel %+v", r)
	}
	switch sub {
	case msgSendSize:
		h.size, h.in = int(r.bx), nil
	case msgSendPayload:
		h.in = binary.LittleEndian.AppendUint32(h.in, uint32(r.bx))
		if len(h.in) >= h.size {
			h.reply, h.pos = []byte(h.handle(string(h.in[:h.size]))), 0
		}
	case msgRecvSize:
		r.cx = (msgStatusSuccess | msgStatusDoRecv) << 16
		r.bx = uint64(len(h.reply))
	case msgRecvPayload:
		var word [4]byte
		copy(word[:], h.reply[h.pos:])
		h.pos += 4
		r.bx = uint64(binary.LittleEndian.Uint32(word[:]))
	case msgRecvStatus, msgClose:
	default:
		h.t.Fatalf("unknown message call %d", sub)
	}
}

func (h *fakeHypervisor) handle(cmd string) string {
	if key, ok := strings.CutPrefix(cmd, "info-get "); ok {
		if v, found := h.guestinfo[key]; found {
			return "1 " + v
		}
		return "0 No value found"
	}
	if rest, ok := strings.CutPrefix(cmd, "info-set "); ok {
		key, value, _ := strings.Cut(rest, " ")
		h.guestinfo[key] = value
		return "1 "
	}
	return "0 Unknown command"
}

func TestBackdoorGuestInfo(t *testing.T) {
	h := &fakeHypervisor{t: t, guestinfo: map[string]string{"guestinfo.vice./config": `{"id":"abc"}`}}
	rpc := &backdoorRPC{bdoor: h.bdoor, available: func() bool { return true }}

	v, found, err := guestInfoGet(rpc, "guestinfo.vice./config")
	if err != nil || !found || v != `{"id":"abc"}` {
		t.Fatalf("get: %q %v %v", v, found, err)
	}
	if _, found, err := guestInfoGet(rpc, "guestinfo.missing"); err != nil || found {
		t.Fatalf("missing key: found=%v err=%v", found, err)
	}
	status := `{"state":"running","boot":1,"exitCode":0}`
	if err := guestInfoSet(rpc, "guestinfo.vice../status", status); err != nil {
		t.Fatal(err)
	}
	if got := h.guestinfo["guestinfo.vice../status"]; got != status {
		t.Fatalf("set stored %q", got)
	}
}

func TestBackdoorUnavailable(t *testing.T) {
	rpc := &backdoorRPC{bdoor: func(*bdoorRegs) { t.Fatal("backdoor used outside VMware") }, available: func() bool { return false }}
	if _, _, err := guestInfoGet(rpc, "guestinfo.x"); !errors.Is(err, ErrNotImplemented) {
		t.Fatalf("err %v, want ErrNotImplemented", err)
	}
}

// The real detector must say no on this (non-VMware) test machine rather than fault.
func TestVMwareDetection(t *testing.T) {
	_, _, err := guestInfoGet(newBackdoorRPC(), "guestinfo.x")
	if err == nil {
		t.Skip("running inside a VMware guest")
	}
	if !errors.Is(err, ErrNotImplemented) {
		t.Logf("backdoor error: %v", err)
	}
}
