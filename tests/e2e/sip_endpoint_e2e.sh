#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# evrd's SIP event endpoint with a real SIP client (issue 4, "Tests").
#
#   namespace P (198.18.8.2): sipp UAC, a raw python SIP client, the
#   subscribers' UDP receivers  --veth--  evrd (net_af_packet, 198.18.8.1,
#   listener { port = 5060; format = "sip"; })
#
# tests/e2e/sip/ep_uac.xml sends PUBLISH (Event: presence, PIDF), NOTIFY
# (Event: dialog;id=abc), MESSAGE, OPTIONS, INVITE (+ ACK) and a PUBLISH
# without Event; every response is a mandatory recv, so sipp exits 0 only
# if evrd answered each (200 x4, 405, 489). The raw client sends one
# MESSAGE twice, byte-identical (same branch and CSeq: a retransmission).
#
# Asserts: sipp exit 0; an ALL subscriber gets exactly presence, dialog,
# MESSAGE, MESSAGE in order (the retransmission raised once), with the
# request parts and headers as attributes (request_uri, from_*, to_*,
# cseq, content_type, network_ip/port, body, Event, Expires, ...);
# filtered subscribers (from_user=alice, body=hello*, Event=dialog;*,
# from_user=carol) get exactly theirs; every reply on the wire (tcpdump of
# evrd's port) copies Via/From/Call-ID/CSeq, adds a To tag, has the right
# code, SIP-ETag/Expires on the PUBLISH 200, Allow on 405/OPTIONS,
# Allow-Events on 489; the retransmitted MESSAGE gets two byte-identical
# 200s with received=/rport= and no third (up to the reply to an end
# marker sent after it from the same socket); endpoint counters exact. The
# end marker's event and reply, not a fixed time, tell that everything
# before it has been handled.
. "$(dirname "$0")/lib.sh"

e2e_init sip_endpoint_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_af_packet
command -v sipp >/dev/null || e2e_skip "sipp (Debian sip-tester) not installed"
command -v tcpdump >/dev/null || e2e_skip "tcpdump not installed"

SIPD=$E2E_LIB_DIR/sip
SIPPY=$E2E_LIB_DIR/sip_e2e.py
NS=sipp-$E2E_ID
HIF=${E2E_ID}h
EVR=198.18.8.1
UAC=198.18.8.2
UAC_PORT=5070
RAW_PORT=5099
DOMAIN=evr.test
EVRD_PREFIX=evr-e2e-sipe-$$

if [[ $("$EVRD" --print-config-reference 2>/dev/null) != *'"sip" (SIP endpoint'* ]]; then
	fail "evrd has no SIP endpoint listener (format \"sip\" missing from --print-config-reference)"
	e2e_finish
fi

netns_add "$NS" || { fail "create namespace"; e2e_finish; }
veth_add "$HIF" "$NS" "${E2E_ID}p" "$UAC/24" || { fail "veth evrd <-> P"; e2e_finish; }
pass "namespace $NS ($UAC) <-> $HIF (evrd $EVR)"

cat >"$T/evrd.conf" <<EOF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "$EVRD_PREFIX"; vdevs = [ "net_af_packet0,iface=$HIF" ]; };
ports = ( { name = "p"; device = "net_af_packet0"; ipv4 = "$EVR/24"; } );
workers = { count = 1; idle_sleep_us = 50; };
listeners = ( { port = 5060; format = "sip"; } );
control = { socket = "$T/evrd.sock"; };
EOF
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts with a SIP endpoint listener"; e2e_finish; }
pass "evrd starts with listener { port = 5060; format = \"sip\"; }"
# the effective configuration, as the daemon holds it (config_get)
check_eq "evrctl config listeners[0].format" "$(ctl config 'listeners[0].format')" sip
check_eq "evrctl config sip.linger_ms (default filled in)" "$(ctl config sip.linger_ms)" 32000
check_eq "evrctl --json config sip.mirror_ports" "$(ctl --json config sip.mirror_ports)" "[5060]"

SUBS=(
	"9100|ALL|--format json"
	"9101|presence|--filter from_user=alice --format jsonrpc"
	"9102|MESSAGE|--filter body=hello* --format json"
	"9103|dialog|--filter Event=dialog;* --format plain"
	"9104|MESSAGE|--filter from_user=carol --format json"
)
subscribe_all "$NS" "$UAC" "$T/recv.jsonl" 1000 60 "${SUBS[@]}" ||
	{ fail "receivers in P"; e2e_finish; }
cat >"$T/subs.json" <<EOF
[{"dst": "$UAC:9101", "desc": "presence from_user=alice", "count": 1, "format": "jsonrpc",
  "attrs": {"method": "PUBLISH", "Event": "presence", "from_user": "alice", "cseq": 1,
            "network_port": $UAC_PORT}},
 {"dst": "$UAC:9102", "desc": "MESSAGE body=hello*", "count": 1, "format": "json",
  "attrs": {"body": "hello evr", "to_user": "bob"}},
 {"dst": "$UAC:9103", "desc": "dialog Event=dialog;*", "count": 1, "format": "plain",
  "attrs": {"method": "NOTIFY", "Event": "dialog;id=abc"}},
 {"dst": "$UAC:9104", "desc": "MESSAGE from_user=carol (retransmitted)", "count": 1,
  "format": "json", "attrs": {"body": "retransmitted once", "network_port": "$RAW_PORT"}}]
EOF

# in P: net_af_packet bypasses the host qdisc, so a capture on the host
# end would miss what evrd sends
spawn nsx "$NS" tcpdump -U --immediate-mode -n -i "${E2E_ID}p" -w "$T/ep.pcap" udp port 5060 2>/dev/null
tp=$BG_PID
cap_up() { [[ -s $T/ep.pcap ]]; }
wait_until 5 cap_up

mkdir -p "$T/run"
(cd "$T/run" && exec ip netns exec "$NS" sipp -sf "$SIPD/ep_uac.xml" -i "$UAC" -p "$UAC_PORT" \
	"$EVR:5060" -m 1 -timeout 12 -timeout_error -nostdin -trace_err -cid_str "ep-%u-%p@%s" \
	-key domain "$DOMAIN" >/dev/null 2>&1)
rc=$?
if ((rc == 0)); then
	pass "sipp UAC (ep_uac.xml): every request answered as expected (exit 0)"
else
	fail "sipp UAC (ep_uac.xml): exit status $rc"
	cat "$T"/run/*_errors.log 2>/dev/null | tail -n 8 | sed 's/^/    sipp| /'
fi

# message KEY FROM_USER CSEQ BODY: a MESSAGE to bob from the raw client's
# port (Call-ID, branch and tag derived from KEY) on stdout
message() {
	cat <<EOF
MESSAGE sip:bob@$EVR:5060 SIP/2.0
Via: SIP/2.0/UDP $UAC:$RAW_PORT;branch=z9hG4bK-evr-$1-$$;rport
Max-Forwards: 70
From: <sip:$2@$DOMAIN>;tag=$1$$
To: <sip:bob@$DOMAIN>
Call-ID: $1-$$@$UAC
CSeq: $3 MESSAGE
Content-Type: text/plain
Content-Length: auto

$4
EOF
}
message rt carol 7 "retransmitted once" >"$T/retrans.txt"
# The end marker: one more MESSAGE, sent after everything under test. The
# one worker handles its queue in order, so once the marker's reply and
# its event are out, every reply, event and counter the messages before it
# caused (a third reply, a duplicate event) is out too.
message mk marker 1 "end marker" >"$T/marker.txt"
check "raw client: one MESSAGE sent twice (a retransmission), then the end marker, answered" \
	nsx "$NS" "$PY" "$SIPPY" sipreq --msg "$T/retrans.txt" --to "$EVR:5060" --bind "$UAC:$RAW_PORT" \
	--copies 2 --gap 0.3 --timeout 5 --marker "$T/marker.txt" --out "$T/retrans.json"

marker_in() {
	"$PY" "$E2E_PY" notes "$T/recv.jsonl" |
		jq -e -s "any(.[]; .dst == \"$UAC:9100\" and .attrs.body == \"end marker\")" >/dev/null
}
check "the end marker's event on the ALL subscriber within 10 s" wait_until 10 marker_in
# the capture holds the marker's reply: it has caught up with evrd too
marker_cap() {
	"$PY" "$SIPPY" sip-msgs "$T/ep.pcap" 2>/dev/null |
		jq -e -s "any(.[]; .callid == \"mk-$$@$UAC\" and (.start | startswith(\"SIP/2.0 \")))" >/dev/null
}
check "the end marker's reply in the capture within 10 s" wait_until 10 marker_cap
stats_json >"$T/stats.json"
kill -TERM "$tp" 2>/dev/null
wait "$tp" 2>/dev/null
py_checks "$PY" "$SIPPY" check-endpoint --notes "$T/recv.jsonl" --pcap "$T/ep.pcap" \
	--stats "$T/stats.json" --subs "$T/subs.json" --all-dst "$UAC:9100" --label endpoint \
	--retrans "$T/retrans.json" --evr-ip "$EVR" --uac-ip "$UAC" --domain "$DOMAIN" \
	--uac-port "$UAC_PORT" --raw-port "$RAW_PORT"

# ---- a spoofed-source flood (reflection): 200 OPTIONS from one address in
# well under a window get at most sip.endpoint_rate_requests (default 30)
# replies; the rest are counted, never answered
FLOOD=198.18.8.50
ip -n "$NS" addr add "$FLOOD/32" dev "${E2E_ID}p" || fail "flood address in P"
py_checks nsx "$NS" "$PY" - "$FLOOD" "$EVR" <<'PY'
import socket, sys, time
src, dst = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 5099))
for i in range(200):
    s.sendto(('OPTIONS sip:evr@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5099;branch=z9hG4bKfl%d\r\n'
              'From: <sip:f@evr.test>;tag=f%d\r\nTo: <sip:evr@%s>\r\nCall-ID: flood-%d\r\n'
              'CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' % (dst, src, i, i, dst, i)).encode(),
             (dst, 5060))
s.settimeout(1.5)
n, end = 0, time.time() + 1.5
try:
    while time.time() < end:
        s.recv(65535)
        n += 1
except socket.timeout:
    pass
print(('PASS' if 1 <= n <= 30 else 'FAIL') + ': 200 OPTIONS from one source got %d replies (limit 30 per 2 s)' % n)
PY
check_ge "sip_endpoint rate_limited counted the rest" \
	"$(stats_json | jq '[.. | objects | .sip_endpoint_rate_limited? // empty] | max')" 170

check "evrd alive" evrd_alive
evrd_stop 15
e2e_finish
