//! Per-segment inputs of the emotion model: for each ~3-s segment of a track, the
//! MSD-musicnn 200-d embedding and 50 tag probabilities, and the 66-d seed-000 descriptor.
//! (Training caches them on disk: `train::cache`.)

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::musicnn::{EMBEDDING_DIM, N_FRAMES, N_TAGS, POOLED_DIM};
use super::vgg::VGG_EMBEDDING_DIM;
use crate::features::{musicnn_input, DESCRIPTOR_DIM};

/// Which inputs the emotion model reads per segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum FeatureSet {
    /// musicnn embedding (200).
    Emb,
    /// embedding + musicnn tags (250).
    EmbTags,
    /// embedding + seed-000 descriptor (266).
    EmbDesc,
    /// embedding + tags + descriptor (316).
    All,
    /// all + musicnn's pooled mid-end features (1822).
    AllMid,
    /// all + the MTT_musicnn view's embedding and tags (566).
    AllMtt,
    /// all + the MSD_vgg view's pool5 embedding and tags (622).
    AllMsdVgg,
    /// all + the MTT_vgg view's pool5 embedding and tags (622).
    AllMttVgg,
}

/// A second pretrained network of the musicnn 0.1.0 package, run on the same patches as
/// MSD_musicnn and fused with it (its embedding, then its tags, per segment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    MttMusicnn,
    MsdVgg,
    MttVgg,
}

impl View {
    /// Values per segment: embedding + 50 tags.
    pub fn dim(self) -> usize {
        match self {
            View::MttMusicnn => EMBEDDING_DIM + N_TAGS,
            View::MsdVgg | View::MttVgg => VGG_EMBEDDING_DIM + N_TAGS,
        }
    }

    /// The converted weights (`tools/musicnn`), relative to the assets folder.
    pub fn asset(self) -> &'static str {
        match self {
            View::MttMusicnn => "models/mtt_musicnn.safetensors",
            View::MsdVgg => "models/msd_vgg.safetensors",
            View::MttVgg => "models/mtt_vgg.safetensors",
        }
    }

    /// Whether it is one of the VGG networks (`model::vgg`) rather than a musicnn.
    pub fn is_vgg(self) -> bool {
        matches!(self, View::MsdVgg | View::MttVgg)
    }
}

impl FeatureSet {
    pub fn dim(self) -> usize {
        match self {
            FeatureSet::Emb => EMBEDDING_DIM,
            FeatureSet::EmbTags => EMBEDDING_DIM + N_TAGS,
            FeatureSet::EmbDesc => EMBEDDING_DIM + DESCRIPTOR_DIM,
            FeatureSet::All => EMBEDDING_DIM + N_TAGS + DESCRIPTOR_DIM,
            FeatureSet::AllMid => EMBEDDING_DIM + N_TAGS + DESCRIPTOR_DIM + POOLED_DIM,
            FeatureSet::AllMtt | FeatureSet::AllMsdVgg | FeatureSet::AllMttVgg => {
                EMBEDDING_DIM + N_TAGS + DESCRIPTOR_DIM + self.view().map_or(0, View::dim)
            }
        }
    }
    pub fn needs_descriptor(self) -> bool {
        !matches!(self, FeatureSet::Emb | FeatureSet::EmbTags)
    }
    fn needs_tags(self) -> bool {
        !matches!(self, FeatureSet::Emb | FeatureSet::EmbDesc)
    }
    pub fn needs_mid(self) -> bool {
        matches!(self, FeatureSet::AllMid)
    }
    /// The second pretrained view it reads, if any.
    pub fn view(self) -> Option<View> {
        match self {
            FeatureSet::AllMtt => Some(View::MttMusicnn),
            FeatureSet::AllMsdVgg => Some(View::MsdVgg),
            FeatureSet::AllMttVgg => Some(View::MttVgg),
            _ => None,
        }
    }
}

/// Everything extracted from one track, segment by segment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentFeatures {
    pub emb: Vec<Vec<f32>>,
    pub tags: Vec<Vec<f32>>,
    /// Empty when the descriptor was not computed.
    pub desc: Vec<Vec<f32>>,
    /// musicnn's pooled mid-end features per segment (empty in caches that predate them).
    #[serde(default)]
    pub mid: Vec<Vec<f32>>,
    /// Second pretrained views per segment: embedding then tags (only those extracted).
    #[serde(default)]
    pub views: BTreeMap<View, Vec<Vec<f32>>>,
    /// Seconds between segment starts.
    pub segment_secs: f64,
    pub duration_secs: f64,
}

impl SegmentFeatures {
    pub fn len(&self) -> usize {
        if self.desc.is_empty() {
            self.emb.len()
        } else {
            self.emb.len().min(self.desc.len())
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i` of the model input for `set`.
    pub fn row(&self, i: usize, set: FeatureSet) -> Vec<f32> {
        let mut r = self.emb[i].clone();
        if set.needs_tags() {
            r.extend_from_slice(&self.tags[i]);
        }
        if set.needs_descriptor() {
            r.extend_from_slice(&self.desc[i]);
        }
        if set.needs_mid() {
            r.extend_from_slice(&self.mid[i]);
        }
        if let Some(rows) = set.view().and_then(|v| self.views.get(&v)) {
            r.extend_from_slice(&rows[i]);
        }
        r
    }

    /// Whether every input `set` reads is there for all [`Self::len`] segments.
    pub fn has_inputs(&self, set: FeatureSet) -> bool {
        let t = self.len();
        let view_ok = set
            .view()
            .is_none_or(|v| self.views.get(&v).is_some_and(|rows| rows.len() >= t));
        self.tags.len() >= t
            && (!set.needs_descriptor() || self.desc.len() >= t)
            && (!set.needs_mid() || self.mid.len() >= t)
            && view_ok
    }
}

/// musicnn segment length in seconds (187 frames of 256 samples at 16 kHz).
pub const SEGMENT_SECS: f64 =
    (N_FRAMES * musicnn_input::HOP) as f64 / musicnn_input::SAMPLE_RATE as f64;

/// The segments the library analyser runs musicnn on when it analyses one 3-s patch in
/// `stride`: the middle one of each `stride`-segment window (`i % stride == stride / 2`),
/// or the last segment when the track is too short to reach one.
pub fn strided_segments(n: usize, stride: usize) -> Vec<usize> {
    let stride = stride.max(1);
    let picked: Vec<usize> = (0..n).filter(|i| i % stride == stride / 2).collect();
    if picked.is_empty() && n > 0 {
        vec![n - 1]
    } else {
        picked
    }
}

impl SegmentFeatures {
    /// These segments and `other`'s (the grid shifted by half a segment) in time order:
    /// self 0, other 0, self 1, other 1, ... (overlapping patches). A view that only one
    /// side has (mid-end, a second view) is left out.
    pub fn interleaved(&self, other: &SegmentFeatures) -> SegmentFeatures {
        let (n, m) = (self.len(), other.len());
        let mix = |a: &Vec<Vec<f32>>, b: &Vec<Vec<f32>>| -> Vec<Vec<f32>> {
            if a.len() < n || b.len() < m {
                return Vec::new();
            }
            let mut out = Vec::with_capacity(n + m);
            for i in 0..n.max(m) {
                if i < n {
                    out.push(a[i].clone());
                }
                if i < m {
                    out.push(b[i].clone());
                }
            }
            out
        };
        SegmentFeatures {
            emb: mix(&self.emb, &other.emb),
            tags: mix(&self.tags, &other.tags),
            desc: mix(&self.desc, &other.desc),
            mid: mix(&self.mid, &other.mid),
            views: self
                .views
                .iter()
                .filter_map(|(v, a)| Some((*v, mix(a, other.views.get(v)?))))
                .filter(|(_, rows)| !rows.is_empty())
                .collect(),
            segment_secs: self.segment_secs / 2.0,
            duration_secs: self.duration_secs,
        }
    }

    /// Only the segments [`strided_segments`] picks (what the library analyser sees).
    pub fn strided(&self, stride: usize) -> SegmentFeatures {
        let idx = strided_segments(self.len(), stride);
        let pick = |v: &Vec<Vec<f32>>| -> Vec<Vec<f32>> {
            if v.is_empty() {
                Vec::new()
            } else {
                idx.iter().filter_map(|&i| v.get(i).cloned()).collect()
            }
        };
        SegmentFeatures {
            emb: pick(&self.emb),
            tags: pick(&self.tags),
            desc: pick(&self.desc),
            mid: pick(&self.mid),
            views: self.views.iter().map(|(v, a)| (*v, pick(a))).collect(),
            segment_secs: self.segment_secs * stride.max(1) as f64,
            duration_secs: self.duration_secs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_segments_match_the_analyser() {
        assert_eq!(strided_segments(10, 5), vec![2, 7]);
        assert_eq!(strided_segments(10, 1), (0..10).collect::<Vec<_>>());
        assert_eq!(strided_segments(10, 20), vec![9]);
        assert_eq!(strided_segments(0, 5), Vec::<usize>::new());
        let f = SegmentFeatures {
            emb: (0..10).map(|i| vec![i as f32]).collect(),
            tags: (0..10).map(|i| vec![i as f32]).collect(),
            desc: vec![],
            mid: vec![],
            views: BTreeMap::new(),
            segment_secs: 3.0,
            duration_secs: 30.0,
        };
        let s = f.strided(5);
        assert_eq!(s.emb, vec![vec![2.0], vec![7.0]]);
        assert!(s.desc.is_empty());
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn interleaving_puts_the_shifted_grid_between_the_segments() {
        let feats = |n: usize, base: f32, with_mid: bool| SegmentFeatures {
            emb: (0..n).map(|i| vec![base + i as f32]).collect(),
            tags: (0..n).map(|i| vec![base + i as f32]).collect(),
            desc: (0..n).map(|i| vec![base + i as f32]).collect(),
            mid: if with_mid {
                (0..n).map(|i| vec![base + i as f32]).collect()
            } else {
                vec![]
            },
            views: BTreeMap::new(),
            segment_secs: 3.0,
            duration_secs: 10.0,
        };
        // 10 s: 3 segments from 0 s and 2 from 1.5 s.
        let m = feats(3, 0.0, true).interleaved(&feats(2, 0.5, false));
        let order: Vec<f32> = m.emb.iter().map(|v| v[0]).collect();
        assert_eq!(order, vec![0.0, 0.5, 1.0, 1.5, 2.0]);
        assert_eq!(m.desc.len(), 5);
        assert_eq!(m.len(), 5);
        // The mid-end view only one side has is left out, not misaligned.
        assert!(m.mid.is_empty());
        assert_eq!(m.segment_secs, 1.5);
    }

    #[test]
    fn every_feature_set_reads_rows_of_its_width() {
        let n = 4;
        let rows = |d: usize| vec![vec![0.5f32; d]; n];
        let f = SegmentFeatures {
            emb: rows(EMBEDDING_DIM),
            tags: rows(N_TAGS),
            desc: rows(DESCRIPTOR_DIM),
            mid: rows(POOLED_DIM),
            views: [View::MttMusicnn, View::MsdVgg, View::MttVgg]
                .into_iter()
                .map(|v| (v, rows(v.dim())))
                .collect(),
            segment_secs: 3.0,
            duration_secs: 12.0,
        };
        for set in [
            FeatureSet::Emb,
            FeatureSet::EmbTags,
            FeatureSet::EmbDesc,
            FeatureSet::All,
            FeatureSet::AllMid,
            FeatureSet::AllMtt,
            FeatureSet::AllMsdVgg,
            FeatureSet::AllMttVgg,
        ] {
            assert!(f.has_inputs(set), "{set:?}");
            assert_eq!(f.row(n - 1, set).len(), set.dim(), "{set:?}");
        }
        assert_eq!(FeatureSet::AllMtt.dim(), 566);
        assert_eq!(FeatureSet::AllMsdVgg.dim(), 622);
        // A view that was not extracted makes the input incomplete, not shorter.
        let mut g = f.clone();
        g.views.remove(&View::MsdVgg);
        assert!(!g.has_inputs(FeatureSet::AllMsdVgg));
        assert!(g.has_inputs(FeatureSet::AllMttVgg));
        // Striding keeps the views aligned with the segments.
        let s = f.strided(2);
        assert_eq!(s.views[&View::MttVgg].len(), s.len());
    }

    #[test]
    fn caches_written_before_views_still_parse() {
        // The training cache (JSON) of earlier releases had an always-empty `mtt` field.
        let old = r#"{"emb":[[1.0]],"tags":[[0.5]],"desc":[],"mid":[],"mtt":[],
            "segment_secs":3.0,"duration_secs":3.0}"#;
        let f: SegmentFeatures = serde_json::from_str(old).expect("old cache entry");
        assert!(f.views.is_empty());
        assert_eq!(f.len(), 1);
        let round: SegmentFeatures = serde_json::from_str(
            &serde_json::to_string(&SegmentFeatures {
                views: [(View::MsdVgg, vec![vec![1.0]])].into_iter().collect(),
                ..f
            })
            .expect("json"),
        )
        .expect("parse");
        assert_eq!(round.views[&View::MsdVgg], vec![vec![1.0]]);
    }
}
