//! Training and honest evaluation of the emotion model: artist-grouped cross-validation,
//! early stopping on a grouped inner validation split, and a final model on all data.

use std::path::PathBuf;

use serde::Serialize;
use tch::{nn, nn::OptimizerConfig, Device, Kind, Reduction, Tensor};

use super::emotion::{argmax, Arch, EmotionConfig, EmotionError, EmotionModel};
use super::folds::{grouped_folds, inner_split, FoldError};
use super::manifest::{BadRow, Manifest};
use super::metrics::{Confusion, FoldMetrics};
use super::musicnn::Musicnn;
use super::segments::{FeatureSet, SegmentCache, SegmentFeatures};
use crate::features::FEATURES_VERSION;

/// Model version written with the weights and stored with every analysis result.
pub const MODEL_VERSION: &str = "emotion-1";

#[derive(Debug, Clone, Serialize)]
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
    pub label_smoothing: f64,
    /// Weight of the per-segment losses (each segment carries its track's label).
    pub segment_loss: f64,
    /// Random crops of the segment sequence and input noise while training.
    pub augment: bool,
    pub seed: u64,
    /// Also score each test fold on only the segments a library analysis with these
    /// strides would see (the accuracy cost of analysing one patch in N).
    pub eval_strides: Vec<usize>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            arch: Arch::Attn,
            features: FeatureSet::All,
            hidden: 128,
            heads: 4,
            dropout: 0.3,
            epochs: 40,
            lr: 1e-3,
            weight_decay: 1e-3,
            batch: 32,
            label_smoothing: 0.0,
            segment_loss: 0.5,
            augment: true,
            seed: 7,
            eval_strides: Vec::new(),
        }
    }
}

/// Labelled tracks with their extracted segment features.
pub struct Dataset {
    pub feats: Vec<SegmentFeatures>,
    pub labels: Vec<usize>,
    /// Valence/arousal targets as P(axis > 0): 0/1 from quadrant signs, (v + 1) / 2 from real
    /// values when the manifest has them.
    pub va_targets: Vec<[f32; 2]>,
    pub groups: Vec<String>,
    pub paths: Vec<PathBuf>,
}

/// Extracts (or reads from cache) every manifest row; rows that fail are returned as bad.
pub fn load_dataset(
    manifest: &Manifest,
    cache: &SegmentCache,
    net: &Musicnn,
    mut progress: impl FnMut(usize, usize),
) -> (Dataset, Vec<BadRow>) {
    let mut ds = Dataset {
        feats: Vec::new(),
        labels: Vec::new(),
        va_targets: Vec::new(),
        groups: Vec::new(),
        paths: Vec::new(),
    };
    let mut bad = Vec::new();
    for (i, row) in manifest.rows.iter().enumerate() {
        progress(i, manifest.rows.len());
        match cache.get_or_extract(&row.path, net) {
            Ok(f) if !f.is_empty() => {
                let q = row.quadrant;
                let sign = |s: i8| if s > 0 { 1.0 } else { 0.0 };
                let v = row
                    .valence
                    .map(|v| (v + 1.0) / 2.0)
                    .unwrap_or(sign(q.valence_sign()));
                let a = row
                    .arousal
                    .map(|a| (a + 1.0) / 2.0)
                    .unwrap_or(sign(q.arousal_sign()));
                ds.feats.push(f);
                ds.labels.push(q.index());
                ds.va_targets.push([v, a]);
                ds.groups.push(row.group_key());
                ds.paths.push(row.path.clone());
            }
            Ok(_) => bad.push(BadRow {
                line: row.line,
                reason: format!("{}: no audio segments", row.path.display()),
            }),
            Err(e) => bad.push(BadRow {
                line: row.line,
                reason: format!("{}: {e}", row.path.display()),
            }),
        }
    }
    progress(manifest.rows.len(), manifest.rows.len());
    (ds, bad)
}

/// Tiny deterministic PRNG (splitmix64) for shuffles and crops.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
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

/// A padded batch: (x, mask, labels, va targets).
fn batch(
    model: &EmotionModel,
    ds: &Dataset,
    idx: &[usize],
    rng: Option<&mut Rng>,
) -> (Tensor, Tensor, Tensor, Tensor) {
    let set = model.cfg.features;
    let d = set.dim();
    // Crop windows first so the padded length is known.
    let mut windows = Vec::with_capacity(idx.len());
    let mut rng = rng;
    for &i in idx {
        let t = ds.feats[i].len();
        let w = match rng.as_deref_mut() {
            Some(r) if t > 3 => {
                let len = (t / 2).max(3) + r.below(t - (t / 2).max(3) + 1);
                let start = r.below(t - len + 1);
                (start, len)
            }
            _ => (0, t),
        };
        windows.push(w);
    }
    let tmax = windows.iter().map(|w| w.1).max().unwrap_or(1).max(1);
    let mut x = vec![0f32; idx.len() * tmax * d];
    let mut m = vec![false; idx.len() * tmax];
    for (b, (&i, &(start, len))) in idx.iter().zip(&windows).enumerate() {
        for s in 0..len {
            let row = ds.feats[i].row(start + s, set);
            let off = (b * tmax + s) * d;
            for (j, v) in row.iter().enumerate() {
                x[off + j] = (v - model.cfg.mean[j]) / model.cfg.std[j];
            }
            m[b * tmax + s] = true;
        }
    }
    let dev = model.vs.device();
    let mut xt = Tensor::from_slice(&x)
        .view([idx.len() as i64, tmax as i64, d as i64])
        .to_device(dev);
    if rng.is_some() {
        xt = &xt + xt.randn_like() * 0.1;
    }
    let mt = Tensor::from_slice(&m)
        .view([idx.len() as i64, tmax as i64])
        .to_device(dev);
    let y: Vec<i64> = idx.iter().map(|&i| ds.labels[i] as i64).collect();
    let va: Vec<f32> = idx.iter().flat_map(|&i| ds.va_targets[i]).collect();
    (
        xt,
        mt,
        Tensor::from_slice(&y).to_device(dev),
        Tensor::from_slice(&va)
            .view([idx.len() as i64, 2])
            .to_device(dev),
    )
}

fn loss(model: &EmotionModel, opts: &TrainOptions, b: &(Tensor, Tensor, Tensor, Tensor)) -> Tensor {
    let (x, mask, y, va) = b;
    let out = model.net.forward(x, mask, true);
    let ce = out.track_logits.cross_entropy_loss::<Tensor>(
        y,
        None,
        Reduction::Mean,
        -100,
        opts.label_smoothing,
    );
    let bce =
        out.track_va
            .binary_cross_entropy_with_logits::<Tensor>(va, None, None, Reduction::Mean);
    let mut total = ce + bce * 0.5;
    if opts.segment_loss > 0.0 {
        // Every real segment carries its track's label; padded ones are ignored.
        let (b, t) = (mask.size()[0], mask.size()[1]);
        let seg_y = y
            .unsqueeze(1)
            .expand([b, t], false)
            .where_self(mask, &Tensor::from(-100i64).to_device(y.device()));
        let seg_ce = out
            .seg_logits
            .reshape([b * t, 4])
            .cross_entropy_loss::<Tensor>(
                &seg_y.reshape([b * t]),
                None,
                Reduction::Mean,
                -100,
                opts.label_smoothing,
            );
        let w = mask
            .to_kind(Kind::Float)
            .unsqueeze(-1)
            .expand([b, t, 2], false);
        let seg_bce = out.seg_va.binary_cross_entropy_with_logits::<Tensor>(
            &va.unsqueeze(1).expand([b, t, 2], false),
            Some(w.shallow_clone()),
            None,
            Reduction::Sum,
        ) / w.sum(Kind::Float).clamp_min(1.0);
        total += (seg_ce + seg_bce * 0.5) * opts.segment_loss;
    }
    total
}

/// Track-level predictions (argmax) for `idx`.
pub fn predict_indices(model: &EmotionModel, ds: &Dataset, idx: &[usize]) -> Vec<usize> {
    // One track at a time keeps padding out of the GRU (it would read padded steps).
    idx.iter()
        .map(|&i| {
            model
                .predict(&ds.feats[i])
                .map(|e| argmax(&e.probs))
                .unwrap_or(0)
        })
        .collect()
}

fn new_model(ds: &Dataset, idx: &[usize], opts: &TrainOptions, device: Device) -> EmotionModel {
    let (mean, std) = standardisation(ds, idx, opts.features);
    let cfg = EmotionConfig {
        arch: opts.arch,
        features: opts.features,
        hidden: opts.hidden,
        heads: opts.heads,
        dropout: opts.dropout,
        mean,
        std,
        version: MODEL_VERSION.to_string(),
        features_version: FEATURES_VERSION,
    };
    EmotionModel::new(cfg, device)
}

/// Trains on `train`; with a validation set, keeps the epoch with the best validation
/// macro-F1 and returns it (1-based), else trains `opts.epochs` epochs.
pub fn fit(
    ds: &Dataset,
    train: &[usize],
    val: &[usize],
    opts: &TrainOptions,
    device: Device,
    epochs: usize,
) -> Result<(EmotionModel, usize, Vec<f64>), EmotionError> {
    tch::manual_seed(opts.seed as i64);
    let model = new_model(ds, train, opts, device);
    let mut best = new_model(ds, train, opts, device);
    let mut opt = nn::AdamW {
        wd: opts.weight_decay,
        ..Default::default()
    }
    .build(&model.vs, opts.lr)?;
    let mut rng = Rng(opts.seed ^ 0xA5A5);
    let mut order = train.to_vec();
    let (mut best_f1, mut best_epoch) = (-1.0, epochs);
    let mut losses = Vec::new();
    for epoch in 1..=epochs {
        rng.shuffle(&mut order);
        let mut total = 0.0;
        for chunk in order.chunks(opts.batch.max(1)) {
            let b = batch(
                &model,
                ds,
                chunk,
                if opts.augment { Some(&mut rng) } else { None },
            );
            let l = loss(&model, opts, &b);
            opt.backward_step(&l);
            total += l.double_value(&[]) * chunk.len() as f64;
        }
        losses.push(total / order.len().max(1) as f64);
        if !val.is_empty() {
            let pred = predict_indices(&model, ds, val);
            let truth: Vec<usize> = val.iter().map(|&i| ds.labels[i]).collect();
            let f1 = Confusion::from_pairs(&truth, &pred).macro_f1();
            if f1 > best_f1 {
                best_f1 = f1;
                best_epoch = epoch;
                best.vs.copy(&model.vs)?;
            }
        }
    }
    if val.is_empty() {
        return Ok((model, epochs, losses));
    }
    Ok((best, best_epoch, losses))
}

#[derive(Debug, Clone, Serialize)]
pub struct CvResult {
    pub folds: Vec<FoldMetrics>,
    pub best_epochs: Vec<usize>,
    /// Per `eval_strides` entry: the same folds scored on strided segments only.
    pub by_stride: Vec<(usize, Vec<FoldMetrics>)>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Folds(#[from] FoldError),
    #[error(transparent)]
    Model(#[from] EmotionError),
}

/// k-fold cross-validation grouped by artist; within each training fold, 15 % of its
/// artists are held out for early stopping.
pub fn cross_validate(
    ds: &Dataset,
    k: usize,
    opts: &TrainOptions,
    device: Device,
    mut log: impl FnMut(&str),
) -> Result<CvResult, TrainError> {
    let folds = grouped_folds(&ds.groups, &ds.labels, k, opts.seed)?;
    let mut res = CvResult {
        folds: Vec::new(),
        best_epochs: Vec::new(),
        by_stride: opts.eval_strides.iter().map(|&s| (s, Vec::new())).collect(),
    };
    for (fi, fold) in folds.iter().enumerate() {
        let (inner, val) = inner_split(
            &fold.train,
            &ds.groups,
            &ds.labels,
            0.15,
            opts.seed + fi as u64,
        );
        let (model, best_epoch, _) = fit(ds, &inner, &val, opts, device, opts.epochs)?;
        let pred = predict_indices(&model, ds, &fold.test);
        let truth: Vec<usize> = fold.test.iter().map(|&i| ds.labels[i]).collect();
        let m = FoldMetrics::from_confusion(fi, &Confusion::from_pairs(&truth, &pred));
        log(&format!(
            "fold {}/{k}: n={} accuracy {:.3} macro-F1 {:.3} arousal-sign {:.3} valence-sign {:.3} (best epoch {best_epoch})",
            fi + 1,
            m.n,
            m.accuracy,
            m.macro_f1,
            m.arousal_sign_accuracy,
            m.valence_sign_accuracy
        ));
        res.folds.push(m);
        res.best_epochs.push(best_epoch);
        for (stride, metrics) in res.by_stride.iter_mut() {
            let pred: Vec<usize> = fold
                .test
                .iter()
                .map(|&i| {
                    model
                        .predict(&ds.feats[i].strided(*stride))
                        .map(|e| argmax(&e.probs))
                        .unwrap_or(0)
                })
                .collect();
            metrics.push(FoldMetrics::from_confusion(
                fi,
                &Confusion::from_pairs(&truth, &pred),
            ));
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy set: 4 classes separable along two input directions, 6 segments per track.
    fn toy(n_per_class: usize) -> Dataset {
        let mut rng = Rng(1);
        let mut ds = Dataset {
            feats: vec![],
            labels: vec![],
            va_targets: vec![],
            groups: vec![],
            paths: vec![],
        };
        for c in 0..4 {
            for i in 0..n_per_class {
                let (v, a) = match c {
                    0 => (1.0, 1.0),
                    1 => (-1.0, 1.0),
                    2 => (-1.0, -1.0),
                    _ => (1.0, -1.0),
                };
                let seg = |_: usize| -> Vec<f32> {
                    (0..200)
                        .map(|j| {
                            let noise = (rng.next() % 1000) as f32 / 1000.0 - 0.5;
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
                    emb,
                    segment_secs: 3.0,
                    duration_secs: 18.0,
                });
                ds.labels.push(c);
                ds.va_targets.push([(v + 1.0) / 2.0, (a + 1.0) / 2.0]);
                ds.groups
                    .push(format!("artist{}", (c * n_per_class + i) / 2));
                ds.paths.push(PathBuf::from(format!("{c}-{i}")));
            }
        }
        ds
    }

    #[test]
    fn loss_falls_and_model_learns_toy_set() {
        let ds = toy(12);
        let all: Vec<usize> = (0..ds.labels.len()).collect();
        for arch in [Arch::Logreg, Arch::Attn, Arch::BigruAttn] {
            let opts = TrainOptions {
                arch,
                features: FeatureSet::Emb,
                epochs: 60,
                lr: 3e-3,
                hidden: 32,
                dropout: 0.1,
                augment: false,
                ..Default::default()
            };
            let (model, _, losses) = fit(&ds, &all, &[], &opts, Device::Cpu, opts.epochs).unwrap();
            let first = losses[0];
            let last = *losses.last().unwrap();
            assert!(last < first * 0.7, "{arch:?}: loss {first:.3} -> {last:.3}");
            let pred = predict_indices(&model, &ds, &all);
            let acc = Confusion::from_pairs(&ds.labels, &pred).accuracy();
            assert!(acc > 0.9, "{arch:?}: train accuracy {acc}");
            // Valence and arousal follow the quadrant.
            let e = model.predict(&ds.feats[0]).unwrap();
            assert!(e.valence > 0.0 && e.arousal > 0.0, "{e:?}");
            assert_eq!(e.segments.len(), 6);
        }
    }

    #[test]
    fn save_and_load_give_identical_outputs() {
        let ds = toy(4);
        let all: Vec<usize> = (0..ds.labels.len()).collect();
        let opts = TrainOptions {
            features: FeatureSet::Emb,
            epochs: 2,
            hidden: 16,
            ..Default::default()
        };
        let (model, _, _) = fit(&ds, &all, &[], &opts, Device::Cpu, 2).unwrap();
        let dir = tempfile::tempdir().unwrap();
        model.save(dir.path()).unwrap();
        let loaded = EmotionModel::load(dir.path(), Device::Cpu).unwrap();
        for f in &ds.feats[..4] {
            assert_eq!(model.predict(f).unwrap(), loaded.predict(f).unwrap());
        }
    }

    #[test]
    fn corrupt_or_missing_model_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let e = EmotionModel::load(dir.path(), Device::Cpu).err().unwrap();
        assert!(e.to_string().contains("config.json"), "{e}");
        let ds = toy(2);
        let all: Vec<usize> = (0..ds.labels.len()).collect();
        let opts = TrainOptions {
            features: FeatureSet::Emb,
            epochs: 1,
            hidden: 16,
            ..Default::default()
        };
        let (model, _, _) = fit(&ds, &all, &[], &opts, Device::Cpu, 1).unwrap();
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
}
