// Package vmxfile reads and writes keys of a VM's configuration file (.vmx) the way ESXi keeps them: one
// `key = "value"` line per key, with a quote, a bar and every byte outside printable ASCII written as "|"
// and two hex digits. The simulator keeps there what ESXi keeps only there (guestinfo.ovfEnv, see
// plugins/vcsim's ovfenv.go), and the hypervisor emulator reads it from there as ESXi's VMX does.
package vmxfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// OVFEnv is the guestinfo key ESXi keeps in the .vmx alone: API reads of the VM's extraConfig leave it out,
// the guest reads it through the backdoor.
const OVFEnv = "guestinfo.ovfEnv"

// Get reads key from the .vmx file at path; found is false when the file or the key is not there.
func Get(path, key string) (value string, found bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return Lookup(data, key)
}

// Lookup finds key in the contents of a .vmx file.
func Lookup(data []byte, key string) (value string, found bool, err error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		k, v, ok := parseLine(sc.Text())
		if ok && strings.EqualFold(k, key) { // ESXi's keys are case-insensitive
			s, err := unescape(v)
			return s, err == nil, err
		}
	}
	return "", false, sc.Err()
}

// Set writes key into the .vmx file at path (creating it), replacing the key's line or adding one; an
// empty value removes the key, as in extraConfig. The file is replaced atomically.
func Set(path, key, value string) error {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if k, _, ok := parseLine(sc.Text()); ok && strings.EqualFold(k, key) {
			continue
		}
		out.WriteString(sc.Text())
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if value != "" {
		fmt.Fprintf(&out, "%s = \"%s\"\n", key, escape(value))
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out.Bytes(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// parseLine splits `key = "value"`; comments and other lines are not entries.
func parseLine(line string) (key, value string, ok bool) {
	k, v, ok := strings.Cut(line, "=")
	if !ok {
		return "", "", false
	}
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	if k == "" || strings.HasPrefix(k, "#") || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", "", false
	}
	return k, v[1 : len(v)-1], true
}

func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '|' {
			fmt.Fprintf(&b, "|%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func unescape(s string) (string, error) {
	if !strings.Contains(s, "|") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '|' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("vmx value: a bar at %d ends the value", i)
		}
		n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("vmx value: %q is no escape", s[i:i+3])
		}
		b.WriteByte(byte(n))
		i += 2
	}
	return b.String(), nil
}
