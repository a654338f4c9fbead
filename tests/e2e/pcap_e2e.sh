#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# evrd on net_pcap: a generated capture (pcap_e2e.py) carrying JSON-RPC,
# plain (with and without the ESL envelope), JSON and auto-detected events,
# IPv4 fragments, ARP/ICMP, and one piece of bad input per drop reason;
# static subscriptions (config) plus one made with evrctl at run time.
#
# Asserts: every notification in out.pcap (destination ip:port and MAC,
# source port, format, re-parsed content, input order per subscriber,
# Event-Sequence increasing), nothing else in out.pcap, EVERY dataplane
# total counter from `evrctl --json stats` equal to its predicted value;
# evrctl subscribe/raise/unsubscribe; SIGTERM exits 0.
. "$(dirname "$0")/lib.sh"

e2e_init pcap_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_pcap

EVRD_PREFIX=evr-e2e-pcap-$$
"$PY" "$E2E_LIB_DIR/pcap_e2e.py" gen "$T" "$EVRD_PREFIX" || exit 1
nframes=$(jq .frames "$T/expect.json")

check "evrd --check accepts the generated config" "$EVRD" -c "$T/evrd.conf" --check
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts on net_pcap"; e2e_finish; }
pass "evrd starts on net_pcap, control socket answers"

# The capture is replayed as fast as the worker reads it.
rx_done() { [[ $(total rx_packets) == "$nframes" ]]; }
check "all $nframes frames of in.pcap received (rx_packets) within 10 s" wait_until 10 rx_done
# Counters settle (every expected counter reached, and the notifications
# counted have left: still in the TX buffer until the drain timer flushes
# them) within a bound, not after a fixed time; the checker reports on the
# snapshot taken then.
settled() {
	stats_json >"$T/stats.json" &&
		jq -e --slurpfile ex "$T/expect.json" '.dataplane.totals as $t |
			($ex[0].counters | to_entries | all(.value == ($t[.key] // 0))) and
			($t.tx_packets // 0) >= ($t.notifications // 0)' "$T/stats.json" >/dev/null
}
wait_until 10 settled
check "stats snapshot taken (evrctl --json stats)" test -s "$T/stats.json"

# ---- run-time subscription through evrctl; raise_event goes out through
# worker 0's TX queue, i.e. into out.pcap as well.
id=$(ctl --json subscribe E_CTL udp:198.18.0.3:9010 --format plain --expire 60 | jq -r .id)
check "evrctl subscribe returns an id ($id)" test -n "$id" -a "$id" != null
check_eq "subscribers listed (5 static + 1)" \
	"$(ctl --json subscribers --all | jq '.subscribers | length')" 6
check_eq "events list shows E_CTL with 1 subscriber" \
	"$(ctl --json events | jq -r '.events[] | select(.event == "E_CTL") | .subscribers')" 1
r=$(ctl --json raise E_CTL who=evrctl)
check_eq "evrctl raise E_CTL: notified 1" "$(jq -r .notified <<<"$r")" 1
check_eq "evrctl unsubscribe $id: removed 1" "$(ctl --json unsubscribe "$id" | jq -r .removed)" 1
ctl raise E_CTL who=late >/dev/null 2>&1
check_eq "raise after unsubscribe: exit 1 (error 480, nobody subscribed)" "$?" 1
sent_tx() { [[ $(total tx_packets) -gt $(jq .dataplane.totals.tx_packets "$T/stats.json") ]]; }
check "the raise_event notification left through the dataplane (tx_packets grew)" \
	wait_until 5 sent_tx
echo '{"dest": ["198.18.0.3", 9010], "frames": 1}' >"$T/extra.json"

check "evrd alive after the whole capture" evrd_alive
evrd_stop 15
# tx_pcap is complete once the port is closed.
py_checks "$PY" "$E2E_LIB_DIR/pcap_e2e.py" check "$T" "$T/stats.json" "$T/extra.json"
e2e_finish
