#!/usr/bin/env bash
# Prints the median of each Go benchmark in a `go test -bench -count N` output file.
set -euo pipefail
awk '/^Benchmark/ {
	name=$1; ns[name]=ns[name] " " $3;
	for (i=4;i<=NF;i++) if ($(i+1)=="MB/s") mb[name]=mb[name] " " $i
}
function median(list,   a, n, i, j, t) {
	n=split(list, a, " ");
	for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (a[j]+0 < a[i]+0) { t=a[i]; a[i]=a[j]; a[j]=t }
	return (n%2) ? a[(n+1)/2] : (a[n/2]+a[n/2+1])/2
}
END {
	printf "%-40s %14s %12s %s\n", "benchmark", "median ns/op", "median MB/s", "runs";
	for (name in ns) {
		n=split(ns[name], tmp, " ");
		printf "%-40s %14.0f %12s %d\n", name, median(ns[name]), (name in mb) ? sprintf("%.1f", median(mb[name])) : "-", n
	}
}' "$1"
