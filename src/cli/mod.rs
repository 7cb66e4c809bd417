//! The command line: `valence scan|list|status|analyze|show|...`. Errors go to stderr with exit code 1.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{CommandFactory, Parser, Subcommand};

use crate::library::{default_db_path, scan, Library, ScanOptions, TrackRow};
use crate::model::device::DeviceChoice;
use crate::model::emotion::Arch;
use crate::model::segments::FeatureSet;

#[derive(Debug, Parser)]
#[command(
    name = "valence",
    version,
    about = "A music player that knows how music feels"
)]
pub struct Cli {
    /// Library database (default: $VALENCE_DB, else the XDG data dir).
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Audio files to play in the window (as "Open with Valence" in a file manager does):
    /// they join the library and play in this order.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add folders to the library, or refresh them (only changed files are reopened).
    Scan {
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Tag-reading threads (default: one per core).
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        #[arg(long)]
        json: bool,
    },
    /// Print the library.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Counts of tracks, failed files (with reasons) and analysed tracks.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Analyse every track without a current result (emotion, timeline, tags, thumbnail).
    /// Safe to interrupt at any moment: the next run continues where this one stopped.
    Analyze {
        /// Worker threads (default: one per core).
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
        device: DeviceChoice,
        /// Analyse one 3-s patch in N (timeline resolution N x 3 s). Results of another
        /// stride count as stale.
        #[arg(long, default_value_t = crate::analysis::DEFAULT_STRIDE)]
        stride: usize,
        /// Patches per network call (default: 1 on the CPU, 128 on CUDA).
        #[arg(long)]
        batch: Option<usize>,
        /// Nice value for the workers (0: normal priority).
        #[arg(long, default_value_t = 10)]
        nice: i32,
        /// Print the summary as JSON (no progress bar).
        #[arg(long)]
        json: bool,
        /// Speak the window's protocol: events as JSON lines on stdout, orders (pause,
        /// resume, cancel) as lines on stdin; stdin closing cancels (`analysis::remote`).
        #[arg(long, hide = true)]
        events: bool,
    },
    /// A track's analysis: mood, valence/arousal, timeline, tags (TRACK: id or path).
    Show {
        track: String,
        #[arg(long)]
        json: bool,
    },
    /// Top music tags (MSD-musicnn) per 3-s segment and for the whole track.
    Tags {
        file: PathBuf,
        /// How many tags to show.
        #[arg(long, default_value_t = 5)]
        top: usize,
        #[arg(long)]
        json: bool,
        #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
        device: DeviceChoice,
    },
    /// Train the emotion model: nested artist-grouped cross-validation (report.md,
    /// report.json, reliability.png), then the shipped-style ensemble on all rows.
    Train {
        /// CSV with columns path, quadrant, artist [, valence, arousal, tag_agreement, title].
        #[arg(long)]
        manifest: PathBuf,
        /// The emotion model's architectures, or a seed paper's system on its own inputs
        /// (`seed000`..`seed004`; see docs/seeds.md).
        #[arg(long, value_enum, default_value_t = TrainArch::Attn)]
        arch: TrainArch,
        #[arg(long, value_enum, default_value_t = FeatureSet::All)]
        features: FeatureSet,
        #[arg(long, default_value_t = 128)]
        hidden: i64,
        /// Ensemble members (= artist-grouped inner folds).
        #[arg(long, default_value_t = 4)]
        members: usize,
        /// Outer cross-validation folds (0: skip cross-validation).
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Epochs per member (the best one on its inner validation artists is kept); default
        /// 60, and for the seed systems at most 30 with early stopping.
        #[arg(long)]
        epochs: Option<usize>,
        /// Seed systems: cross-validation only, no model on all rows.
        #[arg(long)]
        no_final: bool,
        #[arg(long)]
        no_augment: bool,
        /// Weight tracks by their label confidence (`tag_agreement`).
        #[arg(long)]
        confidence_weight: bool,
        /// Mixup of track pairs, Beta(a, a) (0: off).
        #[arg(long, default_value_t = 0.0)]
        mixup: f64,
        /// Weight of the logistic loss on the quadrant's signs.
        #[arg(long, default_value_t = 0.5)]
        sign_loss: f64,
        /// Weight of seed 002's improved center loss (0: off; default 0, and 0.1 for
        /// `seed002`).
        #[arg(long)]
        center_loss: Option<f64>,
        /// The track head also reads the segments' max and standard deviation.
        #[arg(long)]
        stat_pool: bool,
        #[arg(long, default_value_t = 0.3)]
        dropout: f64,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Also cross-validate the levers (each its own row) and choose among them inside
        /// each fold.
        #[arg(long)]
        ablation: bool,
        /// Score the test folds on the segments a strided analysis keeps, e.g. `1,2,3,5`.
        #[arg(long, value_delimiter = ',', default_value = "1,2,3,5")]
        strides: Vec<usize>,
        /// Also score the test folds on overlapping patches: every segment together with the
        /// grid shifted by half a patch (its features are extracted and cached too).
        #[arg(long)]
        overlap: bool,
        /// Read the segments' embedding and tags from this distilled student
        /// (`valence distill`) instead of MSD-musicnn (an experiment of issue 16). A folder
        /// from `valence distill --per-fold K` gives outer fold i fold i's student (then
        /// `--folds` must be K, and no model on all rows is trained).
        #[arg(long)]
        patch_net: Option<PathBuf>,
        /// Output folder: report.json, report.md, reliability.png, and the model.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
        device: DeviceChoice,
        /// Print a summary as JSON on stdout (the files written, each candidate's
        /// out-of-fold score, the cross-validation result); progress stays on stderr.
        #[arg(long)]
        json: bool,
    },
    /// Distil MSD-musicnn into a small CNN on a manifest's audio (no labels read):
    /// `student.safetensors` and `report.json` in `--out` (experimental, issue 16).
    Distill {
        #[arg(long)]
        manifest: PathBuf,
        #[arg(long, default_value_t = 12)]
        epochs: usize,
        /// Also the outer folds' seed with `--per-fold` (`valence train --seed`, default 7).
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// One student per outer fold of `valence train --folds K`, each distilled without
        /// that fold's test clips, into `--out`/fold1..foldK (resumes: a fold already there
        /// is kept). `valence train --patch-net` on that folder then gives an honest CV.
        #[arg(long, value_name = "K")]
        per_fold: Option<usize>,
        /// Train further from the students of an earlier run with the same manifest, seed
        /// and `--per-fold` (its `--out`: `DIR/student.safetensors`, or `DIR/foldI/...`).
        #[arg(long, value_name = "DIR")]
        init: Option<PathBuf>,
        /// Peak learning rate (cosine decay to 5 % of it over the epochs).
        #[arg(long, default_value_t = 2e-3)]
        lr: f64,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
        device: DeviceChoice,
        /// Print the report as JSON on stdout (progress stays on stderr).
        #[arg(long)]
        json: bool,
    },
    /// Evaluate a model on a labelled manifest by running the library analyser on its files
    /// (exactly what `valence analyze` stores).
    Evaluate {
        /// Model folder (default: the shipped model).
        #[arg(long)]
        model: Option<PathBuf>,
        #[arg(long)]
        manifest: PathBuf,
        /// The analyser's stride (default: `valence analyze`'s).
        #[arg(long, default_value_t = crate::analysis::DEFAULT_STRIDE)]
        stride: usize,
        #[arg(long)]
        json: bool,
        #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
        device: DeviceChoice,
    },
    /// Run the emotion model on synthesised solo piano (faster, louder, fuller must raise
    /// arousal) and a chiptune, through the analyser's route; prints the ordered-pair score.
    Sanity {
        /// Model folder (default: the shipped model).
        #[arg(long)]
        model: Option<PathBuf>,
        #[arg(long, default_value_t = crate::analysis::DEFAULT_STRIDE)]
        stride: usize,
        #[arg(long)]
        json: bool,
    },
    /// Your listening history, newest first (`history import FILE` reads a ListenBrainz or
    /// Last.fm export).
    History {
        #[command(subcommand)]
        action: Option<playlists::HistoryAction>,
        /// How many plays to show.
        #[arg(long, default_value_t = 30)]
        limit: usize,
        #[arg(long, global = true)]
        json: bool,
    },
    /// Your mood now, from your listening: the week's most-played tracks (seed 000) and
    /// your last 10 plays (seed 001).
    Mood {
        #[arg(long)]
        json: bool,
    },
    /// Mood playlists: new, list, show, export, import, rename, reorder, delete, never.
    Playlist {
        #[command(subcommand)]
        action: playlists::PlaylistAction,
        #[arg(long, global = true)]
        json: bool,
    },
    /// A mood journey: tracks that start at one mood, bridge step by step and settle at
    /// another, joined where one track's ending meets the next one's opening.
    Journey {
        /// `now` (your mood now), a point `V,A`, or a track (id or path; it plays first).
        #[arg(long, allow_hyphen_values = true)]
        from: String,
        /// A quadrant `Q1`..`Q4`, a point `V,A`, or a track (it plays last).
        #[arg(long, allow_hyphen_values = true)]
        to: String,
        /// Length in minutes (default 30; the total lands within 10 %).
        #[arg(long, conflicts_with = "count")]
        minutes: Option<f64>,
        /// Number of tracks instead of minutes.
        #[arg(long)]
        count: Option<usize>,
        #[arg(long, value_enum, default_value_t = crate::playlists::Shape::Direct)]
        shape: crate::playlists::Shape,
        /// Largest move between consecutive tracks on the valence-arousal plane.
        #[arg(long, default_value_t = crate::playlists::journey::DEFAULT_MAX_STEP)]
        max_step: f32,
        /// Also write it as M3U8 to this file.
        #[arg(long, value_name = "OUT")]
        m3u: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Theme scenes: LDA topics over audio words. `scenes codebook` fits the audio-word
    /// codebook on a manifest's clips; `scenes evaluate` measures the scenes on labelled
    /// clips held out by artist.
    Scenes {
        #[command(subcommand)]
        action: Option<scenes::ScenesAction>,
        /// Refit the library's scenes now.
        #[arg(long)]
        fit: bool,
        /// Number of scenes (default: chosen by held-out perplexity where the library allows).
        #[arg(long)]
        scenes: Option<usize>,
        #[arg(long, global = true)]
        json: bool,
    },
    /// Back the library up now if today has no backup yet (the window and `scan` do this
    /// daily; the 3 newest are kept), list the backups, or mend a damaged library.
    Backup {
        /// List the backups, newest first, and whether each passes SQLite's check.
        #[arg(long)]
        list: bool,
        /// Put the newest good backup in the library's place; the current file is renamed
        /// aside (`NAME.damaged-TIME`), never deleted.
        #[arg(long, conflicts_with = "list")]
        restore: bool,
        /// Rename the library file aside and start a new, empty library.
        #[arg(long, conflicts_with_all = ["list", "restore"])]
        start_new: bool,
        #[arg(long)]
        json: bool,
    },
    /// Draw a file's spectrogram as a PNG (log-mel, magma; time and frequency extent are
    /// printed and stored in the PNG's text chunks).
    Spectrogram {
        file: PathBuf,
        #[arg(short, long, value_name = "PNG")]
        output: PathBuf,
        /// Linear-frequency STFT instead of mel bands.
        #[arg(long)]
        linear: bool,
        /// Mel bands (picture height) for the mel picture.
        #[arg(long, default_value_t = 128)]
        mels: usize,
        /// Samples per pixel column at 22,050 Hz (512 = 23 ms).
        #[arg(long, default_value_t = 512)]
        hop: usize,
        /// Only the first N seconds.
        #[arg(long, value_name = "N")]
        max_seconds: Option<f64>,
        #[arg(long)]
        viridis: bool,
        /// Print the extent as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the shell completion script for SHELL on stdout, e.g.
    /// `valence completions bash > /usr/share/bash-completion/completions/valence`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the manual pages (valence.1 and one per subcommand: valence-scan.1,
    /// valence-playlist-new.1, ...) into DIR; without --out, print valence.1 on stdout.
    Man {
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

mod analyze;
mod engine;
mod playlists;
mod scenes;
mod seeds;
mod train;

/// `valence train --arch`: the emotion model's architectures and the seed systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TrainArch {
    Logreg,
    Attn,
    BigruAttn,
    Seed000,
    Seed001,
    Seed002,
    Seed003,
    Seed004,
}

impl TrainArch {
    /// The emotion model's architecture, or the seed system.
    pub fn split(self) -> std::result::Result<Arch, crate::model::seeds::SeedArch> {
        use crate::model::seeds::SeedArch;
        match self {
            TrainArch::Logreg => Ok(Arch::Logreg),
            TrainArch::Attn => Ok(Arch::Attn),
            TrainArch::BigruAttn => Ok(Arch::BigruAttn),
            TrainArch::Seed000 => Err(SeedArch::Seed000),
            TrainArch::Seed001 => Err(SeedArch::Seed001),
            TrainArch::Seed002 => Err(SeedArch::Seed002),
            TrainArch::Seed003 => Err(SeedArch::Seed003),
            TrainArch::Seed004 => Err(SeedArch::Seed004),
        }
    }
}

/// Said if an engine command reaches the light dispatcher (a bug: `main` hands them over).
const IN_ENGINE: &str = "this command runs in valence-engine";

impl Command {
    /// Whether the command runs a network, and so runs in `valence-engine` (see `engine`).
    fn needs_engine(&self) -> bool {
        match self {
            Command::Train { .. }
            | Command::Distill { .. }
            | Command::Evaluate { .. }
            | Command::Sanity { .. }
            | Command::Tags { .. }
            | Command::Analyze { .. } => true,
            Command::Scenes { action, .. } => matches!(
                action,
                Some(scenes::ScenesAction::Codebook { .. } | scenes::ScenesAction::Evaluate { .. })
            ),
            _ => false,
        }
    }
}

/// `valence`: the window and the commands that need no network; the others are handed
/// over to `valence-engine`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.command.as_ref().is_some_and(Command::needs_engine) {
        return finish(Err(engine::hand_over()));
    }
    finish(run(cli))
}

/// `valence-engine`: the same command line, running the network commands itself.
pub fn engine_main() -> ExitCode {
    finish(engine::run(Cli::parse()))
}

fn finish(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `valence list | head` closing the pipe is not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("valence: error: {e:#}");
            let damaged = e.chain().any(|c| {
                c.downcast_ref::<crate::library::StoreError>()
                    .is_some_and(|s| s.is_damaged())
            });
            if damaged {
                eprintln!("valence: `valence backup --list` shows the library's backups; `valence backup --restore` puts the newest good one in its place");
            }
            ExitCode::FAILURE
        }
    }
}

fn db_path(db: Option<PathBuf>) -> PathBuf {
    db.unwrap_or_else(default_db_path)
}

fn open_library(db: Option<PathBuf>) -> Result<Library> {
    let path = db_path(db);
    match Library::open(&path) {
        Ok(lib) => Ok(lib),
        Err(e) if e.is_damaged() => {
            let hint = match crate::library::backup::newest_good(&path) {
                Some(b) => format!(
                    "`valence backup --restore` puts the backup of {} in its place",
                    b.date
                ),
                None => "there is no good backup; `valence backup --start-new` sets it aside and starts a new library".into(),
            };
            Err(anyhow::anyhow!("{e}; {hint}"))
        }
        Err(e) => Err(e).with_context(|| format!("opening library {}", path.display())),
    }
}

/// Today's backup if it is due; a failure is a warning, the command's work is done.
fn daily_backup(db: &std::path::Path) {
    if let Err(e) = crate::library::backup::backup_daily(db, crate::library::store::now_secs()) {
        eprintln!("valence: warning: no backup made: {e}");
    }
}

/// `value` as pretty JSON and a newline: what every `--json` prints on stdout.
fn print_json(out: &mut impl Write, value: &impl serde::Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

fn path_json(p: &std::path::Path) -> String {
    p.display().to_string()
}

fn run_backup(
    db: &std::path::Path,
    list: bool,
    restore: bool,
    start_new: bool,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    use crate::library::backup;
    if list {
        let good = backup::newest_good(db);
        let all = backup::list(db);
        if json {
            let rows: Vec<_> = all
                .iter()
                .map(|b| {
                    serde_json::json!({
                        "date": b.date,
                        "path": path_json(&b.path),
                        "newest_good": good.as_ref() == Some(b),
                    })
                })
                .collect();
            return print_json(out, &rows);
        }
        for b in all {
            let mark = if good.as_ref() == Some(&b) {
                "  (newest good)"
            } else {
                ""
            };
            writeln!(out, "{}  {}{mark}", b.date, b.path.display())?;
        }
        return Ok(());
    }
    if restore {
        let Some((b, aside)) = backup::restore_newest(db, crate::library::store::now_secs())?
        else {
            bail!("no good backup of {} to restore", db.display());
        };
        if json {
            let j = serde_json::json!({
                "restored": b.date,
                "backup": path_json(&b.path),
                "library": path_json(db),
                "previous_kept_as": aside.as_deref().map(path_json),
            });
            return print_json(out, &j);
        }
        writeln!(
            out,
            "restored the backup of {} into {}",
            b.date,
            db.display()
        )?;
        if let Some(a) = aside {
            writeln!(out, "the previous file is kept as {}", a.display())?;
        }
        return Ok(());
    }
    if start_new {
        let aside = backup::start_new(db, crate::library::store::now_secs())?;
        if json {
            // `renamed_to` null: there was no library at that path.
            let j = serde_json::json!({
                "library": path_json(db),
                "renamed_to": aside.as_deref().map(path_json),
            });
            return print_json(out, &j);
        }
        match aside {
            Some(a) => writeln!(
                out,
                "{} was renamed {}; the next start makes a new library",
                db.display(),
                a.display()
            )?,
            None => writeln!(out, "there is no library at {}", db.display())?,
        }
        return Ok(());
    }
    // Check the library opens (a damaged one is not backed up) before backing it up.
    drop(open_library(Some(db.to_path_buf()))?);
    let made = backup::backup_daily(db, crate::library::store::now_secs())?;
    if json {
        // `backup` null: today's backup exists already (in `backup_dir`).
        let j = serde_json::json!({
            "library": path_json(db),
            "backup": made.as_deref().map(path_json),
            "backup_dir": path_json(&backup::backup_dir(db)),
        });
        return print_json(out, &j);
    }
    match made {
        Some(p) => writeln!(out, "backed up to {}", p.display())?,
        None => writeln!(
            out,
            "today's backup exists already ({})",
            backup::backup_dir(db).display()
        )?,
    }
    Ok(())
}

pub fn run(cli: Cli) -> Result<()> {
    if cli.command.is_some() && !cli.files.is_empty() {
        // `valence FILE...` plays files; `valence scan ...` is a command: never both.
        bail!("give files to play or a command, not both (see `valence --help`)");
    }
    let Some(command) = cli.command else {
        // No subcommand: open the window on the library.
        let db = cli.db.unwrap_or_else(default_db_path);
        // winit panics without a display; say it instead.
        if ["DISPLAY", "WAYLAND_DISPLAY", "WAYLAND_SOCKET"]
            .iter()
            .all(|v| std::env::var_os(v).is_none_or(|s| s.is_empty()))
        {
            bail!(
                "cannot open the window: no display (neither DISPLAY nor WAYLAND_DISPLAY is set); \
                 the command line works without one: see `valence --help`"
            );
        }
        return crate::gui::run(db, cli.files)
            .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"));
    };
    let mut out = std::io::stdout().lock();
    match command {
        Command::Train { .. }
        | Command::Distill { .. }
        | Command::Evaluate { .. }
        | Command::Sanity { .. }
        | Command::Tags { .. }
        | Command::Analyze { .. } => bail!(IN_ENGINE),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "valence", &mut out);
        }
        Command::Man { out: dir } => write_man_pages(dir.as_deref(), &mut out)?,
        Command::Scenes {
            action,
            fit,
            scenes: topics,
            json,
        } => match action {
            Some(scenes::ScenesAction::Rename { id, name }) => {
                let mut lib = open_library(cli.db)?;
                lib.rename_scene(id, &name)?;
                if json {
                    print_json(
                        &mut out,
                        &serde_json::json!({ "scene": id, "name": name.trim() }),
                    )?;
                } else {
                    writeln!(out, "scene {id} is now called {:?}", name.trim())?;
                }
            }
            Some(scenes::ScenesAction::Codebook { .. } | scenes::ScenesAction::Evaluate { .. }) => {
                bail!(IN_ENGINE)
            }
            None => {
                let mut lib = open_library(cli.db)?;
                scenes::run_library(&mut lib, fit, topics, json, &mut out)?
            }
        },
        Command::Spectrogram {
            file,
            output,
            linear,
            mels,
            hop,
            max_seconds,
            viridis,
            json,
        } => {
            use crate::features::{render_png, Colormap, SpectrogramKind, SpectrogramOptions};
            const RATE: u32 = 22050;
            let audio = crate::audio::decode_mono(&file, Some(RATE), max_seconds)
                .with_context(|| format!("decoding {}", file.display()))?;
            let opts = SpectrogramOptions {
                kind: if linear {
                    SpectrogramKind::LogStft
                } else {
                    SpectrogramKind::LogMel { n_mels: mels }
                },
                hop,
                colormap: if viridis {
                    Colormap::Viridis
                } else {
                    Colormap::Magma
                },
                ..Default::default()
            };
            let extent = render_png(&audio.samples, RATE, &opts, &output)
                .with_context(|| format!("drawing {}", output.display()))?;
            if json {
                let j = serde_json::json!({ "output": path_json(&output), "extent": extent });
                return print_json(&mut out, &j);
            }
            writeln!(
                out,
                "{}: {}x{} px, 0-{:.2} s, {:.0}-{:.0} Hz ({} scale)",
                output.display(),
                extent.width,
                extent.height,
                extent.duration_s,
                extent.min_hz,
                extent.max_hz,
                extent.frequency_scale
            )?;
        }
        Command::History {
            action,
            limit,
            json,
        } => {
            let mut lib = open_library(cli.db)?;
            playlists::run_history(&mut lib, action, limit, json, &mut out)?;
        }
        Command::Mood { json } => {
            let lib = open_library(cli.db)?;
            playlists::run_mood(&lib, json, &mut out)?;
        }
        Command::Playlist { action, json } => {
            let mut lib = open_library(cli.db)?;
            playlists::run_playlist(&mut lib, action, json, &mut out)?;
        }
        Command::Journey {
            from,
            to,
            minutes,
            count,
            shape,
            max_step,
            m3u,
            json,
        } => {
            let lib = open_library(cli.db)?;
            let length = match (count, minutes) {
                (Some(n), _) => crate::playlists::Length::Count(n),
                (None, m) => crate::playlists::Length::Minutes(m.unwrap_or(30.0)),
            };
            playlists::run_journey(
                &lib,
                playlists::JourneyArgs {
                    from: &from,
                    to: &to,
                    length,
                    shape,
                    max_step,
                    m3u: m3u.as_deref(),
                    json,
                },
                &mut out,
            )?;
        }
        Command::Show { track, json } => {
            let lib = open_library(cli.db)?;
            let version = crate::analysis::default_version()?;
            analyze::run_show(&lib, &version, &track, json, &mut out)?;
        }
        Command::Scan { dirs, jobs, json } => {
            let mut lib = open_library(cli.db.clone())?;
            let opts = ScanOptions {
                jobs,
                ..Default::default()
            };
            let report = scan(&mut lib, &dirs, &opts)?;
            if json {
                // The report with the seconds the text gives (`elapsed` is not serialised).
                let mut j = serde_json::to_value(&report)?;
                j["seconds"] = report.elapsed.as_secs_f64().into();
                print_json(&mut out, &j)?;
            } else {
                writeln!(
                    out,
                    "scanned {} audio files in {:.2} s: {} added, {} updated, {} moved, {} removed, {} unchanged; {} failed, {} unsupported",
                    report.seen,
                    report.elapsed.as_secs_f64(),
                    report.added,
                    report.updated,
                    report.moved,
                    report.removed,
                    report.unchanged,
                    report.failed,
                    report.unsupported
                )?;
            }
            for e in &report.walk_errors {
                eprintln!("valence: warning: {e}");
            }
            drop(lib);
            daily_backup(&db_path(cli.db));
        }
        Command::Backup {
            list,
            restore,
            start_new,
            json,
        } => run_backup(&db_path(cli.db), list, restore, start_new, json, &mut out)?,
        Command::List { json } => {
            let lib = open_library(cli.db)?;
            let tracks = lib.tracks()?;
            if json {
                print_json(&mut out, &tracks)?;
            } else {
                for t in &tracks {
                    writeln!(out, "{}", list_line(t))?;
                }
            }
        }
        Command::Status { json } => {
            let lib = open_library(cli.db)?;
            let counts = lib.counts()?;
            let failures = lib.failures()?;
            let version = crate::analysis::default_version()?;
            let analysis = lib.analysis_counts(&version)?;
            let analysis_failures: Vec<_> = lib
                .browse(&version)?
                .into_iter()
                .filter(|r| r.analysis_error.is_some())
                .collect();
            if json {
                let v = serde_json::json!({
                    "database": lib.path().display().to_string(),
                    "schema_version": lib.schema_version()?,
                    "counts": counts,
                    "analysis": analysis,
                    "analysis_version": version,
                    "failures": failures,
                    "analysis_failures": analysis_failures,
                    "compute_device": crate::model::device::describe_without_loading(),
                });
                print_json(&mut out, &v)?;
            } else {
                writeln!(out, "library:   {}", lib.path().display())?;
                writeln!(out, "tracks:    {}", counts.tracks)?;
                writeln!(
                    out,
                    "analysed:  {} (pending {}, failed {}; model {})",
                    analysis.analysed, analysis.pending, analysis.failed, version.model
                )?;
                writeln!(out, "failed:    {}", counts.failed)?;
                writeln!(out, "unsupported: {}", counts.unsupported)?;
                writeln!(
                    out,
                    "compute:   {}",
                    crate::model::device::describe_without_loading()
                )?;
                for f in &failures {
                    writeln!(
                        out,
                        "  {}: {}",
                        f.path.display(),
                        f.error.as_deref().unwrap_or("unknown error")
                    )?;
                }
                if !analysis_failures.is_empty() {
                    writeln!(out, "analysis failures:")?;
                }
                for f in &analysis_failures {
                    writeln!(
                        out,
                        "  {}: {}",
                        f.path.display(),
                        f.analysis_error.as_deref().unwrap_or("unknown error")
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// `valence man`: with `dir`, valence.1 and a page per subcommand at every level
/// (clap_mangen names them valence-scan.1, valence-playlist-new.1, ...), the list of files on
/// stderr; without, valence.1 on stdout.
fn write_man_pages(dir: Option<&std::path::Path>, out: &mut impl Write) -> Result<()> {
    // Built once so that every subcommand knows its full name (`valence-playlist-new`) and
    // the global options; the generated `help` subcommand gets no page.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let Some(dir) = dir else {
        clap_mangen::Man::new(cmd).render(out)?;
        return Ok(());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut pending = vec![cmd];
    let mut written = 0;
    while let Some(c) = pending.pop() {
        pending.extend(c.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
        let path = clap_mangen::Man::new(c)
            .generate_to(dir)
            .with_context(|| format!("writing a manual page into {}", dir.display()))?;
        eprintln!("valence: wrote {}", path.display());
        written += 1;
    }
    eprintln!("valence: {written} manual pages in {}", dir.display());
    Ok(())
}

pub(crate) fn fmt_duration(secs: Option<f64>) -> String {
    match secs {
        Some(s) if s.is_finite() && s >= 0.0 => {
            let s = s.round() as u64;
            format!("{}:{:02}", s / 60, s % 60)
        }
        _ => "-:--".into(),
    }
}

fn list_line(t: &TrackRow) -> String {
    format!(
        "{:>6}  {:<24.24}  {:<32.32}  {:<24.24}  {:>6}",
        t.id,
        t.tags.artist.as_deref().unwrap_or("Unknown artist"),
        t.tags.title.as_deref().unwrap_or("Untitled"),
        t.tags.album.as_deref().unwrap_or(""),
        fmt_duration(t.tags.duration_secs)
    )
}
