#!/usr/bin/env bash
# Builds the Debian package in one command, from a clone:
#   packaging/deb/build.sh            -> target/deb/valence_<version>_amd64.deb
#   packaging/deb/build.sh --no-build    (package the existing target/release binaries)
#
# The package needs neither Rust nor Python where it is installed. Layout:
#   /usr/lib/valence/{valence,valence-engine}   the binaries, RUNPATH $ORIGIN/lib
#   /usr/lib/valence/lib/                       the CPU part of libtorch the engine links
#                                               (what ldd resolves from the libtorch venv:
#                                               libtorch_cpu, libc10, libgomp and the CUDA
#                                               runtime stubs libtorch_cpu itself needs), RUNPATH $ORIGIN
#   /usr/lib/valence/assets -> /usr/share/valence/assets   model files (src/model/assets.rs
#                                               looks beside the real executable)
#   /usr/bin/valence -> ../lib/valence/valence  (the engine is found beside the real exe)
#   /usr/share/{applications,metainfo,icons/hicolor}, /usr/share/doc/valence (licences)
# libtorch_cuda and the NVIDIA libraries are left out: see README "Packaging" for CUDA.
set -euo pipefail

say() { printf 'deb/build: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

BUILD=1
for a in "$@"; do
  case "$a" in
    --no-build) BUILD=0 ;;
    *) die "unknown argument $a (usage: packaging/deb/build.sh [--no-build])" ;;
  esac
done

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"

missing=()
command -v dpkg-deb >/dev/null || missing+=(dpkg)
command -v patchelf >/dev/null || missing+=(patchelf)
command -v strip >/dev/null || missing+=(binutils)
[ "${#missing[@]}" = 0 ] || die "missing tools: apt-get install ${missing[*]}"

# The libtorch the binaries are linked against (installed by libtorch-setup/setup.sh).
ENV_SH="$(libtorch-setup/setup.sh | tail -n 1)"
# shellcheck disable=SC1090
. "$ENV_SH"
[ -n "${VALENCE_LIBTORCH_DIR:-}" ] || die "$ENV_SH does not set VALENCE_LIBTORCH_DIR"

if [ "$BUILD" = 1 ]; then
  say "cargo build --release (the first time takes ~15 min)"
  cargo build --release --locked --bins
fi
REL="$ROOT/target/release"
for b in valence valence-engine; do [ -x "$REL/$b" ] || die "$REL/$b missing: run without --no-build"; done

VERSION="$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)"
[ -n "$VERSION" ] || die "no version in Cargo.toml"
# The application ID: the one desktop file's name (tests/packaging.rs checks it is valence::APP_ID).
DESKTOP="$(ls packaging/*.desktop)"
[ "$(printf '%s\n' "$DESKTOP" | wc -l)" = 1 ] || die "expected one packaging/*.desktop, found: $DESKTOP"
APP_ID="$(basename "$DESKTOP" .desktop)"
ARCH="$(dpkg --print-architecture)"

STAGE="$ROOT/target/deb/valence_${VERSION}_${ARCH}"
DEB="$ROOT/target/deb/valence_${VERSION}_${ARCH}.deb"
rm -rf "$STAGE" "$DEB"
PRIV="$STAGE/usr/lib/valence"
mkdir -p "$PRIV/lib" "$STAGE/usr/bin" "$STAGE/usr/share/valence" "$STAGE/usr/share/doc/valence" \
  "$STAGE/usr/share/applications" "$STAGE/usr/share/metainfo" "$STAGE/DEBIAN"

# ---- binaries -------------------------------------------------------------------------------
for b in valence valence-engine; do
  # Release builds keep line tables for backtraces (~180 MB each); the package ships them stripped.
  strip --strip-unneeded -o "$PRIV/$b" "$REL/$b"
  chmod 755 "$PRIV/$b"
  patchelf --set-rpath '$ORIGIN/lib' "$PRIV/$b"
done
ln -s ../lib/valence/valence "$STAGE/usr/bin/valence"

# ---- libtorch: exactly the libraries the engine resolves outside the system ----------------
is_system() { case "$1" in /lib/*|/lib64/*|/usr/lib/*) return 0 ;; *) return 1 ;; esac; }
libs=()
while read -r name path; do
  is_system "$path" && continue
  libs+=("$name=$path")
done < <(ldd "$REL/valence-engine" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }')
[ "${#libs[@]}" -gt 0 ] || die "ldd finds no libtorch for valence-engine"
for l in "${libs[@]}"; do
  name="${l%%=*}" path="${l#*=}"
  case "$name" in *cuda.so*|libcudnn*|libcublas*|libnccl*) die "$name would be packaged: the engine must not link the CUDA half" ;; esac
  # Copy the file (not a symlink) under its soname; drop the wheel's debug symbols.
  strip --strip-unneeded -o "$PRIV/lib/$name" "$(readlink -f "$path")"
  chmod 644 "$PRIV/lib/$name"
  # The wheel's RPATH points into its venv (../../nvidia/...): only the folder itself here.
  patchelf --set-rpath '$ORIGIN' "$PRIV/lib/$name"
done
say "libtorch libraries: $(cd "$PRIV/lib" && ls | tr '\n' ' ')"

# ---- shell completions and man pages, from the CLI's own clap definition ---------------------
mkdir -p "$STAGE/usr/share/bash-completion/completions" "$STAGE/usr/share/zsh/vendor-completions" \
  "$STAGE/usr/share/fish/vendor_completions.d" "$STAGE/usr/share/man/man1"
"$REL/valence" completions bash > "$STAGE/usr/share/bash-completion/completions/valence"
"$REL/valence" completions zsh > "$STAGE/usr/share/zsh/vendor-completions/_valence"
"$REL/valence" completions fish > "$STAGE/usr/share/fish/vendor_completions.d/valence.fish"
"$REL/valence" man --out "$STAGE/usr/share/man/man1" 2>/dev/null
gzip -9n "$STAGE"/usr/share/man/man1/*.1
say "man pages: $(ls "$STAGE/usr/share/man/man1" | wc -l)"

# ---- assets and desktop files -------------------------------------------------------------
cp -r assets "$STAGE/usr/share/valence/assets"
# Pretrained views measured in training ablations only (the analyser never loads them).
rm -f "$STAGE"/usr/share/valence/assets/models/{mtt_musicnn,msd_vgg,mtt_vgg}.safetensors
ln -s ../../share/valence/assets "$PRIV/assets"
install -m 644 "$DESKTOP" "$STAGE/usr/share/applications/$APP_ID.desktop"
install -m 644 "packaging/$APP_ID.metainfo.xml" "$STAGE/usr/share/metainfo/$APP_ID.metainfo.xml"
mkdir -p "$STAGE/usr/share/icons"
cp -r packaging/icons/hicolor "$STAGE/usr/share/icons/hicolor"

# ---- licences -------------------------------------------------------------------------------
DOC="$STAGE/usr/share/doc/valence"
SITE="$(dirname "$VALENCE_LIBTORCH_DIR")"
install -m 644 packaging/deb/copyright "$DOC/copyright"
install -m 644 assets/models/MSD_MUSICNN_LICENSE.txt "$DOC/MSD_MUSICNN_LICENSE.txt"
for f in "$SITE"/torch-*.dist-info/licenses/LICENSE "$SITE"/torch-*.dist-info/licenses/NOTICE; do
  [ -f "$f" ] && install -m 644 "$f" "$DOC/libtorch-$(basename "$f")"
done
for d in "$SITE"/nvidia_cuda_runtime-*.dist-info "$SITE"/nvidia_cuda_cupti-*.dist-info; do
  [ -f "$d/licenses/License.txt" ] && install -m 644 "$d/licenses/License.txt" "$DOC/$(basename "$d" | cut -d- -f1)-License.txt"
done

# ---- control --------------------------------------------------------------------------------
# The newest glibc symbol version the binaries and libraries use.
GLIBC="$(objdump -T "$PRIV"/valence "$PRIV"/valence-engine "$PRIV"/lib/* 2>/dev/null \
  | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)"
INSTALLED_KB="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
# The window's X11 libraries are loaded at run time (winit's x11-dl), so ldd does not show them;
# its Wayland ones too (wayland-sys dlopen), present on any Wayland desktop: recommended only.
cat > "$STAGE/DEBIAN/control" <<EOF
Package: valence
Version: $VERSION
Architecture: $ARCH
Maintainer: The Valence developers <valence@users.noreply.github.com>
Installed-Size: $INSTALLED_KB
Depends: libc6 (>= $GLIBC), libgcc-s1, libstdc++6, libasound2, libx11-6, libx11-xcb1, libxcursor1, libxi6, libxrandr2, libxkbcommon0, libxkbcommon-x11-0
Recommends: hicolor-icon-theme, libwayland-client0, libwayland-cursor0
Section: sound
Priority: optional
Homepage: https://github.com/valence-music/valence
Description: music player that knows how music feels
 Valence scans your music folders into a library, plays it, and tags every
 track with an emotion (the four quadrants of the valence-arousal plane,
 continuous valence and arousal, and an emotion timeline of the song) with a
 neural network running locally on the CPU (LibTorch, bundled).
EOF

say "dpkg-deb --build (xz; a minute or two)"
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null
ls -l "$DEB" >&2
dpkg-deb --field "$DEB" Installed-Size | sed 's/^/Installed-Size (KiB): /' >&2
echo "$DEB"
