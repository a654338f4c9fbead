#!/usr/bin/env bash
# Install the Debian 12 packages listed in deploy/packages.txt.
#
# Idempotent and cheap when nothing is missing: run-tests.sh calls it on every
# run, so the common case must not touch the network (no apt-get update).
# Runs as root (CI) or through sudo (a developer's machine).
#
# Usage: deploy/install-deps.sh [packages-file]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
list=${1:-$here/packages.txt}

mapfile -t pkgs < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$list")
if ((${#pkgs[@]} == 0)); then
	echo "install-deps: no packages listed in $list" >&2
	exit 1
fi

missing=()
for p in "${pkgs[@]}"; do
	# db:Status-Status is "installed" only for a fully configured package;
	# half-installed or config-files-only ones are reinstalled.
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[[ $st == installed ]] || missing+=("$p")
done
# The ESL tests drive evrd with modesl (npm): Node.js and npm from Debian,
# unless the machine already has a node (a newer one is kept).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	missing+=(nodejs npm)
fi

if ((${#missing[@]} == 0)); then
	echo "install-deps: all ${#pkgs[@]} packages already installed"
	exit 0
fi
echo "install-deps: installing ${#missing[@]} missing package(s): ${missing[*]}"

if [[ $(id -u) -eq 0 ]]; then
	asroot=()
elif command -v sudo >/dev/null 2>&1; then
	asroot=(sudo)
else
	echo "install-deps: not root and sudo not found; install: ${missing[*]}" >&2
	exit 1
fi

# `env` carries DEBIAN_FRONTEND through sudo's env_reset. Noninteractive so
# debconf questions (tshark's wireshark-common/install-setuid) take their
# defaults instead of blocking a CI run that has no stdin; keep existing
# conffiles; wait for a concurrent apt/dpkg instead of failing on its lock.
apt=("${asroot[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q
	-o DPkg::Lock::Timeout=600
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# One update only: the lists may be absent (fresh image) or stale.
"${apt[@]}" update
"${apt[@]}" install -y --no-install-recommends "${missing[@]}" </dev/null

# Verify, so a package apt silently skipped fails here and not in a build.
still=()
for p in "${missing[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[[ $st == installed ]] || still+=("$p")
done
if ((${#still[@]})); then
	echo "install-deps: still not installed: ${still[*]}" >&2
	exit 1
fi
echo "install-deps: done"
