#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Events from the wire reach ESL consumers (issue 12 part 1): modesl, used
# unchanged, subscribed on evrd's event socket, receives events that arrive
# on a UDP listener (FreeSWITCH text/event-plain) and events evrd derives
# from SIP it sees on a mirror port, parsed with headers and body intact.
#
#   namespace P: 198.18.13.2 (sender)  --veth d--  evrd port "p" 198.18.13.1
#                                                  (listener 8091 plain)
#                eth "m" (no address use) --veth m--  evrd port "mirror"
#                                                  (mirror = true, SIP 5060)
#   ESL on 127.0.0.1 (host side); clients are modesl processes.
#
# Asserts:
#  - client A (`event plain CHANNEL_CREATE CUSTOM evr::udp`: after CUSTOM
#    every name is a subclass, as in FreeSWITCH) receives the
#    UDP-ingested CUSTOM event with its header value and body exactly, and
#    the CHANNEL_CREATE evrd derived from an INVITE on the mirror port
#    (Caller-Caller-ID-Number 1000, the Call-ID as Unique-ID basis);
#  - client B (`event json CHANNEL_CREATE`) gets the CHANNEL_CREATE only;
#  - dataplane esl_handed counts them, the workers' esl_failed is 0.
. "$(dirname "$0")/lib.sh"

e2e_init esl_ingest_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_af_packet
e2e_require_modesl

NS=esli-$E2E_ID
DH=${E2E_ID}d
MH=${E2E_ID}m
EVR=198.18.13.1
SND=198.18.13.2
EVRD_PREFIX=evr-e2e-esli-$$
ESL_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
COLLECT=$E2E_LIB_DIR/esl_collect.js

netns_add "$NS" || { fail "create namespace"; e2e_finish; }
veth_add "$DH" "$NS" "${E2E_ID}D" "$SND/24" || { fail "veth evrd <-> P"; e2e_finish; }
# the mirror veth: P sends SIP to a neighbour that does not exist (static
# ARP entry), so the frames leave on it and only evrd's mirror port sees them
veth_add "$MH" "$NS" "${E2E_ID}M" "198.18.14.2/24" || { fail "mirror veth"; e2e_finish; }
ip -n "$NS" neigh add 198.18.14.9 lladdr 02:00:00:00:14:09 dev "${E2E_ID}M" ||
	{ fail "static neighbour for the mirror"; e2e_finish; }
pass "namespace $NS: $SND <-> $DH (evrd $EVR), mirror $MH"

cat >"$T/evrd.conf" <<CONF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "$EVRD_PREFIX";
        vdevs = [ "net_af_packet0,iface=$DH", "net_af_packet1,iface=$MH" ]; };
ports = ( { name = "p"; device = "net_af_packet0"; ipv4 = "$EVR/24"; },
          { name = "mirror"; device = "net_af_packet1"; mirror = true; } );
workers = { count = 1; idle_sleep_us = 50; };
listeners = ( { port = 8091; format = "plain"; } );
sip = { mirror_ports = [ 5060 ]; events = "freeswitch"; };
control = { socket = "$T/evrd.sock"; };
heartbeat = { interval_s = 0; };
esl = { listen = "127.0.0.1:$ESL_PORT"; password = "ClueCon"; acl = [ "127.0.0.0/8" ]; };
CONF
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts with esl.listen"; e2e_finish; }

# collectors: A plain (2 events), B json (1 event), each bounded to 30 s
spawn node "$COLLECT" 127.0.0.1 "$ESL_PORT" ClueCon plain "CHANNEL_CREATE CUSTOM evr::udp" \
	"$T/a.jsonl" 2 30
PID_A=$BG_PID
spawn node "$COLLECT" 127.0.0.1 "$ESL_PORT" ClueCon json "CHANNEL_CREATE" "$T/b.jsonl" 1 30
PID_B=$BG_PID
both_ready() { [[ -f $T/a.jsonl.ready && -f $T/b.jsonl.ready ]]; }
check "two modesl clients authenticated and subscribed" wait_until 15 both_ready
check_eq "evrctl esl lists 2 clients" "$(ctl --json esl | jq '.clients | length')" 2

# a FreeSWITCH text/event-plain datagram (switch_event_serialize: values
# URL-encoded, the body after Content-Length)
BODY='line one
line two'
PAYLOAD=$(printf 'Event-Name: CUSTOM\nEvent-Subclass: evr%%3A%%3Audp\nCore-UUID: 0a0b0c0d-1111-2222-3333-444455556666\nX-Evr-Test: caf%%C3%%A9%%20%%26%%20more\nContent-Length: %d\n\n%s' "${#BODY}" "$BODY")
check "UDP plain event sent to evrd:8091" nsx "$NS" "$PY" "$E2E_PY" send --to "$EVR:8091" \
	--bind "$SND" --sport 5071 --payload "$PAYLOAD"
INVITE=$'INVITE sip:2000@evr.test SIP/2.0\r\nVia: SIP/2.0/UDP 198.18.14.2:5060;branch=z9hG4bK-esl-1\r\nMax-Forwards: 70\r\nFrom: "Alice" <sip:1000@evr.test>;tag=esl1\r\nTo: <sip:2000@evr.test>\r\nCall-ID: esl-call-1@198.18.14.2\r\nCSeq: 1 INVITE\r\nContact: <sip:1000@198.18.14.2:5060>\r\nContent-Length: 0\r\n\r\n'
check "SIP INVITE sent past the mirror port" nsx "$NS" "$PY" "$E2E_PY" send \
	--to 198.18.14.9:5060 --bind 198.18.14.2 --sport 5060 --payload "$INVITE"

wait "$PID_A"
check_eq "client A (plain) exited after its 2 events" $? 0
wait "$PID_B"
check_eq "client B (json) exited after its event" $? 0

py_checks "$PY" - "$T/a.jsonl" "$T/b.jsonl" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
def by(evs, name):
    return [e for e in evs if e['headers'].get('Event-Name') == name]
ok = True
def check(what, cond, detail=''):
    global ok
    print(('PASS: ' if cond else 'FAIL: ') + what + ('' if cond else ' ' + detail))
    ok &= bool(cond)
cu = by(a, 'CUSTOM')
check('A got the UDP-ingested CUSTOM', len(cu) == 1, str(a))
if cu:
    h = cu[0]['headers']
    check('its subclass', h.get('Event-Subclass') == 'evr::udp', str(h))
    check('its header value decoded intact', h.get('X-Evr-Test') == 'café & more', repr(h.get('X-Evr-Test')))
    check('its own Core-UUID kept', h.get('Core-UUID') == '0a0b0c0d-1111-2222-3333-444455556666', str(h))
    check('its body intact', cu[0]['body'] == 'line one\nline two', repr(cu[0]['body']))
cc = by(a, 'CHANNEL_CREATE')
check('A got the CHANNEL_CREATE from the mirrored INVITE', len(cc) == 1, str(a))
bc = by(b, 'CHANNEL_CREATE')
check('B (json) got the CHANNEL_CREATE only', len(bc) == 1 and len(b) == 1, str(b))
for who, e in (('A', cc), ('B', bc)):
    if e:
        h = e[0]['headers']
        check(who + ': caller number 1000', h.get('Caller-Caller-ID-Number') == '1000', str(h))
        check(who + ': standard headers (Core-UUID, Event-Date-Timestamp)',
              h.get('Core-UUID') and h.get('Event-Date-Timestamp', '').isdigit(), str(h))
check('B parsed JSON', b and b[0]['type'] == 'text/event-json', str(b))
sys.exit(0 if ok else 1)
PY
check_ge "dataplane esl_handed (worker-matched events to the ESL server)" \
	"$(stat_get '.dataplane.totals.esl_handed')" 3
check_eq "dataplane esl_failed" "$(stat_get '.dataplane.totals.esl_failed')" 0
check_eq "control.esl_events_lost" "$(stat_get .control.esl_events_lost)" 0

check "evrd alive" evrd_alive
evrd_stop 15
e2e_finish
