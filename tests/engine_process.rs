//! Inference in its own process (issue 16, instant start): `valence` does not load libtorch,
//! `valence-engine` does; the window's analysis runs there, with its progress, pause and
//! cancel crossing the pipe; an engine that dies is reported, not hung on.

mod common;

use std::path::Path;
use std::process::Command;

use valence::analysis::remote::{self, Event};
use valence::analysis::{default_version, Control, EngineError, EngineOptions};
use valence::library::Library;

const VALENCE: &str = env!("CARGO_BIN_EXE_valence");
const ENGINE: &str = env!("CARGO_BIN_EXE_valence-engine");

/// The shared objects the dynamic loader maps for `exe` (glibc's `ldd` mode: nothing runs).
fn loaded_libraries(exe: &str) -> String {
    let o = Command::new(exe)
        .env("LD_TRACE_LOADED_OBJECTS", "1")
        .output()
        .expect("trace the loader");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Writes an executable script. A child process writes it, so no file descriptor of this
/// process is open on it for writing: another test thread's fork could inherit such a
/// descriptor until its exec, and running the script would then fail with ETXTBSY ("Text
/// file busy").
fn write_script(path: &Path, text: &str) {
    use std::io::Write;
    let mut sh = Command::new("sh")
        .arg("-c")
        .arg("cat > \"$0\" && chmod 755 \"$0\"")
        .arg(path)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("sh");
    sh.stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    assert!(
        sh.wait().expect("wait").success(),
        "writing {}",
        path.display()
    );
}

#[test]
fn valence_starts_without_libtorch_and_the_engine_has_it() {
    let front = loaded_libraries(VALENCE);
    assert!(front.contains("libc.so"), "{front}");
    assert!(
        !front.contains("libtorch") && !front.contains("libc10"),
        "valence loads libtorch at start:\n{front}"
    );
    let engine = loaded_libraries(ENGINE);
    assert!(engine.contains("libtorch_cpu"), "{engine}");

    // The light commands answer without it, and the network ones are handed over.
    let o = Command::new(VALENCE)
        .arg("--version")
        .output()
        .expect("run");
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("valence "));
}

fn small_library(dir: &Path, n: usize) -> std::path::PathBuf {
    let music = dir.join("music");
    std::fs::create_dir_all(&music).expect("mkdir");
    for i in 0..n {
        common::write_sine_wav(
            &music.join(format!("tone{i}.wav")),
            220.0 * (i + 1) as f32,
            12.0,
            22050,
            1,
        );
    }
    let db = dir.join("lib.db");
    common::scanned_library(&db, &music);
    db
}

fn opts() -> EngineOptions {
    EngineOptions {
        jobs: 2,
        ..EngineOptions::default()
    }
}

#[test]
fn the_window_route_analyses_in_the_engine_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = small_library(dir.path(), 4);
    let mut events = Vec::new();
    let summary = remote::run_with(Path::new(ENGINE), &db, &opts(), &Control::new(), |e| {
        events.push(e)
    })
    .expect("analysis in the engine");
    assert_eq!((summary.progress.done, summary.progress.failed), (4, 0));
    assert!(!summary.cancelled);
    assert!(matches!(events.first(), Some(Event::Loading)), "{events:?}");
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Started { device } if !device.is_empty())));
    // One progress per stored track names it, so the window can refresh its row.
    let mut stored: Vec<i64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Progress(p) => p.last.as_ref().map(|t| t.id),
            _ => None,
        })
        .collect();
    stored.sort();
    let lib = Library::open(&db).expect("open");
    let version = default_version().expect("version");
    let counts = lib.analysis_counts(&version).expect("counts");
    assert_eq!((counts.analysed, counts.pending), (4, 0));
    let mut ids: Vec<i64> = lib.tracks().expect("tracks").iter().map(|t| t.id).collect();
    ids.sort();
    assert_eq!(stored, ids);
}

#[test]
fn pause_and_cancel_cross_the_pipe_and_the_rest_stays_pending() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = small_library(dir.path(), 12);
    let control = Control::new();
    let c = control.clone();
    let mut saw_paused = false;
    let summary = remote::run_with(Path::new(ENGINE), &db, &opts(), &control, |e| match e {
        // Pause as soon as the networks are loaded; cancel once the engine says it paused.
        Event::Started { .. } => c.set_paused(true),
        Event::Progress(p) if p.paused => {
            saw_paused = true;
            c.cancel();
        }
        _ => {}
    })
    .expect("a cancelled run still ends with its summary");
    assert!(saw_paused, "the engine never reported the pause");
    assert!(summary.cancelled, "{summary:?}");
    let lib = Library::open(&db).expect("open");
    let counts = lib
        .analysis_counts(&default_version().expect("version"))
        .expect("counts");
    // What was stored is kept; the rest is left for the next run.
    assert_eq!(
        counts.analysed as usize,
        summary.progress.done - summary.progress.failed
    );
    assert_eq!(counts.analysed + counts.pending, 12);
    assert!(counts.pending > 0, "{counts:?}");
}

#[test]
fn an_engine_that_dies_is_reported_with_how_and_its_last_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = dir.path().join("fake-engine");
    // Says it is loading, complains, and dies: a crash as the window would see one.
    write_script(
        &fake,
        "#!/bin/sh\necho '\"loading\"'\necho 'libtorch: out of memory' >&2\nexit 3\n",
    );
    let mut events = Vec::new();
    let e = remote::run_with(
        &fake,
        &dir.path().join("lib.db"),
        &opts(),
        &Control::new(),
        |e| events.push(e),
    )
    .expect_err("a dead engine is an error");
    let text = e.to_string();
    assert!(matches!(e, EngineError::Process(_)), "{e:?}");
    assert!(text.contains("exit status: 3"), "{text}");
    assert!(text.contains("libtorch: out of memory"), "{text}");
    assert!(matches!(events.as_slice(), [Event::Loading]), "{events:?}");

    // A missing engine says where it looked.
    let missing = dir.path().join("no-such-engine");
    let e = remote::run_with(
        &missing,
        &dir.path().join("lib.db"),
        &opts(),
        &Control::new(),
        |_| {},
    )
    .expect_err("no engine");
    assert!(e.to_string().contains("no-such-engine"), "{e}");
}

#[test]
fn a_failure_the_engine_reports_reaches_the_window_as_its_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = dir.path().join("fake-engine");
    write_script(
        &fake,
        "#!/bin/sh\necho '\"loading\"'\necho '{\"failed\":\"cannot find asset models/emotion\"}'\nexit 1\n",
    );
    let e = remote::run_with(
        &fake,
        &dir.path().join("lib.db"),
        &opts(),
        &Control::new(),
        |_| {},
    )
    .expect_err("a reported failure is an error");
    assert!(
        matches!(&e, EngineError::Reported(t) if t == "cannot find asset models/emotion"),
        "{e:?}"
    );
}
