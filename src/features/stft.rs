//! Short-time Fourier transform: windows, framing with librosa-style centring, power and
//! magnitude spectrograms.
//!
//! Matches `librosa.stft(y, n_fft, hop_length, win_length=n_fft, window, center=True,
//! pad_mode="constant")`: the signal is zero-padded by `n_fft / 2` samples on both sides,
//! frame `t` starts at padded sample `t * hop`, and there are
//! `1 + (len + 2 * (n_fft / 2) - n_fft) / hop` frames. Windows are the periodic ("fftbins")
//! variants of `scipy.signal.get_window`.

use rustfft::FftNum;

use super::fft::{from_f64, RealFft};
use super::{check_samples, check_sr, FeatureError, Frames};

/// Analysis window (periodic, length `n_fft`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Window {
    /// Hann (librosa default).
    #[default]
    Hann,
    /// Hamming (0.54 - 0.46 cos).
    Hamming,
    /// 4-term Blackman-Harris (scipy `blackmanharris`).
    BlackmanHarris,
}

impl Window {
    /// The periodic window of length `n` (scipy `get_window(name, n, fftbins=True)`).
    pub fn coefficients(self, n: usize) -> Vec<f64> {
        let nf = n as f64;
        (0..n)
            .map(|i| {
                let x = 2.0 * std::f64::consts::PI * i as f64 / nf;
                match self {
                    Window::Hann => 0.5 - 0.5 * x.cos(),
                    Window::Hamming => 0.54 - 0.46 * x.cos(),
                    Window::BlackmanHarris => {
                        0.35875 - 0.48829 * x.cos() + 0.14128 * (2.0 * x).cos()
                            - 0.01168 * (3.0 * x).cos()
                    }
                }
            })
            .collect()
    }
}

/// STFT parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StftOptions {
    /// FFT (and window) length, >= 2.
    pub n_fft: usize,
    /// Hop between frames in samples, >= 1.
    pub hop: usize,
    /// Window.
    pub window: Window,
    /// Zero-pad `n_fft / 2` on both sides (librosa `center=True, pad_mode="constant"`).
    /// When false the signal must hold at least `n_fft` samples.
    pub center: bool,
}

impl Default for StftOptions {
    /// librosa defaults: n_fft 2048, hop 512, Hann, centred.
    fn default() -> Self {
        StftOptions {
            n_fft: 2048,
            hop: 512,
            window: Window::Hann,
            center: true,
        }
    }
}

impl StftOptions {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), FeatureError> {
        if self.n_fft < 2 {
            return Err(FeatureError::InvalidParameter(format!(
                "n_fft must be >= 2, got {}",
                self.n_fft
            )));
        }
        if self.n_fft > (1 << 24) {
            return Err(FeatureError::InvalidParameter(format!(
                "n_fft too large: {}",
                self.n_fft
            )));
        }
        if self.hop == 0 {
            return Err(FeatureError::InvalidParameter("hop must be >= 1".into()));
        }
        Ok(())
    }

    /// Number of frequency bins, `n_fft / 2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Number of frames for a signal of `len` samples.
    pub fn n_frames(&self, len: usize) -> Result<usize, FeatureError> {
        self.validate()?;
        let padded = if self.center {
            len + 2 * (self.n_fft / 2)
        } else {
            len
        };
        if padded < self.n_fft {
            return Err(FeatureError::InvalidParameter(format!(
                "signal of {len} samples is shorter than n_fft {} (center = false)",
                self.n_fft
            )));
        }
        Ok(1 + (padded - self.n_fft) / self.hop)
    }
}

/// Centre frequencies of the STFT bins, `k * sr / n_fft` (librosa `fft_frequencies`).
pub fn fft_frequencies(sr: u32, n_fft: usize) -> Vec<f64> {
    (0..=n_fft / 2)
        .map(|k| k as f64 * sr as f64 / n_fft as f64)
        .collect()
}

/// Reusable power-spectrogram engine (plan, window and buffers), generic over f32/f64.
pub(crate) struct PowerStft<T: FftNum> {
    opts: StftOptions,
    fft: RealFft<T>,
    window: Vec<T>,
    frame: Vec<T>,
}

impl<T: FftNum> PowerStft<T> {
    pub(crate) fn new(opts: StftOptions) -> Result<Self, FeatureError> {
        opts.validate()?;
        Ok(PowerStft {
            opts,
            fft: RealFft::new(opts.n_fft),
            window: opts
                .window
                .coefficients(opts.n_fft)
                .into_iter()
                .map(from_f64::<T>)
                .collect(),
            frame: vec![T::zero(); opts.n_fft],
        })
    }

    /// Calls `sink(frame_index, power_bins)` for each frame of `samples`.
    pub(crate) fn run<F: FnMut(usize, &[T])>(
        &mut self,
        samples: &[f32],
        mut sink: F,
    ) -> Result<usize, FeatureError> {
        let n_fft = self.opts.n_fft;
        let hop = self.opts.hop;
        let n_frames = self.opts.n_frames(samples.len())?;
        let pad = if self.opts.center { n_fft / 2 } else { 0 };
        let len = samples.len() as isize;
        let mut power = vec![T::zero(); self.opts.n_bins()];
        for t in 0..n_frames {
            let start = (t * hop) as isize - pad as isize;
            if start >= 0 && start + n_fft as isize <= len {
                let s = start as usize;
                for ((f, &x), &w) in self
                    .frame
                    .iter_mut()
                    .zip(&samples[s..s + n_fft])
                    .zip(&self.window)
                {
                    *f = from_f32::<T>(x) * w;
                }
            } else {
                for (i, (f, &w)) in self.frame.iter_mut().zip(&self.window).enumerate() {
                    let j = start + i as isize;
                    *f = if j >= 0 && j < len {
                        from_f32::<T>(samples[j as usize]) * w
                    } else {
                        T::zero()
                    };
                }
            }
            self.fft.power(&self.frame, &mut power);
            sink(t, &power);
        }
        Ok(n_frames)
    }
}

#[inline]
fn from_f32<T: FftNum>(x: f32) -> T {
    T::from_f32(x).unwrap_or_else(T::zero)
}

/// Power spectrogram `|STFT|^2`, `[frame][bin]` with `n_fft / 2 + 1` bins (librosa
/// `np.abs(librosa.stft(...))**2`). Computed in f64.
pub fn power_spectrogram(samples: &[f32], opts: &StftOptions) -> Result<Frames, FeatureError> {
    check_samples(samples)?;
    let mut eng = PowerStft::<f64>::new(*opts)?;
    let n_bins = opts.n_bins();
    let n_frames = opts.n_frames(samples.len())?;
    let mut out = Frames::zeros(n_frames, n_bins);
    eng.run(samples, |t, p| out.row_mut(t).copy_from_slice(p))?;
    Ok(out)
}

/// Magnitude spectrogram `|STFT|`, `[frame][bin]`.
pub fn magnitude_spectrogram(samples: &[f32], opts: &StftOptions) -> Result<Frames, FeatureError> {
    let mut s = power_spectrogram(samples, opts)?;
    for v in &mut s.data {
        *v = v.sqrt();
    }
    Ok(s)
}

/// Power spectrogram plus its sample rate check (shared by the spectral features).
pub(crate) fn checked_power(
    samples: &[f32],
    sr: u32,
    opts: &StftOptions,
) -> Result<Frames, FeatureError> {
    check_sr(sr)?;
    power_spectrogram(samples, opts)
}
