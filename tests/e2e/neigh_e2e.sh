#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Neighbour table (issue 8 item 5): evrd on net_af_packet over a veth into a
# namespace whose kernel answers ARP for hundreds of subscriber addresses,
# with a table of 64 entries (arp.table_size).
#
# Asserts:
#  A. 40 next hops in one /24 (> the old 32-slot probe limit, all keys in
#     one home slot with the old hash) all resolve and all receive.
#  B. 120 more next hops in batches of 20 (160 in all, > table_size 64):
#     idle entries are reclaimed, every batch is delivered in full,
#     neigh_table_full stays 0, neigh_evicted counts the reclaims.
#  C. an ARP flood (400 on-link senders we never asked about, 400 off-link
#     senders) for evrd's address: answered, nothing learned (counted as
#     neigh_learn_unneeded / neigh_learn_offlink), and a new subscriber
#     still receives its notification.
#  D. 80 absent subscribers (> table_size: some find the table truly full
#     while 64 entries wait) fail; afterwards their failed entries are
#     reclaimed and a new subscriber receives.
#
# Ordering: "received" is waited for on the receiver's record; the only
# timed wait is for entries to become idle (arp.reachable_s = 1), which is
# the condition under test, not a stand-in for readiness.
. "$(dirname "$0")/lib.sh"

e2e_init neigh_e2e
e2e_veth_peer 16
EVRD_PREFIX=evr-e2e-neigh-$$
RECV=$T/recv.jsonl
PORT=9000

# Subscribers: A 198.18.1.1-40, B 198.18.2.1-120, C/D new ones 198.18.5.1-2.
# D's absent ones (198.18.6.x) are not configured anywhere.
subs_a=() subs_b=()
for i in $(seq 1 40); do subs_a+=("198.18.1.$i"); done
for i in $(seq 1 120); do subs_b+=("198.18.2.$i"); done
new=(198.18.5.1 198.18.5.2)
for a in "${subs_a[@]}" "${subs_b[@]}" "${new[@]}"; do echo "address add $a/32 dev $NIF"; done |
	ip -n "$NS" -batch - || { fail "addresses on $NIF"; e2e_finish; }
pass "namespace $NS: $NIF with $PLAT and 162 subscriber addresses"

cat >"$T/evrd.conf" <<EOF2
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "$EVRD_PREFIX";
        vdevs = [ "net_af_packet0,iface=$HIF" ]; };
ports = ( { name = "veth"; device = "net_af_packet0"; ipv4 = "$US/16"; } );
workers = { count = 1; idle_sleep_us = 100; };
listeners = ( { port = 8090; format = "jsonrpc"; } );
control = { socket = "$T/evrd.sock"; };
rings = { rx_pool = 4096; payload_pool = 2048; hdr_pool = 2048; indirect_pool = 1024; };
arp = { table_size = 64; reachable_s = 1; retry_ms = 100; max_retries = 2; };
EOF2
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts on net_af_packet"; e2e_finish; }
pass "evrd starts with arp.table_size 64"

binds=()
for a in "${subs_a[@]}" "${subs_b[@]}" "${new[@]}"; do binds+=(--bind "$a:$PORT"); done
recv_start "$NS" "$PLAT:9100" "$RECV" 100000 120 "${binds[@]}" ||
	{ fail "receiver in the namespace"; e2e_finish; }

# got EVENT: notifications of EVENT received so far.
got() { "$PY" "$E2E_PY" notes "$RECV" | jq -c --arg e "$1" 'select(.name == $e)' | wc -l; }
got_n() { [[ $(got "$1") -ge $2 ]]; }
sub_all() { # sub_all EVENT ADDR...
	local ev=$1 a
	shift
	for a in "$@"; do
		ctl --json subscribe "$ev" "udp:$a:$PORT" --format jsonrpc >/dev/null ||
			fail "evrctl subscribe $ev udp:$a:$PORT"
	done
}

# ---- A: 40 next hops
sub_all E_A "${subs_a[@]}"
ctl raise E_A n=1 >/dev/null
check "A: all 40 subscribers of one /24 receive (> 32 next hops)" wait_until 10 got_n E_A 40
check_eq "A: neigh_table_full 0" "$(total neigh_table_full)" 0

# ---- B: 120 more in batches of 20: 160 next hops through 64 slots
for b in 0 1 2 3 4 5; do
	# Let the entries of the previous batch become idle (reachable_s 1).
	sleep 1.2
	ev=E_B$b
	sub_all "$ev" "${subs_b[@]:$((b * 20)):20}"
	ctl raise "$ev" n=1 >/dev/null
	check "B: batch $b: 20 of 20 receive (next hops $((40 + b * 20 + 20)) > table_size 64)" \
		wait_until 10 got_n "$ev" 20
done
check_eq "B: neigh_table_full 0" "$(total neigh_table_full)" 0
check_ge "B: neigh_evicted counts reclaimed idle entries (>= 96)" "$(total neigh_evicted)" 96

# ---- C: ARP flood for our address, then a new subscriber
req0=$(total arp_requests_rx)
nsx "$NS" "$PY" - "$E2E_LIB_DIR" "$NIF" "$US" <<'PYEOF' || fail "C: flood sender"
import socket, sys
sys.path.insert(0, sys.argv[1])
import evr_e2e as E
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[2], 0))
for i in range(400):
    mac = '02:aa:00:00:%02x:%02x' % (i >> 8, i & 255)
    s.send(E.arp_request(mac, '198.18.%d.%d' % (10 + i // 200, 1 + i % 200), sys.argv[3]))
    mac = '02:bb:00:00:%02x:%02x' % (i >> 8, i & 255)
    s.send(E.arp_request(mac, '198.19.%d.%d' % (i // 200, 1 + i % 200), sys.argv[3]))
PYEOF
flooded() { [[ $(($(total arp_requests_rx) - req0)) -ge 800 ]]; }
check "C: 800 flood ARP requests received" wait_until 10 flooded
check_ge "C: 400 off-link senders not learned (neigh_learn_offlink)" "$(total neigh_learn_offlink)" 400
check_ge "C: 400 unneeded on-link senders not learned (neigh_learn_unneeded)" \
	"$(total neigh_learn_unneeded)" 400
flood_in_table=$(stats_json | jq '[.dataplane.neighbours[] | select(.ip | test("^198[.](18[.]1[01]|19)[.]"))] | length')
check_eq "C: no flood sender in the neighbour table" "$flood_in_table" 0
sleep 1.2 # B's last batch idle
sub_all E_C "${new[0]}"
ctl raise E_C n=1 >/dev/null
check "C: a new subscriber after the flood receives" wait_until 10 got_n E_C 1

# ---- D: 80 absent subscribers, then a new one
absent=()
for i in $(seq 1 80); do absent+=("198.18.6.$i"); done
sub_all E_D "${absent[@]}"
un0=$(total arp_unresolved) full0=$(total neigh_table_full)
ctl raise E_D n=1 >/dev/null
all_failed() {
	[[ $(($(total arp_unresolved) - un0 + $(total neigh_table_full) - full0)) -ge 80 ]]
}
check "D: all 80 absent subscribers given up (arp_unresolved + neigh_table_full)" \
	wait_until 10 all_failed
sub_all E_D2 "${new[1]}"
ctl raise E_D2 n=1 >/dev/null
check "D: a new subscriber after 80 failed next hops receives" wait_until 10 got_n E_D2 1

check "evrd alive" evrd_alive
evrd_stop 15
e2e_finish
