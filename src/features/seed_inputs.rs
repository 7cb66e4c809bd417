//! The seed papers' own inputs (issue 19), one set per architecture, from a mono 22050 Hz
//! clip cropped or zero-padded to [`CLIP_SECONDS`].
//!
//! Every function returns the parts of one clip, row-major, in the order and shapes of
//! [`parts`]; the networks in `model::seeds` read exactly these. Bad input follows the
//! module contract of `features` (empty, non-finite: errors; silence: finite values; a seed
//! index above 4: [`FeatureError::InvalidParameter`]).
//!
//! # The parts
//! All spectrogram parts are centred STFTs (librosa `center=True`, zero padding) at hop
//! [`SEED_HOP`], so frame `t` of every frame-wise part is centred at sample `t * 1024` and
//! there are [`SEED_FRAMES`] of them. dB is `power_to_db(ref 1, amin 1e-10, top_db 80)` over
//! each matrix; mel banks are Slaney scale and norm (librosa defaults).
//!
//! * Seed 000, "desc" `[10][66]`: [`segment_descriptors`] of the clip's ten 3-s segments.
//! * Seed 001, "desc50" `[10][50]`: dims 0..50 of the same descriptors.
//! * Seed 002 (paper 002):
//!   * "mel" `[96][646]`: log-mel (dB) of a Blackman-Harris STFT, n_fft 2048 (the paper's
//!     window and frame; its 44.1-kHz frames are 46 ms, ours 93 ms), 96 bands 0-11025 Hz.
//!   * "lld" `[646][59]` per frame: 0-19 MFCC (DCT-II ortho of that log-mel); 20-39 MFCC of
//!     the LPC residual phase (RP: [`residual_phase_frames`], 2048-sample Blackman-Harris
//!     frames, hop 1024, LPC order [`RP_LPC_ORDER`], on the signal padded by 1024 zeros on
//!     both sides so its frames are the STFT's; each RP frame is Blackman-Harris windowed
//!     again, since RP has unit envelope, then power spectrum, the same 96-band mel bank,
//!     dB, DCT 20); 40-51 chroma (librosa `chroma_stft` filterbank, tuning 0, max-normalised,
//!     on the same STFT power); 52-58 octave spectral contrast (librosa defaults: n_bands 6,
//!     fmin 200 Hz, quantile 0.02). The paper's weighted MFCC + RP combination is left to the
//!     network (it sees both blocks); its F0 and formant LLDs are not computed.
//! * Seed 003 (paper 003), "logstft" `[513][646]`: `ln(1 + |STFT|)`, Hann, n_fft 1024, hop
//!   1024. **Deviation:** the paper uses 1025 bins x 1292 frames; both are halved for CPU
//!   cost.
//! * Seed 004 (paper 004):
//!   * "narrow" `[64][646]`: dB power on 64 mel bands (0-11025 Hz) of a Hann STFT with a
//!     512-sample window (23 ms; the paper's ~25 ms), n_fft 512.
//!   * "wide" `[64][646]`: the same bands of a 64-sample Hann window (2.9 ms; the paper's
//!     ~3 ms) every 64 samples, zero-padded to 512 points (so both use one mel bank; 64
//!     points alone would leave most low mel bands without a bin). Each output frame takes,
//!     per bin, the **maximum** power over the 16 sub-frames of its 1024-sample span
//!     `[t * 1024 - 512, t * 1024 + 512)`, so transients, which the short window resolves,
//!     survive the hop. **Deviation:** the paper's wideband spectrogram keeps its own fine
//!     hop; ours is max-pooled to the common 646 frames.
//!   * "chords" `[25]`: a chord histogram. Chroma (as in seed 002 but Hann, n_fft 2048, hop
//!     1024) in blocks of [`CHORD_BLOCK_FRAMES`] frames (0.51 s; the last block holds 8);
//!     each block's mean chroma is matched by cosine similarity to 24 binary triad
//!     templates, index `root * 2 + (0 major | 1 minor)` with roots C, C#, D, ..., B (0 = C
//!     major, 1 = C minor, ..., 19 = A minor, 23 = B minor); the best one counts if its
//!     similarity is at least [`CHORD_MIN_SIMILARITY`], otherwise, or when the block's RMS is
//!     below [`CHORD_SILENCE_DBFS`], the block is "no chord" ([`NO_CHORD`] = 24). The part
//!     is the share of blocks per index (sums to 1; silence gives `[24] = 1`). **Deviation:**
//!     the paper's Chord2Vec embeds chords read from MIDI; we have audio only.
//!
//! The residual phase's LPC order is not given in paper 002; [`RP_LPC_ORDER`] = 16 lies in
//! the usual 10-24 range (about `2 + sr / 1000` = 24 at 22.05 kHz for speech; 16 models 8
//! resonances up to 11 kHz while leaving the excitation, which RP is about, in the
//! residual).

use std::sync::OnceLock;

use super::chroma::{chroma_filterbank, chroma_from_power, ChromaOptions};
use super::descriptor::segment_descriptors;
use super::fft::RealFft;
use super::lpc::residual_phase_frames;
use super::mel::{mel_filterbank, MelFilterbank, MelOptions};
use super::spectral::{dct_ortho_matrix, power_to_db, spectral_contrast_from_magnitude};
use super::stft::{power_spectrogram, StftOptions, Window};
use super::{check_samples, FeatureError, Frames};

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
/// [`parts`], each of the part's shape's product length, row-major. The signal is cropped
/// or zero-padded to [`CLIP_SAMPLES`] first (the whole input is checked: empty or
/// non-finite input is an error even where the crop drops it). A seed index above 4 is a
/// [`FeatureError::InvalidParameter`].
pub fn seed_inputs(seed: usize, samples: &[f32]) -> Result<Vec<Vec<f32>>, FeatureError> {
    if seed > 4 {
        return Err(FeatureError::InvalidParameter(format!(
            "seed index must be 0..=4, got {seed}"
        )));
    }
    check_samples(samples)?;
    let clip = fit_clip(samples);
    match seed {
        0 => Ok(vec![descriptors(&clip, 66)?]),
        1 => Ok(vec![descriptors(&clip, 50)?]),
        2 => seed002(&clip),
        3 => Ok(vec![seed003(&clip)?]),
        _ => seed004(&clip),
    }
}

/// LPC order of the residual phase (seed 002; the paper leaves `p` open).
pub const RP_LPC_ORDER: usize = 16;
/// Chord blocks (seed 004): this many chroma frames at [`SEED_HOP`] (11 x 46.4 ms = 0.51 s).
pub const CHORD_BLOCK_FRAMES: usize = 11;
/// Lowest cosine similarity between a block's mean chroma and a triad template that counts
/// as that chord (a flat chroma or a lone note scores 1/sqrt(3) = 0.577 on every template
/// holding it, two notes of a triad 0.816, a clean triad 1.0).
pub const CHORD_MIN_SIMILARITY: f64 = 0.7;
/// A block whose RMS is below this (dBFS) is "no chord".
pub const CHORD_SILENCE_DBFS: f64 = -60.0;
/// Index of "no chord" in the histogram.
pub const NO_CHORD: usize = 24;

const SR: u32 = SEED_SAMPLE_RATE;
/// Seed 002's STFT (and residual-phase frame) length.
const N_FFT_002: usize = 2048;
const N_MELS_002: usize = 96;
const N_MFCC: usize = 20;
const LLD_DIM: usize = 59;
/// Seed 003's STFT length.
const N_FFT_003: usize = 1024;
/// Seed 004: narrowband window (23 ms), also the FFT length both bands are analysed at.
const NARROW_WIN: usize = 512;
/// Seed 004: wideband window (2.9 ms) and its hop.
const WIDE_WIN: usize = 64;
const N_MELS_004: usize = 64;
/// Seed 004's chroma STFT length (librosa's `chroma_stft` default).
const N_FFT_CHORD: usize = 2048;

/// Crops or zero-pads to [`CLIP_SAMPLES`].
fn fit_clip(samples: &[f32]) -> Vec<f32> {
    let mut clip = samples[..samples.len().min(CLIP_SAMPLES)].to_vec();
    clip.resize(CLIP_SAMPLES, 0.0);
    clip
}

/// Filterbanks and windows shared by every call (built once).
struct Banks {
    /// 96 Slaney mel bands on the 2048-point STFT (seed 002).
    mel96: MelFilterbank,
    /// 64 Slaney mel bands, 0-11025 Hz, on the 512-point STFT (seed 004).
    mel64: MelFilterbank,
    /// librosa chroma filterbank on the 2048-point STFT (seeds 002 and 004).
    chroma: Vec<f64>,
    /// DCT-II ortho, 20 x 96.
    dct: Vec<f64>,
    /// Blackman-Harris (2048), applied to the residual-phase frames before their FFT.
    bh2048: Vec<f64>,
    /// Hann (64), the wideband window.
    hann64: Vec<f64>,
}

impl Banks {
    fn new() -> Result<Self, FeatureError> {
        Ok(Banks {
            mel96: mel_filterbank(
                SR,
                N_FFT_002,
                &MelOptions {
                    n_mels: N_MELS_002,
                    ..MelOptions::default()
                },
            )?,
            mel64: mel_filterbank(
                SR,
                NARROW_WIN,
                &MelOptions {
                    n_mels: N_MELS_004,
                    fmax: Some(SR as f64 / 2.0),
                    ..MelOptions::default()
                },
            )?,
            chroma: chroma_filterbank(SR, N_FFT_CHORD, &ChromaOptions::default())?,
            dct: dct_ortho_matrix(N_MFCC, N_MELS_002),
            bh2048: Window::BlackmanHarris.coefficients(N_FFT_002),
            hann64: Window::Hann.coefficients(WIDE_WIN),
        })
    }
}

fn banks() -> Result<&'static Banks, FeatureError> {
    static BANKS: OnceLock<Result<Banks, FeatureError>> = OnceLock::new();
    BANKS.get_or_init(Banks::new).as_ref().map_err(Clone::clone)
}

/// Centred power STFT at [`SEED_HOP`], `[frame][bin]`, checked to give [`SEED_FRAMES`].
fn power_at_seed_hop(clip: &[f32], n_fft: usize, window: Window) -> Result<Frames, FeatureError> {
    let p = power_spectrogram(
        clip,
        &StftOptions {
            n_fft,
            hop: SEED_HOP,
            window,
            center: true,
        },
    )?;
    debug_assert_eq!(p.n_frames, SEED_FRAMES);
    Ok(p)
}

/// `[frame][dim]` to row-major `[dim][frame]` in f32.
fn transpose_f32(m: &Frames) -> Vec<f32> {
    let mut out = vec![0.0f32; m.n_frames * m.dim];
    for t in 0..m.n_frames {
        for (k, &v) in m.row(t).iter().enumerate() {
            out[k * m.n_frames + t] = v as f32;
        }
    }
    out
}

/// `[frame][mel]` power to dB (ref 1, amin 1e-10, top_db 80 over the whole matrix).
fn to_db(mut m: Frames) -> Frames {
    power_to_db(&mut m.data, 1.0, 1e-10, Some(80.0));
    m
}

/// DCT-II ortho (`dct`, `N_MFCC` x `N_MELS_002`) of each frame of a dB log-mel.
fn dct_frames(log_mel: &Frames, dct: &[f64]) -> Frames {
    let mut out = Frames::zeros(log_mel.n_frames, N_MFCC);
    for t in 0..log_mel.n_frames {
        let row = log_mel.row(t);
        for (k, o) in out.row_mut(t).iter_mut().enumerate() {
            let d = &dct[k * log_mel.dim..(k + 1) * log_mel.dim];
            *o = row.iter().zip(d).map(|(a, b)| a * b).sum();
        }
    }
    out
}

/// Seeds 000/001: the first `dims` dims of each 3-s segment's descriptor, `[segment][dim]`.
fn descriptors(clip: &[f32], dims: usize) -> Result<Vec<f32>, FeatureError> {
    let d = segment_descriptors(clip, SR)?;
    debug_assert_eq!(d.len(), SEED_SEGMENTS);
    Ok(d.iter().flat_map(|s| s[..dims].iter().copied()).collect())
}

/// Seed 002: "mel" `[96][646]` and "lld" `[646][59]`.
fn seed002(clip: &[f32]) -> Result<Vec<Vec<f32>>, FeatureError> {
    let b = banks()?;
    let power = power_at_seed_hop(clip, N_FFT_002, Window::BlackmanHarris)?;
    let log_mel = to_db(b.mel96.apply_frames(&power));
    let mfcc = dct_frames(&log_mel, &b.dct);

    // Residual phase, framed like the centred STFT: pad n_fft/2 on both sides so that
    // frame t is centred at t * hop.
    let pad = N_FFT_002 / 2;
    let mut padded = vec![0.0f32; clip.len() + 2 * pad];
    padded[pad..pad + clip.len()].copy_from_slice(clip);
    let rp = residual_phase_frames(&padded, N_FFT_002, SEED_HOP, RP_LPC_ORDER)?;
    debug_assert_eq!(rp.n_frames, SEED_FRAMES);
    let mut fft = RealFft::<f64>::new(N_FFT_002);
    let mut frame = vec![0.0f64; N_FFT_002];
    let mut spec = vec![0.0f64; N_FFT_002 / 2 + 1];
    let mut rp_mel = Frames::zeros(rp.n_frames, N_MELS_002);
    for t in 0..rp.n_frames {
        for ((f, &x), &w) in frame.iter_mut().zip(rp.row(t)).zip(&b.bh2048) {
            *f = x * w;
        }
        fft.power(&frame, &mut spec);
        b.mel96.apply(&spec, rp_mel.row_mut(t));
    }
    let rp_mfcc = dct_frames(&to_db(rp_mel), &b.dct);

    let chroma = chroma_from_power(&power, &b.chroma, 12);
    let mut mag = power;
    for v in &mut mag.data {
        *v = v.sqrt();
    }
    let contrast = spectral_contrast_from_magnitude(&mag, SR, 6, 200.0, 0.02)?;

    let mut lld = Vec::with_capacity(SEED_FRAMES * LLD_DIM);
    for t in 0..SEED_FRAMES {
        for part in [&mfcc, &rp_mfcc, &chroma, &contrast] {
            lld.extend(part.row(t).iter().map(|&v| v as f32));
        }
    }
    debug_assert_eq!(lld.len(), SEED_FRAMES * LLD_DIM);
    Ok(vec![transpose_f32(&log_mel), lld])
}

/// Seed 003: "logstft" `[513][646]`, `ln(1 + |STFT|)`, Hann, n_fft 1024, hop 1024.
fn seed003(clip: &[f32]) -> Result<Vec<f32>, FeatureError> {
    let mut p = power_at_seed_hop(clip, N_FFT_003, Window::Hann)?;
    for v in &mut p.data {
        *v = v.sqrt().ln_1p();
    }
    Ok(transpose_f32(&p))
}

/// Seed 004: "wide" `[64][646]`, "narrow" `[64][646]`, "chords" `[25]`.
fn seed004(clip: &[f32]) -> Result<Vec<Vec<f32>>, FeatureError> {
    let b = banks()?;
    let narrow = power_at_seed_hop(clip, NARROW_WIN, Window::Hann)?;
    let narrow_db = to_db(b.mel64.apply_frames(&narrow));
    let wide_db = to_db(b.mel64.apply_frames(&wideband_max_power(clip, &b.hann64)));
    let chords = chord_histogram(clip, b)?;
    Ok(vec![
        transpose_f32(&wide_db),
        transpose_f32(&narrow_db),
        chords,
    ])
}

/// Wideband power `[frame][bin]` (257 bins, [`SEED_FRAMES`] frames): 64-sample Hann frames
/// every 64 samples, zero-padded to 512 points, and per bin the maximum over the 16
/// sub-frames of each [`SEED_HOP`] span `[t * hop - hop/2, t * hop + hop/2)` (centred on
/// the narrowband frame `t`).
fn wideband_max_power(clip: &[f32], hann: &[f64]) -> Frames {
    let n_bins = NARROW_WIN / 2 + 1;
    let mut fft = RealFft::<f64>::new(NARROW_WIN);
    let mut frame = vec![0.0f64; NARROW_WIN];
    let mut spec = vec![0.0f64; n_bins];
    let mut out = Frames::zeros(SEED_FRAMES, n_bins);
    let len = clip.len() as isize;
    for t in 0..SEED_FRAMES {
        let row = out.row_mut(t);
        for k in 0..SEED_HOP / WIDE_WIN {
            let start = (t * SEED_HOP + k * WIDE_WIN) as isize - (SEED_HOP / 2) as isize;
            // The 64 windowed samples, then zeros: a shift inside the FFT frame changes
            // only the phase, not the power.
            for (i, (f, &w)) in frame.iter_mut().zip(hann).enumerate() {
                let j = start + i as isize;
                *f = if (0..len).contains(&j) {
                    clip[j as usize] as f64 * w
                } else {
                    0.0
                };
            }
            fft.power(&frame, &mut spec);
            for (r, &s) in row.iter_mut().zip(&spec) {
                *r = r.max(s);
            }
        }
    }
    out
}

/// The 24 triad templates' pitch classes: index `root * 2 + (0 major | 1 minor)`.
fn triad(index: usize) -> [usize; 3] {
    let root = index / 2;
    let third = if index.is_multiple_of(2) { 4 } else { 3 };
    [root, (root + third) % 12, (root + 7) % 12]
}

/// Per block of [`CHORD_BLOCK_FRAMES`] chroma frames (centred Hann STFT, n_fft 2048, hop
/// 1024; librosa chroma, max-normalised per frame): the best triad by cosine similarity of
/// the block's mean chroma, or [`NO_CHORD`]; the histogram over the clip, summing to 1.
fn chord_histogram(clip: &[f32], b: &Banks) -> Result<Vec<f32>, FeatureError> {
    let power = power_at_seed_hop(clip, N_FFT_CHORD, Window::Hann)?;
    let chroma = chroma_from_power(&power, &b.chroma, 12);
    let silence = 10f64.powf(CHORD_SILENCE_DBFS / 20.0);
    let mut hist = [0usize; 25];
    let n_blocks = chroma.n_frames.div_ceil(CHORD_BLOCK_FRAMES);
    for blk in 0..n_blocks {
        let f0 = blk * CHORD_BLOCK_FRAMES;
        let f1 = (f0 + CHORD_BLOCK_FRAMES).min(chroma.n_frames);
        // samples spanned by the block's frames (each frame stands for one hop around its
        // centre)
        let s0 = (f0 * SEED_HOP).saturating_sub(SEED_HOP / 2).min(clip.len());
        let s1 = (f1 * SEED_HOP)
            .saturating_sub(SEED_HOP / 2)
            .clamp(s0, clip.len());
        let seg = &clip[s0..s1];
        let rms = if seg.is_empty() {
            0.0
        } else {
            (seg.iter().map(|&x| x as f64 * x as f64).sum::<f64>() / seg.len() as f64).sqrt()
        };
        let mut mean = [0.0f64; 12];
        for t in f0..f1 {
            for (m, &c) in mean.iter_mut().zip(chroma.row(t)) {
                *m += c;
            }
        }
        let norm = mean.iter().map(|v| v * v).sum::<f64>().sqrt();
        let mut best = (NO_CHORD, CHORD_MIN_SIMILARITY);
        if rms >= silence && norm > f64::MIN_POSITIVE {
            for idx in 0..24 {
                let sim = triad(idx).iter().map(|&c| mean[c]).sum::<f64>() / (3f64.sqrt() * norm);
                if sim >= best.1 {
                    best = (idx, sim);
                }
            }
        }
        hist[best.0] += 1;
    }
    Ok(hist
        .iter()
        .map(|&n| (n as f64 / n_blocks as f64) as f32)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::mel::{mel_frequencies, MelScale};
    use std::f64::consts::PI;

    const SRF: f64 = SEED_SAMPLE_RATE as f64;

    /// Deterministic uniform noise in [-amp, amp] (xorshift).
    fn noise(n: usize, amp: f64, seed: u64) -> Vec<f64> {
        let mut s = seed.max(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * amp
            })
            .collect()
    }

    fn tones(n: usize, freqs: &[f64], amp: f64) -> Vec<f64> {
        (0..n)
            .map(|i| {
                freqs
                    .iter()
                    .map(|f| amp * (2.0 * PI * f * i as f64 / SRF).sin())
                    .sum()
            })
            .collect()
    }

    fn add(a: &[f64], b: &[f64]) -> Vec<f32> {
        a.iter().zip(b).map(|(x, y)| (x + y) as f32).collect()
    }

    fn mix(n: usize) -> Vec<f32> {
        add(
            &tones(n, &[220.0, 440.0, 880.0, 3000.0], 0.15),
            &noise(n, 0.05, 7),
        )
    }

    fn part<'a>(out: &'a [Vec<f32>], seed: usize, name: &str) -> &'a [f32] {
        let i = parts(seed).iter().position(|p| p.name == name).unwrap();
        &out[i]
    }

    /// Mean over frames of each row of a `[row][frame]` part.
    fn row_means(data: &[f32], rows: usize) -> Vec<f64> {
        let n = data.len() / rows;
        (0..rows)
            .map(|r| {
                data[r * n..(r + 1) * n]
                    .iter()
                    .map(|&v| v as f64)
                    .sum::<f64>()
                    / n as f64
            })
            .collect()
    }

    #[test]
    fn shapes_and_finite_values() {
        let inputs: Vec<(&str, Vec<f32>)> = vec![
            ("mix 30 s", mix(CLIP_SAMPLES)),
            ("silence", vec![0.0; CLIP_SAMPLES]),
            ("2 s", mix(2 * 22050)),
            ("40 s", mix(40 * 22050)),
        ];
        for seed in 0..5 {
            for (name, x) in &inputs {
                let out = seed_inputs(seed, x).unwrap();
                let specs = parts(seed);
                assert_eq!(out.len(), specs.len(), "seed {seed} {name}");
                for (o, p) in out.iter().zip(specs) {
                    let n: usize = p.shape.iter().product();
                    assert_eq!(o.len(), n, "seed {seed} {name} part {}", p.name);
                    assert!(
                        o.iter().all(|v| v.is_finite()),
                        "seed {seed} {name} part {} not finite",
                        p.name
                    );
                }
            }
        }
    }

    #[test]
    fn crop_and_pad_are_applied() {
        // 40 s is cropped to the first 30 s; 2 s is zero-padded.
        let long = mix(40 * 22050);
        let a = seed_inputs(3, &long).unwrap();
        let b = seed_inputs(3, &long[..CLIP_SAMPLES]).unwrap();
        assert_eq!(a, b);
        let short = mix(2 * 22050);
        let mut padded = short.clone();
        padded.resize(CLIP_SAMPLES, 0.0);
        assert_eq!(
            seed_inputs(4, &short).unwrap(),
            seed_inputs(4, &padded).unwrap()
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        for seed in 0..5 {
            assert!(matches!(
                seed_inputs(seed, &[]),
                Err(FeatureError::EmptyInput(_))
            ));
            let mut x = mix(22050);
            x[100] = f32::NAN;
            assert!(matches!(
                seed_inputs(seed, &x),
                Err(FeatureError::NonFinite(_))
            ));
        }
        assert!(matches!(
            seed_inputs(5, &mix(22050)),
            Err(FeatureError::InvalidParameter(_))
        ));
    }

    #[test]
    fn seed1_is_the_first_50_descriptor_dims() {
        let x = mix(CLIP_SAMPLES);
        let d66 = seed_inputs(0, &x).unwrap().remove(0);
        let d50 = seed_inputs(1, &x).unwrap().remove(0);
        for s in 0..SEED_SEGMENTS {
            assert_eq!(&d50[s * 50..(s + 1) * 50], &d66[s * 66..s * 66 + 50]);
        }
        // not a constant: the descriptor of real audio varies across dims
        assert!(d66[..66].iter().any(|&v| v != d66[0]));
    }

    #[test]
    fn seed2_louder_tone_raises_its_mel_rows() {
        let n = CLIP_SAMPLES;
        let bg = noise(n, 0.05, 3);
        let quiet = add(&bg, &tones(n, &[2000.0], 0.01));
        let loud = add(&bg, &tones(n, &[2000.0], 0.3));
        let mq = row_means(part(&seed_inputs(2, &quiet).unwrap(), 2, "mel"), 96);
        let ml = row_means(part(&seed_inputs(2, &loud).unwrap(), 2, "mel"), 96);
        let centres = mel_frequencies(98, 0.0, SRF / 2.0, MelScale::Slaney);
        let band = (0..96)
            .min_by(|&a, &b| {
                (centres[a + 1] - 2000.0)
                    .abs()
                    .total_cmp(&(centres[b + 1] - 2000.0).abs())
            })
            .unwrap();
        let rise_at = ml[band] - mq[band];
        let far = [5usize, 10, 80, 90];
        for &f in &far {
            let rise_far = ml[f] - mq[f];
            assert!(
                rise_at > rise_far + 15.0,
                "band {band}: +{rise_at:.1} dB, band {f}: +{rise_far:.1} dB"
            );
        }
        // and the tone's band is the loudest of the loud clip
        let top = (0..96).max_by(|&a, &b| ml[a].total_cmp(&ml[b])).unwrap();
        assert!(top.abs_diff(band) <= 1, "peak band {top}, tone band {band}");
    }

    #[test]
    fn seed2_lld_blocks() {
        let x = mix(CLIP_SAMPLES);
        let out = seed_inputs(2, &x).unwrap();
        let lld = part(&out, 2, "lld");
        let (mut diff, mut n) = (0.0f64, 0usize);
        for t in 0..SEED_FRAMES {
            let r = &lld[t * 59..(t + 1) * 59];
            for k in 0..20 {
                diff += (r[k] - r[20 + k]).abs() as f64;
                n += 1;
            }
            // chroma is max-normalised to [0, 1] with a 1 somewhere (sound everywhere)
            let chroma = &r[40..52];
            assert!(chroma.iter().all(|&v| (0.0..=1.0 + 1e-6).contains(&v)));
            assert!(chroma.iter().any(|&v| (v - 1.0).abs() < 1e-5), "frame {t}");
        }
        let mean = diff / n as f64;
        assert!(
            mean > 1.0,
            "RP-MFCC is too close to MFCC: mean |diff| {mean}"
        );
        // the RP-MFCC varies over time (not a constant block)
        let c1: Vec<f32> = (0..SEED_FRAMES).map(|t| lld[t * 59 + 21]).collect();
        assert!(c1.iter().any(|&v| (v - c1[1]).abs() > 1e-3));
    }

    #[test]
    fn seed3_sine_peaks_at_its_bin() {
        let x: Vec<f32> = tones(CLIP_SAMPLES, &[1000.0], 0.5)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let out = seed_inputs(3, &x).unwrap();
        let means = row_means(&out[0], 513);
        let peak = (0..513)
            .max_by(|&a, &b| means[a].total_cmp(&means[b]))
            .unwrap();
        let expect = (1000.0 * 1024.0 / SRF).round() as usize;
        assert_eq!(expect, 46);
        assert!(peak.abs_diff(expect) <= 1, "peak bin {peak}");
        // ln(1 + |X|) of silence is exactly 0
        let silent = seed_inputs(3, &vec![0.0; 1000]).unwrap();
        assert!(silent[0].iter().all(|&v| v == 0.0));
    }

    fn chords_of(freqs: &[f64]) -> Vec<f32> {
        let x: Vec<f32> = tones(CLIP_SAMPLES, freqs, 0.2)
            .iter()
            .map(|&v| v as f32)
            .collect();
        seed_inputs(4, &x).unwrap().remove(2)
    }

    fn argmax(v: &[f32]) -> usize {
        (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap()
    }

    #[test]
    fn seed4_triads_are_recognised() {
        // C4 E4 G4
        let c = chords_of(&[261.63, 329.63, 392.00]);
        assert!((c.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert_eq!(argmax(&c), 0, "C major: {c:?}");
        assert!(c[0] > 0.9, "C major: {c:?}");
        // A3 C4 E4
        let am = chords_of(&[220.00, 261.63, 329.63]);
        assert_eq!(argmax(&am), 9 * 2 + 1, "A minor: {am:?}");
        assert!(am[19] > 0.9, "A minor: {am:?}");
        // silence: no chord everywhere
        let s = seed_inputs(4, &vec![0.0; CLIP_SAMPLES]).unwrap().remove(2);
        assert_eq!(s[NO_CHORD], 1.0);
        // white noise: flat chroma, below the similarity threshold
        let nz: Vec<f32> = noise(CLIP_SAMPLES, 0.3, 11)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let hn = seed_inputs(4, &nz).unwrap().remove(2);
        assert!(hn[NO_CHORD] > 0.9, "noise: {hn:?}");
    }

    #[test]
    fn triad_template_order() {
        assert_eq!(triad(0), [0, 4, 7]); // C major
        assert_eq!(triad(1), [0, 3, 7]); // C minor
        assert_eq!(triad(19), [9, 0, 4]); // A minor
        assert_eq!(triad(23), [11, 2, 6]); // B minor
    }

    #[test]
    fn seed4_wideband_keeps_clicks() {
        // impulses every 0.25 s over quiet noise
        let mut x: Vec<f32> = noise(CLIP_SAMPLES, 0.01, 5)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let mut i = 0.0f64;
        while (i as usize) < CLIP_SAMPLES {
            x[i as usize] += 1.0;
            i += 0.25 * SRF;
        }
        let out = seed_inputs(4, &x).unwrap();
        // max minus median over time in dB (= the log of the max/median power ratio)
        let spread = |data: &[f32], band: usize| {
            let mut r: Vec<f32> = data[band * SEED_FRAMES..(band + 1) * SEED_FRAMES].to_vec();
            r.sort_by(|a, b| a.total_cmp(b));
            (r[SEED_FRAMES - 1] - r[SEED_FRAMES / 2]) as f64
        };
        let (wide, narrow) = (part(&out, 4, "wide"), part(&out, 4, "narrow"));
        let bands = 40..64;
        let n = bands.len() as f64;
        let w = bands.clone().map(|b| spread(wide, b)).sum::<f64>() / n;
        let nr = bands.map(|b| spread(narrow, b)).sum::<f64>() / n;
        assert!(w > nr + 2.0, "wide {w:.1} dB vs narrow {nr:.1} dB");
    }
}
