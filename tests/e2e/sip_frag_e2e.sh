#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Fragmented SIP (issue 4, "Tests: Fragmented SIP"): evrd on net_pcap with a
# SIP mirror port and a HEP listener, fed generated captures
# (sip_frag_e2e.py gen, from bench/sip/gen_sip_pcap.py) of REGISTER flows
# and INVITE dialogs whose messages exceed a 576-byte MTU and arrive as IPv4
# and IPv6 fragments (mirror port) and as fragmented HEPv3 datagrams (HEP
# listener), plus malformed fragment sets (overlap; a missing piece that
# only the reassembly timeout ends).
#
# Two evrd runs on the same SIP messages: "frag" (fragmented + malformed)
# and "ref" (unfragmented). Asserts, from the notifications in the TX
# capture and `evrctl --json stats`: every message seen and parsed, each
# derived event raised exactly once (per-flow expectations, and the frag run
# raises exactly the ref run's events), filters see reassembled fields,
# rx_fragments / rx_reassembled / rx_frag_dropped equal what the captures
# hold, nothing from a malformed set, nothing sent out of the mirror port;
# SIGTERM exits 0. Bounded: well under 2 minutes.
. "$(dirname "$0")/lib.sh"

e2e_init sip_frag_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_pcap
# (not `| grep -q`: under pipefail an early grep exit fails the pipeline)
if [[ $("$EVRD" --print-config-reference 2>/dev/null) != *"sip.mirror_ports"* ]]; then
	log "FATAL: $EVRD has no SIP ingest (sip.mirror_ports missing from --print-config-reference)"
	exit 1
fi

EVRD_PREFIX=evr-e2e-sipfrag-$$
HELPER=$E2E_LIB_DIR/sip_frag_e2e.py
"$PY" "$HELPER" gen "$T" "$EVRD_PREFIX" || { fail "captures generated"; e2e_finish; }

for run in frag ref; do
	want_sip=$(jq ".$run.sip_messages" "$T/expect.json")
	want_frames=$(jq ".$run.frames" "$T/expect.json")
	want_dropped=$(jq ".$run.bad_fragments" "$T/expect.json")
	check "$run: evrd --check accepts the generated config" "$EVRD" -c "$T/evrd_$run.conf" --check
	evrd_start "$T/evrd_$run.conf" "$T/evrd_$run.sock" || { fail "$run: evrd starts"; continue; }
	pass "$run: evrd starts (mirror port + HEP listener on net_pcap)"
	# Both captures are replayed as fast as the worker reads them.
	rx_done() { [[ $(total rx_packets) -ge $want_frames ]]; }
	check "$run: all $want_frames frames received (rx_packets) within 15 s" wait_until 15 rx_done
	sip_done() { [[ $(total sip_rx) -ge $want_sip ]]; }
	check "$run: $want_sip SIP messages reached the SIP path (sip_rx) within 10 s" \
		wait_until 10 sip_done
	# Incomplete sets leave the table at limits.reassembly_timeout_ms
	# (200 ms here); the worker reaps every 100 ms.
	dropped_done() { [[ $(total rx_frag_dropped) -ge $want_dropped ]]; }
	wait_until 5 dropped_done
	# Every SIP message followed by the state machine (sip_rx counts a
	# message before it is applied), and every notification queued for
	# it has left (one still in the TX buffer leaves on the drain timer):
	# the snapshot the checker reads is then final. Bounded, not a guess.
	settled() {
		stats_json >"$T/stats_$run.json" &&
			jq -e --argjson n "$want_sip" '.dataplane.totals as $t |
				($t.sip_state_msgs // 0) >= $n and
				($t.tx_packets // 0) >= ($t.notifications // 0)' "$T/stats_$run.json" >/dev/null
	}
	check "$run: every SIP message applied and its notifications sent within 10 s" \
		wait_until 10 settled
	check "$run: stats snapshot taken" test -s "$T/stats_$run.json"
	check "$run: evrd alive after the capture" evrd_alive
	# out.pcap is complete once the port is closed.
	evrd_stop 15
done

py_checks "$PY" "$HELPER" check "$T"
e2e_finish
