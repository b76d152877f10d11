package emulator

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
)

// As root, the host's inotify instance limit is at least one per guest the emulator expects, and a higher one
// is left as it is.
func TestRaiseInotifyInstances(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root may raise the limit")
	}
	raiseInotifyInstances(slog.New(slog.DiscardHandler))
	limit := func() int {
		b, err := os.ReadFile(inotifyInstancesSysctl)
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := limit()
	if before < guestInotifyInstances {
		t.Fatalf("the limit is %d after the raise, want at least %d", before, guestInotifyInstances)
	}
	raiseInotifyInstances(slog.New(slog.DiscardHandler))
	if after := limit(); after != before {
		t.Errorf("a second raise changed the limit from %d to %d", before, after)
	}
}
