#!/usr/bin/env bash
# Installs the system packages f2bd's tests use, when they are missing:
# nftables, OpenSSH server and sshpass (the attacked service and the
# attacker), systemd-journal-remote (real journal files), libsystemd
# headers (the journal reader), fail2ban (the reference the tests compare
# against; it is installed, never started) and netcat.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }
have nft || need+=(nft)
have /usr/sbin/sshd || need+=(sshd)
have sshpass || need+=(sshpass)
have nc || need+=(nc)
have fail2ban-client || need+=(fail2ban)
{ have /lib/systemd/systemd-journal-remote || have /usr/lib/systemd/systemd-journal-remote; } || need+=(journal-remote)
[ -e /usr/include/systemd/sd-journal.h ] || need+=(libsystemd-headers)
/usr/bin/python3 -c "import systemd.journal" 2>/dev/null || need+=(python3-systemd)
have ip || need+=(ip)
have nsenter || need+=(nsenter)
have gcc || need+=(gcc)

[ ${#need[@]} -eq 0 ] && exit 0
echo "deps: missing: ${need[*]}"
if [ "$(id -u)" != 0 ]; then
	echo "deps: run as root (sudo make test) so that they can be installed" >&2
	exit 1
fi
if command -v apt-get >/dev/null; then
	export DEBIAN_FRONTEND=noninteractive
	# Install without starting services: fail2ban is only a reference.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	apt-get update -qq
	apt-get install -y -qq nftables openssh-server openssh-client sshpass systemd-journal-remote \
		libsystemd-dev python3-systemd fail2ban netcat-openbsd iproute2 util-linux gcc >/dev/null
elif command -v pacman >/dev/null; then
	# Arch: journal-remote and the headers come with systemd itself.
	pacman -Sy --needed --noconfirm nftables openssh sshpass systemd python-systemd fail2ban openbsd-netcat iproute2 util-linux gcc
else
	echo "deps: no apt-get or pacman: install ${need[*]} by hand" >&2
	exit 1
fi
