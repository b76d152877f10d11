package guestinfo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// The VMware backdoor's "low-bandwidth" message protocol (open-vm-tools lib/message), spoken over the I/O
// port with one 32-bit register exchange per step. VMware Tools' rpctool uses it for "info-get" and
// "info-set" on the RPCI channel; so does the tether, without Tools in the guest.
const (
	bdoorMagic      = 0x564D5868
	bdoorPort       = 0x5658
	bdoorCmdMessage = 30

	msgOpen        = 0
	msgSendSize    = 1
	msgSendPayload = 2
	msgRecvSize    = 3
	msgRecvPayload = 4
	msgRecvStatus  = 5
	msgClose       = 6

	msgStatusSuccess = 0x0001
	msgStatusDoRecv  = 0x0002

	rpciProtocol    = 0x49435052 // "RPCI"
	guestMsgCookies = 0x80000000
)

// bdoorRegs are the registers of one backdoor call, in and out.
type bdoorRegs struct {
	ax, bx, cx, dx, si, di uint64
}

// backdoorRPC runs RPCI commands through a backdoor call; bdoor is the I/O-port instruction, or a fake in
// tests.
type backdoorRPC struct {
	bdoor func(*bdoorRegs)
	// available says whether this CPU is a VMware guest; a backdoor call elsewhere faults.
	available func() bool
}

// channel is an open message channel: its id and the cookies that authenticate each call.
type channel struct {
	rpc        *backdoorRPC
	id         uint32
	cookieHigh uint32
	cookieLow  uint32
}

func (r *backdoorRPC) call(ch *channel, sub uint32, bx uint32) bdoorRegs {
	regs := bdoorRegs{ax: bdoorMagic, bx: uint64(bx), cx: uint64(sub<<16 | bdoorCmdMessage), dx: bdoorPort}
	if ch != nil {
		regs.dx |= uint64(ch.id) << 16
		regs.si, regs.di = uint64(ch.cookieHigh), uint64(ch.cookieLow)
	}
	r.bdoor(&regs)
	return regs
}

func ok(regs bdoorRegs) bool { return uint32(regs.cx)>>16&msgStatusSuccess != 0 }

// Command sends one RPCI command and returns the reply, for example "1 value" for an info-get.
func (r *backdoorRPC) Command(cmd string) (string, error) {
	if r.available == nil || !r.available() {
		return "", fmt.Errorf("vmware backdoor: not a VMware guest: %w", ErrNotImplemented)
	}
	regs := r.call(nil, msgOpen, rpciProtocol|guestMsgCookies)
	if !ok(regs) {
		return "", errors.New("vmware backdoor: cannot open the RPCI channel")
	}
	ch := &channel{rpc: r, id: uint32(regs.dx) >> 16, cookieHigh: uint32(regs.si), cookieLow: uint32(regs.di)}
	defer r.call(ch, msgClose, 0)
	if err := ch.send([]byte(cmd)); err != nil {
		return "", err
	}
	reply, err := ch.receive()
	return string(reply), err
}

func (ch *channel) send(msg []byte) error {
	if !ok(ch.rpc.call(ch, msgSendSize, uint32(len(msg)))) {
		return errors.New("vmware backdoor: send size refused")
	}
	for i := 0; i < len(msg); i += 4 {
		var word [4]byte
		copy(word[:], msg[i:])
		if !ok(ch.rpc.call(ch, msgSendPayload, binary.LittleEndian.Uint32(word[:]))) {
			return errors.New("vmware backdoor: send payload refused")
		}
	}
	return nil
}

func (ch *channel) receive() ([]byte, error) {
	regs := ch.rpc.call(ch, msgRecvSize, 0)
	if !ok(regs) {
		return nil, errors.New("vmware backdoor: receive size refused")
	}
	if uint32(regs.cx)>>16&msgStatusDoRecv == 0 {
		return nil, nil
	}
	size := int(uint32(regs.bx))
	buf := make([]byte, 0, size+4)
	for len(buf) < size {
		regs = ch.rpc.call(ch, msgRecvPayload, msgStatusSuccess)
		if !ok(regs) {
			return nil, errors.New("vmware backdoor: receive payload refused")
		}
		buf = binary.LittleEndian.AppendUint32(buf, uint32(regs.bx))
	}
	if !ok(ch.rpc.call(ch, msgRecvStatus, msgStatusSuccess)) {
		return nil, errors.New("vmware backdoor: receive status refused")
	}
	return buf[:size], nil
}

// guestInfoGet is rpctool's "info-get guestinfo.KEY"; the reply is "1 value", or "0 No value found".
func guestInfoGet(r *backdoorRPC, key string) (string, bool, error) {
	reply, err := r.Command("info-get " + key)
	if err != nil {
		return "", false, fmt.Errorf("guestinfo get %s: %w", key, err)
	}
	if v, found := strings.CutPrefix(reply, "1 "); found {
		return v, true, nil
	}
	if reply == "1" {
		return "", true, nil
	}
	if strings.HasPrefix(reply, "0 No value found") {
		return "", false, nil
	}
	return "", false, fmt.Errorf("guestinfo get %s: %s", key, reply)
}

// guestInfoSet is rpctool's "info-set guestinfo.KEY value".
func guestInfoSet(r *backdoorRPC, key, value string) error {
	reply, err := r.Command("info-set " + key + " " + value)
	if err != nil {
		return fmt.Errorf("guestinfo set %s: %w", key, err)
	}
	if !strings.HasPrefix(reply, "1") {
		return fmt.Errorf("guestinfo set %s: %s", key, reply)
	}
	return nil
}
