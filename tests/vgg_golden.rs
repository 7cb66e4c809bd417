//! Differential test of the Rust port of musicnn's VGG taggers (`model::vgg`) against
//! TensorFlow: `tests/golden/vgg/{msd,mtt}_vgg.safetensors` hold `patches` (N,187,96) and
//! the original TF graph's `taggram` (N,50) and pool5 `embedding` (N,256), written by
//! `tools/musicnn/convert_vgg.py`. TensorFlow is not needed here.

mod common;

use common::{max_abs_diff, repo};
use tch::{Device, Kind, Tensor};
use valence::model::musicnn::{MusicnnError, N_TAGS};
use valence::model::vgg::{Vgg, VGG_EMBEDDING_DIM};

const TOLERANCE: f64 = 1e-4;

fn check(model: &str) {
    let weights = repo().join(format!("assets/models/{model}.safetensors"));
    let golden = repo().join(format!("tests/golden/vgg/{model}.safetensors"));
    let net = Vgg::load(&weights, Device::Cpu)
        .unwrap_or_else(|e| panic!("cannot load {}: {e}", weights.display()));
    assert_eq!(net.tag_names().len(), N_TAGS);
    let mut tensors: std::collections::HashMap<String, Tensor> = Tensor::read_safetensors(&golden)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", golden.display()))
        .into_iter()
        .collect();
    let mut take = |name: &str| {
        tensors
            .remove(name)
            .unwrap_or_else(|| panic!("{} lacks `{name}`", golden.display()))
    };
    let (patches, taggram, embedding) = (take("patches"), take("taggram"), take("embedding"));
    let n = patches.size()[0];
    assert!(n >= 4, "{n} golden patches");
    let out = net.try_forward(&patches).expect("forward");
    assert_eq!(out.embedding.size(), [n, VGG_EMBEDDING_DIM as i64]);
    let dt = max_abs_diff(&out.taggram, &taggram);
    let de = max_abs_diff(&out.embedding, &embedding);
    assert!(
        dt < TOLERANCE && de < TOLERANCE,
        "{model}: max |diff| taggram {dt:e}, embedding {de:e}"
    );
    // The patches differ, so do their tags: a port that ignored its input would fail here.
    let spread = out.taggram.std_dim(&[0i64][..], true, false).max();
    assert!(spread.double_value(&[]) > 0.05, "{model}: tags do not vary");
    // One patch at a time gives the same as the batch.
    let one = net
        .try_forward(&patches.narrow(0, 1, 1))
        .expect("forward one");
    assert!(max_abs_diff(&one.embedding, &out.embedding.narrow(0, 1, 1)) < 1e-5);
}

#[test]
fn mtt_vgg_matches_tensorflow() {
    check("mtt_vgg");
}

/// MSD_vgg's checkpoint pools differently from `musicnn/models.py` (read from its graph by
/// the converter and stored as `pools`): the port must follow the file.
#[test]
fn msd_vgg_matches_tensorflow() {
    check("msd_vgg");
}

#[test]
fn bad_input_and_bad_files_are_errors() {
    let net = Vgg::load(
        &repo().join("assets/models/mtt_vgg.safetensors"),
        Device::Cpu,
    )
    .expect("load");
    for shape in [[1i64, 100, 96], [0, 187, 96], [2, 187, 64]] {
        assert!(matches!(
            net.try_forward(&Tensor::zeros(shape, (Kind::Float, Device::Cpu))),
            Err(MusicnnError::BadInput(_))
        ));
    }
    // A musicnn file is not a VGG file.
    let musicnn = repo().join("assets/models/msd_musicnn.safetensors");
    assert!(matches!(
        Vgg::load(&musicnn, Device::Cpu),
        Err(MusicnnError::Corrupt { .. })
    ));
    // A truncated copy is refused with a reason.
    let dir = tempfile::tempdir().expect("tempdir");
    let cut = dir.path().join("cut.safetensors");
    let bytes = std::fs::read(repo().join("assets/models/mtt_vgg.safetensors")).expect("read");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    assert!(Vgg::load(&cut, Device::Cpu).is_err());
}
