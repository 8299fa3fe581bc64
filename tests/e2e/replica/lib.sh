# SPDX-License-Identifier: GPL-2.0
# Shared by the replica scenario's guest jobs (sourced as /veil/lib.sh).
. /veil/tap.sh
step() { echo; echo "==> [$HOSTNAME_] $*"; }

# enrol HOST: veilctl setup with this host's certificate, then veild.
enrol() {
	HOSTNAME_=host-$1
	TAP_PREFIX="$HOSTNAME_: "
	step "enrol host $1 with the key manager (veilctl setup), start veild"
	veilctl setup --server 10.0.2.100:5696 --ca /pki/ca.pem \
		--cert "/pki/host$1.pem" --key "/pki/host$1-key.pem" --no-systemd
	ok $? "veilctl setup installs the CA, the host identity and veild.conf"
	# the scenario's scripts name mappings by kernel name (veil-vda)
	echo 'names = kernel' >/etc/veil/veiltab
	modprobe dm-veil
	veild >/tmp/veild.log 2>&1 &
	VEILD=$!
	i=0
	while [ $i -lt 50 ] && ! veilctl status --json | grep -q '"registered":true'; do
		usleep 100000; i=$((i + 1))
	done
	veilctl status | sed 's/^/    /'
}

# systemd-udevd with the device-mapper rules and veil's rule.
start_udev() {
	step "start systemd-udevd with 60-veil.rules (auto-attach)"
	ln -sf /usr/sbin/dmsetup /sbin/dmsetup
	ln -sf /veil/bin/veilctl /usr/sbin/veilctl
	unset DM_DISABLE_UDEV
	mkdir -p /run/udev /etc/udev/rules.d
	/lib/systemd/systemd-udevd --daemon
	udevadm trigger --action=add --subsystem-match=block
	udevadm settle --timeout=60
}

# wait_for PATH SECONDS
wait_for() {
	i=0
	while [ $i -lt $(($2 * 10)) ]; do
		[ -e "$1" ] && return 0
		usleep 100000; i=$((i + 1))
	done
	return 1
}

# wait_state NAME STATE SECONDS
wait_state() {
	i=0
	while [ $i -lt $(($3 * 10)) ]; do
		veilctl status "$1" --json 2>/dev/null | grep -q "\"state\":\"$2\"" && return 0
		usleep 100000; i=$((i + 1))
	done
	veilctl status "$1"
	return 1
}

# Print status --json between markers for the host to parse.
json() { # TAG NAME
	echo "VEIL-JSON-BEGIN $1"
	veilctl status "$2" --json 2>/dev/null
	echo "VEIL-JSON-END $1"
}

shutdown_all() {
	udevadm control --exit 2>/dev/null
	kill "$VEILD" 2>/dev/null
}
