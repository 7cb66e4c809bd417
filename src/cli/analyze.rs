//! `valence analyze`, `valence show` and the analysis part of `valence status`.

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::analysis::{Control, Engine, EngineOptions, Summary};
use crate::library::{AnalysisVersion, Library, TrackRow};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// First Ctrl-C: stop taking new tracks, store what is in flight, print the summary.
/// A second one kills the process (the database is safe either way).
fn install_sigint(control: Arc<Control>) {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
    std::thread::spawn(move || loop {
        if INTERRUPTED.load(Ordering::SeqCst) {
            control.cancel();
            // SAFETY: restoring the default disposition.
            unsafe {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    });
}

pub fn run_analyze(db: &Path, opts: EngineOptions, json: bool, out: &mut impl Write) -> Result<()> {
    let engine = Engine::load(opts).context("loading the analysis models")?;
    let control = Control::new();
    install_sigint(control.clone());
    let bar = ProgressBar::new(0);
    if json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:32.cyan/blue} {pos}/{len} tracks  {msg}  elapsed {elapsed}  ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let summary = engine.run(db, &control, |p| {
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
        bar.set_message(format!(
            "{:.0}x realtime, {} failed",
            p.x_realtime(),
            p.failed
        ));
        if let Some(t) = &p.last {
            if let Err(e) = &t.result {
                bar.println(format!("failed: {}: {e}", t.path.display()));
            }
        }
    })?;
    bar.finish_and_clear();
    if json {
        serde_json::to_writer_pretty(&mut *out, &summary)?;
        writeln!(out)?;
    } else {
        write_summary(&summary, out)?;
    }
    Ok(())
}

/// `valence-engine analyze --events`: the engine side of `analysis::remote` (events as
/// JSON lines on stdout, orders on stdin, stdin closing cancels).
pub fn run_events(db: &Path, opts: EngineOptions) -> Result<()> {
    use crate::analysis::remote::{Event, Order};
    // Ctrl-C in the window's terminal reaches its whole process group: the window decides
    // (it closes our stdin), so that the tracks in flight are stored.
    // SAFETY: setting a signal's disposition to ignore.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
    let emit = |e: &Event| -> Result<()> {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer(&mut out, e)?;
        writeln!(out)?;
        out.flush()?;
        Ok(())
    };
    emit(&Event::Loading)?;
    let engine = match Engine::load(opts) {
        Ok(e) => e,
        Err(e) => {
            emit(&Event::Failed(e.to_string()))?;
            return Err(e).context("loading the analysis models");
        }
    };
    emit(&Event::Started {
        device: engine.device_name(),
    })?;
    let control = Control::new();
    {
        let control = control.clone();
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                match line.ok().as_deref().and_then(Order::parse) {
                    Some(Order::Pause) => control.set_paused(true),
                    Some(Order::Resume) => control.set_paused(false),
                    Some(Order::Cancel) => control.cancel(),
                    None => {}
                }
            }
            // The window is gone (or done with us): stop after the tracks in flight.
            control.cancel();
        });
    }
    // A closed stdout (the window died) must not stop the run halfway: results are stored
    // either way, so progress that cannot be told is dropped.
    let result = engine.run(db, &control, |p| {
        let _ = emit(&Event::Progress(p.clone()));
    });
    match result {
        Ok(summary) => {
            let _ = emit(&Event::Finished(summary));
            Ok(())
        }
        Err(e) => {
            let _ = emit(&Event::Failed(e.to_string()));
            Err(e.into())
        }
    }
}

pub fn write_summary(s: &Summary, out: &mut impl Write) -> Result<()> {
    let p = &s.progress;
    writeln!(
        out,
        "{} {} of {} tracks ({} failed) in {:.1} s: {:.0} s of audio, {:.0}x realtime on {} ({} jobs, stride {}, batch {})",
        if s.cancelled { "cancelled after" } else { "analysed" },
        p.done,
        p.total,
        p.failed,
        p.elapsed_secs,
        p.audio_secs,
        p.x_realtime(),
        s.device,
        s.jobs,
        s.stride,
        s.batch
    )?;
    let st = &s.stages;
    writeln!(
        out,
        "thread time: decode {:.1} s, features {:.1} s, network {:.1} s ({} patches), emotion {:.2} s, database {:.2} s",
        st.decode, st.features, st.network, s.patches, st.emotion, st.database
    )?;
    Ok(())
}

/// Finds a track by id or by path.
pub(super) fn find_track(lib: &Library, which: &str) -> Result<TrackRow> {
    if let Ok(id) = which.parse::<i64>() {
        if let Some(t) = lib.track(id)? {
            return Ok(t);
        }
    }
    let p = Path::new(which);
    if let Some(t) = lib.track_by_path(p)? {
        return Ok(t);
    }
    // The scan stores absolute paths as walked (links not resolved), so try that first.
    for abs in [std::path::absolute(p), std::fs::canonicalize(p)]
        .into_iter()
        .flatten()
    {
        if let Some(t) = lib.track_by_path(&abs)? {
            return Ok(t);
        }
    }
    bail!("no track {which:?} in the library (give an id from `valence list` or a path)")
}

pub fn run_show(
    lib: &Library,
    version: &AnalysisVersion,
    which: &str,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    let t = find_track(lib, which)?;
    let a = lib.analysis(t.id, version)?;
    // Theme scenes are optional: without a fit the mix is empty.
    let scenes = lib.track_scenes(t.id).unwrap_or_default();
    if json {
        let mood = a.as_ref().and_then(|a| a.data.as_ref()).map(|d| d.mood());
        let v = serde_json::json!({ "track": t, "analysis": a, "mood": mood, "scenes": scenes, "running_version": version });
        serde_json::to_writer_pretty(&mut *out, &v)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "track {}: {}", t.id, t.path.display())?;
    writeln!(
        out,
        "  {} - {} ({})",
        t.tags.artist.as_deref().unwrap_or("Unknown artist"),
        t.tags.title.as_deref().unwrap_or("Untitled"),
        t.tags.album.as_deref().unwrap_or("")
    )?;
    if let Some(e) = &t.error {
        writeln!(out, "  not playable: {e}")?;
        return Ok(());
    }
    let Some(a) = a else {
        writeln!(out, "  not analysed yet (run `valence analyze`)")?;
        return Ok(());
    };
    let rg = &t.tags.replaygain;
    let db = |g: Option<crate::audio::gain::Gain>| {
        g.map_or("-".to_string(), |g| format!("{:+.2} dB", g.db))
    };
    if rg.track.is_some() || rg.album.is_some() {
        writeln!(
            out,
            "  ReplayGain tags: track {}, album {}",
            db(rg.track),
            db(rg.album)
        )?;
    }
    writeln!(
        out,
        "  analysis: model {} features v{}{}",
        a.model_version,
        a.features_version,
        if a.current {
            ""
        } else {
            " (stale: will be recomputed)"
        }
    )?;
    if let Some(e) = &a.error {
        writeln!(out, "  analysis failed: {e}")?;
    }
    if let Some(d) = &a.data {
        writeln!(
            out,
            "  mood: {}  (p = {:.2} {:.2} {:.2} {:.2})  valence {:+.2}  arousal {:+.2}",
            d.mood().text(),
            d.probs[0],
            d.probs[1],
            d.probs[2],
            d.probs[3],
            d.valence,
            d.arousal
        )?;
        let tags: Vec<String> = d
            .top_tags
            .iter()
            .map(|(n, p)| format!("{n} {p:.2}"))
            .collect();
        writeln!(out, "  tags: {}", tags.join(", "))?;
        if let Some(l) = &d.loudness {
            writeln!(
                out,
                "  loudness: {:.1} LUFS, peak {:.3} (ReplayGain {:+.1} dB)",
                l.integrated_lufs,
                l.sample_peak,
                l.gain_db()
            )?;
        }
        if !scenes.is_empty() {
            let mix: Vec<String> = scenes
                .iter()
                .map(|s| format!("{} {:.0} %", s.name, s.share * 100.0))
                .collect();
            writeln!(out, "  scenes: {}", mix.join(", "))?;
        }
        writeln!(
            out,
            "  spectrogram thumbnail: {}x{}; embedding: {} values; {} audio words",
            d.thumbnail.width,
            d.thumbnail.height,
            d.embedding.len(),
            d.words.len()
        )?;
        writeln!(out, "  timeline ({} points):", d.timeline.len())?;
        for p in &d.timeline {
            writeln!(
                out,
                "    {:>7.1}-{:>7.1} s  {:<34} valence {:+.2}  arousal {:+.2}",
                p.start_s,
                p.end_s,
                p.mood().text(),
                p.valence,
                p.arousal
            )?;
        }
    }
    Ok(())
}
