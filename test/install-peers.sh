#!/bin/sh
# Installs the real peers the test suite talks to, only those that are missing
# (Debian packages): OpenLDAP slapd and its tools, FreeRADIUS's radclient,
# Chromium for the end-to-end tests, openssl, docker-compose to validate
# docker-compose.yml offline, nftables and iptables to check the walled-garden
# firewall files that `enrollgate ports` writes, redis-server for the Redis store,
# redis-sentinel for its failover test, promtool (package prometheus) to lint
# what /metrics serves, and for 802.1X: eapol_test (package eapoltest) as an EAP
# client talking straight to RADIUS, hostapd (wired driver) as the NAS and
# wpa_supplicant as the device on a veth pair, with iproute2's ip for the
# namespace and the link, and xmllint (libxml2-utils) to validate the Windows WLAN
# profiles against Microsoft's schema, and nmcli (network-manager) to parse the Linux page's
# command lines offline (its daemon is not started), with xdg-user-dir (xdg-user-dirs) that
# they ask for the download folder. FreeRADIUS itself is not a test peer (only the EAP
# benchmark compares with it).
set -eu
missing=""
need() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || missing="$missing $2"; }
need slapd slapd
need ldapadd ldap-utils
need radclient freeradius-utils
need chromium chromium
need openssl openssl
need docker-compose docker-compose
need python3 python3
need nft nftables
need iptables-restore iptables
need ip6tables-restore iptables
need unshare util-linux
need script bsdutils
need redis-server redis-server
need redis-cli redis-tools
need redis-sentinel redis-sentinel
need promtool prometheus
need eapol_test eapoltest
need hostapd hostapd
need wpa_supplicant wpasupplicant
need ip iproute2
need xmllint libxml2-utils
need nmcli network-manager
need xdg-user-dir xdg-user-dirs
if [ -n "$missing" ]; then
  echo "installing test peers:$missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends $missing
  # Debian starts no services on install here, but stop any that came up: tests run their own slapd,
  # Redis and sentinels on free ports, only need promtool from the prometheus package, and start
  # hostapd and wpa_supplicant themselves on a veth pair of their own; NetworkManager must never
  # manage this machine's links (only nmcli --offline is used).
  for s in slapd redis-sentinel prometheus prometheus-node-exporter hostapd wpa_supplicant network-manager; do
    $SUDO sh -c "command -v service >/dev/null && service $s stop >/dev/null 2>&1 || true"
  done
fi
