//! The five seed papers' systems as trainable networks (issue 19), each on its own inputs
//! (`features::seed_inputs`). Every network ends in the same head as the shipped emotion
//! model: a valence/arousal point in [-1, 1] (`tanh`), whose quadrant is the class, so the
//! rows of the comparison differ only in architecture and inputs.
//!
//! Sizes the papers leave open are chosen in `docs/seeds.md` (with the section followed).

use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

use crate::features::seed_inputs::{parts, PartSpec};

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
    let _ = p;
    unimplemented!("seed networks: {}", arch.name())
}
