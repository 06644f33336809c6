#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Install the Debian packages meridian needs. Idempotent, and silent when
# everything is already there.
set -eu

PKGS="make gcc clang llvm libc6-dev linux-libc-dev pkg-config
libbpf-dev libxdp-dev bpftool libelf-dev zlib1g-dev
libcmocka-dev libyaml-dev libmicrohttpd-dev libsystemd-dev
iproute2 ethtool iputils-ping procps prometheus curl python3"

missing=""
for p in $PKGS; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing; run 'make deps' as root" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
