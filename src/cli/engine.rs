//! The commands that run a network (musicnn, the emotion model) and so need libtorch. They
//! run in `valence-engine`, the one binary that links it; `valence` hands them over with
//! `exec` (same arguments, same process id, signals and exit code), so every other command
//! and the window start without loading libtorch (~0.5 s and ~450 MB).

use std::io::Write;
use std::os::unix::process::CommandExt;

use anyhow::{bail, Result};

use super::{default_db_path, Cli, Command};
use crate::model::device::DeviceChoice;

/// `valence-engine`'s whole command line: the engine's commands here, the rest as in
/// `valence` (so `valence-engine status` works too).
pub fn run(cli: Cli) -> Result<()> {
    if !cli.command.as_ref().is_some_and(Command::needs_engine) {
        return super::run(cli);
    }
    let Some(command) = cli.command else {
        return Ok(());
    };
    let mut out = std::io::stdout().lock();
    match command {
        Command::Train {
            manifest,
            arch,
            features,
            hidden,
            members,
            folds,
            epochs,
            no_final,
            no_augment,
            confidence_weight,
            mixup,
            sign_loss,
            center_loss,
            stat_pool,
            dropout,
            seed,
            ablation,
            strides,
            overlap,
            patch_net,
            out: out_dir,
            device,
            json,
        } => {
            let command = std::env::args().collect::<Vec<_>>().join(" ");
            let arch = match arch.split() {
                Ok(arch) => arch,
                Err(seed_arch) => {
                    let mut opts = crate::train::seeds::SeedOptions::for_arch(seed_arch);
                    opts.seed = seed;
                    if let Some(e) = epochs {
                        opts.max_epochs = e;
                    }
                    if let Some(w) = center_loss {
                        opts.center_loss = w;
                    }
                    return super::seeds::run_seed_train(
                        super::seeds::SeedRun {
                            manifest: &manifest,
                            opts,
                            folds,
                            no_final,
                            out_dir: &out_dir,
                            device,
                            command: &command,
                            json,
                        },
                        &mut out,
                    );
                }
            };
            let opts = crate::train::TrainOptions {
                arch,
                features,
                hidden,
                members,
                epochs: epochs.unwrap_or(60),
                augment: !no_augment,
                confidence_weight,
                mixup,
                sign_loss,
                center_loss: center_loss.unwrap_or(0.0),
                stat_pool,
                dropout,
                seed,
                ..Default::default()
            };
            super::train::run_train(
                super::train::TrainRun {
                    manifest: &manifest,
                    opts,
                    folds,
                    ablation,
                    strides: &strides,
                    overlap,
                    patch_net: patch_net.as_deref(),
                    out_dir: &out_dir,
                    device,
                    command: &command,
                    json,
                },
                &mut out,
            )?;
        }
        Command::Distill {
            manifest,
            epochs,
            seed,
            per_fold,
            init,
            lr,
            out: out_dir,
            device,
            json,
        } => {
            let opts = crate::train::distill::DistillOptions {
                epochs,
                seed,
                lr,
                ..Default::default()
            };
            let job = super::train::DistillJob {
                per_fold,
                init: init.as_deref(),
            };
            super::train::run_distill(&manifest, &out_dir, opts, job, device, json, &mut out)?;
        }
        Command::Evaluate {
            model,
            manifest,
            stride,
            json,
            device,
        } => {
            super::train::run_evaluate(
                model.as_deref(),
                &manifest,
                stride,
                json,
                device,
                &mut out,
            )?;
        }
        Command::Sanity {
            model,
            stride,
            json,
        } => {
            let device = crate::model::device::resolve(DeviceChoice::Auto)?;
            let mut fa = match model {
                Some(dir) => crate::analysis::route::FileAnalyzer::load(
                    &crate::model::assets::find_asset(crate::model::tagger::MUSICNN_ASSET)?,
                    &dir,
                    device,
                    stride,
                )?,
                None => crate::analysis::route::FileAnalyzer::load_default(device, stride)?,
            };
            let dir = tempfile::tempdir()?;
            let r = crate::analysis::sanity::run(&mut fa, dir.path())?;
            if json {
                serde_json::to_writer_pretty(&mut out, &r)?;
                writeln!(out)?;
            } else {
                for (p, v, a) in &r.pieces {
                    writeln!(
                        out,
                        "{:?} {:>4} notes/s {:>4} dB {} voices: valence {v:+.2} arousal {a:+.2}",
                        p.timbre, p.tempo, p.gain_db, p.voices
                    )?;
                }
                for (f, right, total) in &r.pairs {
                    writeln!(out, "{f}: {right}/{total} ordered pairs right")?;
                }
                writeln!(
                    out,
                    "all: {:.1} % of ordered pairs right; {:.0} % of piano pieces read as aroused",
                    100.0 * r.share,
                    100.0 * r.piano_aroused
                )?;
            }
        }
        Command::Tags {
            file,
            top,
            json,
            device,
        } => {
            let device = crate::model::device::resolve(device)?;
            let tagger = crate::model::tagger::Tagger::load(device)?;
            let result = tagger.tag_file(&file)?;
            if json {
                serde_json::to_writer_pretty(&mut out, &result.to_json(top))?;
                writeln!(out)?;
            } else {
                let fmt = |scores: &[f32]| {
                    result
                        .top(scores, top)
                        .iter()
                        .map(|(name, p)| format!("{name} {p:.2}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                writeln!(out, "track: {}", fmt(&result.track))?;
                for (i, seg) in result.segments.iter().enumerate() {
                    let t0 = i as f64 * result.segment_secs;
                    writeln!(out, "{:>7.1} s  {}", t0, fmt(seg))?;
                }
            }
        }
        Command::Scenes { action, json, .. } => match action {
            Some(super::scenes::ScenesAction::Codebook {
                manifest,
                words,
                seed,
                out: out_path,
                device,
            }) => super::scenes::run_codebook(
                &manifest, words, seed, &out_path, device, json, &mut out,
            )?,
            Some(super::scenes::ScenesAction::Evaluate {
                manifest,
                scenes: topics,
                seeds,
                folds,
                words,
                split_seed,
                codebook,
                fit_scenes,
                device,
            }) => super::scenes::run_evaluate(
                super::scenes::EvaluateArgs {
                    manifest: &manifest,
                    cfg: crate::themes::eval::EvalConfig {
                        topics,
                        seeds,
                        folds,
                        words,
                        split_seed,
                    },
                    codebook: codebook.as_deref(),
                    fit_scenes,
                    device,
                    json,
                },
                &mut out,
            )?,
            _ => bail!("this `scenes` command does not run in the engine"),
        },
        Command::Analyze {
            jobs,
            device,
            stride,
            batch,
            nice,
            json,
            events,
        } => {
            let db = cli.db.unwrap_or_else(default_db_path);
            let defaults = crate::analysis::EngineOptions::default();
            let opts = crate::analysis::EngineOptions {
                jobs: if jobs == 0 { defaults.jobs } else { jobs },
                device,
                stride,
                batch,
                nice,
            };
            if events {
                super::analyze::run_events(&db, opts)?;
            } else {
                super::analyze::run_analyze(&db, opts, json, &mut out)?;
            }
        }
        _ => bail!(super::IN_ENGINE),
    }
    Ok(())
}

/// Replaces this process with `valence-engine` on the same arguments. Returns only if that
/// cannot be started, with the reason.
pub fn hand_over() -> anyhow::Error {
    let exe = match crate::analysis::remote::engine_path() {
        Ok(exe) => exe,
        Err(e) => return e.into(),
    };
    let e = std::process::Command::new(&exe)
        .arg0("valence")
        .args(std::env::args_os().skip(1))
        .exec();
    anyhow::anyhow!(
        "cannot start the analysis engine {}: {e} (it is installed beside `valence`; `cargo build --release` builds both)",
        exe.display()
    )
}
