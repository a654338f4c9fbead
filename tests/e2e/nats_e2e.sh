#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# NATS as a notification transport (issue 14 §3), end to end with a real
# nats-server (Debian package; JetStream on, its store under $T) and the npm
# `nats` client (pinned, installed by lib.sh e2e_require_nats_js):
#
#   namespace P (198.18.0.2): event sender + UDP receiver
#     --veth--  evrd (net_af_packet, 198.18.0.1, listeners 8090 jsonrpc,
#               8091 FreeSWITCH json), nats.url = nats://127.0.0.1:<free port>
#   here: nats-server 127.0.0.1:<port> -js -sd $T/js; node consumers
#
# Asserts:
#  - subscribe-time refusals name the problem (wildcard, $JS namespace);
#  - nats:evr.{event} in jsonrpc (E_UL_AOR_INSERT) and json (CUSTOM
#    sofia::register -> subject evr.CUSTOM_sofia::register), one through
#    OpenSIPS MI event_subscribe: a core NATS consumer gets exactly the
#    expected notifications, payloads byte-identical to the same
#    subscriptions' UDP datagrams; subscribers lists show nats: sockets;
#  - JetStream: a file stream on evr.> and a durable consumer; the consumer
#    takes 2, stops, 4 more are sent, the durable consumer started again
#    replays exactly those 4;
#  - nats-server killed while 400 events flow: evrd keeps running, every
#    event decoded and matched by the workers, the UDP subscriber gets all
#    400, nats drops counted (nats_buffer_full), none at the ring
#    (nats_ring_full 0: the publisher never stalled), in evrctl stats and
#    Prometheus /metrics; nats-server started again: evrd reconnects and a
#    consumer gets the next events;
#  - evrd exits 0 on SIGTERM.
. "$(dirname "$0")/lib.sh"

e2e_init nats_e2e
e2e_veth_peer 24
command -v nats-server >/dev/null || { fail "nats-server installed (deploy/packages.txt)"; e2e_finish; }
e2e_require_nats_js

EVRD_PREFIX=evr-e2e-nats-$$
JS=$E2E_LIB_DIR/nats_e2e.js
NPORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
NURL=nats://127.0.0.1:$NPORT
HPORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
NATS_PID=""

nats_start() {
	spawn nats-server -a 127.0.0.1 -p "$NPORT" -js -sd "$T/js" -l "$T/nats-server.log"
	NATS_PID=$BG_PID
	wait_until 10 "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$NPORT"
}
check "nats-server starts on 127.0.0.1:$NPORT (JetStream, store in \$T)" nats_start

cat >"$T/evrd.conf" <<CONF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "$EVRD_PREFIX"; vdevs = [ "net_af_packet0,iface=$HIF" ]; };
ports = ( { name = "p"; device = "net_af_packet0"; ipv4 = "$US/24"; } );
workers = { count = 1; idle_sleep_us = 50; };
listeners = ( { port = 8090; format = "jsonrpc"; }, { port = 8091; format = "json"; } );
control = { socket = "$T/evrd.sock"; };
mi = { http = { listen = "127.0.0.1:$HPORT"; }; };
heartbeat = { interval_s = 0; };
nats = { url = "$NURL"; name = "evrd-e2e"; ring = 1024; max_pending_bytes = 4096;
         reconnect_wait_ms = 200; };
CONF
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts with nats.url"; e2e_finish; }
connected() { [[ $(stat_get .dataplane.nats.connected) == true ]]; }
check "evrd connected to NATS (evrctl stats .dataplane.nats)" wait_until 10 connected

# ---- subscribe-time refusals
out=$(ctl subscribe E_X 'nats:evr.*' 2>&1)
check "nats:evr.* refused: wildcard named ($out)" grep -q "wildcard '\*'" <<<"$out"
out=$(ctl subscribe E_X 'nats:$JS.API.STREAM.DELETE.EVR' 2>&1)
check "nats:\$JS.API... refused: NATS's own namespace ($out)" grep -q "own namespace" <<<"$out"

# ---- core NATS: two formats, {event}, MI event_subscribe; UDP twins
check "subscribe E_UL_AOR_INSERT nats:evr.{event} jsonrpc" \
	ctl subscribe E_UL_AOR_INSERT 'nats:evr.{event}' --format jsonrpc --expire 600
check "subscribe 'CUSTOM sofia::register' nats:evr.{event} json" \
	ctl subscribe 'CUSTOM sofia::register' 'nats:evr.{event}' --format json --expire 600
mi=$(ctl --json call event_subscribe '["E_MI_NATS", "nats:evr.mi", 600]')
check_eq "OpenSIPS MI event_subscribe with a nats: socket" "$mi" '"OK"'
check "UDP twins (udp:$PLAT:9000 jsonrpc, :9001 json)" \
	ctl subscribe E_UL_AOR_INSERT "udp:$PLAT:9000" --format jsonrpc --expire 600
ctl subscribe 'CUSTOM sofia::register' "udp:$PLAT:9001" --format json --expire 600 >/dev/null
check_eq "evrctl subscribers lists the nats: destinations" \
	"$(ctl --json subscribers --all | jq -r '[.subscribers[].socket | select(startswith("nats:"))] | sort | join(" ")')" \
	"nats:evr.mi nats:evr.{event} nats:evr.{event}"
check_eq "MI subscribers_list shows the nats: socket" \
	"$(ctl --json call subscribers_list '["E_MI_NATS"]' | jq -r '.Event.Subscribers[0].socket')" "nats:evr.mi"

recv_start "$NS" "$PLAT:9000" "$T/udp1.jsonl" 8 20 --bind "$PLAT:9001" || fail "UDP receiver"
spawn timeout 30 node "$JS" collect "$NURL" 'evr.>' "$T/core.jsonl" 9 20
PID_C=$BG_PID
check "core consumer subscribed to evr.>" wait_until 10 test -e "$T/core.jsonl.ready"
for i in 1 2 3 4 5; do
	nsx "$NS" "$PY" "$E2E_PY" send --to "$US:8090" \
		--payload "{\"jsonrpc\":\"2.0\",\"method\":\"E_UL_AOR_INSERT\",\"params\":{\"aor\":\"sip:u$i@example.com\",\"n\":\"$i\"}}"
done
for i in 1 2 3; do
	nsx "$NS" "$PY" "$E2E_PY" send --to "$US:8091" \
		--payload "{\"Event-Name\":\"CUSTOM\",\"Event-Subclass\":\"sofia::register\",\"username\":\"fs$i\",\"n\":\"$i\"}"
done
nsx "$NS" "$PY" "$E2E_PY" send --to "$US:8090" \
	--payload '{"jsonrpc":"2.0","method":"E_NOBODY","params":{"x":"1"}}'
check "raise E_MI_NATS (control thread's notifier -> NATS)" ctl raise E_MI_NATS k=v
wait "$PID_C"
wait_until 10 test "$(lines "$T/udp1.jsonl")" -ge 8
check_eq "core consumer: messages" "$(lines "$T/core.jsonl")" 9
check_eq "core consumer: subjects" \
	"$(jq -r .subject "$T/core.jsonl" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" \
	"evr.CUSTOM_sofia::register=3 evr.E_UL_AOR_INSERT=5 evr.mi=1 "
check_eq "jsonrpc payloads: method and aor, in order" \
	"$(jq -r 'select(.subject == "evr.E_UL_AOR_INSERT") | .data | fromjson | "\(.method):\(.params.aor)"' "$T/core.jsonl" | tr '\n' ' ')" \
	"E_UL_AOR_INSERT:sip:u1@example.com E_UL_AOR_INSERT:sip:u2@example.com E_UL_AOR_INSERT:sip:u3@example.com E_UL_AOR_INSERT:sip:u4@example.com E_UL_AOR_INSERT:sip:u5@example.com "
check_eq "json payloads: Event-Name, Event-Subclass, username" \
	"$(jq -r 'select(.subject == "evr.CUSTOM_sofia::register") | .data | fromjson | "\(.["Event-Name"])/\(.["Event-Subclass"])/\(.username)"' "$T/core.jsonl" | tr '\n' ' ')" \
	"CUSTOM/sofia::register/fs1 CUSTOM/sofia::register/fs2 CUSTOM/sofia::register/fs3 "
check_eq "raised event over MI's nats: socket: jsonrpc method" \
	"$(jq -r 'select(.subject == "evr.mi") | .data | fromjson | .method' "$T/core.jsonl")" E_MI_NATS
check "NATS payloads byte-identical to the UDP twins' datagrams" "$PY" - "$T/core.jsonl" "$T/udp1.jsonl" <<'PY'
import base64, json, sys
nats = [json.loads(l)['data'].encode() for l in open(sys.argv[1])
        if json.loads(l)['subject'] != 'evr.mi']
udp = [base64.b64decode(json.loads(l)['b64']) for l in open(sys.argv[2])]
print('nats %d, udp %d' % (len(nats), len(udp)), file=sys.stderr)
sys.exit(0 if len(nats) == 8 and sorted(nats) == sorted(udp) else 1)
PY
check_eq "nats_published (8 events + 1 raise)" "$(total nats_published)" 9

# ---- JetStream: a stream on evr.>, a durable consumer that replays
check "JetStream stream EVR on evr.> with durable consumer 'replay' (npm nats jsm)" \
	node "$JS" js-setup "$NURL" EVR 'evr.>' replay
check "subscribe E_JS nats:evr.{event}" ctl subscribe E_JS 'nats:evr.{event}' --expire 600
send_js() {
	local i
	for i in "$@"; do
		nsx "$NS" "$PY" "$E2E_PY" send --to "$US:8090" \
			--payload "{\"jsonrpc\":\"2.0\",\"method\":\"E_JS\",\"params\":{\"n\":\"$i\"}}"
	done
}
stream_has() { [[ $(node "$JS" js-info "$NURL" EVR | jq .messages) -ge $1 ]]; }
send_js 1 2
check "stream holds the first 2" wait_until 10 stream_has 2
got=$(node "$JS" js-consume "$NURL" EVR replay 100 1500 | jq -r '.data | fromjson | .params.n' | tr '\n' ' ')
check_eq "durable consumer takes (and acks) the first 2" "$got" "1 2 "
log "consumer stopped; sending 4 more"
send_js 3 4 5 6
check "stream holds all 6" wait_until 10 stream_has 6
got=$(node "$JS" js-consume "$NURL" EVR replay 100 1500 | jq -r '.data | fromjson | .params.n' | tr '\n' ' ')
check_eq "durable consumer started again replays exactly what it missed" "$got" "3 4 5 6 "

# ---- outage: nats-server killed while events flow
check "subscribe E_FLOW nats:evr.{event} and udp:$PLAT:9002" \
	ctl subscribe E_FLOW 'nats:evr.{event}' --expire 600
ctl subscribe E_FLOW "udp:$PLAT:9002" --expire 600 >/dev/null
recv_start "$NS" "$PLAT:9002" "$T/udp2.jsonl" 400 25 || fail "UDP receiver (outage)"
PID_U=$BG_PID
dec0=$(total decode_ok)
match0=$(total matches)
loops0=$(stat_get '.dataplane.workers[0].loops')
log "sending 400 events at 200/s; nats-server killed 0.5 s into it"
spawn nsx "$NS" "$PY" "$E2E_PY" send --to "$US:8090" \
	--payload '{"jsonrpc":"2.0","method":"E_FLOW","params":{"k":"flow-event-with-some-padding-to-fill-the-reconnect-buffer"}}' \
	--repeat 400 --rate 200
PID_S=$BG_PID
sleep 0.5
kill -KILL "$NATS_PID"
wait "$NATS_PID" 2>/dev/null
check "400 events sent while NATS went down" wait "$PID_S"
decoded() { [[ $(($(total decode_ok) - dec0)) -ge 400 ]]; }
check "workers decoded all 400 during the outage" wait_until 10 decoded
check_eq "workers matched them (matches +800: nats: and udp:)" $(($(total matches) - match0)) 800
check "worker loop advanced" test "$(stat_get '.dataplane.workers[0].loops')" -gt "$loops0"
wait "$PID_U"
check_eq "UDP subscriber got all 400 during the outage" "$(lines "$T/udp2.jsonl")" 400
check_ge "NATS drops counted: nats_buffer_full" "$(total nats_buffer_full)" 1
check_eq "nats_ring_full (the publisher never stalled)" "$(total nats_ring_full)" 0
check_eq "published + buffer_full + disconnected = 9 + 6 + 400" \
	$(($(total nats_published) + $(total nats_buffer_full) + $(total nats_disconnected))) 415
check "evrd alive during the outage" evrd_alive
disconnected() { [[ $(stat_get .dataplane.nats.connected) == false ]]; }
check "stats show NATS disconnected" disconnected
check_ge "evrctl stats: dataplane.nats.counters.nats_buffer_full" \
	"$(stat_get '.dataplane.nats.counters.nats_buffer_full')" 1
"$PY" -c 'import sys, urllib.request as u; sys.stdout.write(u.urlopen(sys.argv[1], timeout=5).read().decode())' \
	"http://127.0.0.1:$HPORT/metrics" >"$T/metrics.txt" 2>&1
prom() { awk -v k="$1" '$1 == k { print $2 }' "$T/metrics.txt"; }
check_eq "Prometheus: evrouter_nats_buffer_full_total{worker=\"nats\"} = stats" \
	"$(prom 'evrouter_nats_buffer_full_total{worker="nats"}')" "$(total nats_buffer_full)"
check_eq "Prometheus: evrouter_nats_ring_full_total{worker=\"0\"}" \
	"$(prom 'evrouter_nats_ring_full_total{worker="0"}')" 0
check_eq "Prometheus: evrouter_nats_connected" "$(prom evrouter_nats_connected)" 0

# ---- nats-server back: publishing resumes
check "nats-server started again (same port, same store)" nats_start
check "evrd reconnected within 10 s" wait_until 10 connected
check_ge "dataplane.nats.reconnects" "$(stat_get .dataplane.nats.reconnects)" 1
check_eq "Prometheus: evrouter_nats_connected after the restart" \
	"$("$PY" -c 'import sys, urllib.request as u; print(u.urlopen(sys.argv[1], timeout=5).read().decode())' \
		"http://127.0.0.1:$HPORT/metrics" | awk '$1 == "evrouter_nats_connected" { print $2 }')" 1
spawn timeout 30 node "$JS" collect "$NURL" 'evr.E_RESUME' "$T/resume.jsonl" 5 15
PID_C=$BG_PID
check "consumer subscribed to evr.E_RESUME" wait_until 10 test -e "$T/resume.jsonl.ready"
ctl subscribe E_RESUME 'nats:evr.{event}' --expire 600 >/dev/null
for i in 1 2 3 4 5; do
	nsx "$NS" "$PY" "$E2E_PY" send --to "$US:8090" \
		--payload "{\"jsonrpc\":\"2.0\",\"method\":\"E_RESUME\",\"params\":{\"n\":\"$i\"}}"
done
wait "$PID_C"
check_eq "publishing resumed: the consumer got the 5 events after the restart" \
	"$(jq -r '.data | fromjson | .params.n' "$T/resume.jsonl" 2>/dev/null | tr '\n' ' ')" "1 2 3 4 5 "
check_ge "the stream kept what was buffered or sent after the restart" \
	"$(node "$JS" js-info "$NURL" EVR | jq .messages)" 6

check "evrd alive" evrd_alive
evrd_stop 15
e2e_finish
