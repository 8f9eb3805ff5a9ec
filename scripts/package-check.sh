#!/usr/bin/env bash
# Builds the Debian package with cargo-deb, lists it (`dpkg-deb -c`) and checks that every path the
# README promises is in it; as root, also installs, upgrades and purges it inside a private mount
# namespace (overlays on /etc, /usr, /var: the host's own files are never touched).
#
#   scripts/package-check.sh            # the release package, as shipped
#   scripts/package-check.sh --fast     # from the dev build `cargo test` already made (CI)
set -euo pipefail
cd "$(dirname "$0")/.."

profile=()
out=target/debian
if [ "${1:-}" = --fast ]; then
  profile=(--profile dev)
  out=target/debian-check
fi
command -v cargo-deb >/dev/null || cargo install --locked cargo-deb
rm -rf "$out"
cargo deb "${profile[@]}" -o "$out/" >/dev/null
deb=$(ls "$out"/failoverctl_*.deb)
echo "== dpkg-deb -c $deb"
list=$(dpkg-deb -c "$deb")
echo "$list"

fail=0
for path in \
  ./usr/sbin/failoverctl \
  ./usr/lib/systemd/system/failoverctl.service \
  ./usr/lib/tmpfiles.d/failoverctl.conf \
  ./etc/failoverctl/failover.ini.example \
  ./usr/share/man/man5/failover.ini.5.gz \
  ./usr/share/man/man1/failoverctl.1.gz \
  ./usr/share/bash-completion/completions/failoverctl \
  ./usr/share/zsh/vendor-completions/_failoverctl \
  ./usr/share/fish/vendor_completions.d/failoverctl.fish; do
  grep -q " $path\$" <<<"$list" || { echo "MISSING: $path"; fail=1; }
done
# One man page per visible subcommand.
for page in man/failoverctl-*.1; do
  path="./usr/share/man/man1/$(basename "$page").gz"
  grep -q " $path\$" <<<"$list" || { echo "MISSING: $path"; fail=1; }
done
# No configuration is enabled by default: only the example is shipped.
if grep -q " ./etc/failoverctl/failover.ini\$" <<<"$list"; then
  echo "the package must not ship an active failover.ini"; fail=1
fi
conffiles=$(dpkg-deb -I "$deb" conffiles)
[ "$conffiles" = /etc/failoverctl/failover.ini.example ] || {
  echo "conffiles: $conffiles"; fail=1; }
grep -q "ExecStart=/usr/sbin/failoverctl run" <<<"$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/lib/systemd/system/failoverctl.service)" \
  || { echo "the unit does not run /usr/sbin/failoverctl"; fail=1; }
[ $fail = 0 ] || exit 1
echo "== contents as expected"

if [ "$(id -u)" != 0 ]; then
  echo "== install check skipped: needs root"
  exit 0
fi
scratch=$(mktemp -d)
trap 'rmdir "$scratch"' EXIT
unshare --mount --propagation private bash -euo pipefail -s "$deb" "$scratch" <<'INNER'
deb=$(realpath "$1")
t=$2
# Upper layers on a tmpfs: overlayfs refuses an upper directory on another overlay (containers).
mount -t tmpfs tmpfs "$t"
for d in etc var usr; do
  mkdir -p "$t/$d-up" "$t/$d-work"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$t/$d-up,workdir=$t/$d-work" "/$d"
done
# No systemd to reload from here.
mount -t tmpfs tmpfs /run
dpkg -i "$deb" >/dev/null
[ "$(stat -c '%a %U' /etc/failoverctl/peer.key)" = "600 root" ] || { echo "peer.key not 0600 root"; exit 1; }
[ -d /var/lib/failoverctl ] || { echo "no /var/lib/failoverctl"; exit 1; }
/usr/sbin/failoverctl validate --strict -c /etc/failoverctl/failover.ini.example >/dev/null 2>&1 \
  || { echo "the installed example does not validate with the generated key"; exit 1; }
key=$(cat /etc/failoverctl/peer.key)
dpkg -i "$deb" >/dev/null
[ "$key" = "$(cat /etc/failoverctl/peer.key)" ] || { echo "reinstall replaced the key"; exit 1; }
if command -v man >/dev/null; then
  man -w failover.ini >/dev/null && man -w failoverctl-run >/dev/null
fi
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /usr/lib/systemd/system/failoverctl.service
fi
dpkg --purge failoverctl >/dev/null
[ ! -e /etc/failoverctl ] && [ ! -e /var/lib/failoverctl ] || { echo "purge left files"; exit 1; }
echo "== installed, reinstalled and purged in a private mount namespace: ok"
INNER
