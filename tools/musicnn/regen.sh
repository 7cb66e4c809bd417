#!/usr/bin/env bash
# Regenerates assets/models/msd_musicnn.safetensors and tests/golden/musicnn/synth.safetensors
# from the MSD_musicnn checkpoint in the PyPI musicnn 0.1.0 wheel (or, with --model MTT_musicnn,
# assets/models/mtt_musicnn.safetensors from its MTT_musicnn checkpoint), using TensorFlow as the
# reference. Needs network access to PyPI the first time (venv outside the repo).
#
#   tools/musicnn/regen.sh                 # weights + synthesised golden set
#   tools/musicnn/regen.sh golden --patches rust_patches.npy --name rust_features
#                                          # add a golden set from external patches
#   tools/musicnn/regen.sh all --model MTT_musicnn
#                                          # assets/models/mtt_musicnn.safetensors + check
#   tools/musicnn/regen.sh vgg [what] [--model MSD_vgg|MTT_vgg]
#                                          # convert_vgg.py: assets/models/{msd,mtt}_vgg.safetensors,
#                                          # tests/golden/vgg/*, check (default: all, both models)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${VALENCE_TFREF_VENV:-$HOME/.cache/valence/tfref}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import tensorflow, librosa, safetensors, musicnn" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "tensorflow-cpu==2.21.*" numpy safetensors librosa
    # musicnn pins ancient numpy/tensorflow; only its checkpoint files and tag list are used.
    "$venv/bin/pip" install -q --no-deps musicnn==0.1.0
fi
script=convert_musicnn.py
if [ "${1:-}" = vgg ]; then
    script=convert_vgg.py
    shift
fi
exec nice -n 10 "$venv/bin/python" "$here/$script" "$@"
