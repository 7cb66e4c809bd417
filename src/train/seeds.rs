//! The seed systems (issue 19): their inputs on disk, one trained network, and the protocol
//! that compares them honestly.
//!
//! Protocol (`seed_cv`), the same for every architecture:
//! - the outer folds of `nested_cv`: k folds grouped by artist and stratified by quadrant,
//!   made by the same call with the same seed, so every seed row is scored on the same test
//!   artists as the shipped model's cross-validation;
//! - inside each outer training set, one fixed inner split by artist (the first of 4
//!   artist-grouped inner folds) validates: the epoch with the best selection score on it
//!   is kept (early stopping with patience) and the probability temperatures are fitted on
//!   its points. That is the model selection; the outer test artists are seen only once, to
//!   score.
//!
//! Every seed network ends in the shipped model's head (a valence/arousal point; the quadrant
//! is the point's quadrant) and trains with the same losses (`fit::point_loss`, 1 - CCC,
//! seed 002 also the improved center loss), so rows differ in architecture and inputs only.
//! One member per fold (no ensemble): the seeds' cost must fit 40 minutes for 5 folds on 2
//! CPU cores.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

use super::cache::{cache_dir, content_hash};
use super::cv::{score, Scored};
use super::dataset::Dataset;
use super::fit::{
    ccc_loss, center_loss, fit_calibration, point_loss, selection_score, sign_targets,
    PointPrediction, TrainError,
};
use super::folds::grouped_folds;
use super::seeded;
use crate::features::seed_inputs::{seed_inputs, PartSpec, CLIP_SECONDS, SEED_SAMPLE_RATE};
use crate::model::emotion::{load_weights, read_config, save_model, EmotionError};
use crate::model::seeds::{build, param_count, SeedArch, SeedNet};
use crate::mood::Calibration;

/// Version of the seed inputs on disk; bump when `features::seed_inputs` changes.
pub const SEED_INPUTS_VERSION: u32 = 1;

/// Version written with a seed model.
pub const SEED_MODEL_VERSION: &str = "seed-1";

/// Training settings of one seed architecture.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SeedOptions {
    pub arch: SeedArch,
    /// Upper bound on epochs; training stops earlier after `patience` epochs without a
    /// better score on the inner validation artists.
    pub max_epochs: usize,
    pub patience: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub batch: usize,
    /// Weight of the logistic loss on the quadrant's signs (as the shipped model's base).
    pub sign_loss: f64,
    /// Weight of 1 - CCC on the continuous targets.
    pub ccc_loss: f64,
    /// Weight of seed 002's improved center loss on the representation (0: off).
    pub center_loss: f64,
    /// Standard deviation of Gaussian noise added to the standardised inputs in training.
    pub noise: f64,
    pub seed: u64,
}

impl SeedOptions {
    /// The settings used for `arch` in `docs/seeds.md`: Adam(W) at 1e-3 (papers 001-004 use
    /// Adam or SGD at 1e-3..2e-3), batch 32, early stopping on the inner validation artists.
    /// The epoch cap follows the cost: seeds 000 and 001 (a few ms per step) up to 150
    /// epochs with patience 20; the spectrogram networks (0.15-0.2 s per step) up to 30 with
    /// patience 8, which keeps 5 folds within 40 minutes on 2 cores. Seed 002 adds its
    /// improved center loss (weight 0.1: the paper's tau is not given).
    pub fn for_arch(arch: SeedArch) -> Self {
        let cheap = matches!(arch, SeedArch::Seed000 | SeedArch::Seed001);
        Self {
            arch,
            max_epochs: if cheap { 150 } else { 30 },
            patience: if cheap { 20 } else { 8 },
            lr: 1e-3,
            weight_decay: 1e-4,
            batch: 32,
            sign_loss: 0.5,
            ccc_loss: 1.0,
            center_loss: if arch == SeedArch::Seed002 { 0.1 } else { 0.0 },
            noise: 0.1,
            seed: 7,
        }
    }
}

/// Everything a trained seed network needs besides its weights.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SeedConfig {
    pub arch: SeedArch,
    pub version: String,
    pub inputs_version: u32,
    /// Per input part: mean and standard deviation of each entry of its feature axis,
    /// fitted on the training clips.
    pub mean: Vec<Vec<f32>>,
    pub std: Vec<Vec<f32>>,
    /// Temperatures fitted on the inner validation points.
    pub calibration: Calibration,
}

/// A seed network with its standardisation and temperatures.
pub struct SeedModel {
    pub cfg: SeedConfig,
    pub vs: nn::VarStore,
    net: Box<dyn SeedNet>,
    /// `cfg`'s mean and standard deviation per part, shaped to broadcast over a batch, on
    /// the model's device (made once, not per batch).
    stats: Vec<(Tensor, Tensor)>,
}

/// Shape to broadcast a per-feature vector of `spec` over (B, shape...).
fn stat_shape(spec: &PartSpec) -> Vec<i64> {
    let mut s = vec![1i64; spec.shape.len() + 1];
    s[spec.feature_axis + 1] = spec.shape[spec.feature_axis] as i64;
    s
}

impl SeedModel {
    pub fn new(cfg: SeedConfig, device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let net = build(cfg.arch, &vs.root());
        let stats = cfg
            .arch
            .parts()
            .iter()
            .zip(cfg.mean.iter().zip(&cfg.std))
            .map(|(spec, (m, s))| {
                let shape = stat_shape(spec);
                let t = |v: &[f32]| {
                    Tensor::from_slice(v)
                        .view(shape.as_slice())
                        .to_device(device)
                };
                (t(m), t(s))
            })
            .collect();
        Self {
            cfg,
            vs,
            net,
            stats,
        }
    }

    /// Trainable parameters.
    pub fn parameters(&self) -> i64 {
        param_count(&self.vs)
    }

    /// Raw parts (B, shape...) standardised per feature entry, on the model's device.
    fn standardise(&self, raw: &[Tensor]) -> Vec<Tensor> {
        let device = self.vs.device();
        raw.iter()
            .zip(&self.stats)
            .map(|(x, (m, s))| (x.to_device(device).to_kind(Kind::Float) - m) / s)
            .collect()
    }

    /// (B, 2) valence/arousal points of raw parts, in evaluation mode.
    pub fn points(&self, raw: &[Tensor]) -> Tensor {
        tch::no_grad(|| {
            let xs = self.standardise(raw);
            self.net.forward_t(&xs, false).va.to_device(Device::Cpu)
        })
    }

    /// Writes `config.json` and `model.safetensors` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<(), EmotionError> {
        save_model(dir, &self.cfg, &self.vs)
    }

    pub fn load(dir: &Path, device: Device) -> Result<Self, EmotionError> {
        let (cfg, cfg_path): (SeedConfig, _) = read_config(dir)?;
        let parts = cfg.arch.parts();
        let sizes_ok = cfg.mean.len() == parts.len()
            && cfg.std.len() == parts.len()
            && parts
                .iter()
                .zip(cfg.mean.iter().zip(&cfg.std))
                .all(|(p, (m, s))| {
                    m.len() == p.shape[p.feature_axis] && s.len() == p.shape[p.feature_axis]
                });
        if !sizes_ok {
            return Err(EmotionError::Load(format!(
                "{}: standardisation does not fit {}'s inputs",
                cfg_path.display(),
                cfg.arch.name()
            )));
        }
        let mut m = Self::new(cfg, device);
        load_weights(&mut m.vs, dir)?;
        Ok(m)
    }
}

/// Labelled clips with one architecture's inputs: `parts[k]` is (N, shape of part k).
pub struct SeedData {
    pub arch: SeedArch,
    pub parts: Vec<Tensor>,
    /// Labels, targets, groups and paths (no segment features).
    pub meta: Dataset,
}

impl SeedData {
    /// From per-clip parts (each clip: one `Vec` per part, of the part's length).
    pub fn new(arch: SeedArch, clips: Vec<Vec<Vec<f32>>>, meta: Dataset) -> Self {
        let parts = arch
            .parts()
            .iter()
            .enumerate()
            .map(|(k, spec)| {
                let len: usize = spec.shape.iter().product();
                let mut flat = Vec::with_capacity(clips.len() * len);
                for c in &clips {
                    flat.extend_from_slice(&c[k]);
                }
                let mut shape = vec![clips.len() as i64];
                shape.extend(spec.shape.iter().map(|&d| d as i64));
                Tensor::from_slice(&flat).view(shape.as_slice())
            })
            .collect();
        Self { arch, parts, meta }
    }

    pub fn len(&self) -> usize {
        self.meta.len()
    }
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    fn rows(&self, idx: &[usize]) -> Vec<Tensor> {
        let i = Tensor::from_slice(&idx.iter().map(|&i| i as i64).collect::<Vec<_>>());
        self.parts.iter().map(|p| p.index_select(0, &i)).collect()
    }

    /// Mean and standard deviation of each feature entry of each part over `idx`.
    fn standardisation(&self, idx: &[usize]) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let rows = self.rows(idx);
        let (mut means, mut stds) = (Vec::new(), Vec::new());
        for (spec, x) in self.arch.parts().iter().zip(&rows) {
            let f = spec.shape[spec.feature_axis] as i64;
            let last = spec.shape.len() as i64;
            let flat = x
                .transpose(spec.feature_axis as i64 + 1, last)
                .contiguous()
                .view([-1, f])
                .to_kind(Kind::Double);
            let m = flat.mean_dim(0, false, Kind::Double);
            let s = flat.std_dim(0, false, false).clamp_min(1e-4);
            means.push(Vec::<f32>::try_from(m.to_kind(Kind::Float)).unwrap_or_default());
            stds.push(Vec::<f32>::try_from(s.to_kind(Kind::Float)).unwrap_or_default());
        }
        (means, stds)
    }
}

/// Where one clip's inputs for `arch` are kept on disk: keyed by the audio's content, the
/// architecture and [`SEED_INPUTS_VERSION`]; stored as f16 safetensors (half the size; the
/// inputs are standardised log-magnitudes and descriptors, far coarser than f16's 3 digits).
pub struct SeedCache {
    dir: PathBuf,
}

impl SeedCache {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// `~/.cache/valence/seeds`.
    pub fn default_dir() -> PathBuf {
        cache_dir("seeds")
    }

    fn read(file: &Path, arch: SeedArch) -> Option<Vec<Vec<f32>>> {
        let named = Tensor::read_safetensors(file).ok()?;
        arch.parts()
            .iter()
            .map(|spec| {
                let (_, t) = named.iter().find(|(n, _)| n == spec.name)?;
                let v = Vec::<f32>::try_from(t.to_kind(Kind::Float).view([-1])).ok()?;
                (v.len() == spec.shape.iter().product::<usize>()).then_some(v)
            })
            .collect()
    }

    /// The inputs of the audio file `path` for `arch`: from the cache, or decoded (mono,
    /// 22050 Hz, the first 30 s), computed and stored.
    pub fn get_or_extract(&self, path: &Path, arch: SeedArch) -> anyhow::Result<Vec<Vec<f32>>> {
        let hash = content_hash(path)?;
        let file = self.dir.join(format!(
            "{hash:016x}-{}-v{SEED_INPUTS_VERSION}.safetensors",
            arch.name()
        ));
        if let Some(v) = Self::read(&file, arch) {
            return Ok(v);
        }
        let parts = extract(path, arch)?;
        // A failed write only costs time later; write then rename, so a kill leaves no half
        // file under the real name.
        if std::fs::create_dir_all(&self.dir).is_ok() {
            let tmp = file.with_extension("tmp");
            let named: Vec<(&str, Tensor)> = arch
                .parts()
                .iter()
                .zip(&parts)
                .map(|(s, v)| (s.name, Tensor::from_slice(v).to_kind(Kind::Half)))
                .collect();
            if Tensor::write_safetensors(&named, &tmp).is_ok() {
                let _ = std::fs::rename(&tmp, &file);
            }
        }
        Ok(parts)
    }
}

/// Decodes the first 30 s of `path` at 22050 Hz mono and computes `arch`'s inputs.
pub fn extract(path: &Path, arch: SeedArch) -> anyhow::Result<Vec<Vec<f32>>> {
    let dec = crate::audio::decode_mono(path, Some(SEED_SAMPLE_RATE), Some(CLIP_SECONDS))?;
    Ok(seed_inputs(arch.index(), &dec.samples)?)
}

/// Points of `model` on `idx`, in batches.
pub fn predict(model: &SeedModel, data: &SeedData, idx: &[usize]) -> Vec<PointPrediction> {
    let mut out = Vec::with_capacity(idx.len());
    for chunk in idx.chunks(32) {
        let va = model.points(&data.rows(chunk));
        let v = Vec::<f32>::try_from(va.view([-1])).unwrap_or_default();
        out.extend(v.chunks(2).map(|p| PointPrediction {
            track: [p[0], p.get(1).copied().unwrap_or(0.0)],
            segments: Vec::new(),
        }));
    }
    out
}

/// One network trained on `train`, early-stopped on `val` (kept: the epoch with the best
/// selection score; stop after `patience` epochs without a better one) with temperatures
/// fitted on `val`. Returns the model, its best epoch (1-based) and the epochs run.
pub fn fit_seed(
    data: &SeedData,
    train: &[usize],
    val: &[usize],
    opts: &SeedOptions,
    device: Device,
    seed: u64,
) -> Result<(SeedModel, usize, usize), TrainError> {
    tch::manual_seed(seed as i64);
    let (mean, std) = data.standardisation(train);
    let cfg = SeedConfig {
        arch: opts.arch,
        version: SEED_MODEL_VERSION.into(),
        inputs_version: SEED_INPUTS_VERSION,
        mean,
        std,
        calibration: Calibration::default(),
    };
    let model = SeedModel::new(cfg.clone(), device);
    let mut best = SeedModel::new(cfg, device);
    let mut opt = nn::AdamW {
        wd: opts.weight_decay,
        ..Default::default()
    }
    .build(&model.vs, opts.lr)
    .map_err(EmotionError::from)?;
    let mut rng = seeded(seed ^ 0x5EED);
    let mut order = train.to_vec();
    let (mut best_score, mut best_epoch, mut since) = (f64::NEG_INFINITY, 0, 0);
    let mut epochs = 0;
    for epoch in 1..=opts.max_epochs {
        epochs = epoch;
        order.shuffle(&mut rng);
        for chunk in order.chunks(opts.batch.max(2)) {
            let mut xs = model.standardise(&data.rows(chunk));
            if opts.noise > 0.0 {
                xs = xs.iter().map(|x| x + x.randn_like() * opts.noise).collect();
            }
            let out = model.net.forward_t(&xs, true);
            let meta = &data.meta;
            let n = chunk.len() as i64;
            let target: Vec<f32> = chunk.iter().flat_map(|&i| meta.targets[i]).collect();
            let sign = sign_targets(meta, chunk);
            let target = Tensor::from_slice(&target).view([n, 2]).to_device(device);
            let sign = Tensor::from_slice(&sign).view([n, 2]).to_device(device);
            let weight = Tensor::ones([n], (Kind::Float, device));
            let mut l = point_loss(&out.va, &target, &sign, &weight, opts.sign_loss);
            if opts.ccc_loss > 0.0 {
                l += ccc_loss(&out.va, &target) * opts.ccc_loss;
            }
            if opts.center_loss > 0.0 {
                let labels: Vec<i64> = chunk.iter().map(|&i| meta.labels[i] as i64).collect();
                let label = Tensor::from_slice(&labels).to_device(device);
                l += center_loss(&out.repr, &label) * opts.center_loss;
            }
            opt.backward_step(&l);
        }
        if val.is_empty() {
            continue;
        }
        let s = selection_score(&data.meta, val, &predict(&model, data, val));
        if s > best_score {
            (best_score, best_epoch, since) = (s, epoch, 0);
            best.vs.copy(&model.vs).map_err(EmotionError::from)?;
        } else {
            since += 1;
            if since >= opts.patience {
                break;
            }
        }
    }
    if val.is_empty() {
        return Ok((model, epochs, epochs));
    }
    let pred = predict(&best, data, val);
    let points: Vec<[f32; 2]> = pred.iter().map(|p| p.track).collect();
    let labels: Vec<usize> = val.iter().map(|&i| data.meta.labels[i]).collect();
    best.cfg.calibration = fit_calibration(&points, &labels);
    Ok((best, best_epoch, epochs))
}

/// The inner validation split of an outer training set: the first of 4 artist-grouped
/// inner folds (indices into `data`).
pub fn inner_split(
    data: &SeedData,
    train: &[usize],
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>), TrainError> {
    let (groups, labels) = data.meta.subset_groups(train);
    let inner = grouped_folds(&groups, &labels, 4, seed)?;
    let f = &inner[0];
    Ok((
        f.train.iter().map(|&j| train[j]).collect(),
        f.test.iter().map(|&j| train[j]).collect(),
    ))
}

/// One outer fold of `seed_cv`.
#[derive(Debug, Clone, Serialize)]
pub struct SeedFold {
    pub scored: Scored,
    pub best_epoch: usize,
    pub epochs_run: usize,
    /// Wall-clock seconds to train this fold's network (feature loading excluded).
    pub train_secs: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SeedCvResult {
    pub arch: SeedArch,
    pub options: SeedOptions,
    pub parameters: i64,
    pub folds: Vec<SeedFold>,
}

/// The protocol of the module doc for `opts.arch` on `data`: `k` outer folds.
pub fn seed_cv(
    data: &SeedData,
    k: usize,
    opts: &SeedOptions,
    device: Device,
    mut log: impl FnMut(&str),
) -> Result<SeedCvResult, TrainError> {
    let seed = opts.seed;
    let folds = grouped_folds(&data.meta.groups, &data.meta.labels, k, seed)?;
    let mut res = SeedCvResult {
        arch: opts.arch,
        options: opts.clone(),
        parameters: 0,
        folds: Vec::new(),
    };
    for (fi, fold) in folds.iter().enumerate() {
        let fold_seed = seed + 1000 * fi as u64;
        let (tr, va) = inner_split(data, &fold.train, fold_seed)?;
        let t0 = Instant::now();
        let (model, best_epoch, epochs_run) = fit_seed(data, &tr, &va, opts, device, fold_seed)?;
        let train_secs = t0.elapsed().as_secs_f64();
        res.parameters = model.parameters();
        let pred = predict(&model, data, &fold.test);
        let scored = score(fi, &data.meta, &fold.test, &pred, &model.cfg.calibration);
        log(&format!(
            "fold {}/{k} {}: macro-F1 {:.3}, arousal-sign {:.3}, valence-sign {:.3}, CCC v {:.3} a {:.3} (best epoch {best_epoch} of {epochs_run}, {train_secs:.0} s)",
            fi + 1,
            opts.arch.name(),
            scored.cls.macro_f1,
            scored.cls.arousal_sign_accuracy,
            scored.cls.valence_sign_accuracy,
            scored.reg.valence_ccc,
            scored.reg.arousal_ccc,
        ));
        res.folds.push(SeedFold {
            scored,
            best_epoch,
            epochs_run,
            train_secs,
        });
    }
    Ok(res)
}

/// A final model on all of `data` (early stopping and temperatures on one inner split; with
/// fewer than 4 artists, every epoch on everything and default temperatures).
pub fn train_final(
    data: &SeedData,
    opts: &SeedOptions,
    device: Device,
) -> Result<SeedModel, TrainError> {
    let all: Vec<usize> = (0..data.len()).collect();
    let (tr, va) = inner_split(data, &all, opts.seed).unwrap_or((all, Vec::new()));
    Ok(fit_seed(data, &tr, &va, opts, device, opts.seed)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::seed_inputs::SEED000_PARTS;

    /// Seed 000-shaped data (10 x 66 per clip): the quadrant's signs written into two
    /// descriptor dims of every segment, noise elsewhere; 2 clips per artist.
    fn toy(n_per_class: usize) -> SeedData {
        use rand::Rng as _;
        let mut rng = seeded(3);
        let mut meta = crate::train::fit::tests::toy(n_per_class);
        let len: usize = SEED000_PARTS[0].shape.iter().product();
        let clips = meta
            .targets
            .iter()
            .map(|t| {
                let mut v: Vec<f32> = (0..len).map(|_| rng.gen_range(-1.0..1.0)).collect();
                for s in 0..10 {
                    v[s * 66] += 3.0 * t[0];
                    v[s * 66 + 1] += 3.0 * t[1];
                }
                vec![v]
            })
            .collect();
        meta.feats.clear();
        SeedData::new(SeedArch::Seed000, clips, meta)
    }

    #[test]
    fn standardisation_is_per_feature_entry_of_the_training_rows() {
        let d = toy(4);
        let all: Vec<usize> = (0..d.len()).collect();
        let (m, s) = d.standardisation(&all);
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].len(), s[0].len()), (66, 66));
        // Dim 5 is uniform noise on [-1, 1): mean ~0, sd ~0.58.
        assert!(
            m[0][5].abs() < 0.15 && (s[0][5] - 0.577).abs() < 0.1,
            "{} {}",
            m[0][5],
            s[0][5]
        );
        // Dim 0 carries 3 x valence (|v| 0.2..0.8): a larger spread.
        assert!(s[0][0] > 1.0, "{}", s[0][0]);
    }

    #[test]
    fn a_seed_network_learns_the_toy_task_and_survives_save_and_load() {
        let d = toy(16);
        let all: Vec<usize> = (0..d.len()).collect();
        let opts = SeedOptions {
            max_epochs: 25,
            patience: 25,
            lr: 3e-3,
            batch: 16,
            ..SeedOptions::for_arch(SeedArch::Seed000)
        };
        let (tr, va) = inner_split(&d, &all, 1).unwrap();
        assert!(tr.iter().all(|i| !va.contains(i)));
        let (model, best, run) = fit_seed(&d, &tr, &va, &opts, Device::Cpu, 1).unwrap();
        assert!(best >= 1 && best <= run);
        let pred = predict(&model, &d, &va);
        let s = score(0, &d.meta, &va, &pred, &model.cfg.calibration);
        // Held-out artists: the signs are in the inputs, so most quadrants are right.
        assert!(s.cls.accuracy > 0.8, "{:?}", s.cls);
        let dir = tempfile::tempdir().unwrap();
        model.save(dir.path()).unwrap();
        let loaded = SeedModel::load(dir.path(), Device::Cpu).unwrap();
        assert_eq!(loaded.cfg, model.cfg);
        let x = d.rows(&[0, 1, 2]);
        assert_eq!(
            Vec::<f32>::try_from(model.points(&x).view([-1])).unwrap(),
            Vec::<f32>::try_from(loaded.points(&x).view([-1])).unwrap()
        );
        // A config that does not fit the architecture is a clear error.
        let mut bad = model.cfg.clone();
        bad.mean[0].pop();
        std::fs::write(
            dir.path().join("config.json"),
            serde_json::to_string(&bad).unwrap(),
        )
        .unwrap();
        let e = SeedModel::load(dir.path(), Device::Cpu).err().unwrap();
        assert!(e.to_string().contains("standardisation"), "{e}");
    }

    #[test]
    fn cv_scores_every_clip_once_on_artist_disjoint_folds() {
        let d = toy(10);
        let opts = SeedOptions {
            max_epochs: 3,
            ..SeedOptions::for_arch(SeedArch::Seed000)
        };
        let r = seed_cv(&d, 3, &opts, Device::Cpu, |_| {}).unwrap();
        assert_eq!(r.folds.len(), 3);
        let n: u64 = r
            .folds
            .iter()
            .map(|f| f.scored.cls.confusion_matrix().total())
            .sum();
        assert_eq!(n as usize, d.len());
        assert!(r.parameters > 0);
    }

    #[test]
    fn cache_round_trips_inputs_and_recomputes_after_a_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("a.wav");
        let sr = 22050;
        let samples: Vec<i16> = (0..sr * 4)
            .map(|i| (9000.0 * (i as f32 * 440.0 * std::f32::consts::TAU / sr as f32).sin()) as i16)
            .collect();
        crate::audio::write_wav_pcm16(&wav, &samples, sr as u32, 1).unwrap();
        let cache = SeedCache::new(dir.path().join("cache"));
        let a = cache.get_or_extract(&wav, SeedArch::Seed001).unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("cache"))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(files.len(), 1);
        let b = cache.get_or_extract(&wav, SeedArch::Seed001).unwrap();
        assert_eq!(a.len(), 1);
        // f16 on disk: equal to 3 significant digits.
        for (x, y) in a[0].iter().zip(&b[0]) {
            assert!((x - y).abs() <= 2e-3 * x.abs().max(1.0), "{x} {y}");
        }
        std::fs::write(files[0].path(), b"garbage").unwrap();
        let c = cache.get_or_extract(&wav, SeedArch::Seed001).unwrap();
        assert_eq!(c, a);
    }
}
