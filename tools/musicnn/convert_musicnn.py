#!/usr/bin/env python3
"""Convert the pretrained MSD_musicnn (or MTT_musicnn) TensorFlow checkpoint to
safetensors and write the golden files used by `tests/musicnn_golden.rs`.

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
    convert_musicnn.py check              # TF graph vs a NumPy forward pass on the
                                          # converted weights file (nothing written)

`--model MSD_musicnn|MTT_musicnn` (default MSD_musicnn) picks the checkpoint
of the wheel; the weights file defaults to assets/models/<model, lower
case>.safetensors (msd_musicnn.safetensors, mtt_musicnn.safetensors), with the
same tensor names, layouts and metadata keys for both (`tags` holds that
model's 50 tag names).  Golden files exist for MSD_musicnn only (the Rust
test runs msd_musicnn.safetensors), so for MTT_musicnn `golden` is refused
and `all` means `weights` + `check`.

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
MODELS_DIR = os.path.join(REPO, "assets", "models")
GOLDEN_DIR = os.path.join(REPO, "tests", "golden", "musicnn")

# checkpoint directory inside the wheel -> tag list in musicnn/configuration.py
MODELS = {
    "MSD_musicnn": "MSD_LABELS",
    "MTT_musicnn": "MTT_LABELS",
}
DEFAULT_MODEL = "MSD_musicnn"
# the only model with golden files (tests/musicnn_golden.rs)
GOLDEN_MODEL = "MSD_musicnn"


def default_weights_path(model):
    """assets/models/msd_musicnn.safetensors, assets/models/mtt_musicnn.safetensors"""
    return os.path.join(MODELS_DIR, model.lower() + ".safetensors")


WEIGHTS_OUT = default_weights_path(DEFAULT_MODEL)

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


def musicnn_paths(model=DEFAULT_MODEL, labels=None):
    """(package dir, checkpoint prefix, tag list) of a checkpoint in the wheel;
    `labels` names the tag list in musicnn/configuration.py (default MODELS[model])."""
    import musicnn  # noqa: F401  (only its data files are used)
    from musicnn import configuration

    pkg = os.path.dirname(musicnn.__file__)
    ckpt = os.path.join(pkg, model) + os.sep  # files are named ".index" etc.
    for suffix in (".index", ".meta", ".data-00000-of-00001"):
        if not os.path.exists(ckpt + suffix):
            sys.exit(f"checkpoint file missing: {ckpt + suffix}")
    tags = list(getattr(configuration, labels or MODELS[model]))
    assert len(tags) == 50, len(tags)
    assert len(set(tags)) == len(tags), "duplicate tag names"
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
    """The original musicnn graph (from the checkpoint's .meta), pruned of
    its training nodes, with the checkpoint weights assigned."""

    def __init__(self, ckpt, values, model=DEFAULT_MODEL, names=None):
        """`names`: optional (input, is_training, taggram, embedding) tensor
        names; default musicnn's INPUT_NAME, TRAINING_NAME, TAGGRAM_NAME,
        EMBEDDING_NAME."""
        import tensorflow as tf
        from tensorflow.core.protobuf import meta_graph_pb2

        tf.compat.v1.disable_eager_execution()
        self.model = model
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
            x_name, training_name, taggram_name, embedding_name = (
                names or (INPUT_NAME, TRAINING_NAME, TAGGRAM_NAME, EMBEDDING_NAME))
            self.x = self.graph.get_tensor_by_name(x_name)
            self.training = self.graph.get_tensor_by_name(training_name)
            self.taggram = self.graph.get_tensor_by_name(taggram_name)
            self.embedding = self.graph.get_tensor_by_name(embedding_name)
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

def convert_weights(values, layers=None):
    """`layers`: (TF prefix, safetensors prefix, kind) list, default LAYERS."""
    out = {}
    used = set()
    for tf_name, st_name, kind in layers or LAYERS:
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


def write_weights(values, tags, ckpt, path, model=DEFAULT_MODEL):
    from safetensors.numpy import save_file

    tensors = convert_weights(values)
    n_params = sum(int(v.size) for v in tensors.values())
    meta = {
        "format": "valence-musicnn-v1",
        "model": model,
        "source": f"PyPI musicnn 0.1.0 (ISC), musicnn/{model} checkpoint",
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
                     + f" running the pruned {ref.model} .meta graph, is_training=False",
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


# --------------------------------------------------------------------------
# NumPy forward pass on the CONVERTED file (checks names, layouts, interleave)
# --------------------------------------------------------------------------

def numpy_forward(w, patches):
    """musicnn in float64 NumPy, reading the safetensors tensors `w` exactly as
    src/model/musicnn.rs interprets them.  Returns (taggram, embedding)."""
    from numpy.lib.stride_tricks import sliding_window_view as windows

    w = {k: np.asarray(v, dtype=np.float64) for k, v in w.items()}

    def bn(x, prefix):  # channels on the last axis; TF inference arithmetic
        scale = w[prefix + ".gamma"] / np.sqrt(w[prefix + ".moving_variance"] + BN_EPS)
        return x * scale + (w[prefix + ".beta"] - w[prefix + ".moving_mean"] * scale)

    relu = lambda x: np.maximum(x, 0.0)  # noqa: E731
    x = np.asarray(patches, dtype=np.float64)               # (N, T, F)
    x = bn(x[..., None], "frontend.bn_input")[..., 0]
    feats = []
    for name in ("timbral_74", "timbral_77"):
        k = w[f"frontend.{name}.conv.weight"]               # (O, 1, 7, kf)
        xp = np.pad(x, ((0, 0), (3, 3), (0, 0)))
        win = windows(xp, k.shape[2:], axis=(1, 2))          # (N, T, F-kf+1, 7, kf)
        y = np.tensordot(win, k[:, 0], axes=([3, 4], [1, 2])) + w[f"frontend.{name}.conv.bias"]
        feats.append(bn(relu(y), f"frontend.{name}.bn").max(axis=2))      # (N, T, O)
    for name, kt in (("temporal_128", 128), ("temporal_64", 64), ("temporal_32", 32)):
        k = w[f"frontend.{name}.conv.weight"]               # (O, 1, kt, 1)
        assert k.shape[2] == kt, k.shape
        xp = np.pad(x, ((0, 0), ((kt - 1) // 2, kt // 2), (0, 0)))   # TF 'same'
        win = windows(xp, kt, axis=1)                        # (N, T, F, kt)
        y = np.tensordot(win, k[:, 0, :, 0], axes=([3], [1])) + w[f"frontend.{name}.conv.bias"]
        feats.append(bn(relu(y), f"frontend.{name}.bn").max(axis=2))
    f = np.concatenate(feats, axis=2)                        # (N, T, 561)
    mids, h = [f], f
    for i in (1, 2, 3):
        k = w[f"midend.conv{i}.weight"]                      # (O, C, 7)
        win = windows(np.pad(h, ((0, 0), (3, 3), (0, 0))), 7, axis=1)   # (N, T, C, 7)
        y = np.tensordot(win, k, axes=([2, 3], [1, 2])) + w[f"midend.conv{i}.bias"]
        y = bn(relu(y), f"midend.bn{i}")
        h = y if i == 1 else y + h
        mids.append(h)
    m = np.concatenate(mids, axis=2)                         # (N, T, 753)
    pooled = np.stack([m.max(axis=1), m.mean(axis=1)], axis=2).reshape(m.shape[0], -1)
    pooled = bn(pooled, "backend.bn_pool")                   # (N, 1506), 2c=max, 2c+1=mean
    emb = bn(relu(pooled @ w["backend.dense.weight"].T + w["backend.dense.bias"]),
             "backend.bn_dense")
    logits = emb @ w["backend.output.weight"].T + w["backend.output.bias"]
    return 1.0 / (1.0 + np.exp(-logits)), emb


def check(ref, tags, model, path, reference_path=None, n_random=4, tol=1e-4):
    """TF (original graph, checkpoint values) vs NumPy on the converted file."""
    from safetensors import safe_open
    from safetensors.numpy import load_file

    ok = True
    tensors = load_file(path)
    with safe_open(path, "np") as fh:
        meta = fh.metadata() or {}
    for key, want in (("format", "valence-musicnn-v1"), ("model", model),
                      ("bn_epsilon", repr(BN_EPS)), ("tags", json.dumps(tags))):
        if meta.get(key) != want:
            log(f"FAIL metadata {key!r}: {meta.get(key)!r} != {want!r}")
            ok = False
    file_tags = json.loads(meta.get("tags", "[]"))
    log(f"metadata: format={meta.get('format')} model={meta.get('model')} "
        f"{len(file_tags)} tags: {file_tags}")
    if any(v.dtype != np.float32 for v in tensors.values()):
        log("FAIL: non-f32 tensors")
        ok = False

    if reference_path and os.path.abspath(reference_path) != os.path.abspath(path):
        refw = load_file(reference_path)
        a = {k: tuple(v.shape) for k, v in tensors.items()}
        b = {k: tuple(v.shape) for k, v in refw.items()}
        same = sorted(k for k in a if b.get(k) == a[k])
        diff = sorted(k for k in a if k in b and b[k] != a[k])
        only = sorted(set(a) ^ set(b))
        log(f"vs {os.path.relpath(reference_path, REPO)}: {len(same)} of {len(a)} tensors "
            f"with identical name+shape; shape differs: {diff}; only in one file: {only}")
        if diff or only:
            ok = False
        identical = sorted(k for k in same if np.array_equal(tensors[k], refw[k]))
        if identical:
            log(f"  note: {len(identical)} tensors have identical VALUES in both files: {identical}")

    # synthesised music-like patches + random patches in the log-mel value range
    patches = np.concatenate([log_mel_patches(a)[:1] for a in synth_signals().values()])
    rng = np.random.default_rng(1234)
    rand = rng.uniform(0.0, 4.0, size=(n_random, N_FRAMES, N_MELS)).astype(np.float32)
    patches = np.concatenate([patches, rand]).astype(np.float32)
    names = [f"synth:{k}" for k in synth_signals()] + [f"random{i}" for i in range(n_random)]
    t_tf, e_tf = ref.run(patches)
    t_np, e_np = numpy_forward(tensors, patches)
    dt = np.abs(t_np - t_tf).max()
    de = np.abs(e_np - e_tf).max()
    rel_e = de / max(1e-12, np.abs(e_tf).max())
    log(f"TF {__import__('tensorflow').__version__} vs NumPy(f64) on {len(patches)} patches: "
        f"taggram max |diff| {dt:.2e}, embedding max |diff| {de:.2e} (rel {rel_e:.2e})")
    top_tf = np.argmax(t_tf, axis=1)
    top_np = np.argmax(t_np, axis=1)
    for i, name in enumerate(names):
        top = np.argsort(-t_tf[i])[:3]
        log(f"  {name:22s} top tags (TF): "
            + ", ".join(f"{tags[j]} {t_tf[i, j]:.3f}" for j in top))
    if dt > tol or rel_e > tol or not np.array_equal(top_tf, top_np):
        log(f"FAIL: TF and NumPy disagree (tolerance {tol:g})")
        ok = False
    log("check: " + ("OK" if ok else "FAILED"))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", nargs="?", default="all", choices=["all", "weights", "golden", "check"])
    ap.add_argument("--model", default=DEFAULT_MODEL, choices=list(MODELS),
                    help=f"checkpoint to convert (default {DEFAULT_MODEL})")
    ap.add_argument("--weights-out", default=None,
                    help="weights file (default assets/models/<model lower-case>.safetensors)")
    ap.add_argument("--golden-dir", default=GOLDEN_DIR)
    ap.add_argument("--patches", help="run TF on these patches instead of the synthesised set")
    ap.add_argument("--name", help="golden set name for --patches (file NAME.safetensors)")
    args = ap.parse_args()
    weights_out = args.weights_out or default_weights_path(args.model)

    golden_ok = args.model == GOLDEN_MODEL
    if not golden_ok and (args.what == "golden" or args.patches):
        sys.exit(f"golden files are written for {GOLDEN_MODEL} only "
                 f"(tests/musicnn_golden.rs runs {os.path.basename(WEIGHTS_OUT)}); "
                 f"use `weights` / `check` with --model {args.model}")

    _, ckpt, tags = musicnn_paths(args.model)
    values = read_checkpoint(ckpt)
    log(f"{args.model} checkpoint: {len(values)} variables, "
        f"{sum(int(v.size) for k, v in values.items() if k != 'global_step')} parameters")

    if args.what in ("all", "weights") and not args.patches:
        write_weights(values, tags, ckpt, weights_out, args.model)
    run_golden = golden_ok and (args.what in ("all", "golden") or args.patches)
    run_check = args.what == "check" or (args.what == "all" and not golden_ok)
    if run_golden or run_check:
        ref = TfReference(ckpt, values, args.model)
    if run_golden:
        if args.patches:
            if not args.name:
                sys.exit("--patches needs --name")
            p = read_patches(args.patches)
            write_golden(ref, p, [{"name": args.name, "start": 0, "count": int(p.shape[0])}],
                         os.path.join(args.golden_dir, args.name + ".safetensors"),
                         f"external patches from {os.path.basename(args.patches)}")
        else:
            golden_synth(ref, tags, os.path.join(args.golden_dir, "synth.safetensors"))
    if run_check:
        if not os.path.exists(weights_out):
            sys.exit(f"{weights_out} does not exist; run `weights --model {args.model}` first")
        reference = WEIGHTS_OUT if os.path.exists(WEIGHTS_OUT) else None
        if not check(ref, tags, args.model, weights_out, reference):
            sys.exit(1)


if __name__ == "__main__":
    main()
