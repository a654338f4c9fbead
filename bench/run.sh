#!/usr/bin/env bash
# evrouter benchmark command (README): `bash bench/run.sh`
#
# Builds build-bench/ (release), runs evr_bench (Google Benchmark), writes
#   out/bench/bench.json   raw Google Benchmark JSON
#   out/bench/bench.txt    console table
#   out/bench/match.dat    N, hybrid events/s, naive events/s, ratio
#   out/bench/match.png    log-log plot of match.dat (gnuplot)
# and prints a compact summary; ratios hybrid/naive come from this run only.
#
# Environment (all optional):
#   EVR_BENCH_NATIVE=1      add -march=native (numbers then only hold for this CPU)
#   EVR_BENCH_QUICK=1       short run (N <= 100k, fewer churn pairs/probes)
#   EVR_BENCH_MIN_TIME      --benchmark_min_time in seconds (default 0.5)
#   EVR_BENCH_FILTER        --benchmark_filter regex (default: all)
#   EVR_BENCH_MAX_N         largest subscription count (default 1000000)
#   EVR_BENCH_CHURN_PAIRS   subscribe+unsubscribe pairs in BM_churn (20000)
#   EVR_BENCH_VISIBLE_PROBES / EVR_BENCH_VISIBLE_HS_PROBES  (2000 / 200)
#   EVR_BENCH_VISIBLE_WAIT_S  give up on one probe after this long (10)
#   EVR_BENCH_P_EXACT / EVR_BENCH_P_PS  filter class mix (0.70 / 0.20)
#   EVR_BENCH_TIMEOUT       whole evr_bench run, seconds (3600)
#   EVR_BENCH_BUILD_DIR     build dir (default build-bench)
#   EVR_BENCH_OUT           output dir (default out/bench)
#   EVR_SKIP_DEPS=1         do not run deploy/install-deps.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

dir=${EVR_BENCH_BUILD_DIR:-build-bench}
out=${EVR_BENCH_OUT:-out/bench}
min_time=${EVR_BENCH_MIN_TIME:-0.5}
filter=${EVR_BENCH_FILTER:-.}
if [[ ${EVR_BENCH_QUICK:-0} == 1 ]]; then
	min_time=${EVR_BENCH_MIN_TIME:-0.1}
	export EVR_BENCH_MAX_N=${EVR_BENCH_MAX_N:-100000}
	export EVR_BENCH_CHURN_PAIRS=${EVR_BENCH_CHURN_PAIRS:-2000}
	export EVR_BENCH_VISIBLE_PROBES=${EVR_BENCH_VISIBLE_PROBES:-300}
	export EVR_BENCH_VISIBLE_HS_PROBES=${EVR_BENCH_VISIBLE_HS_PROBES:-30}
	export EVR_BENCH_IDLE_MS=${EVR_BENCH_IDLE_MS:-300}
fi

if [[ ${EVR_SKIP_DEPS:-0} != 1 ]]; then
	bash deploy/install-deps.sh
fi

# Release build; -march=native only on request so the default numbers are
# comparable across machines of the same kind.
args=(--buildtype=release -Db_ndebug=true)
if [[ ${EVR_BENCH_NATIVE:-0} == 1 ]]; then
	args+=(-Dc_args=-march=native -Dcpp_args=-march=native)
else
	args+=(-Dc_args= -Dcpp_args=)
fi
# Configure output only matters when it fails.
if [[ -f $dir/meson-private/coredata.dat ]]; then
	setup=(meson setup --reconfigure "$dir" "${args[@]}")
else
	setup=(env CC="${CC:-gcc}" CXX="${CXX:-g++}" meson setup "$dir" "${args[@]}")
fi
if ! log=$("${setup[@]}" 2>&1); then
	printf '%s\n' "$log" >&2
	echo "bench/run.sh: meson setup failed" >&2
	exit 1
fi
timeout 1800 ninja -C "$dir" bench/evr_bench

mkdir -p "$out"
# Nothing from an earlier run may pass for this one's results.
rm -f "$out/bench.json" "$out/bench.txt" "$out/match.dat" "$out/match.png"
echo "evr_bench: min_time=${min_time}s filter='$filter' max_n=${EVR_BENCH_MAX_N:-1000000}" \
	"native=${EVR_BENCH_NATIVE:-0} cpus=$(nproc)"
# Bounded: a full run takes a few minutes; a wedged matcher must not hang CI
# or a developer's terminal.
timeout -k 30 "${EVR_BENCH_TIMEOUT:-3600}" "$dir/bench/evr_bench" \
	--benchmark_out="$out/bench.json" --benchmark_out_format=json \
	--benchmark_min_time="$min_time" --benchmark_filter="$filter" \
	--benchmark_counters_tabular=true | tee "$out/bench.txt"

# match.dat + summary from this run's JSON; a failed benchmark makes the
# exit status non-zero, after the plot.
rc=0
python3 - "$out" <<'EOF' || rc=$?
import json, math, sys

out = sys.argv[1]
doc = json.load(open(f"{out}/bench.json"))
# BM_match/N reports its own (manual) time: its name carries "/manual_time"
def base(name):
    return name[: -len("/manual_time")] if name.endswith("/manual_time") else name

runs = {base(b["name"]): b for b in doc["benchmarks"] if b.get("run_type", "iteration") == "iteration"}
errors = [(n, b.get("error_message", "")) for n, b in runs.items() if b.get("error_occurred")]

def si(x, unit=""):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    for f, s in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= f:
            return f"{x / f:.2f}{s}{unit}"
    return f"{x:.2f}{unit}"

def ok(name):
    b = runs.get(name)
    return b if b and not b.get("error_occurred") else None

ns = sorted({int(n.split("/")[1]) for n in runs if n.startswith(("BM_match/", "BM_match_naive/"))})
with open(f"{out}/match.dat", "w") if ns else open("/dev/null", "w") as f:
    f.write("# N  hybrid_events_per_s  naive_events_per_s  hybrid_over_naive  notif_per_event\n")
    for n in ns:
        h, v = ok(f"BM_match/{n}"), ok(f"BM_match_naive/{n}")
        hr = h["items_per_second"] if h else None
        nr = v["items_per_second"] if v else None
        ratio = hr / nr if hr and nr else None
        npe = (h or v or {}).get("notif_per_event")
        cell = lambda x, fmt: fmt % x if x is not None else "?"
        f.write(f"{n} {cell(hr, '%.1f')} {cell(nr, '%.1f')} {cell(ratio, '%.2f')} {cell(npe, '%.3f')}\n")

print("\n== summary (this run; %s, %d CPUs) ==" % (doc["context"].get("date", ""), doc["context"].get("num_cpus", 0)))
if ns:
    print("match, pre-decoded events, one reader thread:")
    print(f"  {'subs':>8} {'hybrid ev/s':>12} {'naive ev/s':>11} {'ratio':>8} {'notif/ev':>9} {'B/sub':>7} {'heapB/sub':>9} {'hsB/sub':>8} {'setup s':>8}")
for n in ns:
    h, v = ok(f"BM_match/{n}"), ok(f"BM_match_naive/{n}")
    hr = h["items_per_second"] if h else None
    nr = v["items_per_second"] if v else None
    ratio = f"{hr / nr:.1f}x" if hr and nr else "-"
    g = h or v or {}
    print(f"  {n:>8} {si(hr):>12} {si(nr):>11} {ratio:>8} {g.get('notif_per_event', float('nan')):>9.2f}"
          f" {si(h.get('bytes_per_sub') if h else None):>7} {si(h.get('heap_per_sub') if h else None):>9}"
          f" {si(h.get('hs_bytes_per_sub') if h else None):>8}"
          f" {(h or {}).get('setup_s', float('nan')):>8.1f}")

codec = [n for n in runs if n.startswith(("BM_decode_", "BM_encode_"))]
if codec:
    print("codec, realistic E_UL_CONTACT_INSERT event:")
    for n in codec:
        b = ok(n)
        if b:
            print(f"  {n:<20} {si(b['items_per_second'], ' ev/s'):>14} {si(b.get('bytes_per_second'), 'B/s'):>11}"
                  f"  ({int(b.get('bytes', 0))} bytes)")

for n, b in runs.items():
    if n.startswith("BM_churn/") and not b.get("error_occurred"):
        print(f"churn @{n.split('/')[1]} subs: {si(b['items_per_second'], ' pairs/s')} "
              f"({b.get('pair_us', 0):.1f} us/pair); reader {si(b.get('reader_rate_idle'), ' ev/s')} idle -> "
              f"{si(b.get('reader_rate'), ' ev/s')} during churn ({b.get('reader_loss_pct', 0):.1f}% loss)")
    if n.startswith("BM_update_visible/") and not b.get("error_occurred"):
        extra = (f"; one probe match takes {b.get('probe_match_us', 0):.1f} us"
                 f"; {int(b.get('timeouts', 0))} timeouts"
                 + (f"; hyperscan-indexed {int(b['hs_indexed'])}" if "p99_ms" in b else ""))
        if "p99_us" in b:
            print(f"visible exact @{n.split('/')[2]}: p50 {b['p50_us']:.1f} us, p99 {b['p99_us']:.1f} us, "
                  f"max {b['max_us']:.1f} us ({b.get('on_return_pct', 0):.0f}% on return{extra})")
        elif "p99_ms" in b:
            print(f"visible infix @{n.split('/')[2]}: p50 {b['p50_ms']:.2f} ms, p99 {b['p99_ms']:.2f} ms, "
                  f"max {b['max_ms']:.2f} ms ({b.get('on_return_pct', 0):.0f}% on return{extra})")

for n, msg in errors:
    print(f"ERROR {n}: {msg}")
sys.exit(1 if errors else 0)
EOF

if [[ -s $out/match.dat ]] && command -v gnuplot >/dev/null; then
	gnuplot -e "datafile='$out/match.dat'; outfile='$out/match.png'" bench/plot.gp &&
		echo "plot: $out/match.png"
fi
exit $rc
