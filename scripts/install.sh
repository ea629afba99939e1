#!/bin/sh
# Install tide on a host from a checkout, offline and idempotently:
#   <prefix>/lib/tide            the built package with its production dependencies and docs/
#   <prefix>/bin/tide            a wrapper that runs it with this host's node
#   /etc/systemd/system/         tide-update.service, tide-update.timer, tide-verify.service,
#                                tide-probation.service, tide-reconcile.service, tide-reconcile.timer
#                                and drop-ins derived from the config (ReadWritePaths, app ordering)
#   /etc/tide/tide.toml          the example config, only when there is none yet
#   /etc/tide/keys, /var/lib/tide
# Running it again changes nothing unless the checkout or the config changed; an
# operator's /etc/tide/tide.toml is never overwritten. DESTDIR=/some/root installs
# into that root (image builds, tests) and never calls systemctl.
set -eu
umask 022

usage() {
  cat <<'USAGE'
usage: scripts/install.sh [--prefix DIR] [--app-unit UNIT] [--config FILE] [--no-enable]
  --prefix DIR      where lib/tide and bin/tide go (default /usr/local)
  --app-unit UNIT   the app's systemd unit; tide-verify.service is ordered after it
                    (default: the config's [service] unit or `systemctl restart UNIT`)
  --config FILE     the config installed when /etc/tide/tide.toml is absent
                    (default systemd/tide.toml.example)
  --no-enable       do not run systemctl even when systemd is running
environment: DESTDIR (install under this root; systemctl is never run), NODE (node binary)
USAGE
}

checkout=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr/local
app_unit=
example="$checkout/systemd/tide.toml.example"
enable=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --app-unit) app_unit=${2:?--app-unit needs a unit name}; shift 2 ;;
    --config) example=${2:?--config needs a file}; shift 2 ;;
    --no-enable) enable=no; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "$*"; }
warn() { echo "install.sh: warning: $*" >&2; }

case "$prefix" in /*) ;; *) die "--prefix must be absolute, got $prefix" ;; esac
prefix=${prefix%/}
destdir=${DESTDIR:-}
destdir=${destdir%/}
node=${NODE:-$(command -v node || true)}
case "$node" in /*) ;; *) die "node not found (set NODE=/path/to/node)" ;; esac
case "$node" in /home/*|/root/*) warn "$node is hidden from the units by ProtectHome=; install node under /usr" ;; esac
[ -n "$destdir" ] || [ "$(id -u)" = 0 ] || die "run as root, or set DESTDIR to install into another root"
[ -f "$example" ] || die "no config to install: $example"
# The script package.json names as the tide command (dist/src/cli/bin.js).
entry=$("$node" -p 'require(process.argv[1]).bin.tide' "$checkout/package.json")
# How to run it, from the entry's own "#!/usr/bin/env -S [NAME=VALUE...] node [flags]"
# line: the environment it sets, and node's flags.
launch=$(sed -n '1s|^#!/usr/bin/env -S ||p' "$checkout/$entry")
node_env=$(echo "$launch" | sed -n 's|^\(\([A-Z_][A-Z0-9_]*=[^ ]* \)*\)node.*|\1|p')
node_flags=$(echo "$launch" | sed -n 's|^\([A-Z_][A-Z0-9_]*=[^ ]* \)*node *||p')

# unit_name NAME: NAME as a unit name (".service" when it has no suffix), or die.
unit_name() {
  case "$1" in *.*) _unit=$1 ;; *) _unit="$1.service" ;; esac
  echo "$_unit" | grep -Eq '^[A-Za-z0-9:_.@-]+$' || die "not a unit name: $1"
  echo "$_unit"
}
[ -z "$app_unit" ] || app_unit=$(unit_name "$app_unit")

lib="$destdir$prefix/lib/tide"
bin="$destdir$prefix/bin"
units="$destdir/etc/systemd/system"
etc="$destdir/etc/tide"
config="$etc/tide.toml"
work=$(mktemp -d)
# On any exit: drop the temp files and a half-built package; if the swap of the
# package was interrupted between its two renames, put the old one back.
cleanup() {
  rm -rf "$work" "$lib.tide-new.$$"
  [ ! -e "$lib.tide-old.$$" ] || [ -e "$lib" ] || mv "$lib.tide-old.$$" "$lib"
  rm -rf "$lib.tide-old.$$"
}
trap cleanup EXIT

# put SOURCE DEST MODE: write DEST only when its content or mode differs, by rename.
put() {
  _src=$1 _dest=$2 _mode=$3
  if [ -f "$_dest" ] && [ ! -L "$_dest" ] && cmp -s "$_src" "$_dest" && [ "$(stat -c %a "$_dest")" = "${_mode#0}" ]; then
    say "unchanged $_dest"
    return
  fi
  install -m "$_mode" "$_src" "$_dest.tide-new.$$"
  mv -f "$_dest.tide-new.$$" "$_dest"
  say "installed $_dest"
}

# ensure_dir DIR MODE: create it; an existing one keeps its mode unless others may write it.
ensure_dir() {
  if [ ! -d "$1" ]; then
    install -d -m "$2" "$1"
    say "created $1"
  elif [ -n "$(find "$1" -maxdepth 0 -perm /022)" ]; then
    # A writable keys or state dir would let anyone plant a trusted key or a version.
    chmod go-w "$1"
    say "fixed mode of $1 (was writable by group or others)"
  fi
}

# --- the package: dist/src, package.json and the production dependencies ---
# Print node_modules/NAME for every top-level package the production dependencies
# need, walking package.json files the way Node resolves them (nested first, then
# each parent's node_modules); exit 1 naming the first one missing.
production_deps() {
  "$node" -e '
    const { existsSync, readFileSync } = require("node:fs");
    const { dirname, join, relative } = require("node:path");
    const root = process.argv[1];
    const manifest = (dir) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const resolve = (from, name) => {
      for (let dir = from; ; dir = dirname(dir)) {
        const candidate = join(dir, "node_modules", name);
        if (existsSync(join(candidate, "package.json"))) return candidate;
        if (dir === root || dir === dirname(dir)) return null;
      }
    };
    const seen = new Set();
    const visit = (dir, optional) => {
      const pkg = manifest(dir);
      const wanted = [...Object.keys(pkg.dependencies ?? {}).map((n) => [n, false]), ...Object.keys(pkg.optionalDependencies ?? {}).map((n) => [n, true])];
      for (const [name, wantsOptional] of wanted) {
        const found = resolve(dir, name);
        if (!found) {
          if (wantsOptional || optional) continue;
          console.error(name + " (needed by " + (pkg.name ?? dir) + ")");
          process.exit(1);
        }
        if (seen.has(found)) continue;
        seen.add(found);
        visit(found, wantsOptional);
      }
    };
    visit(root, false);
    const top = [...seen].map((dir) => relative(root, dir)).filter((rel) => /^node_modules\/(@[^/]+\/)?[^/@][^/]*$/.test(rel));
    console.log(top.sort().join("\n"));
  ' "$checkout"
}

install_package() {
  if [ ! -d "$checkout/dist/src" ]; then
    command -v npx >/dev/null || die "$checkout/dist/src is missing: build it where npm is (npm ci), then run install.sh"
    say "building $checkout (dist/src is missing)"
    (cd "$checkout" && npx --no-install tsc -p tsconfig.json) || true
    [ -d "$checkout/dist/src" ] || die "the build produced no dist/src"
  fi
  [ -f "$checkout/$entry" ] || warn "$checkout/$entry is not built: the tide command will not run until it is"
  stage="$lib.tide-new.$$"
  mkdir -p "$stage" "$(dirname "$lib")"
  # The production dependencies, found with node alone (a host may have no npm):
  # top-level packages only, a nested node_modules comes along with its parent.
  production_deps >"$work/parts" ||
    die "production dependencies are missing in $checkout/node_modules (run npm ci in the checkout)"
  printf '%s\n' package.json dist/src systemd >>"$work/parts"
  # The manual, where the units' Documentation= lines point.
  [ ! -f "$checkout/README.md" ] || echo README.md >>"$work/parts"
  [ ! -d "$checkout/docs" ] || echo docs >>"$work/parts"
  tar -cf "$work/package.tar" -C "$checkout" -T "$work/parts"
  tar -xf "$work/package.tar" -C "$stage"
  chmod -R u+rwX,go+rX,go-w "$stage"
  [ "$(id -u)" != 0 ] || chown -R 0:0 "$stage"
  if [ -d "$lib" ] && diff -r -q "$lib" "$stage" >/dev/null 2>&1; then
    rm -rf "$stage"
    say "unchanged $lib"
    return
  fi
  [ ! -e "$lib" ] || mv "$lib" "$lib.tide-old.$$"
  mv "$stage" "$lib"
  rm -rf "$lib.tide-old.$$"
  say "installed $lib"
}

install_wrapper() {
  mkdir -p "$bin"
  version=$("$node" -p 'require(process.argv[1]).version' "$checkout/package.json")
  cat >"$work/tide" <<WRAPPER
#!/bin/sh
# tide $version, installed by scripts/install.sh
exec env ${node_env}'$node' $node_flags '$prefix/lib/tide/$entry' "\$@"
WRAPPER
  put "$work/tide" "$bin/tide" 0755
}

install_units() {
  mkdir -p "$units"
  for unit in tide-update.service tide-update.timer tide-verify.service tide-probation.service tide-reconcile.service tide-reconcile.timer; do
    sed -e "s|/usr/local/bin/tide|$prefix/bin/tide|g" -e "s|/usr/local/lib/tide|$prefix/lib/tide|g" \
      "$checkout/systemd/$unit" >"$work/$unit"
    put "$work/$unit" "$units/$unit" 0644
  done
}

install_config() {
  ensure_dir "$etc" 0755
  ensure_dir "$etc/keys" 0755
  ensure_dir "$destdir/var/lib/tide" 0755
  if [ -e "$config" ]; then
    say "kept $config (an existing config is never overwritten)"
  else
    put "$example" "$config" 0644
  fi
}

# The config's paths and app unit, read with the installed tide's own loader:
# lines "rw <dir>" and "unit <name>", or a warning when the config does not load.
read_config() {
  "$node" --input-type=module -e '
    const [lib, path] = process.argv.slice(1);
    const { loadConfig, restartArgv } = await import(lib + "/dist/src/config/load-config.js");
    const { dirname } = await import("node:path");
    let config;
    try { config = loadConfig(path); } catch (err) { console.error(err.message); process.exit(3); }
    const dirs = [config.state_dir, ...config.link.map((l) => dirname(l.path))];
    if (config.metrics.textfile) dirs.push(dirname(config.metrics.textfile));
    for (const dir of new Set(dirs)) console.log("rw " + dir);
    const argv = restartArgv(config) ?? [];
    const unit = config.service.unit ?? (argv[0] === "systemctl" && argv[1] === "restart" ? argv[2] : undefined);
    if (unit) console.log("unit " + unit);
    console.log("containers " + config.container.length);
  ' "$lib" "$config"
}

install_dropins() {
  if ! facts=$(read_config 2>"$work/config-error"); then
    warn "$config does not load ($(cat "$work/config-error")); the drop-ins list only /var/lib/tide"
    facts=
  fi
  {
    echo "# Written by scripts/install.sh from /etc/tide/tide.toml. ProtectSystem=strict: tide may"
    echo "# write only /var/lib/tide and these (state_dir, [[link]] directories, [metrics] textfile"
    echo "# directory). Re-run scripts/install.sh after changing them in the config: until then"
    echo "# check-writable.mjs stops the unit before tide starts, naming the directory."
    echo "[Service]"
    echo "ExecStartPre=$node $prefix/lib/tide/systemd/check-writable.mjs"
    echo "$facts" | sed -n 's/^rw //p' | while read -r dir; do
      case "$dir" in
        *[[:space:]]*) warn "skipped $dir: systemd paths with spaces are not supported here" ;;
        /home/*|/root/*|/run/user/*) warn "$dir is hidden by ProtectHome=; tide cannot write it" ;;
        /tmp/*|/var/tmp/*) warn "$dir is private to the unit (PrivateTmp=); tide cannot write it" ;;
        *)
          # A directory that does not exist yet cannot be made writable (systemd skips it),
          # and the sandbox would keep tide from creating it: create it here.
          [ -d "$destdir$dir" ] || { mkdir -p "$destdir$dir" && say "created $destdir$dir" >&2; }
          echo "ReadWritePaths=-$dir" ;;
      esac
    done
  } >"$work/paths.conf"
  for service in tide-update.service tide-verify.service tide-probation.service tide-reconcile.service; do
    mkdir -p "$units/$service.d"
    put "$work/paths.conf" "$units/$service.d/paths.conf" 0644
  done
  containers=$(echo "$facts" | sed -n 's/^containers //p' | head -n 1)
  case "$containers" in ''|*[!0-9]*) containers=0 ;; esac
  [ -n "$app_unit" ] || app_unit=$(echo "$facts" | sed -n 's/^unit //p' | head -n 1)
  install_app_dropin
}

# tide-verify runs after the app's unit: Wants/After, never Requires (a broken
# release must not stop the unit that rolls it back). tide-update is ordered
# After= it too (no Wants=: an update does not start the app): at shutdown systemd
# stops units in reverse order, so tide stops before the app it is probing.
install_app_dropin() {
  if [ -z "$app_unit" ]; then
    for service in tide-update.service tide-verify.service; do
      dropin="$units/$service.d/app.conf"
      if [ -f "$dropin" ]; then say "kept $dropin"; else warn "no app unit known (--app-unit): $service is ordered after nginx only"; fi
    done
    return
  fi
  app_unit=$(unit_name "$app_unit")
  printf '%s\n' "# Written by scripts/install.sh: verify after the app starts; Wants/After, never Requires." \
    "[Unit]" "Wants=$app_unit" "After=$app_unit" >"$work/app.conf"
  put "$work/app.conf" "$units/tide-verify.service.d/app.conf" 0644
  printf '%s\n' "# Written by scripts/install.sh: stopped before the app at shutdown (After=, no Wants=)." \
    "[Unit]" "After=$app_unit" >"$work/update-app.conf"
  put "$work/update-app.conf" "$units/tide-update.service.d/app.conf" 0644
  mkdir -p "$units/tide-probation.service.d"
  put "$work/update-app.conf" "$units/tide-probation.service.d/app.conf" 0644
}

enable_units() {
  if [ -z "$destdir" ] && [ "$enable" = yes ] && [ -d /run/systemd/system ]; then
    # tide-verify.service is enabled for the next boot, never started here: started
    # now it would settle whatever is pending under the operator's feet.
    systemctl daemon-reload
    systemctl enable tide-verify.service
    systemctl enable --now tide-update.timer
    say "enabled tide-verify.service (runs at boot) and started tide-update.timer"
    # The reconciler only has work when the config runs containers.
    if [ "${containers:-0}" -gt 0 ]; then
      systemctl enable --now tide-reconcile.timer
      say "started tide-reconcile.timer (the config has ${containers} container(s))"
    fi
  else
    say "systemd not running here (or DESTDIR/--no-enable given); on the host run:"
    say "  systemctl daemon-reload"
    say "  systemctl enable tide-verify.service"
    say "  systemctl enable --now tide-update.timer"
    if [ "${containers:-0}" -gt 0 ]; then say "  systemctl enable --now tide-reconcile.timer"; fi
  fi
}

install_package
install_wrapper
install_units
install_config
install_dropins
enable_units
say "next: put the release public keys into /etc/tide/keys and edit /etc/tide/tide.toml"
