//! Audio features (DSP) for Valence.
//!
//! Everything here works on mono `f32` samples plus a sample rate, as produced by the
//! decoder. Results are checked against librosa (see `tests/features_golden.rs` and
//! `tests/reference/`).
//!
//! Layout convention: every time-varying feature is a [`Frames`] matrix, row-major
//! `[frame][dim]` (librosa uses `[dim][frame]`; the values are the same, transposed).
//!
//! # Bad input (applies to every public entry point)
//! * empty input: [`FeatureError::EmptyInput`];
//! * any NaN or infinite sample: [`FeatureError::NonFinite`];
//! * all-zero (silent) input: defined, finite values (documented per feature: e.g. centroid
//!   0 Hz, flatness 1, log-mel -100 dB, musicnn log-mel 0);
//! * a single sample or any input shorter than one frame: the centred STFT zero-pads it, so
//!   it yields one frame (like librosa); segment descriptors zero-pad to one segment.
//! * invalid parameters (n_fft < 2, hop 0, sample rate 0, fmax above Nyquist, ...):
//!   [`FeatureError::InvalidParameter`].

pub mod chroma;
mod colormap;
pub mod descriptor;
pub mod fft;
pub mod lpc;
pub mod mel;
pub mod musicnn_input;
pub mod rhythm;
pub mod seed_inputs;
pub mod spectral;
pub mod spectrogram_image;
pub mod stft;

pub use chroma::{chroma_filterbank, chroma_stft, ChromaOptions};
pub use descriptor::{
    segment_descriptors, DescriptorExtractor, DESCRIPTOR_DIM, DESCRIPTOR_SAMPLE_RATE,
    SEGMENT_SAMPLES, SEGMENT_SECONDS,
};
pub use lpc::{
    analytic_signal, lpc_autocorrelation, lpc_residual, residual_phase, residual_phase_frames,
};
pub use mel::{
    hz_to_mel, mel_filterbank, mel_frequencies, mel_to_hz, melspectrogram, MelFilterbank, MelNorm,
    MelOptions, MelScale,
};
pub use rhythm::{
    beat_histogram, onset_strength, tempo, BeatHistogram, OnsetOptions, TempoOptions,
};
pub use spectral::{
    dct_ortho_matrix, log_mel_db, mfcc, mfcc_from_log_mel, power_to_db, rms, spectral_bandwidth,
    spectral_centroid, spectral_contrast, spectral_flatness, spectral_flux, spectral_rolloff,
    zero_crossing_rate,
};
pub use spectrogram_image::{
    png_bytes_with_extent, render_png, save_png_with_extent, spectrogram_image, Colormap,
    SpectrogramExtent, SpectrogramKind, SpectrogramOptions,
};
pub use stft::{fft_frequencies, magnitude_spectrogram, power_spectrogram, StftOptions, Window};

/// Version of the feature definitions. Stored with every result computed from features;
/// bump it whenever any output of this module changes.
pub const FEATURES_VERSION: u32 = 1;

/// Errors from feature extraction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeatureError {
    /// No samples were given.
    #[error("empty input: {0}")]
    EmptyInput(String),
    /// A sample is NaN or infinite.
    #[error("non-finite input: {0}")]
    NonFinite(String),
    /// A parameter is out of range.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// The function needs a specific sample rate.
    #[error("unsupported sample rate: {0}")]
    UnsupportedSampleRate(String),
    /// Encoding the picture failed.
    #[error("image error: {0}")]
    Image(String),
    /// Writing a file failed.
    #[error("i/o error: {0}")]
    Io(String),
}

/// A time-varying feature: `n_frames` rows of `dim` values, row-major `[frame][dim]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Frames {
    /// Number of frames (rows).
    pub n_frames: usize,
    /// Values per frame (columns).
    pub dim: usize,
    /// `n_frames * dim` values, `data[frame * dim + k]`.
    pub data: Vec<f64>,
}

impl Frames {
    /// A zero matrix.
    pub fn zeros(n_frames: usize, dim: usize) -> Self {
        Frames {
            n_frames,
            dim,
            data: vec![0.0; n_frames * dim],
        }
    }

    /// One frame (row).
    pub fn row(&self, t: usize) -> &[f64] {
        &self.data[t * self.dim..(t + 1) * self.dim]
    }

    /// One frame (row), mutable.
    pub fn row_mut(&mut self, t: usize) -> &mut [f64] {
        &mut self.data[t * self.dim..(t + 1) * self.dim]
    }

    /// Iterator over rows.
    pub fn rows(&self) -> impl Iterator<Item = &[f64]> {
        self.data.chunks_exact(self.dim.max(1)).take(self.n_frames)
    }

    /// Value `k` of frame `t`.
    pub fn get(&self, t: usize, k: usize) -> f64 {
        self.data[t * self.dim + k]
    }

    /// The sequence of values of column `k` over time.
    pub fn column(&self, k: usize) -> Vec<f64> {
        (0..self.n_frames).map(|t| self.get(t, k)).collect()
    }
}

/// Checks samples: non-empty and finite.
pub(crate) fn check_samples(samples: &[f32]) -> Result<(), FeatureError> {
    if samples.is_empty() {
        return Err(FeatureError::EmptyInput("no samples".into()));
    }
    if let Some(i) = samples.iter().position(|x| !x.is_finite()) {
        return Err(FeatureError::NonFinite(format!(
            "sample {i} is {}",
            samples[i]
        )));
    }
    Ok(())
}

/// Checks a sample rate is usable.
pub(crate) fn check_sr(sr: u32) -> Result<(), FeatureError> {
    if sr == 0 {
        return Err(FeatureError::InvalidParameter("sample rate is 0".into()));
    }
    Ok(())
}
