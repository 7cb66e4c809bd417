//! The exact input representation of the pretrained musicnn networks.
//!
//! musicnn's extractor (`musicnn/extractor.py`, `batch_data`) does:
//! ```text
//! audio = librosa.load(file, sr=16000)
//! mel = librosa.feature.melspectrogram(y=audio, sr=16000, hop_length=256, n_fft=512,
//!                                      n_mels=96).T          # [frame][mel], power 2
//! mel = np.log10(10000 * mel.astype(np.float16) + 1)
//! patches of 187 frames, non-overlapping by default, last partial patch dropped
//! ```
//! This module reproduces it (Hann window, centred STFT with zero padding, Slaney mel scale
//! and norm, fmin 0, fmax 8000) **except** that `log10(1 + 10000 * x)` is computed in
//! float32: musicnn's cast to float16 overflows to `inf` on ordinary music.
//!
//! Implementation: a real FFT of length 512 via a 256-point complex FFT (plan reused), the
//! mel filterbank stored sparsely as (first bin, weights) per band in f32 (librosa's own
//! weights are f32 too), everything in f32.

use super::fft::RealFft;
use super::mel::{mel_filterbank, MelOptions};
use super::stft::Window;
use super::{check_samples, FeatureError};

/// Sample rate the representation is defined at (resample first).
pub const SAMPLE_RATE: u32 = 16000;
/// Mel bands.
pub const N_MELS: usize = 96;
/// Frames per patch (187 frames of 256 samples ~ 3 s).
pub const PATCH_FRAMES: usize = 187;
/// FFT size.
pub const N_FFT: usize = 512;
/// Hop in samples.
pub const HOP: usize = 256;

/// A musicnn log-mel spectrogram, row-major `[frame][mel]`: `data[frame * 96 + mel]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogMel {
    /// Number of frames, `1 + len / 256` (centred STFT).
    pub n_frames: usize,
    /// `n_frames * 96` values of `log10(1 + 10000 * mel_power)`.
    pub data: Vec<f32>,
}

/// Reusable extractor (FFT plan, window, sparse filterbank, buffers). Use it to process
/// many clips without re-planning; [`log_mel`] builds one per call.
pub struct Extractor {
    fft: RealFft<f32>,
    window: Vec<f32>,
    bands: Vec<(usize, Vec<f32>)>,
    frame: Vec<f32>,
    power: Vec<f32>,
}

impl Extractor {
    /// Plans the FFT and builds the filterbank.
    pub fn new() -> Result<Self, FeatureError> {
        let fb = mel_filterbank(
            SAMPLE_RATE,
            N_FFT,
            &MelOptions {
                n_mels: N_MELS,
                ..MelOptions::default()
            },
        )?;
        Ok(Extractor {
            fft: RealFft::new(N_FFT),
            window: Window::Hann
                .coefficients(N_FFT)
                .into_iter()
                .map(|w| w as f32)
                .collect(),
            bands: fb
                .bands
                .into_iter()
                .map(|(s, w)| (s, w.into_iter().map(|v| v as f32).collect()))
                .collect(),
            frame: vec![0.0; N_FFT],
            power: vec![0.0; N_FFT / 2 + 1],
        })
    }

    /// Computes the log-mel of 16 kHz mono samples. Errors: empty input or NaN/inf samples.
    /// Silence gives all zeros; a single sample gives one frame.
    pub fn log_mel(&mut self, samples_16k: &[f32]) -> Result<LogMel, FeatureError> {
        check_samples(samples_16k)?;
        let pad = N_FFT / 2;
        let n_frames = 1 + samples_16k.len() / HOP;
        let mut data = vec![0.0f32; n_frames * N_MELS];
        let len = samples_16k.len();
        for (t, out) in data.chunks_exact_mut(N_MELS).enumerate() {
            let start = t * HOP;
            // padded index start..start+N_FFT maps to signal index start-pad..
            if start >= pad && start - pad + N_FFT <= len {
                let s = start - pad;
                for ((f, &x), &w) in self
                    .frame
                    .iter_mut()
                    .zip(&samples_16k[s..s + N_FFT])
                    .zip(&self.window)
                {
                    *f = x * w;
                }
            } else {
                for (i, (f, &w)) in self.frame.iter_mut().zip(&self.window).enumerate() {
                    let j = (start + i).wrapping_sub(pad);
                    *f = if start + i >= pad && j < len {
                        samples_16k[j] * w
                    } else {
                        0.0
                    };
                }
            }
            self.fft.power(&self.frame, &mut self.power);
            for (o, (s, w)) in out.iter_mut().zip(&self.bands) {
                let seg = self.power.get(*s..*s + w.len()).unwrap_or(&[]);
                let m: f32 = seg.iter().zip(w).map(|(a, b)| a * b).sum();
                *o = (1.0 + 10000.0 * m).log10();
            }
        }
        Ok(LogMel { n_frames, data })
    }
}

/// The musicnn log-mel of 16 kHz mono samples (see the module docs).
pub fn log_mel(samples_16k: &[f32]) -> Result<LogMel, FeatureError> {
    Extractor::new()?.log_mel(samples_16k)
}

/// Cuts a log-mel into patches of [`PATCH_FRAMES`] frames (each `187 * 96` values,
/// row-major `[frame][mel]`) starting every `hop_frames` frames, like musicnn's
/// `batch_data`: patch starts are `0, hop, 2 hop, ...` while a full patch fits, and the
/// last partial patch is dropped. musicnn uses `hop_frames = 187` (non-overlapping).
///
/// Defined edge cases: a clip shorter than 187 frames (< ~3 s) gives exactly one patch,
/// zero-padded at the end (0 is the log-mel of silence); `hop_frames = 0` is treated as
/// 187. An empty log-mel (`n_frames == 0`) gives no patches.
pub fn patches(mel: &LogMel, hop_frames: usize) -> Vec<Vec<f32>> {
    let hop = if hop_frames == 0 {
        PATCH_FRAMES
    } else {
        hop_frames
    };
    let n = mel.n_frames.min(mel.data.len() / N_MELS);
    if n == 0 {
        return Vec::new();
    }
    if n < PATCH_FRAMES {
        let mut p = vec![0.0f32; PATCH_FRAMES * N_MELS];
        p[..n * N_MELS].copy_from_slice(&mel.data[..n * N_MELS]);
        return vec![p];
    }
    let mut out = Vec::new();
    let mut start = 0;
    while start + PATCH_FRAMES <= n {
        out.push(mel.data[start * N_MELS..(start + PATCH_FRAMES) * N_MELS].to_vec());
        start += hop;
    }
    out
}
