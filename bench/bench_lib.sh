# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Shared by the appliance benchmarks (bench/appliance/run.sh,
# bench/sip/run.sh), sourced, not run:
#
#   bench_prepare SCRIPT DIR  root check, deploy/install-deps.sh (unless
#                        EVR_SKIP_DEPS=1), release meson setup of DIR
#   bench_harness NAME   temp dir $tmp, EAL file prefixes $prefix and
#                        $tp_prefix (evrd, testpmd), $pids / $evrd_pid
#                        killed and DPDK runtime dirs removed at exit
#   bench_idle_check     $busy_before (% of all CPUs busy over 1 s) and
#                        $others (the busy processes); warns when the box
#                        is not idle, since a shared 2-CPU VM skews every
#                        figure a benchmark prints

bench_prepare() {
	local script=$1 dir=$2 log
	local args=(--buildtype=release -Db_ndebug=true) setup

	if [[ $(id -u) -ne 0 ]]; then
		echo "$script: needs root (DPDK EAL)" >&2
		exit 1
	fi
	if [[ ${EVR_SKIP_DEPS:-0} != 1 ]]; then
		bash deploy/install-deps.sh
	fi
	if [[ -f $dir/meson-private/coredata.dat ]]; then
		setup=(meson setup --reconfigure "$dir" "${args[@]}")
	else
		setup=(meson setup "$dir" "${args[@]}")
	fi
	if ! log=$("${setup[@]}" 2>&1); then
		printf '%s\n' "$log" >&2
		echo "$script: meson setup failed" >&2
		exit 1
	fi
}

bench_harness() {
	tmp=$(mktemp -d "/tmp/evr-$1.XXXXXX")
	prefix=evr-$1-$$
	tp_prefix=evr-$1-tp-$$
	pids=()
	evrd_pid=""
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

bench_cleanup() {
	local rc=$? p
	set +e
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	if [[ -n $evrd_pid ]] && kill -0 "$evrd_pid" 2>/dev/null; then
		kill -TERM "$evrd_pid"
		sleep 2
		kill -KILL "$evrd_pid" 2>/dev/null
	fi
	wait 2>/dev/null
	rm -rf "/var/run/dpdk/$prefix" "/var/run/dpdk/$tp_prefix" "$tmp"
	exit "$rc"
}

# Percent of all CPUs busy over one second (from /proc/stat).
bench_cpu_busy() {
	local a b ta=0 tb=0 i idle
	read -ra a </proc/stat
	sleep 1
	read -ra b </proc/stat
	for i in 1 2 3 4 5 6 7 8; do ta=$((ta + a[i])); tb=$((tb + b[i])); done
	idle=$(((b[4] + b[5]) - (a[4] + a[5])))
	echo $((100 - 100 * idle / (tb - ta)))
}

bench_idle_check() {
	busy_before=$(bench_cpu_busy)
	others=$(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 > 5 {printf "%s(%s%%) ", $2, $1}' | head -c 300)
	if ((busy_before > 10)); then
		echo "WARNING: the machine is not idle before the run: ${busy_before}% CPU busy (${others})" >&2
		echo "WARNING: figures of this run are skewed by that load" >&2
	fi
}
