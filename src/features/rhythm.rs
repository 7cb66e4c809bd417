//! Onset strength, tempo and beat histogram.

use super::mel::{mel_filterbank, MelOptions};
use super::spectral::power_to_db;
use super::stft::{checked_power, StftOptions};
use super::{check_sr, FeatureError, Frames};

/// Onset-strength parameters (librosa `onset.onset_strength` defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnsetOptions {
    /// STFT size (2048).
    pub n_fft: usize,
    /// Hop (512); the envelope has one value per hop.
    pub hop: usize,
    /// Mel bands (128).
    pub n_mels: usize,
    /// Difference lag in frames (1).
    pub lag: usize,
    /// Shift by `lag + n_fft / (2 * hop)` frames and trim to the frame count
    /// (librosa `center=True`).
    pub center: bool,
}

impl Default for OnsetOptions {
    fn default() -> Self {
        OnsetOptions {
            n_fft: 2048,
            hop: 512,
            n_mels: 128,
            lag: 1,
            center: true,
        }
    }
}

/// Onset envelope from a dB log-mel spectrogram `[frame][mel]`: mean over mel bands of
/// the positive first difference at `lag`, shifted right by `pad` frames (zeros in front)
/// and trimmed to the number of frames (librosa `onset_strength_multi` with
/// `aggregate=np.mean`, `max_size=1`, `detrend=False`).
pub fn onset_from_log_mel(log_mel: &Frames, lag: usize, pad: usize) -> Vec<f64> {
    let n = log_mel.n_frames;
    let lag = lag.max(1);
    let mut out = vec![0.0; n];
    let d = log_mel.dim.max(1) as f64;
    for (j, o) in out.iter_mut().enumerate().skip(pad) {
        let i = j - pad; // raw index: frame i + lag minus frame i
        if i + lag >= n {
            break;
        }
        let a = log_mel.row(i + lag);
        let b = log_mel.row(i);
        *o = a.iter().zip(b).map(|(x, y)| (x - y).max(0.0)).sum::<f64>() / d;
    }
    out
}

/// Onset-strength envelope like `librosa.onset.onset_strength(y, sr, n_fft, hop_length,
/// lag, center)` (mel power spectrogram with `n_mels` Slaney bands, `power_to_db` with its
/// defaults, positive difference, mean over bands). One value per STFT frame.
pub fn onset_strength(
    samples: &[f32],
    sr: u32,
    opts: &OnsetOptions,
) -> Result<Vec<f64>, FeatureError> {
    check_sr(sr)?;
    let stft = StftOptions {
        n_fft: opts.n_fft,
        hop: opts.hop,
        ..StftOptions::default()
    };
    let p = checked_power(samples, sr, &stft)?;
    let fb = mel_filterbank(
        sr,
        opts.n_fft,
        &MelOptions {
            n_mels: opts.n_mels,
            ..MelOptions::default()
        },
    )?;
    let mut m = fb.apply_frames(&p);
    power_to_db(&mut m.data, 1.0, 1e-10, Some(80.0));
    let pad = opts.lag
        + if opts.center {
            opts.n_fft / (2 * opts.hop)
        } else {
            0
        };
    Ok(onset_from_log_mel(&m, opts.lag, pad))
}

/// Biased autocorrelation `r[l] = sum_t x[t] x[t+l]` for `l = 0..=max_lag` (zero beyond
/// the signal).
pub fn autocorrelation(x: &[f64], max_lag: usize) -> Vec<f64> {
    (0..=max_lag)
        .map(|l| {
            if l >= x.len() {
                0.0
            } else {
                x[..x.len() - l]
                    .iter()
                    .zip(&x[l..])
                    .map(|(a, b)| a * b)
                    .sum()
            }
        })
        .collect()
}

fn interp(r: &[f64], x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return 0.0;
    }
    let i = x.floor() as usize;
    if i + 1 >= r.len() {
        return if i < r.len() { r[i] } else { 0.0 };
    }
    let f = x - i as f64;
    r[i] * (1.0 - f) + r[i + 1] * f
}

/// Tempo-estimation parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TempoOptions {
    /// Lowest tempo considered (30 BPM).
    pub min_bpm: f64,
    /// Highest tempo considered (300 BPM).
    pub max_bpm: f64,
    /// Centre of the log-normal tempo prior (120 BPM, as librosa).
    pub start_bpm: f64,
    /// Width of the prior in octaves (1.0, as librosa).
    pub std_bpm: f64,
}

impl Default for TempoOptions {
    fn default() -> Self {
        TempoOptions {
            min_bpm: 30.0,
            max_bpm: 300.0,
            start_bpm: 120.0,
            std_bpm: 1.0,
        }
    }
}

/// Tempo (BPM) from an onset envelope with frame rate `frame_rate` (= sr / hop).
///
/// Method (not librosa's tempogram; same prior): global autocorrelation of the
/// mean-removed envelope, weighted by the log-normal prior
/// `exp(-0.5 * ((log2 bpm - log2 start_bpm) / std_bpm)^2)`; the best integer lag is then
/// refined to a fractional period `T` maximising `sum_k r(k T)` over all multiples of `T`
/// that fit (linear interpolation), which removes the integer-lag quantisation of
/// librosa (e.g. 117.5 / 123.0 BPM around 120 at 22050 Hz, hop 512). Returns 0 when the
/// envelope is flat (no periodicity) or too short.
pub fn tempo_from_onset(env: &[f64], frame_rate: f64, opts: &TempoOptions) -> f64 {
    if env.len() < 4
        || frame_rate.is_nan()
        || frame_rate <= 0.0
        || opts.min_bpm.is_nan()
        || opts.min_bpm <= 0.0
        || opts.max_bpm <= opts.min_bpm
    {
        return 0.0;
    }
    let mean = env.iter().sum::<f64>() / env.len() as f64;
    let x: Vec<f64> = env.iter().map(|v| v - mean).collect();
    let lag_min = ((60.0 * frame_rate / opts.max_bpm).floor() as usize).max(1);
    let lag_max = ((60.0 * frame_rate / opts.min_bpm).ceil() as usize).min(env.len() - 1);
    if lag_max <= lag_min + 1 {
        return 0.0;
    }
    let r = autocorrelation(&x, env.len() - 1);
    if r[0].is_nan() || r[0] <= 0.0 {
        return 0.0;
    }
    let std = if opts.std_bpm > 0.0 {
        opts.std_bpm
    } else {
        1.0
    };
    let mut best = None;
    let mut best_score = f64::NEG_INFINITY;
    for l in lag_min.max(1)..=lag_max {
        if l + 1 >= r.len() || !(r[l] > 0.0 && r[l] >= r[l - 1] && r[l] >= r[l + 1]) {
            continue;
        }
        let bpm = 60.0 * frame_rate / l as f64;
        let prior = (-0.5 * ((bpm.log2() - opts.start_bpm.log2()) / std).powi(2)).exp();
        let s = r[l] / r[0] * prior;
        if s > best_score {
            best_score = s;
            best = Some(l);
        }
    }
    let Some(l0) = best else {
        return 0.0;
    };
    // fractional refinement over harmonics
    let mut best_t = l0 as f64;
    let mut best_v = f64::NEG_INFINITY;
    let steps = 200;
    for i in 0..=steps {
        let t = l0 as f64 - 1.0 + 2.0 * i as f64 / steps as f64;
        if t < 1.0 {
            continue;
        }
        let k_max = ((r.len() - 1) as f64 / t).floor() as usize;
        let k_max = k_max.clamp(1, 64);
        let v: f64 = (1..=k_max).map(|k| interp(&r, k as f64 * t)).sum::<f64>() / k_max as f64;
        if v > best_v {
            best_v = v;
            best_t = t;
        }
    }
    60.0 * frame_rate / best_t
}

/// Tempo (BPM) of a signal: onset envelope with [`OnsetOptions::default`] then
/// [`tempo_from_onset`]. Silent input gives 0.
pub fn tempo(samples: &[f32], sr: u32, opts: &TempoOptions) -> Result<f64, FeatureError> {
    let o = OnsetOptions::default();
    let env = onset_strength(samples, sr, &o)?;
    Ok(tempo_from_onset(&env, sr as f64 / o.hop as f64, opts))
}

/// A beat histogram: onset-envelope autocorrelation resampled onto a BPM axis.
#[derive(Debug, Clone, PartialEq)]
pub struct BeatHistogram {
    /// Bin centres in BPM (integers from `min_bpm` to `max_bpm`).
    pub bpm: Vec<f64>,
    /// Normalised autocorrelation (`r[lag] / r[0]`, negatives clipped to 0) at the lag of
    /// each BPM (linear interpolation between integer lags). All zero for a flat envelope.
    pub values: Vec<f64>,
}

impl BeatHistogram {
    /// Local maxima (value > 0, >= both neighbours, first of a plateau), strongest first:
    /// `(bpm, value)`.
    pub fn peaks(&self) -> Vec<(f64, f64)> {
        let v = &self.values;
        let mut p = Vec::new();
        for i in 0..v.len() {
            let left = if i == 0 { f64::NEG_INFINITY } else { v[i - 1] };
            let right = v.get(i + 1).copied().unwrap_or(f64::NEG_INFINITY);
            if v[i] > 0.0 && v[i] > left && v[i] >= right {
                p.push((self.bpm[i], v[i]));
            }
        }
        p.sort_by(|a, b| b.1.total_cmp(&a.1));
        p
    }
}

/// Beat histogram of an onset envelope at `frame_rate` frames per second over integer
/// BPM bins `min_bpm..=max_bpm` (the mean is removed before the autocorrelation).
pub fn beat_histogram(
    env: &[f64],
    frame_rate: f64,
    min_bpm: u32,
    max_bpm: u32,
) -> Result<BeatHistogram, FeatureError> {
    if min_bpm == 0 || max_bpm <= min_bpm || frame_rate.is_nan() || frame_rate <= 0.0 {
        return Err(FeatureError::InvalidParameter(format!(
            "beat histogram needs 0 < min_bpm < max_bpm and frame_rate > 0 (got {min_bpm}, {max_bpm}, {frame_rate})"
        )));
    }
    let bpm: Vec<f64> = (min_bpm..=max_bpm).map(f64::from).collect();
    let mut values = vec![0.0; bpm.len()];
    if env.len() >= 2 {
        let mean = env.iter().sum::<f64>() / env.len() as f64;
        let x: Vec<f64> = env.iter().map(|v| v - mean).collect();
        let r = autocorrelation(&x, env.len() - 1);
        if r[0] > 0.0 {
            for (v, b) in values.iter_mut().zip(&bpm) {
                let lag = 60.0 * frame_rate / b;
                *v = (interp(&r, lag) / r[0]).max(0.0);
            }
        }
    }
    Ok(BeatHistogram { bpm, values })
}
