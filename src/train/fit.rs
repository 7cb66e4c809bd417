//! Training one emotion model: batches, losses, early stopping, the fold ensemble and its
//! probability temperatures.

use serde::Serialize;
use tch::{nn, nn::OptimizerConfig, Device, Kind, Reduction, Tensor};

use rand::seq::SliceRandom;
use rand::Rng as _;

use super::dataset::Dataset;
use super::folds::{grouped_folds, FoldError};
use super::metrics::ccc;
use super::metrics::Confusion;
use super::{seeded, Rng};
use crate::features::FEATURES_VERSION;
use crate::model::emotion::{Arch, EmotionConfig, EmotionError, EmotionModel, EmotionNet};
use crate::model::segments::{strided_segments, FeatureSet, SegmentFeatures};
use crate::mood::{Calibration, Quadrant};

/// Model version written with the weights and stored with every analysis result.
pub const MODEL_VERSION: &str = "emotion-2";

/// Temperature of the sign loss while training (a point 0.1 from an axis is ~73 % sure).
const TRAIN_TEMP: f64 = 0.1;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrainOptions {
    pub arch: Arch,
    pub features: FeatureSet,
    pub hidden: i64,
    pub heads: i64,
    pub dropout: f64,
    pub epochs: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub batch: usize,
    /// Weight of the per-segment losses (each segment carries its track's targets).
    pub segment_loss: f64,
    /// Weight of the logistic loss on the quadrant's signs.
    pub sign_loss: f64,
    /// Weight of 1 - CCC (per batch) on the continuous targets.
    pub ccc_loss: f64,
    /// Random crops, random strided subsets of the segments (what a strided analysis feeds
    /// the model) and input noise while training.
    pub augment: bool,
    /// Weight each track by its label confidence (`tag_agreement`), 0.5 + 0.5 c.
    pub confidence_weight: bool,
    /// Mixup of pairs of tracks (segment sequences and targets) with this Beta(a, a); 0 = off.
    pub mixup: f64,
    /// Weight of seed 002's improved center loss on the pooled track representation; 0 = off.
    pub center_loss: f64,
    /// The track head also reads the segments' max and sd (`EmotionConfig::stat_pool`).
    pub stat_pool: bool,
    /// Ensemble members = inner folds.
    pub members: usize,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            arch: Arch::Attn,
            features: FeatureSet::All,
            hidden: 128,
            heads: 4,
            dropout: 0.3,
            epochs: 60,
            lr: 1e-3,
            weight_decay: 1e-3,
            batch: 32,
            segment_loss: 0.5,
            sign_loss: 0.5,
            ccc_loss: 1.0,
            augment: true,
            confidence_weight: false,
            mixup: 0.0,
            center_loss: 0.0,
            stat_pool: false,
            members: 4,
            seed: 7,
        }
    }
}

impl TrainOptions {
    /// A short name for tables.
    pub fn name(&self) -> String {
        let arch = match self.arch {
            Arch::Logreg => "logreg",
            Arch::Attn => "attn",
            Arch::BigruAttn => "bigru_attn",
        };
        let feats = match self.features {
            FeatureSet::Emb => "emb",
            FeatureSet::EmbTags => "emb+tags",
            FeatureSet::EmbDesc => "emb+desc",
            FeatureSet::All => "emb+tags+desc",
            FeatureSet::AllMid => "emb+tags+desc+mid",
            FeatureSet::AllMtt => "emb+tags+desc+mtt",
            FeatureSet::AllMsdVgg => "emb+tags+desc+msd_vgg",
            FeatureSet::AllMttVgg => "emb+tags+desc+mtt_vgg",
        };
        let mut s = format!("{arch} h{} / {feats} / x{}", self.hidden, self.members);
        if !self.augment {
            s.push_str(" / no augment");
        }
        if self.sign_loss != 0.5 {
            s.push_str(&format!(" / sign loss {}", self.sign_loss));
        }
        if self.ccc_loss == 0.0 {
            s.push_str(" / no CCC loss");
        }
        if self.confidence_weight {
            s.push_str(" / confidence weights");
        }
        if self.mixup > 0.0 {
            s.push_str(&format!(" / mixup {}", self.mixup));
        }
        if self.center_loss > 0.0 {
            s.push_str(&format!(" / center loss {}", self.center_loss));
        }
        if self.stat_pool {
            s.push_str(" / mean+max+sd pooling");
        }
        if self.dropout != 0.3 {
            s.push_str(&format!(" / dropout {}", self.dropout));
        }
        s
    }
}

fn standardisation(ds: &Dataset, idx: &[usize], set: FeatureSet) -> (Vec<f32>, Vec<f32>) {
    let d = set.dim();
    let (mut sum, mut sq, mut n) = (vec![0f64; d], vec![0f64; d], 0f64);
    for &i in idx {
        let f = &ds.feats[i];
        for t in 0..f.len() {
            for (j, x) in f.row(t, set).iter().enumerate() {
                sum[j] += *x as f64;
                sq[j] += (*x as f64) * (*x as f64);
            }
            n += 1.0;
        }
    }
    let n = n.max(1.0);
    let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
    let std = sq
        .iter()
        .zip(&sum)
        .map(|(q, s)| {
            let m = s / n;
            ((q / n - m * m).max(0.0).sqrt() as f32).max(1e-4)
        })
        .collect();
    (mean, std)
}

/// The segments one training example shows the model: with augmentation, half the time a
/// random crop of 50-100 % of the sequence, half the time the segments a strided analysis
/// (stride 2, 3 or 5) would feed it.
fn window(t: usize, rng: Option<&mut Rng>) -> Vec<usize> {
    match rng {
        Some(r) if t > 3 => {
            if r.gen_range(0..2) == 0 {
                let len = (t / 2).max(3) + r.gen_range(0..t - (t / 2).max(3) + 1);
                let start = r.gen_range(0..t - len + 1);
                (start..start + len).collect()
            } else {
                let stride = [2, 3, 5][r.gen_range(0..3)];
                let shift = r.gen_range(0..stride);
                let picked: Vec<usize> = (0..t).filter(|i| i % stride == shift).collect();
                if picked.is_empty() {
                    strided_segments(t, stride)
                } else {
                    picked
                }
            }
        }
        _ => (0..t).collect(),
    }
}

/// Why training failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Folds(#[from] FoldError),
    #[error(transparent)]
    Model(#[from] EmotionError),
    #[error("training data: {0}")]
    Data(String),
}

/// A padded training batch.
struct Batch {
    x: Tensor,
    mask: Tensor,
    /// (B, 2) continuous targets.
    target: Tensor,
    /// (B, 2) 1 where the quadrant says positive.
    sign: Tensor,
    /// (B,) per-track weights.
    weight: Tensor,
    /// (B,) quadrant indices; None once mixup has blended the tracks.
    label: Option<Tensor>,
}

fn make_batch(
    cfg: &EmotionConfig,
    device: Device,
    ds: &Dataset,
    idx: &[usize],
    opts: &TrainOptions,
    mut rng: Option<&mut Rng>,
) -> Batch {
    let set = cfg.features;
    let d = set.dim();
    let windows: Vec<Vec<usize>> = idx
        .iter()
        .map(|&i| window(ds.feats[i].len(), rng.as_deref_mut()))
        .collect();
    let tmax = windows.iter().map(|w| w.len()).max().unwrap_or(1).max(1);
    let mut x = vec![0f32; idx.len() * tmax * d];
    let mut m = vec![false; idx.len() * tmax];
    for (b, (&i, w)) in idx.iter().zip(&windows).enumerate() {
        for (s, &seg) in w.iter().enumerate() {
            let row = ds.feats[i].row(seg, set);
            let off = (b * tmax + s) * d;
            for (j, v) in row.iter().enumerate() {
                x[off + j] = (v - cfg.mean[j]) / cfg.std[j];
            }
            m[b * tmax + s] = true;
        }
    }
    let mut xt = Tensor::from_slice(&x)
        .view([idx.len() as i64, tmax as i64, d as i64])
        .to_device(device);
    if rng.is_some() {
        xt = &xt + xt.randn_like() * 0.1;
    }
    let mask = Tensor::from_slice(&m)
        .view([idx.len() as i64, tmax as i64])
        .to_device(device);
    let target: Vec<f32> = idx.iter().flat_map(|&i| ds.targets[i]).collect();
    let sign = sign_targets(ds, idx);
    let weight: Vec<f32> = idx
        .iter()
        .map(|&i| {
            if opts.confidence_weight {
                0.5 + 0.5 * ds.confidence[i]
            } else {
                1.0
            }
        })
        .collect();
    let n = idx.len() as i64;
    Batch {
        x: xt,
        mask,
        target: Tensor::from_slice(&target).view([n, 2]).to_device(device),
        sign: Tensor::from_slice(&sign).view([n, 2]).to_device(device),
        weight: Tensor::from_slice(&weight).to_device(device),
        label: Some(
            Tensor::from_slice(&idx.iter().map(|&i| ds.labels[i] as i64).collect::<Vec<_>>())
                .to_device(device),
        ),
    }
}

/// Per item of `idx`, (valence > 0, arousal > 0) of its quadrant label as 1/0: the sign
/// loss's targets, flattened.
pub(crate) fn sign_targets(ds: &Dataset, idx: &[usize]) -> Vec<f32> {
    idx.iter()
        .flat_map(|&i| {
            let q = Quadrant::from_index(ds.labels[i]).unwrap_or(Quadrant::Q1);
            [
                (q.valence_sign() > 0) as i32 as f32,
                (q.arousal_sign() > 0) as i32 as f32,
            ]
        })
        .collect()
}

/// Mixup: each track is blended with another of the batch (inputs padded to one length, the
/// masks joined, the targets and signs blended alike).
fn mixup(b: Batch, alpha: f64, rng: &mut Rng) -> Batch {
    let n = b.x.size()[0];
    if n < 2 {
        return b;
    }
    // Beta(a, a) via two Gamma draws is overkill here: the mean of two uniforms raised to
    // 1/a keeps lambda near 0 or 1 for small a, which is what mixup needs.
    let u = rng.gen::<f64>().powf(1.0 / alpha.max(1e-3));
    let lam = u.max(1.0 - u);
    let mut perm: Vec<i64> = (0..n).collect();
    perm.shuffle(rng);
    let p = Tensor::from_slice(&perm).to_device(b.x.device());
    let mix = |t: &Tensor| t * lam + t.index_select(0, &p) * (1.0 - lam);
    Batch {
        x: mix(&b.x),
        mask: b.mask.logical_or(&b.mask.index_select(0, &p)),
        target: mix(&b.target),
        sign: mix(&b.sign),
        weight: b.weight.shallow_clone(),
        label: None,
    }
}

/// Weighted per-axis losses of points `pred` (N, 2) against a batch's targets.
pub(crate) fn point_loss(
    pred: &Tensor,
    target: &Tensor,
    sign: &Tensor,
    weight: &Tensor,
    sign_loss: f64,
) -> Tensor {
    let w = weight.unsqueeze(-1);
    let wsum = w.sum(Kind::Float).clamp_min(1e-6) * 2.0;
    let mse = ((pred - target).square() * &w).sum(Kind::Float) / &wsum;
    let bce = (pred / TRAIN_TEMP).binary_cross_entropy_with_logits::<Tensor>(
        sign,
        Some(w.expand_as(pred)),
        None,
        Reduction::Sum,
    ) / &wsum;
    mse + bce * sign_loss
}

/// Seed 002's improved center loss, with the batch's class means (detached) as centres:
/// mean over tracks of ||x - c_own||^2 / (sum over other classes ||x - c_j||^2 + 1), which
/// pulls a track towards its quadrant's centre and pushes it from the others. Classes
/// missing from the batch take no part.
pub(crate) fn center_loss(repr: &Tensor, label: &Tensor) -> Tensor {
    let onehot = label.one_hot(4).to_kind(Kind::Float); // (B, 4)
    let counts = onehot.sum_dim_intlist(0, false, Kind::Float); // (4,)
    let present = counts.gt(0.0).to_kind(Kind::Float);
    let centres =
        (onehot.transpose(0, 1).matmul(repr) / counts.clamp_min(1.0).unsqueeze(-1)).detach(); // (4, H)
    let d2 = (repr.unsqueeze(1) - centres.unsqueeze(0))
        .square()
        .sum_dim_intlist(-1, false, Kind::Float); // (B, 4)
    let own = (&d2 * &onehot).sum_dim_intlist(-1, false, Kind::Float);
    let others = (&d2 * (present.unsqueeze(0) - &onehot).clamp_min(0.0)).sum_dim_intlist(
        -1,
        false,
        Kind::Float,
    );
    (own / (others + 1.0)).mean(Kind::Float)
}

/// 1 - CCC per axis over the batch, averaged.
pub(crate) fn ccc_loss(pred: &Tensor, target: &Tensor) -> Tensor {
    let mp = pred.mean_dim(0, true, Kind::Float);
    let mt = target.mean_dim(0, true, Kind::Float);
    let cov = ((pred - &mp) * (target - &mt)).mean_dim(0, false, Kind::Float);
    let vp = (pred - &mp).square().mean_dim(0, false, Kind::Float);
    let vt = (target - &mt).square().mean_dim(0, false, Kind::Float);
    let ccc = cov * 2.0 / (vp + vt + (mp - mt).square().squeeze_dim(0) + 1e-6);
    let one_minus: Tensor = 1.0 - ccc;
    one_minus.mean(Kind::Float)
}

fn loss(net: &EmotionNet, b: &Batch, opts: &TrainOptions) -> Tensor {
    let out = net.forward(&b.x, &b.mask, true);
    let mut total = point_loss(&out.track_va, &b.target, &b.sign, &b.weight, opts.sign_loss);
    if opts.ccc_loss > 0.0 {
        total += ccc_loss(&out.track_va, &b.target) * opts.ccc_loss;
    }
    if let (true, Some(label)) = (opts.center_loss > 0.0, &b.label) {
        total += center_loss(&out.track_repr, label) * opts.center_loss;
    }
    if opts.segment_loss > 0.0 {
        let (bs, t) = (b.mask.size()[0], b.mask.size()[1]);
        let expand = |x: &Tensor| {
            x.unsqueeze(1)
                .expand([bs, t, 2], false)
                .reshape([bs * t, 2])
        };
        // Padded segments get weight 0.
        let seg_w = (b.mask.to_kind(Kind::Float) * b.weight.unsqueeze(1)).reshape([bs * t]);
        let seg = point_loss(
            &out.seg_va.reshape([bs * t, 2]),
            &expand(&b.target),
            &expand(&b.sign),
            &seg_w,
            opts.sign_loss,
        );
        total += seg * opts.segment_loss;
    }
    total
}

/// A model's (ensemble's) reading of one track: the point and the per-segment points.
#[derive(Debug, Clone, PartialEq)]
pub struct PointPrediction {
    pub track: [f32; 2],
    pub segments: Vec<[f32; 2]>,
}

/// Points for `idx`, one track at a time (keeps padding out of the GRU), on the segments a
/// strided analysis with `stride` would see (1 = all).
pub fn predict_points(
    model: &EmotionModel,
    ds: &Dataset,
    idx: &[usize],
    stride: usize,
) -> Vec<PointPrediction> {
    idx.iter()
        .map(|&i| {
            let f = if stride > 1 {
                ds.feats[i].strided(stride)
            } else {
                ds.feats[i].clone()
            };
            point_of(model, &f)
        })
        .collect()
}

/// One track's point and segment points (the origin, no segments, when it cannot be read).
fn point_of(model: &EmotionModel, f: &SegmentFeatures) -> PointPrediction {
    match model.predict(f) {
        Ok(e) => PointPrediction {
            track: [e.valence, e.arousal],
            segments: e.segments.iter().map(|s| [s.valence, s.arousal]).collect(),
        },
        Err(_) => PointPrediction {
            track: [0.0, 0.0],
            segments: Vec::new(),
        },
    }
}

/// Points for `idx` on overlapping patches: each track's segments together with its
/// half-patch-shifted ones (`ds.shifted`), in time order.
pub fn predict_points_overlap(
    model: &EmotionModel,
    ds: &Dataset,
    idx: &[usize],
) -> Vec<PointPrediction> {
    idx.iter()
        .map(|&i| {
            let f = match ds.shifted.get(i) {
                Some(sh) => ds.feats[i].interleaved(sh),
                None => ds.feats[i].clone(),
            };
            point_of(model, &f)
        })
        .collect()
}

pub(crate) fn quadrant_of(p: &[f32; 2]) -> usize {
    Quadrant::of_point(p[0], p[1]).index()
}

/// Selection score of predictions on labelled items: macro-F1 of the points' quadrants plus
/// the mean CCC of valence and arousal (both matter to users).
pub(crate) fn selection_score(ds: &Dataset, idx: &[usize], pred: &[PointPrediction]) -> f64 {
    let truth: Vec<usize> = idx.iter().map(|&i| ds.labels[i]).collect();
    let q: Vec<usize> = pred.iter().map(|p| quadrant_of(&p.track)).collect();
    let f1 = Confusion::from_pairs(&truth, &q).macro_f1();
    let col = |k: usize, from_pred: bool| -> Vec<f64> {
        idx.iter()
            .zip(pred)
            .map(|(&i, p)| {
                if from_pred {
                    p.track[k] as f64
                } else {
                    ds.targets[i][k] as f64
                }
            })
            .collect()
    };
    let c = (ccc(&col(0, true), &col(0, false)) + ccc(&col(1, true), &col(1, false))) / 2.0;
    f1 + c
}

fn config(ds: &Dataset, idx: &[usize], opts: &TrainOptions, members: usize) -> EmotionConfig {
    let (mean, std) = standardisation(ds, idx, opts.features);
    EmotionConfig {
        arch: opts.arch,
        features: opts.features,
        hidden: opts.hidden,
        heads: opts.heads,
        dropout: opts.dropout,
        mean,
        std,
        version: MODEL_VERSION.to_string(),
        features_version: FEATURES_VERSION,
        members,
        calibration: Calibration::default(),
        stat_pool: opts.stat_pool,
        patch_net: None,
    }
}

/// Trains one network on `train` with the standardisation in `cfg` (members = 1). With a
/// validation set, keeps the epoch with the best selection score on it and returns that
/// epoch (1-based); else trains `opts.epochs` epochs.
pub fn fit(
    ds: &Dataset,
    cfg: &EmotionConfig,
    train: &[usize],
    val: &[usize],
    opts: &TrainOptions,
    device: Device,
    seed: u64,
) -> Result<(EmotionModel, usize, Vec<f64>), EmotionError> {
    tch::manual_seed(seed as i64);
    let single = EmotionConfig {
        members: 1,
        ..cfg.clone()
    };
    let model = EmotionModel::new(single.clone(), device);
    let mut best = EmotionModel::new(single, device);
    let mut opt = nn::AdamW {
        wd: opts.weight_decay,
        ..Default::default()
    }
    .build(&model.vs, opts.lr)?;
    let mut rng = seeded(seed ^ 0xA5A5);
    let mut order = train.to_vec();
    let (mut best_score, mut best_epoch) = (f64::NEG_INFINITY, opts.epochs);
    let mut losses = Vec::new();
    for epoch in 1..=opts.epochs {
        order.shuffle(&mut rng);
        let mut total = 0.0;
        for chunk in order.chunks(opts.batch.max(1)) {
            let mut b = make_batch(
                &model.cfg,
                device,
                ds,
                chunk,
                opts,
                if opts.augment { Some(&mut rng) } else { None },
            );
            if opts.mixup > 0.0 {
                b = mixup(b, opts.mixup, &mut rng);
            }
            let l = loss(&model.nets[0], &b, opts);
            opt.backward_step(&l);
            total += l.double_value(&[]) * chunk.len() as f64;
        }
        losses.push(total / order.len().max(1) as f64);
        if !val.is_empty() {
            let pred = predict_points(&model, ds, val, 1);
            let score = selection_score(ds, val, &pred);
            if score > best_score {
                best_score = score;
                best_epoch = epoch;
                best.vs.copy(&model.vs)?;
            }
        }
    }
    if val.is_empty() {
        return Ok((model, opts.epochs, losses));
    }
    Ok((best, best_epoch, losses))
}

/// Fits the per-axis temperatures on held-out points by the negative log-likelihood of the
/// true quadrant under `Calibration::probs` (what the top probability's calibration is
/// judged on): a grid over log T_v x log T_a from 0.01 to 3.
pub fn fit_calibration(points: &[[f32; 2]], labels: &[usize]) -> Calibration {
    let grid: Vec<f32> = (0..=50)
        .map(|k| 10f32.powf(-2.0 + k as f32 * 0.05))
        .collect();
    let nll = |cal: &Calibration| -> f64 {
        points
            .iter()
            .zip(labels)
            .map(|(p, &l)| -(cal.probs(p[0], p[1])[l.min(3)].max(1e-7) as f64).ln())
            .sum()
    };
    let mut best = (f64::INFINITY, Calibration::default());
    for &tv in &grid {
        for &ta in &grid {
            let cal = Calibration {
                valence_temp: tv,
                arousal_temp: ta,
            };
            let v = nll(&cal);
            if v < best.0 {
                best = (v, cal);
            }
        }
    }
    best.1
}

/// An ensemble trained on `train` (inner folds = members), with its out-of-fold points on
/// `train` (in `train`'s order) and the members' best epochs.
pub struct Ensemble {
    pub model: EmotionModel,
    pub oof: Vec<PointPrediction>,
    pub oof_score: f64,
    pub best_epochs: Vec<usize>,
}

/// Trains `opts.members` networks, each on all inner folds but one and early-stopped on
/// that one (artist-grouped), averages them, and fits the temperatures on the out-of-fold
/// points. With fewer artists than members, one network on everything.
pub fn train_ensemble(
    ds: &Dataset,
    train: &[usize],
    opts: &TrainOptions,
    device: Device,
    seed: u64,
) -> Result<Ensemble, TrainError> {
    let (groups, labels) = ds.subset_groups(train);
    let k = opts.members.max(2);
    let inner = grouped_folds(&groups, &labels, k, seed)?;
    let cfg = config(ds, train, opts, inner.len());
    let mut model = EmotionModel::new(cfg.clone(), device);
    let mut oof = vec![
        PointPrediction {
            track: [0.0, 0.0],
            segments: Vec::new()
        };
        train.len()
    ];
    let mut best_epochs = Vec::new();
    {
        let mut dst = model.vs.variables();
        for (m, fold) in inner.iter().enumerate() {
            let tr: Vec<usize> = fold.train.iter().map(|&j| train[j]).collect();
            let va: Vec<usize> = fold.test.iter().map(|&j| train[j]).collect();
            let (member, epoch, _) = fit(ds, &cfg, &tr, &va, opts, device, seed + 101 * m as u64)?;
            best_epochs.push(epoch);
            for (p, &j) in predict_points(&member, ds, &va, 1)
                .into_iter()
                .zip(&fold.test)
            {
                oof[j] = p;
            }
            // Member m's weights go under m{m}.
            for (name, t) in member.vs.variables() {
                let to = format!("m{m}.{}", name.trim_start_matches("m0."));
                if let Some(d) = dst.get_mut(&to) {
                    tch::no_grad(|| d.copy_(&t));
                }
            }
        }
    }
    let points: Vec<[f32; 2]> = oof.iter().map(|p| p.track).collect();
    model.cfg.calibration = fit_calibration(&points, &labels);
    let oof_score = selection_score(ds, train, &oof);
    Ok(Ensemble {
        model,
        oof,
        oof_score,
        best_epochs,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::segments::SegmentFeatures;
    use crate::mood::argmax;
    use crate::train::score;
    use std::path::PathBuf;

    /// A toy set: 4 classes separable along two input directions, 6 segments per track;
    /// continuous targets follow the inputs.
    pub(crate) fn toy(n_per_class: usize) -> Dataset {
        let mut rng = seeded(1);
        let mut ds = Dataset {
            feats: vec![],
            labels: vec![],
            targets: vec![],
            confidence: vec![],
            groups: vec![],
            paths: vec![],
            shifted: vec![],
        };
        for c in 0..4 {
            for i in 0..n_per_class {
                let (sv, sa) = match c {
                    0 => (1.0, 1.0),
                    1 => (-1.0, 1.0),
                    2 => (-1.0, -1.0),
                    _ => (1.0, -1.0),
                };
                let (v, a) = (
                    sv * (0.2 + 0.6 * rng.gen::<f64>() as f32),
                    sa * (0.1 + 0.3 * rng.gen::<f64>() as f32),
                );
                let seg = |_: usize| -> Vec<f32> {
                    (0..200)
                        .map(|j| {
                            let noise = rng.gen_range(0..1000) as f32 / 5000.0 - 0.1;
                            match j {
                                0 => v + noise,
                                1 => a + noise,
                                _ => noise,
                            }
                        })
                        .collect()
                };
                let emb: Vec<Vec<f32>> = (0..6).map(seg).collect();
                ds.feats.push(SegmentFeatures {
                    tags: vec![vec![0.0; 50]; 6],
                    desc: vec![],
                    mid: vec![],
                    views: Default::default(),
                    emb,
                    segment_secs: 3.0,
                    duration_secs: 18.0,
                });
                ds.labels.push(c);
                ds.targets.push([v, a]);
                ds.confidence.push(1.0);
                ds.groups
                    .push(format!("artist{}", (c * n_per_class + i) / 2));
                ds.paths.push(PathBuf::from(format!("{c}-{i}")));
            }
        }
        ds
    }

    fn quick(arch: Arch) -> TrainOptions {
        TrainOptions {
            arch,
            features: FeatureSet::Emb,
            epochs: 60,
            lr: 3e-3,
            hidden: 32,
            dropout: 0.1,
            augment: false,
            members: 2,
            ..Default::default()
        }
    }

    #[test]
    fn loss_falls_and_model_learns_toy_set() {
        let ds = toy(12);
        let all: Vec<usize> = (0..ds.len()).collect();
        for arch in [Arch::Logreg, Arch::Attn, Arch::BigruAttn] {
            let opts = quick(arch);
            let cfg = config(&ds, &all, &opts, 1);
            let (model, _, losses) = fit(&ds, &cfg, &all, &[], &opts, Device::Cpu, 1).unwrap();
            let first = losses[0];
            let last = *losses.last().unwrap();
            assert!(last < first * 0.7, "{arch:?}: loss {first:.3} -> {last:.3}");
            let pred = predict_points(&model, &ds, &all, 1);
            let s = score(0, &ds, &all, &pred, &Calibration::default());
            assert!(
                s.cls.accuracy > 0.9,
                "{arch:?}: train accuracy {}",
                s.cls.accuracy
            );
            // The continuous values are learnt, not just their signs.
            assert!(s.reg.valence_r > 0.8, "{arch:?}: {:?}", s.reg);
            assert!(s.reg.arousal_r > 0.5, "{arch:?}: {:?}", s.reg);
            let e = model.predict(&ds.feats[0]).unwrap();
            assert_eq!(e.segments.len(), 6);
            // One output: the quadrant shown is the point's quadrant.
            assert_eq!(argmax(&e.probs), e.quadrant().index());
        }
    }

    #[test]
    fn ensemble_has_oof_points_and_fitted_temperatures() {
        // Enough tracks per member to generalise across artists despite 198 noise inputs.
        let ds = toy(40);
        let all: Vec<usize> = (0..ds.len()).collect();
        let opts = TrainOptions {
            epochs: 40,
            batch: 16,
            ..quick(Arch::Attn)
        };
        let e = train_ensemble(&ds, &all, &opts, Device::Cpu, 3).unwrap();
        assert_eq!(e.model.nets.len(), 2);
        assert_eq!(e.oof.len(), all.len());
        assert!(e.oof.iter().all(|p| !p.segments.is_empty()));
        let cal = e.model.cfg.calibration;
        assert!(cal.valence_temp > 0.0 && cal.arousal_temp > 0.0);
        // The model carries the temperatures fitted on its own out-of-fold points.
        let points: Vec<[f32; 2]> = e.oof.iter().map(|p| p.track).collect();
        assert_eq!(cal, fit_calibration(&points, &ds.labels));
        // Out-of-fold predictions (each from the member that did not train on it) are
        // mostly right (chance: 0.25; the toy's arousal is noisy, so not all).
        let s = score(0, &ds, &all, &e.oof, &cal);
        assert!(s.cls.accuracy > 0.65, "{:?}", s.cls);
        assert!(s.reg.valence_r > 0.5, "{:?}", s.reg);
    }

    #[test]
    fn temperature_fit_prefers_sharp_probabilities_for_clean_points() {
        // Points far from the axes with correct signs: a small temperature; points whose
        // sign is a coin toss: a large one.
        let labels = vec![0, 1, 2, 3];
        let clean = vec![[0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]];
        let noisy = vec![[0.5, 0.5], [0.5, 0.5], [-0.5, -0.5], [-0.5, -0.5]];
        let c = fit_calibration(&clean, &labels);
        let n = fit_calibration(&noisy, &labels);
        assert!(c.valence_temp < 0.02 && c.arousal_temp < 0.02, "{c:?}");
        assert!(n.valence_temp > 2.0, "{n:?}");
        assert!(n.arousal_temp < 0.02, "{n:?}");
    }

    #[test]
    fn save_and_load_give_identical_outputs() {
        let ds = toy(6);
        let all: Vec<usize> = (0..ds.len()).collect();
        let opts = TrainOptions {
            epochs: 2,
            ..quick(Arch::Attn)
        };
        let e = train_ensemble(&ds, &all, &opts, Device::Cpu, 1).unwrap();
        let dir = tempfile::tempdir().unwrap();
        e.model.save(dir.path()).unwrap();
        let loaded = EmotionModel::load(dir.path(), Device::Cpu).unwrap();
        assert_eq!(loaded.cfg, e.model.cfg);
        for f in &ds.feats[..4] {
            assert_eq!(e.model.predict(f).unwrap(), loaded.predict(f).unwrap());
        }
    }

    #[test]
    fn corrupt_or_missing_model_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let e = EmotionModel::load(dir.path(), Device::Cpu).err().unwrap();
        assert!(e.to_string().contains("config.json"), "{e}");
        let ds = toy(2);
        let all: Vec<usize> = (0..ds.len()).collect();
        let opts = TrainOptions {
            epochs: 1,
            ..quick(Arch::Attn)
        };
        let cfg = config(&ds, &all, &opts, 1);
        let (model, _, _) = fit(&ds, &cfg, &all, &[], &opts, Device::Cpu, 1).unwrap();
        model.save(dir.path()).unwrap();
        std::fs::write(dir.path().join("model.safetensors"), b"not a model").unwrap();
        let e = EmotionModel::load(dir.path(), Device::Cpu).err().unwrap();
        assert!(e.to_string().contains("model.safetensors"), "{e}");
        std::fs::remove_file(dir.path().join("model.safetensors")).unwrap();
        let e = EmotionModel::load(dir.path(), Device::Cpu).err().unwrap();
        assert!(e.to_string().contains("missing"), "{e}");
        std::fs::write(dir.path().join("config.json"), "{").unwrap();
        assert!(EmotionModel::load(dir.path(), Device::Cpu).is_err());
    }

    #[test]
    fn improved_center_loss_matches_a_hand_computed_value() {
        // Three 2-d representations, classes 0, 0, 1 (2 and 3 absent). Centres: class 0 =
        // mean of (0,0) and (2,0) = (1,0); class 1 = (0,2). Per track, own / (others + 1):
        // (0,0): 1 / (4 + 1) = 0.2; (2,0): 1 / (8 + 1) = 1/9; (0,2): 0 / (5 + 1) = 0.
        // Mean: (0.2 + 1/9) / 3 = 0.1037037.
        let repr = Tensor::from_slice(&[0f32, 0.0, 2.0, 0.0, 0.0, 2.0]).view([3, 2]);
        let label = Tensor::from_slice(&[0i64, 0, 1]);
        let l = center_loss(&repr, &label).double_value(&[]);
        assert!((l - (0.2 + 1.0 / 9.0) / 3.0).abs() < 1e-6, "{l}");
        // All tracks at their own centre: 0.
        let at = Tensor::from_slice(&[1f32, 0.0, 1.0, 0.0, 0.0, 2.0]).view([3, 2]);
        assert!(center_loss(&at, &label).double_value(&[]).abs() < 1e-7);
    }

    #[test]
    fn augmentation_windows_are_crops_or_strided_subsets() {
        let mut rng = seeded(5);
        for _ in 0..200 {
            let w = window(10, Some(&mut rng));
            assert!(!w.is_empty() && w.iter().all(|&i| i < 10));
            assert!(w.windows(2).all(|p| p[1] > p[0]));
        }
        assert_eq!(window(2, Some(&mut rng)), vec![0, 1]);
        assert_eq!(window(4, None), vec![0, 1, 2, 3]);
    }
}
