#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Mirrored SIP -> derived events, with real SIP peers (issue 4, "Tests").
#
#   namespace A (198.18.4.1)  sipp UAC           --veth--  namespace B (198.18.4.2)
#                                                          sipp UAS / registrar
#   B's veth: tc clsact, ingress and egress copied (mirred egress mirror)
#   onto a third veth whose host end evrd reads (net_af_packet, port
#   "mirror", mirror = true, no address): evrd sees both directions of
#   traffic between two other hosts and must never answer it.
#   A second evrd port (net_af_packet, 198.18.5.1) on a veth into
#   namespace S (198.18.5.2) delivers the notifications to UDP receivers.
#
# Flows (tests/e2e/sip/*.xml, one UAS and one UAC scenario each, sipp -m 1
# and -timeout bound every run): REGISTER with a 2 s lifetime left to
# expire; register + refresh + unregister; 401 challenge then 200; the
# same with a slow registrar (the REGISTER is retransmitted); INVITE
# answered + ACK + BYE; busy 486; no answer (180, CANCEL, 487); caller
# CANCEL before ringing; a slow callee (INVITE and BYE retransmitted);
# no final answer within sip.originate_timeout_s (3 s); an answered call
# whose INVITE is ~4.7 KB (WebRTC-like headers and SDP: the kernel sends it
# as IPv4 fragments at MTU 1500, mirrored as such); an answered call in
# which the callee sends a re-INVITE (200, its ACK) and an UPDATE (200)
# before the caller's BYE (issue 8 items 1 and 4).
#
# Asserts (python checker, sip_e2e.py check-mirror), per run:
#  - an ALL subscriber (json) gets exactly the expected events per flow, in
#    order, no duplicate under retransmissions; attributes: Unique-ID
#    (one per dialog, = Caller-Unique-ID, distinct per call),
#    Caller-Caller-ID-Number/-Name, Caller-ANI, Caller-Destination-Number,
#    Channel-Name, Channel-Call-State/Channel-State, Hangup-Cause,
#    variable_proto_specific_hangup_cause, E_DLG_STATE_CHANGED numeric
#    transitions with callid/from_tag/to_tag, E_UL_* aor/uri/received/
#    socket/cseq/expires (UNIX time), sofia::register/unregister/
#    register_attempt/expire attributes, NO_ANSWER timing;
#  - filtered subscribers (Hangup-Cause=USER_BUSY, aor=*alice* in
#    jsonrpc with integer types, CUSTOM sofia::register in plain, ...) get
#    exactly their notifications;
#  - counters (evrctl --json stats) against a tcpdump capture of the
#    mirror port: sip_rx = sip_ok = sip_state_msgs = SIP datagrams seen,
#    sip_state_events = notifications, dup_request = retransmitted
#    requests (+ the CANCEL after the timeout), sip_state_reinvite =
#    in-dialog INVITEs, sip_state_untracked = UPDATE requests/responses,
#    no orphan/eviction/drop, rx_bad_ip_header = rx_truncated = 0, nothing
#    sent on the mirror port; with one worker sip_held = 0;
#  - the big INVITE really was >= 4000 bytes in >= 3 fragments, and its
#    call raises the same events as the ordinary answered call;
#  - the callee's transactions are exactly re-INVITE, 200, ACK, UPDATE,
#    200 (From = callee tag, To = caller tag), in the reinv flow only; its
#    dialog's events are those of an answered call (none extra, none
#    missing), and the orphan/held counters above stay 0.
# Run twice: 1 worker; then 2 workers with net_af_packet qpairs=2, the UAS
# behind a relay answering from 198.18.4.3, so requests and responses of a
# dialog have different 4-tuples and hash to different queues (the kernel's
# fanout hash is symmetric on one 4-tuple): same events, no loss, no
# duplicate, hand-off by Call-ID observed (sip_handoff > 0).
#
# Kernels without cls_matchall get the equivalent "u32 match u32 0 0".
# EVR_SIPM_LCORES overrides the 2-worker run's EAL lcore map.
. "$(dirname "$0")/lib.sh"

e2e_init sip_mirror_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_af_packet
command -v sipp >/dev/null || e2e_skip "sipp (Debian sip-tester) not installed"
command -v tc >/dev/null || e2e_skip "tc (iproute2) not installed"
command -v tcpdump >/dev/null || e2e_skip "tcpdump not installed"

SIPD=$E2E_LIB_DIR/sip
SIPPY=$E2E_LIB_DIR/sip_e2e.py
NSA=sipa-$E2E_ID
NSB=sipb-$E2E_ID
NSS=sips-$E2E_ID
UAC=198.18.4.1
UAS=198.18.4.2
UAS2=198.18.4.3 # the relay's reply address (2-worker run)
EVR=198.18.5.1
SUB=198.18.5.2
DOMAIN=evr.test
ORIG=3 # sip.originate_timeout_s
MH=${E2E_ID}m # mirror veth, host end (evrd)
MB=${E2E_ID}M # mirror veth, in B
SH=${E2E_ID}s # service veth, host end (evrd)
EVRD_PREFIX=evr-e2e-sipm-$$

if [[ $("$EVRD" --print-config-reference 2>/dev/null) != *sip.mirror_ports* ]]; then
	fail "evrd has no SIP mirror support (sip.mirror_ports missing from --print-config-reference)"
	e2e_finish
fi

# ---------------------------------------------------------------- topology
for ns in "$NSA" "$NSB" "$NSS"; do
	netns_add "$ns" || { fail "create namespace $ns"; e2e_finish; }
done
ip link add "${E2E_ID}a" netns "$NSA" type veth peer name "${E2E_ID}b" netns "$NSB" ||
	{ fail "veth A <-> B"; e2e_finish; }
ip -n "$NSA" addr add "$UAC/24" dev "${E2E_ID}a"
ip -n "$NSB" addr add "$UAS/24" dev "${E2E_ID}b"
ip -n "$NSB" addr add "$UAS2/24" dev "${E2E_ID}b"
link_up() { # NS IF: no IPv6 chatter, full UDP checksums on the wire (and so in the copies)
	nsx "$1" sysctl -q -w "net.ipv6.conf.$2.disable_ipv6=1"
	ns_txcsum_off "$1" "$2"
	ip -n "$1" link set "$2" up
}
link_up "$NSA" "${E2E_ID}a"
link_up "$NSB" "${E2E_ID}b"
ip link add "$MH" type veth peer name "$MB" || { fail "mirror veth"; e2e_finish; }
E2E_LINKS+=("$MH")
ip link set "$MB" netns "$NSB"
sysctl -q -w "net.ipv6.conf.$MH.disable_ipv6=1"
nsx "$NSB" sysctl -q -w "net.ipv6.conf.$MB.disable_ipv6=1"
ip link set "$MH" up
ip -n "$NSB" link set "$MB" up
nsx "$NSB" tc qdisc add dev "${E2E_ID}b" clsact || { fail "tc clsact on B's veth"; e2e_finish; }
# matchall when the kernel has it (CONFIG_NET_CLS_MATCHALL), else the
# classic match-everything u32 filter: both copy every frame.
for dir in ingress egress; do
	nsx "$NSB" tc filter add dev "${E2E_ID}b" "$dir" matchall \
		action mirred egress mirror dev "$MB" 2>/dev/null ||
		nsx "$NSB" tc filter add dev "${E2E_ID}b" "$dir" protocol all u32 match u32 0 0 \
			action mirred egress mirror dev "$MB" ||
		{ fail "tc mirred $dir copy of B's veth onto $MB"; e2e_finish; }
done
veth_add "$SH" "$NSS" "${E2E_ID}S" "$SUB/24" || { fail "service veth into S"; e2e_finish; }
pass "namespaces A ($UAC), B ($UAS, $UAS2; tc mirred ingress+egress -> $MB/$MH), S ($SUB)"

# ---------------------------------------------------------------- helpers
# conf WORKERS QPAIRS (the service port keeps one queue pair: with two
# workers they share its TX queue, which must lose nothing: tx_no_queue 0)
conf() {
	local lc="0-1"
	# 2-CPU box: both workers share CPU 1 (EVR_SIPM_LCORES overrides, e.g.
	# "0@0,1@0,2@1" to give each worker a CPU of its own)
	(($1 > 1)) && lc=${EVR_SIPM_LCORES:-"0@0,1@1,2@1"}
	cat <<EOF
eal = { lcores = "$lc"; no_huge = true; memory_mb = 512; no_pci = true;
        file_prefix = "$EVRD_PREFIX";
        vdevs = [ "net_af_packet0,iface=$MH,qpairs=$2", "net_af_packet1,iface=$SH,qpairs=1" ]; };
ports = ( { name = "mirror"; device = "net_af_packet0"; mirror = true; },
          { name = "svc"; device = "net_af_packet1"; ipv4 = "$EVR/24"; } );
workers = { count = $1; idle_sleep_us = 50; };
sip = { mirror_ports = [ 5060 ]; events = "both"; profile = "internal";
        originate_timeout_s = $ORIG; linger_ms = 32000; default_expires = 3600; };
control = { socket = "$T/evrd.sock"; };
EOF
}

# Subscriptions (port, event, options) and what each must receive.
SUBS=(
	"9100|ALL|--format json"
	"9101|CHANNEL_HANGUP|--filter Hangup-Cause=USER_BUSY --format json"
	"9102|E_UL_CONTACT_INSERT|--filter aor=*alice* --format jsonrpc"
	"9103|CUSTOM sofia::register|--format plain"
	"9104|CHANNEL_HANGUP|--filter Hangup-Cause=ORIGINATOR_CANCEL --filter Caller-Caller-ID-Number=1003 --format json"
	"9105|E_DLG_STATE_CHANGED|--filter new_state=5 --format jsonrpc"
	"9106|CUSTOM sofia::register_attempt|--format json"
	"9107|CUSTOM sofia::expire|--format json"
	"9108|CHANNEL_ANSWER|--filter Caller-Destination-Number=200[16] --format json"
	"9109|CHANNEL_HANGUP|--filter Hangup-Cause=NO_ANSWER --format json"
)
subs_spec() { # what the checker expects of each filtered subscriber
	cat <<EOF
[{"dst": "$SUB:9101", "desc": "CHANNEL_HANGUP Hangup-Cause=USER_BUSY", "count": 1,
  "format": "json", "flows": ["busy"],
  "attrs": {"Hangup-Cause": "USER_BUSY", "variable_proto_specific_hangup_cause": "sip:486",
            "Caller-Destination-Number": "2002"}},
 {"dst": "$SUB:9102", "desc": "E_UL_CONTACT_INSERT aor=*alice*", "count": 1,
  "format": "jsonrpc", "attrs": {"aor": "alice@$DOMAIN", "domain": "location", "cseq": 1},
  "types": {"expires": "int", "cseq": "int", "aor": "str"}},
 {"dst": "$SUB:9103", "desc": "CUSTOM sofia::register", "count": 6, "format": "plain",
  "flows": ["reg-alice", "reg-alice", "reg-bob", "reg-carol", "reg-carol", "reg-dave"],
  "attrs": {"Event-Subclass": "sofia::register", "status": "Registered(UDP)"}},
 {"dst": "$SUB:9104", "desc": "CHANNEL_HANGUP ORIGINATOR_CANCEL from 1003", "count": 1,
  "format": "json", "flows": ["noanswer"], "attrs": {"Caller-Caller-ID-Number": "1003"}},
 {"dst": "$SUB:9105", "desc": "E_DLG_STATE_CHANGED new_state=5", "count": 8, "format": "jsonrpc",
  "flows": ["answer", "big", "busy", "cancel", "noanswer", "reinv", "retrans", "timeout"],
  "attrs": {"new_state": 5}, "types": {"old_state": "int", "callid": "str"}},
 {"dst": "$SUB:9106", "desc": "CUSTOM sofia::register_attempt", "count": 1, "format": "json",
  "flows": ["reg-bob"], "attrs": {"from-user": "bob", "status": "Unauthorized"}},
 {"dst": "$SUB:9107", "desc": "CUSTOM sofia::expire", "count": 1, "format": "json",
  "flows": ["reg-dave"], "attrs": {"user": "dave"}},
 {"dst": "$SUB:9108", "desc": "CHANNEL_ANSWER Caller-Destination-Number=200[16]", "count": 2,
  "format": "json", "flows": ["answer", "retrans"], "attrs": {"Channel-Call-State": "ACTIVE"}},
 {"dst": "$SUB:9109", "desc": "CHANNEL_HANGUP Hangup-Cause=NO_ANSWER", "count": 1,
  "format": "json", "flows": ["timeout"], "attrs": {"Caller-Destination-Number": "2005"}}]
EOF
}

# Events per flow kind (the checker holds the sequences themselves).
declare -A NEV=([reg]=8 [reg-slow]=8 [reg-auth]=4 [reg-expire]=6 [answer]=9 [retrans]=9
	[busy]=4 [noanswer]=6 [cancel]=4 [timeout]=6 [big]=9 [reinv]=9)

# sipp_wait PID WHAT: sipp exits within 15 s with status 0.
sipp_wait() {
	local pid=$1 what=$2 i rc
	for ((i = 0; i < 150; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		fail "$what: sipp still running after 15 s (killed)"
		return 1
	fi
	wait "$pid"
	rc=$?
	if ((rc != 0)); then
		fail "$what: sipp exit status $rc"
		cat "$T"/run/*_errors.log 2>/dev/null | tail -n 5 | sed 's/^/    sipp| /'
		return 1
	fi
	return 0
}

# flow RUN NAME KIND UAS_XML UAC_XML UAC_PORT [sipp UAC args]: one scenario
# pair; the flow is appended to $FLOWS (JSON lines) for the checker.
FLOWS=""
UAS_PORT=5060
flow() {
	local run=$1 name=$2 kind=$3 uas=$4 uac=$5 port=$6
	shift 6
	local prefix="$run-$name-" upid rc
	rm -f "$T"/run/*_errors.log
	(cd "$T/run" && exec ip netns exec "$NSB" sipp -sf "$SIPD/$uas" -i "$UAS" -p "$UAS_PORT" \
		-m 1 -timeout 12 -timeout_error -nostdin -trace_err \
		-key expires "${FLOW_EXPIRES:-60}" -key domain "$DOMAIN" >/dev/null 2>&1) &
	upid=$!
	E2E_PIDS+=("$upid")
	uas_up() { nsx "$NSB" ss -Hlun "sport = :$UAS_PORT" | grep -q .; }
	wait_until 5 uas_up || { fail "$run $name: UAS listening on $UAS_PORT"; return 1; }
	(cd "$T/run" && exec ip netns exec "$NSA" sipp -sf "$SIPD/$uac" -i "$UAC" -p "$port" \
		"$UAS:5060" -m 1 -timeout 12 -timeout_error -nostdin -trace_err \
		-cid_str "${prefix}%u-%p@%s" -key domain "$DOMAIN" "$@" >/dev/null 2>&1)
	rc=$?
	if ((rc == 0)); then
		pass "$run $name: sipp UAC ($uac) completed (exit 0)"
	else
		fail "$run $name: sipp UAC ($uac) exit status $rc"
		cat "$T"/run/*_errors.log 2>/dev/null | tail -n 5 | sed 's/^/    sipp| /'
	fi
	sipp_wait "$upid" "$run $name: sipp UAS ($uas)" && pass "$run $name: sipp UAS ($uas) completed (exit 0)"
	FLOWS+=$(jq -cn --arg flow "$name" --arg kind "$kind" --arg p "$prefix" --argjson port "$port" \
		--arg caller "${FLOW_CALLER:-}" --arg callee "${FLOW_CALLEE:-}" --arg user "${FLOW_USER:-}" \
		--arg exp "${FLOW_EXPIRES:-60}" \
		'{flow: $flow, kind: $kind, cid_prefix: $p, uac_port: $port, caller: $caller,
		  callee: $callee, user: $user, expires: $exp}')$'\n'
	NEXPECT=$((NEXPECT + NEV[$kind]))
}
reg_flow() { # RUN NAME KIND UAS UAC PORT USER EXPIRES
	FLOW_USER=$7 FLOW_EXPIRES=$8 flow "$1" "$2" "$3" "$4" "$5" "$6" \
		-key user "$7" -key expires "$8" -au "$7" -ap secret
}
call_flow() { # RUN NAME KIND UAS UAC PORT CALLER CALLEE PAUSE_MS
	FLOW_CALLER=$7 FLOW_CALLEE=$8 flow "$1" "$2" "$3" "$4" "$5" "$6" \
		-key caller "$7" -key callee "$8" -d "$9"
}

# run LABEL WORKERS QPAIRS: start evrd, subscribe, run every flow, check.
run() {
	local label=$1 workers=$2 qp=$3 out=$T/recv.$1.jsonl cap=$T/mirror.$1.pcap tp s port ev opts
	mkdir -p "$T/run"
	conf "$workers" "$qp" >"$T/evrd.$label.conf"
	evrd_start "$T/evrd.$label.conf" "$T/evrd.sock" ||
		{ fail "$label: evrd starts (mirror port + service port, $workers worker(s))"; return 1; }
	pass "$label: evrd starts ($workers worker(s), mirror port qpairs=$qp)"
	check_eq "$label: mirror port RX queues" "$(stat_get '.dataplane.ports[0].rx_queues')" "$qp"
	subscribe_all "$NSS" "$SUB" "$out" 5000 150 "${SUBS[@]}" ||
		{ fail "$label: receivers in S"; return 1; }
	check_eq "$label: subscriptions listed" "$(ctl --json subscribers --all | jq '.subscribers | length')" "${#SUBS[@]}"
	spawn tcpdump -U --immediate-mode -n -i "$MH" -w "$cap" udp 2>/dev/null
	tp=$BG_PID
	cap_up() { [[ -s $cap ]]; }
	wait_until 5 cap_up
	FLOWS=""
	NEXPECT=0
	local r=${label:0:2}
	reg_flow "$r" reg-dave reg-expire reg_once_uas.xml reg_once_uac.xml 5071 dave 2
	reg_flow "$r" reg-alice reg reg_uas.xml reg_uac.xml 5072 alice 60
	reg_flow "$r" reg-bob reg-auth reg_auth_uas.xml reg_auth_uac.xml 5073 bob 60
	reg_flow "$r" reg-carol reg-slow reg_slow_uas.xml reg_uac.xml 5074 carol 60
	call_flow "$r" answer answer inv_uas.xml inv_uac.xml 5075 1001 2001 300
	call_flow "$r" busy busy inv_busy_uas.xml inv_busy_uac.xml 5076 1002 2002 0
	call_flow "$r" noanswer noanswer inv_ring_uas.xml inv_noanswer_uac.xml 5077 1003 2003 800
	call_flow "$r" cancel cancel inv_trying_uas.xml inv_cancel_uac.xml 5078 1004 2004 200
	call_flow "$r" retrans retrans inv_slow_uas.xml inv_uac.xml 5079 1006 2006 300
	call_flow "$r" big big inv_uas.xml inv_big_uac.xml 5081 1007 2007 300
	call_flow "$r" reinv reinv inv_reinv_uas.xml inv_reinv_uac.xml 5082 1008 2008 300
	call_flow "$r" timeout timeout inv_ring_uas.xml inv_noanswer_uac.xml 5080 1005 2005 \
		$((ORIG * 1000 + 1500))
	printf '%s' "$FLOWS" | jq -s . >"$T/flows.$label.json"
	subs_spec >"$T/subs.$label.json"
	all_in() { [[ $("$PY" "$E2E_PY" notes "$out" | jq -c "select(.dst == \"$SUB:9100\" and .name != \"HEARTBEAT\")" | wc -l) -ge $NEXPECT ]]; }
	check "$label: $NEXPECT derived events on the ALL subscriber within 10 s" wait_until 10 all_in
	# Every sipp has exited, so every copy is on the mirror port. Wait
	# until evrd has applied as many SIP messages as the capture holds
	# (held ones included) and every notification queued has left: a late
	# duplicate event would be out by then. The checker asserts on this
	# snapshot.
	settled() {
		local n
		n=$("$PY" "$SIPPY" sip-msgs "$cap" 2>/dev/null | wc -l)
		stats_json >"$T/stats.$label.json" &&
			jq -e --argjson n "$n" '.dataplane.totals as $t | $n > 0 and
				($t.sip_state_msgs // 0) == $n and
				($t.tx_packets // 0) >= ($t.notifications // 0)' "$T/stats.$label.json" >/dev/null
	}
	check "$label: every mirrored SIP message applied, its notifications sent within 10 s" \
		wait_until 10 settled
	kill -TERM "$tp" 2>/dev/null
	wait "$tp" 2>/dev/null
	py_checks "$PY" "$SIPPY" check-mirror --notes "$out" --pcap "$cap" --flows "$T/flows.$label.json" \
		--stats "$T/stats.$label.json" --subs "$T/subs.$label.json" --all-dst "$SUB:9100" \
		--label "$label" --originate "$ORIG" --workers "$workers" --uac-ip "$UAC" \
		--uas-ip "$UAS" --domain "$DOMAIN"
	check "$label: evrd alive" evrd_alive
	evrd_stop 15
}

run "1w" 1 1

# Two workers, two queues: the UAS answers through a relay from $UAS2.
UAS_PORT=5080
spawn nsx "$NSB" "$PY" "$SIPPY" relay --listen "$UAS:5060" --uas "$UAS:5080" \
	--reply-from "$UAS2:5060" --count 2000 --timeout 120 --ready "$T/relay.ready"
wait_until 5 test -e "$T/relay.ready" || fail "relay in B"
run "2w" 2 2

e2e_finish
