#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Two workers, one multi-queue port: net_af_packet with qpairs=2 on a veth.
# That PMD has no RSS of its own (evrd logs "no RSS on UDP in this PMD");
# the kernel's PACKET_FANOUT hash spreads flows over the two queue sockets,
# one flow always to the same queue (dataplane/evrd/README.md). 16 source
# flows (source ports) x N events, each carrying {"flow", "seq"}, go to two
# subscribers (json and plain).
#
# Asserts: no loss, no duplicates, per-subscriber FIFO per source flow,
# Event-Sequence increasing per flow, both queues (and both workers)
# decoded events, no drop counter moved.
. "$(dirname "$0")/lib.sh"

e2e_init rss_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_af_packet

FLOWS=16
EVENTS=${EVR_RSS_EVENTS:-150}
NS=evr-$E2E_ID
HIF=${E2E_ID}h
NIF=${E2E_ID}n
US=198.18.0.1
PLAT=198.18.0.2
EVRD_PREFIX=evr-e2e-rss-$$

netns_add "$NS" || { fail "create namespace"; e2e_finish; }
veth_add "$HIF" "$NS" "$NIF" "$PLAT/24" || { fail "create veth"; e2e_finish; }
pass "namespace $NS ($PLAT) <-> $HIF"

# lcore 0 = control thread on CPU 0; workers 1 and 2 share CPU 1 (2-CPU box).
cat >"$T/evrd.conf" <<CONF
eal = { lcores = "0@0,1@1,2@1"; no_huge = true; memory_mb = 512; no_pci = true;
        file_prefix = "$EVRD_PREFIX";
        vdevs = [ "net_af_packet0,iface=$HIF,qpairs=2" ]; };
ports = ( { name = "veth"; device = "net_af_packet0"; ipv4 = "$US/24"; } );
workers = { count = 2; idle_sleep_us = 50; };
listeners = ( { port = 8090; format = "jsonrpc"; } );
control = { socket = "$T/evrd.sock"; };
CONF
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts with 2 workers, qpairs=2"; e2e_finish; }
pass "evrd starts with 2 workers on net_af_packet qpairs=2"
check_eq "workers in stats" "$(stat_get '.dataplane.workers | length')" 2
check_eq "port RX queues" "$(stat_get '.dataplane.ports[0].rx_queues')" 2

want=$((FLOWS * EVENTS))
recv_start "$NS" "$PLAT:9000" "$T/recv.jsonl" $((2 * want + FLOWS + 10)) 70 --bind "$PLAT:9001" \
	--bind "$PLAT:9002" || { fail "receiver"; e2e_finish; }
ctl subscribe E_FLOW "udp:$PLAT:9000" --format json >/dev/null
ctl subscribe E_FLOW "udp:$PLAT:9001" --format plain >/dev/null
# Resolve the subscriber first, so no notification waits for ARP.
ctl subscribe E_WARM "udp:$PLAT:9002" >/dev/null
nsx "$NS" "$PY" "$E2E_PY" send --to "$US:8090" --bind "$PLAT" \
	--payload '{"jsonrpc":"2.0","method":"E_WARM"}' 2>/dev/null
warm() { [[ $(lines "$T/recv.jsonl") -ge 1 ]]; }
check "warm-up notification delivered (subscriber MAC resolved)" wait_until 5 warm
base=$(total decode_ok)
declare -A wbase
for w in 0 1; do wbase[$w]=$(stat_get ".dataplane.workers[$w].counters.decode_ok"); done

log "sending $FLOWS flows x $EVENTS events (paced, 3000/s)"
check "sender: $want events in $FLOWS flows" nsx "$NS" "$PY" "$E2E_PY" flows \
	--to "$US:8090" --bind "$PLAT" --sports 6000-$((6000 + FLOWS - 1)) \
	--count "$EVENTS" --rate 3000 --timeout 30
done_rx() { [[ $(lines "$T/recv.jsonl") -ge $((2 * want + 1)) ]]; }
check "all $((2 * want)) notifications received within 20 s" wait_until 20 done_rx
# Barrier instead of a sleep: one marker per flow, from the flow's own
# source port, lands on the same queue after the flow's events; once every
# marker is delivered, every notification (and duplicate) before it was sent.
ctl subscribe E_MARK "udp:$PLAT:9002" >/dev/null
for ((f = 0; f < FLOWS; f++)); do
	nsx "$NS" "$PY" "$E2E_PY" send --to "$US:8090" --bind "$PLAT" --sport $((6000 + f)) \
		--payload "{\"jsonrpc\":\"2.0\",\"method\":\"E_MARK\",\"params\":{\"f\":$f}}" 2>/dev/null
done
marks() { [[ $(jq -c 'select(.dst == "'"$PLAT"':9002")' "$T/recv.jsonl" | wc -l) -ge $((FLOWS + 1)) ]]; }
check "barrier: the $FLOWS per-flow markers delivered within 10 s" wait_until 10 marks
check_eq "decode_ok grew by the events sent (+ markers)" "$(($(total decode_ok) - base))" $((want + FLOWS))
stats_json >"$T/stats.json"
py_checks "$PY" "$E2E_LIB_DIR/rss_check.py" "$T/recv.jsonl" "$T/stats.json" \
	"$FLOWS" "$EVENTS" "$PLAT:9000" "$PLAT:9001"
for w in 0 1; do
	d=$(($(jq ".dataplane.workers[$w].counters.decode_ok" "$T/stats.json") - wbase[$w]))
	check_ge "worker $w decoded flow events" "$d" 1
done
for k in ring_full pool_empty tx_full arp_queue_overflow arp_unresolved \
	rx_bad_udp_checksum events_unmatched; do
	check_eq "counter $k" "$(total "$k" "$T/stats.json")" 0
done
check "evrd alive" evrd_alive
evrd_stop 15
e2e_finish
