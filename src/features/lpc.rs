//! LPC residual phase (seed paper 002).
//!
//! LPC of order `p` by the autocorrelation method and Levinson-Durbin recursion, the
//! prediction residual `e(t) = x(t) - sum_{i=1..p} a_i x(t-i)` (zero initial state), its
//! analytic signal `e_a(t) = e(t) + j H{e}(t)` via the FFT Hilbert transform (same as
//! `scipy.signal.hilbert`), and the residual phase `RP(t) = cos(arg e_a(t)) = e(t) /
//! |e_a(t)|`. Where `|e_a(t)|` is 0 (e.g. silence), RP is defined as 0.

use rustfft::num_complex::Complex;

use super::fft::complex_fft;
use super::stft::Window;
use super::{check_samples, FeatureError, Frames};

/// LPC coefficients `a_1..a_p` (predictor `x(t) ~ sum a_i x(t-i)`) of `x` by the
/// autocorrelation method (biased autocorrelation of `x` as given: window it first if
/// wanted) and Levinson-Durbin. A silent or degenerate signal gives zeros (residual =
/// signal). Errors: order 0, or order >= len.
pub fn lpc_autocorrelation(x: &[f64], order: usize) -> Result<Vec<f64>, FeatureError> {
    if order == 0 || order >= x.len() {
        return Err(FeatureError::InvalidParameter(format!(
            "LPC order must be in 1..{} (signal length), got {order}",
            x.len()
        )));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(FeatureError::NonFinite("LPC input".into()));
    }
    let r: Vec<f64> = (0..=order)
        .map(|l| {
            x[..x.len() - l]
                .iter()
                .zip(&x[l..])
                .map(|(a, b)| a * b)
                .sum()
        })
        .collect();
    let mut a = vec![0.0; order + 1]; // a[0] unused
    if r[0].is_nan() || r[0] <= 0.0 {
        return Ok(vec![0.0; order]);
    }
    let mut err = r[0];
    let mut tmp = vec![0.0; order + 1];
    for i in 1..=order {
        let mut acc = r[i];
        for j in 1..i {
            acc -= a[j] * r[i - j];
        }
        let k = acc / err;
        if !k.is_finite() {
            break;
        }
        tmp[..=i].copy_from_slice(&a[..=i]);
        a[i] = k;
        for j in 1..i {
            a[j] = tmp[j] - k * tmp[i - j];
        }
        err *= 1.0 - k * k;
        if err.is_nan() || err <= r[0] * 1e-12 {
            break;
        }
    }
    Ok(a[1..].to_vec())
}

/// Prediction residual `e(t) = x(t) - sum a_i x(t-i)`, with `x(t) = 0` for `t < 0`.
pub fn lpc_residual(x: &[f64], a: &[f64]) -> Vec<f64> {
    (0..x.len())
        .map(|t| {
            let mut p = 0.0;
            for (i, ai) in a.iter().enumerate().take(t) {
                p += ai * x[t - 1 - i];
            }
            x[t] - p
        })
        .collect()
}

/// Analytic signal by FFT (scipy `signal.hilbert` with N = len).
pub fn analytic_signal(x: &[f64]) -> Vec<Complex<f64>> {
    let n = x.len();
    let mut buf: Vec<Complex<f64>> = x.iter().map(|&v| Complex::new(v, 0.0)).collect();
    if n == 0 {
        return buf;
    }
    complex_fft(&mut buf, false);
    // h: 1 at 0 (and n/2 when even), 2 for positive frequencies, 0 for negative
    for (k, b) in buf.iter_mut().enumerate() {
        let h = if k == 0 || (n.is_multiple_of(2) && k == n / 2) {
            1.0
        } else if k < n.div_ceil(2) {
            2.0
        } else {
            0.0
        };
        *b *= h / n as f64;
    }
    complex_fft(&mut buf, true);
    buf
}

/// Residual phase of the whole signal `samples` with LPC order `order` (one analysis over
/// all samples, no window). RP values lie in [-1, 1]; 0 where the analytic residual is 0.
pub fn residual_phase(samples: &[f32], order: usize) -> Result<Vec<f64>, FeatureError> {
    check_samples(samples)?;
    let x: Vec<f64> = samples.iter().map(|&v| v as f64).collect();
    residual_phase_f64(&x, order)
}

fn residual_phase_f64(x: &[f64], order: usize) -> Result<Vec<f64>, FeatureError> {
    let a = lpc_autocorrelation(x, order)?;
    let e = lpc_residual(x, &a);
    let ea = analytic_signal(&e);
    let max = ea.iter().fold(0.0f64, |m, c| m.max(c.norm()));
    let floor = (max * 1e-12).max(f64::MIN_POSITIVE);
    Ok(e.iter()
        .zip(&ea)
        .map(|(&v, c)| {
            let m = c.norm();
            if m > floor {
                (v / m).clamp(-1.0, 1.0)
            } else {
                0.0
            }
        })
        .collect())
}

/// Frame-wise residual phase as in seed paper 002: frames of `frame_len` samples every
/// `hop` (no centring; a signal shorter than one frame is zero-padded to one frame),
/// Blackman-Harris windowed, LPC of `order` on the windowed frame, residual phase per
/// sample. `[frame][sample]`. Paper setting: 2048-sample frames, hop 1024 at 44.1 kHz.
pub fn residual_phase_frames(
    samples: &[f32],
    frame_len: usize,
    hop: usize,
    order: usize,
) -> Result<Frames, FeatureError> {
    check_samples(samples)?;
    if frame_len < 2 || hop == 0 || order == 0 || order >= frame_len {
        return Err(FeatureError::InvalidParameter(format!(
            "need frame_len >= 2, hop >= 1, 1 <= order < frame_len (got {frame_len}, {hop}, {order})"
        )));
    }
    let n_frames = if samples.len() <= frame_len {
        1
    } else {
        1 + (samples.len() - frame_len) / hop
    };
    let w = Window::BlackmanHarris.coefficients(frame_len);
    let mut out = Frames::zeros(n_frames, frame_len);
    for t in 0..n_frames {
        let s = t * hop;
        let x: Vec<f64> = (0..frame_len)
            .map(|i| samples.get(s + i).copied().unwrap_or(0.0) as f64 * w[i])
            .collect();
        let rp = residual_phase_f64(&x, order)?;
        out.row_mut(t).copy_from_slice(&rp);
    }
    Ok(out)
}
