//! The five seed papers' systems as trainable networks (issue 19), each on its own inputs
//! (`features::seed_inputs`). Every network ends in the same head as the shipped emotion
//! model: a valence/arousal point in [-1, 1] (`tanh`), whose quadrant is the class, so the
//! rows of the comparison differ only in architecture and inputs.
//!
//! Sizes the papers leave open are chosen in `docs/seeds.md` (with the section followed).

use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

use crate::features::seed_inputs::{parts, PartSpec};

mod seed000;
mod seed001;
mod seed002;
mod seed003;
mod seed004;

pub use seed000::Seed000;
pub use seed001::Seed001;
pub use seed002::Seed002;
pub use seed003::Seed003;
pub use seed004::Seed004;

/// A seed system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SeedArch {
    /// Paper 000: BiGRU + multi-head self-attention over the 66-d segment descriptor.
    Seed000,
    /// Paper 001: 3-layer LSTM + soft attention over the 50-d segment features.
    Seed001,
    /// Paper 002: CRNN on the mel spectrogram + Bi-LSTM on MFCC / residual-phase frames,
    /// with the improved center loss.
    Seed002,
    /// Paper 003: 1-D Inception + residual blocks + GRU on log-STFT frames.
    Seed003,
    /// Paper 004: MultiSpec (wide- and narrowband spectrograms, CBAM CNN, BLSTM) + chords.
    Seed004,
}

impl SeedArch {
    pub const ALL: [SeedArch; 5] = [
        SeedArch::Seed000,
        SeedArch::Seed001,
        SeedArch::Seed002,
        SeedArch::Seed003,
        SeedArch::Seed004,
    ];
    /// 0..=4.
    pub fn index(self) -> usize {
        self as usize
    }
    /// "seed000".
    pub fn name(self) -> &'static str {
        ["seed000", "seed001", "seed002", "seed003", "seed004"][self.index()]
    }
    /// The input parts, in the order `forward_t` takes them.
    pub fn parts(self) -> &'static [PartSpec] {
        parts(self.index())
    }
}

/// A batch's outputs.
pub struct SeedOutput {
    /// (B, 2) valence/arousal in [-1, 1].
    pub va: Tensor,
    /// (B, H) the representation the point is read from (the center loss's input).
    pub repr: Tensor,
}

/// One seed network. `xs[k]` is part k of `SeedArch::parts`, standardised, with a leading
/// batch dimension: (B, shape...). The time axis may be shorter than the spec's (tests use
/// short clips); the other axes are as specified.
pub trait SeedNet: Send {
    fn forward_t(&self, xs: &[Tensor], train: bool) -> SeedOutput;
}

/// The network of `arch`, its variables under `p`.
pub fn build(arch: SeedArch, p: &nn::Path) -> Box<dyn SeedNet> {
    match arch {
        SeedArch::Seed000 => Box::new(Seed000::new(p)),
        SeedArch::Seed001 => Box::new(Seed001::new(p)),
        SeedArch::Seed002 => Box::new(Seed002::new(p)),
        SeedArch::Seed003 => Box::new(Seed003::new(p)),
        SeedArch::Seed004 => Box::new(Seed004::new(p)),
    }
}

/// Trainable parameters (elements) of `vs`; batch-norm running statistics are not counted.
pub fn param_count(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}

/// Batch norm as PyTorch initialises it (scale 1, shift 0; tch's default scale is U(0, 1)).
fn bn_config() -> nn::BatchNormConfig {
    nn::BatchNormConfig {
        ws_init: nn::Init::Const(1.0),
        ..Default::default()
    }
}

/// A batch-first recurrent layer's config, without inter-layer dropout: tch applies an RNN's
/// own dropout whenever its config says `train`, whatever `forward_t` is told.
fn rnn_config(num_layers: i64, bidirectional: bool) -> nn::RNNConfig {
    nn::RNNConfig {
        num_layers,
        bidirectional,
        batch_first: true,
        ..Default::default()
    }
}

/// The head every network ends in: `repr` -> dropout -> linear(H, 2) -> tanh.
fn head(linear: &nn::Linear, repr: Tensor, dropout: f64, train: bool) -> SeedOutput {
    use tch::nn::Module;
    let va = linear.forward(&repr.dropout(dropout, train)).tanh();
    SeedOutput { va, repr }
}

#[cfg(test)]
mod tests {
    use tch::nn::OptimizerConfig;
    use tch::{Device, Kind, Tensor};

    use super::*;
    use crate::features::seed_inputs::{SEED_FRAMES, SEED_SEGMENTS};

    /// A part's shape with a batch of `b`, its time axis cut to `frames` frames or `segs`
    /// segments.
    fn shape(spec: &PartSpec, b: i64, frames: i64, segs: i64) -> Vec<i64> {
        let mut s = vec![b];
        for (axis, &n) in spec.shape.iter().enumerate() {
            let n = if axis == spec.feature_axis {
                n as i64
            } else if n == SEED_FRAMES {
                frames
            } else if n == SEED_SEGMENTS {
                segs
            } else {
                panic!("{}: unknown time axis of {n}", spec.name)
            };
            s.push(n);
        }
        s
    }

    fn noise(arch: SeedArch, b: i64, frames: i64, segs: i64) -> Vec<Tensor> {
        arch.parts()
            .iter()
            .map(|p| Tensor::randn(shape(p, b, frames, segs), (Kind::Float, Device::Cpu)))
            .collect()
    }

    fn values(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(t.detach().contiguous().view([-1])).unwrap()
    }

    fn fresh(arch: SeedArch) -> (nn::VarStore, Box<dyn SeedNet>) {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = build(arch, &vs.root());
        (vs, net)
    }

    #[test]
    fn outputs_have_the_heads_shapes_range_and_are_deterministic_in_eval() {
        tch::manual_seed(0);
        for arch in SeedArch::ALL {
            let (_vs, net) = fresh(arch);
            for (frames, segs) in [(64, 6), (16, 2), (17, 1)] {
                let xs = noise(arch, 3, frames, segs);
                let train = net.forward_t(&xs, true);
                assert_eq!(train.va.size(), [3, 2], "{}", arch.name());
                let a = net.forward_t(&xs, false);
                let b = net.forward_t(&xs, false);
                assert_eq!(a.va.size(), [3, 2], "{}", arch.name());
                let r = a.repr.size();
                assert!(
                    r.len() == 2 && r[0] == 3 && r[1] > 0,
                    "{}: {r:?}",
                    arch.name()
                );
                let va = values(&a.va);
                assert!(
                    va.iter().all(|v| v.is_finite() && (-1.0..=1.0).contains(v)),
                    "{}: {va:?}",
                    arch.name()
                );
                assert_eq!(va, values(&b.va), "{}", arch.name());
                assert_eq!(values(&a.repr), values(&b.repr), "{}", arch.name());
            }
        }
    }

    /// 48 items in 4 quadrants: noise plus +-1 on the first quarter of every part's
    /// features (the valence sign) and on its third quarter (the arousal sign). Trains
    /// full-batch and returns (first loss, last loss, quadrant accuracy in eval mode).
    fn fit_quadrants(arch: SeedArch) -> (f64, f64, f64) {
        tch::manual_seed(19);
        let n = 48i64;
        let (frames, segs) = (32, 6);
        let signs: Vec<[f32; 2]> = (0..n)
            .map(|i| match i % 4 {
                0 => [1.0, 1.0],
                1 => [-1.0, 1.0],
                2 => [-1.0, -1.0],
                _ => [1.0, -1.0],
            })
            .collect();
        let flat: Vec<f32> = signs.iter().flatten().copied().collect();
        let sign = Tensor::from_slice(&flat).view([n, 2]);
        let xs: Vec<Tensor> = arch
            .parts()
            .iter()
            .map(|p| {
                let s = shape(p, n, frames, segs);
                let f = p.shape[p.feature_axis] as i64;
                // (f, 2): which sign each feature carries.
                let mut m = vec![0f32; f as usize * 2];
                for j in 0..f {
                    match 4 * j / f {
                        0 => m[j as usize * 2] = 1.0,
                        2 => m[j as usize * 2 + 1] = 1.0,
                        _ => {}
                    }
                }
                let carries = Tensor::from_slice(&m).view([f, 2]);
                // (n, f): each item's pattern.
                let pattern = sign.matmul(&carries.transpose(0, 1));
                let mut view = vec![n, 1, 1];
                view.truncate(s.len());
                view[1 + p.feature_axis] = f;
                Tensor::randn(&s, (Kind::Float, Device::Cpu)) + pattern.view(view.as_slice())
            })
            .collect();
        let target = &sign * 0.5;
        let (vs, net) = fresh(arch);
        let mut opt = nn::Adam::default().build(&vs, 3e-3).unwrap();
        let mut losses = vec![];
        for _ in 0..60 {
            let out = net.forward_t(&xs, true);
            let loss = out.va.mse_loss(&target, tch::Reduction::Mean);
            losses.push(loss.double_value(&[]));
            opt.backward_step(&loss);
        }
        let va = tch::no_grad(|| net.forward_t(&xs, false).va);
        let right = values(&va.sign().eq_tensor(&sign).to_kind(Kind::Float));
        let hits = right.chunks(2).filter(|c| c[0] > 0.5 && c[1] > 0.5).count();
        (losses[0], *losses.last().unwrap(), hits as f64 / n as f64)
    }

    fn assert_learns(arch: SeedArch) {
        let (first, last, acc) = fit_quadrants(arch);
        println!(
            "{}: loss {first:.3} -> {last:.3}, accuracy {acc:.3}",
            arch.name()
        );
        assert!(
            last < 0.5 * first,
            "{}: loss {first} -> {last}",
            arch.name()
        );
        assert!(acc >= 0.9, "{}: accuracy {acc}", arch.name());
    }

    #[test]
    fn seed000_learns_separable_quadrants() {
        assert_learns(SeedArch::Seed000);
    }

    #[test]
    fn seed001_learns_separable_quadrants() {
        assert_learns(SeedArch::Seed001);
    }

    #[test]
    fn seed002_learns_separable_quadrants() {
        assert_learns(SeedArch::Seed002);
    }

    #[test]
    fn seed003_learns_separable_quadrants() {
        assert_learns(SeedArch::Seed003);
    }

    #[test]
    fn seed004_learns_separable_quadrants() {
        assert_learns(SeedArch::Seed004);
    }

    #[test]
    fn weights_round_trip_through_a_file() {
        tch::manual_seed(1);
        let dir = tempfile::tempdir().unwrap();
        for arch in SeedArch::ALL {
            let (vs, net) = fresh(arch);
            let xs = noise(arch, 4, 40, 5);
            // A training pass moves the batch-norm statistics away from their initial values.
            let _ = net.forward_t(&xs, true);
            let before = net.forward_t(&xs, false);
            let path = dir.path().join(format!("{}.safetensors", arch.name()));
            vs.save(&path).unwrap();
            tch::manual_seed(2);
            let (mut vs2, net2) = fresh(arch);
            assert_ne!(
                values(&net2.forward_t(&xs, false).va),
                values(&before.va),
                "{}: a fresh network already agrees",
                arch.name()
            );
            vs2.load(&path).unwrap();
            let after = net2.forward_t(&xs, false);
            assert_eq!(values(&before.va), values(&after.va), "{}", arch.name());
            assert_eq!(values(&before.repr), values(&after.repr), "{}", arch.name());
        }
    }

    #[test]
    fn parameter_counts_are_small() {
        for arch in SeedArch::ALL {
            let (vs, _net) = fresh(arch);
            let n = param_count(&vs);
            let direct: i64 = vs.variables().values().map(|t| t.numel() as i64).sum();
            println!("{}: {n} parameters", arch.name());
            assert!(n > 1000 && n < 1_000_000, "{}: {n}", arch.name());
            // Batch-norm running statistics are stored but not counted.
            assert!(n <= direct, "{}: {n} > {direct}", arch.name());
        }
    }
}
