# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Shared helpers for tests/e2e/*.sh (sourced, not run). Each test:
#
#   . "$(dirname "$0")/lib.sh"
#   e2e_init NAME                 # temp dir $T, traps, timers; skips (77)
#   e2e_require_root; e2e_require_pmd net_pcap ...
#   ... evrd_start CONF; check "what" test ...; evrd_stop ...
#   e2e_finish                    # summary; exit 0 iff every check passed
#
# Conventions: every loop is bounded in count and time; traffic only goes to
# loopback or to 198.18.0.0/15 inside namespaces the test creates (and the
# EXIT trap removes, with the veths, processes and temp dir, whatever way
# the script ends). Assertions print one line each (PASS/FAIL); an assertion
# that cannot be made yet because evrd lacks something is listed by
# `pending` and printed in the summary: it never counts as a pass.
#
# Environment:
#   EVR_ROOT   source tree (default: two levels above this file)
#   EVR_BUILD  build dir with dataplane/evrd/evrd and control/evrctl
#              (default $EVR_BUILD_DIR as exported by deploy/run-tests.sh,
#              else $EVR_ROOT/build); an ASan build works as is
#   EVR_E2E_KEEP=1  keep the temp dir (logs, pcaps, configs) for debugging
set -uo pipefail

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EVR_ROOT=${EVR_ROOT:-$(cd "$E2E_LIB_DIR/../.." && pwd)}
EVR_BUILD=${EVR_BUILD:-${EVR_BUILD_DIR:-$EVR_ROOT/build}}
EVRD=${EVRD:-$EVR_BUILD/dataplane/evrd/evrd}
EVRCTL=${EVRCTL:-$EVR_BUILD/control/evrctl}
E2E_PY=$E2E_LIB_DIR/evr_e2e.py
PY=${PYTHON:-python3}

E2E_NAME=e2e
T=""
E2E_PASS=0
E2E_FAIL=0
E2E_FAILED=()
E2E_PENDING=()
E2E_PIDS=()      # background helpers (receivers, senders) to kill at exit
E2E_NETNS=()     # namespaces to delete
E2E_LINKS=()     # host-side links to delete
E2E_USERS=()     # system users to delete
E2E_T0=$SECONDS
EVRD_PID=""
EVRD_LOG=""
EVRD_PREFIX=""
EVR_SOCK=""
E2E_FINISHED=0

log() { printf '[%s %3ds] %s\n' "$E2E_NAME" $((SECONDS - E2E_T0)) "$*"; }

# ---------------------------------------------------------------- lifecycle

e2e_cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	set +e
	if ((rc == 0 && !E2E_FINISHED)); then
		log "FAIL: script ended without reaching e2e_finish"
		rc=1
	fi
	[[ -n $EVRD_PID ]] && evrd_reap "$EVRD_PID" evrd
	evrd_as_cleanup
	local p
	for p in "${E2E_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	local ns l
	for l in "${E2E_LINKS[@]}"; do
		ip link del "$l" 2>/dev/null
	done
	for ns in "${E2E_NETNS[@]}"; do
		# Processes left in the namespace (helpers started with ip netns
		# exec that outlived their parent) die with it.
		local pids
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[[ -n $pids ]] && kill -KILL $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	# Users a test created (e2e_user_add).
	local u
	for u in "${E2E_USERS[@]}"; do
		userdel "$u" 2>/dev/null
	done
	# EAL's runtime directory for our file prefix.
	[[ -n $EVRD_PREFIX ]] && rm -rf "/var/run/dpdk/$EVRD_PREFIX"
	if [[ -n $T && -d $T ]]; then
		if [[ ${EVR_E2E_KEEP:-0} == 1 ]]; then
			log "kept $T"
		else
			rm -rf "$T"
		fi
	fi
	exit "$rc"
}

# e2e_init NAME: temp dir $T, traps (EXIT runs cleanup; INT/TERM/HUP exit
# through it), unique short id $E2E_ID for link/namespace names.
e2e_init() {
	E2E_NAME=$1
	E2E_ID="e$(printf '%x' $$ | tail -c 5)" # short: link names are <= 15 chars
	T=$(mktemp -d "/tmp/evr-$1.XXXXXX") || exit 1
	chmod 755 "$T"
	trap e2e_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	log "temp dir $T, evrd $EVRD"
}

e2e_skip() {
	log "SKIP: $*"
	exit 77
}

e2e_require_root() {
	[[ $(id -u) -eq 0 ]] || e2e_skip "needs root (DPDK EAL, namespaces)"
}

# e2e_require_pmd net_pcap net_af_packet ...: the PMD shared objects DPDK
# loads at run time (Debian's dpdk packages ship them one per driver). A
# static DPDK build carries its PMDs inside evrd: nothing to look for.
e2e_require_pmd() {
	local d found
	ldd "$EVRD" 2>/dev/null | grep -q 'librte_eal\.so' || return 0
	for d in "$@"; do
		found=$(find /usr/lib /usr/local/lib -path '*dpdk/pmds-*' \
			-name "librte_${d}.so*" 2>/dev/null | head -n 1)
		if [[ -z $found ]] && ! ldd "$EVRD" 2>/dev/null | grep -q "librte_${d}\.so"; then
			e2e_skip "DPDK PMD $d not installed"
		fi
	done
}

# Binaries must exist: a missing evrd is a failure, never a skip.
e2e_require_build() {
	local b
	for b in "$EVRD" "$EVRCTL"; do
		if [[ ! -x $b ]]; then
			log "FATAL: $b not built (EVR_BUILD=$EVR_BUILD)"
			exit 1
		fi
	done
	command -v "$PY" >/dev/null || { log "FATAL: python3 missing"; exit 1; }
	command -v jq >/dev/null || { log "FATAL: jq missing"; exit 1; }
}

# e2e_require_npm PACKAGE VERSION: a pinned npm package installed once into
# a cache dir (the npm registry is reachable in CI, PyPI is not); its
# node_modules is put first on NODE_PATH (exported). A missing node/npm or a
# failed install is a failure (exit 1), never a skip: the tests must run.
e2e_require_npm() {
	local pkg=$1 ver=$2
	local dir=${EVR_NPM_CACHE:-/var/tmp/evr-npm}/$pkg-$ver
	command -v node >/dev/null && command -v npm >/dev/null ||
		{ log "FATAL: node and npm are needed for $pkg (deploy/packages.txt)"; exit 1; }
	if [[ ! -f $dir/node_modules/$pkg/package.json ]]; then
		mkdir -p "$dir" &&
			timeout 300 npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
				"$pkg@$ver" >"$T/npm.log" 2>&1 ||
			{ log "FATAL: npm install $pkg@$ver failed:"; tail -n 5 "$T/npm.log"; exit 1; }
	fi
	export NODE_PATH=$dir/node_modules${NODE_PATH:+:$NODE_PATH}
}

# FreeSWITCH's Node ESL client (ESL suites).
EVR_MODESL_VERSION=1.2.1
e2e_require_modesl() { e2e_require_npm modesl "$EVR_MODESL_VERSION"; }

# The NATS Node client: core NATS and the JetStream/jsm API (nats_e2e).
EVR_NATS_JS_VERSION=2.29.3
e2e_require_nats_js() { e2e_require_npm nats "$EVR_NATS_JS_VERSION"; }

# ---------------------------------------------------------------- asserts

pass() {
	E2E_PASS=$((E2E_PASS + 1))
	log "PASS: $*"
}

fail() {
	E2E_FAIL=$((E2E_FAIL + 1))
	E2E_FAILED+=("$*")
	log "FAIL: $*"
}

# check "description" command...: passes iff the command exits 0.
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

# check_eq "description" actual expected
check_eq() {
	if [[ "$2" == "$3" ]]; then
		pass "$1 (= $3)"
	else
		fail "$1: got '$2', want '$3'"
	fi
}

# check_ge "description" actual minimum  (integers)
check_ge() {
	if [[ $2 =~ ^-?[0-9]+$ ]] && (($2 >= $3)); then
		pass "$1 ($2 >= $3)"
	else
		fail "$1: got '$2', want >= $3"
	fi
}

# pending "assertion" "why it cannot be made yet": listed, never a pass.
pending() {
	E2E_PENDING+=("$1 -- $2")
	log "PENDING: $1 ($2)"
}

# Summary; exit 0 iff every check passed (and at least one ran).
e2e_finish() {
	local n
	log "---- $E2E_NAME summary ($((SECONDS - E2E_T0)) s)"
	for n in "${E2E_FAILED[@]}"; do log "  failed: $n"; done
	if ((${#E2E_PENDING[@]})); then
		log "  pending assertions (not run, not counted as passed):"
		for n in "${E2E_PENDING[@]}"; do log "    - $n"; done
	fi
	echo "$E2E_PASS passed, $E2E_FAIL failed, ${#E2E_PENDING[@]} pending"
	E2E_FINISHED=1
	if ((E2E_FAIL > 0 || E2E_PASS == 0)); then exit 1; fi
	exit 0
}

# ---------------------------------------------------------------- waiting

# wait_until TIMEOUT_S command...: poll every 0.1 s; 0 when it succeeded.
wait_until() {
	local to=$1
	shift
	local end=$((SECONDS + ${to%.*} + 1)) i=0
	local max=$(((${to%.*} + 1) * 10))
	while ((i < max && SECONDS <= end)); do
		"$@" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	"$@"
}

# ---------------------------------------------------------------- evrd

# evrd_start CONF SOCK [evrd args...]: start in the background (own process
# group is not needed: evrd is one process), wait up to 30 s for the control
# socket to answer `version`. EVRD_PREFIX must match eal.file_prefix so the
# cleanup removes EAL's runtime dir. Each start gets a fresh subscription
# store under $T (never the system's store.path; a test that restarts evrd
# starts empty, as before stores existed); a test that wants one store
# across restarts passes its own --store-path DIR, which comes later and wins.
# evrd_await PID SOCK LOG NAME: wait up to 30 s for evrd PID's control
# socket to answer `version`. 1 when it exited first (reaped, its log shown;
# check with kill -0) or did not answer.
evrd_await() {
	local pid=$1 sock=$2 logf=$3 name=$4 i
	for ((i = 0; i < 300; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			log "$name exited early (rc=$?):"
			sed "s/^/    $name| /" "$logf"
			return 1
		fi
		if [[ -S $sock ]] && "$EVRCTL" -s "$sock" --timeout 2 version >/dev/null 2>&1; then
			log "$name $pid ready ($((i / 10)).$((i % 10)) s)"
			return 0
		fi
		sleep 0.1
	done
	log "$name: control socket $sock did not answer within 30 s"
	sed "s/^/    $name| /" "$logf"
	return 1
}

# evrd_term PID TIMEOUT_S LOG NAME: SIGTERM; passes iff it exits 0 within
# the timeout (ASan builds report leaks here: non-zero exit), else SIGKILL.
# The process is reaped either way.
evrd_term() {
	local pid=$1 to=$2 logf=$3 name=$4 i rc
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < to * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		fail "$name exits within ${to}s of SIGTERM (still running, killing)"
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		return 1
	fi
	wait "$pid"
	rc=$?
	check_eq "$name exit status after SIGTERM (within ${to}s)" "$rc" 0
	if ((rc != 0)); then
		tail -n 40 "$logf" | sed "s/^/    $name| /"
	fi
	((rc == 0))
}

E2E_STORE_N=0
evrd_start() {
	local conf=$1
	EVR_SOCK=$2
	shift 2
	EVRD_LOG=$T/evrd.log
	[[ -f $EVRD_LOG ]] && mv "$EVRD_LOG" "$EVRD_LOG.$(date +%s%N)"
	E2E_STORE_N=$((E2E_STORE_N + 1))
	local store=$T/store.$E2E_STORE_N
	# 0777: unprivileged_e2e runs evrd under its own account
	mkdir -p "$store" && chmod 0777 "$store"
	log "starting evrd -c $conf --store-path $store $*"
	"$EVRD" -c "$conf" --store-path "$store" "$@" </dev/null >"$EVRD_LOG" 2>&1 &
	EVRD_PID=$!
	evrd_await "$EVRD_PID" "$EVR_SOCK" "$EVRD_LOG" evrd && return 0
	kill -0 "$EVRD_PID" 2>/dev/null || EVRD_PID=""
	return 1
}

# evrd_stop [TIMEOUT_S]: SIGTERM, then exit status must be 0 within the
# timeout (ASan builds report leaks here: non-zero exit).
evrd_stop() {
	local to=${1:-15} rc
	if [[ -z $EVRD_PID ]]; then
		fail "evrd exits 0 on SIGTERM: not running"
		return 1
	fi
	evrd_term "$EVRD_PID" "$to" "$EVRD_LOG" evrd
	rc=$?
	EVRD_PID=""
	return $rc
}

evrd_alive() { [[ -n $EVRD_PID ]] && kill -0 "$EVRD_PID" 2>/dev/null; }

# ---------------------------------------------------------------- NATS cluster
# A 3-node nats-server JetStream cluster on 127.0.0.1 for the cluster test
# and the store benchmark: node I (1..3) listens for clients on BASE+I-1,
# routes on BASE+2000+I-1, monitoring on BASE+4000+I-1; its config and
# JetStream store under $T/nats. Servers are spawned (the EXIT trap stops
# them).
declare -gA NATS_PID=()
NATS_CLUSTER_BASE=14222

# nats_cluster_urls BASE: the client URLs, comma-separated (nats.url).
nats_cluster_urls() {
	echo "nats://127.0.0.1:$1,nats://127.0.0.1:$(($1 + 1)),nats://127.0.0.1:$(($1 + 2))"
}

# nats_cluster_ports_free BASE [EXTRA...]: fail (and return 1) when a port
# of the cluster (or an EXTRA one) is taken: a leftover server from another
# run would join the cluster.
nats_cluster_ports_free() {
	local busy
	busy=$("$PY" - "$@" <<'PY'
import socket, sys
b = int(sys.argv[1])
for p in [b + o + i for o in (0, 2000, 4000) for i in range(3)] + [int(x) for x in sys.argv[2:]]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(('127.0.0.1', p))
    except OSError:
        print(p, end=' ')
    s.close()
PY
)
	[[ -z $busy ]] && return 0
	fail "ports free on 127.0.0.1 (in use: $busy; set EVR_CLUSTER_PORT_BASE)"
	return 1
}

# nats_cluster_conf BASE: write the three nodes' configs.
nats_cluster_conf() {
	local i j routes
	NATS_CLUSTER_BASE=$1
	mkdir -p "$T/nats"
	for i in 1 2 3; do
		routes=()
		for j in 1 2 3; do
			((j == i)) || routes+=("nats-route://127.0.0.1:$(($1 + 2000 + j - 1))")
		done
		cat >"$T/nats/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$(($1 + i - 1))
http: 127.0.0.1:$(($1 + 4000 + i - 1))
jetstream {
  store_dir: "$T/nats/n$i"
  max_memory_store: 256MB
  max_file_store: 4GB
}
cluster {
  name: evr-e2e
  listen: 127.0.0.1:$(($1 + 2000 + i - 1))
  routes: [ ${routes[0]}, ${routes[1]} ]
}
CONF
	done
}

# nats_cluster_mon I...: the monitoring ports of nodes I..., comma-separated.
nats_cluster_mon() {
	local i out=()
	for i in "$@"; do out+=($((NATS_CLUSTER_BASE + 4000 + i - 1))); done
	(IFS=,; echo "${out[*]}")
}

# nats_cluster_start I: node nI, its client port accepting within 10 s.
nats_cluster_start() {
	spawn nats-server -c "$T/nats/n$1.conf" -l "$T/nats/n$1.log"
	NATS_PID[$1]=$BG_PID
	wait_until 10 "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
		"$((NATS_CLUSTER_BASE + $1 - 1))" 2>/dev/null
}

# nats_cluster_stop I [SIGNAL]: SIGTERM (or SIGNAL), 10 s, SIGKILL.
nats_cluster_stop() {
	local pid=${NATS_PID[$1]:-} k
	[[ -n $pid ]] || return 0
	{ # (no "Killed" job notice from bash)
		kill "-${2:-TERM}" "$pid"
		for ((k = 0; k < 100; k++)); do
			kill -0 "$pid" || break
			sleep 0.1
		done
		kill -KILL "$pid"
		wait "$pid"
	} 2>/dev/null
	NATS_PID[$1]=""
}

# nats_cluster_meta I...: print the JetStream meta leader once nodes I...
# agree on one (30 s at most); non-zero without.
nats_cluster_meta() {
	"$PY" "$E2E_LIB_DIR/cluster_e2e.py" meta --http "$(nats_cluster_mon "$@")" --size 3 --timeout 30
}

# ---------------------------------------------------------------- several evrd
# Tests that run several evrd at once (cluster_e2e) name them: each NAME has
# its own pid, control socket, log ($T/evrd-NAME.log, the previous one kept
# with a suffix as evrd_start does) and store directory ($T/store-NAME,
# kept across that instance's restarts). evrd_start/evrd_stop and their
# globals (EVRD_PID, EVR_SOCK, EVRD_LOG) are untouched by these; the EXIT
# trap stops every named instance still running (SIGTERM, 5 s, SIGKILL) and
# removes its EAL runtime dir (the eal.file_prefix read from its CONF).
declare -gA EVRD_AS_PID=() EVRD_AS_SOCK=() EVRD_AS_LOG=() EVRD_AS_PREFIX=()

# evrd_start_as NAME CONF SOCK [evrd args...]: start instance NAME in the
# background, wait up to 30 s for its control socket to answer `version`.
evrd_start_as() {
	local name=$1 conf=$2 sock=$3
	shift 3
	local log=$T/evrd-$name.log store=$T/store-$name pid i
	if evrd_alive_as "$name"; then
		log "evrd_start_as $name: already running (pid ${EVRD_AS_PID[$name]})"
		return 1
	fi
	[[ -f $log ]] && mv "$log" "$log.$(date +%s%N)"
	mkdir -p "$store" && chmod 0777 "$store"
	EVRD_AS_SOCK[$name]=$sock
	EVRD_AS_LOG[$name]=$log
	EVRD_AS_PREFIX[$name]=$(sed -n 's/.*file_prefix *= *"\([^"]*\)".*/\1/p' "$conf" | head -n 1)
	log "starting evrd $name: -c $conf --store-path $store $*"
	"$EVRD" -c "$conf" --store-path "$store" "$@" </dev/null >"$log" 2>&1 &
	pid=$!
	EVRD_AS_PID[$name]=$pid
	evrd_await "$pid" "$sock" "$log" "evrd-$name" && return 0
	kill -0 "$pid" 2>/dev/null || EVRD_AS_PID[$name]=""
	return 1
}

# evrd_stop_as NAME [TIMEOUT_S]: SIGTERM; passes iff it exits 0 in time.
evrd_stop_as() {
	local name=$1 to=${2:-15} rc pid=${EVRD_AS_PID[$1]:-}
	if [[ -z $pid ]]; then
		fail "evrd $name exits 0 on SIGTERM: not running"
		return 1
	fi
	evrd_term "$pid" "$to" "${EVRD_AS_LOG[$name]}" "evrd-$name"
	rc=$?
	EVRD_AS_PID[$name]=""
	return $rc
}

# evrd_kill_as NAME: SIGKILL (a crash), reaped.
evrd_kill_as() {
	local pid=${EVRD_AS_PID[$1]:-}
	[[ -n $pid ]] || return 1
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	EVRD_AS_PID[$1]=""
}

evrd_alive_as() { [[ -n ${EVRD_AS_PID[$1]:-} ]] && kill -0 "${EVRD_AS_PID[$1]}" 2>/dev/null; }

# ctl_as NAME ARGS...: evrctl on instance NAME's socket.
ctl_as() {
	local name=$1
	shift
	"$EVRCTL" -s "${EVRD_AS_SOCK[$name]}" --timeout 5 "$@"
}

# stat_as NAME JQ-PATH: one value of NAME's `evrctl --json stats` ("null"
# if absent, "" if it does not answer).
stat_as() { ctl_as "$1" --json stats | jq -c "$2"; }

# evrd_reap PID WHAT: at cleanup, an evrd still running gets SIGTERM, 5 s,
# then SIGKILL, and is reaped.
evrd_reap() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	log "cleanup: $2 $pid still running, SIGTERM"
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# The EXIT trap's part (e2e_cleanup): every named instance still running.
evrd_as_cleanup() {
	local name pid
	for name in "${!EVRD_AS_PID[@]}"; do
		pid=${EVRD_AS_PID[$name]}
		[[ -n $pid ]] && evrd_reap "$pid" "evrd $name"
		[[ -n ${EVRD_AS_PREFIX[$name]:-} ]] && rm -rf "/var/run/dpdk/${EVRD_AS_PREFIX[$name]}"
	done
}

# ctl ARGS...: evrctl on the test's socket.
ctl() { "$EVRCTL" -s "$EVR_SOCK" --timeout 5 "$@"; }

# stats_json > FILE: the whole `evrctl --json stats` result.
stats_json() { ctl --json stats; }

# stat_get JQ-PATH [FILE]: one value of the stats result (default: fresh
# snapshot), e.g. `stat_get .dataplane.totals.decode_ok`; "null" if absent.
stat_get() {
	if [[ $# -ge 2 ]]; then
		jq -c "$1" "$2"
	else
		stats_json | jq -c "$1"
	fi
}

# total NAME [FILE]: dataplane total counter NAME (0 when absent).
total() {
	if [[ $# -ge 2 ]]; then
		jq -r --arg k "$1" '.dataplane.totals[$k] // 0' "$2"
	else
		stats_json | jq -r --arg k "$1" '.dataplane.totals[$k] // 0'
	fi
}

# ---------------------------------------------------------------- netns

# netns_add NAME: create namespace, registered for deletion.
netns_add() {
	ip netns add "$1" || return 1
	E2E_NETNS+=("$1")
	ip -n "$1" link set lo up
}

# veth_add HOST_IF NS NS_IF NS_ADDR/LEN: a veth pair, NS_IF moved into NS
# and addressed there (198.18.0.0/15 only), TX checksum offload off on both
# ends (af_packet would otherwise see partial checksums), both up.
veth_add() {
	local hif=$1 ns=$2 nif=$3 addr=$4
	case $addr in
	198.18.* | 198.19.*) ;;
	*)
		log "FATAL: veth_add: $addr outside 198.18.0.0/15"
		exit 1
		;;
	esac
	ip link add "$hif" type veth peer name "$nif" || return 1
	E2E_LINKS+=("$hif")
	ip link set "$nif" netns "$ns" || return 1
	ip -n "$ns" addr add "$addr" dev "$nif" || return 1
	# No IPv6 on the test link: no DAD/RS/MLD chatter in the counters.
	sysctl -q -w "net.ipv6.conf.$hif.disable_ipv6=1" 2>/dev/null
	ip netns exec "$ns" sysctl -q -w "net.ipv6.conf.$nif.disable_ipv6=1" 2>/dev/null
	ns_txcsum_off "$ns" "$nif"
	"$PY" "$E2E_PY" txcsum-off "$hif" || return 1
	ip link set "$hif" up || return 1
	ip -n "$ns" link set "$nif" up
}

ns_txcsum_off() {
	if command -v ethtool >/dev/null; then
		ip netns exec "$1" ethtool -K "$2" tx off >/dev/null
	else
		ip netns exec "$1" "$PY" "$E2E_PY" txcsum-off "$2"
	fi
}

# e2e_veth_peer LEN: the common af_packet topology. Requires root, the build
# and net_af_packet; names NS (the peer namespace), HIF (evrd's veth end),
# NIF (the peer's end), US (evrd, 198.18.0.1) and PLAT (the peer,
# 198.18.0.2/LEN), and creates the namespace and the veth pair.
e2e_veth_peer() {
	e2e_require_root
	e2e_require_build
	e2e_require_pmd net_af_packet
	NS=evr-$E2E_ID HIF=${E2E_ID}h NIF=${E2E_ID}n
	US=198.18.0.1 PLAT=198.18.0.2
	netns_add "$NS" || { fail "create namespace $NS"; e2e_finish; }
	veth_add "$HIF" "$NS" "$NIF" "$PLAT/$1" || { fail "create veth $HIF <-> $NS:$NIF"; e2e_finish; }
}

# big_event FMT N SIZE: an E_BIG event of exactly SIZE bytes (UDP payload)
# with attributes n=N and pad (one hex digit repeated): JSON-RPC (to
# listener 8090) or FreeSWITCH plain (8021). Sets BIG_PAYLOAD, BIG_PORT and
# BIG_MD5 (md5 of the pad, to compare with what a notification carries).
big_event() {
	local fmt=$1 n=$2 size=$3 pre post pad
	if [[ $fmt == jsonrpc ]]; then
		pre="{\"jsonrpc\":\"2.0\",\"method\":\"E_BIG\",\"params\":{\"n\":\"$n\",\"pad\":\""
		post='"}}'
		BIG_PORT=8090
	else
		pre=$(printf '%b' "Event-Name: E_BIG\nn: $n\npad: ")
		post=$'\n\n'
		BIG_PORT=8021
	fi
	pad=$(head -c "$((size - ${#pre} - ${#post}))" /dev/zero | tr '\0' "$(printf '%x' $((n % 16)))")
	BIG_PAYLOAD=$pre$pad$post
	BIG_MD5=$(printf '%s' "$pad" | md5sum | cut -d' ' -f1)
}

# nsx NS command...: run in the namespace.
# e2e_user_add NAME...: system users without home or shell, removed at
# exit; a user that cannot be made is a failure (returns 1).
e2e_user_add() {
	local u
	for u in "$@"; do
		useradd --system --no-create-home --shell /usr/sbin/nologin "$u" ||
			{ fail "create account $u"; return 1; }
		E2E_USERS+=("$u")
	done
}

# e2e_empty_pcap FILE: a valid pcap with no packets (global header only),
# the rx side of a net_pcap port that only needs to exist.
e2e_empty_pcap() {
	"$PY" -c "import struct,sys; open(sys.argv[1],'wb').write(struct.pack('<IHHiIII',0xa1b2c3d4,2,4,0,0,65535,1))" "$1"
}

# e2e_pcap_conf FILE: the start of an evrd config for a control-plane test:
# one net_pcap port on an empty capture (no traffic), one worker, EAL
# without huge pages (file prefix $EVRD_PREFIX, set it first). The caller
# appends listeners, control and the rest.
e2e_pcap_conf() {
	e2e_empty_pcap "$T/empty.pcap"
	cat >"$1" <<CONF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "$EVRD_PREFIX";
        vdevs = [ "net_pcap0,rx_pcap=$T/empty.pcap,tx_pcap=$T/tx.pcap" ]; };
ports = ( { name = "p"; device = "net_pcap0"; ipv4 = "198.18.16.1/24"; } );
workers = { count = 1; idle_sleep_us = 100; };
CONF
}

nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# spawn COMMAND...: start a helper in the background, registered for cleanup;
# its pid in $BG_PID.
spawn() {
	"$@" &
	BG_PID=$!
	E2E_PIDS+=("$BG_PID")
}

# recv_start NS BIND OUT COUNT TIMEOUT [extra]: a UDP receiver in NS (or
# "-" for this namespace) recording datagrams to OUT (JSON lines); waits
# until it is bound.
recv_start() {
	local ns=$1 bind=$2 out=$3 count=$4 to=$5
	shift 5
	local ready=$out.ready
	rm -f "$ready" "$out"
	if [[ $ns == - ]]; then
		spawn "$PY" "$E2E_PY" recv --bind "$bind" --out "$out" --count "$count" \
			--timeout "$to" --ready "$ready" "$@"
	else
		spawn ip netns exec "$ns" "$PY" "$E2E_PY" recv --bind "$bind" --out "$out" \
			--count "$count" --timeout "$to" --ready "$ready" "$@"
	fi
	wait_until 5 test -e "$ready"
}

# subscribe_all NS HOST OUT COUNT TIMEOUT SPEC...: one receiver process in
# NS binding HOST:9099 and HOST:PORT of every SPEC "PORT|EVENT|evrctl
# options", then one evrctl subscription per SPEC to udp:HOST:PORT.
subscribe_all() {
	local ns=$1 host=$2 out=$3 count=$4 to=$5 s port ev opts binds=()
	shift 5
	for s in "$@"; do binds+=(--bind "$host:${s%%|*}"); done
	recv_start "$ns" "$host:9099" "$out" "$count" "$to" "${binds[@]}" || return 1
	for s in "$@"; do
		IFS='|' read -r port ev opts <<<"$s"
		# shellcheck disable=SC2086 # opts is a word list
		ctl --json subscribe "$ev" "udp:$host:$port" $opts >/dev/null ||
			fail "evrctl subscribe $ev udp:$host:$port $opts"
	done
}

# unix_recv_start PATH OUT COUNT TIMEOUT: unix datagram receiver here.
unix_recv_start() {
	local path=$1 out=$2 count=$3 to=$4
	local ready=$out.ready
	rm -f "$ready" "$out"
	spawn "$PY" "$E2E_PY" recv --unix "$path" --out "$out" --count "$count" \
		--timeout "$to" --ready "$ready"
	wait_until 5 test -e "$ready"
}

# lines FILE: number of records (0 if the file does not exist).
lines() {
	if [[ -f $1 ]]; then wc -l <"$1" | tr -d ' '; else echo 0; fi
}

# py_checks COMMAND...: run a python checker (evr_e2e.Checker output) and
# fold its PASS:/FAIL:/PENDING: lines into this test's counts. A non-zero
# exit without any FAIL line (a crash) is a failure too.
py_checks() {
	local out=$T/py_checks.$RANDOM line nf=0 rc
	"$@" >"$out" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		PASS:*) pass "${line#PASS: }" ;;
		FAIL:*) fail "${line#FAIL: }"; nf=$((nf + 1)) ;;
		PENDING:*) E2E_PENDING+=("${line#PENDING: }"); log "$line" ;;
		*) log "  $line" ;;
		esac
	done <"$out"
	if ((rc != 0 && nf == 0)); then
		fail "checker $(basename "${2:-$1}") exited $rc without naming a failed assertion"
	fi
	return "$rc"
}

# ---------------------------------------------------------------- self-test
# Run as a script (deploy/run-tests.sh runs every tests/e2e/*.sh), lib.sh
# checks its own helpers: the python pcap writer/reader round trip (and
# against tshark/tcpdump when installed), wait_until's bounds, and that the
# EXIT trap removes namespaces and veths whether a test fails, exits or is
# killed.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	e2e_init lib
	e2e_require_root
	tshark_arg=()
	command -v tshark >/dev/null && tshark_arg=(--tshark)
	py_checks "$PY" "$E2E_PY" selftest "${tshark_arg[@]}"
	if command -v tcpdump >/dev/null; then
		"$PY" - "$E2E_LIB_DIR" "$T/rt.pcap" <<'PYEOF'
import sys; sys.path.insert(0, sys.argv[1]); import evr_e2e as E
E.write_pcap(sys.argv[2], [E.eth('02:00:00:00:00:01', '02:00:00:00:00:02', E.ETH_IP4,
             E.udp4('198.18.0.2', 40000 + i, '198.18.0.1', 40100, b'x' * i)) for i in range(7)])
PYEOF
		n=$(tcpdump -nr "$T/rt.pcap" 2>/dev/null | grep -c 'UDP, length')
		check_eq "tcpdump -r reads the 7 generated UDP frames" "$n" 7
	fi
	t0=$SECONDS
	wait_until 1 false
	rc=$?
	check "wait_until 1 false: fails (rc $rc) within 3 s" test $rc -ne 0 -a $((SECONDS - t0)) -le 3
	check "wait_until 5 true: succeeds at once" wait_until 5 true
	# Child tests that fail, exit early, or are killed: nothing may remain.
	for how in fail exit kill; do
		id="st$how$$"
		id=${id:0:10}
		bash -c '
			. "$1"
			e2e_init child
			netns_add "$2" || exit 9
			veth_add "$2h" "$2" "$2n" 198.18.0.2/24 || exit 9
			touch "$T/marker"; echo "$T" >"$3"
			case $4 in
			fail) fail "on purpose"; e2e_finish ;;
			exit) exit 5 ;;
			kill) kill -TERM $$; sleep 5 ;;
			esac' child "$E2E_LIB_DIR/lib.sh" "$id" "$T/child.$how" "$how" >"$T/child.$how.log" 2>&1
		rc=$?
		check "child test ($how) exits non-zero (rc $rc)" test "$rc" -ne 0 -a "$rc" -ne 9
		check "child test ($how): namespace $id removed" bash -c '! ip netns list | grep -qw "$1"' _ "$id"
		check "child test ($how): veth ${id}h removed" bash -c '! ip link show "$1" >/dev/null 2>&1' _ "${id}h"
		ct=$(cat "$T/child.$how" 2>/dev/null)
		check "child test ($how): its temp dir removed" test -n "$ct" -a ! -e "$ct"
	done
	e2e_finish
fi
