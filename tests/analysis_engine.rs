//! The background analysis engine end to end: a 200-track synthetic library with bad files,
//! readers during the run, a model-version bump, an unreadable file, and SIGKILL at random
//! moments followed by a resume.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{check_consistent, write_song, FORMATS};
use valence::analysis::{
    default_version, Control, Engine, EngineOptions, TrackError, TrackOutcome,
};
use valence::library::{AnalysisVersion, Library};

const BIN: &str = env!("CARGO_BIN_EXE_valence");

fn options() -> EngineOptions {
    EngineOptions {
        jobs: 2,
        nice: 0,
        ..EngineOptions::default()
    }
}

#[test]
fn library_of_200_with_bad_files_analyses_while_readers_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let music = dir.path().join("music");
    std::fs::create_dir_all(music.join("album")).expect("mkdir");
    // 190 WAV songs of 1.5-4 s (the short ones exercise the one-patch fallback) ...
    let mut good = 0;
    for i in 0..190u32 {
        let secs = 1.5 + (i % 6) as f32 * 0.5;
        write_song(&music.join(format!("album/song{i:03}.wav")), secs, i);
        good += 1;
    }
    // ... 5 in the compressed formats (one longer, for a multi-point timeline) ...
    for (k, fmt) in [1usize, 2, 3, 4, 5].iter().enumerate() {
        let wav = dir.path().join(format!("src{k}.wav"));
        write_song(&wav, if k == 0 { 40.0 } else { 4.0 }, 500 + k as u32);
        let (ext, codec, _) = FORMATS[*fmt];
        common::encode(&wav, &music.join(format!("coded{k}.{ext}")), codec, None);
        good += 1;
    }
    // ... and 5 bad files: corrupt, empty, wrong extension, garbage after a header, and
    // one that vanishes between scan and analysis.
    std::fs::write(music.join("corrupt.mp3"), vec![0x5au8; 4096]).expect("write");
    std::fs::write(music.join("empty.flac"), b"").expect("write");
    std::fs::write(music.join("notes.ogg"), b"these are my notes, not audio").expect("write");
    let mut hdr = std::fs::read(music.join("album/song000.wav")).expect("read");
    hdr.truncate(44);
    std::fs::write(music.join("header-only.wav"), hdr).expect("write");
    write_song(&music.join("vanishing.wav"), 3.0, 999);

    let db = dir.path().join("lib.sqlite3");
    common::scanned_library(&db, &music);
    std::fs::remove_file(music.join("vanishing.wav")).expect("rm");

    let engine = Engine::load(options()).expect("load models");
    let v = engine.version().clone();
    assert_eq!(v, default_version().expect("default version"));

    // A reader (the GUI) polls on its own connection while the engine writes.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (db, v, stop) = (db.clone(), v.clone(), stop.clone());
        std::thread::spawn(move || {
            let lib = Library::open(&db).expect("reader open");
            let (mut last, mut reads, mut intermediate) = (0u64, 0u64, false);
            while !stop.load(Ordering::SeqCst) {
                let c = lib.analysis_counts(&v).expect("counts while writing");
                assert!(c.analysed >= last, "analysed count went backwards");
                last = c.analysed;
                if c.analysed > 0 && c.pending > 0 {
                    intermediate = true;
                }
                let rows = lib.browse(&v).expect("browse while writing");
                assert_eq!(rows.len() as u64, c.tracks);
                if let Some(r) = rows.iter().find(|r| r.mood.is_some()) {
                    let a = lib.analysis(r.id, &v).expect("analysis while writing");
                    assert!(a.is_some_and(|a| a.data.is_some_and(|d| !d.timeline.is_empty())));
                }
                reads += 1;
            }
            (reads, intermediate)
        })
    };
    let mut events = 0;
    let mut failed_outcomes = Vec::new();
    let summary = engine
        .run(&db, &Control::new(), |p| {
            events += 1;
            if let Some(TrackOutcome {
                path,
                result: Err(e),
                ..
            }) = &p.last
            {
                failed_outcomes.push((path.clone(), e.clone()));
            }
        })
        .expect("run");
    stop.store(true, Ordering::SeqCst);
    let (reads, intermediate) = reader.join().expect("reader thread");
    assert!(reads > 0);
    assert!(intermediate, "the reader never saw a half-analysed library");
    assert!(events >= summary.progress.done);

    // Everything readable analysed; each bad file refused with its reason, at scan time
    // (tracks.error) or at analysis time (the vanished file, the header without audio).
    let p = &summary.progress;
    assert!(!summary.cancelled);
    let lib = Library::open(&db).expect("open");
    let c = lib.analysis_counts(&v).expect("counts");
    assert_eq!(c.analysed, good as u64, "{c:?}");
    assert_eq!(c.pending, 0);
    assert_eq!(p.done - p.failed, good);
    let rows = lib.browse(&v).expect("browse");
    let failures = lib.failures().expect("failures");
    let reason = |name: &str| -> String {
        failures
            .iter()
            .find(|f| f.path.ends_with(name))
            .and_then(|f| f.error.clone())
            .or_else(|| {
                rows.iter()
                    .find(|r| r.path.ends_with(name))
                    .and_then(|r| r.analysis_error.clone())
            })
            .unwrap_or_else(|| panic!("{name}: no failure recorded"))
    };
    for name in ["corrupt.mp3", "empty.flac", "notes.ogg", "header-only.wav"] {
        assert!(!reason(name).is_empty(), "{name}");
    }
    let why = reason("vanishing.wav").to_lowercase();
    assert!(why.contains("no such file"), "{why}");
    // Progress reports the failure typed by its cause (a file that cannot be read is a
    // preparation error, not a network or internal one), with the text that was stored.
    let (_, vanished) = failed_outcomes
        .iter()
        .find(|(path, _)| path.ends_with("vanishing.wav"))
        .expect("the vanished file is reported as failed");
    assert!(matches!(vanished, TrackError::Prepare(_)), "{vanished:?}");
    assert_eq!(vanished.to_string().to_lowercase(), why);
    assert_eq!(c.failed as usize, p.failed, "{c:?}");
    // Results are complete and plausible.
    let long = rows
        .iter()
        .find(|r| r.path.ends_with("coded0.mp3"))
        .expect("long track");
    let a = lib.analysis(long.id, &v).expect("query").expect("stored");
    assert!(a.current);
    let d = a.data.expect("data");
    assert!((d.duration_s - 40.0).abs() < 0.2, "{}", d.duration_s);
    assert!(d.timeline.len() >= 2, "{}", d.timeline.len());
    assert!((d.probs.iter().sum::<f32>() - 1.0).abs() < 1e-3);
    assert!(d.valence.abs() <= 1.0 && d.arousal.abs() <= 1.0);
    assert_eq!(d.embedding.len(), 200);
    assert!(!d.top_tags.is_empty());
    // Theme scenes' inputs: one audio word per analysed patch, the 50 mean tag values.
    let codebook = valence::themes::default_codebook().expect("the shipped codebook");
    assert!(!d.words.is_empty());
    assert!(
        d.words.len() <= d.timeline.len() * 6,
        "{} words",
        d.words.len()
    );
    assert!(d.words.iter().all(|&w| (w as usize) < codebook.k()));
    assert_eq!(d.tag_means.len(), 50);
    assert!(d.tag_means.iter().all(|p| (0.0..=1.0).contains(p)));
    assert!(d.thumbnail.width > 100 && d.thumbnail.height == 48);
    assert!(d.thumbnail.pixels.iter().any(|&p| p > 128));
    drop(lib);
    let before = check_consistent(&db);

    // A second run finds nothing to do and changes nothing.
    let again = engine.run(&db, &Control::new(), |_| {}).expect("rerun");
    assert_eq!(again.progress.total, 0);
    assert_eq!(check_consistent(&db), before);
}

fn status_json(db: &Path, assets: Option<&Path>) -> serde_json::Value {
    let mut cmd = Command::new(BIN);
    cmd.arg("--db").arg(db).args(["status", "--json"]);
    if let Some(a) = assets {
        cmd.env("VALENCE_ASSETS", a);
    }
    let out = cmd.output().expect("run status");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("status json")
}

fn analyze(db: &Path, assets: Option<&Path>) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--db")
        .arg(db)
        .args(["analyze", "--jobs", "2", "--json"]);
    if let Some(a) = assets {
        cmd.env("VALENCE_ASSETS", a);
    }
    cmd.output().expect("run analyze")
}

fn small_library(dir: &Path, n: u32, secs: f32) -> PathBuf {
    common::song_library(dir, n, secs, 40)
}

#[test]
fn model_version_bump_recomputes_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = small_library(dir.path(), 5, 7.0);
    let out = analyze(&db, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = status_json(&db, None);
    assert_eq!(s["analysis"]["analysed"], 5);
    let out = Command::new(BIN)
        .arg("--db")
        .arg(&db)
        .args(["show", "1", "--json"])
        .output()
        .expect("show");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("show json");
    assert_eq!(shown["analysis"]["current"], true);
    let tl = shown["analysis"]["data"]["timeline"]
        .as_array()
        .expect("timeline");
    assert_eq!(tl.len(), 1, "a 7-s song is one stride window");
    assert!(
        (tl[0]["end_s"].as_f64().unwrap_or(0.0) - 7.0).abs() < 0.05,
        "{shown}"
    );

    // Ship a "new" model: same weights, new version string.
    let assets = dir.path().join("assets");
    common::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models"),
        &assets.join("models"),
    );
    let cfg_path = assets.join("models/emotion/config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cfg_path).expect("read cfg")).expect("cfg json");
    cfg["version"] = "emotion-test-2".into();
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg).expect("json")).expect("write cfg");

    let s = status_json(&db, Some(&assets));
    assert_eq!(
        s["analysis"]["analysed"], 0,
        "old results must not count as current"
    );
    // `show` (by path) says the old result is stale.
    let song = dir.path().join("music/s00.wav");
    let out = Command::new(BIN)
        .arg("--db")
        .arg(&db)
        .arg("show")
        .arg(&song)
        .env("VALENCE_ASSETS", &assets)
        .output()
        .expect("show");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("stale"), "{text}");
    assert!(text.contains("timeline ("), "{text}");
    assert_eq!(s["analysis"]["pending"], 5);
    let out = analyze(&db, Some(&assets));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(summary["progress"]["done"], 5);
    let s = status_json(&db, Some(&assets));
    assert_eq!(s["analysis"]["analysed"], 5);
    let c = rusqlite::Connection::open(&db).expect("db");
    let versions: Vec<String> = c
        .prepare("SELECT DISTINCT model_version FROM analysis")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert!(versions[0].starts_with("emotion-test-2+"), "{versions:?}");
    // And back on the shipped model the results are stale again.
    assert_eq!(status_json(&db, None)["analysis"]["pending"], 5);
    check_consistent(&db);
}

#[test]
fn unreadable_file_fails_with_reason_and_the_run_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = small_library(dir.path(), 3, 4.0);
    let locked = dir.path().join("music/s01.wav");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    // Root reads anything: run the engine on a thread whose file-system uid is `nobody`
    // (setfsuid is per thread and the engine's workers inherit it), with the database
    // writable for it.
    for p in [dir.path().to_path_buf(), db.clone()] {
        let mode = if p.is_dir() { 0o777 } else { 0o666 };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    for side in ["-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{side}", db.display()));
        if p.exists() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        }
    }
    let engine = Engine::load(options()).expect("models");
    let summary = std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: setfsuid only changes this thread's (and its children's) credentials.
            unsafe {
                if libc::geteuid() == 0 {
                    libc::setfsuid(65534);
                    libc::setfsgid(65534);
                }
            }
            engine.run(&db, &Control::new(), |_| {})
        })
        .join()
        .expect("engine thread")
    })
    .expect("run");
    assert_eq!(summary.progress.done, 3);
    let s = status_json(&db, None);
    assert_eq!(s["analysis"]["analysed"], 2, "{s}");
    assert_eq!(s["analysis"]["failed"], 1, "{s}");
    let f = &s["analysis_failures"][0];
    assert!(
        f["path"].as_str().is_some_and(|p| p.ends_with("s01.wav")),
        "{f}"
    );
    let why = f["analysis_error"].as_str().unwrap_or("").to_lowercase();
    assert!(why.contains("permission"), "{why}");
}

#[test]
fn resumes_after_sigkill_at_random_moments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 36;
    let db = small_library(dir.path(), n, 24.0);
    let v: AnalysisVersion = default_version().expect("version");
    // Kill times from the clock, printed so a failure can be replayed.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(1)
        | 1;
    let mut x = seed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let mut done_before: BTreeMap<i64, i64> = BTreeMap::new();
    let mut kills = 0;
    for round in 0..6 {
        let mut child = Command::new(BIN)
            .arg("--db")
            .arg(&db)
            .args(["analyze", "--jobs", "2", "--json"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn analyze");
        let delay = Duration::from_millis(300 + (next() % 2500) as u64);
        let start = Instant::now();
        let mut exited = false;
        while start.elapsed() < delay {
            if child.try_wait().expect("try_wait").is_some() {
                exited = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if !exited {
            child.kill().expect("SIGKILL");
            kills += 1;
        }
        let _ = child.wait();
        let now = check_consistent(&db);
        // No lost work: everything stored before is still there, not recomputed.
        for (id, at) in &done_before {
            assert_eq!(
                now.get(id),
                Some(at),
                "seed {seed}, round {round}: result of {id} lost or redone"
            );
        }
        eprintln!(
            "round {round}: killed after {:?} ({}), {} of {n} stored",
            delay,
            if exited { "had finished" } else { "SIGKILL" },
            now.len()
        );
        done_before = now;
        if exited {
            break;
        }
    }
    assert!(kills >= 1, "seed {seed}: never killed mid-run");
    let out = analyze(&db, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(
        summary["progress"]["total"].as_u64(),
        Some(n as u64 - done_before.len() as u64),
        "seed {seed}: the last run redid stored work"
    );
    let fin = check_consistent(&db);
    assert_eq!(fin.len(), n as usize, "seed {seed}: one result per track");
    for (id, at) in &done_before {
        assert_eq!(fin.get(id), Some(at), "seed {seed}: result of {id} redone");
    }
    let lib = Library::open(&db).expect("open");
    let c = lib.analysis_counts(&v).expect("counts");
    assert_eq!(
        (c.analysed, c.pending, c.failed),
        (n as u64, 0, 0),
        "seed {seed}"
    );
}

/// One emotion output: for every stored result and every timeline point, the stored quadrant
/// is the quadrant of the stored valence/arousal point and the most probable quadrant.
#[test]
fn stored_moods_are_one_coherent_output() {
    use valence::mood::{argmax, Quadrant};
    let dir = tempfile::tempdir().expect("tempdir");
    let db = small_library(dir.path(), 8, 20.0);
    let out = analyze(&db, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = rusqlite::Connection::open(&db).expect("open db");
    let mut stmt = c
        .prepare("SELECT track_id, quadrant, p1, p2, p3, p4, valence, arousal FROM analysis WHERE status = 'ok'")
        .expect("prepare");
    let rows: Vec<(i64, u8, [f32; 4], f32, f32)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
                r.get(6)?,
                r.get(7)?,
            ))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(rows.len(), 8);
    let mut points = 0;
    for (id, q, p, v, a) in rows {
        let of_point = Quadrant::of_point(v, a);
        assert_eq!(
            Quadrant::from_number(q),
            Some(of_point),
            "track {id}: {v} {a}"
        );
        assert_eq!(
            argmax(&p),
            of_point.index(),
            "track {id}: {p:?} at ({v}, {a})"
        );
        let mut seg = c
            .prepare("SELECT p1, p2, p3, p4, valence, arousal FROM analysis_segments WHERE track_id = ?1")
            .expect("prepare");
        let segs: Vec<([f32; 4], f32, f32)> = seg
            .query_map([id], |r| {
                Ok((
                    [r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?],
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("segments");
        assert!(!segs.is_empty());
        for (p, v, a) in segs {
            assert_eq!(
                argmax(&p),
                Quadrant::of_point(v, a).index(),
                "{p:?} at ({v}, {a})"
            );
            points += 1;
        }
    }
    assert!(points >= 8);
    // The library view (what the window's badges read) agrees.
    let lib = Library::open(&db).expect("open");
    for r in lib
        .browse(&default_version().expect("version"))
        .expect("browse")
    {
        let m = r.mood.expect("analysed");
        assert_eq!(m.quadrant, Quadrant::of_point(m.valence, m.arousal));
        assert_eq!(argmax(&m.probs), m.quadrant.index());
    }
}

/// One route: `valence evaluate` on a manifest of a library's files gives, track for track,
/// exactly the result `valence analyze` stored for them.
#[test]
fn evaluate_scores_exactly_what_analyze_stores() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = small_library(dir.path(), 4, 16.0);
    let out = analyze(&db, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let music = dir.path().join("music");
    let mut csv = String::from("path,quadrant,artist,valence,arousal\n");
    for i in 0..4u32 {
        let q = i % 4 + 1;
        csv.push_str(&format!("music/s{i:02}.wav,Q{q},artist {i},0.1,-0.2\n"));
    }
    let manifest = dir.path().join("m.csv");
    std::fs::write(&manifest, csv).expect("manifest");
    let out = Command::new(BIN)
        .args(["evaluate", "--json", "--manifest"])
        .arg(&manifest)
        .output()
        .expect("evaluate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let tracks = ev["tracks"].as_array().expect("tracks");
    assert_eq!(tracks.len(), 4);
    let lib = Library::open(&db).expect("open");
    let version = default_version().expect("version");
    assert_eq!(ev["model_version"], version.model);
    for t in tracks {
        let path = PathBuf::from(t["path"].as_str().expect("path"));
        let name = path.file_name().expect("name").to_owned();
        let row = lib
            .track_by_path(&music.canonicalize().expect("canon").join(&name))
            .expect("query")
            .or_else(|| lib.track_by_path(&music.join(&name)).ok().flatten())
            .expect("track in library");
        let stored = lib
            .analysis(row.id, &version)
            .expect("analysis")
            .and_then(|a| a.data)
            .expect("stored result");
        let f = |v: &serde_json::Value| v.as_f64().expect("number") as f32;
        assert_eq!(f(&t["valence"]), stored.valence, "{}", path.display());
        assert_eq!(f(&t["arousal"]), stored.arousal, "{}", path.display());
        let probs: Vec<f32> = t["probs"]
            .as_array()
            .expect("probs")
            .iter()
            .map(f)
            .collect();
        assert_eq!(probs, stored.probs.to_vec(), "{}", path.display());
        assert_eq!(
            t["predicted"].as_str(),
            Some(stored.quadrant().name()),
            "{}",
            path.display()
        );
    }
}
