//! Backups of the library, and a first look at the file before it is opened.
//!
//! - **Daily backups** ([`backup_daily`]): SQLite's online backup API copies the library
//!   while it is in use into `<folder>/<stem>-backups/<stem>-YYYY-MM-DD.sqlite3` (UTC date),
//!   at most one a day; the [`KEEP`] newest are kept. A copy is written beside its final
//!   name, checked (`PRAGMA quick_check`), synced and renamed, so a backup on disk is whole.
//! - **A first look** ([`inspect`]): before SQLite opens the file, its header says whether it
//!   is a database at all and whether it is shorter than its own page count (truncated).
//!   It reads 100 bytes, so it costs nothing at start-up; corruption deeper in the file is
//!   found by SQLite when it reads there, and the opening reports both the same way
//!   ([`StoreError::Damaged`]).
//! - **Mending** ([`restore_newest`], [`start_new`]): the damaged file is never overwritten
//!   or deleted. It is renamed aside (`<name>.damaged-<unix time>`, `-2` etc. when taken, with its `-wal` and
//!   `-shm`), then the newest backup that passes `quick_check` is copied into place, or the
//!   next opening starts a new library.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::store::StoreError;

/// Backups kept: the newest three days that had one.
pub const KEEP: usize = 3;

const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// One backup on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    pub path: PathBuf,
    /// `YYYY-MM-DD` (UTC), the day it was made.
    pub date: String,
}

fn io_err(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Backup {
        path: path.to_path_buf(),
        source: Arc::new(e),
    }
}

fn stem(db: &Path) -> String {
    db.file_stem()
        .map_or("library".into(), |s| s.to_string_lossy().into_owned())
}

/// The folder of the library's backups: `<folder>/<stem>-backups`.
pub fn backup_dir(db: &Path) -> PathBuf {
    db.with_file_name(format!("{}-backups", stem(db)))
}

/// The backups on disk, newest first.
pub fn list(db: &Path) -> Vec<BackupInfo> {
    let prefix = format!("{}-", stem(db));
    let Ok(entries) = std::fs::read_dir(backup_dir(db)) else {
        return Vec::new();
    };
    let mut out: Vec<BackupInfo> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let date = name.strip_prefix(&prefix)?.strip_suffix(".sqlite3")?;
            let valid = date.len() == 10
                && date.bytes().enumerate().all(|(i, b)| {
                    if i == 4 || i == 7 {
                        b == b'-'
                    } else {
                        b.is_ascii_digit()
                    }
                });
            valid.then(|| BackupInfo {
                path: e.path(),
                date: date.to_string(),
            })
        })
        .collect();
    out.sort_by(|a, b| b.date.cmp(&a.date));
    out
}

/// Backs the library up unless today (UTC, at `now` Unix seconds) already has a backup,
/// then keeps the [`KEEP`] newest. Returns the new backup's path, or `None` when one was
/// not due. Only a library that passes `quick_check` is backed up, so that a damaged one
/// never pushes the last good copy out.
pub fn backup_daily(db: &Path, now: i64) -> Result<Option<PathBuf>, StoreError> {
    let date = super::fmt_utc(now)[..10].to_string();
    if list(db).iter().any(|b| b.date == date) {
        return Ok(None);
    }
    let dir = backup_dir(db);
    std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
    let name = format!("{}-{date}.sqlite3", stem(db));
    let dest = dir.join(&name);
    let part = dir.join(format!(".{name}.part"));
    let _ = std::fs::remove_file(&part);
    {
        let src = Connection::open_with_flags(
            db,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        src.busy_timeout(Duration::from_secs(10))?;
        if !quick_check_ok(&src) {
            return Err(StoreError::Damaged {
                path: db.display().to_string(),
                reason: "it fails SQLite's quick_check, so it was not backed up".into(),
            });
        }
        let mut dst = Connection::open(&part)?;
        // Copies page by page while others keep writing (the backup restarts if they do).
        rusqlite::backup::Backup::new(&src, &mut dst)?.run_to_completion(
            4096,
            Duration::ZERO,
            None,
        )?;
        // A backup is one plain file: no -wal beside it.
        dst.pragma_update(None, "journal_mode", "DELETE")?;
        if !quick_check_ok(&dst) {
            drop(dst);
            let _ = std::fs::remove_file(&part);
            return Err(StoreError::Backup {
                path: dest,
                source: Arc::new(std::io::Error::other("the copy fails quick_check")),
            });
        }
    }
    sync_file(&part)?;
    std::fs::rename(&part, &dest).map_err(|e| io_err(&dest, e))?;
    for old in list(db).into_iter().skip(KEEP) {
        std::fs::remove_file(&old.path).map_err(|e| io_err(&old.path, e))?;
    }
    Ok(Some(dest))
}

fn sync_file(path: &Path) -> Result<(), StoreError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_err(path, e))
}

fn quick_check_ok(conn: &Connection) -> bool {
    conn.query_row("PRAGMA quick_check", [], |r| r.get::<_, String>(0))
        .is_ok_and(|s| s == "ok")
}

/// The newest backup that opens and passes `quick_check` with Valence's tables in it.
pub fn newest_good(db: &Path) -> Option<BackupInfo> {
    list(db).into_iter().find(|b| {
        Connection::open_with_flags(&b.path, OpenFlags::SQLITE_OPEN_READ_ONLY).is_ok_and(|c| {
            quick_check_ok(&c)
                && c.query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'tracks'",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .is_ok_and(|n| n == 1)
        })
    })
}

/// Renames the library file (and its `-wal` and `-shm`) aside to
/// `<name>.damaged-<now>`, so that the next opening starts a new library. Returns where
/// the file went, or `None` when there was none.
pub fn start_new(db: &Path, now: i64) -> Result<Option<PathBuf>, StoreError> {
    if !db.exists() {
        return Ok(None);
    }
    // Never over an earlier file set aside (two in the same second): `-2`, `-3`, ...
    let name = |n: u32| {
        let tail = if n < 2 {
            String::new()
        } else {
            format!("-{n}")
        };
        PathBuf::from(format!("{}.damaged-{now}{tail}", db.display()))
    };
    let taken = |p: &PathBuf| {
        ["", "-wal", "-shm"]
            .iter()
            .any(|s| PathBuf::from(format!("{}{s}", p.display())).exists())
    };
    let mut n = 1;
    let mut aside = name(n);
    while taken(&aside) {
        n += 1;
        aside = name(n);
    }
    for suffix in ["-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", db.display()));
        if from.exists() {
            let to = PathBuf::from(format!("{}{suffix}", aside.display()));
            std::fs::rename(&from, &to).map_err(|e| io_err(&from, e))?;
        }
    }
    std::fs::rename(db, &aside).map_err(|e| io_err(db, e))?;
    Ok(Some(aside))
}

/// Sets the library file aside ([`start_new`]) and puts the newest good backup in its
/// place. Returns the backup restored and where the old file went; `None` when no backup
/// is good (then nothing was changed).
pub fn restore_newest(
    db: &Path,
    now: i64,
) -> Result<Option<(BackupInfo, Option<PathBuf>)>, StoreError> {
    let Some(b) = newest_good(db) else {
        return Ok(None);
    };
    let part = PathBuf::from(format!("{}.restoring", db.display()));
    std::fs::copy(&b.path, &part).map_err(|e| io_err(&part, e))?;
    sync_file(&part)?;
    let aside = start_new(db, now)?;
    std::fs::rename(&part, db).map_err(|e| io_err(db, e))?;
    Ok(Some((b, aside)))
}

/// A first look at the file at the library's path, before SQLite opens it: no file or an
/// empty one (what a kill right after creating it leaves) is a new library; otherwise it
/// must start with SQLite's header and be as long as the header says.
pub fn inspect(db: &Path) -> Result<(), StoreError> {
    let damaged = |reason: String| StoreError::Damaged {
        path: db.display().to_string(),
        reason,
    };
    let Ok(mut f) = std::fs::File::open(db) else {
        // Absent, or unreadable: SQLite says which when it opens it.
        return Ok(());
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        return Ok(());
    }
    let mut head = [0u8; 100];
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(damaged(format!("it cannot be read ({e})"))),
        }
    }
    if got < head.len() || &head[..16] != MAGIC {
        let what = if got >= 16 && &head[..16] == MAGIC {
            "it is too short to be a database".to_string()
        } else {
            describe_foreign(&head[..got])
        };
        return Err(damaged(format!("{what} ({len} bytes)")));
    }
    let page_size = match u16::from_be_bytes([head[16], head[17]]) {
        1 => 65_536u64,
        n => u64::from(n),
    };
    let pages = u32::from_be_bytes([head[28], head[29], head[30], head[31]]);
    // The page count is valid only when its "version valid for" matches the change counter.
    let valid = head[24..28] == head[92..96];
    let expected = page_size * u64::from(pages);
    if valid && pages > 0 && len < expected {
        return Err(damaged(format!(
            "it is truncated: it holds {len} of its {expected} bytes"
        )));
    }
    Ok(())
}

/// What a non-database file looks like, for the message.
fn describe_foreign(head: &[u8]) -> String {
    let printable = head
        .iter()
        .take(16)
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    if printable && !head.is_empty() {
        "it is not a SQLite database (it looks like a text file)".into()
    } else {
        "it is not a SQLite database".into()
    }
}

/// Writes `bytes` over the file at `path` (tests: damage a library).
#[doc(hidden)]
pub fn overwrite_for_tests(path: &Path, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.seek(SeekFrom::Start(offset))?;
    f.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::Library;

    const DAY: i64 = 86_400;
    /// 2026-11-22 12:00 UTC.
    const NOON: i64 = 1_795_348_800;

    fn library(dir: &Path) -> PathBuf {
        let db = dir.join("library.sqlite3");
        drop(Library::open(&db).unwrap());
        Connection::open(&db)
            .unwrap()
            .execute_batch(
                "INSERT INTO tracks (path, size, mtime_ns, status, added_at, updated_at) VALUES (x'2f612e666c6163', 1, 1, 'ok', 0, 0)",
            )
            .unwrap();
        db
    }

    #[test]
    fn one_backup_a_day_and_the_three_newest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let db = library(dir.path());
        let first = backup_daily(&db, NOON).unwrap().expect("a first backup");
        assert!(
            first.ends_with("library-backups/library-2026-11-22.sqlite3"),
            "{first:?}"
        );
        // The same day again: not due.
        assert_eq!(backup_daily(&db, NOON + 3600).unwrap(), None);
        for d in 1..=4 {
            assert!(backup_daily(&db, NOON + d * DAY).unwrap().is_some());
        }
        let dates: Vec<String> = list(&db).into_iter().map(|b| b.date).collect();
        assert_eq!(dates, ["2026-11-26", "2026-11-25", "2026-11-24"]);
        // A backup is a whole library with the rows.
        let c = Connection::open(&list(&db)[0].path).unwrap();
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM tracks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        assert!(!backup_dir(&db)
            .join(".library-2026-11-26.sqlite3.part")
            .exists());
    }

    #[test]
    fn a_damaged_library_is_not_backed_up_over_the_good_copies() {
        let dir = tempfile::tempdir().unwrap();
        let db = library(dir.path());
        backup_daily(&db, NOON).unwrap();
        // Garbage over the second page (the tracks table's), as a disk error would leave.
        overwrite_for_tests(&db, 4096, &[0xA5; 4096]).unwrap();
        assert!(backup_daily(&db, NOON + DAY).is_err());
        assert_eq!(list(&db).len(), 1);
    }

    #[test]
    fn the_first_look_tells_text_truncation_and_a_new_file_apart() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.sqlite3");
        assert!(inspect(&p).is_ok(), "no file: a new library");
        std::fs::write(&p, b"").unwrap();
        assert!(inspect(&p).is_ok(), "an empty file: a new library");
        std::fs::write(&p, b"#EXTM3U\n/music/a.flac\n").unwrap();
        let e = inspect(&p).unwrap_err().to_string();
        assert!(
            e.contains("not a SQLite database") && e.contains("text file"),
            "{e}"
        );

        let db = library(dir.path());
        drop(Connection::open(&db).unwrap()); // checkpointed on close
        assert!(inspect(&db).is_ok());
        let len = std::fs::metadata(&db).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
        f.set_len(len / 2).unwrap();
        let e = inspect(&db).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
    }

    #[test]
    fn restoring_sets_the_damaged_file_aside_and_puts_the_newest_good_backup_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = library(dir.path());
        backup_daily(&db, NOON).unwrap();
        let damaged = b"this is not a library at all, just words".to_vec();
        std::fs::write(&db, &damaged).unwrap();
        assert!(Library::open(&db).err().is_some_and(|e| e.is_damaged()));
        let (b, aside) = restore_newest(&db, NOON + 60).unwrap().expect("restored");
        assert_eq!(b.date, "2026-11-22");
        let aside = aside.expect("set aside");
        assert_eq!(
            std::fs::read(&aside).unwrap(),
            damaged,
            "the damaged file is kept"
        );
        let lib = Library::open(&db).unwrap();
        assert_eq!(lib.counts().unwrap().tracks, 1);
    }

    #[test]
    fn starting_new_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("library.sqlite3");
        std::fs::write(&db, b"not a database").unwrap();
        assert_eq!(
            restore_newest(&db, NOON).unwrap(),
            None,
            "no backup: nothing changes"
        );
        assert_eq!(std::fs::read(&db).unwrap(), b"not a database");
        let aside = start_new(&db, NOON).unwrap().expect("moved");
        assert!(aside.to_string_lossy().ends_with(".damaged-1795348800"));
        assert_eq!(std::fs::read(&aside).unwrap(), b"not a database");
        assert_eq!(Library::open(&db).unwrap().counts().unwrap().tracks, 0);
        // A second one in the same second keeps the first aside too.
        std::fs::write(&db, b"damaged again").unwrap();
        let second = start_new(&db, NOON).unwrap().expect("moved");
        assert!(second.to_string_lossy().ends_with(".damaged-1795348800-2"));
        assert_eq!(std::fs::read(&aside).unwrap(), b"not a database");
        assert_eq!(std::fs::read(&second).unwrap(), b"damaged again");
    }
}
