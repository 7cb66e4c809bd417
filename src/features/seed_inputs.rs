//! The seed papers' own inputs (issue 19), one set per architecture, from a mono 22050 Hz
//! clip cropped or zero-padded to [`CLIP_SECONDS`].
//!
//! Every function returns the parts of one clip, row-major, in the order and shapes of
//! [`parts`]; the networks in `model::seeds` read exactly these. Bad input follows the
//! module contract of `features` (empty, non-finite: errors; silence: finite values).

use super::FeatureError;

/// Sample rate of every seed input.
pub const SEED_SAMPLE_RATE: u32 = 22050;
/// Clip length every seed input is computed on (the 4Q clips are 30-s previews).
pub const CLIP_SECONDS: f64 = 30.0;
/// [`CLIP_SECONDS`] at [`SEED_SAMPLE_RATE`].
pub const CLIP_SAMPLES: usize = 661_500;
/// Frame hop of the frame-wise inputs (seeds 002-004): 46.4 ms.
pub const SEED_HOP: usize = 1024;
/// Frames of a centred STFT with [`SEED_HOP`] over [`CLIP_SAMPLES`]: 1 + 661500 / 1024.
pub const SEED_FRAMES: usize = 646;
/// 3-s segments in a clip (seeds 000, 001).
pub const SEED_SEGMENTS: usize = 10;

/// One input part: its name, shape (without the batch), and the axis whose entries are
/// standardised separately (the feature axis: a descriptor's dimension, a spectrogram's
/// frequency row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartSpec {
    pub name: &'static str,
    pub shape: &'static [usize],
    pub feature_axis: usize,
}

const fn part(name: &'static str, shape: &'static [usize], feature_axis: usize) -> PartSpec {
    PartSpec {
        name,
        shape,
        feature_axis,
    }
}

/// Seed 000: the 66-d descriptor of each 3-s segment.
pub const SEED000_PARTS: &[PartSpec] = &[part("desc", &[SEED_SEGMENTS, 66], 1)];
/// Seed 001: the 50 low-level dims of the descriptor (dims 0-49) per 3-s segment.
pub const SEED001_PARTS: &[PartSpec] = &[part("desc50", &[SEED_SEGMENTS, 50], 1)];
/// Seed 002: a 96-band log-mel spectrogram `[band][frame]` and the low-level descriptor
/// frames `[frame][59]` (MFCC 20, MFCC of the LPC residual phase 20, chroma 12, octave
/// spectral contrast 7).
pub const SEED002_PARTS: &[PartSpec] = &[
    part("mel", &[96, SEED_FRAMES], 0),
    part("lld", &[SEED_FRAMES, 59], 1),
];
/// Seed 003: log STFT magnitude `[bin][frame]`, n_fft 1024 (513 bins).
pub const SEED003_PARTS: &[PartSpec] = &[part("logstft", &[513, SEED_FRAMES], 0)];
/// Seed 004: wideband (2.9-ms window) and narrowband (23-ms window) log spectrograms on 64
/// mel bands `[band][frame]`, and the clip's chord histogram (24 major/minor triads + no
/// chord).
pub const SEED004_PARTS: &[PartSpec] = &[
    part("wide", &[64, SEED_FRAMES], 0),
    part("narrow", &[64, SEED_FRAMES], 0),
    part("chords", &[25], 0),
];

/// The parts of seed `seed` (0..=4).
pub fn parts(seed: usize) -> &'static [PartSpec] {
    match seed {
        0 => SEED000_PARTS,
        1 => SEED001_PARTS,
        2 => SEED002_PARTS,
        3 => SEED003_PARTS,
        _ => SEED004_PARTS,
    }
}

/// Seed `seed`'s inputs (0..=4) of a mono [`SEED_SAMPLE_RATE`] signal: one `Vec` per part of
/// [`parts`], each of the part's shape's product length. The signal is cropped or zero-
/// padded to [`CLIP_SAMPLES`] first.
pub fn seed_inputs(seed: usize, samples: &[f32]) -> Result<Vec<Vec<f32>>, FeatureError> {
    let _ = (seed, samples);
    Err(FeatureError::InvalidParameter(
        "seed inputs: not written yet".into(),
    ))
}
