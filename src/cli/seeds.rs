//! `valence train --arch seed000..seed004`: a seed paper's system on its own inputs, under
//! the protocol of `train::seeds` (report.md, report.json, and the model on all rows).

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::train::read_checked_manifest;
use crate::model::device::{resolve, DeviceChoice};
use crate::model::seeds::SeedArch;
use crate::train::dataset::load_rows;
use crate::train::metrics::{summarize, summarize_regression, FoldMetrics, MeanSd};
use crate::train::seeds::{
    seed_cv, train_final, SeedCache, SeedConfig, SeedCvResult, SeedData, SeedModel, SeedOptions,
    SEED_INPUTS_VERSION, SEED_MODEL_VERSION,
};

/// What `valence train --arch seedNNN` was asked to do.
pub struct SeedRun<'a> {
    pub manifest: &'a Path,
    pub opts: SeedOptions,
    /// Outer folds (0 or 1: no cross-validation, only the model on all rows).
    pub folds: usize,
    /// Skip the model on all rows (cross-validation only).
    pub no_final: bool,
    pub out_dir: &'a Path,
    pub device: DeviceChoice,
    pub command: &'a str,
    pub json: bool,
}

/// Inference cost of one 30-s clip, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct InferenceCost {
    pub clips: usize,
    pub decode_ms: f64,
    pub features_ms: f64,
    pub network_ms: f64,
}

/// Every row's inputs for `arch` (cached), as one data set.
fn seed_data(m: &crate::train::manifest::Manifest, arch: SeedArch) -> Result<SeedData> {
    let cache = SeedCache::new(SeedCache::default_dir());
    let bar = ProgressBar::new(m.rows.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(format!("{} inputs", arch.name()));
    let (meta, clips, bad) = load_rows(
        m,
        |p| cache.get_or_extract(p, arch),
        |c| c.is_empty(),
        |i, _| bar.set_position(i as u64),
    );
    bar.finish_and_clear();
    for b in &bad {
        eprintln!("valence: skipped manifest line {}: {}", b.line, b.reason);
    }
    anyhow::ensure!(!meta.is_empty(), "no usable rows in the manifest");
    Ok(SeedData::new(arch, clips, meta))
}

/// Decode, feature and network time per 30-s clip, on up to 8 of the data's files (not
/// cached), batch 1, with an untrained network of the same shape (the cost does not depend
/// on the weights).
fn inference_cost(data: &SeedData, device: tch::Device) -> Result<InferenceCost> {
    let arch = data.arch;
    let parts = arch.parts();
    let cfg = SeedConfig {
        arch,
        version: SEED_MODEL_VERSION.into(),
        inputs_version: SEED_INPUTS_VERSION,
        mean: parts
            .iter()
            .map(|p| vec![0.0; p.shape[p.feature_axis]])
            .collect(),
        std: parts
            .iter()
            .map(|p| vec![1.0; p.shape[p.feature_axis]])
            .collect(),
        calibration: Default::default(),
    };
    let model = SeedModel::new(cfg, device);
    let n = data.len().min(8);
    let (mut dec, mut feat, mut net) = (0.0, 0.0, 0.0);
    for path in data.meta.paths.iter().take(n) {
        let t0 = Instant::now();
        let d = crate::audio::decode_mono(
            path,
            Some(crate::features::seed_inputs::SEED_SAMPLE_RATE),
            Some(crate::features::seed_inputs::CLIP_SECONDS),
        )?;
        let t1 = Instant::now();
        let clip = crate::features::seed_inputs::seed_inputs(arch.index(), &d.samples)?;
        let t2 = Instant::now();
        let xs: Vec<tch::Tensor> = parts
            .iter()
            .zip(&clip)
            .map(|(p, v)| {
                let mut shape = vec![1i64];
                shape.extend(p.shape.iter().map(|&d| d as i64));
                tch::Tensor::from_slice(v).view(shape.as_slice())
            })
            .collect();
        let _ = model.points(&xs);
        let t3 = Instant::now();
        dec += (t1 - t0).as_secs_f64();
        feat += (t2 - t1).as_secs_f64();
        net += (t3 - t2).as_secs_f64();
    }
    let per = |s: f64| 1000.0 * s / n.max(1) as f64;
    // The first forward's allocations are included, as in a real analysis.
    Ok(InferenceCost {
        clips: n,
        decode_ms: per(dec),
        features_ms: per(feat),
        network_ms: per(net),
    })
}

/// The report's table row (outer-fold mean ± sd).
pub fn table_row(res: &SeedCvResult, cost: &InferenceCost) -> String {
    let cls: Vec<FoldMetrics> = res.folds.iter().map(|f| f.scored.cls.clone()).collect();
    let reg: Vec<_> = res.folds.iter().map(|f| f.scored.reg.clone()).collect();
    let s = summarize(&cls);
    let r = summarize_regression(&reg);
    let f = |m: &MeanSd| m.show(true);
    let secs: f64 = res.folds.iter().map(|f| f.train_secs).sum();
    format!(
        "| {} | {} | {} | {} | {} | {} / {} | {} | {:.1} min | {:.0} + {:.0} + {:.1} ms |",
        res.arch.name(),
        f(&s.macro_f1),
        f(&s.accuracy),
        f(&s.arousal_sign_accuracy),
        f(&s.valence_sign_accuracy),
        f(&r.valence_ccc),
        f(&r.arousal_ccc),
        res.parameters,
        secs / 60.0,
        cost.decode_ms,
        cost.features_ms,
        cost.network_ms,
    )
}

pub const TABLE_HEAD: &str = "| arch | macro-F1 | accuracy | arousal-sign | valence-sign | CCC valence / arousal | parameters | training, all folds (2 CPU threads) | per 30 s: decode + features + network |\n|---|---|---|---|---|---|---|---|---|";

pub fn run_seed_train(run: SeedRun, out: &mut impl Write) -> Result<()> {
    let SeedRun {
        manifest,
        opts,
        folds,
        no_final,
        out_dir,
        device,
        command,
        json,
    } = run;
    let device = resolve(device)?;
    let started = Instant::now();
    let m = read_checked_manifest(manifest)?;
    let data = seed_data(&m, opts.arch)?;
    eprintln!(
        "{} tracks; {} inputs in {:.0} s",
        data.len(),
        opts.arch.name(),
        started.elapsed().as_secs_f64()
    );
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let threads = tch::get_num_threads();
    let mut summary = serde_json::json!({
        "command": command,
        "arch": opts.arch,
        "tracks": data.len(),
        "threads": threads,
        "out": out_dir.display().to_string(),
    });
    if folds >= 2 {
        let t0 = Instant::now();
        let res = seed_cv(&data, folds, &opts, device, |s| eprintln!("  {s}"))?;
        let cv_secs = t0.elapsed().as_secs_f64();
        let cost = inference_cost(&data, device)?;
        let mut md = String::new();
        let _ = writeln!(
            md,
            "# {}: artist-grouped cross-validation\n\n- command: `{command}`\n- data: {} ({} clips)\n- protocol: {folds} outer folds grouped by artist (the shipped model's outer folds); inside each, one inner artist-grouped validation split chooses the epoch (patience {}) and fits the temperatures\n- {} CPU threads, device {device:?}; cross-validation {:.1} min\n",
            opts.arch.name(),
            manifest.display(),
            data.len(),
            opts.patience,
            threads,
            cv_secs / 60.0,
        );
        let _ = writeln!(md, "{TABLE_HEAD}\n{}\n", table_row(&res, &cost));
        let _ = writeln!(
            md,
            "Per fold (macro-F1, best epoch / epochs run, seconds):\n"
        );
        for (i, f) in res.folds.iter().enumerate() {
            let _ = writeln!(
                md,
                "- fold {}: {:.3}, {} / {}, {:.0} s",
                i + 1,
                f.scored.cls.macro_f1,
                f.best_epoch,
                f.epochs_run,
                f.train_secs
            );
        }
        eprintln!("{md}");
        std::fs::write(out_dir.join("report.md"), &md)?;
        let j = serde_json::json!({
            "command": command,
            "cv_seconds": cv_secs,
            "inference_cost": cost,
            "result": &res,
        });
        std::fs::write(
            out_dir.join("report.json"),
            serde_json::to_string_pretty(&j)?,
        )?;
        summary["cross_validation"] = j;
    }
    if !no_final || folds < 2 {
        let model = train_final(&data, &opts, device)?;
        let dir = out_dir.join("model");
        model.save(&dir)?;
        eprintln!("wrote {}", dir.display());
        summary["model"] = serde_json::json!(dir.display().to_string());
    }
    summary["seconds"] = serde_json::json!(started.elapsed().as_secs_f64());
    if json {
        serde_json::to_writer_pretty(&mut *out, &summary)?;
        writeln!(out)?;
    }
    Ok(())
}
