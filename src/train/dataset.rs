//! Labelled tracks with their segment features, read through the analyser's route.

use std::path::PathBuf;

use super::manifest::{BadRow, Manifest};
use crate::model::segments::SegmentFeatures;

/// Labelled tracks with their extracted segment features.
pub struct Dataset {
    pub feats: Vec<SegmentFeatures>,
    pub labels: Vec<usize>,
    /// Continuous (valence, arousal) in [-1, 1]; +-0.5 by the quadrant's signs for rows
    /// without values.
    pub targets: Vec<[f32; 2]>,
    /// Label confidence in [0, 1] (1 when the manifest has none).
    pub confidence: Vec<f32>,
    pub groups: Vec<String>,
    pub paths: Vec<PathBuf>,
    /// The same tracks' segments on the grid shifted by half a patch (empty unless
    /// extracted): with `feats`, overlapping patches at test time.
    pub shifted: Vec<SegmentFeatures>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// The subset `idx` (indices into self), in that order.
    pub(crate) fn subset_groups(&self, idx: &[usize]) -> (Vec<String>, Vec<usize>) {
        (
            idx.iter().map(|&i| self.groups[i].clone()).collect(),
            idx.iter().map(|&i| self.labels[i]).collect(),
        )
    }
}

/// Reads every manifest row's features through `features` (the cache + the analyser's
/// route); rows that fail are returned as bad.
pub fn load_dataset<E: std::fmt::Display>(
    manifest: &Manifest,
    features: impl FnMut(&std::path::Path) -> Result<SegmentFeatures, E>,
    progress: impl FnMut(usize, usize),
) -> (Dataset, Vec<BadRow>) {
    let (mut ds, feats, bad) = load_rows(manifest, features, |f| f.is_empty(), progress);
    ds.feats = feats;
    (ds, bad)
}

/// Every manifest row's labels, targets and group, with its inputs from `inputs` (any
/// kind: the seed systems read their own); rows that fail or whose inputs are `empty` are
/// returned as bad. The returned `Dataset` has no segment features.
pub fn load_rows<T, E: std::fmt::Display>(
    manifest: &Manifest,
    mut inputs: impl FnMut(&std::path::Path) -> Result<T, E>,
    empty: impl Fn(&T) -> bool,
    mut progress: impl FnMut(usize, usize),
) -> (Dataset, Vec<T>, Vec<BadRow>) {
    let mut ds = Dataset {
        feats: Vec::new(),
        labels: Vec::new(),
        targets: Vec::new(),
        confidence: Vec::new(),
        groups: Vec::new(),
        paths: Vec::new(),
        shifted: Vec::new(),
    };
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (i, row) in manifest.rows.iter().enumerate() {
        progress(i, manifest.rows.len());
        match inputs(&row.path) {
            Ok(f) if !empty(&f) => {
                let q = row.quadrant;
                let v = row.valence.unwrap_or(0.5 * q.valence_sign() as f32);
                let a = row.arousal.unwrap_or(0.5 * q.arousal_sign() as f32);
                out.push(f);
                ds.labels.push(q.index());
                ds.targets.push([v, a]);
                ds.confidence
                    .push(row.confidence.unwrap_or(1.0).clamp(0.0, 1.0));
                ds.groups.push(row.group_key());
                ds.paths.push(row.path.clone());
            }
            Ok(_) => bad.push(BadRow {
                line: row.line,
                reason: format!("{}: no audio segments", row.path.display()),
            }),
            Err(e) => bad.push(BadRow {
                line: row.line,
                reason: format!("{}: {e}", row.path.display()),
            }),
        }
    }
    progress(manifest.rows.len(), manifest.rows.len());
    (ds, out, bad)
}
