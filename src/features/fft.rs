//! Real-input FFT: a thin owner of a `realfft` plan with its input copy, output and scratch
//! buffers, reused between calls (realfft uses its input as scratch, so callers' frames are
//! copied in).

use std::cell::RefCell;
use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex;
use rustfft::{FftNum, FftPlanner};

/// Forward FFT of a real signal of fixed length `n`, returning the `n / 2 + 1` bins of the
/// one-sided spectrum.
pub struct RealFft<T: FftNum> {
    n: usize,
    fft: Arc<dyn RealToComplex<T>>,
    input: Vec<T>,
    spectrum: Vec<Complex<T>>,
    scratch: Vec<Complex<T>>,
}

impl<T: FftNum> RealFft<T> {
    /// Plans a real FFT of length `n` (n >= 1).
    pub fn new(n: usize) -> Self {
        let n = n.max(1);
        let fft = RealFftPlanner::<T>::new().plan_fft_forward(n);
        RealFft {
            n,
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
        }
    }

    /// FFT length.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Always false (length is at least 1).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Number of output bins, `n / 2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.n / 2 + 1
    }

    /// The spectrum of `input` in `self.spectrum`. Shorter/longer slices are a programming
    /// error and are handled by zero-filling/truncation rather than panicking.
    fn run(&mut self, input: &[T]) {
        let k = input.len().min(self.n);
        self.input[..k].copy_from_slice(&input[..k]);
        self.input[k..].fill(T::zero());
        // Only fails on buffer lengths, which `new` made right.
        let _ =
            self.fft
                .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch);
    }

    /// Computes the one-sided spectrum of `input` (length `n`) into `out` (length
    /// `n / 2 + 1`).
    pub fn process(&mut self, input: &[T], out: &mut [Complex<T>]) {
        self.run(input);
        for (o, z) in out.iter_mut().zip(&self.spectrum) {
            *o = *z;
        }
    }

    /// Computes the one-sided power spectrum `|X[k]|^2` of `input` into `out`.
    pub fn power(&mut self, input: &[T], out: &mut [T]) {
        self.run(input);
        for (o, z) in out.iter_mut().zip(&self.spectrum) {
            *o = z.norm_sqr();
        }
    }
}

/// Converts an `f64` constant to the FFT float type.
pub(crate) fn from_f64<T: FftNum>(x: f64) -> T {
    T::from_f64(x).unwrap_or_else(T::zero)
}

/// Complex FFT (forward or inverse) of arbitrary length, in place. Unnormalised. Plans are
/// cached per thread (the frame-wise residual phase runs two per frame).
pub(crate) fn complex_fft(data: &mut [Complex<f64>], inverse: bool) {
    thread_local! {
        static PLANNER: RefCell<FftPlanner<f64>> = RefCell::new(FftPlanner::new());
    }
    if data.is_empty() {
        return;
    }
    let fft = PLANNER.with_borrow_mut(|planner| {
        if inverse {
            planner.plan_fft_inverse(data.len())
        } else {
            planner.plan_fft_forward(data.len())
        }
    });
    fft.process(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: &[f64]) -> Vec<Complex<f64>> {
        let n = x.len();
        (0..=n / 2)
            .map(|k| {
                let mut s = Complex::new(0.0, 0.0);
                for (t, &v) in x.iter().enumerate() {
                    let a = -2.0 * std::f64::consts::PI * (k * t) as f64 / n as f64;
                    s += Complex::new(a.cos(), a.sin()) * v;
                }
                s
            })
            .collect()
    }

    #[test]
    fn matches_naive_dft() {
        for &n in &[1usize, 2, 3, 8, 15, 64, 100] {
            let x: Vec<f64> = (0..n).map(|i| ((i * 7 + 3) % 11) as f64 - 5.0).collect();
            let mut f = RealFft::<f64>::new(n);
            let mut out = vec![Complex::new(0.0, 0.0); f.n_bins()];
            f.process(&x, &mut out);
            let mut p = vec![0.0; f.n_bins()];
            f.power(&x, &mut p);
            let r = naive(&x);
            for k in 0..f.n_bins() {
                assert!((out[k] - r[k]).norm() < 1e-9, "n={n} k={k}");
                assert!((p[k] - r[k].norm_sqr()).abs() < 1e-8, "n={n} k={k}");
            }
        }
    }
}
