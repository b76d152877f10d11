package main

import (
	"os"
	"testing"
)

// The test process's own figures: resident, and its proportional share no larger than that.
func TestProcKiB(t *testing.T) {
	rss, pss := rssKiB(os.Getpid()), pssKiB(os.Getpid())
	if rss <= 0 || pss <= 0 || pss > rss {
		t.Errorf("rss %d KiB, pss %d KiB", rss, pss)
	}
	if n := procKiB(os.Getpid(), "status", "NoSuchKey:"); n != 0 {
		t.Errorf("a missing key gave %d", n)
	}
}
