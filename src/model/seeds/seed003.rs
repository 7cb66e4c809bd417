//! Seed 003: a 1-D Inception block, residual 1-D blocks and a GRU on log-STFT frames.

use tch::nn::{self, Module, ModuleT, RNN};
use tch::Tensor;

use super::{bn_config, head, rnn_config, SeedNet, SeedOutput};
use crate::features::seed_inputs::SEED003_PARTS;

/// Paper 003, §3.2 and Table 1, on the log STFT (B, 513, T) read as a 1-D sequence over time
/// with 513 channels:
/// - "SE-Inception": three parallel branches, each 1x1 compress 513 -> 16, Conv1d k3 -> 16 /
///   k5 -> 32 / k7 -> 64 ("same" padding), BN + ReLU; concatenated to 112 channels, average
///   pool 2;
/// - residual 1-D blocks (conv k3, BN, ReLU, conv k3, BN, + input, ReLU; 112 channels), in
///   stages each followed by average pool 2: 2, 2, 2, 1, 1, 1, 1 blocks (T = 646 ->
///   323 -> 162 -> 81 -> 41 -> 21 -> 11 -> 6 -> 3 steps);
/// - GRU with 8 units over the remaining steps, `repr` = its last state (B, 8), dropout 0.1
///   -> linear(8, 2) -> tanh.
///
/// Deviations: our frames are 46 ms (646 per clip, the paper's 1292 are 23 ms), so the
/// paper's first stage (2 blocks at 1292 / 2 frames) is dropped and the rest of Table 1 is
/// kept (it ends at 2 steps, ours at 3); each branch's expand-compress-expand (Table 1:
/// conv, BN, conv to 1 channel, conv, BN) is a 1x1 compress then one conv + BN, which costs
/// ~10x less on 513 input channels. Pools use ceil mode, so any T >= 1 works.
pub struct Seed003 {
    /// The three branches' 1x1 compresses as one conv (513 -> 3 x 16): the same map as
    /// three separate ones, in one matrix product.
    compress: nn::Conv1D,
    branches: Vec<Branch>,
    stages: Vec<Vec<ResBlock>>,
    gru: nn::GRU,
    va: nn::Linear,
}

pub const COMPRESS: i64 = 16;
pub const BRANCHES: [(i64, i64); 3] = [(16, 3), (32, 5), (64, 7)];
pub const CHANNELS: i64 = 112;
pub const STAGES: [usize; 7] = [2, 2, 2, 1, 1, 1, 1];
pub const GRU_UNITS: i64 = 8;
pub const DROPOUT: f64 = 0.1;

fn conv1d(p: nn::Path, i: i64, o: i64, k: i64, bias: bool) -> nn::Conv1D {
    nn::conv1d(
        p,
        i,
        o,
        k,
        nn::ConvConfig {
            padding: k / 2,
            bias,
            ..Default::default()
        },
    )
}

fn avg_pool2(x: &Tensor) -> Tensor {
    x.avg_pool1d([2], [2], [0], true, false)
}

/// One Inception branch after its compress: conv k -> BN -> ReLU.
struct Branch {
    conv: nn::Conv1D,
    bn: nn::BatchNorm,
}

impl Branch {
    fn new(p: &nn::Path, out: i64, k: i64) -> Self {
        Self {
            conv: conv1d(p / "conv", COMPRESS, out, k, false),
            bn: nn::batch_norm1d(p / "bn", out, bn_config()),
        }
    }

    fn forward_t(&self, compressed: &Tensor, train: bool) -> Tensor {
        self.bn
            .forward_t(&self.conv.forward(compressed), train)
            .relu()
    }
}

struct ResBlock {
    c1: nn::Conv1D,
    bn1: nn::BatchNorm,
    c2: nn::Conv1D,
    bn2: nn::BatchNorm,
}

impl ResBlock {
    fn new(p: &nn::Path) -> Self {
        Self {
            c1: conv1d(p / "c1", CHANNELS, CHANNELS, 3, false),
            bn1: nn::batch_norm1d(p / "bn1", CHANNELS, bn_config()),
            c2: conv1d(p / "c2", CHANNELS, CHANNELS, 3, false),
            bn2: nn::batch_norm1d(p / "bn2", CHANNELS, bn_config()),
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = self.bn1.forward_t(&self.c1.forward(x), train).relu();
        let y = self.bn2.forward_t(&self.c2.forward(&y), train);
        (y + x).relu()
    }
}

impl Seed003 {
    pub fn new(p: &nn::Path) -> Self {
        let bins = SEED003_PARTS[0].shape[0] as i64;
        debug_assert_eq!(BRANCHES.iter().map(|b| b.0).sum::<i64>(), CHANNELS);
        let branches = BRANCHES
            .iter()
            .enumerate()
            .map(|(i, &(out, k))| Branch::new(&(p / format!("inception{i}")), out, k))
            .collect();
        let stages = STAGES
            .iter()
            .enumerate()
            .map(|(s, &n)| {
                (0..n)
                    .map(|b| ResBlock::new(&(p / format!("res{s}_{b}"))))
                    .collect()
            })
            .collect();
        let n = BRANCHES.len() as i64;
        Self {
            compress: conv1d(p / "compress", bins, n * COMPRESS, 1, true),
            branches,
            stages,
            gru: nn::gru(p / "gru", CHANNELS, GRU_UNITS, rnn_config(1, false)),
            va: nn::linear(p / "va", GRU_UNITS, 2, Default::default()),
        }
    }
}

impl SeedNet for Seed003 {
    fn forward_t(&self, xs: &[Tensor], train: bool) -> SeedOutput {
        let compressed = self.compress.forward(&xs[0]);
        let inception: Vec<Tensor> = self
            .branches
            .iter()
            .enumerate()
            .map(|(i, b)| b.forward_t(&compressed.narrow(1, i as i64 * COMPRESS, COMPRESS), train))
            .collect();
        let mut h = avg_pool2(&Tensor::cat(&inception, 1));
        for stage in &self.stages {
            for block in stage {
                h = block.forward_t(&h, train);
            }
            h = avg_pool2(&h);
        }
        let (_, state) = self.gru.seq(&h.transpose(1, 2).contiguous());
        // (layers, B, units) -> (B, units)
        let repr = state.value().select(0, -1);
        head(&self.va, repr, DROPOUT, train)
    }
}
