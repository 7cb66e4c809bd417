#!/usr/bin/env python3
"""Convert the pretrained MSD_musicnn TensorFlow checkpoint to safetensors and
write the golden files used by `tests/musicnn_golden.rs`.

Reference: the PyPI package `musicnn` 0.1.0 (ISC licence, Music Technology
Group, Universitat Pompeu Fabra; code by Jordi Pons), which ships the
checkpoint inside its wheel.  Run it in a venv OUTSIDE the repository (see
tools/musicnn/README.md and regen.sh):

    python3 -m venv ~/.cache/valence/tfref
    ~/.cache/valence/tfref/bin/pip install "tensorflow-cpu==2.21.*" numpy safetensors librosa
    ~/.cache/valence/tfref/bin/pip install --no-deps musicnn==0.1.0

Sub-commands (all paths default to the repository layout):

    convert_musicnn.py weights            # assets/models/msd_musicnn.safetensors
    convert_musicnn.py golden             # tests/golden/musicnn/synth.safetensors
    convert_musicnn.py all                # both (default)
    convert_musicnn.py golden --patches FILE --name NAME
        # run TF on externally supplied patches (N,187,96) f32 and write
        # tests/golden/musicnn/NAME.safetensors

`--patches` accepts `.npy` (float32/float64, shape (N,187,96) or (187,96)),
`.safetensors` (tensor named `patches`), or a raw file: one line of JSON
(`{"shape":[N,187,96]}`) terminated by `\\n`, followed by N*187*96
little-endian f32 values.

The forward pass is the ORIGINAL training graph from the checkpoint's `.meta`
file (TF 1.12): the training-only nodes are pruned, the graph is imported
into TF 2.x (graph mode), the checkpoint values are assigned to its
variables, and `model/Sigmoid` / `model/batch_normalization_10/batchnorm/add_1`
are evaluated with `model/Placeholder_2` (is_training) = False.

Weights layout written (all float32; see README.md for the full table):
  * conv2d kernels: TF HWIO -> PyTorch OIHW
  * mid-end convs (TF conv2d spanning the full "width") -> PyTorch conv1d OIW
  * dense kernels: TF [in, out] -> PyTorch linear [out, in]
  * batch norms: gamma/beta/moving_mean/moving_variance unchanged (eps 0.001)
  * `backend.bn_pool.*` and the input axis of `backend.dense.weight` keep
    TF's interleaved order: index 2*c is the temporal max of feature c,
    index 2*c+1 its temporal mean.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

N_FRAMES = 187
N_MELS = 96
SR = 16000
N_FFT = 512
HOP = 256
BN_EPS = 1e-3

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WEIGHTS_OUT = os.path.join(REPO, "assets", "models", "msd_musicnn.safetensors")
GOLDEN_DIR = os.path.join(REPO, "tests", "golden", "musicnn")

INPUT_NAME = "model/Placeholder:0"
TRAINING_NAME = "model/Placeholder_2:0"
TAGGRAM_NAME = "model/Sigmoid:0"
EMBEDDING_NAME = "model/batch_normalization_10/batchnorm/add_1:0"

# TF variable prefix -> (safetensors prefix, kind)
#   kind: "conv2d" (HWIO -> OIHW), "conv1d" (HW1O with H=time, W=channels ->
#   O, W(in), H(k)), "dense" ([in,out] -> [out,in]), "bn".
LAYERS = [
    ("batch_normalization", "frontend.bn_input", "bn"),
    ("conv2d", "frontend.timbral_74.conv", "conv2d"),
    ("batch_normalization_1", "frontend.timbral_74.bn", "bn"),
    ("conv2d_1", "frontend.timbral_77.conv", "conv2d"),
    ("batch_normalization_2", "frontend.timbral_77.bn", "bn"),
    ("conv2d_2", "frontend.temporal_128.conv", "conv2d"),
    ("batch_normalization_3", "frontend.temporal_128.bn", "bn"),
    ("conv2d_3", "frontend.temporal_64.conv", "conv2d"),
    ("batch_normalization_4", "frontend.temporal_64.bn", "bn"),
    ("conv2d_4", "frontend.temporal_32.conv", "conv2d"),
    ("batch_normalization_5", "frontend.temporal_32.bn", "bn"),
    ("conv2d_5", "midend.conv1", "conv1d"),
    ("batch_normalization_6", "midend.bn1", "bn"),
    ("conv2d_6", "midend.conv2", "conv1d"),
    ("batch_normalization_7", "midend.bn2", "bn"),
    ("conv2d_7", "midend.conv3", "conv1d"),
    ("batch_normalization_8", "midend.bn3", "bn"),
    ("batch_normalization_9", "backend.bn_pool", "bn"),
    ("dense", "backend.dense", "dense"),
    ("batch_normalization_10", "backend.bn_dense", "bn"),
    ("dense_1", "backend.output", "dense"),
]

BN_FIELDS = [("gamma", "gamma"), ("beta", "beta"),
             ("moving_mean", "moving_mean"), ("moving_variance", "moving_variance")]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def musicnn_paths():
    import musicnn  # noqa: F401  (only its data files are used)
    from musicnn import configuration

    pkg = os.path.dirname(musicnn.__file__)
    ckpt = os.path.join(pkg, "MSD_musicnn") + os.sep  # files are named ".index" etc.
    for suffix in (".index", ".meta", ".data-00000-of-00001"):
        if not os.path.exists(ckpt + suffix):
            sys.exit(f"checkpoint file missing: {ckpt + suffix}")
    tags = list(configuration.MSD_LABELS)
    assert len(tags) == 50, len(tags)
    assert configuration.N_MELS == N_MELS and configuration.SR == SR
    assert configuration.FFT_HOP == HOP and configuration.FFT_SIZE == N_FFT
    return pkg, ckpt, tags


def read_checkpoint(ckpt):
    import tensorflow as tf

    reader = tf.compat.v1.train.NewCheckpointReader(ckpt)
    shapes = reader.get_variable_to_shape_map()
    values = {}
    for name in sorted(shapes):
        if "Adam" in name or "power" in name:
            continue
        values[name] = reader.get_tensor(name)
    return values


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------
# TF reference graph
# --------------------------------------------------------------------------

class TfReference:
    """The original MSD_musicnn graph (from the checkpoint's .meta), pruned of
    its training nodes, with the checkpoint weights assigned."""

    def __init__(self, ckpt, values):
        import tensorflow as tf
        from tensorflow.core.protobuf import meta_graph_pb2

        tf.compat.v1.disable_eager_execution()
        mg = meta_graph_pb2.MetaGraphDef()
        with open(ckpt + ".meta", "rb") as f:
            mg.ParseFromString(f.read())
        log(f"meta graph: {len(mg.graph_def.node)} nodes, written by TF "
            f"{mg.meta_info_def.tensorflow_version}")

        def pruned(name):
            return (name.startswith("gradients") or "Adam" in name
                    or name.startswith("save") or "power" in name or name == "init")

        gd = tf.compat.v1.GraphDef()
        gd.versions.CopyFrom(mg.graph_def.versions)
        gd.library.CopyFrom(mg.graph_def.library)
        for node in mg.graph_def.node:
            if pruned(node.name):
                continue
            n = gd.node.add()
            n.CopyFrom(node)
            if "_output_shapes" in n.attr:
                del n.attr["_output_shapes"]
            keep = [i for i in n.input if not pruned(i.lstrip("^").split(":")[0])]
            del n.input[:]
            n.input.extend(keep)
        log(f"pruned graph: {len(gd.node)} nodes")

        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.compat.v1.import_graph_def(gd, name="")
            self.x = self.graph.get_tensor_by_name(INPUT_NAME)
            self.training = self.graph.get_tensor_by_name(TRAINING_NAME)
            self.taggram = self.graph.get_tensor_by_name(TAGGRAM_NAME)
            self.embedding = self.graph.get_tensor_by_name(EMBEDDING_NAME)
            assigns = []
            for name, value in values.items():
                var = self.graph.get_tensor_by_name(name + ":0")
                assigns.append(tf.compat.v1.assign(var, value))
            self.sess = tf.compat.v1.Session(graph=self.graph)
            self.sess.run(assigns)
        # Every trainable/moving variable in the graph must come from the checkpoint.
        var_nodes = {n.name for n in gd.node if n.op in ("VariableV2", "Variable")}
        missing = var_nodes - set(values)
        if missing:
            sys.exit(f"graph variables without checkpoint values: {sorted(missing)}")

    def run(self, patches, batch=16):
        patches = np.asarray(patches, dtype=np.float32)
        tags, embs = [], []
        for i in range(0, patches.shape[0], batch):
            t, e = self.sess.run([self.taggram, self.embedding],
                                 feed_dict={self.x: patches[i:i + batch], self.training: False})
            tags.append(t)
            embs.append(e)
        return (np.concatenate(tags).astype(np.float32),
                np.concatenate(embs).astype(np.float32))


# --------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------

def convert_weights(values):
    out = {}
    used = set()
    for tf_name, st_name, kind in LAYERS:
        if kind == "bn":
            for tf_field, st_field in BN_FIELDS:
                key = f"{tf_name}/{tf_field}"
                out[f"{st_name}.{st_field}"] = values[key]
                used.add(key)
            continue
        k = values[f"{tf_name}/kernel"]
        b = values[f"{tf_name}/bias"]
        used.update({f"{tf_name}/kernel", f"{tf_name}/bias"})
        if kind == "conv2d":      # HWIO -> OIHW
            w = k.transpose(3, 2, 0, 1)
        elif kind == "conv1d":    # [k, C_in, 1, C_out] -> [C_out, C_in, k]
            assert k.shape[2] == 1, k.shape
            w = k[:, :, 0, :].transpose(2, 1, 0)
        elif kind == "dense":     # [in, out] -> [out, in]
            w = k.T
        else:
            raise AssertionError(kind)
        out[f"{st_name}.weight"] = w
        out[f"{st_name}.bias"] = b
    unused = set(values) - used - {"global_step"}
    if unused:
        sys.exit(f"checkpoint variables not converted: {sorted(unused)}")
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def write_weights(values, tags, ckpt, path):
    from safetensors.numpy import save_file

    tensors = convert_weights(values)
    n_params = sum(int(v.size) for v in tensors.values())
    meta = {
        "format": "valence-musicnn-v1",
        "model": "MSD_musicnn",
        "source": "PyPI musicnn 0.1.0 (ISC), musicnn/MSD_musicnn checkpoint",
        "source_index_sha256": file_sha256(ckpt + ".index"),
        "source_data_sha256": file_sha256(ckpt + ".data-00000-of-00001"),
        "tags": json.dumps(tags),
        "bn_epsilon": repr(BN_EPS),
        "n_frames": str(N_FRAMES),
        "n_mels": str(N_MELS),
        "layout": "conv2d OIHW; midend conv1d OIW; dense [out,in]; "
                  "backend.bn_pool/backend.dense input interleaved (2c=max, 2c+1=mean)",
        "parameters": str(n_params),
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file(tensors, path, metadata=meta)
    os.chmod(path, 0o644)
    log(f"wrote {path}: {len(tensors)} tensors, {n_params} parameters, "
        f"{os.path.getsize(path)} bytes")
    for k in sorted(tensors):
        log(f"  {k:40s} {tuple(tensors[k].shape)}")


# --------------------------------------------------------------------------
# golden inputs
# --------------------------------------------------------------------------

def log_mel_patches(audio):
    """musicnn's input representation, computed in float32 (the package casts
    the mel power to float16 first, which overflows on loud music)."""
    import librosa

    audio = np.asarray(audio, dtype=np.float32)
    mel = librosa.feature.melspectrogram(y=audio, sr=SR, hop_length=HOP, n_fft=N_FFT,
                                         n_mels=N_MELS).T.astype(np.float32)
    rep = np.log10(np.float32(10000.0) * mel + np.float32(1.0)).astype(np.float32)
    n = (rep.shape[0] - N_FRAMES) // N_FRAMES + 1  # non-overlapping, like extractor()
    assert n >= 1, rep.shape
    return np.stack([rep[i * N_FRAMES:(i + 1) * N_FRAMES] for i in range(n)]).astype(np.float32)


def synth_signals():
    """Deterministic test signals, 16 kHz mono float32, ~6.1 s each (2 patches)."""
    dur = 2 * N_FRAMES * HOP / SR + 0.1
    t = np.arange(int(dur * SR), dtype=np.float64) / SR
    rng = np.random.default_rng(20191113)
    sig = {}
    sig["sine_440"] = 0.5 * np.sin(2 * np.pi * 440.0 * t)
    # C major chord with harmonics, a slow tremolo and a note change half-way
    chord = np.zeros_like(t)
    for f0 in (261.63, 329.63, 392.00):
        f = np.where(t < dur / 2, f0, f0 * 2 ** (2 / 12))
        phase = 2 * np.pi * np.cumsum(f) / SR
        for h in range(1, 5):
            chord += (0.6 / h) * np.sin(h * phase)
    sig["chord"] = 0.15 * chord * (0.8 + 0.2 * np.sin(2 * np.pi * 2.0 * t))
    sig["noise"] = 0.3 * rng.standard_normal(t.shape)
    clicks = np.zeros_like(t)
    period = int(0.5 * SR)  # 120 bpm
    for start in range(0, t.size, period):
        n = min(200, t.size - start)
        clicks[start:start + n] += np.exp(-np.arange(n) / 30.0) * rng.standard_normal(n)
    sig["clicks_120bpm"] = 0.8 * clicks
    # a louder, denser mix: kick-like thumps + sawtooth bass + noise hats
    saw = 2 * ((110.0 * t) % 1.0) - 1
    kick = np.zeros_like(t)
    for start in range(0, t.size, period):
        n = min(3000, t.size - start)
        tt = np.arange(n) / SR
        kick[start:start + n] += np.sin(2 * np.pi * (50 + 100 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 8)
    hats = rng.standard_normal(t.shape) * (np.sin(2 * np.pi * 4.0 * t) > 0.7)
    sig["mix_loud"] = np.clip(0.9 * kick + 0.3 * saw + 0.1 * hats, -1, 1)
    sig["silence"] = np.zeros_like(t)
    return {k: v.astype(np.float32) for k, v in sig.items()}


def read_patches(path):
    if path.endswith(".npy"):
        p = np.load(path)
    elif path.endswith(".safetensors"):
        from safetensors.numpy import load_file
        p = load_file(path)["patches"]
    else:
        with open(path, "rb") as f:
            header = json.loads(f.readline().decode("utf-8"))
            data = np.frombuffer(f.read(), dtype="<f4")
        shape = tuple(int(s) for s in header["shape"])
        p = data.reshape(shape)
    p = np.asarray(p, dtype=np.float32)
    if p.ndim == 2:
        p = p[None]
    if p.ndim != 3 or p.shape[1:] != (N_FRAMES, N_MELS):
        sys.exit(f"{path}: expected patches (N,{N_FRAMES},{N_MELS}), got {p.shape}")
    if not np.all(np.isfinite(p)):
        sys.exit(f"{path}: non-finite values in patches")
    return p


def write_golden(ref, patches, cases, path, description):
    from safetensors.numpy import save_file

    taggram, embedding = ref.run(patches)
    # batch-size independence check (TF itself): single-patch runs agree
    t1, e1 = ref.run(patches, batch=1)
    log(f"TF batch-1 vs batched: taggram {np.abs(t1 - taggram).max():.2e}, "
        f"embedding {np.abs(e1 - embedding).max():.2e}")
    meta = {
        "format": "valence-musicnn-golden-v1",
        "description": description,
        "cases": json.dumps(cases),
        "reference": "TensorFlow " + __import__("tensorflow").__version__
                     + " running the pruned MSD_musicnn .meta graph, is_training=False",
        "taggram_tensor": TAGGRAM_NAME,
        "embedding_tensor": EMBEDDING_NAME,
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file({"patches": np.ascontiguousarray(patches, dtype=np.float32),
               "taggram": np.ascontiguousarray(taggram),
               "embedding": np.ascontiguousarray(embedding)}, path, metadata=meta)
    os.chmod(path, 0o644)
    log(f"wrote {path}: {patches.shape[0]} patches, {os.path.getsize(path)} bytes")
    return taggram, embedding


def golden_synth(ref, tags, path):
    patches, cases = [], []
    for name, audio in synth_signals().items():
        p = log_mel_patches(audio)
        cases.append({"name": name, "start": sum(x.shape[0] for x in patches), "count": p.shape[0]})
        patches.append(p)
    patches = np.concatenate(patches).astype(np.float32)
    taggram, _ = write_golden(ref, patches, cases, path,
                              "synthesised signals (sine, chord, noise, clicks, mix, silence); "
                              "log-mel via librosa in float32")
    for c in cases:
        top = np.argsort(-taggram[c["start"]])[:3]
        log(f"  {c['name']:14s} top tags: " + ", ".join(f"{tags[i]} {taggram[c['start'], i]:.3f}" for i in top))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", nargs="?", default="all", choices=["all", "weights", "golden"])
    ap.add_argument("--weights-out", default=WEIGHTS_OUT)
    ap.add_argument("--golden-dir", default=GOLDEN_DIR)
    ap.add_argument("--patches", help="run TF on these patches instead of the synthesised set")
    ap.add_argument("--name", help="golden set name for --patches (file NAME.safetensors)")
    args = ap.parse_args()

    _, ckpt, tags = musicnn_paths()
    values = read_checkpoint(ckpt)
    log(f"checkpoint: {len(values)} variables, "
        f"{sum(int(v.size) for k, v in values.items() if k != 'global_step')} parameters")

    if args.what in ("all", "weights") and not args.patches:
        write_weights(values, tags, ckpt, args.weights_out)
    if args.what in ("all", "golden") or args.patches:
        ref = TfReference(ckpt, values)
        if args.patches:
            if not args.name:
                sys.exit("--patches needs --name")
            p = read_patches(args.patches)
            write_golden(ref, p, [{"name": args.name, "start": 0, "count": int(p.shape[0])}],
                         os.path.join(args.golden_dir, args.name + ".safetensors"),
                         f"external patches from {os.path.basename(args.patches)}")
        else:
            golden_synth(ref, tags, os.path.join(args.golden_dir, "synth.safetensors"))


if __name__ == "__main__":
    main()
