//! Kills lose nothing (issue 17, point 3): 20 SIGKILLs at random moments during `valence
//! scan`, and 20 during `valence analyze`. After each one the database passes
//! `PRAGMA integrity_check`, holds no duplicated row, and keeps everything a previous run
//! finished; the next run completes the work. The kill times come from a seed printed at
//! the start (`VALENCE_KILL_SEED=N` replays one).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{check_consistent, write_sine_wav, Rng};

const BIN: &str = env!("CARGO_BIN_EXE_valence");
const KILLS: usize = 20;

/// The kill times' generator (`VALENCE_KILL_SEED` replays a run).
fn rng(what: &str) -> Rng {
    Rng::from_env_or_clock("VALENCE_KILL_SEED", what).0
}

/// Starts `valence --db DB ARGS`, and kills it (SIGKILL) after `delay` unless it ended
/// first. Returns whether it was killed while running.
fn run_and_kill(db: &Path, args: &[&str], delay: Duration) -> bool {
    let mut child = Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn valence");
    let start = Instant::now();
    while start.elapsed() < delay {
        if child.try_wait().expect("try_wait").is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    true
}

/// The scanned tracks, path -> (id, status), after checking the file and the rows.
fn scanned(db: &Path) -> BTreeMap<Vec<u8>, (i64, String)> {
    let c = rusqlite::Connection::open(db).expect("open db");
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(ok, "ok");
    // Killed before the first migration committed: a database with no tables yet, which
    // the next run sets up.
    let tables: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'tracks'",
            [],
            |r| r.get(0),
        )
        .expect("schema");
    if tables == 0 {
        return BTreeMap::new();
    }
    let dups: i64 = c
        .query_row(
            "SELECT COUNT(*) - COUNT(DISTINCT path) FROM tracks",
            [],
            |r| r.get(0),
        )
        .expect("duplicates");
    assert_eq!(dups, 0, "a path stored twice");
    let mut stmt = c
        .prepare("SELECT path, id, status FROM tracks")
        .expect("prepare");
    let rows: rusqlite::Result<BTreeMap<Vec<u8>, (i64, String)>> = stmt
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .expect("query")
        .collect();
    rows.expect("rows")
}

fn many_small_files(root: &Path, n: usize) -> PathBuf {
    let music = root.join("music");
    for i in 0..n {
        // Folders of 50, as albums are.
        let dir = music.join(format!("album {:02}", i / 50));
        std::fs::create_dir_all(&dir).expect("mkdir");
        write_sine_wav(
            &dir.join(format!("{i:04} tone.wav")),
            200.0 + i as f32,
            0.25,
            8000,
            1,
        );
    }
    music
}

#[test]
fn twenty_kills_during_scan_lose_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 3000;
    let music = many_small_files(dir.path(), n);
    let music_arg = music.to_string_lossy().into_owned();
    let db = dir.path().join("lib.sqlite3");
    let mut rng = rng("scan");
    let mut before: BTreeMap<Vec<u8>, (i64, String)> = BTreeMap::new();
    let (mut kills, mut rounds) = (0, 0);
    while kills < KILLS {
        rounds += 1;
        assert!(
            rounds <= 4 * KILLS,
            "the scan kept finishing before its kill"
        );
        // From before the database exists to the end of a whole scan.
        let delay = Duration::from_millis(2 + rng.below(200) as u64);
        let killed = run_and_kill(&db, &["scan", &music_arg], delay);
        if !killed {
            // A scan that finished has nothing left to interrupt: start again from none.
            std::fs::remove_file(&db).expect("remove db");
            for ext in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
            }
            before.clear();
            continue;
        }
        kills += 1;
        if !db.exists() {
            continue;
        }
        let now = scanned(&db);
        for (path, row) in &before {
            assert_eq!(
                now.get(path),
                Some(row),
                "kill {kills}: {} lost or renumbered",
                String::from_utf8_lossy(path)
            );
        }
        eprintln!(
            "scan kill {kills} after {delay:?}: {} of {n} stored",
            now.len()
        );
        before = now;
    }
    // The next run completes the work.
    let out = common::valence_cli(&db, &["scan", &music_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fin = scanned(&db);
    assert_eq!(fin.len(), n);
    assert!(fin.values().all(|(_, s)| s == "ok"));
    for (path, row) in &before {
        assert_eq!(fin.get(path), Some(row));
    }
}

#[test]
fn twenty_kills_during_analyze_lose_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 120u32;
    let db = common::song_library(dir.path(), n, 20.0, 7);
    let mut rng = rng("analyze");
    let mut before: BTreeMap<i64, i64> = BTreeMap::new();
    for kill in 1..=KILLS {
        // From loading the models to well into the run.
        let delay = Duration::from_millis(10 + rng.below(600) as u64);
        let killed = run_and_kill(&db, &["analyze", "--jobs", "2", "--nice", "0"], delay);
        assert!(
            killed,
            "the analysis finished before kill {kill}: give it more music"
        );
        let now = check_consistent(&db);
        for (id, at) in &before {
            assert_eq!(
                now.get(id),
                Some(at),
                "kill {kill}: the result of track {id} was lost or redone"
            );
        }
        eprintln!(
            "analyze kill {kill} after {delay:?}: {} of {n} stored",
            now.len()
        );
        before = now;
    }
    let summary = common::valence_json(&db, &["analyze", "--jobs", "2", "--json"]);
    assert_eq!(
        summary["progress"]["total"].as_u64(),
        Some(u64::from(n) - before.len() as u64),
        "the last run redid stored work"
    );
    let fin = check_consistent(&db);
    assert_eq!(fin.len(), n as usize, "one result per track");
    for (id, at) in &before {
        assert_eq!(fin.get(id), Some(at), "the result of track {id} was redone");
    }
}
