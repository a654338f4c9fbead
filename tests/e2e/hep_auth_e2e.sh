#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# HEP capture password (issue 13, "who may feed it"): with sip.hep_password
# set, a HEPv3 packet is followed only when its auth-key chunk (0x0e) holds
# it; without the chunk or with another key it is dropped and counted
# (hep_auth_failed), so a party that merely reaches the HEP port cannot
# inject calls or evict dialogs.
#
#   namespace P (198.18.17.2): HEP sender + CHANNEL_CREATE receiver
#     --veth--  evrd (net_af_packet, 198.18.17.1, listener 9060 hep)
. "$(dirname "$0")/lib.sh"

e2e_init hep_auth_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_af_packet

HBPY=$E2E_LIB_DIR/heartbeat_e2e.py
NS=hepa-$E2E_ID
HIF=${E2E_ID}h
EVR=198.18.17.1
SUB=198.18.17.2
EVRD_PREFIX=evr-e2e-hepa-$$

netns_add "$NS" || { fail "create namespace"; e2e_finish; }
veth_add "$HIF" "$NS" "${E2E_ID}p" "$SUB/24" || { fail "veth evrd <-> P"; e2e_finish; }

cat >"$T/evrd.conf" <<CONF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "$EVRD_PREFIX"; vdevs = [ "net_af_packet0,iface=$HIF" ]; };
ports = ( { name = "p"; device = "net_af_packet0"; ipv4 = "$EVR/24"; } );
workers = { count = 1; idle_sleep_us = 50; };
listeners = ( { port = 9060; format = "hep"; } );
control = { socket = "$T/evrd.sock"; };
heartbeat = { interval_s = 0; };
sip = { events = "freeswitch"; hep_password = "s3cret-hep"; };
CONF
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts with sip.hep_password"; e2e_finish; }
check_eq "config_get does not reveal sip.hep_password" "$(ctl config sip.hep_password)" "********"
subscribe_all "$NS" "$SUB" "$T/recv.jsonl" 100 30 "9100|CHANNEL_CREATE|--format json" ||
	{ fail "receiver in P"; e2e_finish; }

hep() { # CALL-ID [auth]
	nsx "$NS" "$PY" "$HBPY" hep-invite --to "$EVR:9060" --bind "$SUB:9070" \
		--src 198.18.17.5 --dst 198.18.17.6 --call-id "$1" ${2:+--auth "$2"}
}
check "HEP INVITE without an auth key sent" hep no-key
check "HEP INVITE with a wrong key sent" hep wrong-key nope
failed_2() { [[ $(total hep_auth_failed) -ge 2 ]]; }
check "both dropped and counted as hep_auth_failed" wait_until 5 failed_2
check "HEP INVITE with the password sent" hep right-key s3cret-hep
chans() { "$PY" "$E2E_PY" notes "$T/recv.jsonl" 2>/dev/null | jq -s '[.[] | select(.name == "CHANNEL_CREATE")] | length'; }
one_chan() { [[ $(chans) -ge 1 ]]; }
check "the authenticated INVITE's CHANNEL_CREATE arrives" wait_until 10 one_chan
sleep 0.5
check_eq "only that one: the refused packets made no event" "$(chans)" 1
check_eq "hep_auth_failed" "$(total hep_auth_failed)" 2
check "evrd alive" evrd_alive
evrd_stop 15
e2e_finish
