#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# evrd on net_tap with jumbo frames (issue 8: every datagram received whole
# on every PMD). evrd creates the tap (iface=NAME); the test moves the tap's
# kernel netdev into a namespace it creates (the PMD keeps its /dev/net/tun
# file descriptor, which is bound to the netdev, not to a namespace), gives
# it 198.18.0.2/24 and MTU 9000 there; evrd's port has mtu = 9000 too, so
# its 2,048-byte mbufs cannot hold one frame and evrd must enable scatter
# RX (RTE_ETH_RX_OFFLOAD_SCATTER: the tap PMD then reads a frame into a
# chain of mbufs; without it the kernel cuts the frame at one mbuf).
#
# Asserts: evrd chose scatter RX (its port log line); ARP and ICMP echo
# (small and a 8,000-byte jumbo echo: a multi-segment request turned
# around); events of 1.5, 3, 8.9 KB (one unfragmented 8,928-byte frame: the
# scatter path, rx_fragments unchanged), 30 and 65 KB (fragmented at 9000:
# multi-segment fragments into reassembly), JSON-RPC and plain, each
# delivered once with its payload intact (md5 of the padding attribute);
# counters rx_truncated, rx_bad_ip_header, pool_empty (and other drop
# counters) 0; decode_ok = datagrams sent.
#
# Ordering barrier as in netns_e2e.sh: one worker, one queue, in order.
. "$(dirname "$0")/lib.sh"

e2e_init tap_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_tap
NS=evr-$E2E_ID TAP=${E2E_ID}t
US=198.18.0.1 PLAT=198.18.0.2 MTU=9000
EVRD_PREFIX=evr-e2e-tap-$$
RECV=$T/recv.jsonl
netns_add "$NS" || { fail "create namespace $NS"; e2e_finish; }

cat >"$T/evrd.conf" <<EOF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "$EVRD_PREFIX";
        vdevs = [ "net_tap0,iface=$TAP" ]; };
ports = ( { name = "tap"; device = "net_tap0"; ipv4 = "$US/24"; mtu = $MTU; } );
workers = { count = 1; idle_sleep_us = 100; };
listeners = ( { port = 8090; format = "jsonrpc"; }, { port = 8021; format = "plain"; } );
control = { socket = "$T/evrd.sock"; };
rings = { rx_pool = 2048; payload_pool = 2048; hdr_pool = 2048; indirect_pool = 1024; };
arp = { retry_ms = 200; max_retries = 5; };
limits = { max_value_len = 65507; }; # one big attribute per big event
EOF
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts on net_tap"; e2e_finish; }
pass "evrd starts on net_tap0,iface=$TAP"
portline=$(grep -m1 "port tap: net_tap" "$EVRD_LOG")
log "evrd: $portline"
check "port log line says scatter RX for mtu $MTU (frame > 2,048-byte mbuf)" \
	grep -q "mtu $MTU (tx [0-9]*) rx scatter" <<<"$portline"
# DPDK 22.11 net_tap: max_rx_pktlen 1522, so ethdev refuses MTU 9000, and
# its TX drops frames over MTU + 22: evrd fragments its output at 1500.
check "net_tap refused MTU $MTU: TX fragments at 1500 (warning logged)" \
	grep -q "port tap: PMD did not take MTU $MTU.*fragmented at its MTU 1500" "$EVRD_LOG"

# The tap's kernel side goes into the namespace: a netns move takes the
# link down and keeps its MTU; evrd's fd keeps working (checked below by
# traffic both ways).
check "move the tap netdev $TAP into $NS" ip link set "$TAP" netns "$NS"
nsx "$NS" sysctl -q -w "net.ipv6.conf.$TAP.disable_ipv6=1" 2>/dev/null
check "address $PLAT/24, MTU $MTU, up in $NS" sh -c \
	"ip -n $NS addr add $PLAT/24 dev $TAP && ip -n $NS link set $TAP mtu $MTU up"
ns_txcsum_off "$NS" "$TAP"
check_eq "tap MTU in the namespace" \
	"$(ip -n "$NS" -j link show "$TAP" | jq -r '.[0].mtu')" "$MTU"

recv_start "$NS" "$PLAT:9100" "$RECV" 200 80 --bind "$PLAT:9701" --bind "$PLAT:9999" ||
	{ fail "receiver in the namespace"; e2e_finish; }

n_sent=0
send_ev() { # send_ev LISTENER_PORT PAYLOAD
	n_sent=$((n_sent + 1))
	nsx "$NS" "$PY" "$E2E_PY" send --to "$US:$1" --bind "$PLAT" --sport 5060 \
		--payload "$2" --timeout 5 2>/dev/null
}
notes() {
	"$PY" "$E2E_PY" notes "$RECV" | jq -c --arg d "$PLAT:$1" 'select(.dst == $d)'
}
mark=0
barrier() {
	mark=$((mark + 1))
	send_ev 8090 "{\"jsonrpc\":\"2.0\",\"method\":\"E_MARK\",\"params\":{\"n\":$mark}}"
	local m=$mark
	got_mark() { notes 9999 | jq -e --argjson m "$m" 'select(.attrs.n == $m)' >/dev/null; }
	wait_until 5 got_mark || { fail "barrier $m: marker not delivered within 5 s"; return 1; }
}
sub() { ctl --json subscribe "$@" | jq -r .id; }
check "marker subscription" test -n "$(sub E_MARK "udp:$PLAT:9999" --format jsonrpc)"
check "first barrier (ARP both ways over the moved tap, small event in and out)" barrier

# ---- ICMP echo: small, and a jumbo request in one frame (multi-segment).
# evrd's TX on net_tap is held to 1500 (see the port log check above) and
# evrd does not fragment echo replies: the jumbo request must be parsed
# and checksummed across its segments and then counted icmp_echo_too_big,
# never rx_bad_icmp (before: judged bad as it ran past the first mbuf).
icmp0=$(total icmp_echo_replies)
big0=$(total icmp_echo_too_big)
check "ICMP echo x2 to $US from the namespace: 2 of 2 answered" \
	nsx "$NS" "$PY" "$E2E_PY" ping "$US" --count 2 --timeout 2
check_eq "icmp_echo_replies grew by 2" "$(($(total icmp_echo_replies) - icmp0))" 2
if nsx "$NS" sh -c 'command -v ping' >/dev/null; then
	nsx "$NS" ping -q -M do -s 8000 -c 2 -i 0.2 -W 1 "$US" >/dev/null 2>&1
	got_big_echo() { [[ $(($(total icmp_echo_too_big) - big0)) -eq 2 ]]; }
	check "2 jumbo echo requests (8,028-byte IP, one frame each) counted icmp_echo_too_big" \
		wait_until 5 got_big_echo
else
	log "ping not installed: no jumbo echo request"
fi

# ---- events of every size, JSON-RPC and plain
sub E_BIG "udp:$PLAT:9701" --format json >/dev/null
big_n=0
for size in 1500 3000 8900 30000 65000; do
	for fmt in jsonrpc plain; do
		big_n=$((big_n + 1))
		big_event "$fmt" "$big_n" "$size"
		frag0=$(total rx_fragments)
		send_ev "$BIG_PORT" "$BIG_PAYLOAD"
		want=$BIG_MD5
		got_big() { notes 9701 | jq -r --arg n "$big_n" 'select(.attrs.n == $n) | .attrs.pad' |
			tr -d '\n' | md5sum | grep -q "^$want "; }
		if ((size + 28 <= MTU)); then
			how="one frame"
		else
			how="fragmented at $MTU"
		fi
		check "$fmt event of $size bytes (IPv4, $how) delivered intact" wait_until 5 got_big
		check_eq "$fmt $size: exactly one notification" \
			"$(notes 9701 | jq -r --arg n "$big_n" 'select(.attrs.n == $n) | .seq' | wc -l)" 1
		if ((size == 8900)); then
			check_eq "$fmt $size: no fragment on the way (a single jumbo frame)" \
				"$(($(total rx_fragments) - frag0))" 0
		fi
	done
done
check_ge "the 30 and 65 KB events came as fragments (rx_reassembled)" \
	"$(total rx_reassembled)" 4

# ---- counters: nothing cut, nothing dropped
barrier
stats_json >"$T/stats.json"
for k in rx_truncated rx_bad_ip_header pool_empty rx_bad_ip_checksum rx_bad_udp_checksum \
	rx_bad_udp_header rx_bad_icmp rx_frag_dropped arp_unresolved ring_full tx_full \
	decode_bad_json; do
	check_eq "counter $k" "$(total "$k" "$T/stats.json")" 0
done
check_eq "decode_ok = every event datagram sent" "$(total decode_ok "$T/stats.json")" "$n_sent"

check "evrd alive" evrd_alive
evrd_stop 15
e2e_finish
