#!/usr/bin/env bash
# Installs the .deb that packaging/deb/build.sh made, checks it works as it would on a machine
# with neither Rust nor Python nor the build tree, and removes it again. Needs root (dpkg -i),
# util-linux's unshare, and for the window check xvfb (xvfb-run), x11-utils and imagemagick.
#   packaging/deb/test.sh [path/to/valence_*.deb] [--screenshot OUT.png]
#
# The checks run in a private mount namespace in which the build tree (its path is compiled in
# as the last place to look for assets), root's home (cargo, rustup, the libtorch venv) and the
# python3 executables are hidden, with PATH=/usr/bin:/bin, an empty environment and a throwaway
# HOME/XDG dirs.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DEB="" SHOT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --screenshot) SHOT="$(realpath -m "$2")"; shift 2 ;;
    *) DEB="$(realpath "$1")"; shift ;;
  esac
done
if [ -z "$DEB" ]; then
  DEB="$(ls -t "$ROOT"/target/deb/valence_*.deb 2>/dev/null | head -n 1)"
fi
[ -f "$DEB" ] || { echo "test: no .deb (run packaging/deb/build.sh first)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "test: needs root for dpkg -i" >&2; exit 1; }

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; exit 1; }

if dpkg-query -W -f='${Status}' valence 2>/dev/null | grep -q "ok installed"; then
  fail "valence is already installed: dpkg -r valence first"
fi

WORK="$(mktemp -d /tmp/valence-debtest.XXXXXX)"
cleanup() { dpkg -r valence >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

step "package: $DEB"
ls -l "$DEB"
dpkg-deb --info "$DEB" | grep -E 'Package|Version|Installed-Size|Depends'

step "dpkg -i"
dpkg -i "$DEB"
dpkg -L valence > "$WORK/files"
echo "$(wc -l < "$WORK/files") paths installed"

# A 10-s 22.05 kHz mono 16-bit WAV of noise, written without any tool the test hides.
mkdir -p "$WORK/music"
le32() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $((($1 >> 8) & 255)))\\x$(printf %02x $((($1 >> 16) & 255)))\\x$(printf %02x $((($1 >> 24) & 255)))"; }
{
  n=$((22050 * 10 * 2))
  printf 'RIFF'; le32 $((36 + n)); printf 'WAVEfmt '; le32 16
  printf '\x01\x00\x01\x00'; le32 22050; le32 44100; printf '\x02\x00\x10\x00'
  printf 'data'; le32 $n; head -c "$n" /dev/urandom
} > "$WORK/music/noise.wav"

APP_ID="$(basename "$(grep -m1 '^/usr/share/applications/.*\.desktop$' "$WORK/files")" .desktop)"

# Everything below runs with the build tree, cargo/rustup/the venv and Python out of sight.
export WORK SHOT ROOT APP_ID
unshare --mount --propagation private bash -s <<'INNER'
set -euo pipefail
step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; exit 1; }
mount -t tmpfs none "$ROOT"
mount -t tmpfs none /root
for p in /usr/bin/python3*; do [ -f "$p" ] && mount --bind /dev/null "$p"; done
H="$WORK/home"
mkdir -p "$H"
run() {
  env -i HOME="$H" XDG_DATA_HOME="$H/.local/share" XDG_CONFIG_HOME="$H/.config" \
    XDG_CACHE_HOME="$H/.cache" XDG_STATE_HOME="$H/.local/state" PATH=/usr/bin:/bin "$@"
}

step "nothing from the build machine is visible"
run bash -c 'for t in cargo rustc python3; do if command -v $t >/dev/null && $t --version >/dev/null 2>&1; then echo "$t runs"; exit 1; fi; done; echo "no cargo, rustc or runnable python3"' \
  || fail "a build tool is still visible"
[ ! -e "$ROOT/assets" ] || fail "build tree still visible"

step "valence --version (from PATH=/usr/bin:/bin)"
run valence --version
[ "$(readlink -f /usr/bin/valence)" = /usr/lib/valence/valence ] || fail "/usr/bin/valence does not point at /usr/lib/valence/valence"

step "valence status (fresh library)"
run valence status

step "scan + analyze a 10-s WAV (runs /usr/lib/valence/valence-engine)"
run valence scan "$WORK/music"
t0=$(date +%s)
run valence analyze --jobs 1 2>&1 | tail -n 5
echo "analyze took $(( $(date +%s) - t0 )) s"
run valence status | tee "$WORK/status"
grep -Eq '^analysed: +1 \(pending 0, failed 0' "$WORK/status" || fail "the track was not analysed"
run valence show 1 | head -n 8

step "shell completions and man pages"
[ -s /usr/share/bash-completion/completions/valence ] || fail "no bash completion"
bash -n /usr/share/bash-completion/completions/valence || fail "the bash completion does not parse"
[ -s /usr/share/zsh/vendor-completions/_valence ] || fail "no zsh completion"
[ -s /usr/share/fish/vendor_completions.d/valence.fish ] || fail "no fish completion"
zcat /usr/share/man/man1/valence.1.gz | grep -q '^\.TH' || fail "valence.1 is not a man page"
echo "man pages: $(ls /usr/share/man/man1/valence*.1.gz | wc -l)"

step "ldd: nothing missing, nothing from outside /usr/lib/valence and the system"
for b in /usr/lib/valence/valence /usr/lib/valence/valence-engine; do
  ldd "$b" > "$WORK/ldd" || fail "ldd $b"
  grep -q 'not found' "$WORK/ldd" && { cat "$WORK/ldd"; fail "$b: a library is not found"; }
  bad=$(awk '$2 == "=>" && $3 ~ /^\// { print $3 }' "$WORK/ldd" \
    | grep -Ev '^(/usr/lib/valence/lib/|/lib/x86_64-linux-gnu/|/usr/lib/x86_64-linux-gnu/|/lib64/)' || true)
  [ -z "$bad" ] || fail "$b resolves outside: $bad"
  echo "$b: $(grep -c '=>' "$WORK/ldd") libraries, $(grep -c /usr/lib/valence/lib/ "$WORK/ldd") from /usr/lib/valence/lib:" \
    "$(grep -o '/usr/lib/valence/lib/[^ ]*' "$WORK/ldd" | xargs -rn1 basename | tr '\n' ' ')"
done

step "readelf: RUNPATHs are \$ORIGIN-relative"
for f in /usr/lib/valence/valence /usr/lib/valence/valence-engine /usr/lib/valence/lib/*; do
  rp=$(readelf -d "$f" | grep -E 'RUNPATH|RPATH' | sed 's/.*\[\(.*\)\]/\1/' || true)
  case "$rp" in
    '$ORIGIN'|'$ORIGIN/lib') echo "$f: $rp" ;;
    *) fail "$f: RUNPATH '$rp'" ;;
  esac
done
! ls /usr/lib/valence/lib | grep -Eq 'cuda\.so|cudnn|cublas|nccl' || fail "CUDA libraries packaged"

step "desktop file, metainfo, icons in place"
D=/usr/share/applications/$APP_ID.desktop
desktop-file-validate "$D" && echo "desktop-file-validate $D: ok"
appstreamcli validate --no-net "/usr/share/metainfo/$APP_ID.metainfo.xml"
ls /usr/share/icons/hicolor/*/apps/"$APP_ID".* | wc -l | sed 's/$/ icon files/'

if command -v xvfb-run >/dev/null; then
  step "the window, started from the desktop file as a launcher does, under Xvfb"
  # gio launch: GLib's launcher (what GNOME uses); without it, the desktop file's Exec line.
  EXEC=$(sed -n 's/^Exec=//p' "$D" | head -n 1 | sed 's/ *%[fFuU]//')
  if command -v gio >/dev/null; then LAUNCH="gio launch $D"; else LAUNCH="$EXEC"; fi
  echo "launch: $LAUNCH   (Exec=$EXEC)"
  run WORK="$WORK" SHOT="$SHOT" APP_ID="$APP_ID" LAUNCH="$LAUNCH" \
    xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
    $LAUNCH > "$WORK/window.log" 2>&1 &
    w=""
    for i in $(seq 40); do
      w=$(xdotool search --class "$APP_ID" 2>/dev/null | head -n 1)
      [ -n "$w" ] && break
      sleep 0.5
    done
    [ -n "$w" ] || { echo "no window with WM_CLASS $APP_ID:"; cat "$WORK/window.log"; exit 1; }
    sleep 4  # let it draw the library
    pid=$(xdotool getwindowpid "$w")
    echo "window $w, pid $pid: $(readlink /proc/$pid/exe)"
    xprop -id "$w" WM_CLASS
    xprop -id "$w" _NET_WM_ICON | grep -o "Icon ([0-9]* x [0-9]*)" || { echo "no window icon"; exit 1; }
    echo "X libraries the window loaded:"
    grep -o "/[^ ]*lib[Xx][^ ]*\.so[^ ]*" /proc/$pid/maps | sort -u | xargs -n1 basename | tr "\n" " "; echo
    [ -z "$SHOT" ] || import -window root "$SHOT"
    kill "$pid"
  ' || fail "window check"
  [ -z "$SHOT" ] || echo "screenshot: $SHOT"
else
  echo "(xvfb-run missing: window check skipped)"
fi
INNER

step "dpkg -r"
dpkg -r valence
left=$(while read -r p; do [ -f "$p" ] || [ -L "$p" ] && echo "$p"; done < "$WORK/files" || true)
[ -z "$left" ] || fail "left behind: $left"
for d in /usr/lib/valence /usr/share/valence /usr/share/doc/valence; do [ ! -e "$d" ] || fail "$d left behind"; done
dpkg-query -W -f='${Status}\n' valence 2>/dev/null || echo "valence: not known to dpkg any more"
echo "nothing left behind"
printf '\nALL PACKAGE CHECKS PASSED\n'
