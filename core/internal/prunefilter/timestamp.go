package prunefilter

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Timestamp reads the time forms dockerd accepts in until filters (and --since/--until flags): a Go
// duration counted back from now ("10m", "24h"), an RFC 3339 time with or without fractional seconds and
// zone, a date or date and time in now's zone, or Unix seconds with optional nanoseconds.
func Timestamp(value string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(value); value != "0" && err == nil {
		return now.Add(-d), nil
	}
	if t, ok := unixTime(value); ok {
		return t, nil
	}
	zoned := strings.ContainsAny(value, "zZ+") || strings.Count(value, "-") == 3
	for _, layout := range layouts(value, zoned) {
		var t time.Time
		var err error
		if zoned {
			t, err = time.Parse(layout, value)
		} else {
			t, err = time.ParseInLocation(layout, value, now.Location())
		}
		if err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("failed to parse value as time or duration: %q: %w", value, errdefs.ErrInvalid)
}

func layouts(value string, zoned bool) []string {
	switch {
	case strings.Contains(value, "T") && zoned:
		return []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15Z07:00"}
	case strings.Contains(value, "T"):
		return []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02T15"}
	case zoned:
		return []string{"2006-01-02Z07:00"}
	}
	return []string{"2006-01-02"}
}

// unixTime reads "seconds[.nanoseconds]".
func unixTime(value string) (time.Time, bool) {
	s, n, hasNanos := strings.Cut(value, ".")
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var nsec int64
	if hasNanos {
		if len(n) > 9 {
			return time.Time{}, false
		}
		if nsec, err = strconv.ParseInt(n+strings.Repeat("0", 9-len(n)), 10, 64); err != nil {
			return time.Time{}, false
		}
	}
	return time.Unix(sec, nsec), true
}
