#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# HEPv3 copies out of order (a capture agent may send a reply's copy before
# the request's; with several workers a request may be late behind another
# worker): evrd on net_pcap, one worker, a HEP listener, fed the copies of
# a REGISTER flow and an INVITE dialog with the REGISTER's 200, the 180 and
# the ACK each before what they depend on, then the callee's own re-INVITE,
# UPDATE, INFO and session refresh with the caller's 200s and the ACKs, in
# order (sip_reorder_e2e.py). With sip.reorder_ms (default) every event is
# derived in dialog order and exactly 3 messages were held (the callee's
# side none: its dialog is found by the To tag), none expired, no orphan; with
# sip.reorder_ms = 0 the same capture loses the 200's and the 180's events
# (2 orphans): the test catches a regression of the holding.
. "$(dirname "$0")/lib.sh"

e2e_init sip_reorder_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_pcap

EVRD_PREFIX=evr-e2e-sipreo-$$
HELPER=$E2E_LIB_DIR/sip_reorder_e2e.py
n=$("$PY" "$HELPER" gen "$T" "$EVRD_PREFIX") || { fail "capture generated"; e2e_finish; }
for run in hold nohold; do
	evrd_start "$T/evrd_$run.conf" "$T/evrd_$run.sock" || { fail "$run: evrd starts"; continue; }
	pass "$run: evrd starts (HEP listener on net_pcap)"
	hep_done() { [[ $(total hep_ok) -ge $n ]]; }
	check "$run: $n HEP datagrams decoded within 10 s" wait_until 10 hep_done
	sleep 0.5 # held messages are applied with their request; TX drains
	stats_json >"$T/stats_$run.json"
	check "$run: stats snapshot taken" test -s "$T/stats_$run.json"
	evrd_stop 15 # out_$run.pcap is complete once the port is closed
done
py_checks "$PY" "$HELPER" check "$T"
e2e_finish
