//! Frame-level spectral and temporal features (librosa `feature.*` equivalents).
//!
//! Functions taking samples compute the spectrogram themselves; the `*_from_*` variants
//! take a precomputed spectrogram so that several features can share one STFT.
//! Spectral shape features use the **magnitude** spectrogram (librosa's `power=1`) and need
//! an even `n_fft` (bin frequencies are derived from the bin count).

use super::mel::MelOptions;
use super::stft::{fft_frequencies, magnitude_spectrogram, StftOptions};
use super::{check_samples, check_sr, FeatureError, Frames};

/// `10 * log10(max(amin, x) / ref)`, then clipped below at `max - top_db` over the whole
/// matrix (librosa `power_to_db(S, ref=ref, amin=amin, top_db=top_db)`; `ref` is a
/// constant). Silent input gives `10 * log10(amin / ref)` everywhere (-100 dB by default).
pub fn power_to_db(values: &mut [f64], reference: f64, amin: f64, top_db: Option<f64>) {
    let r = 10.0 * amin.max(reference).log10();
    let mut max = f64::NEG_INFINITY;
    for v in values.iter_mut() {
        *v = 10.0 * amin.max(*v).log10() - r;
        max = max.max(*v);
    }
    if let Some(top) = top_db {
        let floor = max - top;
        for v in values.iter_mut() {
            *v = v.max(floor);
        }
    }
}

/// Log-mel spectrogram in dB (`power_to_db(melspectrogram, ref=1, amin=1e-10,
/// top_db=80)`), `[frame][mel]`.
pub fn log_mel_db(
    samples: &[f32],
    sr: u32,
    stft: &StftOptions,
    mel: &MelOptions,
) -> Result<Frames, FeatureError> {
    let mut m = super::mel::melspectrogram(samples, sr, stft, mel)?;
    power_to_db(&mut m.data, 1.0, 1e-10, Some(80.0));
    Ok(m)
}

/// DCT-II matrix with orthonormal scaling, `[k][n]`, `n_out` x `n_in` (scipy
/// `dct(type=2, norm="ortho")`).
pub fn dct_ortho_matrix(n_out: usize, n_in: usize) -> Vec<f64> {
    let nf = n_in as f64;
    let mut m = vec![0.0; n_out * n_in];
    for k in 0..n_out {
        let scale = if k == 0 {
            (1.0 / nf).sqrt()
        } else {
            (2.0 / nf).sqrt()
        };
        for n in 0..n_in {
            m[k * n_in + n] =
                scale * (std::f64::consts::PI * k as f64 * (2 * n + 1) as f64 / (2.0 * nf)).cos();
        }
    }
    m
}

/// MFCC from a dB log-mel spectrogram `[frame][mel]` (DCT-II ortho over the mel axis).
pub fn mfcc_from_log_mel(log_mel: &Frames, n_mfcc: usize) -> Result<Frames, FeatureError> {
    if n_mfcc == 0 || n_mfcc > log_mel.dim {
        return Err(FeatureError::InvalidParameter(format!(
            "n_mfcc must be in 1..={}, got {n_mfcc}",
            log_mel.dim
        )));
    }
    let dct = dct_ortho_matrix(n_mfcc, log_mel.dim);
    let mut out = Frames::zeros(log_mel.n_frames, n_mfcc);
    for t in 0..log_mel.n_frames {
        let row = log_mel.row(t);
        for k in 0..n_mfcc {
            let d = &dct[k * log_mel.dim..(k + 1) * log_mel.dim];
            out.data[t * n_mfcc + k] = row.iter().zip(d).map(|(a, b)| a * b).sum();
        }
    }
    Ok(out)
}

/// MFCC `[frame][coef]` like `librosa.feature.mfcc(y, sr, n_mfcc, dct_type=2,
/// norm="ortho", lifter=0)` with the given STFT and mel parameters (librosa defaults:
/// `StftOptions::default()`, `MelOptions::default()`, n_mfcc 20).
pub fn mfcc(
    samples: &[f32],
    sr: u32,
    n_mfcc: usize,
    stft: &StftOptions,
    mel: &MelOptions,
) -> Result<Frames, FeatureError> {
    let lm = log_mel_db(samples, sr, stft, mel)?;
    mfcc_from_log_mel(&lm, n_mfcc)
}

/// The `*_from_magnitude` shape features derive bin frequencies from the bin count, which
/// assumes an even `n_fft`.
fn check_even(stft: &StftOptions) -> Result<(), FeatureError> {
    if !stft.n_fft.is_multiple_of(2) {
        return Err(FeatureError::InvalidParameter(format!(
            "spectral shape features need an even n_fft, got {}",
            stft.n_fft
        )));
    }
    Ok(())
}

fn l1(row: &[f64]) -> f64 {
    row.iter().sum()
}

/// Spectral centroid per frame (Hz) from a magnitude spectrogram. Silent frames give 0.
pub fn spectral_centroid_from_magnitude(mag: &Frames, sr: u32) -> Vec<f64> {
    let n_fft = (mag.dim.saturating_sub(1)) * 2;
    let freq = fft_frequencies(sr, n_fft.max(2));
    mag.rows()
        .map(|r| {
            let s = l1(r);
            if s <= f64::MIN_POSITIVE {
                0.0
            } else {
                r.iter().zip(&freq).map(|(a, f)| a * f).sum::<f64>() / s
            }
        })
        .collect()
}

/// Spectral centroid (Hz) like `librosa.feature.spectral_centroid`. Silent frames give 0.
pub fn spectral_centroid(
    samples: &[f32],
    sr: u32,
    stft: &StftOptions,
) -> Result<Vec<f64>, FeatureError> {
    check_sr(sr)?;
    check_even(stft)?;
    let mag = magnitude_spectrogram(samples, stft)?;
    Ok(spectral_centroid_from_magnitude(&mag, sr))
}

/// Spectral bandwidth (p = 2, normalised) from a magnitude spectrogram.
pub fn spectral_bandwidth_from_magnitude(mag: &Frames, sr: u32) -> Vec<f64> {
    let n_fft = (mag.dim.saturating_sub(1)) * 2;
    let freq = fft_frequencies(sr, n_fft.max(2));
    let cent = spectral_centroid_from_magnitude(mag, sr);
    mag.rows()
        .zip(cent)
        .map(|(r, c)| {
            let s = l1(r);
            let norm = if s <= f64::MIN_POSITIVE { 1.0 } else { s };
            r.iter()
                .zip(&freq)
                .map(|(a, f)| a / norm * (f - c) * (f - c))
                .sum::<f64>()
                .sqrt()
        })
        .collect()
}

/// Spectral bandwidth (Hz) like `librosa.feature.spectral_bandwidth(p=2, norm=True)`.
/// Silent frames give 0.
pub fn spectral_bandwidth(
    samples: &[f32],
    sr: u32,
    stft: &StftOptions,
) -> Result<Vec<f64>, FeatureError> {
    check_sr(sr)?;
    check_even(stft)?;
    let mag = magnitude_spectrogram(samples, stft)?;
    Ok(spectral_bandwidth_from_magnitude(&mag, sr))
}

/// Roll-off frequency from a magnitude spectrogram: the lowest bin frequency where the
/// cumulative magnitude reaches `roll_percent` of the total. Silent frames give 0.
pub fn spectral_rolloff_from_magnitude(mag: &Frames, sr: u32, roll_percent: f64) -> Vec<f64> {
    let n_fft = (mag.dim.saturating_sub(1)) * 2;
    let freq = fft_frequencies(sr, n_fft.max(2));
    mag.rows()
        .map(|r| {
            let total = l1(r);
            let thr = roll_percent * total;
            let mut acc = 0.0;
            for (a, f) in r.iter().zip(&freq) {
                acc += a;
                if acc >= thr {
                    return *f;
                }
            }
            freq.last().copied().unwrap_or(0.0)
        })
        .collect()
}

/// Spectral roll-off (Hz) like `librosa.feature.spectral_rolloff(roll_percent)`.
pub fn spectral_rolloff(
    samples: &[f32],
    sr: u32,
    stft: &StftOptions,
    roll_percent: f64,
) -> Result<Vec<f64>, FeatureError> {
    check_sr(sr)?;
    check_even(stft)?;
    if !(roll_percent > 0.0 && roll_percent < 1.0) {
        return Err(FeatureError::InvalidParameter(format!(
            "roll_percent must be in (0, 1), got {roll_percent}"
        )));
    }
    let mag = magnitude_spectrogram(samples, stft)?;
    Ok(spectral_rolloff_from_magnitude(&mag, sr, roll_percent))
}

/// Spectral flatness from a power spectrogram (`amin = 1e-10`): geometric mean over
/// arithmetic mean of `max(amin, |X|^2)`. Silent frames give 1.
pub fn spectral_flatness_from_power(power: &Frames) -> Vec<f64> {
    let amin = 1e-10;
    power
        .rows()
        .map(|r| {
            let n = r.len().max(1) as f64;
            let mut logsum = 0.0;
            let mut sum = 0.0;
            for &v in r {
                let v = v.max(amin);
                logsum += v.ln();
                sum += v;
            }
            (logsum / n).exp() / (sum / n)
        })
        .collect()
}

/// Spectral flatness like `librosa.feature.spectral_flatness(power=2, amin=1e-10)`.
pub fn spectral_flatness(samples: &[f32], stft: &StftOptions) -> Result<Vec<f64>, FeatureError> {
    check_samples(samples)?;
    let p = super::stft::power_spectrogram(samples, stft)?;
    Ok(spectral_flatness_from_power(&p))
}

/// Octave-band spectral contrast from a magnitude spectrogram, `[frame][band]` with
/// `n_bands + 1` values in dB, exactly like `librosa.feature.spectral_contrast(S, sr,
/// n_bands, fmin, quantile, linear=False)` (note: librosa converts peak and valley with
/// `power_to_db`, including its 80 dB `top_db` clip over each matrix).
pub fn spectral_contrast_from_magnitude(
    mag: &Frames,
    sr: u32,
    n_bands: usize,
    fmin: f64,
    quantile: f64,
) -> Result<Frames, FeatureError> {
    if n_bands == 0
        || fmin.is_nan()
        || fmin <= 0.0
        || quantile.is_nan()
        || quantile <= 0.0
        || quantile >= 1.0
    {
        return Err(FeatureError::InvalidParameter(format!(
            "spectral contrast needs n_bands >= 1, fmin > 0, 0 < quantile < 1 (got {n_bands}, {fmin}, {quantile})"
        )));
    }
    let n_fft = (mag.dim.saturating_sub(1)) * 2;
    let freq = fft_frequencies(sr, n_fft.max(2));
    if mag.dim < 2 || freq.len() != mag.dim {
        return Err(FeatureError::InvalidParameter(format!(
            "spectral contrast needs an n_fft/2+1-bin spectrogram with an even n_fft, got {} bins",
            mag.dim
        )));
    }
    let mut octa = vec![0.0; n_bands + 2];
    for (i, o) in octa.iter_mut().enumerate().skip(1) {
        *o = fmin * 2f64.powi(i as i32 - 1);
    }
    if octa[..n_bands + 1].iter().any(|&f| f >= 0.5 * sr as f64) {
        return Err(FeatureError::InvalidParameter(
            "spectral contrast band exceeds Nyquist; reduce fmin or n_bands".into(),
        ));
    }
    // Bin ranges per band: (bins used for sorting, count for the quantile).
    let mut ranges = Vec::with_capacity(n_bands + 1);
    for k in 0..=n_bands {
        let (lo, hi) = (octa[k], octa[k + 1]);
        let idx: Vec<usize> = (0..freq.len())
            .filter(|&i| freq[i] >= lo && freq[i] <= hi)
            .collect();
        let (Some(&first), Some(&last)) = (idx.first(), idx.last()) else {
            return Err(FeatureError::InvalidParameter(format!(
                "spectral contrast band {k} ({lo}-{hi} Hz) holds no STFT bin; use a larger n_fft"
            )));
        };
        let mut start = first;
        let mut end = last + 1; // exclusive
        if k > 0 {
            start = first.saturating_sub(1);
        }
        if k == n_bands {
            end = freq.len();
        }
        let count = end - start;
        let used_end = if k < n_bands { end - 1 } else { end };
        let q = round_half_even(quantile * count as f64).max(1.0) as usize;
        ranges.push((start, used_end, q));
    }
    let nb = n_bands + 1;
    let mut peak = vec![0.0; mag.n_frames * nb];
    let mut valley = vec![0.0; mag.n_frames * nb];
    let mut buf = Vec::new();
    for t in 0..mag.n_frames {
        let r = mag.row(t);
        for (k, &(s, e, q)) in ranges.iter().enumerate() {
            buf.clear();
            buf.extend_from_slice(r.get(s..e).unwrap_or(&[]));
            if buf.is_empty() {
                continue;
            }
            // mean of the q smallest and of the q largest values (partial selection
            // instead of librosa's full sort; same result)
            let q = q.min(buf.len()).max(1);
            buf.select_nth_unstable_by(q - 1, |a, b| a.total_cmp(b));
            let lo: f64 = buf[..q].iter().sum::<f64>() / q as f64;
            let n = buf.len();
            buf.select_nth_unstable_by(n - q, |a, b| a.total_cmp(b));
            let hi: f64 = buf[n - q..].iter().sum::<f64>() / q as f64;
            valley[t * nb + k] = lo;
            peak[t * nb + k] = hi;
        }
    }
    power_to_db(&mut peak, 1.0, 1e-10, Some(80.0));
    power_to_db(&mut valley, 1.0, 1e-10, Some(80.0));
    let data = peak.iter().zip(&valley).map(|(p, v)| p - v).collect();
    Ok(Frames {
        n_frames: mag.n_frames,
        dim: nb,
        data,
    })
}

fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    }
}

/// Spectral contrast like `librosa.feature.spectral_contrast` (librosa defaults:
/// n_bands 6, fmin 200, quantile 0.02).
pub fn spectral_contrast(
    samples: &[f32],
    sr: u32,
    stft: &StftOptions,
    n_bands: usize,
    fmin: f64,
    quantile: f64,
) -> Result<Frames, FeatureError> {
    check_sr(sr)?;
    check_even(stft)?;
    let mag = magnitude_spectrogram(samples, stft)?;
    spectral_contrast_from_magnitude(&mag, sr, n_bands, fmin, quantile)
}

/// Spectral flux from a magnitude spectrogram (not in librosa; Tzanetakis' definition):
/// each frame's magnitudes are L1-normalised (silent frames stay zero), and
/// `flux[t] = sqrt(sum_k (m_t[k] - m_{t-1}[k])^2)`, with `flux[0] = 0`.
pub fn spectral_flux_from_magnitude(mag: &Frames) -> Vec<f64> {
    let mut out = Vec::with_capacity(mag.n_frames);
    let mut prev: Vec<f64> = vec![0.0; mag.dim];
    let mut cur = vec![0.0; mag.dim];
    for (t, r) in mag.rows().enumerate() {
        let s = l1(r);
        let norm = if s <= f64::MIN_POSITIVE { 1.0 } else { s };
        for (c, v) in cur.iter_mut().zip(r) {
            *c = v / norm;
        }
        if t == 0 {
            out.push(0.0);
        } else {
            out.push(
                cur.iter()
                    .zip(&prev)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt(),
            );
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    out
}

/// Spectral flux per frame, see [`spectral_flux_from_magnitude`].
pub fn spectral_flux(samples: &[f32], stft: &StftOptions) -> Result<Vec<f64>, FeatureError> {
    let mag = magnitude_spectrogram(samples, stft)?;
    Ok(spectral_flux_from_magnitude(&mag))
}

fn frame_count(len: usize, frame_length: usize, hop: usize) -> Result<usize, FeatureError> {
    if frame_length == 0 || hop == 0 {
        return Err(FeatureError::InvalidParameter(
            "frame_length and hop must be >= 1".into(),
        ));
    }
    let padded = len + 2 * (frame_length / 2);
    if padded < frame_length {
        return Ok(1);
    }
    Ok(1 + (padded - frame_length) / hop)
}

/// Zero-crossing rate per frame like `librosa.feature.zero_crossing_rate(y,
/// frame_length, hop_length, center=True)`: edge padding, `|x| <= 1e-10` counts as 0,
/// zero counts as positive, the first sample of a frame never counts.
pub fn zero_crossing_rate(
    samples: &[f32],
    frame_length: usize,
    hop: usize,
) -> Result<Vec<f64>, FeatureError> {
    check_samples(samples)?;
    let n = frame_count(samples.len(), frame_length, hop)?;
    let pad = (frame_length / 2) as isize;
    let len = samples.len() as isize;
    let sign = |j: isize| -> bool {
        let j = j.clamp(0, len - 1) as usize;
        let x = samples[j];
        x.abs() > 1e-10 && x < 0.0
    };
    // crossing[j] between padded sample j-1 and j
    let mut out = Vec::with_capacity(n);
    for t in 0..n {
        let start = (t * hop) as isize - pad;
        let mut c = 0usize;
        let mut prev = sign(start);
        for i in 1..frame_length as isize {
            let s = sign(start + i);
            if s != prev {
                c += 1;
            }
            prev = s;
        }
        out.push(c as f64 / frame_length as f64);
    }
    Ok(out)
}

/// RMS energy per frame like `librosa.feature.rms(y, frame_length, hop_length,
/// center=True, pad_mode="constant")` (computed in f64; librosa uses f32).
pub fn rms(samples: &[f32], frame_length: usize, hop: usize) -> Result<Vec<f64>, FeatureError> {
    check_samples(samples)?;
    let n = frame_count(samples.len(), frame_length, hop)?;
    let pad = (frame_length / 2) as isize;
    let len = samples.len() as isize;
    let mut out = Vec::with_capacity(n);
    for t in 0..n {
        let start = (t * hop) as isize - pad;
        let lo = start.max(0);
        let hi = (start + frame_length as isize).min(len);
        let mut acc = 0.0f64;
        if hi > lo {
            for &x in &samples[lo as usize..hi as usize] {
                acc += (x as f64) * (x as f64);
            }
        }
        out.push((acc / frame_length as f64).sqrt());
    }
    Ok(out)
}
