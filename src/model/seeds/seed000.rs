//! Seed 000: BiGRU + multi-head self-attention over the 3-s segment descriptors.

use tch::{nn, Kind, Tensor};

use super::{SeedNet, SeedOutput};
use crate::features::seed_inputs::SEED000_PARTS;
use crate::model::emotion::EmotionNet;

/// Paper 000, §3.3 (BiGRU + self-attention, Fig. 7) and §4.2 (pooling: all within 1 % for
/// the BiGRU, so the attention pooling of the emotion model is kept). The network is the
/// emotion model's `bigru_attn` ([`EmotionNet::bigru_attn`]) on the (B, S, 66) segment
/// descriptors:
/// - projection 66 -> 64 + ReLU, BiGRU 32 per direction (64 out),
/// - 4-head scaled dot-product self-attention (head dim 16), residual + layer norm,
/// - attention pooling over segments -> `repr` (B, 64), dropout 0.3 -> linear(64, 2) -> tanh.
///
/// Deviation: the paper's stacked GRU before the BiGRU is folded into the projection (one
/// recurrent layer), as in the emotion model's `bigru_attn`.
pub struct Seed000 {
    net: EmotionNet,
}

pub const HIDDEN: i64 = 64;
pub const HEADS: i64 = 4;
pub const DROPOUT: f64 = 0.3;

impl Seed000 {
    pub fn new(p: &nn::Path) -> Self {
        let dim = SEED000_PARTS[0].shape[1] as i64;
        Self {
            net: EmotionNet::bigru_attn(p, dim, HIDDEN, HEADS, DROPOUT),
        }
    }
}

impl SeedNet for Seed000 {
    fn forward_t(&self, xs: &[Tensor], train: bool) -> SeedOutput {
        let x = &xs[0];
        let (b, t) = (x.size()[0], x.size()[1]);
        let mask = Tensor::ones([b, t], (Kind::Bool, x.device()));
        let out = self.net.forward(x, &mask, train);
        SeedOutput {
            va: out.track_va,
            repr: out.track_repr,
        }
    }
}
