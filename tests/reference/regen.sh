#!/usr/bin/env bash
# Regenerates tests/golden/features/*.vgf. Creates the reference venv (librosa, outside the
# repository) on first use.
set -euo pipefail
VENV="${VALENCE_PYREF:-$HOME/.cache/valence/pyref}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install librosa numpy
fi
exec "$VENV/bin/python" "$(dirname "$0")/make_features_golden.py" "$@"
