#!/usr/bin/env bash
# Installs the .deb in a fresh Debian 12 (bookworm) minbase chroot, so that apt resolves the
# package's Depends and nothing of the build machine (Rust, Python, the libtorch venv, other
# libraries) is there; then runs valence --version, status, a scan and an analysis through the
# engine, and opens the window under Xvfb from the desktop file's Exec. Needs root, network
# access to deb.debian.org and ~1 GB in /tmp; takes a few minutes (debootstrap ~1 min).
#   packaging/deb/test-clean-debian.sh [path/to/valence_*.deb]
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DEB="${1:-$(ls -t "$ROOT"/target/deb/valence_*.deb 2>/dev/null | head -n 1)}"
[ -f "$DEB" ] || { echo "test-clean-debian: no .deb (run packaging/deb/build.sh first)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "test-clean-debian: needs root (debootstrap, chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "test-clean-debian: apt-get install debootstrap" >&2; exit 1; }
command -v sox >/dev/null || { echo "test-clean-debian: apt-get install sox (writes the test WAV)" >&2; exit 1; }

C="$(mktemp -d /tmp/valence-chroot.XXXXXX)"
cleanup() {
  umount "$C/proc" "$C/dev" 2>/dev/null || true
  rm -rf "$C"
}
trap cleanup EXIT

echo "== debootstrap bookworm (minbase) into $C"
debootstrap --variant=minbase bookworm "$C" http://deb.debian.org/debian > "$C.log" 2>&1 \
  || { tail -n 20 "$C.log"; exit 1; }
rm -f "$C.log"
cp /etc/resolv.conf "$C/etc/resolv.conf"
mount -t proc proc "$C/proc"
mount --bind /dev "$C/dev"
cp "$DEB" "$C/tmp/valence.deb"
mkdir -p "$C/tmp/music"
sox -n -r 44100 -c 2 "$C/tmp/music/tone.wav" synth 10 sine 220:880

in_chroot() { chroot "$C" env -i HOME=/tmp/home PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive bash -euo pipefail -c "$1"; }

echo "== apt-get install ./valence.deb (Depends only) and the Xvfb tools"
in_chroot 'apt-get update -qq
  apt-get install -y -qq --no-install-recommends /tmp/valence.deb xvfb xauth xdotool x11-utils >/dev/null
  echo "$(dpkg -l | grep -c ^ii) packages installed"
  if dpkg -l | grep -E "^ii +(python3?|rustc|cargo)[ :]"; then echo "FAIL: python or rust present"; exit 1; fi
  echo "no python, rustc or cargo"'

echo "== the command line, PATH=/usr/bin:/bin"
in_chroot 'export PATH=/usr/bin:/bin; mkdir -p "$HOME"
  valence --version
  valence scan /tmp/music
  valence analyze --jobs 1 2>&1 | sed -n 1p
  valence status | grep -E "^(tracks|analysed|compute)"
  valence status | grep -Eq "^analysed: +1 \(pending 0, failed 0" || { echo "FAIL: not analysed"; exit 1; }
  for b in /usr/lib/valence/valence /usr/lib/valence/valence-engine; do
    if ldd "$b" | grep "not found"; then echo "FAIL: $b"; exit 1; fi
  done
  echo "ldd: nothing not found"'

echo "== the window from the desktop file's Exec, under Xvfb"
in_chroot 'export PATH=/usr/bin:/bin
  xvfb-run -a -s "-screen 0 1280x800x24" bash -c "
    \$(sed -n \"s/^Exec=//p\" /usr/share/applications/*.desktop | sed \"s/ *%[fFuU]//\") > /tmp/window.log 2>&1 &
    for i in \$(seq 40); do
      w=\$(xdotool search --class io.github.valence_music.Valence 2>/dev/null | head -n 1)
      [ -n \"\$w\" ] && break; sleep 0.5
    done
    [ -n \"\$w\" ] || { echo FAIL: no window; cat /tmp/window.log; exit 1; }
    sleep 3; xprop -id \$w WM_CLASS; kill %1"'

echo "== dpkg -r"
in_chroot 'dpkg -r valence >/dev/null
  for d in /usr/lib/valence /usr/share/valence /usr/bin/valence; do [ ! -e "$d" ] || { echo "FAIL: $d left"; exit 1; }; done
  echo "removed, nothing left"'
printf '\nCLEAN DEBIAN 12 CHECKS PASSED\n'
