#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# evrd as a process: signals and one instance per interface (issue 8,
# items 8 and 9). evrd on net_af_packet over a veth into a namespace.
#
# Asserts: SIGHUP, SIGUSR1 and SIGUSR2 neither kill evrd nor stop routing
# (each is logged, and an event sent after them is still notified); a
# second evrd on the same interface refuses to start with a message naming
# the interface and the first one's pid, exits non-zero, and the first
# still routes 10 events to exactly 10 notifications (two evrd on one veth
# sent 20); SIGTERM then ends evrd with exit 0, its control socket and
# EAL's runtime sockets removed.
#
# "Exactly 10" is decided by a marker event sent after the 10: one worker
# handles the veth queue in order, so once the marker is delivered every
# earlier event has been handled (and a second evrd's copies, which it
# would send for each event as it does for the marker, would be there).
. "$(dirname "$0")/lib.sh"

e2e_init procctl_e2e
e2e_veth_peer 24
EVRD_PREFIX=evr-e2e-procctl-$$
RECV=$T/recv.jsonl


# conf PREFIX SOCK: the same interface and static subscriptions, so a
# second instance (if it ran) would notify every event too.
conf() {
	cat <<EOF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "$1";
        vdevs = [ "net_af_packet0,iface=$HIF" ]; };
ports = ( { name = "veth"; device = "net_af_packet0"; ipv4 = "$US/24"; } );
workers = { count = 1; idle_sleep_us = 100; };
listeners = ( { port = 8090; format = "jsonrpc"; } );
control = { socket = "$2"; };
rings = { rx_pool = 2048; payload_pool = 2048; hdr_pool = 2048; indirect_pool = 1024; };
subscriptions = (
  { event = "E_EV"; socket = "udp:$PLAT:9101"; format = "jsonrpc"; },
  { event = "E_MARK"; socket = "udp:$PLAT:9999"; format = "jsonrpc"; } );
EOF
}
conf "$EVRD_PREFIX" "$T/evrd.sock" >"$T/evrd.conf"
conf "$EVRD_PREFIX-2" "$T/evrd2.sock" >"$T/evrd2.conf"

evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts on net_af_packet"; e2e_finish; }
pass "evrd $EVRD_PID starts on net_af_packet,iface=$HIF"
recv_start "$NS" "$PLAT:9100" "$RECV" 200 60 --bind "$PLAT:9101" --bind "$PLAT:9999" ||
	{ fail "receiver in the namespace"; e2e_finish; }

rpc() { # rpc METHOD PARAMS-JSON
	nsx "$NS" "$PY" "$E2E_PY" send --to "$US:8090" --bind "$PLAT" --sport 5060 \
		--payload "$(jq -cn --arg m "$1" --argjson p "$2" \
			'{jsonrpc: "2.0", method: $m, params: $p}')" --timeout 5 2>/dev/null
}
notes() { "$PY" "$E2E_PY" notes "$RECV" | jq -c --arg d "$PLAT:$1" 'select(.dst == $d)'; }
count() { notes "$@" | wc -l | tr -d ' '; }
mark=0
barrier() { # everything sent before has been handled (and notified)
	mark=$((mark + 1))
	rpc E_MARK "{\"n\": $mark}"
	local m=$mark
	got_mark() { notes 9999 | jq -e --argjson m "$m" 'select(.attrs.n == $m)' >/dev/null; }
	wait_until 10 got_mark || { fail "barrier $m: marker not delivered within 10 s"; return 1; }
}

# ---- SIGHUP, SIGUSR1, SIGUSR2: logged, not fatal, routing goes on
ev=0
for sig in HUP USR1 USR2; do
	kill -"$sig" "$EVRD_PID"
	check "SIG$sig logged by evrd" wait_until 10 grep -q "SIG$sig: ignored" "$EVRD_LOG"
	check "evrd still running after SIG$sig" evrd_alive
	ev=$((ev + 1))
	rpc E_EV "{\"n\": $ev}"
	barrier
	check_eq "event sent after SIG$sig notified" \
		"$(notes 9101 | jq -c --argjson n "$ev" 'select(.attrs.n == $n)' | wc -l | tr -d ' ')" 1
done
check "evrd control socket answers after the signals" ctl version

# ---- a second evrd on the same interface refuses, before touching it
before=$(count 9101)
"$EVRD" -c "$T/evrd2.conf" --store-path "$T/store2" </dev/null >"$T/evrd2.log" 2>&1 &
second=$!
E2E_PIDS+=("$second")
second_done() { ! kill -0 "$second" 2>/dev/null; }
if wait_until 30 second_done; then
	wait "$second"
	rc2=$?
	check "second evrd on $HIF exits non-zero (rc $rc2)" test "$rc2" -ne 0
else
	fail "second evrd on $HIF refuses to start (still running after 30 s)"
fi
sed 's/^/    evrd2| /' "$T/evrd2.log"
check "second evrd names the interface and the first's pid ($EVRD_PID)" \
	grep -Eq "iface-$HIF is already in use by another evrd \\(pid $EVRD_PID," "$T/evrd2.log"
check "second evrd did not create its control socket" test ! -e "$T/evrd2.sock"
for i in $(seq 101 110); do rpc E_EV "{\"n\": $i}"; done
barrier
check_eq "10 events -> 10 notifications with a second evrd started on $HIF" \
	"$(($(count 9101) - before))" 10
kill -TERM "$second" 2>/dev/null # main's code: the second one ran
rm -rf "/var/run/dpdk/$EVRD_PREFIX-2"

# ---- SIGTERM: exit 0, control socket and EAL runtime sockets removed
evrd_stop 15
check "control socket removed" test ! -e "$T/evrd.sock"
check "EAL multi-process socket removed" test ! -e "/var/run/dpdk/$EVRD_PREFIX/mp_socket"
check "EAL telemetry socket removed" \
	bash -c '! compgen -G "/var/run/dpdk/$1/dpdk_telemetry*" >/dev/null' _ "$EVRD_PREFIX"
ls -la "/var/run/dpdk/$EVRD_PREFIX" 2>/dev/null | sed 's/^/    runtime| /'
check "evrd log: no fatal error, sanitizer report or crash" \
	bash -c '! grep -Eq "evrd: error|Sanitizer|runtime error|Segmentation" "$1"' _ "$EVRD_LOG"
e2e_finish
