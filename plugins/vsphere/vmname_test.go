package vsphere

import (
	"strings"
	"testing"
)

func TestVMNameOf(t *testing.T) {
	id := strings.Repeat("ab", 32)
	for _, c := range []struct{ name, want string }{
		{"web", "web-abababababab"},
		{strings.Repeat("n", 67), strings.Repeat("n", 67) + "-abababababab"},
		{strings.Repeat("n", 300), strings.Repeat("n", 67) + "-abababababab"},
	} {
		got := vmNameOf(c.name, id)
		if got != c.want || len(got) > maxVMNameLength {
			t.Errorf("vmNameOf(%d characters) = %q (%d), want %q", len(c.name), got, len(got), c.want)
		}
	}
}
