#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A control thread that never stalls (issue 13): while one client loads
# 1,000,000 subscriptions through the control socket as fast as evrd
# answers, and while all of them expire at once, a second client's cheap
# read (evr_stats, one every 5 ms, latency from its scheduled time) keeps
# p99 <= 50 ms. Before incremental index growth and bounded reaping the
# rehash at ~786k subscriptions and the reaping of 1M held the matcher lock
# for hundreds of milliseconds (control_stall.py has the method).
#
#   evrd (net_pcap with an empty capture: no traffic, only the control
#   plane), control socket in $T; the loader and the prober on it.
#
# Environment: EVR_STALL_N (subscriptions, default 1000000), EVR_STALL_P99_MS
# (default 50), EVR_STALL_EXPIRE (seconds, default 60: the load must finish
# before the first subscription expires).
. "$(dirname "$0")/lib.sh"

e2e_init control_stall_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_pcap

N=${EVR_STALL_N:-1000000}
P99=${EVR_STALL_P99_MS:-50}
EXPIRE=${EVR_STALL_EXPIRE:-60}
EVRD_PREFIX=evr-e2e-stall-$$
e2e_pcap_conf "$T/evrd.conf"
cat >>"$T/evrd.conf" <<CONF
listeners = ( { port = 8090; format = "jsonrpc"; } );
control = { socket = "$T/evrd.sock"; };
heartbeat = { interval_s = 0; };
CONF
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts"; e2e_finish; }

log "loading $N subscriptions (expire ${EXPIRE} s), then expiring them all at once"
# The bound must hold over one whole run (load and expiry). This VM's
# shared cores add stalls of their own (another tenant, a page-fault
# storm): a run that misses it is repeated once on the same evrd (its
# subscriptions are gone by then), and both runs' figures are printed.
for attempt in 1 2; do
	"$PY" "$E2E_LIB_DIR/control_stall.py" --sock "$EVR_SOCK" --pid "$EVRD_PID" -n "$N" \
		--expire "$EXPIRE" --p99-ms "$P99" >"$T/stall.out" 2>&1
	rc=$?
	sed "s/^/    [run $attempt] /" "$T/stall.out"
	((rc == 0)) && break
	[[ $attempt == 1 ]] && log "run 1 missed the bound: once more"
done
check "second client's evr_stats p99 <= ${P99} ms while $N subscriptions load and while they all expire" \
	test "$rc" = 0
check_eq "matcher.live after the expiry" "$(stat_get .matcher.live)" 0
check "evrd alive" evrd_alive
evrd_stop 30
e2e_finish
