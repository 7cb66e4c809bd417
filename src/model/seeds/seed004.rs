//! Seed 004: MultiSpec-DNN (wide- and narrowband spectrograms, CBAM CNN, BLSTM) + chords.

use tch::nn::{self, Module, ModuleT, RNN};
use tch::{Kind, Tensor};

use super::{bn_config, head, rnn_config, SeedNet, SeedOutput};
use crate::features::seed_inputs::SEED004_PARTS;

/// Paper 004, §IV.A (Fig. 2) and §IV.B: 1) two spectrograms, 2a) a 3x3 conv on each,
/// concatenated on channels, 2b) four 3x3 conv layers of 32, 48, 64, 80 kernels each with
/// CBAM (eqs. 5-6), 3) a BLSTM along time, two dense layers; plus the chord vector (§III).
///
/// - wide (B, 64, T) and narrow (B, 64, T): each conv 3x3 stride 2 -> 16 channels, BN +
///   ReLU; concatenated (32 channels), then max-pool 2 x 2 (-> 16 bands x T/4);
/// - 4 layers: conv 3x3 (32, 48, 64, 80) + BN + ReLU, CBAM (channel MLP C -> C/8 -> C on
///   the max- and avg-pooled vectors, sigmoid; spatial 7x7 conv over the channel max and
///   mean maps, sigmoid), max-pool 2 x 2 (-> 1 band x T/64: 11 steps at T = 646);
/// - BLSTM 128 per direction over time (80 bands x channels per step), mean over time (256);
/// - chords (B, 25) -> linear(25, 32) without bias (32);
/// - concat (288) -> dense 128 + ReLU -> dense 64 + ReLU = `repr` (B, 64), dropout 0.3 ->
///   linear(64, 2) -> tanh.
///
/// Deviations: the stem's stride 2 and max-pool 2 x 2 (the paper only pools after the later
/// layers) keep the stem and the first 32-channel layer cheap (a stride-1 stem alone took
/// ~1.4 s of a 32-clip training step on 2 cores); the BLSTM output is averaged over time (the paper
/// flattens it: our T varies); Chord2Vec's skip-gram chord embeddings summed over the song
/// are stood in for by a learned embedding of the 25 chord classes weighted by the clip's
/// chord histogram (the linear layer). Pools use ceil mode, so any T >= 1 works.
pub struct Seed004 {
    wide: nn::Conv2D,
    wide_bn: nn::BatchNorm,
    narrow: nn::Conv2D,
    narrow_bn: nn::BatchNorm,
    layers: Vec<ConvCbam>,
    blstm: nn::LSTM,
    chords: nn::Linear,
    fc1: nn::Linear,
    fc2: nn::Linear,
    va: nn::Linear,
}

pub const STEM: i64 = 16;
pub const STEM_STRIDE: i64 = 2;
pub const STEM_POOL: i64 = 2;
pub const LAYERS: [i64; 4] = [32, 48, 64, 80];
pub const CBAM_REDUCTION: i64 = 8;
pub const LSTM_HIDDEN: i64 = 128;
pub const CHORD_EMBEDDING: i64 = 32;
pub const FC: [i64; 2] = [128, 64];
pub const DROPOUT: f64 = 0.3;

fn ceil_div(a: i64, b: i64) -> i64 {
    (a + b - 1) / b
}

fn conv2d(p: nn::Path, i: i64, o: i64, k: i64, stride: i64, bias: bool) -> nn::Conv2D {
    nn::conv2d(
        p,
        i,
        o,
        k,
        nn::ConvConfig {
            padding: k / 2,
            stride,
            bias,
            ..Default::default()
        },
    )
}

fn max_pool(x: &Tensor, k: i64) -> Tensor {
    x.max_pool2d([k, k], [k, k], [0, 0], [1, 1], true)
}

/// CBAM (Woo et al. 2018) as paper 004 eqs. 5-6 describe it.
struct Cbam {
    mlp0: nn::Linear,
    mlp1: nn::Linear,
    spatial: nn::Conv2D,
}

impl Cbam {
    fn new(p: &nn::Path, c: i64) -> Self {
        let r = (c / CBAM_REDUCTION).max(1);
        Self {
            mlp0: nn::linear(p / "mlp0", c, r, Default::default()),
            mlp1: nn::linear(p / "mlp1", r, c, Default::default()),
            spatial: conv2d(p / "spatial", 2, 1, 7, 1, true),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let (b, c) = (x.size()[0], x.size()[1]);
        let mlp = |v: Tensor| self.mlp1.forward(&self.mlp0.forward(&v).relu());
        let mx = x.amax([2, 3], false);
        let avg = x.mean_dim(&[2i64, 3][..], false, Kind::Float);
        let mc = (mlp(mx) + mlp(avg)).sigmoid().view([b, c, 1, 1]);
        let x = x * mc;
        let maps = Tensor::cat(&[x.amax([1], true), x.mean_dim(1, true, Kind::Float)], 1);
        let ms = self.spatial.forward(&maps).sigmoid();
        x * ms
    }
}

struct ConvCbam {
    conv: nn::Conv2D,
    bn: nn::BatchNorm,
    cbam: Cbam,
}

impl ConvCbam {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = self.bn.forward_t(&self.conv.forward(x), train).relu();
        max_pool(&self.cbam.forward(&y), 2)
    }
}

impl Seed004 {
    pub fn new(p: &nn::Path) -> Self {
        let bands = SEED004_PARTS[0].shape[0] as i64;
        let chords = SEED004_PARTS[2].shape[0] as i64;
        let mut c = 2 * STEM;
        let mut f = ceil_div(ceil_div(bands, STEM_STRIDE), STEM_POOL);
        let layers = LAYERS
            .iter()
            .enumerate()
            .map(|(i, &o)| {
                let l = ConvCbam {
                    conv: conv2d(p / format!("conv{i}"), c, o, 3, 1, false),
                    bn: nn::batch_norm2d(p / format!("bn{i}"), o, bn_config()),
                    cbam: Cbam::new(&(p / format!("cbam{i}")), o),
                };
                c = o;
                f = ceil_div(f, 2);
                l
            })
            .collect();
        let no_bias = nn::LinearConfig {
            bias: false,
            ..Default::default()
        };
        Self {
            wide: conv2d(p / "wide", 1, STEM, 3, STEM_STRIDE, false),
            wide_bn: nn::batch_norm2d(p / "wide_bn", STEM, bn_config()),
            narrow: conv2d(p / "narrow", 1, STEM, 3, STEM_STRIDE, false),
            narrow_bn: nn::batch_norm2d(p / "narrow_bn", STEM, bn_config()),
            layers,
            blstm: nn::lstm(p / "blstm", c * f, LSTM_HIDDEN, rnn_config(1, true)),
            chords: nn::linear(p / "chords", chords, CHORD_EMBEDDING, no_bias),
            fc1: nn::linear(
                p / "fc1",
                2 * LSTM_HIDDEN + CHORD_EMBEDDING,
                FC[0],
                Default::default(),
            ),
            fc2: nn::linear(p / "fc2", FC[0], FC[1], Default::default()),
            va: nn::linear(p / "va", FC[1], 2, Default::default()),
        }
    }
}

impl SeedNet for Seed004 {
    fn forward_t(&self, xs: &[Tensor], train: bool) -> SeedOutput {
        let stem = |conv: &nn::Conv2D, bn: &nn::BatchNorm, x: &Tensor| {
            bn.forward_t(&conv.forward(&x.unsqueeze(1)), train).relu()
        };
        let x = Tensor::cat(
            &[
                stem(&self.wide, &self.wide_bn, &xs[0]),
                stem(&self.narrow, &self.narrow_bn, &xs[1]),
            ],
            1,
        );
        let mut h = max_pool(&x, STEM_POOL);
        for layer in &self.layers {
            h = layer.forward_t(&h, train);
        }
        // (B, C, F, T') -> (B, T', C * F)
        let seq = h.permute([0, 3, 1, 2]).flatten(2, 3).contiguous();
        let (out, _) = self.blstm.seq(&seq);
        let spec = out.mean_dim(1, false, Kind::Float);
        let chords = self.chords.forward(&xs[2]);
        let e = Tensor::cat(&[spec, chords], 1);
        let repr = self.fc2.forward(&self.fc1.forward(&e).relu()).relu();
        head(&self.va, repr, DROPOUT, train)
    }
}
