//! On-disk cache of extracted segment features for training, keyed by file content +
//! features version + musicnn weights.

use std::path::{Path, PathBuf};

use crate::features::FEATURES_VERSION;
use crate::model::segments::SegmentFeatures;

#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// FNV-1a 64 over a whole file (the `fnv` crate, as the scanner's fingerprints): a content
/// key for the cache, so a renamed file still hits.
pub fn content_hash(path: &Path) -> Result<u64, SegmentError> {
    use std::hash::Hasher;
    let bytes = std::fs::read(path).map_err(|source| SegmentError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut h = fnv::FnvHasher::default();
    h.write(&bytes);
    Ok(h.finish())
}

/// The key of a weights file in cache names: its content hash, 8 hex digits.
pub fn weights_key(path: &Path) -> Result<String, SegmentError> {
    Ok(format!("{:08x}", content_hash(path)? as u32))
}

/// `~/.cache/valence/<name>` (XDG cache dir; the temp dir's `valence-<name>` without one).
pub(crate) fn cache_dir(name: &str) -> PathBuf {
    directories::ProjectDirs::from("org", "valence", "valence")
        .map(|d| d.cache_dir().join(name))
        .unwrap_or_else(|| std::env::temp_dir().join(format!("valence-{name}")))
}

/// On-disk cache of extracted segment features.
pub struct SegmentCache {
    dir: PathBuf,
    model_key: String,
}

impl SegmentCache {
    /// `model_key` identifies the musicnn weights (their hash), so new weights miss the cache.
    pub fn new(dir: PathBuf, model_key: String) -> Self {
        Self { dir, model_key }
    }

    /// `~/.cache/valence/segments` (XDG cache dir).
    pub fn default_dir() -> PathBuf {
        cache_dir("segments")
    }

    fn file_for(&self, hash: u64) -> PathBuf {
        // r4: features from the analyser's route (`analysis::route`), every patch, with the
        // pooled mid-end features; r4 since the FFT is realfft's (rounding-level changes, so
        // training sees exactly what the analyser computes).
        self.dir.join(format!(
            "{hash:016x}-f{FEATURES_VERSION}-m{}-r4.json",
            self.model_key
        ))
    }

    /// Cached features of `path`, computed by `extract` (and stored) on a miss. A cached entry
    /// counts only when `complete` accepts it (an older entry may lack what the caller needs).
    pub fn get_or_extract<E: From<SegmentError>>(
        &self,
        path: &Path,
        complete: impl Fn(&SegmentFeatures) -> bool,
        extract: impl FnOnce(&Path) -> Result<SegmentFeatures, E>,
    ) -> Result<SegmentFeatures, E> {
        let hash = content_hash(path)?;
        let file = self.file_for(hash);
        if let Ok(bytes) = std::fs::read(&file) {
            if let Ok(f) = serde_json::from_slice::<SegmentFeatures>(&bytes) {
                if complete(&f) {
                    return Ok(f);
                }
            }
        }
        let f = extract(path)?;
        // A failed cache write only costs time later; write atomically so a kill cannot
        // leave a half file that parses.
        if std::fs::create_dir_all(&self.dir).is_ok() {
            let tmp = file.with_extension("tmp");
            if let Ok(json) = serde_json::to_vec(&f) {
                if std::fs::write(&tmp, json).is_ok() {
                    let _ = std::fs::rename(&tmp, &file);
                }
            }
        }
        Ok(f)
    }
}
