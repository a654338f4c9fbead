#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# evrd's counters over DPDK telemetry (/evr/ commands on EAL's
# dpdk_telemetry.v2 socket). evrd on net_pcap (2 workers, one capture each)
# + net_null (where the notifications leave), a sip listener so the SIP
# counters are exported too; no network at all.
#
# Asserts, once the captures are consumed and the counters stand still:
# /evr/stats equals `evrctl --json stats` totals name for name (and the
# predicted values: rx_packets, events_rx, decode_ok, notifications...),
# /evr/workers, /evr/worker,<i> and /evr/port,<i|name> equal the evrctl
# per-worker/per-port counters, /evr/info, null replies for unknown ids,
# replies within the dictionary and output limits; dpdk-telemetry.py (when
# installed) sees the same; evrd exits 0 on SIGTERM while a client keeps
# asking (the shutdown path unpublishes the router first). ~10 s.
. "$(dirname "$0")/lib.sh"

e2e_init telemetry_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_pcap net_null

TPY=$E2E_LIB_DIR/telemetry_e2e.py
EVRD_PREFIX=evr-e2e-tel-$$
TEL=/var/run/dpdk/$EVRD_PREFIX/dpdk_telemetry.v2
"$PY" "$TPY" gen "$T" "$EVRD_PREFIX" >/dev/null || { fail "generate captures and config"; e2e_finish; }
nframes=$(jq .frames "$T/expect.json")

evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts on net_pcap + net_null"; e2e_finish; }
pass "evrd starts on net_pcap + net_null, control socket answers"
check "EAL telemetry socket $TEL exists (telemetry not disabled)" test -S "$TEL"
check "evrd logs its telemetry commands" grep -q 'telemetry: /evr/ commands' "$EVRD_LOG"

# The captures are read as fast as the workers poll; then the 8
# notifications leave through net_null (p1), the OPTIONS reply through p0.
settled() {
	stats_json >"$T/settle.json" &&
		[[ $(total rx_packets "$T/settle.json") == "$nframes" &&
			$(stat_get '.dataplane.ports[1].counters.tx_packets' "$T/settle.json") == 8 &&
			$(stat_get '.dataplane.ports[0].counters.tx_packets' "$T/settle.json") == 1 ]]
}
check "all $nframes frames received, 8 notifications and 1 SIP reply sent within 10 s" \
	wait_until 10 settled
# No sleep here: the checker retries until the counters are quiescent
# across its telemetry queries.

py_checks "$PY" "$TPY" check "$T" "$TEL" "$EVR_SOCK" "$EVRD_PID"

# The telemetry client DPDK ships (Debian package dpdk), non-interactive:
# one command per stdin line, one JSON reply per output line.
if command -v dpdk-telemetry.py >/dev/null; then
	out=$(printf '/evr/stats\n/evr/worker,1\n' |
		timeout 10 dpdk-telemetry.py -f "$EVRD_PREFIX" 2>&1)
	tel_rx=$(grep -m1 '"/evr/stats"' <<<"$out" | jq -r '.["/evr/stats"].rx_packets' 2>/dev/null)
	tel_w1=$(grep -m1 '"/evr/worker"' <<<"$out" | jq -r '.["/evr/worker"].decode_ok' 2>/dev/null)
	check_eq "dpdk-telemetry.py /evr/stats rx_packets = evrctl totals" "$tel_rx" "$(total rx_packets)"
	check_eq "dpdk-telemetry.py /evr/worker,1 decode_ok = evrctl workers[1]" "$tel_w1" \
		"$(stat_get '.dataplane.workers[1].counters.decode_ok')"
else
	log "dpdk-telemetry.py not installed: the python client above is the only one"
fi

# Shutdown while a telemetry client keeps asking: exit 0, no crash.
spawn "$PY" "$TPY" hammer "$TEL" 20 >"$T/hammer.log" 2>&1
hammer=$BG_PID
# Wait for its first reply (bounded), not a fixed time: on a busy 2-core
# machine 0.5 s was not always enough for python to start and connect.
check "telemetry client has its first reply before SIGTERM" \
	wait_until 20 grep -q 'hammer: first reply' "$T/hammer.log"
check "telemetry client still asking before SIGTERM" kill -0 "$hammer"
evrd_stop 15
wait_until 5 bash -c '! kill -0 "$1" 2>/dev/null' _ "$hammer"
check "telemetry client answered before shutdown ($(cat "$T/hammer.log"))" \
	grep -Eq 'hammer: [1-9][0-9]* replies' "$T/hammer.log"
check "evrd log: no fatal error, sanitizer report or crash" \
	bash -c '! grep -Eq "evrd: error|Sanitizer|runtime error|Segmentation" "$1"' _ "$EVRD_LOG"
e2e_finish
