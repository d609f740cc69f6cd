#!/usr/bin/env bash
# Unpacks QEMU 10 from Debian's bookworm-backports under $1 (make setup:
# target/qemu10) beside the system's QEMU 7.2, without changing the machine's
# apt setup: apt reads a private copy of the machine's own Debian source (same
# mirror, same keyring) with the suite changed, into private lists and cache.
# QEMU 7.2's TCG offers no x2APIC and few vCPUs; 10 offers both.
# Idempotent: an unpacked tree that starts is left alone.
set -euo pipefail
out=$(realpath -m "$1")
if [ -x "$out/usr/bin/qemu-system-x86_64" ] &&
   QEMU_MODULE_DIR="$out/usr/lib/x86_64-linux-gnu/qemu" "$out/usr/bin/qemu-system-x86_64" --version >/dev/null 2>&1; then
  exit 0
fi
echo "setup: unpacking QEMU 10 from bookworm-backports into $out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs" "$work/parts"
# The machine's own Debian mirror and keyring: the deb822 stanza (or the
# one-line entry) that carries the release suite, with the suite replaced.
src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ]; then
  awk 'BEGIN { RS = ""; ORS = "\n" }
       /(^|\n)Suites:[^\n]*bookworm([ \n]|$)/ { print; exit }' "$src" |
    sed 's/^Suites:.*/Suites: bookworm-backports/' > "$work/parts/bpo.sources"
else
  grep -E '^deb +(\[[^]]*\] +)?[^ ]+ +bookworm +' /etc/apt/sources.list | head -1 |
    sed -E 's/ bookworm / bookworm-backports /' > "$work/parts/bpo.list"
fi
[ -s "$work/parts/"bpo.* ] || { echo "qemu10: no bookworm source found in the apt setup" >&2; exit 1; }
apt_opts=(-o "APT::Sandbox::User=$(id -un)" -o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$work/parts"
          -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Debug::NoLocking=1)
apt-get "${apt_opts[@]}" -qq update
cd "$work/debs"
apt-get "${apt_opts[@]}" -qq download -t bookworm-backports \
  qemu-system-x86 qemu-system-common qemu-system-data qemu-system-gui \
  qemu-system-modules-opengl qemu-system-modules-spice
rm -rf "$out.partial" && mkdir -p "$out.partial"
for d in ./*.deb; do dpkg-deb -x "$d" "$out.partial"; done
rm -rf "$out" && mv "$out.partial" "$out"
# Its libraries come from Debian 12 itself (QEMU 7.2's dependencies).
missing=$(ldd "$out/usr/bin/qemu-system-x86_64" | awk '/not found/ { print $1 }')
if [ -n "$missing" ]; then
  echo "qemu10: libraries missing on this machine: $missing (install qemu-system-x86 first: make setup)" >&2
  exit 1
fi
QEMU_MODULE_DIR="$out/usr/lib/x86_64-linux-gnu/qemu" "$out/usr/bin/qemu-system-x86_64" --version | head -1
