//! Analysis in its own process. Only `valence-engine` links libtorch; the window (and every
//! command that does not infer) runs in `valence`, which starts without it. The window asks
//! the engine to analyse through this module:
//!
//! - it starts `valence-engine --db DB analyze --events ...` with the engine options;
//! - the engine writes one JSON [`Event`] per line on its stdout: `loading`, `started`, a
//!   `progress` after every stored track and a few times a second, then `finished` (the
//!   summary) or `failed` (the reason);
//! - the window writes [`Order`]s as lines on the engine's stdin (`pause`, `resume`,
//!   `cancel`), and stdin closing (the window quit or died) cancels the run: the engine
//!   stores what is in flight and exits.
//!
//! Results go straight into the database (one transaction per track), so a crash or a kill
//! of the engine loses at most the tracks in flight, and it cannot take playback down.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Control, EngineError, EngineOptions, Progress, Summary};
use crate::model::device::DeviceChoice;

/// The engine binary's file name, installed beside `valence`.
pub const ENGINE_BIN: &str = "valence-engine";

/// What the engine says, one JSON object per line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Loading the networks.
    Loading,
    /// The networks are loaded; the run goes on `device`.
    Started {
        device: String,
    },
    Progress(Progress),
    Finished(Summary),
    Failed(String),
}

/// What the window tells a running engine, one per line on its stdin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Pause,
    Resume,
    Cancel,
}

impl Order {
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Pause => "pause",
            Order::Resume => "resume",
            Order::Cancel => "cancel",
        }
    }

    pub fn parse(line: &str) -> Option<Order> {
        match line.trim() {
            "pause" => Some(Order::Pause),
            "resume" => Some(Order::Resume),
            "cancel" => Some(Order::Cancel),
            _ => None,
        }
    }
}

/// Where `valence-engine` is: `$VALENCE_ENGINE` when set, else beside the running binary
/// (for cargo's test binaries in `target/*/deps`, one folder up).
pub fn engine_path() -> Result<PathBuf, EngineError> {
    if let Some(p) = std::env::var_os("VALENCE_ENGINE") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()
        .map_err(|e| EngineError::Process(format!("cannot be found: {e}")))?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let beside = dir.join(ENGINE_BIN);
    if !beside.exists() && dir.file_name().is_some_and(|n| n == "deps") {
        if let Some(up) = dir.parent().map(|d| d.join(ENGINE_BIN)) {
            if up.exists() {
                return Ok(up);
            }
        }
    }
    Ok(beside)
}

/// The engine's command line for a run with `opts` on the library `db`.
pub fn engine_args(db: &Path, opts: &EngineOptions) -> Vec<OsString> {
    let device = match opts.device {
        DeviceChoice::Auto => "auto",
        DeviceChoice::Cpu => "cpu",
        DeviceChoice::Cuda => "cuda",
    };
    let mut args: Vec<OsString> = vec![
        "--db".into(),
        db.into(),
        "analyze".into(),
        "--events".into(),
        "--jobs".into(),
        opts.jobs.to_string().into(),
        "--device".into(),
        device.into(),
        "--stride".into(),
        opts.stride.to_string().into(),
        "--nice".into(),
        opts.nice.to_string().into(),
    ];
    if let Some(b) = opts.batch {
        args.extend(["--batch".into(), b.to_string().into()]);
    }
    args
}

/// Lines of the engine's stderr kept to explain a crash.
const STDERR_TAIL: usize = 6;

/// Runs an analysis of `db` in the engine process and waits for it, passing each event
/// (except the last) to `on_event` and `control`'s pause, resume and cancel on to the engine.
/// The engine's stderr is passed on to ours. Returns the run's summary, the reason the
/// engine gave, or how the process ended when it ended without saying.
pub fn run(
    db: &Path,
    opts: &EngineOptions,
    control: &Arc<Control>,
    on_event: impl FnMut(Event),
) -> Result<Summary, EngineError> {
    run_with(&engine_path()?, db, opts, control, on_event)
}

/// [`run`] with the engine binary at `exe`.
pub fn run_with(
    exe: &Path,
    db: &Path,
    opts: &EngineOptions,
    control: &Arc<Control>,
    mut on_event: impl FnMut(Event),
) -> Result<Summary, EngineError> {
    let mut child = Command::new(exe)
        .args(engine_args(db, opts))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| EngineError::Process(format!("{} cannot be started: {e}", exe.display())))?;
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(EngineError::Process("has no pipes".into()));
    };

    let tail = std::thread::spawn(move || {
        let mut last = VecDeque::with_capacity(STDERR_TAIL);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{line}");
            if last.len() == STDERR_TAIL {
                last.pop_front();
            }
            last.push_back(line);
        }
        last
    });

    // Control changes become orders; when the run is over the pipe closes.
    let over = Arc::new(AtomicBool::new(false));
    let orders = {
        let over = over.clone();
        let control = control.clone();
        std::thread::spawn(move || {
            let (mut paused, mut cancelled) = (false, false);
            while !over.load(Ordering::SeqCst) {
                let mut say =
                    |o: Order| writeln!(stdin, "{}", o.as_str()).and_then(|_| stdin.flush());
                let sent = if control.is_cancelled() && !cancelled {
                    cancelled = true;
                    say(Order::Cancel)
                } else if control.is_paused() != paused {
                    paused = !paused;
                    say(if paused { Order::Pause } else { Order::Resume })
                } else {
                    Ok(())
                };
                if sent.is_err() {
                    // The engine is gone; its stdout says how.
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };

    let mut summary = None;
    let mut failure = None;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        match serde_json::from_str::<Event>(&line) {
            Ok(Event::Finished(s)) => summary = Some(s),
            Ok(Event::Failed(reason)) => failure = Some(reason),
            Ok(e) => on_event(e),
            // Not ours (a library printing to stdout): pass it on.
            Err(_) => eprintln!("{line}"),
        }
    }
    over.store(true, Ordering::SeqCst);
    let status = child.wait();
    let _ = orders.join();
    let tail = tail.join().unwrap_or_default();
    if let Some(s) = summary {
        return Ok(s);
    }
    if let Some(reason) = failure {
        return Err(EngineError::Reported(reason));
    }
    let how = match status {
        Ok(s) => s.to_string(),
        Err(e) => e.to_string(),
    };
    let said = tail.back().map(|l| format!(": {l}")).unwrap_or_default();
    Err(EngineError::Process(format!(
        "stopped before finishing ({how}){said}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_orders_round_trip() {
        let p = Progress {
            total: 3,
            done: 1,
            last: Some(super::super::TrackOutcome {
                id: 7,
                path: "/music/a.flac".into(),
                result: Err(super::super::TrackError::NoAudio),
            }),
            ..Progress::default()
        };
        let line = serde_json::to_string(&Event::Progress(p)).unwrap();
        let Event::Progress(back) = serde_json::from_str(&line).unwrap() else {
            panic!("not a progress event: {line}");
        };
        let last = back.last.expect("last");
        assert_eq!((back.total, back.done, last.id), (3, 1, 7));
        // An error crosses as its text.
        assert_eq!(
            last.result.unwrap_err().to_string(),
            "the file holds no audio"
        );
        for o in [Order::Pause, Order::Resume, Order::Cancel] {
            assert_eq!(Order::parse(&format!("{}\n", o.as_str())), Some(o));
        }
        assert_eq!(Order::parse("stop"), None);
    }

    #[test]
    fn engine_args_carry_the_options() {
        let opts = EngineOptions {
            jobs: 3,
            device: DeviceChoice::Cpu,
            stride: 2,
            batch: Some(4),
            nice: 5,
        };
        let args: Vec<String> = engine_args(Path::new("/tmp/lib.db"), &opts)
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.join(" "),
            "--db /tmp/lib.db analyze --events --jobs 3 --device cpu --stride 2 --nice 5 --batch 4"
        );
    }
}
