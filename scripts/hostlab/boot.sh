#!/bin/sh
# Boot one host-lab machine in the foreground (scripts/hostlab/README in docs/host-lab.md):
#   scripts/hostlab/boot.sh MACHINE_DIR [extra systemd-nspawn arguments...]
# MACHINE_DIR/root is an overlay: the cached Debian root (build-root.sh) below,
# MACHINE_DIR/upper above, so every machine starts from the same root and writes
# only its own layer; booting the same MACHINE_DIR again (after a power cut or a
# poweroff) keeps what the machine wrote. systemd runs as PID 1 of the machine only,
# never of this host. The host's node is bound in at /usr/bin/node, the checkout
# read-only at /srv/checkout. The machine shares the host's network (loopback too).
set -eu
[ $# -ge 1 ] || { echo "usage: scripts/hostlab/boot.sh MACHINE_DIR [nspawn args...]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
checkout=$(cd "$here/../.." && pwd)
dir=$1; shift
lower=$(sh "$here/build-root.sh")
node=$(readlink -f "$(command -v node)")
mkdir -p "$dir/upper" "$dir/work" "$dir/root"
mountpoint -q "$dir/root" ||
  mount -t overlay overlay -o "lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/work" "$dir/root"
# A cgroup of this boot's own. With --keep-unit, nspawn gives the machine's systemd
# the cgroup boot.sh runs in; on a cgroup-v1 host that is often the root of the
# name=systemd hierarchy, shared by every machine booted alongside: two machines
# then create, attach to and remove the same /system.slice/<unit> directories, and
# a unit of one fails with 219/CGROUP when the other removes its cgroup. A killed
# machine's leftover (empty) cgroups of the same DIR are removed first.
cgroup=tide-lab/$(basename "$dir")
for hierarchy in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
  [ -f "$hierarchy/cgroup.procs" ] || continue
  [ -d "$hierarchy/$cgroup" ] && find "$hierarchy/$cgroup" -depth -mindepth 1 -type d -exec rmdir {} + 2>/dev/null || :
  boot_cgroup="$hierarchy/$cgroup/boot.$$"
  mkdir -p "$boot_cgroup" && echo $$ >"$boot_cgroup/cgroup.procs"
done
exec systemd-nspawn -D "$dir/root" --boot --register=no --keep-unit --quiet --console=passive \
  --bind-ro="$node:/usr/bin/node" --bind-ro="$checkout:/srv/checkout" "$@"
