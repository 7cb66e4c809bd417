//! Real-input FFT built on rustfft (half-length complex FFT with the packing trick for even
//! lengths, full complex FFT for odd lengths). Plans and scratch are reused between calls.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftNum, FftPlanner};

/// Forward FFT of a real signal of fixed length `n`, returning the `n / 2 + 1` bins of the
/// one-sided spectrum.
pub struct RealFft<T: FftNum> {
    n: usize,
    fft: Arc<dyn Fft<T>>,
    /// twiddles e^{-2 pi i k / n}, k = 0..n/2 (even n only)
    twiddles: Vec<Complex<T>>,
    buf: Vec<Complex<T>>,
    scratch: Vec<Complex<T>>,
}

impl<T: FftNum> RealFft<T> {
    /// Plans a real FFT of length `n` (n >= 1).
    pub fn new(n: usize) -> Self {
        let n = n.max(1);
        let mut planner = FftPlanner::<T>::new();
        let even = n.is_multiple_of(2);
        let m = if even { n / 2 } else { n };
        let fft = planner.plan_fft_forward(m);
        let twiddles = if even {
            (0..=m)
                .map(|k| {
                    let a = -2.0 * std::f64::consts::PI * k as f64 / n as f64;
                    Complex::new(from_f64::<T>(a.cos()), from_f64::<T>(a.sin()))
                })
                .collect()
        } else {
            Vec::new()
        };
        let scratch_len = fft.get_inplace_scratch_len();
        RealFft {
            n,
            fft,
            twiddles,
            buf: vec![Complex::new(T::zero(), T::zero()); m],
            scratch: vec![Complex::new(T::zero(), T::zero()); scratch_len],
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

    /// Computes the one-sided spectrum of `input` (length `n`) into `out` (length
    /// `n / 2 + 1`). Shorter/longer slices are a programming error and are handled by
    /// zero-filling/truncation rather than panicking.
    pub fn process(&mut self, input: &[T], out: &mut [Complex<T>]) {
        let n = self.n;
        let zero = Complex::new(T::zero(), T::zero());
        let get = |i: usize| -> T { input.get(i).copied().unwrap_or_else(T::zero) };
        if n % 2 == 1 {
            for (i, b) in self.buf.iter_mut().enumerate() {
                *b = Complex::new(get(i), T::zero());
            }
            self.fft
                .process_with_scratch(&mut self.buf, &mut self.scratch);
            for (o, b) in out.iter_mut().zip(self.buf.iter()) {
                *o = *b;
            }
            return;
        }
        let m = n / 2;
        for (i, b) in self.buf.iter_mut().enumerate() {
            *b = Complex::new(get(2 * i), get(2 * i + 1));
        }
        self.fft
            .process_with_scratch(&mut self.buf, &mut self.scratch);
        let half = from_f64::<T>(0.5);
        let z0 = self.buf.first().copied().unwrap_or(zero);
        if let Some(o) = out.get_mut(0) {
            *o = Complex::new(z0.re + z0.im, T::zero());
        }
        if let Some(o) = out.get_mut(m) {
            *o = Complex::new(z0.re - z0.im, T::zero());
        }
        for k in 1..m {
            let zk = self.buf[k];
            let zc = self.buf[m - k].conj();
            let even = (zk + zc) * half;
            let odd = (zk - zc) * half;
            // odd / i = -i * odd
            let odd = Complex::new(odd.im, -odd.re);
            if let Some(o) = out.get_mut(k) {
                *o = even + self.twiddles[k] * odd;
            }
        }
    }

    /// Computes the one-sided power spectrum `|X[k]|^2` of `input` into `out`.
    pub fn power(&mut self, input: &[T], out: &mut [T]) {
        let n = self.n;
        let get = |i: usize| -> T { input.get(i).copied().unwrap_or_else(T::zero) };
        if n % 2 == 1 {
            for (i, b) in self.buf.iter_mut().enumerate() {
                *b = Complex::new(get(i), T::zero());
            }
            self.fft
                .process_with_scratch(&mut self.buf, &mut self.scratch);
            for (o, b) in out.iter_mut().zip(self.buf.iter()) {
                *o = b.norm_sqr();
            }
            return;
        }
        let m = n / 2;
        if input.len() >= n {
            for (b, pair) in self.buf.iter_mut().zip(input.chunks_exact(2)) {
                *b = Complex::new(pair[0], pair[1]);
            }
        } else {
            for (i, b) in self.buf.iter_mut().enumerate() {
                *b = Complex::new(get(2 * i), get(2 * i + 1));
            }
        }
        self.fft
            .process_with_scratch(&mut self.buf, &mut self.scratch);
        let half = from_f64::<T>(0.5);
        let z0 = self.buf[0];
        if out.len() < m + 1 {
            return;
        }
        let a = z0.re + z0.im;
        let b = z0.re - z0.im;
        out[0] = a * a;
        out[m] = b * b;
        for (k, o) in out.iter_mut().enumerate().take(m).skip(1) {
            let zk = self.buf[k];
            let zc = self.buf[m - k].conj();
            let even = (zk + zc) * half;
            let odd = (zk - zc) * half;
            let odd = Complex::new(odd.im, -odd.re);
            *o = (even + self.twiddles[k] * odd).norm_sqr();
        }
    }
}

/// Converts an `f64` constant to the FFT float type.
pub(crate) fn from_f64<T: FftNum>(x: f64) -> T {
    T::from_f64(x).unwrap_or_else(T::zero)
}

/// Complex FFT (forward or inverse) of arbitrary length, in place. Unnormalised.
pub(crate) fn complex_fft(data: &mut [Complex<f64>], inverse: bool) {
    if data.is_empty() {
        return;
    }
    let mut planner = FftPlanner::<f64>::new();
    let fft = if inverse {
        planner.plan_fft_inverse(data.len())
    } else {
        planner.plan_fft_forward(data.len())
    };
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
