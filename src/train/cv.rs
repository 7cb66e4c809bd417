//! Honest evaluation: nested artist-grouped cross-validation of candidate variants, scored
//! on outer folds no choice has seen, beside the logistic-regression baseline.

use serde::Serialize;
use tch::Device;

use super::dataset::Dataset;
use super::fit::{
    predict_points, predict_points_overlap, quadrant_of, train_ensemble, PointPrediction,
    TrainError, TrainOptions,
};
use super::folds::grouped_folds;
use super::metrics::{Confusion, FoldMetrics, RegressionMetrics};
use crate::mood::{argmax, Calibration};

/// Figures of one model on one test set.
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    pub cls: FoldMetrics,
    pub reg: RegressionMetrics,
    /// (confidence of the shown quadrant, was it right) per track, for a reliability diagram.
    #[serde(skip)]
    pub confidences: Vec<(f64, bool)>,
}

impl Scored {
    /// Figures of predictions on `idx`: `quadrants` (class indices), the `points` scored
    /// against the continuous targets, and per item (top probability, was it right).
    pub fn new(
        fold: usize,
        ds: &Dataset,
        idx: &[usize],
        quadrants: &[usize],
        points: &[[f64; 2]],
        confidences: Vec<(f64, bool)>,
    ) -> Self {
        let truth: Vec<usize> = idx.iter().map(|&i| ds.labels[i]).collect();
        let cls = FoldMetrics::from_confusion(fold, &Confusion::from_pairs(&truth, quadrants));
        let targets: Vec<[f64; 2]> = idx
            .iter()
            .map(|&i| [ds.targets[i][0] as f64, ds.targets[i][1] as f64])
            .collect();
        let (conf, ok): (Vec<f64>, Vec<bool>) = confidences.iter().copied().unzip();
        Scored {
            cls,
            reg: RegressionMetrics::new(points, &targets, &conf, &ok),
            confidences,
        }
    }
}

/// Scores point predictions on `idx` under `cal`.
pub fn score(
    fold: usize,
    ds: &Dataset,
    idx: &[usize],
    pred: &[PointPrediction],
    cal: &Calibration,
) -> Scored {
    let q: Vec<usize> = pred.iter().map(|p| quadrant_of(&p.track)).collect();
    let confidences: Vec<(f64, bool)> = pred
        .iter()
        .zip(idx)
        .map(|(p, &i)| {
            let probs = cal.probs(p.track[0], p.track[1]);
            let k = argmax(&probs);
            (probs[k] as f64, k == ds.labels[i])
        })
        .collect();
    let pts: Vec<[f64; 2]> = pred
        .iter()
        .map(|p| [p.track[0] as f64, p.track[1] as f64])
        .collect();
    Scored::new(fold, ds, idx, &q, &pts, confidences)
}

/// Per outer fold and candidate: the OOF score that chose, and the test figures per stride.
#[derive(Debug, Clone, Serialize)]
pub struct CandidateResult {
    pub oof_score: f64,
    pub best_epochs: Vec<usize>,
    /// (stride, figures on the test fold with that stride's segments); stride
    /// [`OVERLAP`]: every segment plus the half-shifted grid's (overlapping patches).
    pub by_stride: Vec<(usize, Scored)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NestedResult {
    pub candidates: Vec<String>,
    /// `[fold][candidate]`.
    pub folds: Vec<Vec<CandidateResult>>,
    /// The candidate each fold chose (by OOF score).
    pub chosen: Vec<usize>,
    /// The logistic-regression baseline per fold, and its chosen L2 strength.
    pub baseline: Vec<(Scored, f64)>,
    pub strides: Vec<usize>,
}

impl NestedResult {
    /// The protocol's figures per fold at `stride`: each fold's chosen candidate.
    pub fn selected(&self, stride: usize) -> Vec<&Scored> {
        self.folds
            .iter()
            .zip(&self.chosen)
            .filter_map(|(f, &c)| {
                f[c].by_stride
                    .iter()
                    .find(|(s, _)| *s == stride)
                    .map(|(_, x)| x)
            })
            .collect()
    }
    /// Candidate `c`'s figures per fold at `stride` (an ablation row).
    pub fn candidate(&self, c: usize, stride: usize) -> Vec<&Scored> {
        self.folds
            .iter()
            .filter_map(|f| {
                f[c].by_stride
                    .iter()
                    .find(|(s, _)| *s == stride)
                    .map(|(_, x)| x)
            })
            .collect()
    }
}

/// The "stride" of scores on overlapping patches (every segment and `Dataset::shifted`).
pub const OVERLAP: usize = 0;

/// Nested, artist-grouped cross-validation of `candidates` (see the module doc), scoring
/// each fold's test set at every stride in `strides` (1 = every segment), and on
/// overlapping patches ([`OVERLAP`]) when the data set has the shifted grid.
pub fn nested_cv(
    ds: &Dataset,
    k: usize,
    candidates: &[TrainOptions],
    strides: &[usize],
    device: Device,
    seed: u64,
    log: impl FnMut(&str),
) -> Result<NestedResult, TrainError> {
    nested_cv_per_fold(
        std::slice::from_ref(ds),
        k,
        candidates,
        strides,
        device,
        seed,
        log,
    )
}

/// [`nested_cv`] where outer fold `i` reads its features from `per_fold[i]` (or all folds from
/// `per_fold[0]` when it holds one data set): the same tracks in the same order, with
/// features from a network that must not have seen fold `i`'s test audio (a student
/// distilled per fold, `valence distill --per-fold`). The folds come from `per_fold[0]`.
pub fn nested_cv_per_fold(
    per_fold: &[Dataset],
    k: usize,
    candidates: &[TrainOptions],
    strides: &[usize],
    device: Device,
    seed: u64,
    mut log: impl FnMut(&str),
) -> Result<NestedResult, TrainError> {
    let Some(first) = per_fold.first() else {
        return Err(TrainError::Data("no data set".into()));
    };
    if per_fold.len() != 1 && per_fold.len() != k {
        return Err(TrainError::Data(format!(
            "{} data sets for {k} outer folds",
            per_fold.len()
        )));
    }
    if per_fold
        .iter()
        .any(|d| d.paths != first.paths || d.labels != first.labels || d.groups != first.groups)
    {
        return Err(TrainError::Data(
            "the per-fold data sets do not hold the same tracks in the same order".into(),
        ));
    }
    let folds = grouped_folds(&first.groups, &first.labels, k, seed)?;
    let mut res = NestedResult {
        candidates: candidates.iter().map(|c| c.name()).collect(),
        folds: Vec::new(),
        chosen: Vec::new(),
        baseline: Vec::new(),
        strides: strides.to_vec(),
    };
    let overlap = per_fold.iter().all(|d| !d.shifted.is_empty());
    if overlap {
        res.strides.push(OVERLAP);
    }
    for (fi, fold) in folds.iter().enumerate() {
        let ds = &per_fold[fi.min(per_fold.len() - 1)];
        let mut per = Vec::new();
        for (ci, opts) in candidates.iter().enumerate() {
            let e = train_ensemble(ds, &fold.train, opts, device, seed + 1000 * fi as u64)?;
            let by_stride = res
                .strides
                .iter()
                .map(|&s| {
                    let pred = if s == OVERLAP {
                        predict_points_overlap(&e.model, ds, &fold.test)
                    } else {
                        predict_points(&e.model, ds, &fold.test, s)
                    };
                    (
                        s,
                        score(fi, ds, &fold.test, &pred, &e.model.cfg.calibration),
                    )
                })
                .collect::<Vec<_>>();
            if let Some((_, s1)) = by_stride.first() {
                log(&format!(
                    "fold {}/{k} [{ci}] {}: OOF score {:.3}; test macro-F1 {:.3}, CCC v {:.3} a {:.3}, ECE {:.3} (epochs {:?})",
                    fi + 1,
                    opts.name(),
                    e.oof_score,
                    s1.cls.macro_f1,
                    s1.reg.valence_ccc,
                    s1.reg.arousal_ccc,
                    s1.reg.ece,
                    e.best_epochs
                ));
            }
            per.push(CandidateResult {
                oof_score: e.oof_score,
                best_epochs: e.best_epochs,
                by_stride,
            });
        }
        let chosen = (0..per.len())
            .max_by(|&a, &b| per[a].oof_score.total_cmp(&per[b].oof_score))
            .unwrap_or(0);
        res.folds.push(per);
        res.chosen.push(chosen);
        let (b, l2) = super::baseline::fit_and_score(ds, &fold.train, &fold.test, device, seed)?;
        log(&format!(
            "fold {}/{k} baseline (logistic regression, L2 {l2}): macro-F1 {:.3}; chose [{chosen}]",
            fi + 1,
            b.cls.macro_f1
        ));
        res.baseline.push((b, l2));
    }
    Ok(res)
}
