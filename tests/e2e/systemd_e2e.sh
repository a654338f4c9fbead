#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# systemd Type=notify (issue 13): evrd started as systemd starts a notify
# service (NOTIFY_SOCKET, WATCHDOG_USEC) against a harness that speaks the
# notify protocol (a unix datagram socket, as sd_notify writes to it):
#  - READY=1 arrives, then STATUS= with the figures (workers,
#    subscriptions, events, drops): the static subscription is loaded by
#    then (evrd sends READY after ports, subscriptions and workers);
#  - WATCHDOG=1 every half WATCHDOG_USEC while the workers turn: >= 5 in
#    4 s with WATCHDOG_USEC = 1 s;
#  - STOPPING=1 on SIGTERM, then exit 0.
. "$(dirname "$0")/lib.sh"

e2e_init systemd_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_pcap

EVRD_PREFIX=evr-e2e-sd-$$
e2e_empty_pcap "$T/empty.pcap"
cat >"$T/evrd.conf" <<CONF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "$EVRD_PREFIX";
        vdevs = [ "net_pcap0,rx_pcap=$T/empty.pcap,tx_pcap=$T/tx.pcap" ]; };
ports = ( { name = "p"; device = "net_pcap0"; ipv4 = "198.18.15.1/24"; } );
workers = { count = 1; idle_sleep_us = 100; };
listeners = ( { port = 8090; format = "jsonrpc"; } );
control = { socket = "$T/evrd.sock"; };
subscriptions = ( { event = "E_SD"; socket = "udp:198.18.15.2:9000"; } );
CONF

# the harness: every datagram with its arrival time (monotonic s), 15 s max
cat >"$T/harness.py" <<'PY'
import os, socket, sys, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.5)
open(out + '.ready', 'w').close()
end = time.monotonic() + 15
with open(out, 'w') as f:
    while time.monotonic() < end:
        try:
            d = s.recv(4096).decode()
        except socket.timeout:
            continue
        for line in d.split('\n'):
            f.write('%.3f %s\n' % (time.monotonic(), line))
        f.flush()
        if 'STOPPING=1' in d:
            break
PY
spawn "$PY" "$T/harness.py" "$T/notify.sock" "$T/notify.log"
wait_until 5 test -f "$T/notify.log.ready" || { fail "notify harness"; e2e_finish; }

NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=1000000 evrd_start "$T/evrd.conf" "$T/evrd.sock" ||
	{ fail "evrd starts under the notify harness"; e2e_finish; }
ready() { grep -q ' READY=1$' "$T/notify.log"; }
check "READY=1 sent" wait_until 5 ready
t_ready=$(awk '/ READY=1$/ {print $1; exit}' "$T/notify.log")
check "STATUS= right after READY: the static subscription already loaded, figures" grep -qE ' STATUS=1 worker\(s\), 1 subscription\(s\), [0-9]+ event\(s\), [0-9]+ drop\(s\)$' "$T/notify.log"
sleep 4
n_wd=$(awk -v t="$t_ready" '/ WATCHDOG=1$/ && $1 >= t {n++} END {print n+0}' "$T/notify.log")
check_ge "WATCHDOG=1 pings in 4 s with WATCHDOG_USEC = 1 s (every 0.5 s)" "$n_wd" 5
check "evrd alive" evrd_alive
evrd_stop 15
stopping() { grep -q ' STOPPING=1$' "$T/notify.log"; }
check "STOPPING=1 sent at SIGTERM" wait_until 3 stopping
e2e_finish
