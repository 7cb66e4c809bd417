//! The seed-000 segment descriptor: one 66-dim vector per 3-s segment.
//!
//! Input must be mono at [`DESCRIPTOR_SAMPLE_RATE`] = 22050 Hz (resample first; any other
//! rate is an [`FeatureError::UnsupportedSampleRate`]). The signal is cut into
//! consecutive, non-overlapping 3-s segments (66150 samples); a trailing part shorter than
//! 3 s is dropped, except that a signal shorter than 3 s is zero-padded to one segment.
//! Every segment is analysed on its own (centred STFT, n_fft 2048, hop 512, Hann: 130
//! frames; 128 Slaney mel bands; `power_to_db` with `top_db = 80` within the segment).
//! Means/stds are over the segment's frames (population std).
//!
//! Papers 000/001 only name the groups (18 MFCC, 8 spectral, 10 short-time energy, 6
//! contrast-like, 8 more, 16 beat histogram); the exact choice below is ours.
//!
//! | dims  | feature |
//! |-------|---------|
//! | 0-17  | MFCC c0..c17 means (librosa `mfcc`, 128 mels, DCT-II ortho, dB log-mel) |
//! | 18    | spectral centroid mean (Hz) |
//! | 19    | spectral centroid std (Hz) |
//! | 20    | spectral roll-off (85 %) mean (Hz) |
//! | 21    | spectral roll-off std (Hz) |
//! | 22    | spectral flux mean (L1-normalised magnitude, see `spectral_flux_from_magnitude`) |
//! | 23    | spectral flux std |
//! | 24    | spectral flatness mean (0..1) |
//! | 25    | spectral bandwidth mean (Hz) |
//! | 26-35 | short-time energy: RMS in dB (`20 log10(max(rms, 1e-5))`) of the 10 consecutive 300-ms blocks of the segment |
//! | 36-41 | octave spectral contrast means (dB), bands 0-200, 200-400, 400-800, 800-1600, 1600-3200, 3200-Nyquist Hz (librosa `spectral_contrast`, n_bands 5, fmin 200, quantile 0.02) |
//! | 42    | zero-crossing rate mean (frame 2048, hop 512) |
//! | 43    | zero-crossing rate std |
//! | 44    | RMS mean (frame 2048, hop 512, linear amplitude) |
//! | 45    | RMS std |
//! | 46    | low-energy fraction: share of frames whose RMS is below the segment's mean RMS |
//! | 47    | onset-strength mean (librosa `onset_strength`, dB units) |
//! | 48    | spectral flatness std |
//! | 49    | spectral bandwidth std (Hz) |
//! | 50-53 | beat histogram: values (normalised autocorrelation, 0..1) of the 4 strongest peaks, strongest first |
//! | 54-57 | beat histogram: tempi (BPM) of those 4 peaks |
//! | 58-60 | amplitude ratios peak2/peak1, peak3/peak1, peak4/peak1 |
//! | 61-63 | period ratios BPM2/BPM1, BPM3/BPM1, BPM4/BPM1 |
//! | 64    | beat strength: mean of the histogram over all bins |
//! | 65    | number of peaks whose value is at least half the strongest (0..=81) |
//!
//! The beat histogram is the segment's onset-envelope autocorrelation resampled at integer
//! tempi 40..=200 BPM ([`super::rhythm::beat_histogram`]). Missing peaks (fewer than 4)
//! give 0 for their value, tempo and ratios. Silence gives finite values: MFCC of a
//! constant -100 dB log-mel, centroid/roll-off/bandwidth/flux/ZCR/RMS 0, flatness 1,
//! contrast 0, energy -100 dB, low-energy fraction 0, beat dims 0.

use super::mel::{mel_filterbank, MelOptions};
use super::rhythm::{beat_histogram, onset_from_log_mel};
use super::spectral::{
    mfcc_from_log_mel, power_to_db, rms, spectral_bandwidth_from_magnitude,
    spectral_centroid_from_magnitude, spectral_contrast_from_magnitude,
    spectral_flatness_from_power, spectral_flux_from_magnitude, spectral_rolloff_from_magnitude,
    zero_crossing_rate,
};
use super::stft::{PowerStft, StftOptions};
use super::{check_samples, FeatureError, Frames};

/// Sample rate the descriptor is defined at.
pub const DESCRIPTOR_SAMPLE_RATE: u32 = 22050;
/// Segment length in seconds.
pub const SEGMENT_SECONDS: f64 = 3.0;
/// Segment length in samples at 22050 Hz.
pub const SEGMENT_SAMPLES: usize = 66150;
/// Descriptor length.
pub const DESCRIPTOR_DIM: usize = 66;

const N_FFT: usize = 2048;
const HOP: usize = 512;

fn mean_std(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, var.sqrt())
}

/// Computes one 66-dim descriptor per 3-s segment of a 22050 Hz mono signal (see the module
/// docs for the dimension table and edge cases).
pub fn segment_descriptors(samples: &[f32], sr: u32) -> Result<Vec<[f32; 66]>, FeatureError> {
    if sr != DESCRIPTOR_SAMPLE_RATE {
        return Err(FeatureError::UnsupportedSampleRate(format!(
            "segment descriptors need {DESCRIPTOR_SAMPLE_RATE} Hz, got {sr} Hz"
        )));
    }
    check_samples(samples)?;
    let mut ctx = Context::new()?;
    let n_full = samples.len() / SEGMENT_SAMPLES;
    if n_full == 0 {
        let mut seg = samples.to_vec();
        seg.resize(SEGMENT_SAMPLES, 0.0);
        return Ok(vec![ctx.segment(&seg)?]);
    }
    (0..n_full)
        .map(|i| ctx.segment(&samples[i * SEGMENT_SAMPLES..(i + 1) * SEGMENT_SAMPLES]))
        .collect()
}

/// Reusable per-segment descriptor computation (plans the FFT and filterbank once).
pub struct DescriptorExtractor(Context);

impl DescriptorExtractor {
    pub fn new() -> Result<Self, FeatureError> {
        Ok(Self(Context::new()?))
    }

    /// Descriptor of one segment of 22050 Hz samples; shorter input is zero-padded to
    /// [`SEGMENT_SAMPLES`], like the last segment of [`segment_descriptors`].
    pub fn segment(&mut self, seg: &[f32]) -> Result<[f32; 66], FeatureError> {
        check_samples(seg)?;
        if seg.len() < SEGMENT_SAMPLES {
            let mut padded = seg.to_vec();
            padded.resize(SEGMENT_SAMPLES, 0.0);
            return self.0.segment(&padded);
        }
        self.0.segment(&seg[..SEGMENT_SAMPLES])
    }
}

struct Context {
    stft: PowerStft<f64>,
    mel: super::mel::MelFilterbank,
}

impl Context {
    fn new() -> Result<Self, FeatureError> {
        let opts = StftOptions {
            n_fft: N_FFT,
            hop: HOP,
            ..StftOptions::default()
        };
        Ok(Context {
            stft: PowerStft::new(opts)?,
            mel: mel_filterbank(DESCRIPTOR_SAMPLE_RATE, N_FFT, &MelOptions::default())?,
        })
    }

    fn segment(&mut self, seg: &[f32]) -> Result<[f32; 66], FeatureError> {
        let sr = DESCRIPTOR_SAMPLE_RATE;
        let n_bins = N_FFT / 2 + 1;
        let n_frames = 1 + seg.len() / HOP;
        let mut power = Frames::zeros(n_frames, n_bins);
        self.stft
            .run(seg, |t, p| power.row_mut(t).copy_from_slice(p))?;
        let mut mag = power.clone();
        for v in &mut mag.data {
            *v = v.sqrt();
        }
        let mut log_mel = self.mel.apply_frames(&power);
        power_to_db(&mut log_mel.data, 1.0, 1e-10, Some(80.0));

        let mut d = [0.0f64; 66];
        let mf = mfcc_from_log_mel(&log_mel, 18)?;
        for (k, dk) in d.iter_mut().enumerate().take(18) {
            *dk = mean_std(&mf.column(k)).0;
        }
        let cent = spectral_centroid_from_magnitude(&mag, sr);
        let roll = spectral_rolloff_from_magnitude(&mag, sr, 0.85);
        let flux = spectral_flux_from_magnitude(&mag);
        let flat = spectral_flatness_from_power(&power);
        let bw = spectral_bandwidth_from_magnitude(&mag, sr);
        let (cm, cs) = mean_std(&cent);
        let (rm, rs) = mean_std(&roll);
        let (fm, fs) = mean_std(&flux);
        let (flm, fls) = mean_std(&flat);
        let (bm, bs) = mean_std(&bw);
        d[18] = cm;
        d[19] = cs;
        d[20] = rm;
        d[21] = rs;
        d[22] = fm;
        d[23] = fs;
        d[24] = flm;
        d[25] = bm;
        let block = seg.len() / 10;
        for b in 0..10 {
            let blk = &seg[b * block..(b + 1) * block];
            let e = if blk.is_empty() {
                0.0
            } else {
                (blk.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>() / blk.len() as f64)
                    .sqrt()
            };
            d[26 + b] = 20.0 * e.max(1e-5).log10();
        }
        let con = spectral_contrast_from_magnitude(&mag, sr, 5, 200.0, 0.02)?;
        for k in 0..6 {
            d[36 + k] = mean_std(&con.column(k)).0;
        }
        let zcr = zero_crossing_rate(seg, N_FFT, HOP)?;
        let (zm, zs) = mean_std(&zcr);
        let r = rms(seg, N_FFT, HOP)?;
        let (rmm, rms_s) = mean_std(&r);
        d[42] = zm;
        d[43] = zs;
        d[44] = rmm;
        d[45] = rms_s;
        d[46] = if r.is_empty() {
            0.0
        } else {
            r.iter().filter(|&&v| v < rmm).count() as f64 / r.len() as f64
        };
        let env = onset_from_log_mel(&log_mel, 1, 1 + N_FFT / (2 * HOP));
        d[47] = mean_std(&env).0;
        d[48] = fls;
        d[49] = bs;

        let hist = beat_histogram(&env, sr as f64 / HOP as f64, 40, 200)?;
        let peaks = hist.peaks();
        let (b1, a1) = peaks.first().copied().unwrap_or((0.0, 0.0));
        for i in 0..4 {
            let (b, a) = peaks.get(i).copied().unwrap_or((0.0, 0.0));
            d[50 + i] = a;
            d[54 + i] = b;
            if i > 0 {
                d[57 + i] = if a1 > 0.0 { a / a1 } else { 0.0 };
                d[60 + i] = if b1 > 0.0 { b / b1 } else { 0.0 };
            }
        }
        d[64] = mean_std(&hist.values).0;
        d[65] = if a1 > 0.0 {
            peaks.iter().filter(|p| p.1 >= 0.5 * a1).count() as f64
        } else {
            0.0
        };
        let mut out = [0.0f32; 66];
        for (o, v) in out.iter_mut().zip(d) {
            *o = if v.is_finite() { v as f32 } else { 0.0 };
        }
        Ok(out)
    }
}
