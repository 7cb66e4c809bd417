//! Distilling MSD-musicnn into [`crate::model::student::StudentNet`] (issue 16's first
//! lever): the student learns the teacher's embedding (standardised, mean squared error) and
//! tag probabilities (binary cross-entropy on the soft targets) patch by patch. No labels are
//! read. A share of the clips is held out to choose the epoch and to report how closely the
//! student follows the teacher on patches it did not train on.

use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use crate::model::musicnn::{EMBEDDING_DIM, N_TAGS};
use crate::model::student::StudentNet;

#[derive(Debug, thiserror::Error)]
pub enum DistillError {
    #[error("distillation data: {0}")]
    Data(String),
    #[error("libtorch: {0}")]
    Torch(String),
}

impl From<tch::TchError> for DistillError {
    fn from(e: tch::TchError) -> Self {
        DistillError::Torch(e.to_string())
    }
}

#[derive(Debug, Clone)]
pub struct DistillOptions {
    pub epochs: usize,
    pub batch: i64,
    pub lr: f64,
    /// Share of the clips held out for validation.
    pub val_share: f64,
    pub seed: u64,
    /// Warm start: a student saved by an earlier run on the same clips with the same seed
    /// (so the same held-out clips and standardisation), trained further from its weights.
    pub init: Option<std::path::PathBuf>,
}

impl Default for DistillOptions {
    fn default() -> Self {
        DistillOptions {
            epochs: 12,
            batch: 64,
            lr: 2e-3,
            val_share: 0.1,
            seed: 7,
            init: None,
        }
    }
}

/// The teacher's outputs and the inputs, one row per patch.
pub struct DistillData {
    /// `(P, 187, 96)` log-mel patches.
    pub patches: Tensor,
    /// `(P, 200)` teacher embeddings.
    pub emb: Tensor,
    /// `(P, 50)` teacher tag probabilities.
    pub tags: Tensor,
    /// The clip each patch comes from (the validation split is by clip).
    pub clip: Vec<usize>,
}

impl DistillData {
    /// The patches of the clips `keep` (indices as in `clip`), renumbered 0.. in that order:
    /// a student distilled on one outer fold's training clips only.
    pub fn subset(&self, keep: &[usize]) -> Result<DistillData, DistillError> {
        let n_clips = self.clip.iter().max().map_or(0, |m| m + 1);
        let mut new_id = vec![None; n_clips];
        for (j, &c) in keep.iter().enumerate() {
            if let Some(slot) = new_id.get_mut(c) {
                *slot = Some(j);
            }
        }
        let (rows, clip): (Vec<i64>, Vec<usize>) = self
            .clip
            .iter()
            .enumerate()
            .filter_map(|(p, &c)| new_id[c].map(|j| (p as i64, j)))
            .unzip();
        if rows.is_empty() {
            return Err(DistillError::Data("no patches in the kept clips".into()));
        }
        let idx = Tensor::from_slice(&rows);
        Ok(DistillData {
            patches: self.patches.f_index_select(0, &idx)?,
            emb: self.emb.f_index_select(0, &idx)?,
            tags: self.tags.f_index_select(0, &idx)?,
            clip,
        })
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: f64,
    pub seconds: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DistillReport {
    pub train_patches: usize,
    pub val_patches: usize,
    pub epochs: Vec<EpochLog>,
    pub best_epoch: usize,
    /// Held-out patches: share of the standardised embedding's variance explained.
    pub val_emb_r2: f64,
    /// Held-out patches: mean Pearson r between student and teacher per tag.
    pub val_tag_r: f64,
    /// Held-out patches: mean absolute error of the tag probabilities.
    pub val_tag_mae: f64,
}

fn loss(net: &StudentNet, x: &Tensor, emb_z: &Tensor, tags: &Tensor, train: bool) -> Tensor {
    let y = net.raw(x, train);
    let e = y.narrow(1, 0, EMBEDDING_DIM as i64);
    let t = y.narrow(1, EMBEDDING_DIM as i64, N_TAGS as i64);
    e.mse_loss(emb_z, tch::Reduction::Mean)
        + t.binary_cross_entropy_with_logits::<Tensor>(tags, None, None, tch::Reduction::Mean)
}

/// Trains a student on `data`; returns its weights (the epoch with the lowest held-out loss)
/// and the report.
pub fn distill(
    data: &DistillData,
    opts: &DistillOptions,
    device: Device,
    mut log: impl FnMut(&str),
) -> Result<(nn::VarStore, DistillReport), DistillError> {
    use rand::seq::SliceRandom;
    let mut rng = super::seeded(opts.seed);
    let n_clips = data.clip.iter().max().map_or(0, |m| m + 1);
    let mut clips: Vec<usize> = (0..n_clips).collect();
    clips.shuffle(&mut rng);
    let n_val = ((n_clips as f64 * opts.val_share).round() as usize).clamp(1, n_clips.max(2) - 1);
    let mut is_val = vec![false; n_clips];
    for &c in &clips[..n_val] {
        is_val[c] = true;
    }
    let (mut tr, mut va) = (Vec::new(), Vec::new());
    for (p, &c) in data.clip.iter().enumerate() {
        if is_val[c] {
            va.push(p as i64)
        } else {
            tr.push(p as i64)
        }
    }
    if tr.is_empty() || va.is_empty() {
        return Err(DistillError::Data("too few clips to hold some out".into()));
    }
    let tr_idx = Tensor::from_slice(&tr);
    let va_idx = Tensor::from_slice(&va);
    let emb_tr = data.emb.index_select(0, &tr_idx);
    let mean = emb_tr.mean_dim(&[0i64][..], false, Kind::Float);
    let std = emb_tr.std_dim(&[0i64][..], true, false).clamp_min(1e-3);
    let emb_z = ((&data.emb - &mean) / &std).to_device(device);
    let tags = data.tags.to_device(device);

    let mut vs = nn::VarStore::new(device);
    let mut net = StudentNet::new(&vs.root());
    net.set_standardisation(&mean.to_device(device), &std.to_device(device));
    if let Some(init) = &opts.init {
        // Loading fills the net's variables, its stored standardisation included.
        vs.load(init)
            .map_err(|e| DistillError::Data(format!("{}: {e}", init.display())))?;
        // Another split of the clips would standardise the targets differently and hold
        // out clips the student trained on: refuse it rather than report a false fidelity.
        let (m0, s0) = net.standardisation();
        let gap =
            |a: &Tensor, b: &Tensor| (a.to_device(Device::Cpu) - b).abs().max().double_value(&[]);
        let drift = gap(m0, &mean).max(gap(s0, &std));
        // NaN (a corrupt file) fails too.
        if drift.is_nan() || drift >= 1e-4 {
            return Err(DistillError::Data(format!(
                "{} was distilled on other clips or another seed (standardisation differs by \
                 {drift:.2e}); warm-start only a student of the same run",
                init.display()
            )));
        }
        log(&format!("warm start from {}", init.display()));
    }
    let mut opt = nn::AdamW::default()
        .build(&vs, opts.lr)
        .map_err(|e| DistillError::Torch(e.to_string()))?;
    let mut best = (f64::INFINITY, 0usize);
    // The chosen epoch's copy: its variables are created once, under the same names, so
    // `copy` fills them (a second `StudentNet` on one store would get renamed variables).
    let mut best_vs = nn::VarStore::new(device);
    let chosen = StudentNet::new(&best_vs.root());
    let mut epochs = Vec::new();
    let steps = tr.len().div_ceil(opts.batch as usize);
    for epoch in 1..=opts.epochs {
        let t0 = std::time::Instant::now();
        // Cosine decay to 5 % of the rate over the run.
        let frac = (epoch - 1) as f64 / opts.epochs.max(1) as f64;
        opt.set_lr(opts.lr * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos())));
        let mut order = tr.clone();
        order.shuffle(&mut rng);
        // The loss of the patches `chunk` (in training mode: batch-norm statistics of the batch).
        let batch_loss = |chunk: &[i64], train: bool| {
            let idx = Tensor::from_slice(chunk);
            let x = data.patches.index_select(0, &idx).to_device(device);
            let idx = idx.to_device(device);
            let (e, t) = (emb_z.index_select(0, &idx), tags.index_select(0, &idx));
            loss(&net, &x, &e, &t, train)
        };
        let mut sum = 0.0;
        for chunk in order.chunks(opts.batch as usize) {
            let l = batch_loss(chunk, true);
            opt.backward_step(&l);
            sum += l.double_value(&[]);
        }
        let val_loss = tch::no_grad(|| {
            va.chunks(256)
                .map(|c| batch_loss(c, false).double_value(&[]) * c.len() as f64)
                .sum::<f64>()
                / va.len() as f64
        });
        let e = EpochLog {
            epoch,
            train_loss: sum / steps.max(1) as f64,
            val_loss,
            seconds: t0.elapsed().as_secs_f64(),
        };
        log(&format!(
            "epoch {epoch}: train {:.4}, held out {:.4} ({:.0} s)",
            e.train_loss, e.val_loss, e.seconds
        ));
        epochs.push(e);
        if val_loss < best.0 {
            best = (val_loss, epoch);
            best_vs
                .copy(&vs)
                .map_err(|e| DistillError::Torch(e.to_string()))?;
        }
    }
    // Fidelity on the held-out clips, with the chosen epoch's weights (the standardisation
    // came with them).
    let (pred_t, pred_e): (Vec<Tensor>, Vec<Tensor>) = tch::no_grad(|| {
        va.chunks(256)
            .map(|chunk| {
                let idx = Tensor::from_slice(chunk);
                chosen.outputs(&data.patches.index_select(0, &idx).to_device(device))
            })
            .unzip()
    });
    let pred_t = Tensor::cat(&pred_t, 0).to_device(Device::Cpu);
    let pred_e = Tensor::cat(&pred_e, 0).to_device(Device::Cpu);
    let true_t = data.tags.index_select(0, &va_idx);
    let true_e = data.emb.index_select(0, &va_idx);
    let ez = |e: &Tensor| (e - &mean) / &std;
    let sse = (ez(&pred_e) - ez(&true_e))
        .square()
        .sum(Kind::Double)
        .double_value(&[]);
    let sst = (ez(&true_e) - ez(&true_e).mean_dim(&[0i64][..], true, Kind::Float))
        .square()
        .sum(Kind::Double)
        .double_value(&[]);
    let r = |a: &Tensor, b: &Tensor| -> f64 {
        let a = a - a.mean_dim(&[0i64][..], true, Kind::Float);
        let b = b - b.mean_dim(&[0i64][..], true, Kind::Float);
        let num = (&a * &b).sum_dim_intlist(&[0i64][..], false, Kind::Double);
        let den = (a.square().sum_dim_intlist(&[0i64][..], false, Kind::Double)
            * b.square().sum_dim_intlist(&[0i64][..], false, Kind::Double))
        .sqrt()
        .clamp_min(1e-12);
        (num / den).mean(Kind::Double).double_value(&[])
    };
    let report = DistillReport {
        train_patches: tr.len(),
        val_patches: va.len(),
        epochs,
        best_epoch: best.1,
        val_emb_r2: 1.0 - sse / sst.max(1e-12),
        val_tag_r: r(&pred_t, &true_t),
        val_tag_mae: (&pred_t - &true_t)
            .abs()
            .mean(Kind::Double)
            .double_value(&[]),
    };
    Ok((best_vs, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A teacher the student can follow: its embedding is the patch's level times a fixed
    /// vector, its tags a sigmoid of the level. Held out, the student must explain most of
    /// the embedding's variance; an untrained one explains none. (The network is fully
    /// convolutional, so small 32 x 32 patches keep the test fast.)
    #[test]
    fn the_student_learns_a_learnable_teacher() {
        tch::manual_seed(1);
        let (clips, per) = (32i64, 4i64);
        let n = clips * per;
        let level = Tensor::rand([n, 1, 1], (Kind::Float, Device::Cpu)) * 4.0;
        let patches = Tensor::rand([n, 32, 32], (Kind::Float, Device::Cpu)) * 0.2 + &level;
        let dir = Tensor::randn([1, EMBEDDING_DIM as i64], (Kind::Float, Device::Cpu));
        let lv = level.view([n, 1]);
        let emb = &lv * &dir;
        let tags = (&lv - 2.0).sigmoid().repeat([1, N_TAGS as i64]);
        let data = DistillData {
            patches,
            emb,
            tags,
            clip: (0..n as usize).map(|p| p / per as usize).collect(),
        };
        let opts = DistillOptions {
            epochs: 15,
            batch: 16,
            lr: 3e-3,
            val_share: 0.25,
            seed: 3,
            init: None,
        };
        let (vs, report) = distill(&data, &opts, Device::Cpu, |_| {}).expect("distill");
        assert_eq!(report.val_patches + report.train_patches, n as usize);
        assert_eq!(report.val_patches, 8 * per as usize);
        assert!(report.val_emb_r2 > 0.5, "{report:?}");
        assert!(report.val_tag_r > 0.5, "{report:?}");
        // Later epochs improve on the first, and the chosen one is the best held out.
        assert!(report.best_epoch > 1, "{report:?}");
        let best = report.epochs[report.best_epoch - 1].val_loss;
        assert!(report.epochs.iter().all(|e| e.val_loss >= best));

        // A warm start carries on from the saved weights: its first epoch is already far
        // better held out than a cold start's first epoch.
        let tmp = tempfile::tempdir().expect("tempdir");
        let saved = tmp.path().join("student.safetensors");
        vs.save(&saved).expect("save");
        let warm = DistillOptions {
            epochs: 1,
            lr: 3e-4,
            init: Some(saved.clone()),
            ..opts.clone()
        };
        let (_, again) = distill(&data, &warm, Device::Cpu, |_| {}).expect("warm start");
        assert!(
            again.epochs[0].val_loss < 0.5 * report.epochs[0].val_loss,
            "{again:?} vs {report:?}"
        );
        // Another seed holds out other clips, which the saved student trained on: refused.
        let other = DistillOptions { seed: 4, ..warm };
        match distill(&data, &other, Device::Cpu, |_| {}) {
            Err(DistillError::Data(m)) => assert!(m.contains("other clips"), "{m}"),
            r => panic!(
                "a warm start on other held-out clips was taken: {:?}",
                r.err()
            ),
        }
    }

    /// A per-fold student sees only the kept clips' patches, renumbered, rows intact.
    #[test]
    fn subset_keeps_only_the_kept_clips() {
        let n = 6i64;
        let ramp = Tensor::arange(n, (Kind::Float, Device::Cpu));
        let data = DistillData {
            patches: ramp.view([n, 1, 1]).repeat([1, 2, 3]),
            emb: ramp.view([n, 1]).repeat([1, EMBEDDING_DIM as i64]),
            tags: ramp.view([n, 1]).repeat([1, N_TAGS as i64]) / 10.0,
            clip: vec![0, 0, 1, 2, 2, 2],
        };
        let sub = data.subset(&[2, 0]).expect("subset");
        assert_eq!(sub.clip, vec![1, 1, 0, 0, 0]);
        let firsts = |t: &Tensor| Vec::<f32>::try_from(t.flatten(1, -1).select(1, 0)).unwrap();
        assert_eq!(firsts(&sub.patches), vec![0.0, 1.0, 3.0, 4.0, 5.0]);
        assert_eq!(firsts(&sub.emb), vec![0.0, 1.0, 3.0, 4.0, 5.0]);
        assert_eq!(sub.tags.size(), vec![5, N_TAGS as i64]);
        assert!(data.subset(&[7]).is_err());
    }
}
