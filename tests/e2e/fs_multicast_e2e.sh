#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# FreeSWITCH mod_event_multicast as a source (issue 12 part 2): datagrams
# built as the module builds them are sent to multicast groups on a veth;
# evrd (net_af_packet, allmulticast) takes the group traffic for its
# fs_multicast listeners, checks the trailer, decrypts the PSK mode and
# decodes the plain text.
#
#   namespace P (198.18.19.2, 2001:db8:19::2): "FreeSWITCH nodes" (fs-a,
#   fs-b, fs-c) and a subscriber  --veth--  evrd 198.18.19.1 / 2001:db8:19::1:
#   listeners 4242 (group 225.1.1.1, plain), 4243 (group 225.1.1.2, psk)
#   and 4244 (IPv6 group ff15::4242, plain)
#
# Asserts: plain events of both nodes arrive, told apart by
# Multicast-Sender; PSK events arrive; a datagram without the trailer and a
# PSK datagram under another key are counted (fs_mcast_no_magic /
# fs_mcast_bad_magic), never decoded; group traffic to a port that is no
# fs_multicast listener is not taken. Membership as a host: IGMPv2
# reports (IPv4 groups) and MLDv2 reports (IPv6 group) at start and in
# answer to queries, IGMPv2 Leave Group and an MLDv2 leave record at stop,
# all checked on the wire with tshark.
. "$(dirname "$0")/lib.sh"

e2e_init fs_multicast_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_af_packet
command -v openssl >/dev/null || { fail "openssl CLI (PSK datagrams)"; e2e_finish; }

FSPY=$E2E_LIB_DIR/fs_multicast_e2e.py
NS=fsm-$E2E_ID
HIF=${E2E_ID}h
NIF=${E2E_ID}p
EVR=198.18.19.1
SUB=198.18.19.2
EVRD_PREFIX=evr-e2e-fsm-$$
PSK=0123456789abcdef

netns_add "$NS" || { fail "create namespace"; e2e_finish; }
veth_add "$HIF" "$NS" "$NIF" "$SUB/24" || { fail "veth evrd <-> P"; e2e_finish; }
ip -n "$NS" route add 224.0.0.0/4 dev "$NIF" || { fail "multicast route in P"; e2e_finish; }
EVR6=2001:db8:19::1 SUB6=2001:db8:19::2
for k in disable_ipv6=0 accept_dad=0 accept_ra=0 router_solicitations=0; do
	nsx "$NS" sysctl -q -w "net.ipv6.conf.$NIF.$k"
done
ip -n "$NS" addr add "$SUB6/64" dev "$NIF" nodad || { fail "IPv6 address in P"; e2e_finish; }
command -v tshark >/dev/null || { fail "tshark installed (deploy/packages.txt)"; e2e_finish; }
# every IGMP and IPv6 message on the wire (MLD sits behind a Hop-by-Hop
# header, which BPF's icmp6 misses), from before evrd starts
spawn ip netns exec "$NS" tshark -q -a duration:90 -i "$NIF" -f "igmp or ip6" -w "$T/igmp.pcap"
TSHARK_PID=$BG_PID
wait_until 10 test -s "$T/igmp.pcap" || { fail "tshark capturing"; e2e_finish; }

cat >"$T/evrd.conf" <<CONF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "$EVRD_PREFIX"; vdevs = [ "net_af_packet0,iface=$HIF" ]; };
ports = ( { name = "p"; device = "net_af_packet0"; ipv4 = "$EVR/24"; ipv6 = "$EVR6/64"; } );
workers = { count = 1; idle_sleep_us = 50; };
listeners = ( { port = 4242; format = "fs_multicast"; group = "225.1.1.1"; },
              { port = 4243; format = "fs_multicast"; group = "225.1.1.2"; psk = "$PSK"; },
              { port = 4244; format = "fs_multicast"; group = "ff15::4242"; },
              { port = 8090; format = "jsonrpc"; } );
control = { socket = "$T/evrd.sock"; };
heartbeat = { interval_s = 0; };
CONF
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts with fs_multicast listeners"; e2e_finish; }
check_eq "config_get hides the psk" "$(ctl config 'listeners[1].psk')" "********"
subscribe_all "$NS" "$SUB" "$T/recv.jsonl" 100 30 "9100|CUSTOM evr::mcast|--format json" \
	"9101|CUSTOM evr::psk|--format json" "9102|CUSTOM evr::mcast6|--format json" ||
	{ fail "subscriber in P"; e2e_finish; }

send() { nsx "$NS" "$PY" "$FSPY" send --bind "$SUB" "$@" >/dev/null; }
check "fs-a: 3 plain events to 225.1.1.1:4242" send --group 225.1.1.1 --port 4242 --sender fs-a --n 3
check "fs-b: 2 plain events to 225.1.1.1:4242" send --group 225.1.1.1 --port 4242 --sender fs-b --n 2
check "fs-a: 2 PSK events to 225.1.1.2:4243" send --group 225.1.1.2 --port 4243 --sender fs-a \
	--subclass evr::psk --psk "$PSK" --n 2
check "a datagram without the trailer" send --group 225.1.1.1 --port 4242 --sender fs-x --no-magic
check "a PSK datagram under another key" send --group 225.1.1.2 --port 4243 --sender fs-x \
	--subclass evr::psk --psk wrongwrongwrong0
check "a group datagram to the jsonrpc port" send --group 225.1.1.1 --port 8090 --sender fs-x
send6() { nsx "$NS" "$PY" "$FSPY" send --bind "$SUB6" --ifname "$NIF" "$@" >/dev/null; }
check "fs-c: 2 plain events to [ff15::4242]:4244" send6 --group ff15::4242 --port 4244 \
	--sender fs-c --subclass evr::mcast6 --n 2

count() { "$PY" "$E2E_PY" notes "$T/recv.jsonl" 2>/dev/null | jq -s "[.[] | select($1)] | length"; }
all_in() { [[ $(count '.dst == "'$SUB':9100"') -ge 5 && $(count '.dst == "'$SUB':9101"') -ge 2 &&
	$(count '.dst == "'$SUB':9102"') -ge 2 ]]; }
check "5 plain, 2 PSK and 2 IPv6-group events notified within 10 s" wait_until 10 all_in
sleep 0.5
check_eq "fs-a's plain events (Multicast-Sender fs-a)" \
	"$(count '.dst == "'$SUB':9100" and .attrs["Multicast-Sender"] == "fs-a"')" 3
check_eq "fs-b's plain events (Multicast-Sender fs-b)" \
	"$(count '.dst == "'$SUB':9100" and .attrs["Multicast-Sender"] == "fs-b"')" 2
check_eq "PSK events decrypted (Multicast-Sender fs-a)" \
	"$(count '.dst == "'$SUB':9101" and .attrs["Multicast-Sender"] == "fs-a"')" 2
check_eq "the IPv6 group's events (Multicast-Sender fs-c)" \
	"$(count '.dst == "'$SUB':9102" and .attrs["Multicast-Sender"] == "fs-c"')" 2
check_eq "nothing from fs-x was notified" "$(count '.attrs["Multicast-Sender"] == "fs-x"')" 0
# a wrong key decrypts to noise: no trailer, or a damaged one (as in
# FreeSWITCH, where it shows only as a missing magic)
check_eq "no trailer + wrong psk counted (fs_mcast_no_magic + fs_mcast_bad_magic)" \
	$(($(total fs_mcast_no_magic) + $(total fs_mcast_bad_magic))) 2
check_ge "group traffic to another port not taken (rx_not_for_us)" "$(total rx_not_for_us)" 1
# IGMP: two unsolicited reports per group at start (second after 1 s),
# then reports answering a general query and a group-specific one
sleep 1.5
check "IGMPv2 general query from P" nsx "$NS" "$PY" "$FSPY" igmp-query --bind "$SUB"
check "IGMPv2 group-specific query for 225.1.1.2" nsx "$NS" "$PY" "$FSPY" igmp-query --bind "$SUB" --group 225.1.1.2
answered() { [[ $(total igmp_reports_tx) -ge 7 ]]; }
check "reports answered (igmp_reports_tx >= 2 x 2 at start + 2 + 1)" wait_until 5 answered
check_eq "igmp_queries_rx" "$(total igmp_queries_rx)" 2
check "MLDv2 general query from P" nsx "$NS" "$PY" "$FSPY" mld-query --ifname "$NIF"
check "MLDv2 group-specific query for ff15::4242" nsx "$NS" "$PY" "$FSPY" mld-query --ifname "$NIF" \
	--group ff15::4242
answered6() { [[ $(total mld_reports_tx) -ge 4 ]]; }
check "MLD reports answered (mld_reports_tx >= 2 at start + 2)" wait_until 5 answered6
check_eq "mld_queries_rx" "$(total mld_queries_rx)" 2
log "counters: $(stats_json | jq -c '.dataplane.totals | with_entries(select(.key | test("mld|icmp|ext_header|not_for_us|igmp")))')"
check "evrd alive" evrd_alive
# a clean stop leaves the groups: IGMPv2 Leave Group, MLDv2 change to include {}
evrd_stop 15
sleep 0.5
kill -INT "$TSHARK_PID" 2>/dev/null # ip netns exec execs tshark: same pid
wait "$TSHARK_PID" 2>/dev/null
reports() { tshark -r "$T/igmp.pcap" -Y "igmp.type == 0x16 && ip.src == $EVR && igmp.maddr == $1 && ip.dst == $1" 2>/dev/null | wc -l; }
check_eq "on the wire: v2 reports for 225.1.1.1 from evrd (2 at start + general query)" "$(reports 225.1.1.1)" 3
check_eq "on the wire: v2 reports for 225.1.1.2 (2 at start + 2 queries)" "$(reports 225.1.1.2)" 4
check "tshark sees the Router Alert option on evrd's reports" \
	test "$(tshark -r "$T/igmp.pcap" -Y "ip.src == $EVR && ip.opt.type == 148" 2>/dev/null | wc -l)" -ge 7
leaves() { tshark -r "$T/igmp.pcap" -Y "igmp.type == 0x17 && ip.src == $EVR && ip.dst == 224.0.0.2 && igmp.maddr == $1" 2>/dev/null | wc -l; }
check_eq "on the wire: Leave Group for 225.1.1.1 at stop" "$(leaves 225.1.1.1)" 1
check_eq "on the wire: Leave Group for 225.1.1.2 at stop" "$(leaves 225.1.1.2)" 1
# evrd's MLD: from its link-local address to ff02::16, hop limit 1
mld() { tshark -r "$T/igmp.pcap" -Y "icmpv6.type == 143 && ipv6.src == $LL6 && ipv6.dst == ff02::16 && ipv6.hlim == 1 && icmpv6.mldr.mar.multicast_address == ff15::4242 && icmpv6.mldr.mar.record_type == $1" 2>/dev/null | wc -l; }
LL6=$(tshark -r "$T/igmp.pcap" -Y "icmpv6.type == 143 && icmpv6.mldr.mar.multicast_address == ff15::4242" -T fields -e ipv6.src 2>/dev/null | sort -u)
check "MLDv2 reports come from one link-local address ($LL6)" test "${LL6%%:*}" = fe80
check_eq "on the wire: MLDv2 CHANGE_TO_EXCLUDE (join) at start" "$(mld 4)" 2
check_eq "on the wire: MLDv2 MODE_IS_EXCLUDE answering both queries" "$(mld 2)" 2
check_eq "on the wire: MLDv2 CHANGE_TO_INCLUDE {} (leave) at stop" "$(mld 3)" 1
check_eq "evrd's MLD checksums good (tshark)" \
	"$(tshark -r "$T/igmp.pcap" -Y "ipv6.src == $LL6 && icmpv6.type == 143 && icmpv6.checksum.status != 1" 2>/dev/null | wc -l)" 0
check "tshark sees Router Alert in evrd's MLD Hop-by-Hop header" \
	test "$(tshark -r "$T/igmp.pcap" -Y "ipv6.src == $LL6 && ipv6.opt.type == 5" 2>/dev/null | wc -l)" -ge 5
e2e_finish
