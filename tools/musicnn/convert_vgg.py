#!/usr/bin/env python3
"""Convert the pretrained VGG checkpoints of the PyPI wheel `musicnn` 0.1.0
(MSD_vgg, MTT_vgg; ISC licence, Music Technology Group, Universitat Pompeu
Fabra; code by Jordi Pons) to safetensors and write the golden files used by
the Rust port (src/model/vgg.rs).  The VGG counterpart of convert_musicnn.py,
whose helpers it imports; same venv (see tools/musicnn/README.md, regen.sh):

    convert_vgg.py weights [--model MSD_vgg|MTT_vgg]   # assets/models/{msd,mtt}_vgg.safetensors
    convert_vgg.py golden  [--model ...]               # tests/golden/vgg/{msd,mtt}_vgg.safetensors
    convert_vgg.py check   [--model ...]               # TF graph vs NumPy on the converted file
    convert_vgg.py all     [--model ...]               # weights + golden + check (default)

Without --model every sub-command runs for both checkpoints.

Reference forward pass: the ORIGINAL training graph from each checkpoint's
`.meta` (TF 1.12 / 1.11), pruned of its training nodes like
convert_musicnn.TfReference, with `model/Placeholder` (N,187,96) as input,
`model/Placeholder_2` (is_training) = False, taggram `model/Sigmoid` and
embedding `model/max_pooling2d_4/MaxPool` (pool5, (N,2,1,128), flattened in
NHWC order: index h*128 + c).

The pooling is read from the graph, not from musicnn/models.py: the MSD_vgg
graph differs from models.py's vgg() (and from MTT_vgg) in its first two
pools -- pool1 (4,1) stride (4,1), pool2 (1,4) stride (1,4) instead of
(4,1)/(2,2) stride 2 -- both reaching (46,24) after pool2.  The pools are
written to the metadata key `pools` (JSON [[kh, kw, sh, sw], ...], h = time
frame, w = mel) and a reader must use them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_musicnn as cm  # noqa: E402  (sets TF_CPP_MIN_LOG_LEVEL)
from convert_musicnn import (  # noqa: E402
    N_FRAMES, N_MELS, REPO, TfReference, file_sha256, log, log_mel_patches,
    musicnn_paths, read_checkpoint, synth_signals)

import numpy as np  # noqa: E402

FORMAT = "valence-vgg-v1"
GOLDEN_FORMAT = "valence-vgg-golden-v1"
MODELS_DIR = os.path.join(REPO, "assets", "models")
GOLDEN_DIR = os.path.join(REPO, "tests", "golden", "vgg")

# checkpoint directory inside the wheel -> tag list in musicnn/configuration.py
MODELS = {
    "MSD_vgg": "MSD_LABELS",
    "MTT_vgg": "MTT_LABELS",
}

FILTERS = 128
N_TAGS = 50
EMBEDDING_DIM = 256

INPUT_NAME = "model/Placeholder:0"
TRAINING_NAME = "model/Placeholder_2:0"
TAGGRAM_NAME = "model/Sigmoid:0"
POOL5_NAME = "model/max_pooling2d_4/MaxPool:0"
POOL_NODES = ["model/max_pooling2d/MaxPool"] + [f"model/max_pooling2d_{i}/MaxPool" for i in range(1, 5)]
CONV_NODES = [f"model/{k}CNN/Conv2D" for k in range(1, 6)]

# TF variable prefix -> (safetensors prefix, kind), for convert_musicnn.convert_weights
LAYERS = [("batch_normalization", "bn_input", "bn")]
for _k in range(1, 6):
    LAYERS += [(f"{_k}CNN", f"conv{_k}", "conv2d"), (f"batch_normalization_{_k}", f"bn{_k}", "bn")]
LAYERS.append(("dense", "dense", "dense"))

# golden set: first patch of three varied synthesised signals + one random patch
GOLDEN_SIGNALS = ("chord", "clicks_120bpm", "mix_loud")
GOLDEN_RANDOM_SEED = 20190801
CHECK_RANDOM_SEED = 1234

LAYOUT = ("conv{k}.weight OIHW [128,in,3,3] (H=time frame, W=mel), TF 'same' = zero pad 1 on both axes, "
          "stride 1; each block conv+bias -> ReLU -> BN (eps bn_epsilon) -> max pool 'valid' with kernel/stride "
          "from `pools` [kh,kw,sh,sw]; bn_input on the single input channel first; "
          "dense.weight [50,256] = TF kernel transposed, input = pool5 (2,1,128) flattened NHWC (h*128+c)")


def weights_path(model, models_dir=MODELS_DIR):
    return os.path.join(models_dir, model.lower() + ".safetensors")


def golden_path(model, golden_dir=GOLDEN_DIR):
    return os.path.join(golden_dir, model.lower() + ".safetensors")


def expected_shapes():
    shapes = {f"bn_input.{f}": (1,) for f in ("gamma", "beta", "moving_mean", "moving_variance")}
    for k in range(1, 6):
        shapes[f"conv{k}.weight"] = (FILTERS, 1 if k == 1 else FILTERS, 3, 3)
        shapes[f"conv{k}.bias"] = (FILTERS,)
        for f in ("gamma", "beta", "moving_mean", "moving_variance"):
            shapes[f"bn{k}.{f}"] = (FILTERS,)
    shapes["dense.weight"] = (N_TAGS, EMBEDDING_DIM)
    shapes["dense.bias"] = (N_TAGS,)
    return shapes


# --------------------------------------------------------------------------
# graph facts (pools, BN epsilon, conv attributes), read from the .meta
# --------------------------------------------------------------------------

def graph_info(ckpt):
    """Reads and asserts the architecture facts the converted file relies on.
    Returns (pools [[kh,kw,sh,sw]]*5, bn_epsilon)."""
    import tensorflow as tf
    from tensorflow.core.protobuf import meta_graph_pb2

    mg = meta_graph_pb2.MetaGraphDef()
    with open(ckpt + ".meta", "rb") as f:
        mg.ParseFromString(f.read())
    nodes = {n.name: n for n in mg.graph_def.node}

    def ints(node, key):
        return list(node.attr[key].list.i)

    x = nodes[INPUT_NAME.split(":")[0]]
    dims = [d.size for d in x.attr["shape"].shape.dim]
    assert dims == [-1, N_FRAMES, N_MELS], dims
    assert nodes[TRAINING_NAME.split(":")[0]].attr["dtype"].type == tf.bool.as_datatype_enum
    # every BN cond switches on the is_training placeholder
    for name, n in nodes.items():
        if name.startswith("model/batch_normalization") and name.endswith("cond/pred_id"):
            assert list(n.input) == [TRAINING_NAME.split(":")[0]], (name, list(n.input))
    assert nodes[TAGGRAM_NAME.split(":")[0]].op == "Sigmoid"
    assert list(nodes["model/Sigmoid"].input) == ["model/dense/BiasAdd"]
    assert list(nodes["model/Flatten/flatten/Reshape"].input)[0] == POOL5_NAME.split(":")[0]

    for name in CONV_NODES:
        n = nodes[name]
        assert n.op == "Conv2D", name
        assert n.attr["padding"].s == b"SAME" and n.attr["data_format"].s == b"NHWC", name
        assert ints(n, "strides") == [1, 1, 1, 1] and ints(n, "dilations") == [1, 1, 1, 1], name
        relu = name.replace("Conv2D", "Relu")
        assert nodes[relu].op == "Relu", relu  # activation=relu, BN follows
    eps = set()
    n_bn = 0
    for n in mg.graph_def.node:
        if n.op.startswith("FusedBatchNorm") and n.name.startswith("model/"):
            eps.add(n.attr["epsilon"].f)
            n_bn += 1
    assert n_bn == 12 and len(eps) == 1, (n_bn, eps)  # 6 BNs x (train, eval) branch
    eps = float(eps.pop())
    assert abs(eps - 1e-3) < 1e-9, eps
    pools = []
    for name in POOL_NODES:
        n = nodes[name]
        assert n.op == "MaxPool" and n.attr["padding"].s == b"VALID", name
        assert n.attr["data_format"].s == b"NHWC", name
        k, s = ints(n, "ksize"), ints(n, "strides")
        assert k[0] == k[3] == s[0] == s[3] == 1, (name, k, s)
        pools.append([k[1], k[2], s[1], s[2]])
    h, w = N_FRAMES, N_MELS
    for kh, kw, sh, sw in pools:
        h, w = (h - kh) // sh + 1, (w - kw) // sw + 1
    assert h * w * FILTERS == EMBEDDING_DIM, (h, w)
    return pools, 1e-3


# --------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------

def write_weights(model, values, tags, ckpt, pools, eps, path):
    from safetensors.numpy import save_file

    tensors = cm.convert_weights(values, LAYERS)  # exits if a variable is left over
    shapes = {k: tuple(v.shape) for k, v in tensors.items()}
    assert shapes == expected_shapes(), shapes
    n_params = sum(int(v.size) for v in tensors.values())
    meta = {
        "format": FORMAT,
        "model": model,
        "source": f"PyPI musicnn 0.1.0 (ISC), musicnn/{model} checkpoint",
        "source_index_sha256": file_sha256(ckpt + ".index"),
        "source_data_sha256": file_sha256(ckpt + ".data-00000-of-00001"),
        "tags": json.dumps(tags),
        "bn_epsilon": repr(eps),
        "n_frames": str(N_FRAMES),
        "n_mels": str(N_MELS),
        "embedding": "pool5",
        "pools": json.dumps(pools),
        "layout": LAYOUT,
        "parameters": str(n_params),
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file(tensors, path, metadata=meta)
    os.chmod(path, 0o644)
    log(f"wrote {path}: {len(tensors)} tensors, {n_params} parameters, "
        f"{os.path.getsize(path)} bytes; pools {pools}")


# --------------------------------------------------------------------------
# TF reference + NumPy forward pass on the CONVERTED file
# --------------------------------------------------------------------------

def tf_reference(ckpt, values, model):
    return TfReference(ckpt, values, model, names=(INPUT_NAME, TRAINING_NAME, TAGGRAM_NAME, POOL5_NAME))


def tf_run(ref, patches, batch=16):
    """(taggram (N,50), pool5 flattened NHWC (N,256)), float32."""
    t, p5 = ref.run(patches, batch=batch)
    assert p5.shape[1:] == (2, 1, FILTERS), p5.shape
    return t, p5.reshape(p5.shape[0], -1)


def numpy_forward(w, patches, pools, eps):
    """VGG in float64 NumPy reading the safetensors tensors `w` as
    src/model/vgg.rs does.  Returns (taggram, embedding)."""
    from numpy.lib.stride_tricks import sliding_window_view as windows

    w = {k: np.asarray(v, dtype=np.float64) for k, v in w.items()}

    def bn(x, prefix):  # channels last, TF inference arithmetic
        scale = w[prefix + ".gamma"] / np.sqrt(w[prefix + ".moving_variance"] + eps)
        return x * scale + (w[prefix + ".beta"] - w[prefix + ".moving_mean"] * scale)

    x = bn(np.asarray(patches, dtype=np.float64)[..., None], "bn_input")   # (N, T, F, 1)
    for k, (kh, kw, sh, sw) in enumerate(pools, start=1):
        wk = w[f"conv{k}.weight"]                                        # (O, I, 3, 3)
        assert wk.shape[1:] == (x.shape[3], 3, 3), wk.shape
        n, h, wd, _ = x.shape
        xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))                 # 'same', 3x3
        y = np.zeros((n, h, wd, wk.shape[0]))
        for dh in range(3):
            for dw in range(3):
                y += xp[:, dh:dh + h, dw:dw + wd, :] @ wk[:, :, dh, dw].T
        y = bn(np.maximum(y + w[f"conv{k}.bias"], 0.0), f"bn{k}")
        x = windows(y, (kh, kw), axis=(1, 2))[:, ::sh, ::sw].max(axis=(4, 5))   # 'valid'
    emb = x.reshape(x.shape[0], -1)                                      # NHWC: h*128 + c
    logits = emb @ w["dense.weight"].T + w["dense.bias"]
    return 1.0 / (1.0 + np.exp(-logits)), emb


# --------------------------------------------------------------------------
# golden + check
# --------------------------------------------------------------------------

def first_patches(names):
    sig = synth_signals()
    return np.concatenate([log_mel_patches(sig[k])[:1] for k in names]).astype(np.float32)


def log_top(tags, taggram, names, k=5):
    for i, name in enumerate(names):
        top = np.argsort(-taggram[i])[:k]
        log(f"  {name:22s} " + ", ".join(f"{tags[j]} {taggram[i, j]:.3f}" for j in top))


def write_golden(ref, model, tags, path):
    from safetensors.numpy import save_file

    rng = np.random.default_rng(GOLDEN_RANDOM_SEED)
    rand = rng.uniform(0.0, 4.0, size=(1, N_FRAMES, N_MELS)).astype(np.float32)
    patches = np.concatenate([first_patches(GOLDEN_SIGNALS), rand]).astype(np.float32)
    names = [f"synth:{k}" for k in GOLDEN_SIGNALS] + [f"random(seed {GOLDEN_RANDOM_SEED})"]
    taggram, emb = tf_run(ref, patches)
    t1, e1 = tf_run(ref, patches, batch=1)
    log(f"TF batch-1 vs batched: taggram {np.abs(t1 - taggram).max():.2e}, "
        f"embedding {np.abs(e1 - emb).max():.2e}")
    meta = {
        "format": GOLDEN_FORMAT,
        "model": model,
        "description": "first log-mel patch (librosa, float32) of the synthesised signals "
                       + ", ".join(GOLDEN_SIGNALS) + f", then one uniform [0,4) patch "
                       f"(numpy default_rng({GOLDEN_RANDOM_SEED})); taggram = sigmoid, "
                       "embedding = pool5 flattened NHWC (h*128+c)",
        "cases": json.dumps(names),
        "reference": "TensorFlow " + __import__("tensorflow").__version__
                     + f" running the pruned {model} .meta graph, is_training=False",
        "taggram_tensor": TAGGRAM_NAME,
        "embedding_tensor": POOL5_NAME,
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file({"patches": np.ascontiguousarray(patches),
               "taggram": np.ascontiguousarray(taggram, dtype=np.float32),
               "embedding": np.ascontiguousarray(emb, dtype=np.float32)}, path, metadata=meta)
    os.chmod(path, 0o644)
    log(f"wrote {path}: {patches.shape[0]} patches, {os.path.getsize(path)} bytes; top tags (TF):")
    log_top(tags, taggram, names)


def check(ref, model, tags, ckpt, pools, eps, path, golden=None, n_random=4, tol=1e-4):
    from safetensors import safe_open
    from safetensors.numpy import load_file

    ok = True
    tensors = load_file(path)
    with safe_open(path, "np") as fh:
        meta = fh.metadata() or {}
    shapes = {k: tuple(v.shape) for k, v in tensors.items()}
    if shapes != expected_shapes():
        log(f"FAIL tensor names/shapes: {shapes}")
        ok = False
    if any(v.dtype != np.float32 for v in tensors.values()):
        log("FAIL: non-f32 tensors")
        ok = False
    want = {"format": FORMAT, "model": model, "tags": json.dumps(tags), "bn_epsilon": repr(eps),
            "n_frames": str(N_FRAMES), "n_mels": str(N_MELS), "embedding": "pool5",
            "pools": json.dumps(pools), "layout": LAYOUT,
            "source_index_sha256": file_sha256(ckpt + ".index"),
            "source_data_sha256": file_sha256(ckpt + ".data-00000-of-00001"),
            "parameters": str(sum(int(v.size) for v in tensors.values()))}
    for key, value in want.items():
        if meta.get(key) != value:
            log(f"FAIL metadata {key!r}: {meta.get(key)!r} != {value!r}")
            ok = False
    log(f"metadata: format={meta.get('format')} model={meta.get('model')} "
        f"bn_epsilon={meta.get('bn_epsilon')} pools={meta.get('pools')} "
        f"parameters={meta.get('parameters')}")
    file_pools = json.loads(meta.get("pools", "[]"))
    file_eps = float(meta.get("bn_epsilon", "nan"))

    signals = list(synth_signals())
    rng = np.random.default_rng(CHECK_RANDOM_SEED)
    rand = rng.uniform(0.0, 4.0, size=(n_random, N_FRAMES, N_MELS)).astype(np.float32)
    patches = np.concatenate([first_patches(signals), rand]).astype(np.float32)
    names = [f"synth:{k}" for k in signals] + [f"random{i}" for i in range(n_random)]
    t_tf, e_tf = tf_run(ref, patches)
    t_np, e_np = numpy_forward(tensors, patches, file_pools, file_eps)
    dt, de = np.abs(t_np - t_tf).max(), np.abs(e_np - e_tf).max()
    log(f"TF {__import__('tensorflow').__version__} vs NumPy(f64) on {len(patches)} patches: "
        f"taggram max |diff| {dt:.2e}, embedding max |diff| {de:.2e} "
        f"(max |embedding| {np.abs(e_tf).max():.3g})")
    if not (dt <= tol and de <= tol):
        log(f"FAIL: TF and NumPy disagree (tolerance {tol:g})")
        ok = False
    log("top-5 tags (TF):")
    log_top(tags, t_tf, names)
    spread = t_tf[:len(signals)].std(axis=0).max()
    log(f"taggram spread over the synthesised patches: max per-tag std {spread:.3f}")
    if spread < 1e-3:
        log("FAIL: taggram (nearly) constant across inputs")
        ok = False

    if golden and os.path.exists(golden):
        g = load_file(golden)
        tg, eg = tf_run(ref, g["patches"])
        tn, en = numpy_forward(tensors, g["patches"], file_pools, file_eps)
        d = [np.abs(tg - g["taggram"]).max(), np.abs(eg - g["embedding"]).max(),
             np.abs(tn - g["taggram"]).max(), np.abs(en - g["embedding"]).max()]
        log(f"golden {os.path.relpath(golden, REPO)}: TF re-run vs file {d[0]:.2e}/{d[1]:.2e}, "
            f"NumPy vs file {d[2]:.2e}/{d[3]:.2e} (taggram/embedding)")
        if max(d) > tol:
            log("FAIL: golden file disagrees")
            ok = False
    log(f"check {model}: " + ("OK" if ok else "FAILED"))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", nargs="?", default="all", choices=["all", "weights", "golden", "check"])
    ap.add_argument("--model", choices=list(MODELS), help="checkpoint (default: both)")
    ap.add_argument("--models-dir", default=MODELS_DIR, help="where <model>.safetensors is written/read")
    ap.add_argument("--golden-dir", default=GOLDEN_DIR)
    args = ap.parse_args()

    ok = True
    for model in [args.model] if args.model else list(MODELS):
        _, ckpt, tags = musicnn_paths(model, MODELS[model])
        values = read_checkpoint(ckpt)
        log(f"{model} checkpoint: {len(values)} variables, "
            f"{sum(int(v.size) for v in values.values())} parameters")
        pools, eps = graph_info(ckpt)
        wpath, gpath = weights_path(model, args.models_dir), golden_path(model, args.golden_dir)
        if args.what in ("all", "weights"):
            write_weights(model, values, tags, ckpt, pools, eps, wpath)
        if args.what == "weights":
            continue
        ref = tf_reference(ckpt, values, model)
        if args.what in ("all", "golden"):
            write_golden(ref, model, tags, gpath)
        if args.what in ("all", "check"):
            if not os.path.exists(wpath):
                sys.exit(f"{wpath} does not exist; run `weights --model {model}` first")
            ok &= check(ref, model, tags, ckpt, pools, eps, wpath, gpath)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
