//! Writing a file atomically: a temp file in the same folder, fsync, rename, so a crash
//! never leaves half a file. Playlist files and session sheets are written this way.

use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Creating, writing, syncing or renaming the new version (or its folder) failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The path names a folder or root, not a file.
    #[error("{} does not name a file", path.display())]
    NotAFile { path: PathBuf },
}

/// Replaces (or creates) the file at `path` with `bytes`, atomically. A replaced file keeps
/// its mode; a new one is 0644, readable like any other file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let name = path.file_name().ok_or_else(|| WriteError::NotAFile {
        path: path.to_path_buf(),
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let io = |p: &Path| {
        let path = p.to_path_buf();
        move |source| WriteError::Io { path, source }
    };

    // Hidden and in the same folder: rename(2) is only atomic within one file system.
    let mut prefix = OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io(dir))?;
    tmp.write_all(bytes).map_err(io(tmp.path()))?;
    // Temp files are created 0600; keep the old file's mode, or make a new file readable
    // like any other, so other programs and users can open it.
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(io(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io(tmp.path()))?;
    tmp.persist(path).map_err(|e| io(path)(e.error))?;
    // Sync the folder too so the rename itself survives a crash. Best effort: some file
    // systems refuse fsync on a directory, and the new file is complete either way.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
