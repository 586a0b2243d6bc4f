#!/usr/bin/env bash
# bench/median.sh - run the whole bench (msgport-bench, then pages-bench)
# N times and print every targets table row with the figure of each run and
# their median, judged on the median (issue 10 asks for the median of three
# full runs). Each run's full report is kept in OUT/run-K.md.
# Usage: bench/median.sh [N] [OUT]     (make bench-median BENCH_RUNS=N)
set -euo pipefail
runs=${1:-3}
out=${2:-bench/out/median}
mkdir -p "$out"
for k in $(seq 1 "$runs"); do
	echo "bench/median.sh: full run $k of $runs" >&2
	{ ./bench/msgport-bench -o "$out/run-$k" ${BENCH_ARGS:-}
	  ./bench/pages/pages-bench ${BENCH_PAGES_ARGS:--t 0.3}; } >"$out/run-$k.md"
done

# A targets row ends "| figure | **met** |" or "**missed**"; its first two
# cells are the target and its limit ("≤ 1.5", ">= 0.7", ...).
awk -v runs="$runs" '
function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
function median(a, n,   i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
FNR == 1 { run++ }
/\*\*(met|missed)\*\* \|$/ {
	n = split($0, c, "|")
	what = trim(c[2]); limit = trim(c[3]); fig = trim(c[n - 2])
	if (!(what in seen)) { seen[what] = ++nt; name[nt] = what; lim[nt] = limit }
	fig_of[seen[what], run] = fig
}
END {
	printf "| target | limit |"
	for (r = 1; r <= runs; r++) printf " run %d |", r
	printf " median | verdict |\n|---|--:|"
	for (r = 1; r <= runs; r++) printf "--:|"
	printf "--:|---|\n"
	for (t = 1; t <= nt; t++) {
		m = 0; printf "| %s | %s |", name[t], lim[t]
		for (r = 1; r <= runs; r++) {
			f = fig_of[t, r]; printf " %s |", f == "" ? "–" : f
			if (f != "") v[++m] = f + 0
		}
		if (!m) { printf " – | not measured |\n"; continue }
		med = median(v, m)
		split(lim[t], l, " "); bound = l[2] + 0
		atleast = l[1] == "≥" || l[1] == ">="
		met = atleast ? med >= bound : med <= bound
		printf (med >= 100 ? " %.0f" : " %.3g") " | **%s** |\n", med, met ? "met" : "missed"
	}
}' $(for k in $(seq 1 "$runs"); do echo "$out/run-$k.md"; done)
