//! A small CNN distilled from MSD-musicnn (issue 16's first lever): the same log-mel patch
//! in, musicnn's 200-d embedding and 50 tag probabilities out, for ~1/20 of the arithmetic.
//! Trained by `train::distill` (`valence distill`). The analyser runs it in musicnn's place
//! for an emotion model that names it (`EmotionConfig::patch_net`, written by `valence train
//! --patch-net`); the shipped model does not.
//!
//! ```text
//! input (187, 96) -> BN (1 channel)
//! 4 x: conv2d 3 x 3 (pad 1) -> BN -> ReLU -> max pool 2 x 2   channels 16, 32, 64, 128
//!   (187, 96) -> (93, 48) -> (46, 24) -> (23, 12) -> (11, 6)
//! mean and max over (time, mel) -> 256 -> dense 256 -> 250
//!   [0, 200): the embedding (de-standardised with the teacher's training mean / sd)
//!   [200, 250): tag logits -> sigmoid
//! ```
//!
//! Multiply-accumulates per patch: 2.6 M + 20.6 M + 20.3 M + 20.3 M + 0.06 M = ~64 M,
//! against ~1.4 G for musicnn.

use std::path::Path;

use tch::nn::{self, Module, ModuleT};
use tch::{Device, Kind, Tensor};

use super::musicnn::{check_patches, MusicnnError, EMBEDDING_DIM, N_TAGS};

/// Channels of the four convolution blocks.
pub const CHANNELS: [i64; 4] = [16, 32, 64, 128];
/// Outputs of the head: embedding, then tag logits.
const OUT: i64 = (EMBEDDING_DIM + N_TAGS) as i64;

/// The network (weights in a `VarStore`, so it can be trained and saved).
#[derive(Debug)]
pub struct StudentNet {
    bn_input: nn::BatchNorm,
    blocks: Vec<(nn::Conv2D, nn::BatchNorm)>,
    head: nn::Linear,
    /// The teacher embedding's per-dimension mean and sd on the training patches (not
    /// trained): the head predicts standardised embeddings.
    emb_mean: Tensor,
    emb_std: Tensor,
}

impl StudentNet {
    pub fn new(p: &nn::Path) -> Self {
        let bn_input = nn::batch_norm2d(p / "bn_input", 1, Default::default());
        let mut blocks = Vec::new();
        let mut c_in = 1;
        for (k, &c) in CHANNELS.iter().enumerate() {
            let conv = nn::conv2d(
                p / format!("conv{k}"),
                c_in,
                c,
                3,
                nn::ConvConfig {
                    padding: 1,
                    ..Default::default()
                },
            );
            let bn = nn::batch_norm2d(p / format!("bn{k}"), c, Default::default());
            blocks.push((conv, bn));
            c_in = c;
        }
        let head = nn::linear(p / "head", 2 * c_in, OUT, Default::default());
        let emb_mean = p.zeros_no_train("emb_mean", &[EMBEDDING_DIM as i64]);
        let emb_std = p.ones_no_train("emb_std", &[EMBEDDING_DIM as i64]);
        StudentNet {
            bn_input,
            blocks,
            head,
            emb_mean,
            emb_std,
        }
    }

    /// Sets the embedding's standardisation (before training).
    pub fn set_standardisation(&mut self, mean: &Tensor, std: &Tensor) {
        tch::no_grad(|| {
            self.emb_mean.copy_(mean);
            self.emb_std.copy_(std);
        });
    }

    /// The embedding's standardisation (mean, sd) the head was trained with.
    pub fn standardisation(&self) -> (&Tensor, &Tensor) {
        (&self.emb_mean, &self.emb_std)
    }

    /// `(N, 187, 96)` patches -> `(N, 250)`: standardised embedding, then tag logits.
    pub fn raw(&self, x: &Tensor, train: bool) -> Tensor {
        let mut h = self.bn_input.forward_t(&x.unsqueeze(1), train);
        for (conv, bn) in &self.blocks {
            h = max_pool_2x2(&bn.forward_t(&conv.forward(&h), train).relu());
        }
        let pooled = Tensor::cat(
            &[
                h.mean_dim(&[2i64, 3][..], false, Kind::Float),
                h.amax([2, 3], false),
            ],
            1,
        );
        self.head.forward(&pooled)
    }

    /// (taggram, embedding in musicnn's scale) in eval mode.
    pub fn outputs(&self, x: &Tensor) -> (Tensor, Tensor) {
        let y = self.raw(x, false);
        let emb = y.narrow(1, 0, EMBEDDING_DIM as i64) * &self.emb_std + &self.emb_mean;
        let tags = y.narrow(1, EMBEDDING_DIM as i64, N_TAGS as i64).sigmoid();
        (tags, emb)
    }
}

/// `max_pool2d` with a 2 x 2 window and stride (floor mode: an odd last row or column is
/// dropped), as the maximum of strided views, rows first.
///
/// Why not `max_pool2d`: libtorch's CPU kernel for this layout took 5-10x longer on these
/// maps (about 45 % of the student's inference time); the maximum is exact either way, so
/// the outputs are identical (`max_pool_2x2_equals_max_pool2d`).
fn max_pool_2x2(h: &Tensor) -> Tensor {
    let (rows, cols) = (h.size()[2] / 2 * 2, h.size()[3] / 2 * 2);
    let r = h.slice(2, 0, rows, 2).maximum(&h.slice(2, 1, rows, 2));
    r.slice(3, 0, cols, 2).maximum(&r.slice(3, 1, cols, 2))
}

/// A trained student, loaded for inference.
#[derive(Debug)]
pub struct Student {
    vs: nn::VarStore,
    net: StudentNet,
}

impl Student {
    /// Loads `student.safetensors` written by `valence distill`.
    pub fn load(path: &Path, device: Device) -> Result<Self, MusicnnError> {
        let mut vs = nn::VarStore::new(device);
        let net = StudentNet::new(&vs.root());
        vs.load(path).map_err(|e| MusicnnError::Corrupt {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        vs.freeze();
        Ok(Student { vs, net })
    }

    pub fn try_forward(&self, patches: &Tensor) -> Result<(Tensor, Tensor), MusicnnError> {
        check_patches(patches)?;
        let x = patches
            .f_to_kind(Kind::Float)?
            .f_to_device(self.vs.device())?;
        Ok(tch::no_grad(|| self.net.outputs(&x)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::musicnn::{N_FRAMES, N_MELS};

    #[test]
    fn max_pool_2x2_equals_max_pool2d() {
        tch::manual_seed(3);
        for (rows, cols) in [(187, 96), (93, 48), (23, 12), (11, 7), (2, 2), (3, 3)] {
            let h = Tensor::randn([2, 5, rows, cols], (Kind::Float, Device::Cpu));
            let want = h.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false);
            let got = max_pool_2x2(&h);
            assert_eq!(got.size(), want.size(), "{rows} x {cols}");
            assert!(got.equal(&want), "{rows} x {cols}");
        }
    }

    #[test]
    fn a_saved_student_loads_and_checks_its_input() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut net = StudentNet::new(&vs.root());
        let mean = Tensor::full([EMBEDDING_DIM as i64], 2.0, (Kind::Float, Device::Cpu));
        let std = Tensor::full([EMBEDDING_DIM as i64], 3.0, (Kind::Float, Device::Cpu));
        net.set_standardisation(&mean, &std);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("student.safetensors");
        vs.save(&path).expect("save");

        let s = Student::load(&path, Device::Cpu).expect("load");
        let x = Tensor::rand(
            [3, N_FRAMES as i64, N_MELS as i64],
            (Kind::Float, Device::Cpu),
        );
        let (tags, emb) = s.try_forward(&x).expect("forward");
        assert_eq!(tags.size(), [3, N_TAGS as i64]);
        assert_eq!(emb.size(), [3, EMBEDDING_DIM as i64]);
        let (lo, hi) = (tags.min().double_value(&[]), tags.max().double_value(&[]));
        assert!((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi));
        // The stored standardisation comes back: the same net's outputs, de-standardised.
        let (_, want) = tch::no_grad(|| net.outputs(&x));
        assert!((emb - want).abs().max().double_value(&[]) < 1e-5);

        for shape in [[1i64, 10, 96], [0, 187, 96]] {
            assert!(matches!(
                s.try_forward(&Tensor::zeros(shape, (Kind::Float, Device::Cpu))),
                Err(MusicnnError::BadInput(_))
            ));
        }
        std::fs::write(&path, b"not weights").expect("write");
        assert!(matches!(
            Student::load(&path, Device::Cpu),
            Err(MusicnnError::Corrupt { .. })
        ));
    }
}
