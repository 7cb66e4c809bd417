//! Seed 001: a 3-layer LSTM with soft attention over the 3-s segment features.

use tch::nn::{self, Module, RNN};
use tch::{Kind, Tensor};

use super::{head, rnn_config, SeedNet, SeedOutput};
use crate::features::seed_inputs::SEED001_PARTS;

/// Paper 001, §2.2 (Fig. 3: 3 stacked LSTM layers, §2.2.2 attention, eqs. 10-11:
/// a_i = softmax(f(h_i)), output = sum a_i h_i), on the (B, S, 50) segment features:
/// - LSTM 50 -> 64, 3 layers (no dropout between layers),
/// - f(h_i) = w . h_i + b (linear(64, 1)), softmax over segments, `repr` = sum a_i h_i (B, 64),
/// - dropout 0.3 -> linear(64, 2) -> tanh.
///
/// Deviations: the paper's "dropout 0.7" is read as a keep probability (drop 0.3); the head
/// is tanh regression (shared by all seeds) instead of softmax, trained by the protocol's
/// optimiser rather than the paper's SGD.
pub struct Seed001 {
    lstm: nn::LSTM,
    att: nn::Linear,
    va: nn::Linear,
}

pub const HIDDEN: i64 = 64;
pub const LAYERS: i64 = 3;
pub const DROPOUT: f64 = 0.3;

impl Seed001 {
    pub fn new(p: &nn::Path) -> Self {
        let dim = SEED001_PARTS[0].shape[1] as i64;
        Self {
            lstm: nn::lstm(p / "lstm", dim, HIDDEN, rnn_config(LAYERS, false)),
            att: nn::linear(p / "att", HIDDEN, 1, Default::default()),
            va: nn::linear(p / "va", HIDDEN, 2, Default::default()),
        }
    }
}

impl SeedNet for Seed001 {
    fn forward_t(&self, xs: &[Tensor], train: bool) -> SeedOutput {
        let (h, _) = self.lstm.seq(&xs[0]);
        let a = self.att.forward(&h).softmax(1, Kind::Float);
        let repr = (&h * a).sum_dim_intlist(1, false, Kind::Float);
        head(&self.va, repr, DROPOUT, train)
    }
}
