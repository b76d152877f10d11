package tether_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vice-engine/vice/tether/wire"
)

// archiveResult is what one archive channel brought back.
type archiveResult struct {
	reply  wire.ArchiveReply
	data   []byte
	stderr string
	exit   int // -1 without an exit-status
}

// archiveOp runs one archive operation as the VCH does, sending body (a write's tar) when given.
func archiveOp(t *testing.T, c *ssh.Client, req wire.ArchiveRequest, body []byte) archiveResult {
	t.Helper()
	payload, err := json.Marshal(req)
	must(t, err)
	ch, reqs, err := c.OpenChannel(wire.ChannelArchive, payload)
	must(t, err)
	defer ch.Close()
	res := archiveResult{exit: -1}
	exits := make(chan int, 1)
	go func() {
		for r := range reqs {
			var msg struct{ Status uint32 }
			if r.Type == wire.RequestExitStatus && ssh.Unmarshal(r.Payload, &msg) == nil {
				exits <- int(msg.Status)
			}
		}
		close(exits)
	}()
	if body != nil {
		go func() {
			_, _ = ch.Write(body)
			_ = ch.CloseWrite()
		}()
	}
	br := bufio.NewReader(ch)
	line, err := br.ReadBytes('\n')
	must(t, err)
	must(t, json.Unmarshal(line, &res.reply))
	res.data, err = io.ReadAll(br)
	must(t, err)
	errOut, _ := io.ReadAll(ch.Stderr())
	res.stderr = string(errOut)
	select {
	case code, ok := <-exits:
		if ok {
			res.exit = code
		}
	case <-time.After(guestWait):
	}
	return res
}

func tarNames(t *testing.T, b []byte) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		must(t, err)
		out[h.Name] = h
	}
}

func TestArchiveChannel(t *testing.T) {
	requireGuest(t)
	g := startGuest(t, wire.ContainerConfig{Path: "sleep", Args: []string{"60"}, User: "nobody", Hostname: "box"})
	c := g.dial()
	g.waitState(wire.StateRunning)

	st := archiveOp(t, c, wire.ArchiveRequest{Op: wire.ArchiveStat, Path: "/bin/sh"}, nil)
	if st.reply.Stat == nil || st.reply.Stat.Name != "sh" || st.reply.Stat.LinkTarget != "/bin/busybox" {
		t.Errorf("stat /bin/sh: %+v", st.reply)
	}
	// The tether's own writes at boot leave /etc's times as the image has them.
	etc := archiveOp(t, c, wire.ArchiveRequest{Op: wire.ArchiveStat, Path: "/etc"}, nil)
	if etc.reply.Stat == nil || !etc.reply.Stat.ModTime.Equal(imageTime) {
		t.Errorf("/etc's times after boot: %+v, the image's %v", etc.reply.Stat, imageTime)
	}
	missing := archiveOp(t, c, wire.ArchiveRequest{Op: wire.ArchiveRead, Path: "/nope"}, nil)
	if missing.reply.Error == nil || missing.reply.Error.Kind != wire.ArchiveNotFound || len(missing.data) != 0 {
		t.Errorf("read of a missing path: %+v", missing)
	}

	// What the tether wrote at boot is there; the pseudo-filesystems are empty directories.
	read := archiveOp(t, c, wire.ArchiveRequest{Op: wire.ArchiveRead, Path: "/"}, nil)
	if read.reply.Error != nil || read.exit != 0 {
		t.Fatalf("read /: %+v %s", read.reply, read.stderr)
	}
	names := tarNames(t, read.data)
	for _, want := range []string{"/etc/hosts", "/proc/", "/dev/", "/etc/passwd", "/bin/busybox"} {
		if names[want] == nil {
			t.Errorf("read / lacks %s", want)
		}
	}
	for n := range names {
		if strings.HasPrefix(n, "/proc/") && n != "/proc/" || strings.HasPrefix(n, "/dev/") && n != "/dev/" {
			t.Errorf("read / descended into a pseudo-filesystem: %s", n)
		}
	}

	// A write as the container's user (cp -a), read back.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	must(t, tw.WriteHeader(&tar.Header{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o755}))
	must(t, tw.WriteHeader(&tar.Header{Name: "dir/f", Typeflag: tar.TypeReg, Mode: 0o600, Size: 5}))
	_, _ = tw.Write([]byte("hello"))
	must(t, tw.Close())
	w := archiveOp(t, c, wire.ArchiveRequest{Op: wire.ArchiveWrite, Path: "/etc", CopyUIDGID: true}, buf.Bytes())
	if w.reply.Error != nil {
		t.Fatalf("write: %+v", w.reply.Error)
	}
	back := archiveOp(t, c, wire.ArchiveRequest{Op: wire.ArchiveRead, Path: "/etc/dir/f"}, nil)
	h := tarNames(t, back.data)["f"]
	if h == nil || h.Uid != 65534 || h.Gid != 65534 || h.Mode != 0o600 || !bytes.Contains(back.data, []byte("hello")) {
		t.Errorf("read back %+v", h)
	}
	bad := archiveOp(t, c, wire.ArchiveRequest{Op: wire.ArchiveWrite, Path: "/etc/passwd"}, buf.Bytes())
	if bad.reply.Error == nil || bad.reply.Error.Kind != wire.ArchiveInvalid {
		t.Errorf("write onto a file: %+v", bad.reply)
	}

	// The export is the root filesystem alone, named relative to it.
	exp := archiveOp(t, c, wire.ArchiveRequest{Op: wire.ArchiveExport}, nil)
	if exp.reply.Error != nil || exp.exit != 0 {
		t.Fatalf("export: %+v %s", exp.reply, exp.stderr)
	}
	names = tarNames(t, exp.data)
	var keys []string
	for n := range names {
		keys = append(keys, n)
	}
	slices.Sort(keys)
	if names["etc/dir/f"] == nil || names["bin/busybox"] == nil || names["proc/"] == nil {
		t.Errorf("export lacks entries: %q", keys)
	}
	for _, n := range keys {
		if strings.HasPrefix(n, "/") || strings.HasPrefix(n, "proc/") && n != "proc/" || strings.HasPrefix(n, "dev/") && n != "dev/" {
			t.Errorf("export entry %s", n)
		}
	}
}
