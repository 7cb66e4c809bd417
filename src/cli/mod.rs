//! The command line: `valence scan|list|status`. Errors go to stderr with exit code 1.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::library::{default_db_path, scan, Library, ScanOptions, TrackRow};

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
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("valence: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn open_library(db: Option<PathBuf>) -> Result<Library> {
    let path = db.unwrap_or_else(default_db_path);
    Library::open(&path).with_context(|| format!("opening library {}", path.display()))
}

pub fn run(cli: Cli) -> Result<()> {
    let Some(command) = cli.command else {
        use clap::CommandFactory;
        Cli::command().print_help()?;
        println!();
        return Ok(());
    };
    let mut out = std::io::stdout().lock();
    match command {
        Command::Scan { dirs, jobs, json } => {
            let mut lib = open_library(cli.db)?;
            let opts = ScanOptions {
                jobs,
                ..Default::default()
            };
            let report = scan(&mut lib, &dirs, &opts)?;
            if json {
                serde_json::to_writer_pretty(&mut out, &report)?;
                writeln!(out)?;
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
        }
        Command::List { json } => {
            let lib = open_library(cli.db)?;
            let tracks = lib.tracks()?;
            if json {
                serde_json::to_writer_pretty(&mut out, &tracks)?;
                writeln!(out)?;
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
            if json {
                let v = serde_json::json!({
                    "database": lib.path().display().to_string(),
                    "schema_version": lib.schema_version()?,
                    "counts": counts,
                    "failures": failures,
                    "compute_device": crate::model::device::describe(),
                });
                serde_json::to_writer_pretty(&mut out, &v)?;
                writeln!(out)?;
            } else {
                writeln!(out, "library:   {}", lib.path().display())?;
                writeln!(out, "tracks:    {}", counts.tracks)?;
                writeln!(out, "analysed:  {}", counts.analysed)?;
                writeln!(out, "failed:    {}", counts.failed)?;
                writeln!(out, "unsupported: {}", counts.unsupported)?;
                writeln!(out, "compute:   {}", crate::model::device::describe())?;
                for f in &failures {
                    writeln!(
                        out,
                        "  {}: {}",
                        f.path.display(),
                        f.error.as_deref().unwrap_or("unknown error")
                    )?;
                }
            }
        }
    }
    Ok(())
}

fn fmt_duration(secs: Option<f64>) -> String {
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
        t.artist.as_deref().unwrap_or("Unknown artist"),
        t.title.as_deref().unwrap_or("Untitled"),
        t.album.as_deref().unwrap_or(""),
        fmt_duration(t.duration_secs)
    )
}
