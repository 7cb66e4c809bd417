//! Seed 002: a CRNN on the mel spectrogram and a Bi-LSTM on the low-level descriptor frames.

use tch::nn::{self, Module, ModuleT, RNN};
use tch::{Kind, Tensor};

use super::{bn_config, head, rnn_config, SeedNet, SeedOutput};
use crate::features::seed_inputs::SEED002_PARTS;

/// Paper 002, §2.3.1 (CRNN, Fig. 4), §2.3.2 (Bi-LSTM on the LLDs, Fig. 5) and §2.1 (Fig. 3:
/// the two embeddings concatenated, fully connected). The improved center loss (§2.4.2) is
/// the trainer's, on `repr`.
///
/// CRNN branch on the mel spectrogram (B, 96, T) as one image, first averaged 2 x 2 (48
/// bands x T/2 frames of 93 ms):
/// - C1: 8 kernels (1, 7) along time and 8 kernels (7, 1) along frequency ("same" padding),
///   concatenated to 16 channels, BN + ReLU, max-pool P1 2 x 2 (-> 24 x T/4);
/// - C2: 32 kernels 3 x 3, BN + ReLU, max-pool P2 4 x 4 (-> 6 bands x ceil(T / 16) steps);
/// - Bi-LSTM 64 per direction over the steps (6 bands x 32 channels = 192 per step), mean
///   over time (128).
///
/// LLD branch on (B, T, 59): average-pooled by 4 over time (for speed: 162 steps instead of
/// 646), Bi-LSTM 64 per direction, mean over time (128).
///
/// Fusion: concat (256) -> linear(256, 128) + ReLU = `repr` (B, 128), dropout 0.3 ->
/// linear(128, 2) -> tanh.
///
/// Deviations: the 2 x 2 input average (C1 at full resolution took ~0.7 s of a 32-clip
/// training step on 2 cores; here C1's kernels span 14 bands / 650 ms); the paper pools
/// "over time" only, P1/P2 also pool frequency so that a step is 192-d rather than 3072-d.
/// Pools use ceil mode, so any T >= 1 works.
pub struct Seed002 {
    c1_time: nn::Conv2D,
    c1_freq: nn::Conv2D,
    bn1: nn::BatchNorm,
    c2: nn::Conv2D,
    bn2: nn::BatchNorm,
    crnn_lstm: nn::LSTM,
    lld_lstm: nn::LSTM,
    fc: nn::Linear,
    va: nn::Linear,
}

pub const C1_CHANNELS: i64 = 8;
pub const C2_CHANNELS: i64 = 32;
pub const INPUT_POOL: i64 = 2;
pub const P1: i64 = 2;
pub const P2: i64 = 4;
pub const LSTM_HIDDEN: i64 = 64;
pub const LLD_POOL: i64 = 4;
pub const REPR: i64 = 128;
pub const DROPOUT: f64 = 0.3;

fn ceil_div(a: i64, b: i64) -> i64 {
    (a + b - 1) / b
}

impl Seed002 {
    pub fn new(p: &nn::Path) -> Self {
        let bands = SEED002_PARTS[0].shape[0] as i64;
        let lld = SEED002_PARTS[1].shape[1] as i64;
        let conv = |name: &str, i: i64, o: i64, k: [i64; 2], pad: [i64; 2]| {
            nn::conv(
                p / name,
                i,
                o,
                k,
                nn::ConvConfigND::<[i64; 2]> {
                    padding: pad,
                    ..Default::default()
                },
            )
        };
        let pooled_bands = ceil_div(ceil_div(ceil_div(bands, INPUT_POOL), P1), P2);
        Self {
            c1_time: conv("c1_time", 1, C1_CHANNELS, [1, 7], [0, 3]),
            c1_freq: conv("c1_freq", 1, C1_CHANNELS, [7, 1], [3, 0]),
            bn1: nn::batch_norm2d(p / "bn1", 2 * C1_CHANNELS, bn_config()),
            c2: conv("c2", 2 * C1_CHANNELS, C2_CHANNELS, [3, 3], [1, 1]),
            bn2: nn::batch_norm2d(p / "bn2", C2_CHANNELS, bn_config()),
            crnn_lstm: nn::lstm(
                p / "crnn_lstm",
                pooled_bands * C2_CHANNELS,
                LSTM_HIDDEN,
                rnn_config(1, true),
            ),
            lld_lstm: nn::lstm(p / "lld_lstm", lld, LSTM_HIDDEN, rnn_config(1, true)),
            fc: nn::linear(p / "fc", 4 * LSTM_HIDDEN, REPR, Default::default()),
            va: nn::linear(p / "va", REPR, 2, Default::default()),
        }
    }

    /// (B, 96, T) -> (B, 2 * LSTM_HIDDEN).
    fn crnn(&self, mel: &Tensor, train: bool) -> Tensor {
        let pool = |x: Tensor, k: i64| x.max_pool2d([k, k], [k, k], [0, 0], [1, 1], true);
        let k = INPUT_POOL;
        let x = mel
            .unsqueeze(1)
            .avg_pool2d([k, k], [k, k], [0, 0], true, false, None);
        let c1 = Tensor::cat(&[self.c1_time.forward(&x), self.c1_freq.forward(&x)], 1);
        let x = pool(self.bn1.forward_t(&c1, train).relu(), P1);
        let x = pool(self.bn2.forward_t(&self.c2.forward(&x), train).relu(), P2);
        // (B, C, F, T') -> (B, T', C * F)
        let seq = x.permute([0, 3, 1, 2]).flatten(2, 3).contiguous();
        let (h, _) = self.crnn_lstm.seq(&seq);
        h.mean_dim(1, false, Kind::Float)
    }

    /// (B, T, 59) -> (B, 2 * LSTM_HIDDEN).
    fn lld(&self, lld: &Tensor) -> Tensor {
        let x = lld
            .transpose(1, 2)
            .avg_pool1d([LLD_POOL], [LLD_POOL], [0], true, false)
            .transpose(1, 2)
            .contiguous();
        let (h, _) = self.lld_lstm.seq(&x);
        h.mean_dim(1, false, Kind::Float)
    }
}

impl SeedNet for Seed002 {
    fn forward_t(&self, xs: &[Tensor], train: bool) -> SeedOutput {
        let e = Tensor::cat(&[self.crnn(&xs[0], train), self.lld(&xs[1])], 1);
        let repr = self.fc.forward(&e).relu();
        head(&self.va, repr, DROPOUT, train)
    }
}
