#!/bin/sh
# Build (once) the host lab's Debian 12 root and print its path.
#   scripts/hostlab/build-root.sh            -> /var/cache/tide-hostlab/<key>/root
# The root is cached outside the checkout, keyed by a hash of what goes into it
# (suite, variant, package list, this script), so a second call prints the path at
# once and a change to the list builds a new one. A fresh machine builds it in
# about a minute from the Debian mirror apt already uses. The build writes into a
# temp dir and renames it into place, so an interrupted build leaves no half root.
# Environment: TIDE_HOSTLAB_CACHE (default /var/cache/tide-hostlab),
#   TIDE_HOSTLAB_MIRROR (default: the first deb.debian.org-style URI in apt's sources).
set -eu
suite=bookworm
# podman for the container scenarios (test/hostlab/containers.test.ts), with crun (runc
# cannot run a container without cgroups, docs/containers.md) and netavark named:
# debootstrap does not resolve podman's virtual dependency container-network-stack.
packages=systemd,systemd-sysv,dbus,nginx-light,podman,netavark,crun
cache=${TIDE_HOSTLAB_CACHE:-/var/cache/tide-hostlab}
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "build-root.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (debootstrap and systemd-nspawn need it)"
command -v debootstrap >/dev/null || die "debootstrap is missing (sh scripts/install-test-deps.sh)"

key=$( { echo "$suite minbase $packages"; cat "$here/build-root.sh"; } | sha256sum | cut -c1-16)
root="$cache/$key/root"
if [ -f "$root/.tide-hostlab-complete" ]; then echo "$root"; exit 0; fi

mirror=${TIDE_HOSTLAB_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
  [ -n "$mirror" ] || mirror=$(sed -n 's/^deb \(http[^ ]*\/debian\) .*/\1/p' /etc/apt/sources.list 2>/dev/null | head -n 1)
  [ -n "$mirror" ] || die "no Debian mirror found in apt's sources (set TIDE_HOSTLAB_MIRROR)"
fi

mkdir -p "$cache/$key"
# One build at a time: a second caller waits, then finds the finished root.
exec 9>"$cache/$key/lock"
flock 9
if [ -f "$root/.tide-hostlab-complete" ]; then echo "$root"; exit 0; fi
tmp="$cache/$key/root.building.$$"
rm -rf "$cache/$key"/root.building.*
echo "build-root.sh: debootstrap $suite into $tmp (about a minute)" >&2
debootstrap --variant=minbase --include="$packages" "$suite" "$tmp" "$mirror" >"$cache/$key/debootstrap.log" 2>&1 ||
  die "debootstrap failed; see $cache/$key/debootstrap.log"

# What every lab machine shares: an empty machine-id (a new one each boot), no
# login prompt on the console, no default nginx site (scenarios write their own,
# on their own ports: the lab shares the host's loopback), apt caches dropped.
# podman stores images as plain directories (vfs): a machine's / is an overlayfs,
# on which podman's overlay driver cannot stack (podman-restart.service would fail
# every boot). What else podman needs here is the scenario's (docs/containers.md).
: >"$tmp/etc/machine-id"
rm -f "$tmp/etc/nginx/sites-enabled/default"
printf '[storage]\ndriver = "vfs"\nrunroot = "/run/containers/storage"\ngraphroot = "/var/lib/containers/storage"\n' >"$tmp/etc/containers/storage.conf"
for unit in console-getty.service getty@.service systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer podman-auto-update.timer; do
  ln -sf /dev/null "$tmp/etc/systemd/system/$unit"
done
mkdir -p "$tmp/usr/local/bin" "$tmp/srv/checkout"
touch "$tmp/usr/bin/node"
rm -rf "$tmp/var/cache/apt/archives"/*.deb "$tmp/var/lib/apt/lists"/*
touch "$tmp/.tide-hostlab-complete"
mv "$tmp" "$root"
echo "$root"
