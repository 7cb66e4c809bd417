//! Walking music folders into the library: incremental (path + size + mtime), move- and
//! delete-aware, parallel tag reading, batched transactional writes.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::Hasher;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;
use walkdir::WalkDir;

use super::store::{FileRecord, KnownFile};
use super::{read_tags, FileStatus, Library, StoreError};
use crate::audio::{SUPPORTED_EXTENSIONS, UNSUPPORTED_AUDIO_EXTENSIONS};

#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Tag-reading threads (0: one per core).
    pub jobs: usize,
    /// Files written per transaction.
    pub batch: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            jobs: 0,
            batch: 256,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanReport {
    /// Audio files found on disk (supported or not).
    pub seen: usize,
    pub unchanged: usize,
    pub added: usize,
    pub updated: usize,
    pub moved: usize,
    pub removed: usize,
    /// Files read this run that failed (their reasons are stored).
    pub failed: usize,
    pub unsupported: usize,
    /// Problems met while walking (symlink loops, unreadable folders, missing roots).
    pub walk_errors: Vec<String>,
    #[serde(skip)]
    pub elapsed: Duration,
}

struct Found {
    path: PathBuf,
    size: u64,
    mtime_ns: i64,
    supported: bool,
    known_id: Option<i64>,
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
        .unwrap_or(0)
}

fn classify(path: &Path) -> Option<bool> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    if SUPPORTED_EXTENSIONS.contains(&ext.as_str()) {
        Some(true)
    } else if UNSUPPORTED_AUDIO_EXTENSIONS.contains(&ext.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// FNV-1a of the first and last 64 KiB: content identity for move detection without
/// reading whole files. Stable across builds (stored in the database).
fn fingerprint(path: &Path, size: u64) -> Option<i64> {
    const SPAN: u64 = 64 * 1024;
    let mut f = File::open(path).ok()?;
    let mut buf = vec![0u8; SPAN.min(size) as usize];
    f.read_exact(&mut buf).ok()?;
    let mut h = fnv::FnvHasher::default();
    h.write(&buf);
    if size > SPAN {
        f.seek(SeekFrom::Start(size.saturating_sub(SPAN))).ok()?;
        f.read_exact(&mut buf).ok()?;
        h.write(&buf);
    }
    h.write(&size.to_le_bytes());
    Some(h.finish() as i64)
}

fn inspect(found: &Found) -> FileRecord {
    let outcome = if !found.supported {
        let ext = found
            .path
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        Err((
            FileStatus::Unsupported,
            format!("unsupported format: .{ext} files are not decoded"),
        ))
    } else if found.size == 0 {
        Err((FileStatus::Failed, "empty file (0 bytes)".to_string()))
    } else {
        read_tags(&found.path).map_err(|e| (FileStatus::Failed, e.to_string()))
    };
    let fingerprint = if found.size > 0 {
        fingerprint(&found.path, found.size)
    } else {
        None
    };
    FileRecord {
        path: found.path.clone(),
        size: found.size,
        mtime_ns: found.mtime_ns,
        fingerprint,
        outcome,
    }
}

/// Scans `roots` into `lib`. Errors inside the tree are reported, not fatal; only the
/// database failing stops a scan.
pub fn scan(
    lib: &mut Library,
    roots: &[PathBuf],
    opts: &ScanOptions,
) -> Result<ScanReport, StoreError> {
    let started = Instant::now();
    let mut report = ScanReport::default();
    let mut to_read: Vec<Found> = Vec::new();
    // Stored files under the scanned roots not seen this run: deleted or moved.
    let mut missing: HashMap<i64, (PathBuf, KnownFile)> = HashMap::new();

    for root in roots {
        let root = match root.canonicalize() {
            Ok(r) => r,
            Err(e) => {
                // An unmounted drive must not wipe its tracks: no deletions for this root.
                report
                    .walk_errors
                    .push(format!("{}: {e} (folder skipped)", root.display()));
                continue;
            }
        };
        let known: HashMap<PathBuf, KnownFile> = lib.known_under(&root)?.into_iter().collect();
        let mut seen: HashSet<PathBuf> = HashSet::new();
        let mut unreadable_dirs: Vec<PathBuf> = Vec::new();
        for entry in WalkDir::new(&root).follow_links(true) {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let at = e
                        .path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    if e.loop_ancestor().is_some() {
                        report
                            .walk_errors
                            .push(format!("{at}: symlink loop, not followed"));
                    } else {
                        if let Some(p) = e.path() {
                            unreadable_dirs.push(p.to_path_buf());
                        }
                        report.walk_errors.push(format!("{at}: {e}"));
                    }
                    continue;
                }
            };
            if !entry.file_type().is_file() {
                continue;
            }
            let path = entry.into_path();
            let Some(supported) = classify(&path) else {
                continue;
            };
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(e) => {
                    report.walk_errors.push(format!("{}: {e}", path.display()));
                    continue;
                }
            };
            report.seen += 1;
            let (size, mtime) = (meta.len(), mtime_ns(&meta));
            let known_file = known.get(&path);
            seen.insert(path.clone());
            match known_file {
                Some(k) if k.size == size && k.mtime_ns == mtime => report.unchanged += 1,
                _ => to_read.push(Found {
                    path,
                    size,
                    mtime_ns: mtime,
                    supported,
                    known_id: known_file.map(|k| k.id),
                }),
            }
        }
        for (path, k) in known {
            if seen.contains(&path) || unreadable_dirs.iter().any(|d| path.starts_with(d)) {
                continue;
            }
            missing.insert(k.id, (path, k));
        }
    }

    // Missing files by content key, so a new file with the same content is a move.
    let mut by_key: HashMap<(i64, u64), Vec<i64>> = HashMap::new();
    for (id, (_, k)) in &missing {
        if let Some(fp) = k.fingerprint {
            by_key.entry((fp, k.size)).or_default().push(*id);
        }
    }

    let jobs = if opts.jobs == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    } else {
        opts.jobs
    };
    let batch = opts.batch.max(1);
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::sync_channel::<(usize, FileRecord)>(batch * 2);
    let result: Result<(), StoreError> = std::thread::scope(|s| {
        for _ in 0..jobs.min(to_read.len()).max(1) {
            let tx = tx.clone();
            let (next, to_read) = (&next, &to_read);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(found) = to_read.get(i) else { break };
                if tx.send((i, inspect(found))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut files = Vec::with_capacity(batch);
        let mut moves = Vec::new();
        let flush = |files: &mut Vec<FileRecord>,
                     moves: &mut Vec<(i64, PathBuf)>,
                     lib: &mut Library|
         -> Result<(), StoreError> {
            lib.write_batch(moves, files)?;
            files.clear();
            moves.clear();
            Ok(())
        };
        for (i, rec) in rx {
            let found = &to_read[i];
            match &rec.outcome {
                Err((FileStatus::Unsupported, _)) => report.unsupported += 1,
                Err(_) => report.failed += 1,
                Ok(_) => {}
            }
            if found.known_id.is_some() {
                report.updated += 1;
            } else if let Some(id) = rec
                .fingerprint
                .and_then(|fp| by_key.get_mut(&(fp, rec.size)))
                .and_then(|ids| ids.pop())
            {
                missing.remove(&id);
                moves.push((id, rec.path.clone()));
                report.moved += 1;
            } else {
                report.added += 1;
            }
            files.push(rec);
            if files.len() >= batch {
                // On a database error the reader threads see a closed channel and stop.
                flush(&mut files, &mut moves, lib)?;
            }
        }
        flush(&mut files, &mut moves, lib)
    });
    result?;

    let deletes: Vec<i64> = missing.keys().copied().collect();
    report.removed = deletes.len();
    lib.delete_tracks(&deletes)?;
    report.elapsed = started.elapsed();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fingerprints are stored in the database: they must stay FNV-1a of the head, the tail
    /// and the size, whatever computes them (value computed independently in Python).
    #[test]
    fn fingerprints_are_stable_fnv1a() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("a.bin");
        std::fs::write(&path, b"valence fingerprint").expect("write");
        assert_eq!(
            fingerprint(&path, 19),
            Some(0xa074_6898_98a4_a7d4_u64 as i64)
        );
    }
}
