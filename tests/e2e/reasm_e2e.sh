#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# evrd on net_pcap: IP reassembly of events of any size (issue 8 items 1
# and 9). A generated capture (reasm_e2e.py) of 1.5, 3, 9, 30 and 65 KB
# events fragmented at MTU 1500 and 576 (up to 119 fragments: more than
# librte_ip_frag's 8), IPv4 and IPv6, JSON-RPC and plain, in and out of
# order with duplicates, interleaved with a storm of never-completing
# fragmented datagrams that fills the (small) reassembly table many times.
#
# Asserts: every event notified once with its exact content, nothing
# else; rx_fragments / rx_reassembled / rx_frag_evicted /
# rx_frag_duplicate / rx_frag_dropped equal to what a model of the table
# predicts (the storm is evicted, oldest first, no legitimate datagram
# is); no rx_frag_invalid, rx_frag_timeout, rx_bad_ip_header. Jumbo
# frames larger than an mbuf (net_pcap chains them) decode whole; echo
# requests in chains are checksummed and answered (or icmp_echo_too_big).
# A second run with mtu 9000 (net_pcap has no multi-segment TX) asserts
# notifications fragmented to fit one payload mbuf, none lost.
. "$(dirname "$0")/lib.sh"

e2e_init reasm_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_pcap

EVRD_PREFIX=evr-e2e-reasm-$$
"$PY" "$E2E_LIB_DIR/reasm_e2e.py" gen "$T" "$EVRD_PREFIX" || exit 1
nframes=$(jq .frames "$T/expect.json")
nnotes=$(jq .counters.notifications "$T/expect.json")

check "evrd --check accepts the generated config" "$EVRD" -c "$T/evrd.conf" --check
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts on net_pcap"; e2e_finish; }
pass "evrd starts on net_pcap, control socket answers"

rx_done() { [[ $(total rx_packets) == "$nframes" ]]; }
check "all $nframes frames of in.pcap received (rx_packets) within 20 s" wait_until 20 rx_done
notes_done() { [[ $(total notifications) -ge "$nnotes" ]]; }
check "$nnotes notifications made within 10 s" wait_until 10 notes_done
stats_json >"$T/stats.json"
check "stats snapshot taken (evrctl --json stats)" test -s "$T/stats.json"
check "evrd alive after the whole capture" evrd_alive
# Stopping flushes what is still buffered; tx_pcap is complete once the
# port is closed.
evrd_stop 15
py_checks "$PY" "$E2E_LIB_DIR/reasm_e2e.py" check "$T" "$T/stats.json"

# ---- second run: mtu 9000 on net_pcap, which has no multi-segment TX.
# Notifications over ~2 KB were all lost (tx_linearize_failed); evrd now
# fragments at what one payload mbuf holds, and says so.
T2=$T/tx
mkdir -p "$T2" && chmod 755 "$T2"
rm -rf "/var/run/dpdk/$EVRD_PREFIX" # the first run's (cleanup knows one prefix)
EVRD_PREFIX=evr-e2e-reasm-tx-$$
"$PY" "$E2E_LIB_DIR/reasm_e2e.py" gen-tx "$T2" "$EVRD_PREFIX" || { fail "gen-tx"; e2e_finish; }
evrd_start "$T2/evrd.conf" "$T2/evrd.sock" || { fail "evrd starts (mtu 9000)"; e2e_finish; }
check "warning: no multi-segment TX, fragmented at 2030" \
	grep -q "port p0: net_pcap has no multi-segment TX; notifications are fragmented at 2030" \
	"$EVRD_LOG"
tx_done() { [[ $(total notifications) -ge 2 ]]; }
check "2 notifications made within 10 s" wait_until 10 tx_done
stats_json >"$T2/stats.json"
evrd_stop 15
py_checks "$PY" "$E2E_LIB_DIR/reasm_e2e.py" check-tx "$T2" "$T2/stats.json"
e2e_finish
