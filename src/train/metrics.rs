//! Evaluation metrics for the four-quadrant classifier, and the evaluation report.
//!
//! Zero-division convention (as scikit-learn's `zero_division=0`): a class that is never
//! predicted has precision 0, a class with no true items has recall 0, and F1 is 0 whenever
//! `2·TP + FP + FN = 0` or `TP = 0`. Accuracy and the sign accuracies of an empty matrix are 0.
//! Macro-F1 averages F1 over the classes that occur in the truth or the predictions (as
//! scikit-learn does when no label list is given); with all four classes present, as in any
//! real fold, that is the plain mean over Q1..Q4.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::mood::Quadrant;

/// Why a confusion matrix could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetricsError {
    #[error("{truth} true labels but {pred} predictions")]
    LengthMismatch { truth: usize, pred: usize },
    #[error("label {label} at position {pos} is not a class index 0..=3")]
    BadLabel { pos: usize, label: usize },
}

/// 4x4 confusion matrix, `m[true][pred]`, classes Q1..Q4.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    pub m: [[u64; 4]; 4],
}

/// Arousal half of a class: true for high arousal (Q1, Q2).
fn high_arousal(c: usize) -> bool {
    c == 0 || c == 1
}

/// Valence half of a class: true for positive valence (Q1, Q4).
fn positive_valence(c: usize) -> bool {
    c == 0 || c == 3
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

impl Confusion {
    /// Builds the matrix from paired true and predicted class indices.
    ///
    /// # Panics
    /// When the lengths differ or a label is not in 0..=3; see [`Confusion::try_from_pairs`].
    pub fn from_pairs(truth: &[usize], pred: &[usize]) -> Self {
        match Self::try_from_pairs(truth, pred) {
            Ok(c) => c,
            Err(e) => panic!("Confusion::from_pairs: {e}"),
        }
    }

    /// Builds the matrix from paired true and predicted class indices, checking them.
    pub fn try_from_pairs(truth: &[usize], pred: &[usize]) -> Result<Self, MetricsError> {
        if truth.len() != pred.len() {
            return Err(MetricsError::LengthMismatch {
                truth: truth.len(),
                pred: pred.len(),
            });
        }
        let mut c = Confusion::default();
        for (pos, (&t, &p)) in truth.iter().zip(pred).enumerate() {
            for label in [t, p] {
                if label > 3 {
                    return Err(MetricsError::BadLabel { pos, label });
                }
            }
            c.m[t][p] += 1;
        }
        Ok(c)
    }

    /// Number of items.
    pub fn total(&self) -> u64 {
        self.m.iter().flatten().sum()
    }

    /// Number of items whose true class is `c` (row sum).
    pub fn support(&self, c: usize) -> u64 {
        self.m[c].iter().sum()
    }

    /// Number of items predicted as `c` (column sum).
    pub fn predicted(&self, c: usize) -> u64 {
        self.m.iter().map(|row| row[c]).sum()
    }

    /// Fraction of items on the diagonal; 0 for an empty matrix.
    pub fn accuracy(&self) -> f64 {
        ratio((0..4).map(|c| self.m[c][c]).sum(), self.total())
    }

    /// TP / (TP + FP); 0 when `c` is never predicted.
    pub fn precision(&self, c: usize) -> f64 {
        ratio(self.m[c][c], self.predicted(c))
    }

    /// TP / (TP + FN); 0 when `c` has no true items.
    pub fn recall(&self, c: usize) -> f64 {
        ratio(self.m[c][c], self.support(c))
    }

    /// 2·TP / (2·TP + FP + FN), the harmonic mean of precision and recall; 0 when undefined.
    pub fn f1(&self, c: usize) -> f64 {
        let tp = self.m[c][c];
        let fp = self.predicted(c) - tp;
        let fn_ = self.support(c) - tp;
        ratio(2 * tp, 2 * tp + fp + fn_)
    }

    /// Mean F1 over the classes present in the truth or the predictions; 0 if none.
    pub fn macro_f1(&self) -> f64 {
        let present: Vec<usize> = (0..4)
            .filter(|&c| self.support(c) + self.predicted(c) > 0)
            .collect();
        if present.is_empty() {
            return 0.0;
        }
        present.iter().map(|&c| self.f1(c)).sum::<f64>() / present.len() as f64
    }

    fn agreement(&self, half: fn(usize) -> bool) -> f64 {
        let mut agree = 0;
        for t in 0..4 {
            for p in 0..4 {
                if half(t) == half(p) {
                    agree += self.m[t][p];
                }
            }
        }
        ratio(agree, self.total())
    }

    /// Fraction of items whose predicted arousal half (high: Q1, Q2; low: Q3, Q4) is right.
    pub fn arousal_sign_accuracy(&self) -> f64 {
        self.agreement(high_arousal)
    }

    /// Fraction of items whose predicted valence half (positive: Q1, Q4; negative: Q2, Q3)
    /// is right.
    pub fn valence_sign_accuracy(&self) -> f64 {
        self.agreement(positive_valence)
    }

    /// Adds another matrix cell by cell (pooling folds).
    pub fn add(&mut self, other: &Confusion) {
        for (row, orow) in self.m.iter_mut().zip(&other.m) {
            for (x, o) in row.iter_mut().zip(orow) {
                *x += o;
            }
        }
    }
}

/// Per-class figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// True items of the class.
    pub support: u64,
}

/// Figures for one test fold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoldMetrics {
    /// 0-based fold index (the markdown shows it 1-based: fold 0 is "Fold 1").
    pub fold: usize,
    /// Test items.
    pub n: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// Q1..Q4.
    pub per_class: [ClassMetrics; 4],
    pub arousal_sign_accuracy: f64,
    pub valence_sign_accuracy: f64,
    /// `confusion[true][pred]`.
    pub confusion: [[u64; 4]; 4],
}

impl FoldMetrics {
    /// All figures of one fold from its confusion matrix.
    pub fn from_confusion(fold: usize, c: &Confusion) -> Self {
        FoldMetrics {
            fold,
            n: c.total() as usize,
            accuracy: c.accuracy(),
            macro_f1: c.macro_f1(),
            per_class: std::array::from_fn(|k| ClassMetrics {
                precision: c.precision(k),
                recall: c.recall(k),
                f1: c.f1(k),
                support: c.support(k),
            }),
            arousal_sign_accuracy: c.arousal_sign_accuracy(),
            valence_sign_accuracy: c.valence_sign_accuracy(),
            confusion: c.m,
        }
    }

    /// The fold's confusion matrix.
    pub fn confusion_matrix(&self) -> Confusion {
        Confusion { m: self.confusion }
    }
}

/// Mean and sample standard deviation (n - 1) of a figure across folds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MeanSd {
    pub mean: f64,
    /// Sample standard deviation; 0 when there are fewer than two folds.
    pub sd: f64,
}

impl MeanSd {
    pub fn of(values: &[f64]) -> Self {
        let n = values.len();
        if n == 0 {
            return MeanSd::default();
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = if n < 2 {
            0.0
        } else {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        };
        MeanSd { mean, sd }
    }

    /// `"0.812 ± 0.034"`, or just the mean when `with_sd` is false.
    pub fn show(&self, with_sd: bool) -> String {
        if with_sd {
            format!("{:.3} ± {:.3}", self.mean, self.sd)
        } else {
            format!("{:.3}", self.mean)
        }
    }
}

/// Figures across folds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n_folds: usize,
    pub accuracy: MeanSd,
    pub macro_f1: MeanSd,
    pub arousal_sign_accuracy: MeanSd,
    pub valence_sign_accuracy: MeanSd,
    /// Q1..Q4.
    pub per_class_f1: [MeanSd; 4],
    /// Sum of the folds' confusion matrices, `[true][pred]`.
    pub pooled_confusion: [[u64; 4]; 4],
    /// Accuracy of the pooled matrix (every test item weighted equally).
    pub pooled_accuracy: f64,
    /// Macro-F1 of the pooled matrix.
    pub pooled_macro_f1: f64,
}

/// Means and sample standard deviations across folds, and the pooled confusion matrix.
pub fn summarize(folds: &[FoldMetrics]) -> Summary {
    let of = |f: &dyn Fn(&FoldMetrics) -> f64| MeanSd::of(&folds.iter().map(f).collect::<Vec<_>>());
    let mut pooled = Confusion::default();
    for f in folds {
        pooled.add(&f.confusion_matrix());
    }
    Summary {
        n_folds: folds.len(),
        accuracy: of(&|f| f.accuracy),
        macro_f1: of(&|f| f.macro_f1),
        arousal_sign_accuracy: of(&|f| f.arousal_sign_accuracy),
        valence_sign_accuracy: of(&|f| f.valence_sign_accuracy),
        per_class_f1: std::array::from_fn(|c| of(&|f| f.per_class[c].f1)),
        pooled_confusion: pooled.m,
        pooled_accuracy: pooled.accuracy(),
        pooled_macro_f1: pooled.macro_f1(),
    }
}

/// Pearson correlation of two equally long series (0 when either is constant).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    if n < 2 {
        return 0.0;
    }
    let (mx, my) = (mean(&x[..n]), mean(&y[..n]));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (dx, dy) = (x[i] - mx, y[i] - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx <= 0.0 || syy <= 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len().max(1) as f64
}

/// Population standard deviation.
pub fn sd(x: &[f64]) -> f64 {
    let m = mean(x);
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// Lin's concordance correlation coefficient of predictions `p` against targets `t`:
/// 2 cov / (var_p + var_t + (mean_p - mean_t)^2). 1 only when p = t; it punishes a shrunken or
/// shifted scale that Pearson r forgives.
pub fn ccc(p: &[f64], t: &[f64]) -> f64 {
    let n = p.len().min(t.len());
    if n < 2 {
        return 0.0;
    }
    let (mp, mt) = (mean(&p[..n]), mean(&t[..n]));
    let (mut cov, mut vp, mut vt) = (0.0, 0.0, 0.0);
    for i in 0..n {
        cov += (p[i] - mp) * (t[i] - mt);
        vp += (p[i] - mp).powi(2);
        vt += (t[i] - mt).powi(2);
    }
    let (cov, vp, vt) = (cov / n as f64, vp / n as f64, vt / n as f64);
    let d = vp + vt + (mp - mt).powi(2);
    if d <= 0.0 {
        0.0
    } else {
        2.0 * cov / d
    }
}

/// Reliability of the top-class probability: per bin of confidence, the mean confidence,
/// the accuracy and the count.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reliability {
    pub bins: Vec<(f64, f64, usize)>,
    /// Expected calibration error: sum over bins of |accuracy - confidence| x share of items.
    pub ece: f64,
}

/// Reliability in `n_bins` equal-width confidence bins over [0, 1] (15 is the usual choice).
/// `conf[i]` is the predicted probability of the predicted class, `correct[i]` whether it was
/// right.
pub fn reliability(conf: &[f64], correct: &[bool], n_bins: usize) -> Reliability {
    let n_bins = n_bins.max(1);
    let mut acc = vec![(0.0f64, 0.0f64, 0usize); n_bins];
    for (&c, &ok) in conf.iter().zip(correct) {
        let b = ((c.clamp(0.0, 1.0) * n_bins as f64) as usize).min(n_bins - 1);
        acc[b].0 += c;
        acc[b].1 += if ok { 1.0 } else { 0.0 };
        acc[b].2 += 1;
    }
    let total = conf.len().min(correct.len()).max(1) as f64;
    let mut ece = 0.0;
    let bins = acc
        .into_iter()
        .map(|(sc, sa, n)| {
            if n == 0 {
                return (0.0, 0.0, 0);
            }
            let (mc, ma) = (sc / n as f64, sa / n as f64);
            ece += (ma - mc).abs() * n as f64 / total;
            (mc, ma, n)
        })
        .collect();
    Reliability { bins, ece }
}

/// The ECE a perfectly calibrated model with these confidences would still show on this many
/// items (its sampling noise floor): the mean ECE over `draws` simulated label sets where each
/// prediction is right with probability equal to its confidence. Deterministic (fixed seed).
pub fn ece_noise_floor(conf: &[f64], n_bins: usize, draws: usize) -> f64 {
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut total = 0.0;
    for _ in 0..draws.max(1) {
        let ok: Vec<bool> = conf
            .iter()
            .map(|&c| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 11) as f64 / (1u64 << 53) as f64) < c
            })
            .collect();
        total += reliability(conf, &ok, n_bins).ece;
    }
    total / draws.max(1) as f64
}

/// How well a fold's continuous valence/arousal and its probabilities came out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    pub valence_r: f64,
    pub arousal_r: f64,
    pub valence_ccc: f64,
    pub arousal_ccc: f64,
    /// Predicted sd / target sd (1 = the spread of the targets; < 1 = shrunk).
    pub valence_sd_ratio: f64,
    pub arousal_sd_ratio: f64,
    /// Expected calibration error of the quadrant probabilities, 15 bins.
    pub ece: f64,
}

impl RegressionMetrics {
    /// `pred`/`target`: (valence, arousal) per item; `conf`/`correct` as for `reliability`.
    pub fn new(pred: &[[f64; 2]], target: &[[f64; 2]], conf: &[f64], correct: &[bool]) -> Self {
        let col = |v: &[[f64; 2]], k: usize| v.iter().map(|x| x[k]).collect::<Vec<_>>();
        let (pv, pa, tv, ta) = (col(pred, 0), col(pred, 1), col(target, 0), col(target, 1));
        let ratio = |p: &[f64], t: &[f64]| {
            let st = sd(t);
            if st > 0.0 {
                sd(p) / st
            } else {
                0.0
            }
        };
        Self {
            valence_r: pearson(&pv, &tv),
            arousal_r: pearson(&pa, &ta),
            valence_ccc: ccc(&pv, &tv),
            arousal_ccc: ccc(&pa, &ta),
            valence_sd_ratio: ratio(&pv, &tv),
            arousal_sd_ratio: ratio(&pa, &ta),
            ece: reliability(conf, correct, 15).ece,
        }
    }
}

/// Mean ± sd of the regression figures across folds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegressionSummary {
    pub valence_r: MeanSd,
    pub arousal_r: MeanSd,
    pub valence_ccc: MeanSd,
    pub arousal_ccc: MeanSd,
    pub valence_sd_ratio: MeanSd,
    pub arousal_sd_ratio: MeanSd,
    pub ece: MeanSd,
}

pub fn summarize_regression(folds: &[RegressionMetrics]) -> RegressionSummary {
    let of = |f: &dyn Fn(&RegressionMetrics) -> f64| {
        MeanSd::of(&folds.iter().map(f).collect::<Vec<_>>())
    };
    RegressionSummary {
        valence_r: of(&|f| f.valence_r),
        arousal_r: of(&|f| f.arousal_r),
        valence_ccc: of(&|f| f.valence_ccc),
        arousal_ccc: of(&|f| f.arousal_ccc),
        valence_sd_ratio: of(&|f| f.valence_sd_ratio),
        arousal_sd_ratio: of(&|f| f.arousal_sd_ratio),
        ece: of(&|f| f.ece),
    }
}

/// An evaluation run: what was run, on what, how it was split, and the results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub title: String,
    pub command: String,
    pub data: String,
    pub split: String,
    pub folds: Vec<FoldMetrics>,
    pub summary: Summary,
    /// Anything else worth keeping (hyper-parameters, timings); shown as JSON when not null.
    pub extra: serde_json::Value,
}

fn class_name(c: usize) -> String {
    match Quadrant::from_index(c) {
        Some(q) => format!("{} {}", q.name(), q.label()),
        None => format!("class {c}"),
    }
}

fn confusion_table(out: &mut String, m: &[[u64; 4]; 4]) {
    out.push_str("| true \\ predicted |");
    for c in 0..4 {
        let _ = write!(out, " {} |", class_name(c));
    }
    out.push_str(" total |\n|---|---:|---:|---:|---:|---:|\n");
    for (t, row) in m.iter().enumerate() {
        let _ = write!(out, "| {} |", class_name(t));
        for x in row {
            let _ = write!(out, " {x} |");
        }
        let _ = writeln!(out, " {} |", row.iter().sum::<u64>());
    }
}

impl Report {
    /// Human-readable report: header, summary table ("mean ± sd"), pooled confusion matrix
    /// (rows = true class, columns = predicted), then a section per fold.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let s = &self.summary;
        let with_sd = s.n_folds >= 2;
        let _ = writeln!(out, "# {}\n", self.title);
        let _ = writeln!(out, "- Data: {}", self.data);
        let _ = writeln!(out, "- Split: {}", self.split);
        let _ = writeln!(out, "- Command:\n\n```\n{}\n```\n", self.command);

        let _ = writeln!(
            out,
            "## Summary\n\n{} fold(s); {}.\n",
            s.n_folds,
            if with_sd {
                "mean ± sample standard deviation across folds"
            } else {
                "a single fold, so no spread"
            }
        );
        out.push_str("| Metric | Value |\n|---|---:|\n");
        let rows = [
            ("Accuracy", s.accuracy),
            ("Macro-F1", s.macro_f1),
            (
                "Arousal sign accuracy (Q1,Q2 vs Q3,Q4)",
                s.arousal_sign_accuracy,
            ),
            (
                "Valence sign accuracy (Q1,Q4 vs Q2,Q3)",
                s.valence_sign_accuracy,
            ),
        ];
        for (name, v) in rows {
            let _ = writeln!(out, "| {name} | {} |", v.show(with_sd));
        }
        for (c, v) in s.per_class_f1.iter().enumerate() {
            let _ = writeln!(out, "| F1 {} | {} |", class_name(c), v.show(with_sd));
        }
        let pooled = Confusion {
            m: s.pooled_confusion,
        };
        let _ = writeln!(
            out,
            "\nPooled over all test items (n = {}): accuracy {:.3}, macro-F1 {:.3}.\n",
            pooled.total(),
            s.pooled_accuracy,
            s.pooled_macro_f1
        );
        out.push_str("### Pooled confusion matrix (rows = true, columns = predicted)\n\n");
        confusion_table(&mut out, &s.pooled_confusion);

        out.push_str("\n## Folds\n");
        for f in &self.folds {
            let _ = writeln!(
                out,
                "\n### Fold {} (n = {})\n\nAccuracy {:.3}, macro-F1 {:.3}, arousal sign \
                 accuracy {:.3}, valence sign accuracy {:.3}.\n",
                f.fold + 1,
                f.n,
                f.accuracy,
                f.macro_f1,
                f.arousal_sign_accuracy,
                f.valence_sign_accuracy
            );
            out.push_str(
                "| Class | Precision | Recall | F1 | Support |\n|---|---:|---:|---:|---:|\n",
            );
            for (c, m) in f.per_class.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "| {} | {:.3} | {:.3} | {:.3} | {} |",
                    class_name(c),
                    m.precision,
                    m.recall,
                    m.f1,
                    m.support
                );
            }
            out.push('\n');
            confusion_table(&mut out, &f.confusion);
        }

        if !self.extra.is_null() {
            let json = serde_json::to_string_pretty(&self.extra).unwrap_or_default();
            let _ = writeln!(out, "\n## Extra\n\n```json\n{json}\n```");
        }
        out
    }

    /// Writes `report.json` (pretty) and `report.md` into `dir`, creating it if needed.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("report.json"), json + "\n")?;
        std::fs::write(dir.join("report.md"), self.to_markdown())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// Hand-made matrix, rows = true, columns = predicted:
    ///
    /// ```text
    ///          Q1  Q2  Q3  Q4 | support
    ///   Q1     10   2   0   3 |  15
    ///   Q2      1   8   1   0 |  10
    ///   Q3      0   2   5   3 |  10
    ///   Q4      4   0   1  10 |  15
    ///   pred   15  12   7  16 |  50
    /// ```
    fn hand() -> Confusion {
        Confusion {
            m: [[10, 2, 0, 3], [1, 8, 1, 0], [0, 2, 5, 3], [4, 0, 1, 10]],
        }
    }

    #[test]
    fn hand_made_matrix() {
        let c = hand();
        assert_eq!(c.total(), 50);
        // Diagonal 10 + 8 + 5 + 10 = 33 → 33/50 = 0.66.
        assert!(close(c.accuracy(), 0.66));
        // Precision = diag / column sum: 10/15, 8/12, 5/7, 10/16.
        // Recall = diag / row sum:       10/15, 8/10, 5/10, 10/15.
        let p = [10.0 / 15.0, 8.0 / 12.0, 5.0 / 7.0, 10.0 / 16.0];
        let r = [10.0 / 15.0, 0.8, 0.5, 10.0 / 15.0];
        // F1 = 2TP / (row + column): 20/30 = 2/3, 16/22 = 8/11, 10/17, 20/31.
        let f = [2.0 / 3.0, 8.0 / 11.0, 10.0 / 17.0, 20.0 / 31.0];
        for k in 0..4 {
            assert!(close(c.precision(k), p[k]), "P{k}");
            assert!(close(c.recall(k), r[k]), "R{k}");
            assert!(close(c.f1(k), f[k]), "F{k}");
            // Same as the harmonic mean of P and R.
            assert!(close(c.f1(k), 2.0 * p[k] * r[k] / (p[k] + r[k])));
        }
        // Macro-F1 = (2/3 + 8/11 + 10/17 + 20/31) / 4 ≈ 0.656 83.
        let macro_f1 = (2.0 / 3.0 + 8.0 / 11.0 + 10.0 / 17.0 + 20.0 / 31.0) / 4.0;
        assert!(close(c.macro_f1(), macro_f1));
        assert!((c.macro_f1() - 0.65683).abs() < 1e-5);
        // Arousal: high = Q1,Q2. Agreeing cells: the Q1/Q2 block 10+2+1+8 = 21 and the Q3/Q4
        // block 5+3+1+10 = 19 → 40/50 = 0.8.
        assert!(close(c.arousal_sign_accuracy(), 0.8));
        // Valence: positive = Q1,Q4. Cells (Q1|Q4 × Q1|Q4): 10+3+4+10 = 27, and
        // (Q2|Q3 × Q2|Q3): 8+1+2+5 = 16 → 43/50 = 0.86.
        assert!(close(c.valence_sign_accuracy(), 0.86));
    }

    #[test]
    fn from_pairs_and_add() {
        let truth = [0, 0, 1, 2, 3, 3];
        let pred = [0, 1, 1, 3, 3, 0];
        let c = Confusion::from_pairs(&truth, &pred);
        assert_eq!(
            c.m,
            [[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 1]]
        );
        let mut sum = c;
        sum.add(&hand());
        assert_eq!(sum.total(), 56);
        assert_eq!(sum.m[0][0], 11);
        assert_eq!(
            Confusion::try_from_pairs(&[0], &[0, 1]),
            Err(MetricsError::LengthMismatch { truth: 1, pred: 2 })
        );
        assert_eq!(
            Confusion::try_from_pairs(&[0, 4], &[0, 1]),
            Err(MetricsError::BadLabel { pos: 1, label: 4 })
        );
    }

    #[test]
    #[should_panic(expected = "not a class index")]
    fn from_pairs_panics_on_bad_label() {
        Confusion::from_pairs(&[7], &[0]);
    }

    #[test]
    fn all_correct() {
        let truth = [0, 1, 2, 3, 0, 1, 2, 3, 3];
        let c = Confusion::from_pairs(&truth, &truth);
        assert_eq!(c.accuracy(), 1.0);
        assert_eq!(c.macro_f1(), 1.0);
        assert_eq!(c.arousal_sign_accuracy(), 1.0);
        assert_eq!(c.valence_sign_accuracy(), 1.0);
        for k in 0..4 {
            assert_eq!((c.precision(k), c.recall(k), c.f1(k)), (1.0, 1.0, 1.0));
        }
    }

    #[test]
    fn zero_division_is_zero() {
        // Q3 never predicted (precision 0 by convention), Q4 never true and never predicted.
        // Q1: TP 2, predicted 3, support 2. Q2: TP 1, predicted 1, support 1. Q3: support 1.
        let c = Confusion::from_pairs(&[0, 0, 1, 2], &[0, 0, 1, 0]);
        assert_eq!(c.precision(2), 0.0);
        assert_eq!(c.recall(2), 0.0);
        assert_eq!(c.f1(2), 0.0);
        assert_eq!((c.precision(3), c.recall(3), c.f1(3)), (0.0, 0.0, 0.0));
        // F1(Q1) = 4/(4+1) = 0.8, F1(Q2) = 1, F1(Q3) = 0; Q4 absent from both → left out.
        assert!(close(c.macro_f1(), (0.8 + 1.0 + 0.0) / 3.0));
        // A class that is true but never predicted: recall 0, precision 0.
        let c = Confusion::from_pairs(&[3, 3], &[0, 0]);
        assert_eq!((c.precision(3), c.recall(3), c.f1(3)), (0.0, 0.0, 0.0));
        assert_eq!((c.precision(0), c.recall(0), c.f1(0)), (0.0, 0.0, 0.0));
        assert_eq!(c.macro_f1(), 0.0);
        // Empty matrix.
        let e = Confusion::default();
        assert_eq!(e.accuracy(), 0.0);
        assert_eq!(e.macro_f1(), 0.0);
        assert_eq!(e.arousal_sign_accuracy(), 0.0);
        assert_eq!(e.valence_sign_accuracy(), 0.0);
    }

    fn fold_with(fold: usize, accuracy: f64, macro_f1: f64, c: Confusion) -> FoldMetrics {
        let mut f = FoldMetrics::from_confusion(fold, &c);
        f.accuracy = accuracy;
        f.macro_f1 = macro_f1;
        f
    }

    #[test]
    fn summarize_mean_and_sample_sd() {
        // Accuracies 0.6, 0.7, 0.8: mean 0.7; deviations ±0.1, 0 → sum of squares 0.02,
        // / (n-1 = 2) = 0.01 → sd 0.1.
        // Macro-F1 0.5, 0.5, 0.8: mean 0.6, squares 0.01+0.01+0.04 = 0.06, /2 = 0.03 → sd √0.03 ≈ 0.173205.
        let c = hand();
        let folds = [
            fold_with(0, 0.6, 0.5, c),
            fold_with(1, 0.7, 0.5, c),
            fold_with(2, 0.8, 0.8, c),
        ];
        let s = summarize(&folds);
        assert_eq!(s.n_folds, 3);
        assert!((s.accuracy.mean - 0.7).abs() < 1e-12);
        assert!((s.accuracy.sd - 0.1).abs() < 1e-12);
        assert!((s.macro_f1.mean - 0.6).abs() < 1e-12);
        assert!((s.macro_f1.sd - 0.03f64.sqrt()).abs() < 1e-12);
        // Identical folds: sd 0 for the sign accuracies, mean equals the fold value.
        assert!(close(s.arousal_sign_accuracy.mean, 0.8));
        assert!(s.arousal_sign_accuracy.sd < 1e-12);
        assert!(close(s.per_class_f1[1].mean, 8.0 / 11.0));
        // Pooled = 3 × hand.
        assert_eq!(s.pooled_confusion[0], [30, 6, 0, 9]);
        assert!(close(s.pooled_accuracy, 0.66));

        let one = summarize(&folds[..1]);
        assert_eq!((one.accuracy.mean, one.accuracy.sd), (0.6, 0.0));
        let none = summarize(&[]);
        assert_eq!(none.n_folds, 0);
        assert_eq!(none.accuracy, MeanSd::default());
    }

    fn report() -> Report {
        let a = FoldMetrics::from_confusion(0, &hand());
        let b = FoldMetrics::from_confusion(
            1,
            &Confusion::from_pairs(&[0, 1, 2, 3, 0], &[0, 1, 2, 3, 1]),
        );
        let folds = vec![a, b];
        let summary = summarize(&folds);
        Report {
            title: "Emotion head, 4Q audio".to_string(),
            command: "valence eval --folds 2".to_string(),
            data: "4Q-audio, 55 clips".to_string(),
            split: "2-fold, artist-grouped, seed 1".to_string(),
            folds,
            summary,
            extra: serde_json::json!({"epochs": 30}),
        }
    }

    #[test]
    fn markdown_has_key_figures() {
        let r = report();
        let md = r.to_markdown();
        // Accuracies 0.66 and 0.8: mean 0.73, sd = |0.8-0.66|/√2 ≈ 0.0990.
        assert!(md.contains("| Accuracy | 0.730 ± 0.099 |"), "{md}");
        assert!(md.contains("# Emotion head, 4Q audio"));
        assert!(md.contains("valence eval --folds 2"));
        assert!(md.contains("Q1 Happy"));
        assert!(md.contains("Q4 Calm"));
        assert!(md.contains("rows = true, columns = predicted"));
        // Pooled row Q1: hand's [10,2,0,3] + [1,1,0,0] → 11, 3, 0, 3, total 17.
        assert!(md.contains("| Q1 Happy | 11 | 3 | 0 | 3 | 17 |"), "{md}");
        assert!(md.contains("### Fold 1 (n = 50)"));
        assert!(md.contains("### Fold 2 (n = 5)"));
        // Fold 1, Q2 row: precision 8/12, recall 0.8, F1 8/11.
        assert!(
            md.contains("| Q2 Tense | 0.667 | 0.800 | 0.727 | 10 |"),
            "{md}"
        );
        assert!(md.contains("\"epochs\": 30"));
    }

    #[test]
    fn write_json_and_markdown() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("runs/a");
        let r = report();
        r.write(&out).unwrap();
        let json = std::fs::read_to_string(out.join("report.json")).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["folds"][0]["confusion"][0][0], 10);
        assert_eq!(v["folds"][0]["per_class"][1]["support"], 10);
        let md = std::fs::read_to_string(out.join("report.md")).unwrap();
        assert_eq!(md, r.to_markdown());
    }
}
