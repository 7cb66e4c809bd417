//! Finding shipped model files without a path argument: in a fresh clone, next to an
//! installed binary, or where `VALENCE_ASSETS` points.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("model file {name} not found; looked in: {tried}")]
pub struct AssetError {
    pub name: String,
    pub tried: String,
}

/// Candidate asset folders, most specific first.
pub fn asset_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("VALENCE_ASSETS").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(d));
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|p| p.to_path_buf()))
    {
        // Installed: /usr/bin/valence -> /usr/share/valence/assets.
        dirs.push(exe_dir.join("../share/valence/assets"));
        dirs.push(exe_dir.join("assets"));
    }
    // A build from a clone: the repository's own assets folder.
    dirs.push(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets"
    )));
    dirs
}

/// Path of `rel` (e.g. `models/msd_musicnn.safetensors`) in the first folder holding it.
pub fn find_asset(rel: &str) -> Result<PathBuf, AssetError> {
    let dirs = asset_dirs();
    for d in &dirs {
        let p = d.join(rel);
        if p.exists() {
            return Ok(p);
        }
    }
    Err(AssetError {
        name: rel.to_string(),
        tried: dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_shipped_musicnn_and_reports_missing() {
        assert!(find_asset("models/msd_musicnn.safetensors").is_ok());
        let e = find_asset("models/none.bin").unwrap_err();
        assert!(e.tried.contains("assets"));
    }
}
