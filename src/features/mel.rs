//! Mel scale and mel filterbank, matching `librosa.filters.mel` and
//! `librosa.feature.melspectrogram`.

use super::stft::{checked_power, fft_frequencies, StftOptions};
use super::{FeatureError, Frames};

/// Mel scale formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MelScale {
    /// Slaney's Auditory Toolbox scale (linear below 1 kHz, log above; librosa default).
    #[default]
    Slaney,
    /// HTK: `2595 * log10(1 + f / 700)`.
    Htk,
}

/// Filter normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MelNorm {
    /// Slaney area normalisation `2 / (f[i+2] - f[i])` (librosa `norm="slaney"`, default).
    #[default]
    Slaney,
    /// Unit-peak triangles (librosa `norm=None`).
    None,
}

/// Hz to mel.
pub fn hz_to_mel(hz: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 2595.0 * (1.0 + hz / 700.0).log10(),
        MelScale::Slaney => {
            let f_sp = 200.0 / 3.0;
            let min_log_hz = 1000.0;
            let min_log_mel = min_log_hz / f_sp;
            let logstep = 6.4f64.ln() / 27.0;
            if hz >= min_log_hz {
                min_log_mel + (hz / min_log_hz).ln() / logstep
            } else {
                hz / f_sp
            }
        }
    }
}

/// Mel to Hz.
pub fn mel_to_hz(mel: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 700.0 * (10f64.powf(mel / 2595.0) - 1.0),
        MelScale::Slaney => {
            let f_sp = 200.0 / 3.0;
            let min_log_hz = 1000.0;
            let min_log_mel = min_log_hz / f_sp;
            let logstep = 6.4f64.ln() / 27.0;
            if mel >= min_log_mel {
                min_log_hz * (logstep * (mel - min_log_mel)).exp()
            } else {
                f_sp * mel
            }
        }
    }
}

/// `n` frequencies evenly spaced on the mel scale from `fmin` to `fmax` (librosa
/// `mel_frequencies`).
pub fn mel_frequencies(n: usize, fmin: f64, fmax: f64, scale: MelScale) -> Vec<f64> {
    let lo = hz_to_mel(fmin, scale);
    let hi = hz_to_mel(fmax, scale);
    if n == 1 {
        return vec![mel_to_hz(lo, scale)];
    }
    (0..n)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n - 1) as f64, scale))
        .collect()
}

/// Mel filterbank parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MelOptions {
    /// Number of mel bands (librosa default 128).
    pub n_mels: usize,
    /// Lowest edge in Hz (default 0).
    pub fmin: f64,
    /// Highest edge in Hz; `None` = Nyquist (default).
    pub fmax: Option<f64>,
    /// Scale (default Slaney).
    pub scale: MelScale,
    /// Normalisation (default Slaney).
    pub norm: MelNorm,
}

impl Default for MelOptions {
    fn default() -> Self {
        MelOptions {
            n_mels: 128,
            fmin: 0.0,
            fmax: None,
            scale: MelScale::Slaney,
            norm: MelNorm::Slaney,
        }
    }
}

/// A mel filterbank stored sparsely: for each band, the first bin and the run of weights.
#[derive(Debug, Clone, PartialEq)]
pub struct MelFilterbank {
    /// Number of bands.
    pub n_mels: usize,
    /// Number of STFT bins (`n_fft / 2 + 1`).
    pub n_bins: usize,
    /// Per band: (first bin, weights for bins `start..start + weights.len()`).
    pub bands: Vec<(usize, Vec<f64>)>,
}

impl MelFilterbank {
    /// Dense weights, row-major `[mel][bin]` (librosa's matrix).
    pub fn dense(&self) -> Vec<f64> {
        let mut w = vec![0.0; self.n_mels * self.n_bins];
        for (m, (start, ws)) in self.bands.iter().enumerate() {
            for (i, &v) in ws.iter().enumerate() {
                w[m * self.n_bins + start + i] = v;
            }
        }
        w
    }

    /// Applies the filterbank to one power spectrum (`n_bins` values) into `out` (`n_mels`).
    pub fn apply(&self, spectrum: &[f64], out: &mut [f64]) {
        for (o, (start, ws)) in out.iter_mut().zip(&self.bands) {
            let seg = spectrum.get(*start..*start + ws.len()).unwrap_or(&[]);
            *o = seg.iter().zip(ws).map(|(a, b)| a * b).sum();
        }
    }

    /// Applies the filterbank to every frame of a power spectrogram.
    pub fn apply_frames(&self, power: &Frames) -> Frames {
        let mut out = Frames::zeros(power.n_frames, self.n_mels);
        for t in 0..power.n_frames {
            let (row, o) = (
                power.row(t),
                &mut out.data[t * self.n_mels..(t + 1) * self.n_mels],
            );
            self.apply(row, o);
        }
        out
    }
}

/// Builds the mel filterbank exactly as `librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax,
/// htk, norm)` (weights computed in f64).
pub fn mel_filterbank(
    sr: u32,
    n_fft: usize,
    opts: &MelOptions,
) -> Result<MelFilterbank, FeatureError> {
    if sr == 0 {
        return Err(FeatureError::InvalidParameter("sample rate is 0".into()));
    }
    if n_fft < 2 {
        return Err(FeatureError::InvalidParameter(format!("n_fft {n_fft} < 2")));
    }
    if opts.n_mels == 0 {
        return Err(FeatureError::InvalidParameter("n_mels is 0".into()));
    }
    let nyq = sr as f64 / 2.0;
    let fmax = opts.fmax.unwrap_or(nyq);
    if !(opts.fmin.is_finite() && fmax.is_finite() && opts.fmin >= 0.0 && opts.fmin < fmax) {
        return Err(FeatureError::InvalidParameter(format!(
            "need 0 <= fmin < fmax, got fmin {} fmax {fmax}",
            opts.fmin
        )));
    }
    let fftfreqs = fft_frequencies(sr, n_fft);
    let mel_f = mel_frequencies(opts.n_mels + 2, opts.fmin, fmax, opts.scale);
    let n_bins = fftfreqs.len();
    let mut bands = Vec::with_capacity(opts.n_mels);
    for i in 0..opts.n_mels {
        let fdiff_lo = mel_f[i + 1] - mel_f[i];
        let fdiff_hi = mel_f[i + 2] - mel_f[i + 1];
        let enorm = match opts.norm {
            MelNorm::Slaney => 2.0 / (mel_f[i + 2] - mel_f[i]),
            MelNorm::None => 1.0,
        };
        let w: Vec<f64> = fftfreqs
            .iter()
            .map(|&f| {
                let lower = (f - mel_f[i]) / fdiff_lo;
                let upper = (mel_f[i + 2] - f) / fdiff_hi;
                0f64.max(lower.min(upper)) * enorm
            })
            .collect();
        match (
            w.iter().position(|&v| v > 0.0),
            w.iter().rposition(|&v| v > 0.0),
        ) {
            (Some(a), Some(b)) => bands.push((a, w[a..=b].to_vec())),
            _ => bands.push((0, Vec::new())),
        }
    }
    Ok(MelFilterbank {
        n_mels: opts.n_mels,
        n_bins,
        bands,
    })
}

/// Mel power spectrogram `[frame][mel]` (librosa `feature.melspectrogram(power=2.0)`).
pub fn melspectrogram(
    samples: &[f32],
    sr: u32,
    stft: &StftOptions,
    mel: &MelOptions,
) -> Result<Frames, FeatureError> {
    let fb = mel_filterbank(sr, stft.n_fft, mel)?;
    let p = checked_power(samples, sr, stft)?;
    Ok(fb.apply_frames(&p))
}
