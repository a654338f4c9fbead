#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# THE appliance SIP benchmark (README): `sudo bash bench/sip/run.sh`
#
# One run measures, on the same vdevs and the same machine:
#   1. evrd, two phases (see below): net_pcap RX (infinite replay of a
#      generated capture of mirrored SIP, bench/sip/gen_sip_pcap.py:
#      REGISTER flows with digest challenge,
#      refreshes and unregisters, INVITE dialogs answered / 183 / busy /
#      cancelled, INVITEs with SDP ~850-1250 bytes, frames between
#      198.18.10.0/24 softphones and their proxy, none addressed to evrd) on a
#      `mirror = true` port -> SIP parse -> dialog/registration state ->
#      derived events (OpenSIPS E_UL_* / E_DLG_STATE_CHANGED and FreeSWITCH
#      sofia::* / CHANNEL_*: sip.events = "both") -> match against N
#      subscriptions (sip_bench.py subs: exact/prefix filters on users, a
#      share of them on the capture's users) -> encode -> TX to net_null.
#      SIP messages/s, derived events/s and notifications/s per worker core
#      from `stats` over a fixed window, after the subscriptions were loaded
#      over the control socket (bench/appliance/appliance.py load) and the
#      matcher settled;
#   2. the SIP microbenchmarks of evr_bench (bench/bench_sip.cc: parse,
#      parse + state, HEP decode) on the same message mix, same machine,
#      while nothing else of this script runs: the parse vs parse+state
#      ratio and how much of the core-only rate the appliance keeps;
#   3. dpdk-testpmd, io forward from the same net_pcap replay to net_null:
#      the framework ceiling on this box.
# Writes bench/results/sip.json (EVR_SIPB_RESULT) and the logs, snapshots,
# config and per-second rates under out/bench/sip/, and prints a summary.
#
# Replaying one capture forever repeats its Call-IDs, branches and CSeqs.
# With evrd's default sip.linger_ms (32 s, 64*T1) an ended dialog or REGISTER
# transaction stays known that long, so the next pass (tens of ms later)
# would be absorbed as retransmissions and derive nothing. The bench config
# therefore sets sip.linger_ms to EVR_SIPB_LINGER_MS (5 ms, well under the
# time one pass takes), so that each pass creates its dialogs and REGISTER
# transactions anew, as fresh traffic would. Registered contacts are not
# lingering state (they live their Expires), so a later pass refreshes
# them (E_UL_CONTACT_UPDATE) unless the flow unregistered.
#
# That works only if the state timers keep up: a call of evr_sip_state_tick
# handles at most EVR_SIP_STATE_TICK_BUDGET (256) expirations, and this mix ends
# one dialog or transaction per ~3 messages (1,500 dialogs and 5,380
# REGISTER transactions per 20,742 messages). evrd ticked every 10 ms until
# 9fdd84c (<= 25.6k expirations/s per worker: half the replayed messages
# were then absorbed as duplicates); it ticks every 100 us now. Two evrd
# phases in one run, same capture and subscriptions, keep that visible:
#   timers   large tables, state ends by linger_ms only (as deployed): the
#            summary prints the share of messages absorbed as duplicates;
#            > 5% means the timers did not keep up
#   recycle  tables smaller than one pass but larger than what is open at
#            once, so old entries are evicted (counted) before their
#            Call-IDs recur: every message is processed as fresh traffic
#            whatever the timers do
# The per-core headline is the timers phase when it kept up, else recycle.
# BM_sip_state_replay in bench/bench_sip.cc reproduces both in-process.
#
# 2-CPU box without hugepages: EAL --no-huge, lcore 0 = control thread (and
# the load client), lcore 1 = the one worker.
#
# Environment (all optional):
#   EVR_SIPB_SUBS         subscriptions (default 100000)
#   EVR_SIPB_INPUT        mirror (default): the capture on a mirror port;
#                         hep: every message wrapped in HEPv3 to evrd's
#                         listener 9060 (as a capture agent sends it)
#   EVR_SIPB_REGS / EVR_SIPB_CALLS  registration flows / dialogs in the
#                         capture (2000 / 1500: ~20.7k messages)
#   EVR_SIPB_ACTIVE       share of subscription filters on users of the
#                         capture (0.3; the rest over 100k users)
#   EVR_SIPB_LINGER_MS    sip.linger_ms (5)
#   EVR_SIPB_WINDOW       measurement window, seconds (10)
#   EVR_SIPB_WARMUP       warm-up before the window, seconds (3)
#   EVR_SIPB_BUILD_DIR    build dir (default build-sipbench, release)
#   EVR_SIPB_OUT          logs dir (default out/bench/sip)
#   EVR_SIPB_RESULT       result JSON (default bench/results/sip.json)
#   EVR_SIPB_MICRO=0      skip the microbenchmarks
#   EVR_SIPB_PERF=1       perf record the evrd windows (out/bench/sip/perf-*.txt)
#   EVR_SKIP_DEPS=1       do not run deploy/install-deps.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
here=bench/sip

subs=${EVR_SIPB_SUBS:-100000}
input=${EVR_SIPB_INPUT:-mirror}
regs=${EVR_SIPB_REGS:-2000}
calls=${EVR_SIPB_CALLS:-1500}
active=${EVR_SIPB_ACTIVE:-0.3}
linger=${EVR_SIPB_LINGER_MS:-5}
win=${EVR_SIPB_WINDOW:-10}
warm=${EVR_SIPB_WARMUP:-3}
dir=${EVR_SIPB_BUILD_DIR:-build-sipbench}
res=${EVR_SIPB_OUT:-out/bench/sip}
result=${EVR_SIPB_RESULT:-bench/results/sip.json}
testpmd=${TESTPMD:-/usr/bin/dpdk-testpmd}

. bench/bench_lib.sh

# ---- build (release; only what the benchmark runs)
bench_prepare bench/sip/run.sh "$dir"
targets=(dataplane/evrd/evrd control/evrctl)
[[ ${EVR_SIPB_MICRO:-1} == 1 ]] && targets+=(bench/evr_bench)
timeout 1800 ninja -C "$dir" "${targets[@]}" >/dev/null
evrd=$dir/dataplane/evrd/evrd
[[ -x $testpmd ]] || { echo "bench/sip/run.sh: $testpmd missing (dpdk package)" >&2; exit 1; }
if [[ $("$evrd" --print-config-reference) != *"sip.mirror_ports"* ]]; then
	echo "bench/sip/run.sh: this evrd has no SIP ingest (sip.mirror_ports)" >&2
	exit 1
fi

rm -rf "$res"
mkdir -p "$res" "$(dirname "$result")"
res=$(cd "$res" && pwd)
bench_harness sipbench

# ---- is the box idle? A busy box skews every figure: measure, record, warn.
bench_idle_check

# ---- workload
case $input in
mirror)
	gen_args=()
	in_port='{ name = "mirror"; device = "net_pcap0"; mirror = true; }'
	listeners=""
	;;
hep)
	gen_args=(--hep --evrd-ip 198.19.1.1 --evrd-mac 02:00:00:00:00:01)
	in_port='{ name = "in"; device = "net_pcap0"; mac = "02:00:00:00:00:01"; ipv4 = "198.19.1.1/24"; }'
	listeners='listeners = ( { port = 9060; format = "hep"; } );'
	;;
*)
	echo "bench/sip/run.sh: EVR_SIPB_INPUT must be mirror or hep" >&2
	exit 2
	;;
esac
python3 "$here/gen_sip_pcap.py" --out "$tmp/sip.pcap" --manifest "$tmp/gen.json" \
	--seed 4 --registrations "$regs" --calls "$calls" "${gen_args[@]}"
micro_pcap=$tmp/sip.pcap
if [[ $input == hep ]]; then # the same messages unwrapped, for evr_bench
	micro_pcap=$tmp/sip-plain.pcap
	python3 "$here/gen_sip_pcap.py" --out "$micro_pcap" --seed 4 \
		--registrations "$regs" --calls "$calls"
fi
python3 "$here/sip_bench.py" subs "$subs" "$tmp/gen.json" "$tmp/subs.jsonl" \
	"$tmp/subs_info.json" --active "$active"
frames=$(jq .frames "$tmp/gen.json")
# net_pcap infinite_rx keeps the whole capture in mbufs of the RX pool.
pool=65536
while ((pool < frames * 2 + 16384)); do pool=$((pool * 2)); done

vdev_in="net_pcap0,rx_pcap=$tmp/sip.pcap,infinite_rx=1"
vdev_out="net_null0,no-rx=1"

# phase NAME MAX_DIALOGS MAX_REGISTRATIONS: one evrd run (config
# $res/evrd-NAME.conf), subscriptions loaded, matcher settled, warm-up, then
# stats snapshots NAME0.json / NAME1.json around the window.
phase() {
	local name=$1 max_dlg=$2 max_reg=$3 i rc=0
	local sock=$tmp/evrd-$name.sock conf=$res/evrd-$name.conf
	cat >"$conf" <<CONF
# generated by bench/sip/run.sh, phase "$name"
eal = { lcores = "0-1"; no_huge = true; memory_mb = 2048; no_pci = true;
        file_prefix = "$prefix";
        vdevs = [ "$vdev_in", "$vdev_out" ]; };
ports = (
  $in_port,
  { name = "out"; device = "net_null0"; ipv4 = "198.19.0.1/24"; gateway = "198.19.0.2";
    neighbours = ( { ip = "198.19.0.2"; mac = "02:00:00:00:01:02"; } ); }
);
workers = { count = 1; idle_sleep_us = 0; };
$listeners
# linger_ms and the table sizes: see the header of bench/sip/run.sh (the
# replay repeats Call-IDs every pass)
sip = { mirror_ports = [ 5060 ]; events = "both"; linger_ms = $linger;
        max_dialogs = $max_dlg; max_registrations = $max_reg; };
# subscribers sit behind the gateway: off-link, so allowed explicitly
destinations = { allow = [ "198.18.0.0/15" ];
                 rate_notifications = 0; rate_bytes = 0; };  # measure line rate: no limits
control = { socket = "$sock"; };
rings = { rx_pool = $pool; payload_pool = 65536; hdr_pool = 131072; egress_size = 16384; };
CONF
	"$evrd" -c "$conf" --check >/dev/null
	echo "evrd ($name): $evrd -c $conf --store-path $res/store-$name"
	rm -rf "$res/store-$name" # a fresh store each run
	"$evrd" -c "$conf" --store-path "$res/store-$name" </dev/null >"$res/evrd-$name.log" 2>&1 &
	evrd_pid=$!
	for ((i = 0; i < 300; i++)); do
		[[ -S $sock ]] && "$dir/control/evrctl" -s "$sock" version >/dev/null 2>&1 && break
		kill -0 "$evrd_pid" 2>/dev/null || { cat "$res/evrd-$name.log"; exit 1; }
		sleep 0.1
	done
	python3 "$here/sip_bench.py" sample "$sock" 1 $((warm + win + 180)) \
		"$tmp/samples-$name.jsonl" &
	local sampler=$!
	pids+=("$sampler")
	python3 bench/appliance/appliance.py load "$sock" "$tmp/subs.jsonl" "$tmp/load-$name.json"
	python3 bench/appliance/appliance.py settle "$sock" 120
	sleep "$warm"
	python3 bench/appliance/appliance.py snap "$sock" "$tmp/${name}0.json"
	if [[ ${EVR_SIPB_PERF:-0} == 1 ]] && command -v perf >/dev/null; then
		# where the worker's time goes (perf's own cost skews the rate a little)
		perf record -q -g -p "$evrd_pid" -o "$res/perf-$name.data" -- sleep "$win" \
			>/dev/null 2>&1 || true
		perf report -i "$res/perf-$name.data" --no-children --stdio 2>/dev/null |
			grep -E '^ +[0-9]' | head -60 >"$res/perf-$name.txt" || true
	else
		sleep "$win"
	fi
	python3 bench/appliance/appliance.py snap "$sock" "$tmp/${name}1.json"
	kill -TERM "$sampler" 2>/dev/null || true
	wait "$sampler" 2>/dev/null || true
	kill -TERM "$evrd_pid"
	wait "$evrd_pid" || rc=$?
	evrd_pid=""
	if ((rc != 0)); then
		echo "evrd ($name) exited $rc at SIGTERM" >&2
		tail -20 "$res/evrd-$name.log" >&2
		exit 1
	fi
}

# "timers": state ends only through sip.linger_ms (the configuration as a
# deployment would have it, tables far larger than one pass).
phase timers 200000 200000
# "recycle": tables smaller than one pass holds (1,500 dialogs, ~5,400
# REGISTER transactions; max_registrations/16 = 2,048 transaction slots)
# but larger than what is open at once (<= ~750 dialogs, 2,000 contacts),
# so the previous pass's ended entries are evicted (counted) before their
# Call-IDs come round: every message is processed as fresh traffic, whatever
# the timers manage.
phase recycle 1024 32768

# ---- microbenchmarks on the same message mix (the SIP just replayed)
if [[ ${EVR_SIPB_MICRO:-1} == 1 ]]; then
	EVR_BENCH_SIP_PCAP=$micro_pcap timeout 600 "$dir/bench/evr_bench" \
		--benchmark_filter='BM_(sip_(parse|state)|hep_parse)' --benchmark_min_time=1 \
		--benchmark_out="$tmp/micro.json" --benchmark_out_format=json \
		--benchmark_counters_tabular=true | tee "$res/micro.txt"
fi

# ---- testpmd on the same vdevs: io forward net_pcap0 -> net_null0
tp=("$testpmd" -l 0-1 --no-huge -m 1024 --no-pci --file-prefix "$tp_prefix"
	--vdev "$vdev_in" --vdev "$vdev_out" --
	--forward-mode=io --auto-start --stats-period 1 "--total-num-mbufs=$pool")
echo "testpmd: ${tp[*]}"
timeout -s INT -k 10 $((warm + win + 1)) "${tp[@]}" </dev/null >"$tmp/testpmd.log" 2>&1 || true

# ---- results
machine="$(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r)"
jq -n --arg cmd "bench/sip/run.sh (EVR_SIPB_INPUT=$input EVR_SIPB_SUBS=$subs EVR_SIPB_REGS=$regs EVR_SIPB_CALLS=$calls EVR_SIPB_ACTIVE=$active EVR_SIPB_LINGER_MS=$linger EVR_SIPB_WINDOW=$win EVR_SIPB_WARMUP=$warm)" \
	--arg machine "$machine" --arg tpc "${tp[*]}" --rawfile conf "$res/evrd-timers.conf" --rawfile conf2 "$res/evrd-recycle.conf" \
	--argjson warm "$warm" --argjson busy "$busy_before" --arg others "$others" \
	'{command: $cmd, machine: $machine, testpmd_command: $tpc,
	  config: {timers: $conf, recycle: $conf2}, warmup_s: $warm,
	  cpu_busy_before_pct: $busy, busy_processes_before: $others}' \
	>"$tmp/meta.json"
cp "$tmp"/{gen,subs_info,load-timers,load-recycle,timers0,timers1,recycle0,recycle1,meta}.json \
	"$tmp"/samples-{timers,recycle}.jsonl "$tmp/testpmd.log" "$res/"
[[ -f $tmp/micro.json ]] && cp "$tmp/micro.json" "$res/"
python3 "$here/sip_bench.py" summary "$res" "$result"
echo "result: $result (logs: $res)"
