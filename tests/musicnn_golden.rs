//! Differential test of the Rust MSD-musicnn port against TensorFlow outputs.
//!
//! Every `tests/golden/musicnn/*.safetensors` file holds `patches` (N,187,96),
//! and the TF reference `taggram` (N,50) and `embedding` (N,200), written by
//! `tools/musicnn/convert_musicnn.py`. TensorFlow is not needed here.
//!
//! Paths resolve against `VALENCE_REPO` when set, else the crate root.

mod common;

use std::path::{Path, PathBuf};

use common::{max_abs_diff, repo};
use tch::{Device, Kind, Tensor};
use valence::model::musicnn::{Musicnn, MusicnnError, EMBEDDING_DIM, N_FRAMES, N_MELS, N_TAGS};

const TOLERANCE: f64 = 1e-4;

fn weights_path() -> PathBuf {
    repo().join("assets/models/msd_musicnn.safetensors")
}

fn golden_files() -> Vec<PathBuf> {
    let dir = repo().join("tests/golden/musicnn");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    assert!(
        files.iter().any(|p| p.ends_with("synth.safetensors")),
        "no synth.safetensors golden set in {}",
        dir.display()
    );
    files
}

fn load_golden(path: &Path) -> (Tensor, Tensor, Tensor) {
    let mut patches = None;
    let mut taggram = None;
    let mut embedding = None;
    for (name, t) in Tensor::read_safetensors(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    {
        match name.as_str() {
            "patches" => patches = Some(t),
            "taggram" => taggram = Some(t),
            "embedding" => embedding = Some(t),
            _ => {}
        }
    }
    let (patches, taggram, embedding) = (
        patches.expect("golden file lacks `patches`"),
        taggram.expect("golden file lacks `taggram`"),
        embedding.expect("golden file lacks `embedding`"),
    );
    let n = patches.size()[0];
    assert_eq!(patches.size(), [n, N_FRAMES as i64, N_MELS as i64]);
    assert_eq!(taggram.size(), [n, N_TAGS as i64]);
    assert_eq!(embedding.size(), [n, EMBEDDING_DIM as i64]);
    (patches, taggram, embedding)
}

fn model() -> Musicnn {
    let path = weights_path();
    Musicnn::load(&path, Device::Cpu)
        .unwrap_or_else(|e| panic!("cannot load {}: {e}", path.display()))
}

#[test]
fn golden_outputs_match_tensorflow() {
    let model = model();
    for file in golden_files() {
        let (patches, taggram, embedding) = load_golden(&file);
        let out = model.forward(&patches);
        let dt = max_abs_diff(&out.taggram, &taggram);
        let de = max_abs_diff(&out.embedding, &embedding);
        println!(
            "{}: {} patches, max |diff| taggram {dt:.3e}, embedding {de:.3e}",
            file.display(),
            patches.size()[0]
        );
        assert!(
            dt <= TOLERANCE,
            "{}: taggram max |diff| {dt}",
            file.display()
        );
        assert!(
            de <= TOLERANCE,
            "{}: embedding max |diff| {de}",
            file.display()
        );
    }
}

#[test]
fn run_patches_matches_forward_and_batching() {
    let model = model();
    let file = repo().join("tests/golden/musicnn/synth.safetensors");
    let (patches, taggram, embedding) = load_golden(&file);
    let n = patches.size()[0];
    let flat = Vec::<f32>::try_from(patches.contiguous().view([-1])).expect("patches to vec");
    let per_patch = N_FRAMES * N_MELS;
    let vecs: Vec<Vec<f32>> = flat.chunks(per_patch).map(<[f32]>::to_vec).collect();
    let (tags, embs) = model.run_patches(&vecs).expect("run_patches");
    assert_eq!(tags.len() as i64, n);
    assert_eq!(embs.len() as i64, n);
    let tags_t = Tensor::from_slice(tags.as_flattened()).view([n, N_TAGS as i64]);
    let embs_t = Tensor::from_slice(embs.as_flattened()).view([n, EMBEDDING_DIM as i64]);
    assert!(max_abs_diff(&tags_t, &taggram) <= TOLERANCE);
    assert!(max_abs_diff(&embs_t, &embedding) <= TOLERANCE);

    // One patch at a time gives the same answer as the batch.
    let single = model.forward(&patches.narrow(0, n - 1, 1));
    assert!(max_abs_diff(&single.taggram, &taggram.narrow(0, n - 1, 1)) <= TOLERANCE);

    assert_eq!(model.run_patches(&[]).expect("empty input").0.len(), 0);
    assert!(matches!(
        model.run_patches(&[vec![0.0; 10]]),
        Err(MusicnnError::BadInput(_))
    ));
    assert!(matches!(
        model.try_forward(&Tensor::zeros([2, 96, 187], (Kind::Float, Device::Cpu))),
        Err(MusicnnError::BadInput(_))
    ));
}

#[test]
fn tag_names_are_the_msd_tags() {
    let model = model();
    let tags = model.tag_names();
    assert_eq!(tags.len(), N_TAGS);
    assert_eq!(tags[0], "rock");
    assert_eq!(tags[5], "female vocalists");
    assert_eq!(tags[49], "happy");
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("valence-musicnn-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir.join(name)
}

/// Writes a safetensors file from a JSON header and raw data bytes.
fn write_safetensors_raw(path: &Path, header: &serde_json::Value, data: &[u8]) {
    let mut hbytes = serde_json::to_vec(header).expect("json");
    hbytes.resize(hbytes.len().div_ceil(8) * 8, b' ');
    let mut out = (hbytes.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&hbytes);
    out.extend_from_slice(data);
    std::fs::write(path, &out).expect("write");
}

#[test]
fn missing_or_corrupt_weights_give_errors() {
    let missing = scratch("does-not-exist.safetensors");
    assert!(matches!(
        Musicnn::load(&missing, Device::Cpu),
        Err(MusicnnError::Io { .. })
    ));

    let garbage = scratch("garbage.safetensors");
    std::fs::write(&garbage, b"this is not a safetensors file at all").expect("write");
    let err = Musicnn::load(&garbage, Device::Cpu).expect_err("garbage must fail");
    assert!(matches!(err, MusicnnError::Corrupt { .. }), "{err}");

    let empty = scratch("empty.safetensors");
    std::fs::write(&empty, b"").expect("write");
    assert!(matches!(
        Musicnn::load(&empty, Device::Cpu),
        Err(MusicnnError::Corrupt { .. })
    ));

    // Truncated real file: header intact, data cut short.
    let bytes = std::fs::read(weights_path()).expect("read weights");
    let truncated = scratch("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    let err = Musicnn::load(&truncated, Device::Cpu).expect_err("truncated must fail");
    assert!(matches!(err, MusicnnError::Corrupt { .. }), "{err}");

    // Header cut in the middle.
    let cut = scratch("cut-header.safetensors");
    std::fs::write(&cut, &bytes[..100]).expect("write");
    assert!(matches!(
        Musicnn::load(&cut, Device::Cpu),
        Err(MusicnnError::Corrupt { .. })
    ));

    // Real file whose last value is overwritten with a NaN.
    let mut nan = bytes.clone();
    let len = nan.len();
    nan[len - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    let nan_path = scratch("nan.safetensors");
    std::fs::write(&nan_path, &nan).expect("write");
    let err = Musicnn::load(&nan_path, Device::Cpu).expect_err("NaN weights must fail");
    assert!(matches!(err, MusicnnError::BadTensor { .. }), "{err}");

    // A valid safetensors file with the right metadata but a wrongly shaped tensor.
    let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header: serde_json::Value =
        serde_json::from_slice(&bytes[8..8 + header_len]).expect("header json");
    let meta = header["__metadata__"].clone();
    let t = Tensor::zeros([3], (Kind::Float, Device::Cpu));
    let partial = scratch("partial.safetensors");
    Tensor::write_safetensors(&[("frontend.bn_input.gamma", &t)], &partial).expect("write");
    let written = std::fs::read(&partial).expect("read back");
    let wlen = u64::from_le_bytes(written[..8].try_into().expect("8 bytes")) as usize;
    let mut h: serde_json::Value =
        serde_json::from_slice(&written[8..8 + wlen]).expect("header json");
    h["__metadata__"] = meta;
    write_safetensors_raw(&partial, &h, &written[8 + wlen..]);
    let err = Musicnn::load(&partial, Device::Cpu).expect_err("partial must fail");
    // frontend.bn_input.gamma has the wrong shape ([3] instead of [1]).
    assert!(matches!(err, MusicnnError::BadTensor { .. }), "{err}");
    println!("partial file error: {err}");

    // Same, with no tensors at all: the first one the model asks for is missing.
    let mut h2 = h.clone();
    if let Some(obj) = h2.as_object_mut() {
        obj.retain(|k, _| k == "__metadata__");
    }
    let none = scratch("no-tensors.safetensors");
    write_safetensors_raw(&none, &h2, &[]);
    let err = Musicnn::load(&none, Device::Cpu).expect_err("empty model must fail");
    assert!(
        matches!(&err, MusicnnError::MissingTensor { name, .. } if name == "frontend.bn_input.gamma"),
        "{err}"
    );

    // Weights without the musicnn metadata are rejected up front.
    let plain = scratch("plain.safetensors");
    Tensor::write_safetensors(&[("x", &t)], &plain).expect("write");
    assert!(matches!(
        Musicnn::load(&plain, Device::Cpu),
        Err(MusicnnError::Corrupt { .. })
    ));

    let _ = std::fs::remove_dir_all(missing.parent().expect("scratch dir"));
}
