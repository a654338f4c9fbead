#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# evrd's FreeSWITCH event socket (ESL, inbound, as mod_event_socket) with
# real clients: modesl (FreeSWITCH's Node ESL client, npm, pinned, installed
# by the test) and a raw TCP client that stops reading.
#
#   evrd: net_pcap vdev (empty rx pcap), control socket, heartbeat 1 s,
#   esl on 127.0.0.1:<free port>, queue_max 50. Scenarios: esl_e2e.js.
#
# Asserts:
#  - auth: right password -> modesl ready; wrong -> "-ERR invalid", closed,
#    control.esl_auth_failed + 1;
#  - event plain CUSTOM evr::test + sendevent from another connection: the
#    header value (URL-decoded by modesl) and body intact; event json
#    HEARTBEAT: one within 3 s with Up-Time;
#  - filter Foo bar: Foo: bar arrives, Foo: baz not; esl_events_filtered grows;
#  - event plain ALL + nixevent HEARTBEAT: no HEARTBEAT for 2.5 s, CUSTOM yes;
#  - api status body "UP ..."; bgapi status -> BACKGROUND_JOB with that body;
#  - event xml: text/event-xml parsed by modesl, header value exact;
#  - two clients with different interests each get only their own;
#  - evr_esl_list (evrctl esl) shows clients, peer, format, events;
#    evr_esl_kill (evrctl esl-kill) ends one, esl_killed_operator + 1;
#  - a slow client (subscribed ALL, not reading) loses events (esl_events_lost,
#    its lost in evr_esl_list), is killed after 500 lost in a row
#    (esl_killed_lost), while a normal client gets its events within 1 s;
#  - evrd exits 0 on SIGTERM with ESL clients connected; `evrctl raise`
#    reaches an ESL subscriber.
. "$(dirname "$0")/lib.sh"

e2e_init esl_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_pcap
e2e_require_modesl

EVRD_PREFIX=evr-e2e-esl-$$
ESL_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ESLJS=$E2E_LIB_DIR/esl_e2e.js
ESLPW=ClueCon

# a valid empty pcap (global header only) as the rx side
e2e_empty_pcap "$T/rx.pcap"

cat >"$T/evrd.conf" <<CONF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "$EVRD_PREFIX";
        vdevs = [ "net_pcap0,rx_pcap=$T/rx.pcap,tx_pcap=$T/tx.pcap" ]; };
ports = ( { name = "p0"; device = "net_pcap0"; ipv4 = "198.18.0.1/24"; } );
workers = { count = 1; idle_sleep_us = 50; };
listeners = ( { port = 8090; format = "jsonrpc"; } );
control = { socket = "$T/evrd.sock"; };
heartbeat = { interval_s = 1; };
esl = { listen = "127.0.0.1:$ESL_PORT"; password = "$ESLPW"; acl = [ "127.0.0.0/8" ];
        max_clients = 64; queue_max = 50; };
CONF
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts with esl.listen"; e2e_finish; }
check_eq "evrctl config esl.queue_max" "$(ctl config esl.queue_max)" 50

# a control-plane event (evrctl raise) reaches a modesl subscriber
spawn node "$E2E_LIB_DIR/esl_collect.js" 127.0.0.1 "$ESL_PORT" "$ESLPW" json "CUSTOM evr::raised" \
	"$T/raised.jsonl" 1 20
PID_R=$BG_PID
check "modesl collector subscribed (json CUSTOM evr::raised)" wait_until 10 test -f "$T/raised.jsonl.ready"
check "evrctl raise CUSTOM evr::raised" ctl raise CUSTOM Event-Subclass=evr::raised X-Raised=yes
if wait "$PID_R"; then
	check_eq "raised event at the ESL client: X-Raised" \
		"$(jq -r 'select(.headers["Event-Subclass"] == "evr::raised") | .headers["X-Raised"]' "$T/raised.jsonl")" yes
else
	fail "raised event at the ESL client within 20 s"
fi

# the scenarios (bounded: about 20 s; the process then stays connected)
log "running $ESLJS"
spawn timeout 150 node "$ESLJS" 127.0.0.1 "$ESL_PORT" "$ESLPW" "$EVRCTL" "$EVR_SOCK" >"$T/js.out" 2>"$T/js.err"
PID_JS=$BG_PID
js_done() { grep -q '^CONNECTED' "$T/js.out" || ! kill -0 "$PID_JS" 2>/dev/null; }
wait_until 120 js_done
while IFS= read -r line; do
	case $line in
	"RESULT ok "*) pass "${line#RESULT ok }" ;;
	"RESULT fail "*) fail "${line#RESULT fail }" ;;
	esac
done <"$T/js.out"
grep -q '^CONNECTED' "$T/js.out" || { fail "esl_e2e.js ran every scenario"; sed -n 1,20p "$T/js.err"; }
check_ge "RESULT lines from esl_e2e.js" "$(grep -c '^RESULT' "$T/js.out")" 20

check_ge "control.esl_events_lost (after the slow client)" "$(stat_get .control.esl_events_lost)" 1
check_ge "ESL clients still connected before SIGTERM" "$(ctl --json esl | jq '.clients | length')" 3
check "evrd alive" evrd_alive
evrd_stop 15
e2e_finish
