package vch

import (
	"fmt"
	"sort"
	"strings"
)

// suggest is VIC's list of valid choices for a flag, appended to a validation error:
//
//	Suggested values for --compute-resource:
//	  "cluster1"
//	  "cluster2"
func suggest(flag string, values []string) string {
	if len(values) == 0 {
		return fmt.Sprintf("there are no valid values for %s on this target", flag)
	}
	sorted := append([]string(nil), values...)
	sort.Strings(sorted)
	var b strings.Builder
	fmt.Fprintf(&b, "Suggested values for %s:", flag)
	for _, v := range sorted {
		fmt.Fprintf(&b, "\n  %q", v)
	}
	return b.String()
}
