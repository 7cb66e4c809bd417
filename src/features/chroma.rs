//! STFT chroma, like `librosa.feature.chroma_stft` with a fixed tuning (librosa estimates
//! the tuning with `estimate_tuning` when `tuning=None`; here it is a parameter, default
//! 0.0 = A440, and **no tuning estimation is done**).

use super::stft::{checked_power, StftOptions};
use super::{FeatureError, Frames};

/// Chroma parameters (librosa defaults except tuning, which is fixed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChromaOptions {
    /// Number of chroma bins (12).
    pub n_chroma: usize,
    /// Tuning deviation from A440 in fractional chroma bins (0.0; never estimated).
    pub tuning: f64,
    /// Centre of the octave weighting in octaves above A0 = 27.5 Hz (5.0).
    pub ctroct: f64,
    /// Gaussian half-width of the octave weighting in octaves (2.0); `None` = flat.
    pub octwidth: Option<f64>,
}

impl Default for ChromaOptions {
    fn default() -> Self {
        ChromaOptions {
            n_chroma: 12,
            tuning: 0.0,
            ctroct: 5.0,
            octwidth: Some(2.0),
        }
    }
}

/// The chroma filterbank `[chroma][bin]` (`n_chroma` x `n_fft/2+1`), exactly
/// `librosa.filters.chroma(sr, n_fft, tuning, n_chroma, ctroct, octwidth, norm=2,
/// base_c=True)` (row 0 = C).
pub fn chroma_filterbank(
    sr: u32,
    n_fft: usize,
    opts: &ChromaOptions,
) -> Result<Vec<f64>, FeatureError> {
    if sr == 0 || n_fft < 2 || opts.n_chroma == 0 {
        return Err(FeatureError::InvalidParameter(
            "chroma needs sr > 0, n_fft >= 2, n_chroma >= 1".into(),
        ));
    }
    let nc = opts.n_chroma;
    let ncf = nc as f64;
    let a440 = 440.0 * 2f64.powf(opts.tuning / ncf);
    // frqbins for bins 1..n_fft-1 (full-length spectrum, librosa style)
    let mut frqbins = Vec::with_capacity(n_fft);
    for k in 1..n_fft {
        let f = k as f64 * sr as f64 / n_fft as f64;
        frqbins.push(ncf * (f / (a440 / 16.0)).log2());
    }
    let first = frqbins[0] - 1.5 * ncf;
    frqbins.insert(0, first);
    let mut binwidth: Vec<f64> = frqbins.windows(2).map(|w| (w[1] - w[0]).max(1.0)).collect();
    binwidth.push(1.0);
    let nc2 = (ncf / 2.0).round();
    let mut wts = vec![0.0; nc * n_fft];
    for (j, (&fb, &bw)) in frqbins.iter().zip(&binwidth).enumerate() {
        for c in 0..nc {
            let d = fb - c as f64;
            let d = (d + nc2 + 10.0 * ncf).rem_euclid(ncf) - nc2;
            wts[c * n_fft + j] = (-0.5 * (2.0 * d / bw).powi(2)).exp();
        }
    }
    // L2-normalise each column over chroma
    for j in 0..n_fft {
        let norm: f64 = (0..nc)
            .map(|c| wts[c * n_fft + j].powi(2))
            .sum::<f64>()
            .sqrt();
        if norm > f64::MIN_POSITIVE {
            for c in 0..nc {
                wts[c * n_fft + j] /= norm;
            }
        }
    }
    if let Some(w) = opts.octwidth {
        for (j, &fb) in frqbins.iter().enumerate() {
            let g = (-0.5 * ((fb / ncf - opts.ctroct) / w).powi(2)).exp();
            for c in 0..nc {
                wts[c * n_fft + j] *= g;
            }
        }
    }
    // roll by -3 * (n_chroma / 12) so that row 0 is C, keep the first n_fft/2+1 bins
    let shift = 3 * (nc / 12);
    let n_bins = n_fft / 2 + 1;
    let mut out = vec![0.0; nc * n_bins];
    for c in 0..nc {
        let src = (c + shift) % nc;
        out[c * n_bins..(c + 1) * n_bins].copy_from_slice(&wts[src * n_fft..src * n_fft + n_bins]);
    }
    Ok(out)
}

/// Chroma from a power spectrogram, max-normalised per frame (librosa `norm=inf`; frames
/// whose maximum is 0 stay 0).
pub fn chroma_from_power(power: &Frames, fb: &[f64], n_chroma: usize) -> Frames {
    let nb = power.dim;
    let mut out = Frames::zeros(power.n_frames, n_chroma);
    for t in 0..power.n_frames {
        let r = power.row(t);
        let o = out.row_mut(t);
        for (c, oc) in o.iter_mut().enumerate() {
            let w = fb.get(c * nb..(c + 1) * nb).unwrap_or(&[]);
            *oc = r.iter().zip(w).map(|(a, b)| a * b).sum();
        }
        let m = o.iter().fold(0.0f64, |a, &b| a.max(b.abs()));
        if m > f64::MIN_POSITIVE {
            for v in o.iter_mut() {
                *v /= m;
            }
        }
    }
    out
}

/// Chromagram `[frame][chroma]` (row 0 = C) like `librosa.feature.chroma_stft(y, sr,
/// n_fft, hop_length, tuning=opts.tuning)` from the power spectrogram.
pub fn chroma_stft(
    samples: &[f32],
    sr: u32,
    stft: &StftOptions,
    opts: &ChromaOptions,
) -> Result<Frames, FeatureError> {
    let fb = chroma_filterbank(sr, stft.n_fft, opts)?;
    let p = checked_power(samples, sr, stft)?;
    Ok(chroma_from_power(&p, &fb, opts.n_chroma))
}
