#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Control-plane roles (issue 13): with a socket every local user can open
# (mode 0666), who may do what is decided by SO_PEERCRED and the roles:
#  - a uid in control.read_uids lists and reads stats but cannot subscribe,
#    unsubscribe or raise (403 Forbidden, counted control.refused_role);
#  - a uid in control.admin_uids (and root) may;
#  - a uid in neither list is refused at connect (clients_refused_role);
#  - every write and every refusal leaves an audit line in evrd's log.
# The users are created by the test and removed at exit.
. "$(dirname "$0")/lib.sh"

e2e_init roles_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_pcap

RO=evrro$$ ADM=evrad$$ NOBODY=evrno$$
e2e_user_add "$RO" "$ADM" "$NOBODY" || e2e_finish
RO_UID=$(id -u "$RO") ADM_UID=$(id -u "$ADM")
chmod 0755 "$T"

EVRD_PREFIX=evr-e2e-roles-$$
e2e_empty_pcap "$T/empty.pcap"
cat >"$T/evrd.conf" <<CONF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "$EVRD_PREFIX";
        vdevs = [ "net_pcap0,rx_pcap=$T/empty.pcap,tx_pcap=$T/tx.pcap" ]; };
ports = ( { name = "p"; device = "net_pcap0"; ipv4 = "198.18.16.1/24"; } );
workers = { count = 1; idle_sleep_us = 100; };
listeners = ( { port = 8090; format = "jsonrpc"; } );
control = { socket = "$T/evrd.sock"; mode = "0666";
            admin_uids = [ $ADM_UID ]; read_uids = [ $RO_UID ]; };
CONF
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts with control roles"; e2e_finish; }

as() { # as USER evrctl-args...: exit status and output in $out
	local u=$1
	shift
	out=$(runuser -u "$u" -- "$EVRCTL" -s "$EVR_SOCK" --timeout 5 "$@" 2>&1)
}
as "$RO" stats
check_eq "read role: evrctl stats answers" "$?" 0
as "$RO" subscribers
check_eq "read role: evrctl subscribers answers" "$?" 0
as "$RO" subscribe E_ROLE udp:198.18.16.2:9000
rc=$?
check "read role: subscribe refused (exit 1, Forbidden / admin role)" \
	test "$rc" = 1 -a -n "$(grep -o 'Forbidden.*admin role' <<<"$out")"
as "$RO" raise E_ROLE k=v
check_eq "read role: raise refused" "$?" 1
as "$RO" call evr_unsubscribe '{"id": 1}'
check "read role: unsubscribe refused (403)" grep -q "403" <<<"$out"
check_eq "control.refused_role counts the 3 refusals" "$(stat_get .control.refused_role)" 3

as "$ADM" subscribe E_ROLE udp:198.18.16.2:9000
check_eq "admin role (control.admin_uids): subscribe works" "$?" 0
check_eq "root: subscribe works" "$(ctl --json subscribe E_ROOT udp:198.18.16.3:9000 | jq -r 'has("id")')" true
as "$NOBODY" stats
rc=$?
log "  evrctl as $NOBODY: rc $rc: $out"
check "a uid in no list: refused at connect (evrctl fails)" test "$rc" != 0
check "... with permission denied" grep -q "permission denied" <<<"$out"
check_eq "control.clients_refused_role" "$(stat_get .control.clients_refused_role)" 1

check "audit: the admin's subscribe logged with its uid" \
	grep -q "audit: uid $ADM_UID gid [0-9]* (stream): evr_subscribe ok" "$EVRD_LOG"
check "audit: the reader's refusal logged once per connection" \
	grep -q "audit: uid $RO_UID gid [0-9]* (stream): evr_subscribe refused: read role" "$EVRD_LOG"
check "audit: root's subscribe logged" grep -q "audit: uid 0 gid 0 (stream): evr_subscribe ok" "$EVRD_LOG"
check "evrd alive" evrd_alive
evrd_stop 15
e2e_finish
