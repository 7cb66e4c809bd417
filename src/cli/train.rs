//! `valence train` and `valence evaluate`.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::model::assets::find_asset;
use crate::model::device::{resolve, DeviceChoice};
use crate::model::emotion::{argmax, Arch, EmotionModel, EMOTION_ASSET_DIR};
use crate::model::manifest::{read_manifest, Manifest};
use crate::model::metrics::{summarize, Confusion, FoldMetrics, Report};
use crate::model::musicnn::Musicnn;
use crate::model::segments::{fnv1a, FeatureSet, SegmentCache};
use crate::model::tagger::MUSICNN_ASSET;
use crate::model::train::{cross_validate, fit, load_dataset, Dataset, TrainOptions};

fn load_musicnn(device: tch::Device) -> Result<(Musicnn, SegmentCache)> {
    let path = find_asset(MUSICNN_ASSET)?;
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let key = format!("{:08x}", fnv1a(&bytes) as u32);
    let net = Musicnn::load(&path, device)?;
    Ok((net, SegmentCache::new(SegmentCache::default_dir(), key)))
}

fn read_checked_manifest(path: &Path) -> Result<Manifest> {
    let m = read_manifest(path, true)?;
    for w in &m.warnings {
        eprintln!("valence: warning: {w}");
    }
    for b in &m.bad {
        eprintln!("valence: skipped manifest line {}: {}", b.line, b.reason);
    }
    Ok(m)
}

fn dataset(m: &Manifest, device: tch::Device) -> Result<Dataset> {
    let (net, cache) = load_musicnn(device)?;
    let bar = ProgressBar::new(m.rows.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("extracting segments");
    let (ds, bad) = load_dataset(m, &cache, &net, |i, _| bar.set_position(i as u64));
    bar.finish_and_clear();
    for b in &bad {
        eprintln!("valence: skipped manifest line {}: {}", b.line, b.reason);
    }
    anyhow::ensure!(!ds.labels.is_empty(), "no usable rows in the manifest");
    Ok(ds)
}

fn variant_name(o: &TrainOptions) -> String {
    let arch = match o.arch {
        Arch::Logreg => "logreg",
        Arch::Attn => "attn",
        Arch::BigruAttn => "bigru_attn",
    };
    let feats = match o.features {
        FeatureSet::Emb => "emb",
        FeatureSet::EmbTags => "emb+tags",
        FeatureSet::EmbDesc => "emb+desc",
        FeatureSet::All => "emb+tags+desc",
    };
    format!(
        "{arch} / {feats}{}{}",
        if o.augment { "" } else { " / no augment" },
        if o.label_smoothing > 0.0 {
            format!(" / smoothing {}", o.label_smoothing)
        } else {
            String::new()
        }
    )
}

fn ablation_variants(base: &TrainOptions) -> Vec<TrainOptions> {
    let mut v = Vec::new();
    for arch in [Arch::Logreg, Arch::Attn] {
        v.push(TrainOptions {
            arch,
            ..base.clone()
        });
    }
    for features in [FeatureSet::EmbTags, FeatureSet::All] {
        v.push(TrainOptions {
            features,
            ..base.clone()
        });
    }
    v.push(TrainOptions {
        augment: !base.augment,
        ..base.clone()
    });
    v
}

pub fn run_train(
    manifest: &Path,
    opts: TrainOptions,
    folds: usize,
    ablation: bool,
    out_dir: &Path,
    device: DeviceChoice,
    command: &str,
) -> Result<()> {
    let device = resolve(device)?;
    let started = Instant::now();
    let m = read_checked_manifest(manifest)?;
    let ds = dataset(&m, device)?;
    eprintln!(
        "{} tracks, {} artists, classes {:?}; features extracted in {:.0} s",
        ds.labels.len(),
        {
            let mut g = ds.groups.clone();
            g.sort();
            g.dedup();
            g.len()
        },
        (0..4)
            .map(|c| ds.labels.iter().filter(|&&l| l == c).count())
            .collect::<Vec<_>>(),
        started.elapsed().as_secs_f64()
    );
    let log = |s: &str| eprintln!("  {s}");
    let mut final_epochs = opts.epochs;
    let mut extra = serde_json::json!({
        "options": &opts,
        "device": format!("{device:?}"),
        "skipped_rows": m.bad.len(),
    });
    if folds >= 2 {
        eprintln!(
            "cross-validating {} ({folds} folds, grouped by artist)",
            variant_name(&opts)
        );
        let t0 = Instant::now();
        let cv = cross_validate(&ds, folds, &opts, device, log)?;
        let mut be = cv.best_epochs.clone();
        be.sort_unstable();
        final_epochs = be[be.len() / 2].max(1);
        let summary = summarize(&cv.folds);
        eprintln!(
            "  mean macro-F1 {:.3} +- {:.3}, accuracy {:.3}, arousal-sign {:.3}, valence-sign {:.3} ({:.0} s)",
            summary.macro_f1.mean,
            summary.macro_f1.sd,
            summary.accuracy.mean,
            summary.arousal_sign_accuracy.mean,
            summary.valence_sign_accuracy.mean,
            t0.elapsed().as_secs_f64()
        );
        let mut stride_rows = Vec::new();
        for (stride, f) in &cv.by_stride {
            let s = summarize(f);
            eprintln!(
                "  stride {stride} (segments {:?} of 10): macro-F1 {:.3} +- {:.3}, accuracy {:.3}, arousal-sign {:.3}, valence-sign {:.3}",
                crate::model::segments::strided_segments(10, *stride),
                s.macro_f1.mean,
                s.macro_f1.sd,
                s.accuracy.mean,
                s.arousal_sign_accuracy.mean,
                s.valence_sign_accuracy.mean
            );
            stride_rows.push(serde_json::json!({"stride": stride, "summary": s}));
        }
        if !stride_rows.is_empty() {
            extra["eval_strides"] = serde_json::json!(stride_rows);
        }
        extra["best_epochs"] = serde_json::json!(cv.best_epochs);
        extra["cv_seconds"] = serde_json::json!(t0.elapsed().as_secs_f64());
        let mut rows = vec![(variant_name(&opts), summary.clone())];
        if ablation {
            for v in ablation_variants(&opts) {
                eprintln!("cross-validating {}", variant_name(&v));
                let cv = cross_validate(&ds, folds, &v, device, log)?;
                let s = summarize(&cv.folds);
                eprintln!(
                    "  mean macro-F1 {:.3} +- {:.3}, arousal-sign {:.3}, valence-sign {:.3}",
                    s.macro_f1.mean,
                    s.macro_f1.sd,
                    s.arousal_sign_accuracy.mean,
                    s.valence_sign_accuracy.mean
                );
                rows.push((variant_name(&v), s));
            }
        }
        extra["ablation"] = serde_json::json!(rows
            .iter()
            .map(|(n, s)| serde_json::json!({"variant": n, "summary": s}))
            .collect::<Vec<_>>());
        let report = Report {
            title: format!("Valence emotion model: {}", variant_name(&opts)),
            command: command.to_string(),
            data: format!(
                "{} ({} usable rows of {})",
                manifest.display(),
                ds.labels.len(),
                m.rows.len() + m.bad.len()
            ),
            split: format!(
                "{folds}-fold cross-validation grouped by artist (no artist on both sides), \
                 stratified by quadrant; early stopping on 15 % of each training fold's artists"
            ),
            folds: cv.folds,
            summary,
            extra: extra.clone(),
        };
        report.write(out_dir)?;
        if rows.len() > 1 {
            let mut md = std::fs::read_to_string(out_dir.join("report.md")).unwrap_or_default();
            md.push_str("\n## Ablation (same folds)\n\n| variant | macro-F1 | accuracy | arousal-sign acc. | valence-sign acc. |\n|---|---|---|---|---|\n");
            for (n, s) in &rows {
                md.push_str(&format!(
                    "| {n} | {:.3} ± {:.3} | {:.3} ± {:.3} | {:.3} ± {:.3} | {:.3} ± {:.3} |\n",
                    s.macro_f1.mean,
                    s.macro_f1.sd,
                    s.accuracy.mean,
                    s.accuracy.sd,
                    s.arousal_sign_accuracy.mean,
                    s.arousal_sign_accuracy.sd,
                    s.valence_sign_accuracy.mean,
                    s.valence_sign_accuracy.sd
                ));
            }
            std::fs::write(out_dir.join("report.md"), md)?;
        }
    }
    eprintln!(
        "training the final model on all {} tracks for {final_epochs} epochs",
        ds.labels.len()
    );
    let all: Vec<usize> = (0..ds.labels.len()).collect();
    let (model, _, _) = fit(&ds, &all, &[], &opts, device, final_epochs)?;
    model.save(out_dir)?;
    eprintln!(
        "wrote {} ({:.0} s in all)",
        out_dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The shipped emotion model folder.
pub fn default_model_dir() -> Result<std::path::PathBuf> {
    let cfg = find_asset(&format!("{EMOTION_ASSET_DIR}/config.json"))?;
    Ok(cfg.parent().map(|p| p.to_path_buf()).unwrap_or_default())
}

pub fn run_evaluate(
    model_dir: Option<&Path>,
    manifest: &Path,
    json: bool,
    device: DeviceChoice,
    out: &mut impl Write,
) -> Result<()> {
    let device = resolve(device)?;
    let dir = match model_dir {
        Some(d) => d.to_path_buf(),
        None => default_model_dir()?,
    };
    let model = EmotionModel::load(&dir, device)?;
    let m = read_checked_manifest(manifest)?;
    let ds = dataset(&m, device)?;
    let pred: Vec<usize> = ds
        .feats
        .iter()
        .map(|f| model.predict(f).map(|e| argmax(&e.probs)))
        .collect::<Result<_, _>>()?;
    let fm = FoldMetrics::from_confusion(0, &Confusion::from_pairs(&ds.labels, &pred));
    let report = Report {
        title: format!("Evaluation of {} ({})", dir.display(), model.cfg.version),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        data: format!("{} ({} tracks)", manifest.display(), ds.labels.len()),
        split: "all rows of the manifest (the model must not have been trained on them)".into(),
        folds: vec![fm.clone()],
        summary: summarize(std::slice::from_ref(&fm)),
        extra: serde_json::Value::Null,
    };
    if json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", report.to_markdown())?;
    }
    Ok(())
}
