//! A broken library is not the end (issue 17, point 4), in the window: opening a library
//! makes today's backup; a damaged file at the library's path gets the recovery screen
//! instead of a crash or a silent new library; restoring puts the newest good backup back
//! and keeps the damaged file beside it; without a backup, a new library can be started.

mod common;

use common::window::{self, run};

use std::path::{Path, PathBuf};

use valence::audio::player::{AudioOutput, OutputError};
use valence::gui::{player, App};
use valence::library::backup;

const WINDOW: (f32, f32) = (1280.0, 800.0);

fn shows(app: &App, label: &str) -> bool {
    window::shows(app, WINDOW.into(), label)
}

fn no_device() -> Result<AudioOutput, OutputError> {
    Err(OutputError::Device("test".into()))
}

fn open(db: &Path) -> App {
    let (mut app, task) = App::with_db(db.to_path_buf(), no_device as player::Opener);
    run(&mut app, task);
    app
}

fn demo(dir: &Path, tracks: usize) -> PathBuf {
    let db = dir.join("lib.sqlite3");
    let v = valence::analysis::default_version().expect("the shipped model");
    let cal = valence::analysis::default_calibration().unwrap_or_default();
    valence::library::demo::write_demo_library(&db, tracks, 0, 5, &v, &cal).expect("demo");
    db
}

fn damaged_copies(db: &Path) -> Vec<PathBuf> {
    let name = db.file_name().expect("name").to_string_lossy().into_owned();
    let mut out: Vec<PathBuf> = std::fs::read_dir(db.parent().expect("dir"))
        .expect("read_dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{name}.damaged-")))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn gui_a_damaged_library_offers_its_backup_and_keeps_the_damaged_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = demo(dir.path(), 40);
    let app = open(&db);
    assert_eq!(app.library.rows().len(), 40);
    drop(app);
    // Opening the window made today's backup.
    let backups = backup::list(&db);
    assert_eq!(backups.len(), 1, "{backups:?}");

    // The file is overwritten by something else (a text file saved over it).
    let text = b"# notes\nthis is not a music library\n".repeat(20);
    std::fs::remove_file(format!("{}-wal", db.display())).ok();
    std::fs::remove_file(format!("{}-shm", db.display())).ok();
    std::fs::write(&db, &text).expect("overwrite");
    let mut app = open(&db);
    assert!(shows(&app, "The library cannot be opened"));
    assert!(shows(&app, "Start a new library"));
    let restore = format!("Restore the backup of {}", backups[0].date);
    assert!(shows(&app, &restore));
    // Nothing was changed before the user chose.
    assert_eq!(std::fs::read(&db).expect("read"), text);

    window::click(&mut app, WINDOW.into(), &restore);
    assert_eq!(app.library.rows().len(), 40, "the backup's tracks are back");
    let said = app.notice().expect("a notice").to_string();
    assert!(
        said.starts_with(&format!("Restored the backup of {}", backups[0].date)),
        "{said}"
    );
    let kept = damaged_copies(&db);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        std::fs::read(&kept[0]).expect("read"),
        text,
        "the damaged file is kept"
    );
}

#[test]
fn gui_without_a_backup_a_new_library_can_be_started() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("lib.sqlite3");
    // Another program's database at the library's path: Valence must not write into it.
    let c = rusqlite::Connection::open(&db).expect("sqlite");
    c.execute_batch("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
        .expect("create");
    drop(c);
    let before = std::fs::read(&db).expect("read");
    let mut app = open(&db);
    assert!(shows(&app, "The library cannot be opened"));
    assert!(shows(&app, "There is no good backup of this library."));
    assert_eq!(std::fs::read(&db).expect("read"), before, "left as it was");

    window::click(&mut app, WINDOW.into(), "Start a new library");
    // A new, empty library: the first-run screen asks for music folders.
    assert!(shows(&app, "Welcome to Valence"), "no first-run screen");
    let kept = damaged_copies(&db);
    assert_eq!(kept.len(), 1);
    assert_eq!(std::fs::read(&kept[0]).expect("read"), before);
}

/// Missing pieces degrade gracefully (issue 17, point 6): without the analysis engine or
/// with a corrupt model file, the library still opens and lists its tracks, and a banner says
/// why analysis is off. Each case runs this test binary again with the piece taken away
/// (its environment), so that no test here changes the environment of the others.
#[test]
fn gui_missing_engine_or_models_turn_analysis_off_with_a_banner() {
    let exe = std::env::current_exe().expect("this test binary");
    // Asset folders are searched in order; this one comes first and holds a corrupt model
    // config (a half-written file).
    let assets = tempfile::tempdir().expect("tempdir");
    let emotion = assets
        .path()
        .join(valence::model::emotion::EMOTION_ASSET_DIR);
    std::fs::create_dir_all(&emotion).expect("mkdir");
    std::fs::write(emotion.join("config.json"), b"{\"version\": \"emoti").expect("write");
    let assets = assets.path().to_string_lossy().into_owned();
    for (var, value) in [
        ("VALENCE_ENGINE", "/nonexistent/valence-engine"),
        ("VALENCE_ASSETS", assets.as_str()),
    ] {
        let out = std::process::Command::new(&exe)
            .args(["--ignored", "--exact", "degraded_window", "--nocapture"])
            .env(var, value)
            .env("VALENCE_DEGRADED", var)
            .output()
            .expect("run the inner test");
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "{var}={value}:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The inner half of the test above (run by it, with one piece missing).
#[test]
#[ignore = "run by gui_missing_engine_or_models_turn_analysis_off_with_a_banner"]
fn degraded_window() {
    let Ok(missing) = std::env::var("VALENCE_DEGRADED") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("lib.sqlite3");
    // Without the model files no version is current: the results show as pending, which
    // is what a user with missing assets sees, and must not start an analysis.
    let v = valence::analysis::default_version().unwrap_or_else(|_| {
        valence::library::AnalysisVersion {
            features: valence::features::FEATURES_VERSION,
            model: "a model that was there before".into(),
        }
    });
    valence::library::demo::write_demo_library(&db, 25, 0, 5, &v, &Default::default())
        .expect("demo");
    let app = open(&db);
    assert_eq!(app.library.rows().len(), 25, "the library still opens");
    let banner = if missing == "VALENCE_ENGINE" {
        "analysis is off: the analysis engine is missing (/nonexistent/valence-engine); install valence-engine beside valence".to_string()
    } else {
        let e = valence::analysis::default_version().expect_err("a corrupt model config");
        format!("emotion model unavailable: {e}")
    };
    assert!(shows(&app, &banner), "no banner {banner:?}");
    assert!(
        !app.is_analysing(),
        "analysis started without its {missing}"
    );
}

/// A library that cannot be opened for another reason (here a newer Valence's database) is
/// not shown as an empty library: no first-run screen offering to start over it.
#[test]
fn gui_a_library_that_cannot_be_opened_is_not_taken_for_an_empty_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("lib.sqlite3");
    let c = rusqlite::Connection::open(&db).expect("sqlite");
    c.pragma_update(None, "user_version", 999).expect("version");
    drop(c);
    let app = open(&db);
    assert!(shows(&app, "The library cannot be opened"));
    assert!(shows(&app, "Try again"));
    assert!(
        !shows(&app, "Welcome to Valence"),
        "the first-run screen over a library"
    );
}
