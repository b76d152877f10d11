package vmxfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetGet(t *testing.T) {
	p := filepath.Join(t.TempDir(), "vm.vmx")
	if _, found, err := Get(p, "guestinfo.ovfEnv"); found || err != nil {
		t.Fatalf("missing file: found %v, %v", found, err)
	}
	if err := os.WriteFile(p, []byte(".encoding = \"UTF-8\"\n# a comment = \"x\"\ndisplayName = \"vch1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	odd := "a \"quoted\" | bar\nnewline é"
	if err := Set(p, "guestinfo.ovfEnv", odd); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(p)
	if strings.Count(string(raw), "\n") != 4 || !strings.Contains(string(raw), `guestinfo.ovfEnv = "a |22quoted|22 |7C bar|0Anewline |C3|A9"`) {
		t.Fatalf("file:\n%s", raw)
	}
	for key, want := range map[string]string{"guestinfo.ovfEnv": odd, "GUESTINFO.OVFENV": odd, "displayName": "vch1"} {
		if v, found, err := Get(p, key); !found || err != nil || v != want {
			t.Errorf("%s: %q, %v, %v", key, v, found, err)
		}
	}
	if _, found, _ := Get(p, "# a comment"); found {
		t.Error("a comment read as a key")
	}
	// Replaced, not added; removed by an empty value; the other lines kept.
	if err := Set(p, "guestinfo.ovfEnv", "two"); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := Get(p, "guestinfo.ovfEnv"); v != "two" {
		t.Errorf("after replacing: %q", v)
	}
	if err := Set(p, "guestinfo.ovfEnv", ""); err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(p)
	if strings.Contains(string(raw), "ovfEnv") || !strings.Contains(string(raw), `displayName = "vch1"`) {
		t.Errorf("after removing:\n%s", raw)
	}
	if _, _, err := Lookup([]byte(`k = "bad |Z1"`), "k"); err == nil {
		t.Error("a bad escape was read")
	}
}
