//! `valence scenes` (the library's theme scenes: fit when due or asked, fold new tracks in,
//! list), `valence scenes codebook` (fit the audio-word codebook on a manifest's clips) and
//! `valence scenes evaluate` (the scene figures on labelled clips, held out by artist). The
//! last two read the clips' segment features through training's cached route
//! (`train::dataset`).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;

use super::train::{dataset, read_checked_manifest};
use crate::model::assets::find_asset;
use crate::model::device::{resolve, DeviceChoice};
use crate::model::tagger::MUSICNN_ASSET;
use crate::mood::Quadrant;
use crate::themes::eval::{self, Clip, EvalConfig, EvalReport};
use crate::themes::kmeans::{self, Codebook, KMeansConfig, DEFAULT_WORDS};
use crate::themes::naming::{self, Collection, SceneSummary};
use crate::train::manifest::Manifest;
use crate::train::Dataset;

#[derive(Debug, Subcommand)]
pub enum ScenesAction {
    /// Give a scene your own name (kept across refits that continue the scene; ids are in
    /// `valence scenes`).
    Rename { id: i64, name: String },
    /// Fit the audio-word codebook (spherical k-means) on the L2-normalised embeddings of
    /// every ~3-s segment of a manifest's clips (labels unused).
    Codebook {
        /// CSV with columns path, quadrant, artist [, title, ...] (as `valence train`).
        #[arg(long)]
        manifest: PathBuf,
        /// Audio words (clusters).
        #[arg(long, default_value_t = DEFAULT_WORDS)]
        words: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Where to write the codebook.
        #[arg(long, default_value = "codebook.vlcb")]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
        device: DeviceChoice,
    },
    /// Held-out perplexity, coherence, stability and NMI with the quadrants for several
    /// numbers of scenes (clips held out by artist), then the scenes of one fit on all clips.
    Evaluate {
        #[arg(long)]
        manifest: PathBuf,
        /// Numbers of scenes to compare.
        #[arg(long, num_args = 1.., default_values_t = crate::themes::eval::DEFAULT_GRID)]
        scenes: Vec<usize>,
        /// LDA seeds per fold and number of scenes.
        #[arg(long, default_value_t = 3)]
        seeds: usize,
        /// Artist-grouped folds.
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Words of the codebooks fitted on each fold's training clips.
        #[arg(long, default_value_t = DEFAULT_WORDS)]
        words: usize,
        /// Seed of the folds and the fold codebooks.
        #[arg(long, default_value_t = 0)]
        split_seed: u64,
        /// Codebook of the fit on all clips (default: the shipped one).
        #[arg(long)]
        codebook: Option<PathBuf>,
        /// Scenes of the fit on all clips (default: chosen from the held-out perplexity).
        #[arg(long)]
        fit_scenes: Option<usize>,
        #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
        device: DeviceChoice,
    },
}

/// A manifest's clips with their features, and each one's manifest row.
struct Labelled {
    manifest: Manifest,
    ds: Dataset,
    /// Dataset index -> manifest row index.
    rows: Vec<usize>,
}

fn load(manifest: &Path, device: DeviceChoice) -> Result<Labelled> {
    let m = read_checked_manifest(manifest)?;
    let ds = dataset(&m, resolve(device)?, &[], false, None)?;
    let by_path: HashMap<&Path, usize> = m
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.path.as_path(), i))
        .collect();
    let rows = ds
        .paths
        .iter()
        .map(|p| {
            by_path
                .get(p.as_path())
                .copied()
                .with_context(|| format!("{} is not in the manifest", p.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Labelled {
        manifest: m,
        ds,
        rows,
    })
}

fn clips(ds: &Dataset) -> Vec<Clip> {
    ds.feats
        .iter()
        .zip(&ds.labels)
        .zip(&ds.groups)
        .map(|((f, &q), g)| Clip {
            segments: f.emb.clone(),
            quadrant: q,
            group: g.clone(),
        })
        .collect()
}

/// `4q-train/manifest.csv` for `/…/4q-train/manifest.csv`: names the data without the
/// machine's folders.
fn short_name(p: &Path) -> String {
    let file = p.file_name().map(|f| f.to_string_lossy().into_owned());
    let dir = p
        .parent()
        .and_then(|d| d.file_name())
        .map(|d| d.to_string_lossy().into_owned());
    match (dir, file) {
        (Some(d), Some(f)) => format!("{d}/{f}"),
        (None, Some(f)) => f,
        _ => p.display().to_string(),
    }
}

pub fn run_codebook(
    manifest: &Path,
    words: usize,
    seed: u64,
    out_path: &Path,
    device: DeviceChoice,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    let l = load(manifest, device)?;
    let clips = clips(&l.ds);
    let all: Vec<usize> = (0..clips.len()).collect();
    let (rows, dim) = eval::segment_rows(&clips, &all);
    let segments = rows.len() / dim.max(1);
    let cfg = KMeansConfig {
        k: words,
        seed,
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let fit = kmeans::fit(&rows, dim, &cfg)?;
    let secs = started.elapsed().as_secs_f64();
    let used = segments - fit.skipped_rows;
    let inertia = fit.inertia.last().copied().unwrap_or(f64::NAN);
    let provenance = format!(
        "valence scenes codebook --manifest {} --words {words} --seed {seed}: spherical k-means \
         ({} restarts, at most {} updates) on {used} L2-normalised musicnn embeddings (every \
         ~3-s segment) of {} clips; final inertia {:.4} per segment",
        short_name(manifest),
        cfg.restarts,
        cfg.max_iter,
        clips.len(),
        inertia / used.max(1) as f64
    );
    let codebook: Codebook = fit.codebook.clone().with_provenance(provenance);
    codebook
        .save(out_path)
        .with_context(|| format!("writing {}", out_path.display()))?;
    let mut sizes = vec![0usize; words];
    for w in fit.labels.iter().flatten() {
        sizes[*w as usize] += 1;
    }
    let (smallest, largest) = (
        sizes.iter().min().copied().unwrap_or(0),
        sizes.iter().max().copied().unwrap_or(0),
    );
    if json {
        let v = serde_json::json!({
            "out": out_path.display().to_string(),
            "version": codebook.version(),
            "words": words,
            "dim": dim,
            "seed": seed,
            "clips": clips.len(),
            "segments": used,
            "skipped_segments": fit.skipped_rows,
            "iterations": fit.iterations,
            "converged": fit.converged,
            "inertia_per_segment": inertia / used.max(1) as f64,
            "restart_inertia": fit.restart_inertia,
            "word_sizes": { "min": smallest, "max": largest },
            "seconds": secs,
            "provenance": codebook.provenance(),
        });
        serde_json::to_writer_pretty(&mut *out, &v)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}: {}", out_path.display(), codebook.version())?;
        writeln!(
            out,
            "{words} words x {dim} from {used} segments of {} clips ({} skipped); {} updates{}; \
             inertia {:.4} per segment; words hold {smallest}..{largest} segments; {secs:.1} s",
            clips.len(),
            fit.skipped_rows,
            fit.iterations,
            if fit.converged { ", converged" } else { "" },
            inertia / used.max(1) as f64,
        )?;
    }
    Ok(())
}

pub struct EvaluateArgs<'a> {
    pub manifest: &'a Path,
    pub cfg: EvalConfig,
    pub codebook: Option<&'a Path>,
    pub fit_scenes: Option<usize>,
    pub device: DeviceChoice,
    pub json: bool,
}

/// Typical clips shown per scene.
const TYPICAL: usize = 3;

pub fn run_evaluate(a: EvaluateArgs, out: &mut impl Write) -> Result<()> {
    let l = load(a.manifest, a.device)?;
    let clips = clips(&l.ds);
    let report = eval::evaluate(&clips, &a.cfg, |line| eprintln!("valence: {line}"))?;

    // One fit on all clips with the shipped (or given) codebook.
    let codebook = match a.codebook {
        Some(p) => Codebook::load(p)?,
        None => crate::themes::default_codebook()?,
    };
    let topics = a.fit_scenes.unwrap_or(report.chosen_topics);
    eprintln!("valence: {topics} scenes on all {} clips", clips.len());
    let all = eval::fit_all(&clips, &codebook, topics, 0)?;
    let tag_names = crate::model::musicnn::read_tag_names(&find_asset(MUSICNN_ASSET)?)?;
    let tags: Vec<f32> =
        l.ds.feats
            .iter()
            .flat_map(|f| {
                let mut mean = vec![0f32; tag_names.len()];
                for s in &f.tags {
                    for (m, &p) in mean.iter_mut().zip(s) {
                        *m += p / f.tags.len() as f32;
                    }
                }
                mean
            })
            .collect();
    let points: Vec<[f32; 2]> = l.ds.targets.clone();
    let collection = Collection::new(all.fit.theta(), topics, &tags, &tag_names, &points)?;
    let cal = crate::analysis::default_calibration().unwrap_or_default();
    let mut scenes = naming::describe(&collection, &cal, TYPICAL);
    scenes.sort_by(|x, y| y.weight.total_cmp(&x.weight));
    let clip_name = |d: usize| {
        let r = &l.manifest.rows[l.rows[d]];
        format!(
            "{} – {} ({})",
            r.artist,
            r.title.as_deref().unwrap_or("untitled"),
            r.quadrant
        )
    };

    if a.json {
        let scene_json: Vec<serde_json::Value> = scenes
            .iter()
            .map(|s| {
                serde_json::json!({
                    "summary": s,
                    "typical_clips": s.typical.iter().map(|&d| clip_name(d)).collect::<Vec<_>>(),
                })
            })
            .collect();
        let v = serde_json::json!({
            "command": std::env::args().collect::<Vec<_>>().join(" "),
            "manifest": a.manifest.display().to_string(),
            "report": report,
            "all_clips": {
                "codebook": codebook.version(),
                "scenes": topics,
                "seed": 0,
                "tokens": all.fit.tokens,
                "nmi": all.nmi,
                "chance_nmi": all.chance_nmi,
                "scenes_list": scene_json,
            },
        });
        serde_json::to_writer_pretty(&mut *out, &v)?;
        writeln!(out)?;
        return Ok(());
    }
    write_report(out, &a, &report)?;
    writeln!(
        out,
        "\n## The {topics} scenes of one fit on all {} clips\n",
        clips.len()
    )?;
    writeln!(
        out,
        "Codebook {} (shipped unless `--codebook`), LDA seed 0, {} tokens. Names from the clips' mean \
         musicnn tags and their manifest valence/arousal; the mood mix counts each clip in the \
         quadrant of its manifest point, weighted by its share of the scene. NMI of the main \
         scene with the quadrant label (in-sample): {:.3} (chance, same scene sizes: {:.3}).\n",
        codebook.version(),
        all.fit.tokens,
        all.nmi,
        all.chance_nmi
    )?;
    write_scenes(out, &scenes, &clip_name)?;
    Ok(())
}

fn write_report(out: &mut impl Write, a: &EvaluateArgs, r: &EvalReport) -> Result<()> {
    let c = &r.config;
    writeln!(
        out,
        "data: {} ({} clips, {} segments, {} artists); {} artist-grouped folds (split seed {}); \
         a {}-word codebook per fold, fitted on its training clips only; LDA seeds 0..{}",
        short_name(a.manifest),
        r.clips,
        r.segments,
        r.artists,
        c.folds,
        c.split_seed,
        c.words,
        c.seeds
    )?;
    writeln!(out, "\n| fold | train clips / artists | test clips / artists | train / test tokens | codebook inertia per segment |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    for (i, f) in r.folds.iter().enumerate() {
        writeln!(
            out,
            "| {} | {} / {} | {} / {} | {} / {} | {:.4} |",
            i + 1,
            f.train_clips,
            f.train_artists,
            f.test_clips,
            f.test_artists,
            f.train_tokens,
            f.test_tokens,
            f.codebook_inertia
        )?;
    }
    writeln!(
        out,
        "\nFigures are mean ± sd over the {} folds (each fold: the mean over the seeds).\n",
        c.folds
    )?;
    writeln!(out, "| scenes T | held-out perplexity | unigram perplexity | ratio | coherence (NPMI, top {}) | stability (matched Hellinger) | NMI main scene vs quadrant | NMI by chance |", eval::COHERENCE_WORDS)?;
    writeln!(out, "|---|---|---|---|---|---|---|---|")?;
    for row in &r.rows {
        writeln!(
            out,
            "| {}{} | {:.2} ± {:.2} | {:.2} ± {:.2} | {} | {} | {} | {} | {} |",
            row.topics,
            if row.topics == r.chosen_topics {
                " (chosen)"
            } else {
                ""
            },
            row.perplexity.mean,
            row.perplexity.sd,
            row.unigram_perplexity.mean,
            row.unigram_perplexity.sd,
            row.perplexity_ratio.show(true),
            row.coherence.show(true),
            row.stability.show(true),
            row.nmi.show(true),
            row.chance_nmi.show(true),
        )?;
    }
    writeln!(
        out,
        "\nCoherence of random {}-word sets (same training documents): {}.",
        eval::COHERENCE_WORDS,
        r.random_coherence.show(true)
    )?;
    let grid: Vec<String> = r.rows.iter().map(|x| x.topics.to_string()).collect();
    writeln!(
        out,
        "Chosen: T = {} (the knee of the held-out perplexity curve over T = {}, up to its \
         lowest point; `themes::eval::choose_topics`).",
        r.chosen_topics,
        grid.join(", ")
    )?;
    Ok(())
}

fn write_scenes(
    out: &mut impl Write,
    scenes: &[SceneSummary],
    clip_name: &dyn Fn(usize) -> String,
) -> Result<()> {
    writeln!(out, "| scene | name | size (sum of shares) | main scene of | mood mix Q1 / Q2 / Q3 / Q4 | typical clips |")?;
    writeln!(out, "|---|---|---|---|---|---|")?;
    for s in scenes {
        let mix = Quadrant::ALL
            .iter()
            .map(|q| format!("{:.0} %", 100.0 * s.mood_mix[q.index()]))
            .collect::<Vec<_>>()
            .join(" / ");
        let typical = s
            .typical
            .iter()
            .map(|&d| clip_name(d))
            .collect::<Vec<_>>()
            .join("; ");
        writeln!(
            out,
            "| {} | {} | {:.1} | {} | {mix} | {typical} |",
            s.scene, s.name, s.weight, s.main_tracks
        )?;
    }
    Ok(())
}

/// `valence scenes [--fit] [--scenes T] [--json]`: fits the library's scenes when asked or
/// due (none yet, or the library grew by a fifth), folds new tracks in, lists the scenes.
pub fn run_library(
    lib: &mut crate::library::Library,
    fit: bool,
    topics: Option<usize>,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    let v = crate::analysis::default_version()?;
    let cal = crate::analysis::default_calibration().unwrap_or_default();
    let tags = crate::themes::default_tag_names()?;
    let update = lib.update_scenes(&v, &cal, &tags, fit, topics)?;
    let (report, folded) = (update.fit, update.folded_in);
    let scenes = lib.scenes(&v, &cal)?;
    if json {
        let j = serde_json::json!({ "fit": report, "folded_in": folded, "scenes": scenes });
        serde_json::to_writer_pretty(&mut *out, &j)?;
        writeln!(out)?;
        return Ok(());
    }
    if let Some(r) = &report {
        writeln!(
            out,
            "fitted {} scenes on {} tracks ({} continue earlier scenes, {} gone)",
            r.scenes, r.tracks, r.kept, r.removed
        )?;
    }
    if folded > 0 {
        writeln!(out, "{folded} new tracks placed in the scenes")?;
    }
    if scenes.is_empty() {
        writeln!(
            out,
            "no scenes yet: they are fitted once {} tracks are analysed (`valence scenes --fit`)",
            crate::themes::store::MIN_TRACKS
        )?;
    }
    for s in &scenes {
        let mix: Vec<String> = Quadrant::ALL
            .iter()
            .zip(s.mood_mix)
            .filter(|(_, m)| *m >= 0.005)
            .map(|(q, m)| format!("{q} {:.0} %", m * 100.0))
            .collect();
        writeln!(
            out,
            "{:>4}  {:<40.40}  {:>4} tracks  {}",
            s.id,
            s.name,
            s.tracks,
            mix.join(", ")
        )?;
    }
    Ok(())
}
