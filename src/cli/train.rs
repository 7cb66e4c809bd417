//! `valence train` and `valence evaluate`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use tch::Tensor;

use crate::analysis::prepare::{PatchPlan, Preparer};
use crate::analysis::route::{extract_segments, PatchNet};
use crate::analysis::{Control, Engine, EngineOptions};
use crate::library::{scan, Library, ScanOptions};
use crate::model::assets::find_asset;
use crate::model::device::{resolve, DeviceChoice};
use crate::model::emotion::EMOTION_ASSET_DIR;
use crate::model::musicnn::Musicnn;
use crate::model::segments::{FeatureSet, View};
use crate::model::student::Student;
use crate::model::tagger::MUSICNN_ASSET;
use crate::model::vgg::Vgg;
use crate::mood::{argmax, Quadrant};
use crate::train::cache::{weights_key, SegmentCache};
use crate::train::cv::OVERLAP;
use crate::train::manifest::{read_manifest, Manifest};
use crate::train::metrics::{
    ece_noise_floor, reliability, summarize, summarize_regression, Confusion, FoldMetrics, MeanSd,
    RegressionMetrics,
};
use crate::train::{
    load_dataset, nested_cv_per_fold, train_ensemble, Dataset, NestedResult, Scored, TrainOptions,
};

pub(super) fn read_checked_manifest(path: &Path) -> Result<Manifest> {
    let m = read_manifest(path, true)?;
    for w in &m.warnings {
        eprintln!("valence: warning: {w}");
    }
    for b in &m.bad {
        eprintln!("valence: skipped manifest line {}: {}", b.line, b.reason);
    }
    Ok(m)
}

/// Every manifest row's segment features, through the analyser's route (every patch), cached.
/// `views` adds those second pretrained views (each cached apart, `model::segments::View`);
/// `with_shifted` the grid shifted by half a patch (`Dataset::shifted`).
pub(super) fn dataset(
    m: &Manifest,
    device: tch::Device,
    views: &[View],
    with_shifted: bool,
    patch_net: Option<&Path>,
) -> Result<Dataset> {
    let cache_for = |key: String| SegmentCache::new(SegmentCache::default_dir(), key);
    let (net, key): (Box<dyn PatchNet>, String) = match patch_net {
        Some(path) => (Box::new(Student::load(path, device)?), weights_key(path)?),
        None => {
            let path = find_asset(MUSICNN_ASSET)?;
            (Box::new(Musicnn::load(&path, device)?), weights_key(&path)?)
        }
    };
    // A student has no mid-end features to cache.
    let with_mid = patch_net.is_none();
    // The half-shifted grid is cached apart from the usual one (same weights, other patches).
    let shifted_cache = with_shifted.then(|| cache_for(format!("{key}-shift")));
    let cache = cache_for(key);
    let mut shifted = Vec::new();
    let view_nets = views
        .iter()
        .map(|&v| -> Result<(View, Box<dyn PatchNet>, SegmentCache)> {
            let path = find_asset(v.asset())?;
            let net: Box<dyn PatchNet> = if v.is_vgg() {
                Box::new(Vgg::load(&path, device)?)
            } else {
                Box::new(Musicnn::load(&path, device)?)
            };
            Ok((v, net, cache_for(weights_key(&path)?)))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut preparer = Preparer::new()?;
    let batch = if device == tch::Device::Cpu { 1 } else { 64 };
    let bar = ProgressBar::new(m.rows.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("extracting segments");
    let (mut ds, bad) = load_dataset(
        m,
        |p| -> Result<_> {
            // Cached with the mid-end features, so every feature set can be trained.
            let mut f = cache.get_or_extract(
                p,
                |f| !f.desc.is_empty() && (!with_mid || !f.mid.is_empty()),
                |p| -> Result<_> {
                    Ok(extract_segments(
                        &mut preparer,
                        p,
                        net.as_ref(),
                        PatchPlan::new(1),
                        batch,
                        with_mid,
                    )?)
                },
            )?;
            for (v, vnet, vcache) in &view_nets {
                let g = vcache.get_or_extract(
                    p,
                    |g| !g.emb.is_empty(),
                    |p| -> Result<_> {
                        Ok(extract_segments(
                            &mut preparer,
                            p,
                            vnet.as_ref(),
                            PatchPlan::new(1),
                            batch,
                            false,
                        )?)
                    },
                )?;
                anyhow::ensure!(
                    g.emb.len() == f.emb.len(),
                    "the pretrained views disagree on the segment count"
                );
                let rows = g
                    .emb
                    .into_iter()
                    .zip(g.tags)
                    .map(|(mut e, t)| {
                        e.extend(t);
                        e
                    })
                    .collect();
                f.views.insert(*v, rows);
            }
            if let (Some(shifted_cache), false) = (&shifted_cache, f.is_empty()) {
                let g = shifted_cache.get_or_extract(
                    p,
                    |g| !g.desc.is_empty(),
                    |p| -> Result<_> {
                        Ok(extract_segments(
                            &mut preparer,
                            p,
                            net.as_ref(),
                            PatchPlan::new(1).shifted(),
                            batch,
                            false,
                        )?)
                    },
                )?;
                shifted.push(g);
            }
            Ok(f)
        },
        |i, _| bar.set_position(i as u64),
    );
    bar.finish_and_clear();
    ds.shifted = shifted;
    for b in &bad {
        eprintln!("valence: skipped manifest line {}: {}", b.line, b.reason);
    }
    anyhow::ensure!(!ds.is_empty(), "no usable rows in the manifest");
    Ok(ds)
}

/// The second pretrained views `candidates` read (each once).
fn views_of(candidates: &[TrainOptions]) -> Vec<View> {
    let mut v: Vec<View> = candidates
        .iter()
        .filter_map(|c| c.features.view())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The levers `--ablation` measures, each changed alone from `base` (each a full nested CV
/// row), and the candidates the protocol chooses among inside each fold.
fn ablation_variants(base: &TrainOptions) -> Vec<TrainOptions> {
    let mut v = vec![base.clone()];
    for sign_loss in [0.0, 0.1, 0.5] {
        if sign_loss != base.sign_loss {
            v.push(TrainOptions {
                sign_loss,
                ..base.clone()
            });
        }
    }
    v.push(TrainOptions {
        features: if base.features == FeatureSet::AllMid {
            FeatureSet::All
        } else {
            FeatureSet::AllMid
        },
        ..base.clone()
    });
    // The second pretrained views, where their converted weights are installed.
    for features in [
        FeatureSet::AllMtt,
        FeatureSet::AllMsdVgg,
        FeatureSet::AllMttVgg,
    ] {
        let installed = features
            .view()
            .is_some_and(|v| find_asset(v.asset()).is_ok());
        if base.features != features && installed {
            v.push(TrainOptions {
                features,
                ..base.clone()
            });
        }
    }
    v.push(TrainOptions {
        confidence_weight: !base.confidence_weight,
        ..base.clone()
    });
    v.push(TrainOptions {
        mixup: if base.mixup > 0.0 { 0.0 } else { 0.4 },
        ..base.clone()
    });
    v.push(TrainOptions {
        center_loss: if base.center_loss > 0.0 { 0.0 } else { 0.1 },
        ..base.clone()
    });
    v.push(TrainOptions {
        stat_pool: !base.stat_pool,
        ..base.clone()
    });
    v
}

fn row_md(out: &mut String, name: &str, folds: &[&Scored]) {
    let cls: Vec<FoldMetrics> = folds.iter().map(|s| s.cls.clone()).collect();
    let reg: Vec<RegressionMetrics> = folds.iter().map(|s| s.reg.clone()).collect();
    let s = summarize(&cls);
    let r = summarize_regression(&reg);
    let f = |m: &MeanSd| m.show(true);
    let _ = writeln!(
        out,
        "| {name} | {} | {} | {} | {} | {} / {} | {} / {} | {:.2} / {:.2} | {} |",
        f(&s.macro_f1),
        f(&s.accuracy),
        f(&s.arousal_sign_accuracy),
        f(&s.valence_sign_accuracy),
        f(&r.valence_r),
        f(&r.arousal_r),
        f(&r.valence_ccc),
        f(&r.arousal_ccc),
        r.valence_sd_ratio.mean,
        r.arousal_sd_ratio.mean,
        f(&r.ece),
    );
}

const TABLE_HEAD: &str = "| variant | macro-F1 | accuracy | arousal-sign | valence-sign | r valence / arousal | CCC valence / arousal | sd ratio v / a | ECE (15 bins) |\n|---|---|---|---|---|---|---|---|---|\n";

fn report_md(res: &NestedResult, ds: &Dataset, command: &str, manifest: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Valence emotion model: nested artist-grouped cross-validation\n"
    );
    let _ = writeln!(out, "- command: `{command}`");
    let _ = writeln!(
        out,
        "- data: {} ({} tracks, {} artists)",
        manifest.display(),
        ds.len(),
        {
            let mut g = ds.groups.clone();
            g.sort();
            g.dedup();
            g.len()
        }
    );
    let _ = writeln!(
        out,
        "- protocol: {} outer folds grouped by artist; inside each, artist-grouped inner folds train the ensemble members (early stopping on their inner validation artists), choose the variant by out-of-fold score and fit the temperatures; figures are outer-fold mean ± sd\n",
        res.folds.len()
    );
    let _ = writeln!(
        out,
        "## Selected inside each fold, and the baseline (every segment)\n"
    );
    out.push_str(TABLE_HEAD);
    row_md(&mut out, "**selected per fold**", &res.selected(1));
    let base: Vec<&Scored> = res.baseline.iter().map(|(s, _)| s).collect();
    row_md(&mut out, "logistic regression, mean+max emb + desc", &base);
    let chosen: Vec<String> = res
        .chosen
        .iter()
        .map(|&c| res.candidates[c].clone())
        .collect();
    let _ = writeln!(out, "\nChosen per fold: {}.", chosen.join("; "));
    let l2: Vec<String> = res.baseline.iter().map(|(_, l)| format!("{l}")).collect();
    let _ = writeln!(out, "Baseline L2 per fold: {}.\n", l2.join(", "));
    if res.candidates.len() > 1 {
        let _ = writeln!(
            out,
            "## Ablation: each variant on its own (every segment)\n"
        );
        out.push_str(TABLE_HEAD);
        for (c, name) in res.candidates.iter().enumerate() {
            row_md(&mut out, name, &res.candidate(c, 1));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "## The analyser's stride (segments a strided analysis keeps)\n"
    );
    out.push_str(TABLE_HEAD);
    for &s in &res.strides {
        let name = if s == OVERLAP {
            "overlapping patches: every segment + the half-shifted grid (1.5 s apart)".to_string()
        } else {
            format!("stride {s} ({:.1} s per timeline point)", s as f64 * 2.992)
        };
        row_md(&mut out, &name, &res.selected(s));
    }
    let conf: Vec<(f64, bool)> = res
        .selected(1)
        .iter()
        .flat_map(|s| s.confidences.iter().copied())
        .collect();
    let (c, ok): (Vec<f64>, Vec<bool>) = conf.into_iter().unzip();
    let rel = reliability(&c, &ok, 15);
    let per_fold_floor: Vec<f64> = res
        .selected(1)
        .iter()
        .map(|s| {
            let c: Vec<f64> = s.confidences.iter().map(|x| x.0).collect();
            ece_noise_floor(&c, 15, 200)
        })
        .collect();
    let _ = writeln!(
        out,
        "\n## Calibration (selected, every segment, outer test folds pooled)\n\nECE {:.3} pooled over {} clips; a perfectly calibrated model with the same confidences would show {:.3} (sampling noise, 200 simulated label sets), and {:.3} per fold (mean). Bins (mean confidence, accuracy, count):\n",
        rel.ece,
        c.len(),
        ece_noise_floor(&c, 15, 200),
        MeanSd::of(&per_fold_floor).mean
    );
    for (mc, ma, n) in rel.bins.iter().filter(|b| b.2 > 0) {
        let _ = writeln!(out, "- {mc:.2}: {ma:.2} ({n})");
    }
    let mut pooled = Confusion::default();
    for s in res.selected(1) {
        pooled.add(&s.cls.confusion_matrix());
    }
    let _ = writeln!(
        out,
        "\n## Pooled confusion (selected; rows true Q1..Q4, columns predicted)\n"
    );
    for (q, row) in Quadrant::ALL.iter().zip(pooled.m.iter()) {
        let _ = writeln!(out, "- {q} {}: {row:?}", q.label());
    }
    out
}

/// A reliability diagram: accuracy against confidence per bin, with the diagonal.
fn reliability_png(conf: &[(f64, bool)], path: &Path) -> Result<()> {
    let (c, ok): (Vec<f64>, Vec<bool>) = conf.iter().copied().unzip();
    let rel = reliability(&c, &ok, 15);
    let (w, h, m) = (420u32, 420u32, 30u32);
    let mut img = image::RgbImage::from_pixel(w, h, image::Rgb([255, 255, 255]));
    let plot = (w - 2 * m) as f64;
    let px = |x: f64| m + (x.clamp(0.0, 1.0) * plot) as u32;
    let py = |y: f64| h - m - (y.clamp(0.0, 1.0) * plot) as u32;
    // Bars: accuracy per bin (blue), gap to the bin's mean confidence (vermillion).
    let nb = rel.bins.len().max(1);
    for (i, &(mc, ma, n)) in rel.bins.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let x0 = px(i as f64 / nb as f64) + 1;
        let x1 = px((i + 1) as f64 / nb as f64).saturating_sub(1);
        for x in x0..=x1.max(x0) {
            for y in py(ma)..=py(0.0).saturating_sub(1) {
                img.put_pixel(x, y, image::Rgb([0, 114, 178]));
            }
            let (lo, hi) = if mc > ma { (mc, ma) } else { (ma, mc) };
            for y in py(lo)..py(hi) {
                img.put_pixel(x, y, image::Rgb([213, 94, 0]));
            }
        }
    }
    // Axes and the diagonal.
    for t in 0..=plot as u32 {
        img.put_pixel(m + t, h - m, image::Rgb([0, 0, 0]));
        img.put_pixel(m, h - m - t, image::Rgb([0, 0, 0]));
        img.put_pixel(m + t, h - m - t, image::Rgb([120, 120, 120]));
    }
    img.save(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// A student's weights in a model folder trained on its outputs (`EmotionConfig::patch_net`).
const STUDENT_FILE: &str = "student.safetensors";

/// What `valence train` was asked to do.
pub struct TrainRun<'a> {
    pub manifest: &'a Path,
    pub opts: TrainOptions,
    /// Outer folds (0: no cross-validation, only the shipped-style model).
    pub folds: usize,
    pub ablation: bool,
    pub strides: &'a [usize],
    /// Also score overlapping patches (extracts the half-shifted grid).
    pub overlap: bool,
    pub out_dir: &'a Path,
    pub device: DeviceChoice,
    /// A distilled student to read the segments' embedding and tags from.
    pub patch_net: Option<&'a Path>,
    /// The command line, for the report.
    pub command: &'a str,
    /// A JSON summary on stdout (the report itself goes to stderr and the files either way).
    pub json: bool,
}

pub fn run_train(run: TrainRun, out: &mut impl Write) -> Result<()> {
    let TrainRun {
        manifest,
        opts,
        folds,
        ablation,
        strides,
        overlap,
        patch_net,
        out_dir,
        device,
        command,
        json,
    } = run;
    let device = resolve(device)?;
    let started = Instant::now();
    let m = read_checked_manifest(manifest)?;
    let candidates = if ablation {
        ablation_variants(&opts)
    } else {
        vec![opts.clone()]
    };
    let views = views_of(&candidates);
    // A folder of per-fold students: outer fold i reads fold i's student's features.
    let per_fold: Vec<Dataset> = match patch_net {
        Some(dir) if dir.is_dir() => fold_students(dir, folds)?
            .iter()
            .map(|s| dataset(&m, device, &views, overlap, Some(s)))
            .collect::<Result<_>>()?,
        _ => vec![dataset(&m, device, &views, overlap, patch_net)?],
    };
    let ds = &per_fold[0];
    eprintln!(
        "{} tracks; features in {:.0} s",
        ds.len(),
        started.elapsed().as_secs_f64()
    );
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let log = |s: &str| eprintln!("  {s}");
    let mut files = Vec::new();
    let mut cv = None;
    if folds >= 2 {
        let t0 = Instant::now();
        let res = nested_cv_per_fold(
            &per_fold,
            folds,
            &candidates,
            strides,
            device,
            opts.seed,
            log,
        )?;
        let md = report_md(&res, ds, command, manifest);
        eprintln!("{md}");
        std::fs::write(out_dir.join("report.md"), &md)?;
        std::fs::write(
            out_dir.join("report.json"),
            serde_json::to_string_pretty(&serde_json::json!({
                "command": command,
                "cv_seconds": t0.elapsed().as_secs_f64(),
                "result": &res,
            }))?,
        )?;
        let conf: Vec<(f64, bool)> = res
            .selected(1)
            .iter()
            .flat_map(|s| s.confidences.iter().copied())
            .collect();
        reliability_png(&conf, &out_dir.join("reliability.png"))?;
        files.extend(["report.md", "report.json", "reliability.png"]);
        cv = Some(res);
    }
    // The `--json` summary: the final candidates' scores and the chosen one, if any.
    let summary = |out: &mut dyn Write, scores: &[serde_json::Value], chosen: Option<&str>| {
        let j = serde_json::json!({
            "command": command,
            "out": out_dir.display().to_string(),
            "tracks": ds.len(),
            "report_files": files,
            "final": scores,
            "chosen": chosen,
            "seconds": started.elapsed().as_secs_f64(),
            // null without cross-validation (`--folds` below 2); else report.json's result.
            "cross_validation": cv,
        });
        serde_json::to_writer_pretty(&mut *out, &j)?;
        writeln!(out)?;
        anyhow::Ok(())
    };
    if per_fold.len() > 1 {
        // Each fold's student left that fold's audio out; none fits a model on all rows.
        eprintln!("per-fold students: cross-validation only, no model on all rows");
        if json {
            summary(out, &[], None)?;
        }
        return Ok(());
    }
    // The shipped model: the same procedure on every row (the variant with the best
    // out-of-fold score when there are several).
    let all: Vec<usize> = (0..ds.len()).collect();
    let mut best: Option<(String, crate::train::Ensemble)> = None;
    let mut scores = Vec::new();
    for c in &candidates {
        let e = train_ensemble(ds, &all, c, device, opts.seed)?;
        eprintln!("  final {}: OOF score {:.3}", c.name(), e.oof_score);
        scores.push(serde_json::json!({ "candidate": c.name(), "oof_score": e.oof_score }));
        if best.as_ref().is_none_or(|(_, b)| e.oof_score > b.oof_score) {
            best = Some((c.name(), e));
        }
    }
    let (chosen, mut best) = best.context("no candidate")?;
    if let Some(student) = patch_net {
        // The model travels with the student it was trained on, and its version names it,
        // so results of another patch network are never mixed with its own.
        std::fs::copy(student, out_dir.join(STUDENT_FILE))
            .with_context(|| format!("copying {}", student.display()))?;
        best.model.cfg.patch_net = Some(STUDENT_FILE.into());
        best.model.cfg.version = format!(
            "{}-student-{}",
            best.model.cfg.version,
            weights_key(student)?
        );
    }
    best.model.save(out_dir)?;
    eprintln!(
        "wrote {} ({:.0} s in all)",
        out_dir.display(),
        started.elapsed().as_secs_f64()
    );
    if json {
        summary(out, &scores, Some(&chosen))?;
    }
    Ok(())
}

/// The students of `valence distill --per-fold k` under `dir`: `fold1..foldk/student.safetensors`,
/// exactly `k` of them.
fn fold_students(dir: &Path, k: usize) -> Result<Vec<PathBuf>> {
    anyhow::ensure!(
        k >= 2,
        "{}: per-fold students need cross-validation (--folds {k})",
        dir.display()
    );
    anyhow::ensure!(
        !dir.join(format!("fold{}", k + 1)).exists(),
        "{} holds more than {k} folds' students: pass the --folds it was distilled for",
        dir.display()
    );
    (1..=k)
        .map(|i| {
            let p = dir.join(format!("fold{i}")).join("student.safetensors");
            anyhow::ensure!(
                p.is_file(),
                "{}: no student (run `valence distill --per-fold {k}`)",
                p.display()
            );
            Ok(p)
        })
        .collect()
}

/// The shipped emotion model folder.
pub fn default_model_dir() -> Result<PathBuf> {
    let cfg = find_asset(&format!("{EMOTION_ASSET_DIR}/config.json"))?;
    Ok(cfg.parent().map(|p| p.to_path_buf()).unwrap_or_default())
}

/// One manifest row as `valence analyze` stored it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EvaluatedTrack {
    pub path: PathBuf,
    pub label: Quadrant,
    pub predicted: Option<Quadrant>,
    pub probs: [f32; 4],
    pub valence: f32,
    pub arousal: f32,
    pub error: Option<String>,
}

/// Scores a model on a labelled manifest by running the library analyser itself (scan into
/// a fresh library of links to the manifest's files, `Engine::run` with `stride`, read back
/// what was stored), so it scores exactly what `valence analyze` gives users.
pub fn run_evaluate(
    model_dir: Option<&Path>,
    manifest: &Path,
    stride: usize,
    json: bool,
    device: DeviceChoice,
    out: &mut impl Write,
) -> Result<()> {
    let dir = match model_dir {
        Some(d) => d.to_path_buf(),
        None => default_model_dir()?,
    };
    let m = read_checked_manifest(manifest)?;
    let tmp = tempfile::tempdir().context("creating a temporary library")?;
    let music = tmp.path().join("music");
    std::fs::create_dir_all(&music)?;
    let mut by_link: HashMap<PathBuf, usize> = HashMap::new();
    for (i, row) in m.rows.iter().enumerate() {
        let ext = row
            .path
            .extension()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default();
        let link = music.join(format!("{i:06}.{ext}"));
        let target = row.path.canonicalize().unwrap_or_else(|_| row.path.clone());
        std::os::unix::fs::symlink(&target, &link)
            .with_context(|| format!("linking {}", row.path.display()))?;
        by_link.insert(link, i);
    }
    let db = tmp.path().join("eval.sqlite3");
    let mut lib = Library::open(&db)?;
    scan(
        &mut lib,
        std::slice::from_ref(&music),
        &ScanOptions::default(),
    )?;
    let musicnn = find_asset(MUSICNN_ASSET)?;
    let engine = Engine::load_from(
        &musicnn,
        &dir,
        EngineOptions {
            device,
            stride,
            ..EngineOptions::default()
        },
    )?;
    let control = Control::new();
    engine.run(&db, &control, |_| {})?;
    let version = engine.version().clone();
    let music_canon = music.canonicalize().unwrap_or(music);
    let mut tracks = Vec::new();
    for t in lib.tracks()? {
        let key = music_canon.join(t.path.file_name().unwrap_or_default());
        let Some(&i) = by_link.get(&key).or_else(|| by_link.get(&t.path)) else {
            continue;
        };
        let row = &m.rows[i];
        let a = lib.analysis(t.id, &version)?;
        let (predicted, probs, valence, arousal, error) =
            match a.as_ref().and_then(|a| a.data.as_ref()) {
                Some(d) => (Some(d.quadrant()), d.probs, d.valence, d.arousal, None),
                None => (
                    None,
                    [0.0; 4],
                    0.0,
                    0.0,
                    Some(
                        a.and_then(|a| a.error)
                            .or(t.error.clone())
                            .unwrap_or_else(|| "not analysed".into()),
                    ),
                ),
            };
        tracks.push((
            i,
            EvaluatedTrack {
                path: row.path.clone(),
                label: row.quadrant,
                predicted,
                probs,
                valence,
                arousal,
                error,
            },
        ));
    }
    tracks.sort_by_key(|(i, _)| *i);
    let ok: Vec<&(usize, EvaluatedTrack)> = tracks
        .iter()
        .filter(|(_, t)| t.predicted.is_some())
        .collect();
    let truth: Vec<usize> = ok.iter().map(|(_, t)| t.label.index()).collect();
    let pred: Vec<usize> = ok
        .iter()
        .map(|(_, t)| t.predicted.map(|q| q.index()).unwrap_or(0))
        .collect();
    let fm = FoldMetrics::from_confusion(0, &Confusion::from_pairs(&truth, &pred));
    let with_targets: Vec<&(usize, EvaluatedTrack)> = ok
        .iter()
        .copied()
        .filter(|(i, _)| m.rows[*i].valence.is_some() && m.rows[*i].arousal.is_some())
        .collect();
    let pts: Vec<[f64; 2]> = with_targets
        .iter()
        .map(|(_, t)| [t.valence as f64, t.arousal as f64])
        .collect();
    let tg: Vec<[f64; 2]> = with_targets
        .iter()
        .map(|(i, _)| {
            [
                m.rows[*i].valence.unwrap_or(0.0) as f64,
                m.rows[*i].arousal.unwrap_or(0.0) as f64,
            ]
        })
        .collect();
    let conf: Vec<f64> = ok
        .iter()
        .map(|(_, t)| t.probs[argmax(&t.probs)] as f64)
        .collect();
    let right: Vec<bool> = ok
        .iter()
        .map(|(_, t)| Some(argmax(&t.probs)) == Some(t.label.index()))
        .collect();
    let reg = RegressionMetrics::new(&pts, &tg, &conf, &right);
    let failed = tracks.len() - ok.len();
    if json {
        serde_json::to_writer_pretty(
            &mut *out,
            &serde_json::json!({
                "model": dir,
                "model_version": version.model,
                "manifest": manifest,
                "stride": stride,
                "classification": fm,
                "regression": reg,
                "failed": failed,
                "tracks": tracks.iter().map(|(_, t)| t).collect::<Vec<_>>(),
            }),
        )?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{} on {} ({} tracks, {} failed; analyser stride {stride})",
            version.model,
            manifest.display(),
            ok.len(),
            failed
        )?;
        writeln!(
            out,
            "macro-F1 {:.3}  accuracy {:.3}  arousal-sign {:.3}  valence-sign {:.3}",
            fm.macro_f1, fm.accuracy, fm.arousal_sign_accuracy, fm.valence_sign_accuracy
        )?;
        if !pts.is_empty() {
            writeln!(
                out,
                "valence r {:.3} CCC {:.3} sd ratio {:.2}; arousal r {:.3} CCC {:.3} sd ratio {:.2}; ECE {:.3}",
                reg.valence_r,
                reg.valence_ccc,
                reg.valence_sd_ratio,
                reg.arousal_r,
                reg.arousal_ccc,
                reg.arousal_sd_ratio,
                reg.ece
            )?;
        }
    }
    Ok(())
}

/// What `valence distill` runs besides its options: one student or one per outer fold, and
/// the earlier run (its `--out`) to warm-start from.
pub struct DistillJob<'a> {
    pub per_fold: Option<usize>,
    pub init: Option<&'a Path>,
}

/// The student file of an earlier run to warm-start from: `dir/fold{i}/` with `--per-fold`,
/// else `dir` itself when it is a file, or `dir/student.safetensors`.
fn init_student(dir: Option<&Path>, fold: Option<usize>) -> Result<Option<PathBuf>> {
    let Some(dir) = dir else { return Ok(None) };
    let path = match fold {
        Some(i) => dir.join(format!("fold{i}")).join("student.safetensors"),
        None if dir.is_file() => dir.to_path_buf(),
        None => dir.join("student.safetensors"),
    };
    anyhow::ensure!(
        path.is_file(),
        "--init: no {} (pass the --out of an earlier `valence distill` with the same --per-fold)",
        path.display()
    );
    Ok(Some(path))
}

/// `valence distill`: the teacher's outputs on every patch of both grids (from the training
/// cache), the patches again from the analyser's route, then `train::distill`. With
/// `job.per_fold = Some(k)`, one student per outer fold of `valence train --folds k --seed S`
/// (`S` = `opts.seed`), each on that fold's training clips only, into `out_dir/fold{i}/`; a
/// fold whose student is already there is kept, so an interrupted run resumes. With
/// `job.init`, each student starts from the earlier run's student of the same fold.
pub fn run_distill(
    manifest: &Path,
    out_dir: &Path,
    mut opts: crate::train::distill::DistillOptions,
    job: DistillJob,
    device: DeviceChoice,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    use crate::features::musicnn_input::{N_MELS, PATCH_FRAMES};
    let device = resolve(device)?;
    let started = Instant::now();
    let m = read_checked_manifest(manifest)?;
    let ds = dataset(&m, device, &[], true, None)?;
    let mut preparer = Preparer::new()?;
    let (mut patches, mut emb, mut tags, mut clip) = (
        Vec::<f32>::new(),
        Vec::<f32>::new(),
        Vec::<f32>::new(),
        Vec::new(),
    );
    let stop = std::sync::atomic::AtomicBool::new(false);
    for (i, path) in ds.paths.iter().enumerate() {
        let grids = [
            (PatchPlan::new(1), ds.feats.get(i)),
            (PatchPlan::new(1).shifted(), ds.shifted.get(i)),
        ];
        for (plan, teacher) in grids {
            let Some(teacher) = teacher else { continue };
            let p = preparer.prepare(path, plan, &stop)?;
            if p.patch_index.len() != teacher.emb.len() {
                eprintln!(
                    "valence: {}: patch count differs from the cache; skipped",
                    path.display()
                );
                continue;
            }
            patches.extend_from_slice(&p.patches);
            emb.extend(teacher.emb.iter().flatten());
            tags.extend(teacher.tags.iter().flatten());
            clip.extend(std::iter::repeat_n(i, teacher.emb.len()));
        }
    }
    let n = clip.len() as i64;
    anyhow::ensure!(n > 0, "no patches");
    let data = crate::train::distill::DistillData {
        patches: Tensor::f_from_slice(&patches)?.f_reshape([
            n,
            PATCH_FRAMES as i64,
            N_MELS as i64,
        ])?,
        emb: Tensor::f_from_slice(&emb)?.f_reshape([n, -1])?,
        tags: Tensor::f_from_slice(&tags)?.f_reshape([n, -1])?,
        clip,
    };
    drop(patches);
    eprintln!(
        "{n} patches from {} clips ({:.0} s)",
        ds.len(),
        started.elapsed().as_secs_f64()
    );
    let Some(k) = job.per_fold else {
        opts.init = init_student(job.init, None)?;
        let (student, report, j) = distill_one(&data, &opts, device, out_dir, manifest, None)?;
        return write_distilled(&student, &report, &j, json, out);
    };
    let folds = crate::train::folds::grouped_folds(&ds.groups, &ds.labels, k, opts.seed)?;
    let mut all = Vec::new();
    for (fi, fold) in folds.iter().enumerate() {
        let dir = out_dir.join(format!("fold{}", fi + 1));
        let (student, report_path) = (dir.join("student.safetensors"), dir.join("report.json"));
        let j = if student.is_file() && report_path.is_file() {
            eprintln!("fold {}/{k}: {} is there; kept", fi + 1, student.display());
            std::fs::read_to_string(&report_path)?
        } else {
            eprintln!(
                "fold {}/{k}: distilling on {} training clips ({} held out as the fold's test)",
                fi + 1,
                fold.train.len(),
                fold.test.len()
            );
            opts.init = init_student(job.init, Some(fi + 1))?;
            let sub = data.subset(&fold.train)?;
            let (student, report, j) =
                distill_one(&sub, &opts, device, &dir, manifest, Some(&fold.test))?;
            write_distilled(&student, &report, &j, false, &mut std::io::stderr())?;
            j
        };
        all.push(serde_json::from_str::<serde_json::Value>(&j)?);
    }
    if json {
        serde_json::to_writer_pretty(&mut *out, &serde_json::json!({ "folds": all }))?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "wrote {k} students under {} (fold1..fold{k}); `valence train --patch-net {}` \
             reads fold i's features from fold i's student",
            out_dir.display(),
            out_dir.display()
        )?;
    }
    Ok(())
}

/// Distils one student on `data` into `dir`: the student's path, the report and the JSON
/// written to `dir/report.json` (with the clips held out as an outer test fold, if any).
fn distill_one(
    data: &crate::train::distill::DistillData,
    opts: &crate::train::distill::DistillOptions,
    device: tch::Device,
    dir: &Path,
    manifest: &Path,
    test_fold: Option<&[usize]>,
) -> Result<(PathBuf, crate::train::distill::DistillReport, String)> {
    let t0 = Instant::now();
    let (vs, report) = crate::train::distill::distill(data, opts, device, |s| eprintln!("  {s}"))?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let student = dir.join("student.safetensors");
    // Written under a temporary name first: a fold is "done" only once both files exist.
    // The name keeps the extension: tch picks the file format by it.
    let part = dir.join("student.part.safetensors");
    vs.save(&part)?;
    std::fs::rename(&part, &student)?;
    let j = serde_json::to_string_pretty(&serde_json::json!({
        "manifest": manifest.display().to_string(),
        "student": student.display().to_string(),
        "seconds": t0.elapsed().as_secs_f64(),
        "excluded_test_rows": test_fold.map(<[usize]>::len),
        "init": opts.init.as_ref().map(|p| p.display().to_string()),
        "lr": opts.lr,
        "report": &report,
    }))?;
    std::fs::write(dir.join("report.json"), &j)?;
    Ok((student, report, j))
}

fn write_distilled(
    student: &Path,
    report: &crate::train::distill::DistillReport,
    j: &str,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    if json {
        writeln!(out, "{j}")?;
    } else {
        writeln!(
            out,
            "wrote {}: epoch {} of {}, held-out loss {:.4}; held out, the embedding's R² {:.3}, \
             the tags' mean r {:.3}",
            student.display(),
            report.best_epoch,
            report.epochs.len(),
            report
                .epochs
                .get(report.best_epoch.saturating_sub(1))
                .map_or(f64::NAN, |e| e.val_loss),
            report.val_emb_r2,
            report.val_tag_r,
        )?;
    }
    Ok(())
}
