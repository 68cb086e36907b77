#!/bin/sh
# Debian packages metagenx needs outside Python, installed only when missing.
#   bubblewrap: the `bwrap` sandbox every fit of a shared server runs in (docs/security.md).
#   chromium: the headless browser of the dashboard's tests (tests/web/, driven by Playwright);
#             installed only with the argument `test`.
#   slurm-wlm, munge: the one-node Slurm of the batch-system tests (tests/slurm/): the tests start
#             their own munged/slurmctld/slurmd as root (own config, ports and MUNGE socket), whatever
#             services the packages set up; only with `test`.
#   iproute2: `ip netns`/veth, the separate "hosts" of tests/slurm/test_hosts.py; only with `test`.
# Idempotent: does nothing when everything is present; does nothing (with a note) when not root.
set -eu

PACKAGES="bubblewrap"
if [ "${1:-}" = "test" ]; then
    PACKAGES="$PACKAGES chromium slurm-wlm munge iproute2"
fi

missing=""
for package in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "note: system packages missing:$missing (run as root: apt-get install$missing)" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "note: no apt-get here; install$missing with your system's package manager" >&2
    exit 0
fi
echo "installing system packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086  # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $missing
