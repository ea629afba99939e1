#!/bin/sh
# Installs the Debian packages tide's tests use, only when they are missing:
# nginx (front end and mirror), podman + runc (containers), gnupg (interop),
# busybox-static (tiny container images), python3 (hostile tarballs), curl,
# faketime (the service-free tests run again with the clock moved), debootstrap and
# systemd-container (the host lab: a Debian root booted with systemd-nspawn), prometheus +
# prometheus-node-exporter (the rollout controller reads the fleet's textfile metrics;
# promtool checks the alert rules), chromium (the status page, read headless),
# python3-fusepy (the power-loss layer, in the host lab and under a delta update), xfsprogs (delta staging on a filesystem
# with reflinks, in a loop-mounted image).
set -eu
missing=""
need() { command -v "$1" >/dev/null 2>&1 || [ -x "$2" ] || missing="$missing $3"; }
need nginx /usr/sbin/nginx nginx-light
need podman /usr/bin/podman podman
need runc /usr/sbin/runc runc
need gpg /usr/bin/gpg gnupg
need busybox /bin/busybox busybox-static
need python3 /usr/bin/python3 python3
need curl /usr/bin/curl curl
need systemd-analyze /usr/bin/systemd-analyze systemd
need faketime /usr/bin/faketime faketime
need debootstrap /usr/sbin/debootstrap debootstrap
need systemd-nspawn /usr/bin/systemd-nspawn systemd-container
need prometheus /usr/bin/prometheus prometheus
need prometheus-node-exporter /usr/bin/prometheus-node-exporter prometheus-node-exporter
need chromium /usr/bin/chromium chromium
need mkfs.xfs /usr/sbin/mkfs.xfs xfsprogs
# The host lab's power-loss layer (scripts/hostlab/lazyfs.py) is a FUSE fs in Debian's python3.
[ -f /usr/lib/python3/dist-packages/fusepy.py ] || missing="$missing python3-fusepy"
[ -z "$missing" ] && { echo "test dependencies: all present"; exit 0; }
echo "test dependencies: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing uidmap slirp4netns >/dev/null
