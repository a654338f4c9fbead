#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Deployment as issue 13 asks: `meson install` lays out evrd, evrctl, the
# systemd unit, the sysusers.d/tmpfiles.d snippets and the sample config;
# the unit verifies; the snippets make the evrouter account and the lock
# directory; and evrd runs as an unprivileged account with exactly the
# unit's AmbientCapabilities (nothing else), receiving events and sending
# notifications on net_af_packet, while each of those capabilities is
# shown to be needed (without it evrd refuses to start, saying why).
#
#   namespace P (198.18.20.2): sender + subscriber  --veth--  evrd as an
#   unprivileged test account (198.18.20.1, listener 8090)
. "$(dirname "$0")/lib.sh"

e2e_init unprivileged_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_af_packet
for c in setpriv unshare systemd-analyze systemd-sysusers systemd-tmpfiles; do
	command -v "$c" >/dev/null || { fail "$c installed"; e2e_finish; }
done

# ---- meson install: the layout
ROOT=$T/root
check "meson install --destdir" meson install -C "$EVR_BUILD" --no-rebuild --quiet --destdir "$ROOT"
found() { find "$ROOT" -path "*$1" -type f | head -n 1; }
for f in /sbin/evrd /bin/evrctl /systemd/system/evrd.service /sysusers.d/evrd.conf \
	/tmpfiles.d/evrd.conf /evrd/evrd.conf.example /doc/evrouter/README.md; do
	check "installed: *$f" test -n "$(found "$f")"
done
UNIT=$(found /systemd/system/evrd.service)
IEVRD=$(found /sbin/evrd)
# the unit names the installed binary; verified with the paths under ROOT
ESTART=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$UNIT")
check_eq "unit's ExecStart is the installed evrd" "$ROOT$ESTART" "$IEVRD"
sed -e "s|=$ESTART|=$ROOT$ESTART|g; s|file://|file://$ROOT|" "$UNIT" >"$T/evrd.service"
check "systemd-analyze verify evrd.service" systemd-analyze verify "$T/evrd.service"
check_eq "unit runs as evrouter" "$(sed -n 's/^User=//p' "$UNIT")" evrouter
check "the sample config passes --check" "$IEVRD" -c "$(found /evrd/evrd.conf.example)" --check

# ---- sysusers.d and tmpfiles.d, applied to ROOT
mkdir -p "$ROOT/etc"
check "systemd-sysusers --root" systemd-sysusers --root="$ROOT" "$(found /sysusers.d/evrd.conf)"
check_eq "evrouter account: home, no login shell" \
	"$(awk -F: '$1 == "evrouter" {print $6, $7}' "$ROOT/etc/passwd")" "/var/lib/evrd /usr/sbin/nologin"
GID=$(awk -F: '$1 == "evrouter" {print $3}' "$ROOT/etc/group")
check "systemd-tmpfiles --root --create" systemd-tmpfiles --root="$ROOT" --create \
	"$(found /tmpfiles.d/evrd.conf)"
check_eq "lock directory: mode 775, group evrouter" "$(stat -c '%a %g' "$ROOT/run/lock/evrd")" "775 $GID"

# ---- evrd as an unprivileged account with the unit's capabilities only
CAPS=$(sed -n 's/^AmbientCapabilities=//p' "$UNIT")
check_eq "the unit's capabilities" "$CAPS" "CAP_NET_RAW CAP_NET_ADMIN CAP_IPC_LOCK"
capset() { # CAP_A CAP_B ... -> +a,+b
	local c out=""
	for c in "$@"; do out+=",+$(tr '[:upper:]' '[:lower:]' <<<"${c#CAP_}")"; done
	echo "${out#,}"
}
U=evru$E2E_ID
e2e_user_add "$U" || e2e_finish
mkdir -p "$T/run" "$T/xdg" && chown "$U:" "$T/run" "$T/xdg"
# as the unit runs it: its own account, the caps given as ambient, a lock
# directory as tmpfiles.d makes it (in a private mount namespace, so the
# host's /run/lock/evrd stays as it is)
cat >"$T/evrd-as-user" <<SH
#!/bin/sh
exec unshare --mount sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run/lock &&
  mkdir -m 0775 /run/lock/evrd && chgrp $U /run/lock/evrd &&
  XDG_RUNTIME_DIR=$T/xdg exec setpriv --reuid $U --regid $U --init-groups \
    --inh-caps=-all,\$EVR_CAPS --ambient-caps=-all,\$EVR_CAPS --bounding-set=-all,\$EVR_CAPS \
    "$IEVRD" "\$@"' evrd "\$@"
SH
chmod 755 "$T/evrd-as-user"

NS=unpr-$E2E_ID
HIF=${E2E_ID}h
EVR=198.18.20.1
SUB=198.18.20.2
netns_add "$NS" || { fail "create namespace"; e2e_finish; }
veth_add "$HIF" "$NS" "${E2E_ID}p" "$SUB/24" || { fail "veth evrd <-> P"; e2e_finish; }
conf() { # FILE-PREFIX
	cat <<CONF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "$1"; vdevs = [ "net_af_packet0,iface=$HIF" ]; };
ports = ( { name = "p"; device = "net_af_packet0"; ipv4 = "$EVR/24"; } );
workers = { count = 1; idle_sleep_us = 50; };
listeners = ( { port = 8090; format = "plain"; } );
control = { socket = "$T/run/evrd.sock"; };
destinations = { unix_dir = "$T/run/notify"; };
heartbeat = { interval_s = 0; };
CONF
}

not_in() { ! grep -q "$1" "$2"; }
# each capability is needed: without it evrd does not come up
for drop in $CAPS; do
	rest=()
	for c in $CAPS; do [[ $c == "$drop" ]] || rest+=("$c"); done
	conf "evr-e2e-unpr-$$-${drop,,}" >"$T/drop.conf"
	EVR_CAPS=$(capset "${rest[@]}") timeout 20 "$T/evrd-as-user" -c "$T/drop.conf" --duration 2 \
		--store-path "$T/run/store-$drop" >"$T/drop-$drop.log" 2>&1
	rc=$?
	check "without $drop evrd refuses to start (rc=$rc)" test "$rc" -ne 0 -a "$rc" -ne 124
	# and the reason is the capability's (the PMD or the port), not the store
	check "without $drop: it says why" grep -qE "not permitted|mmap failed|socket|port '?p'?.*failed" "$T/drop-$drop.log"
	check "without $drop: not the store" not_in "store" "$T/drop-$drop.log"
done

conf "evr-e2e-unpr-$$" >"$T/evrd.conf"
EVRD=$T/evrd-as-user EVR_CAPS=$(capset $CAPS) evrd_start "$T/evrd.conf" "$T/run/evrd.sock" ||
	{ fail "evrd starts as $U with $CAPS"; e2e_finish; }
check_eq "evrd runs as $U" "$(ps -o user= -p "$EVRD_PID")" "$U"
# CAP_NET_ADMIN 12, CAP_NET_RAW 13, CAP_IPC_LOCK 14: effective = 0x7000, nothing more
check_eq "its effective capabilities are the unit's three" \
	"$(awk '/^CapEff/ {print $2}' "/proc/$EVRD_PID/status")" 0000000000007000
check_eq "its bounding set too" "$(awk '/^CapBnd/ {print $2}' "/proc/$EVRD_PID/status")" 0000000000007000
subscribe_all "$NS" "$SUB" "$T/recv.jsonl" 3 30 "9100|UNPRIV_TEST" || { fail "receiver in P"; e2e_finish; }
check "3 events from P" nsx "$NS" "$PY" "$E2E_PY" send --to "$EVR:8090" --bind "$SUB" --repeat 3 \
	--interval 0.01 --payload "$(printf 'Event-Name: UNPRIV_TEST\n\n')"
three() { [[ $(lines "$T/recv.jsonl") -ge 3 ]]; }
check "notified by the unprivileged evrd" wait_until 10 three
check "evrd alive" evrd_alive
evrd_stop 15
e2e_finish
