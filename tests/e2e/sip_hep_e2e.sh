#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# HEPv3 -> derived events, with a real proxy (issue 4, "Tests").
#
#   namespace U (198.18.7.1)  sipp UAC  --veth--  namespace K: kamailio
#   (Debian package, tests/e2e/sip/kamailio-hep.cfg: registrar + usrloc in
#   memory, siptrace HEPv3 copies of every request it receives and every
#   reply it sends) listening on 198.18.6.2:5060; U routes 198.18.6.0/24
#   through K. K's other veth leads to evrd (net_af_packet, 198.18.6.1,
#   listener { port = 9060; format = "hep"; }). Subscribers are UDP
#   receivers in K (198.18.6.2:91xx).
#
# Flows (sipp scenarios of tests/e2e/sip/, -m 1, -timeout): a REGISTER
# with a 2 s lifetime left to expire (kamailio min_expires 0), and
# register + refresh + unregister (Expires: 0); kamailio answers them all
# from its usrloc.
#
# Asserts: kamailio really sent HEPv3 copies of the REGISTERs and of its
# 200s (tcpdump on evrd's veth, HEP3 chunks decoded); the ALL subscriber
# gets exactly E_UL_AOR_INSERT, E_UL_CONTACT_INSERT, sofia::register,
# E_UL_CONTACT_UPDATE, sofia::register, E_UL_CONTACT_DELETE,
# E_UL_AOR_DELETE, sofia::unregister for alice and INSERT/register then
# sofia::expire/DELETE for dave (then INSERT/register for zed, the end
# marker that tells, instead of a fixed time, that all before it was
# handled), with aor, uri, received (the UAC's address
# from the HEP chunks, not kamailio's), socket, expires (UNIX time, the
# lifetime kamailio granted), contact, call-id, network-ip/port;
# filtered subscribers get exactly theirs; counters: hep_ok = sip_rx =
# sip_ok = sip_state_msgs = HEP datagrams captured, sip_state_events =
# notifications, no HEP failure counter, nothing answered.
. "$(dirname "$0")/lib.sh"

e2e_init sip_hep_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_af_packet
command -v sipp >/dev/null || e2e_skip "sipp (Debian sip-tester) not installed"
KAMAILIO=$(command -v kamailio || echo /usr/sbin/kamailio)
[[ -x $KAMAILIO ]] || e2e_skip "kamailio not installed"
command -v tcpdump >/dev/null || e2e_skip "tcpdump not installed"

SIPD=$E2E_LIB_DIR/sip
SIPPY=$E2E_LIB_DIR/sip_e2e.py
NSK=sipk-$E2E_ID
NSU=sipu-$E2E_ID
EVR=198.18.6.1
KAM=198.18.6.2
UAC=198.18.7.1
KAM_U=198.18.7.2
DOMAIN=evr.test
HH=${E2E_ID}h # evrd's veth, host end
EVRD_PREFIX=evr-e2e-siph-$$

if [[ $("$EVRD" --print-config-reference 2>/dev/null) != *'"hep"'* ]]; then
	fail "evrd has no HEP listener (format \"hep\" missing from --print-config-reference)"
	e2e_finish
fi

# ---------------------------------------------------------------- topology
for ns in "$NSK" "$NSU"; do
	netns_add "$ns" || { fail "create namespace $ns"; e2e_finish; }
done
veth_add "$HH" "$NSK" "${E2E_ID}k" "$KAM/24" || { fail "veth evrd <-> K"; e2e_finish; }
ip link add "${E2E_ID}u" netns "$NSU" type veth peer name "${E2E_ID}q" netns "$NSK" ||
	{ fail "veth U <-> K"; e2e_finish; }
ip -n "$NSU" addr add "$UAC/24" dev "${E2E_ID}u"
ip -n "$NSK" addr add "$KAM_U/24" dev "${E2E_ID}q"
link_up() { # NS IF: no IPv6 chatter, full UDP checksums
	nsx "$1" sysctl -q -w "net.ipv6.conf.$2.disable_ipv6=1"
	ns_txcsum_off "$1" "$2"
	ip -n "$1" link set "$2" up
}
link_up "$NSU" "${E2E_ID}u"
link_up "$NSK" "${E2E_ID}q"
ip -n "$NSU" route add 198.18.6.0/24 via "$KAM_U" || { fail "route U -> K"; e2e_finish; }
pass "namespaces U ($UAC) -> K (kamailio $KAM) -> evrd ($EVR on $HH)"

cat >"$T/evrd.conf" <<EOF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "$EVRD_PREFIX"; vdevs = [ "net_af_packet0,iface=$HH" ]; };
ports = ( { name = "k"; device = "net_af_packet0"; ipv4 = "$EVR/24"; } );
workers = { count = 1; idle_sleep_us = 50; };
listeners = ( { port = 9060; format = "hep"; } );
sip = { events = "both"; profile = "internal"; };
control = { socket = "$T/evrd.sock"; };
EOF
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts with a HEP listener"; e2e_finish; }
pass "evrd starts with listener { port = 9060; format = \"hep\"; }"

# ---------------------------------------------------------------- subscribers
SUBS=(
	"9100|ALL|--format json"
	"9101|E_UL_CONTACT_INSERT|--filter aor=*alice* --format jsonrpc"
	"9102|CUSTOM sofia::register|--filter from-user=alice --format plain"
	"9103|CUSTOM sofia::unregister|--format json"
	"9104|E_UL_AOR_DELETE|--format jsonrpc"
	"9105|CUSTOM sofia::expire|--format json"
)
subscribe_all "$NSK" "$KAM" "$T/recv.jsonl" 1000 100 "${SUBS[@]}" ||
	{ fail "receivers in K"; e2e_finish; }
cat >"$T/subs.json" <<EOF
[{"dst": "$KAM:9101", "desc": "E_UL_CONTACT_INSERT aor=*alice*", "count": 1, "format": "jsonrpc",
  "attrs": {"aor": "alice@$DOMAIN", "domain": "location", "received": "sip:$UAC:5072",
            "socket": "udp:$KAM:5060", "cseq": 1},
  "types": {"expires": "int", "cseq": "int"}},
 {"dst": "$KAM:9102", "desc": "CUSTOM sofia::register from-user=alice", "count": 2,
  "format": "plain", "flows": ["reg-alice", "reg-alice"],
  "attrs": {"network-ip": "$UAC", "network-port": "5072", "expires": "60"}},
 {"dst": "$KAM:9103", "desc": "CUSTOM sofia::unregister", "count": 1, "format": "json",
  "flows": ["reg-alice"], "attrs": {"expires": "0", "from-user": "alice"}},
 {"dst": "$KAM:9104", "desc": "E_UL_AOR_DELETE", "count": 2, "format": "jsonrpc",
  "flows": ["reg-alice", "reg-dave"]},
 {"dst": "$KAM:9105", "desc": "CUSTOM sofia::expire", "count": 1, "format": "json",
  "flows": ["reg-dave"], "attrs": {"user": "dave", "host": "$DOMAIN"}}]
EOF

# ---------------------------------------------------------------- kamailio
mkdir -p "$T/kam" "$T/run"
spawn tcpdump -U --immediate-mode -n -i "$HH" -w "$T/hep.pcap" udp port 9060 2>/dev/null
tp=$BG_PID
cap_up() { [[ -s $T/hep.pcap ]]; }
wait_until 5 cap_up
# -DD: no daemon (kamailio's main process stays our child, its workers
# with it); -E: log to stderr; its own runtime dir (-Y) and pid file.
spawn nsx "$NSK" "$KAMAILIO" -f "$SIPD/kamailio-hep.cfg" -DD -E -m 32 -M 4 \
	-Y "$T/kam" -P "$T/kam/kamailio.pid" -w "$T/kam" \
	-A "KAM_LISTEN=udp:$KAM:5060" -A "HEP_URI=\"sip:$EVR:9060\"" >"$T/kamailio.log" 2>&1
kam_pid=$BG_PID
kam_up() { nsx "$NSK" ss -Hlun "sport = :5060" | grep -q .; }
if wait_until 10 kam_up; then
	pass "kamailio listens on $KAM:5060 (siptrace HEPv3 to $EVR:9060)"
else
	fail "kamailio starts"
	tail -n 20 "$T/kamailio.log" | sed 's/^/    kamailio| /'
	e2e_finish
fi

FLOWS=""
NEXPECT=0
declare -A NEV=([reg]=8 [reg-expire]=6 [reg-once]=3)
# reg_flow NAME KIND UAC_XML PORT USER EXPIRES
reg_flow() {
	local name=$1 kind=$2 uac=$3 port=$4 user=$5 exp=$6 rc
	rm -f "$T"/run/*_errors.log
	(cd "$T/run" && exec ip netns exec "$NSU" sipp -sf "$SIPD/$uac" -i "$UAC" -p "$port" \
		"$KAM:5060" -m 1 -timeout 12 -timeout_error -nostdin -trace_err \
		-cid_str "h-$name-%u-%p@%s" -key domain "$DOMAIN" -key user "$user" \
		-key expires "$exp" >/dev/null 2>&1)
	rc=$?
	if ((rc == 0)); then
		pass "$name: sipp UAC ($uac) registered through kamailio (exit 0)"
	else
		fail "$name: sipp UAC ($uac) through kamailio: exit status $rc"
		cat "$T"/run/*_errors.log 2>/dev/null | tail -n 5 | sed 's/^/    sipp| /'
	fi
	FLOWS+=$(jq -cn --arg flow "$name" --arg kind "$kind" --arg p "h-$name-" --argjson port "$port" \
		--arg user "$user" --arg exp "$exp" --arg ip "$UAC" \
		'{flow: $flow, kind: $kind, cid_prefix: $p, uac_port: $port, user: $user,
		  expires: $exp, uac_ip: $ip}')$'\n'
	NEXPECT=$((NEXPECT + NEV[$kind]))
}
reg_flow reg-dave reg-expire reg_once_uac.xml 5071 dave 2
reg_flow reg-alice reg reg_uac.xml 5072 alice 60

all_in() { [[ $("$PY" "$E2E_PY" notes "$T/recv.jsonl" | jq -c "select(.dst == \"$KAM:9100\" and .name != \"HEARTBEAT\")" | wc -l) -ge $NEXPECT ]]; }
check "$NEXPECT derived events on the ALL subscriber within 10 s" wait_until 10 all_in
# The end marker: one more registration (zed, 60 s), sent once every event
# above is in. kamailio sent the HEP copies of the flows above before it,
# and the one worker handles its queue in order: once the marker's
# sofia::register (raised by its 200's copy) is out, so is anything the
# copies before it caused (a late duplicate event, a counter).
reg_flow reg-marker reg-once reg_once_uac.xml 5073 zed 60
printf '%s' "$FLOWS" | jq -s . >"$T/flows.json"
marker_in() {
	"$PY" "$E2E_PY" notes "$T/recv.jsonl" | jq -e -s "any(.[]; .dst == \"$KAM:9100\" and
		.subclass == \"sofia::register\" and .attrs[\"from-user\"] == \"zed\")" >/dev/null
}
check "the end marker's sofia::register on the ALL subscriber within 10 s" wait_until 10 marker_in
stats_json >"$T/stats.json"
# and the capture has caught up with evrd: every HEP datagram evrd decoded
cap_done() {
	local n
	n=$("$PY" "$E2E_PY" pcap-dump "$T/hep.pcap" 2>/dev/null | jq -s '[.[] | select(.dport == 9060)] | length')
	[[ ${n:-0} -ge $(total hep_ok "$T/stats.json") ]]
}
check "the capture holds every HEP datagram evrd decoded within 10 s" wait_until 10 cap_done
kill -TERM "$tp" 2>/dev/null
wait "$tp" 2>/dev/null
check "kamailio still running" kill -0 "$kam_pid"
py_checks "$PY" "$SIPPY" check-hep --notes "$T/recv.jsonl" --pcap "$T/hep.pcap" \
	--flows "$T/flows.json" --stats "$T/stats.json" --subs "$T/subs.json" \
	--all-dst "$KAM:9100" --label hep --uas-ip "$KAM" --domain "$DOMAIN"

check "evrd alive" evrd_alive
evrd_stop 15
e2e_finish
