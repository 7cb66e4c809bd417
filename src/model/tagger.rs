//! Music tags for a file: decode -> musicnn log-mel patches -> MSD-musicnn taggram.

use std::path::Path;

use super::assets::{find_asset, AssetError};
use super::musicnn::{Musicnn, MusicnnError, N_FRAMES};
use crate::audio::{decode_mono, AudioError};
use crate::features::{musicnn_input, FeatureError};

pub const MUSICNN_ASSET: &str = "models/msd_musicnn.safetensors";

#[derive(Debug, Clone, thiserror::Error)]
pub enum TaggerError {
    #[error(transparent)]
    Asset(#[from] AssetError),
    #[error(transparent)]
    Model(#[from] MusicnnError),
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Features(#[from] FeatureError),
}

pub struct Tagger {
    net: Musicnn,
}

/// Tag probabilities per 3-s segment and their mean over the track.
#[derive(Debug, Clone)]
pub struct TagResult {
    pub names: Vec<String>,
    pub segments: Vec<Vec<f32>>,
    pub track: Vec<f32>,
    pub segment_secs: f64,
}

impl TagResult {
    /// The `n` highest-scoring tags of `scores`.
    pub fn top(&self, scores: &[f32], n: usize) -> Vec<(String, f32)> {
        let mut idx: Vec<usize> = (0..scores.len().min(self.names.len())).collect();
        idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        idx.into_iter()
            .take(n)
            .map(|i| (self.names[i].clone(), scores[i]))
            .collect()
    }

    pub fn to_json(&self, n: usize) -> serde_json::Value {
        let seg: Vec<_> = self
            .segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                serde_json::json!({
                    "start_s": i as f64 * self.segment_secs,
                    "tags": self.top(s, n),
                })
            })
            .collect();
        serde_json::json!({ "track": self.top(&self.track, n), "segments": seg })
    }
}

impl Tagger {
    pub fn load(device: tch::Device) -> Result<Self, TaggerError> {
        let path = find_asset(MUSICNN_ASSET)?;
        Ok(Self {
            net: Musicnn::load(&path, device)?,
        })
    }

    pub fn tag_file(&self, path: &Path) -> Result<TagResult, TaggerError> {
        let audio = decode_mono(path, Some(musicnn_input::SAMPLE_RATE), None)?;
        let mel = musicnn_input::log_mel(&audio.samples)?;
        let patches = musicnn_input::patches(&mel, N_FRAMES);
        let (tags, _) = self.net.run_patches(&patches)?;
        let segments: Vec<Vec<f32>> = tags.iter().map(|t| t.to_vec()).collect();
        let mut track = vec![0f32; self.net.tag_names().len()];
        for s in &segments {
            for (a, b) in track.iter_mut().zip(s) {
                *a += b / segments.len() as f32;
            }
        }
        Ok(TagResult {
            names: self.net.tag_names().to_vec(),
            segments,
            track,
            segment_secs: (N_FRAMES * musicnn_input::HOP) as f64
                / musicnn_input::SAMPLE_RATE as f64,
        })
    }
}
