//! Scanning folders into the library: tags, incremental rescans, moves, deletions, and every
//! kind of bad file recorded with a reason instead of crashing the scan.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use valence::library::{scan, FileStatus, Library, ScanOptions, ScanReport};

fn do_scan(lib: &mut Library, root: &Path) -> ScanReport {
    scan(lib, &[root.to_path_buf()], &ScanOptions::default()).expect("scan")
}

fn tags(title: &str) -> common::Tags<'_> {
    common::Tags {
        title,
        artist: "Synth Ensemble",
        album: "Test Tones",
        track: 7,
        year: 2024,
        genre: "Ambient",
    }
}

#[test]
fn tags_of_every_format_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir(&music).unwrap();
    for (i, (_, _, label)) in common::FORMATS.iter().enumerate() {
        let t = tags(label);
        common::sine_file(
            &music,
            &format!("tagged-{label}"),
            i,
            330.0,
            2.0,
            44100,
            Some(&t),
        );
    }
    let mut lib = Library::open_in_memory().unwrap();
    let r = do_scan(&mut lib, &music);
    assert_eq!(r.added, common::FORMATS.len(), "{r:?}");
    assert_eq!(r.failed, 0, "{:?}", lib.failures().unwrap());
    let tracks = lib.tracks().unwrap();
    assert_eq!(tracks.len(), common::FORMATS.len());
    for t in &tracks {
        let name = t.path.file_name().unwrap().to_string_lossy().to_string();
        let label = name
            .trim_start_matches("tagged-")
            .split('.')
            .next()
            .unwrap();
        assert_eq!(t.tags.title.as_deref(), Some(label), "{name}");
        assert_eq!(t.tags.artist.as_deref(), Some("Synth Ensemble"), "{name}");
        assert_eq!(t.tags.album.as_deref(), Some("Test Tones"), "{name}");
        assert_eq!(t.tags.genre.as_deref(), Some("Ambient"), "{name}");
        assert_eq!(t.tags.track_no, Some(7), "{name}");
        assert_eq!(t.tags.year, Some(2024), "{name}");
        let d = t.tags.duration_secs.unwrap_or(0.0);
        assert!((d - 2.0).abs() < 0.1, "{name}: duration {d}");
    }
}

#[test]
fn untagged_file_takes_its_name() {
    let dir = tempfile::tempdir().unwrap();
    common::write_sine_wav(
        &dir.path().join("04 - The Band - A Song.wav"),
        440.0,
        0.5,
        8000,
        1,
    );
    let mut lib = Library::open_in_memory().unwrap();
    do_scan(&mut lib, dir.path());
    let t = &lib.tracks().unwrap()[0];
    assert_eq!(t.tags.title.as_deref(), Some("A Song"));
    assert_eq!(t.tags.artist.as_deref(), Some("The Band"));
    assert_eq!(t.tags.track_no, Some(4));
}

fn set_mtime(p: &Path, secs_ago: u64) {
    let f = std::fs::File::options().write(true).open(p).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(secs_ago))
        .unwrap();
}

#[test]
fn rescan_after_modify_delete_and_move() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lib");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    let a = common::sine_file(&root, "a", 2, 440.0, 1.0, 44100, Some(&tags("Alpha")));
    let b = common::sine_file(&root, "b", 1, 550.0, 1.0, 44100, Some(&tags("Beta")));
    let c = common::sine_file(&root, "c", 0, 660.0, 1.0, 44100, None);
    let db = dir.path().join("lib.sqlite3");
    let mut lib = Library::open(&db).unwrap();
    let r = do_scan(&mut lib, &root);
    assert_eq!((r.added, r.unchanged), (3, 0));

    // Unchanged: nothing is reopened.
    let r = do_scan(&mut lib, &root);
    assert_eq!((r.added, r.updated, r.unchanged, r.removed), (0, 0, 3, 0));

    // Modify a: new content and tags, new mtime.
    let b_id = lib
        .track_by_path(&b.canonicalize().unwrap())
        .unwrap()
        .unwrap()
        .id;
    common::sine_file(&root, "a", 2, 440.0, 1.5, 44100, Some(&tags("Alpha v2")));
    set_mtime(&a, 5);
    // Move b into sub/, delete c.
    let b_new = root.join("sub/b-moved.mp3");
    std::fs::rename(&b, &b_new).unwrap();
    std::fs::remove_file(&c).unwrap();
    drop(lib);
    let mut lib = Library::open(&db).unwrap();
    let r = do_scan(&mut lib, &root);
    assert_eq!(
        (r.updated, r.moved, r.removed, r.added, r.unchanged),
        (1, 1, 1, 0, 0),
        "{r:?}"
    );
    let tracks = lib.tracks().unwrap();
    assert_eq!(tracks.len(), 2);
    let a_row = tracks.iter().find(|t| t.path.ends_with("a.flac")).unwrap();
    assert_eq!(a_row.tags.title.as_deref(), Some("Alpha v2"));
    let moved = lib
        .track_by_path(&b_new.canonicalize().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(moved.id, b_id, "a moved file keeps its id");
    assert_eq!(moved.tags.title.as_deref(), Some("Beta"));
}

#[test]
fn missing_root_does_not_wipe_its_tracks() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("usb");
    std::fs::create_dir(&root).unwrap();
    common::write_sine_wav(&root.join("x.wav"), 440.0, 0.5, 8000, 1);
    let mut lib = Library::open_in_memory().unwrap();
    do_scan(&mut lib, &root);
    std::fs::rename(&root, dir.path().join("elsewhere")).unwrap();
    let r = do_scan(&mut lib, &root);
    assert_eq!(r.removed, 0);
    assert_eq!(r.walk_errors.len(), 1, "{r:?}");
    assert_eq!(lib.tracks().unwrap().len(), 1);
}

/// Runs `f` on a thread whose file-system uid is `nobody` when we are root, so permission
/// bits apply (setfsuid from 0 drops CAP_DAC_OVERRIDE for that thread only).
fn as_unprivileged<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: setfsuid only changes this thread's file-system credentials.
            unsafe {
                if libc::geteuid() == 0 {
                    libc::setfsuid(65534);
                    libc::setfsgid(65534);
                }
            }
            f()
        })
        .join()
        .expect("scan thread")
    })
}

#[test]
fn bad_files_are_recorded_with_reasons_and_not_retried() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let root = dir.path().join("music");
    std::fs::create_dir(&root).unwrap();
    let good = common::sine_file(&root, "good", 2, 440.0, 1.0, 44100, None);
    // Corrupt: random bytes behind a FLAC name; truncated mp3 header garbage.
    let mut x: u64 = 42;
    let noise: Vec<u8> = (0..40_000)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as u8
        })
        .collect();
    std::fs::write(root.join("corrupt.flac"), &noise).unwrap();
    std::fs::write(root.join("empty.mp3"), b"").unwrap();
    std::fs::write(root.join("readme.mp3"), "not audio at all\n".repeat(100)).unwrap();
    std::fs::write(root.join("voice.opus"), &noise[..1000]).unwrap();
    std::fs::write(root.join("cover.jpg"), &noise[..100]).unwrap();
    let locked = root.join("locked.wav");
    common::write_sine_wav(&locked, 440.0, 0.5, 8000, 1);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Names: non-UTF-8 bytes and unicode.
    let raw = PathBuf::from(std::ffi::OsStr::from_bytes(b"caf\xe9 latin1.wav"));
    common::write_sine_wav(&root.join(&raw), 440.0, 0.5, 8000, 1);
    let uni = root.join("Ünïcødé – 日本の歌 🎵.flac");
    std::fs::copy(
        common::sine_file(dir.path(), "src", 2, 440.0, 0.5, 44100, None),
        &uni,
    )
    .unwrap();
    // A symlink loop: music/loop -> music.
    std::os::unix::fs::symlink(&root, root.join("loop")).unwrap();
    for p in std::fs::read_dir(&root).unwrap().flatten() {
        if p.path() != locked {
            let mode = if p.path().is_dir() { 0o755 } else { 0o644 };
            std::fs::set_permissions(p.path(), std::fs::Permissions::from_mode(mode)).ok();
        }
    }

    let db = dir.path().join("lib.sqlite3");
    let locked_readable = as_unprivileged(|| std::fs::File::open(&locked).is_ok());
    let (r1, r2, tracks, failures) = as_unprivileged(|| {
        let mut lib = Library::open(&db).unwrap();
        let r1 = do_scan(&mut lib, &root);
        let r2 = do_scan(&mut lib, &root);
        (r1, r2, lib.tracks().unwrap(), lib.failures().unwrap())
    });

    let names: Vec<String> = tracks
        .iter()
        .map(|t| t.path.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    assert!(names.contains(&"good.flac".to_string()), "{names:?}");
    assert!(names
        .iter()
        .any(|n| n.starts_with("caf") && n.ends_with("latin1.wav")));
    assert!(names.contains(&"Ünïcødé – 日本の歌 🎵.flac".to_string()));
    let raw_row = tracks.iter().find(|t| t.path.ends_with(&raw)).unwrap();
    assert_eq!(
        raw_row.path.file_name().unwrap().as_bytes(),
        raw.as_os_str().as_bytes()
    );

    let reason = |name: &str| {
        failures
            .iter()
            .find(|f| f.path.file_name().unwrap().to_string_lossy() == name)
            .map(|f| (f.status, f.error.clone().unwrap_or_default()))
            .unwrap_or_else(|| panic!("{name} not recorded as failed: {failures:?}"))
    };
    let (st, why) = reason("corrupt.flac");
    assert_eq!(st, FileStatus::Failed);
    assert!(!why.is_empty());
    assert_eq!(
        reason("empty.mp3"),
        (FileStatus::Failed, "empty file (0 bytes)".into())
    );
    let (st, why) = reason("readme.mp3");
    assert_eq!(st, FileStatus::Failed);
    assert!(
        why.contains("unsupported") || why.contains("malformed") || why.contains("decode"),
        "{why}"
    );
    let (st, why) = reason("voice.opus");
    assert_eq!(st, FileStatus::Unsupported);
    assert!(why.contains(".opus"), "{why}");
    if locked_readable {
        eprintln!("note: this process can read mode-000 files (no setfsuid?); permission case not checked");
    } else {
        let (st, why) = reason("locked.wav");
        assert_eq!(st, FileStatus::Failed);
        assert!(why.to_lowercase().contains("permission"), "{why}");
    }
    assert!(
        !failures.iter().any(|f| f.path.ends_with("cover.jpg")),
        "non-audio files are ignored"
    );
    assert!(
        r1.walk_errors.iter().any(|e| e.contains("loop")),
        "{:?}",
        r1.walk_errors
    );
    // Failed files are not retried until they change.
    assert_eq!((r2.added, r2.updated, r2.failed), (0, 0, 0), "{r2:?}");
    assert_eq!(r2.unchanged, r1.seen);
    assert!(good.exists());
}

#[test]
fn cli_scan_list_status_and_errors() {
    use std::process::Command;
    let exe = env!("CARGO_BIN_EXE_valence");
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir(&music).unwrap();
    common::sine_file(&music, "one", 1, 440.0, 1.0, 44100, Some(&tags("One")));
    std::fs::write(music.join("bad.mp3"), b"garbage").unwrap();
    let db = dir.path().join("x.sqlite3");
    let run = |args: &[&str]| {
        Command::new(exe)
            .arg("--db")
            .arg(&db)
            .args(args)
            .env_remove("VALENCE_DB")
            .output()
            .unwrap()
    };
    let o = run(&["scan", music.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["list", "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["title"], "One");
    let o = run(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["counts"]["tracks"], 1);
    assert_eq!(v["counts"]["failed"], 1);
    assert!(v["failures"][0]["error"].as_str().unwrap().len() > 3);
    let o = run(&["status"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("bad.mp3"), "{text}");

    // VALENCE_DB is honoured, and errors exit non-zero with a message on stderr.
    let o = Command::new(exe)
        .args(["list"])
        .env("VALENCE_DB", &db)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("One"));
    let o = Command::new(exe)
        .args(["--db", "/proc/valence-cannot-be-here/x.sqlite3", "list"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("error"));
}

/// A broken database gives a clear message through the command line, `scan` keeps a daily
/// backup, and `valence backup --restore` mends the library while keeping the broken file.
#[test]
fn cli_a_damaged_library_is_named_and_restored_from_its_backup() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir(&music).unwrap();
    common::sine_file(&music, "one", 1, 440.0, 1.0, 44100, Some(&tags("One")));
    let db = dir.path().join("lib.sqlite3");
    let o = common::valence_cli(&db, &["scan", music.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let list = common::valence_cli(&db, &["backup", "--list"]);
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    assert_eq!(
        listed.lines().count(),
        1,
        "scan made today's backup: {listed}"
    );
    assert!(listed.contains("(newest good)"), "{listed}");

    // Truncated to half, as a full disk or a bad copy leaves it.
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
    }
    let len = std::fs::metadata(&db).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let o = common::valence_cli(&db, &["list"]);
    assert!(!o.status.success());
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(
        said.contains("is not a usable Valence library: it is truncated"),
        "{said}"
    );
    assert!(said.contains("valence backup --restore"), "{said}");

    let o = common::valence_cli(&db, &["backup", "--restore"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = common::valence_cli(&db, &["list"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("One"));
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("lib.sqlite3.damaged-")
        })
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        kept[0].metadata().unwrap().len(),
        len / 2,
        "the broken file is kept"
    );
}
