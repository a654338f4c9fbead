#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Who may feed it (issue 13): a listener takes datagrams only from the
# sources in its `allow` list, by default the on-link subnets of the port
# they arrive on. Anyone else who reaches the port (a spoofer, a host
# behind the gateway) is dropped and counted per port (rx_source_refused)
# and per listener (stats listeners[].source_refused, Prometheus
# evrouter_listener_source_refused_total), so nobody off the list can
# forge events to every subscriber.
#
#   namespace P: 198.18.19.2/24 (on-link) and 198.19.19.2/24 (not on
#   evrd's link, but sent on the same wire)
#     --veth--  evrd (net_af_packet, 198.18.19.1/24)
#               listener 8090 (default: on-link) and 8091 (allow 198.19.19.0/24)
. "$(dirname "$0")/lib.sh"

e2e_init listener_allow_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_af_packet

NS=lalw-$E2E_ID
HIF=${E2E_ID}h
EVR=198.18.19.1
ON=198.18.19.2
OFF=198.19.19.2
EVRD_PREFIX=evr-e2e-lalw-$$

netns_add "$NS" || { fail "create namespace"; e2e_finish; }
veth_add "$HIF" "$NS" "${E2E_ID}p" "$ON/24" || { fail "veth evrd <-> P"; e2e_finish; }
nsx "$NS" ip addr add "$OFF/24" dev "${E2E_ID}p" || { fail "second address in P"; e2e_finish; }

cat >"$T/evrd.conf" <<CONF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "$EVRD_PREFIX"; vdevs = [ "net_af_packet0,iface=$HIF" ]; };
ports = ( { name = "p"; device = "net_af_packet0"; ipv4 = "$EVR/24"; } );
workers = { count = 1; idle_sleep_us = 50; };
listeners = ( { port = 8090; format = "plain"; },
              { port = 8091; format = "plain"; allow = [ "198.19.19.0/24" ]; } );
control = { socket = "$T/evrd.sock"; };
heartbeat = { interval_s = 0; };
CONF
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts with listeners[].allow"; e2e_finish; }
check_eq "allow shown by config_get" "$(ctl --json config listeners | jq -c '[.[].allow]')" \
	'[[],["198.19.19.0/24"]]'
subscribe_all "$NS" "$ON" "$T/recv.jsonl" 100 30 "9100|ALLOW_TEST" ||
	{ fail "receiver in P"; e2e_finish; }
# P reaches evrd's address from either source address: the /24 route is on
# the veth, and evrd's MAC is pinned so no ARP question depends on the source.
MAC=$(stat_get '.dataplane.ports[0].mac')
nsx "$NS" ip neigh replace "$EVR" lladdr "${MAC//\"/}" dev "${E2E_ID}p" nud permanent

send() { # FROM PORT TAG N
	nsx "$NS" "$PY" "$E2E_PY" send --to "$EVR:$2" --bind "$1" --repeat "$4" --interval 0.002 \
		--payload "$(printf 'Event-Name: ALLOW_TEST\nTag: %s\n\n' "$3")"
}
tags() { "$PY" "$E2E_PY" notes "$T/recv.jsonl" 2>/dev/null |
	jq -r 'select(.name == "ALLOW_TEST") | .attrs.Tag // empty' | sort | uniq -c |
	awk '{printf "%s=%s ", $2, $1}'; }
refused() { stat_get ".dataplane.listeners[] | select(.port == $1) | .source_refused"; }

check "on-link source to the default listener" send "$ON" 8090 on-default 3
check "off-link source to the default listener" send "$OFF" 8090 off-default 5
check "listed source to the listed listener" send "$OFF" 8091 off-listed 4
check "unlisted (on-link) source to the listed listener" send "$ON" 8091 on-listed 7
five_twelve() { [[ $(total rx_source_refused) -ge 12 ]]; }
check "refusals counted" wait_until 10 five_twelve
seven() { [[ $(tags) == "off-listed=4 on-default=3 " ]]; }
check "only the allowed sources' events reach the subscriber" wait_until 10 seven
sleep 0.5
check_eq "delivered, by tag" "$(tags)" "off-listed=4 on-default=3 "
check_eq "rx_source_refused (port total)" "$(total rx_source_refused)" 12
check_eq "listener 8090 refused the off-link source" "$(refused 8090)" 5
check_eq "listener 8091 refused the unlisted source" "$(refused 8091)" 7
check_eq "refused datagrams never decoded" "$(total decode_ok)" 7
check "ping from the off-link source still answered (host protocols are not listeners)" \
	nsx "$NS" ping -c 1 -W 2 -I "$OFF" "$EVR"
check "evrd alive" evrd_alive
evrd_stop 15
e2e_finish
