#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# HEARTBEAT and FreeSWITCH's standard event headers (issue 12 part 3).
#
#   namespace P (198.18.12.2): the subscribers' UDP receivers and a HEP
#   sender  --veth--  evrd (net_af_packet, 198.18.12.1, heartbeat.interval_s
#   = 1, listener { port = 9060; format = "hep"; })
#
# Asserts (python checker, heartbeat_e2e.py check):
#  - a HEARTBEAT subscriber in json and one in plain each get >= 2 within a
#    bounded wait, one per interval (gaps 0.5-2 s), nothing else;
#  - their headers: the standard ones right after Event-Name in FreeSWITCH's
#    order (Core-UUID v4, the same on every event of the run; dates well
#    formed and equal to the timestamp's second; Event-Date-Timestamp in us
#    within 5 s of reception), Event-Info "System Ready", Up-Time in
#    FreeSWITCH's words and equal to Uptime-msec, FreeSWITCH-Version =
#    `evrctl version`, the Evr-* figures, Event-Sequence;
#  - a CHANNEL_CREATE derived from a HEP-carried INVITE, and one raised with
#    `evrctl raise`, carry the same Core-UUID and the date headers;
#  - an OpenSIPS-vocabulary event raised (E_HB_TEST, jsonrpc) carries exactly
#    its params: no standard header.
. "$(dirname "$0")/lib.sh"

e2e_init heartbeat_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_af_packet

HBPY=$E2E_LIB_DIR/heartbeat_e2e.py
NS=hb-$E2E_ID
HIF=${E2E_ID}h
EVR=198.18.12.1
SUB=198.18.12.2
EVRD_PREFIX=evr-e2e-hb-$$
INTERVAL=1

netns_add "$NS" || { fail "create namespace"; e2e_finish; }
veth_add "$HIF" "$NS" "${E2E_ID}p" "$SUB/24" || { fail "veth evrd <-> P"; e2e_finish; }
pass "namespace $NS ($SUB) <-> $HIF (evrd $EVR)"

cat >"$T/evrd.conf" <<EOF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "$EVRD_PREFIX"; vdevs = [ "net_af_packet0,iface=$HIF" ]; };
ports = ( { name = "p"; device = "net_af_packet0"; ipv4 = "$EVR/24"; } );
workers = { count = 1; idle_sleep_us = 50; };
listeners = ( { port = 9060; format = "hep"; } );
control = { socket = "$T/evrd.sock"; };
heartbeat = { interval_s = $INTERVAL; };
EOF
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts with heartbeat.interval_s = $INTERVAL"; e2e_finish; }
check_eq "evrctl config heartbeat.interval_s" "$(ctl config heartbeat.interval_s)" "$INTERVAL"
VERSION=$(ctl --json version | jq -r .version)

SUBS=(
	"9100|HEARTBEAT|--format json"
	"9101|HEARTBEAT|--format plain"
	"9102|CHANNEL_CREATE|--format json"
	"9103|E_HB_TEST|--format jsonrpc"
)
subscribe_all "$NS" "$SUB" "$T/recv.jsonl" 1000 60 "${SUBS[@]}" ||
	{ fail "receivers in P"; e2e_finish; }

count_at() { # DST EVENT: notifications of EVENT received at DST
	"$PY" "$E2E_PY" notes "$T/recv.jsonl" 2>/dev/null |
		jq -s "[.[] | select(.dst == \"$1\" and .name == \"$2\")] | length"
}
two_beats() {
	(($(count_at "$SUB:9100" HEARTBEAT) >= 2 && $(count_at "$SUB:9101" HEARTBEAT) >= 2))
}
check "two HEARTBEATs on each of the json and plain subscribers within $((4 * INTERVAL + 2)) s" \
	wait_until $((4 * INTERVAL + 2)) two_beats

check "a HEPv3-carried INVITE sent to evrd:9060" nsx "$NS" "$PY" "$HBPY" hep-invite \
	--to "$EVR:9060" --bind "$SUB:9070" --src 198.18.12.5 --dst 198.18.12.6
check "evrctl raise CHANNEL_CREATE" ctl raise CHANNEL_CREATE Unique-ID=raised-1
check "evrctl raise E_HB_TEST (OpenSIPS vocabulary)" ctl raise E_HB_TEST aor=x
chans_in() {
	(($(count_at "$SUB:9102" CHANNEL_CREATE) >= 2 && $(count_at "$SUB:9103" E_HB_TEST) >= 1))
}
check "both CHANNEL_CREATEs and E_HB_TEST received within 10 s" wait_until 10 chans_in

"$PY" "$E2E_PY" notes "$T/recv.jsonl" >"$T/notes.jsonl"
py_checks "$PY" "$HBPY" check --notes "$T/notes.jsonl" --version "$VERSION" \
	--interval "$INTERVAL" --hb-json "$SUB:9100" --hb-plain "$SUB:9101" \
	--chan "$SUB:9102" --opensips "$SUB:9103" --evr-ip "$EVR"
check_ge "control.heartbeats counted" "$(stat_get .control.heartbeats)" 2
check_eq "control.heartbeat_failed" "$(stat_get .control.heartbeat_failed)" 0

check "evrd alive" evrd_alive
evrd_stop 15
e2e_finish
