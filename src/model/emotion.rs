//! The emotion model: per-segment inputs (see `segments`) -> a valence/arousal point per
//! segment (the emotion timeline) and per track. The quadrant and its probabilities are
//! derived from the point (`crate::mood`), so the badge always matches the numbers.
//!
//! Architectures (`Arch`), all with the same outputs so they are interchangeable:
//! - `logreg`: one linear layer on each segment; the track reads the mean segment.
//! - `attn`: a per-segment MLP and attention pooling over segments.
//! - `bigru_attn` (seed 000): a per-segment projection, a bidirectional GRU over the segment
//!   sequence, multi-head scaled dot-product self-attention (residual + layer norm), then
//!   attention pooling for the track.
//!
//! Valence and arousal: the head emits z per axis and the value is `tanh(z)`, in [-1, 1],
//! regressed on the continuous targets (see `train`). A shipped model is an ensemble of
//! `members` networks of one architecture whose points are averaged.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module, RNN};
use tch::{Device, Kind, Tensor};

use super::segments::{FeatureSet, SegmentFeatures};
use crate::mood::{Calibration, Quadrant};

/// Bumped whenever the model's outputs can change (new weights or architecture); stored with
/// every analysis result so stale ones are recomputed.
pub const EMOTION_ASSET_DIR: &str = "models/emotion";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    Logreg,
    Attn,
    BigruAttn,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EmotionConfig {
    pub arch: Arch,
    pub features: FeatureSet,
    pub hidden: i64,
    pub heads: i64,
    pub dropout: f64,
    /// Per-dimension standardisation fitted on the training set.
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    /// Model version string, e.g. "emotion-2".
    pub version: String,
    pub features_version: u32,
    /// Networks in the ensemble (weights under `m0/`, `m1/`, ...).
    #[serde(default = "one")]
    pub members: usize,
    /// Temperatures turning a point into quadrant probabilities, fitted on held-out data.
    #[serde(default)]
    pub calibration: Calibration,
    /// The track head also reads the segments' max and standard deviation beside the
    /// (attention or mean) pooling: "richer pooling", an issue-11 lever.
    #[serde(default)]
    pub stat_pool: bool,
    /// The patch network the model was trained on, when it is not MSD-musicnn: a distilled
    /// student's weights file in the model's folder (`model::student`, issue 16). The
    /// analyser runs whichever network the model names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_net: Option<String>,
}

fn one() -> usize {
    1
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum EmotionError {
    #[error("emotion model: {0}")]
    Load(String),
    #[error("emotion model: {0}")]
    Torch(String),
    #[error("emotion model: track has no segments")]
    NoSegments,
}

impl From<tch::TchError> for EmotionError {
    fn from(e: tch::TchError) -> Self {
        EmotionError::Torch(e.to_string())
    }
}

/// Network outputs for a batch: the valence/arousal point in [-1, 1], (B, 2) per track and
/// (B, T, 2) per segment.
pub struct Outputs {
    pub track_va: Tensor,
    pub seg_va: Tensor,
    /// (B, H) the pooled track representation the track point is read from.
    pub track_repr: Tensor,
}

pub struct EmotionNet {
    heads: i64,
    dropout: f64,
    proj: Option<nn::Linear>,
    gru: Option<nn::GRU>,
    q: Option<nn::Linear>,
    k: Option<nn::Linear>,
    v: Option<nn::Linear>,
    o: Option<nn::Linear>,
    ln: Option<nn::LayerNorm>,
    pool: Option<nn::Linear>,
    va: nn::Linear,
    /// With `stat_pool`: the track head on [pooled, max, sd] (the segments keep `va`).
    va_track: Option<nn::Linear>,
}

impl EmotionNet {
    pub fn new(p: &nn::Path, cfg: &EmotionConfig) -> Self {
        let d = cfg.features.dim() as i64;
        let h = cfg.hidden;
        let lin = |name: &str, i: i64, o: i64| nn::linear(p / name, i, o, Default::default());
        match cfg.arch {
            Arch::Logreg => Self {
                heads: cfg.heads,
                dropout: cfg.dropout,
                proj: None,
                gru: None,
                q: None,
                k: None,
                v: None,
                o: None,
                ln: None,
                pool: None,
                va: lin("va", d, 2),
                va_track: cfg.stat_pool.then(|| lin("va_track", 3 * d, 2)),
            },
            Arch::Attn => Self {
                heads: cfg.heads,
                dropout: cfg.dropout,
                proj: Some(lin("proj", d, h)),
                gru: None,
                q: None,
                k: None,
                v: None,
                o: None,
                ln: None,
                pool: Some(lin("pool", h, 1)),
                va: lin("va", h, 2),
                va_track: cfg.stat_pool.then(|| lin("va_track", 3 * h, 2)),
            },
            Arch::BigruAttn => Self::bigru_attn(p, d, h, cfg.heads, cfg.dropout),
        }
    }

    /// The `bigru_attn` network on `input_dim`-d segments (also seed 000's network,
    /// `model::seeds`): a projection to `hidden`, a BiGRU (`hidden / 2` per direction),
    /// `heads`-head self-attention, attention pooling and the valence/arousal head. The
    /// variables (and their creation order) are those `new` gives `Arch::BigruAttn`.
    pub fn bigru_attn(p: &nn::Path, input_dim: i64, hidden: i64, heads: i64, dropout: f64) -> Self {
        let h = hidden;
        let lin = |name: &str, i: i64, o: i64| nn::linear(p / name, i, o, Default::default());
        Self {
            heads,
            dropout,
            proj: Some(lin("proj", input_dim, h)),
            gru: Some(nn::gru(
                p / "gru",
                h,
                h / 2,
                nn::RNNConfig {
                    bidirectional: true,
                    batch_first: true,
                    ..Default::default()
                },
            )),
            q: Some(lin("q", h, h)),
            k: Some(lin("k", h, h)),
            v: Some(lin("v", h, h)),
            o: Some(lin("o", h, h)),
            ln: Some(nn::layer_norm(p / "ln", vec![h], Default::default())),
            pool: Some(lin("pool", h, 1)),
            va: lin("va", h, 2),
            va_track: None,
        }
    }

    /// `x`: (B, T, D) standardised inputs; `mask`: (B, T) bool, true = real segment.
    pub fn forward(&self, x: &Tensor, mask: &Tensor, train: bool) -> Outputs {
        let maskf = mask.to_kind(Kind::Float).unsqueeze(-1);
        let x = x.dropout(self.dropout * 0.5, train);
        let h = match &self.proj {
            Some(p) => p.forward(&x).relu().dropout(self.dropout, train),
            None => x,
        };
        let h = match (&self.gru, &self.q, &self.k, &self.v, &self.o, &self.ln) {
            (Some(gru), Some(q), Some(k), Some(v), Some(o), Some(ln)) => {
                let (g, _) = gru.seq(&h);
                let g = g.dropout(self.dropout, train);
                let (b, t, hd) = g.size3().unwrap_or((1, 1, 1));
                let nh = self.heads.max(1);
                let dh = hd / nh;
                let split = |y: Tensor| y.view([b, t, nh, dh]).transpose(1, 2);
                let (qq, kk, vv) = (
                    split(q.forward(&g)),
                    split(k.forward(&g)),
                    split(v.forward(&g)),
                );
                let mut scores = qq.matmul(&kk.transpose(-2, -1)) / (dh as f64).sqrt();
                // Padded segments are never attended to.
                let key_mask = mask.view([b, 1, 1, t]).logical_not();
                scores = scores.masked_fill(&key_mask, -1e9);
                let att = scores.softmax(-1, Kind::Float).dropout(self.dropout, train);
                let ctx = att
                    .matmul(&vv)
                    .transpose(1, 2)
                    .contiguous()
                    .view([b, t, hd]);
                ln.forward(&(g + o.forward(&ctx)))
            }
            _ => h,
        };
        let seg_va = self.va.forward(&h).tanh();
        let pooled = match &self.pool {
            Some(pool) => {
                let w = pool
                    .forward(&h)
                    .masked_fill(&mask.unsqueeze(-1).logical_not(), -1e9)
                    .softmax(1, Kind::Float);
                (&h * w).sum_dim_intlist(1, false, Kind::Float)
            }
            None => {
                (&h * &maskf).sum_dim_intlist(1, false, Kind::Float)
                    / maskf.sum_dim_intlist(1, false, Kind::Float).clamp_min(1.0)
            }
        };
        let pooled = pooled.dropout(self.dropout, train);
        let track_va = match &self.va_track {
            Some(head) => {
                let n = maskf.sum_dim_intlist(1, false, Kind::Float).clamp_min(1.0);
                let mean = (&h * &maskf).sum_dim_intlist(1, false, Kind::Float) / &n;
                let dev = (&h - mean.unsqueeze(1)) * &maskf;
                let sd = (dev.square().sum_dim_intlist(1, false, Kind::Float) / &n + 1e-6).sqrt();
                let max = h
                    .masked_fill(&mask.unsqueeze(-1).logical_not(), -1e9)
                    .amax([1], false);
                let stats = Tensor::cat(&[max, sd], 1).dropout(self.dropout, train);
                head.forward(&Tensor::cat(&[&pooled, &stats], 1)).tanh()
            }
            None => self.va.forward(&pooled).tanh(),
        };
        Outputs {
            track_va,
            seg_va,
            track_repr: pooled,
        }
    }
}

/// Emotion of one segment of a track.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SegmentEmotion {
    pub start_s: f64,
    pub probs: [f32; 4],
    pub valence: f32,
    pub arousal: f32,
}

/// The model's reading of a whole track.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrackEmotion {
    pub probs: [f32; 4],
    pub valence: f32,
    pub arousal: f32,
    pub segments: Vec<SegmentEmotion>,
    /// Mean musicnn embedding (for similarity).
    pub embedding: Vec<f32>,
    pub model_version: String,
}

impl TrackEmotion {
    /// The quadrant of the track's point.
    pub fn quadrant(&self) -> Quadrant {
        Quadrant::of_point(self.valence, self.arousal)
    }
}

/// A trained model: config + the weights of every ensemble member.
pub struct EmotionModel {
    pub cfg: EmotionConfig,
    pub vs: nn::VarStore,
    pub nets: Vec<EmotionNet>,
}

/// Per-track and per-segment points of a batch, averaged over the ensemble.
pub struct Points {
    /// (B, 2)
    pub track: Tensor,
    /// (B, T, 2)
    pub segments: Tensor,
}

impl EmotionModel {
    pub fn new(cfg: EmotionConfig, device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let nets = (0..cfg.members.max(1))
            .map(|i| EmotionNet::new(&(vs.root() / format!("m{i}")), &cfg))
            .collect();
        Self { cfg, vs, nets }
    }

    /// Writes `config.json`, `model.safetensors` and `VERSION` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<(), EmotionError> {
        save_model(dir, &self.cfg, &self.vs)?;
        std::fs::write(dir.join("VERSION"), format!("{}\n", self.cfg.version))
            .map_err(|e| EmotionError::Load(e.to_string()))
    }

    pub fn load(dir: &Path, device: Device) -> Result<Self, EmotionError> {
        let (cfg, cfg_path): (EmotionConfig, _) = read_config(dir)?;
        let d = cfg.features.dim();
        if cfg.mean.len() != d || cfg.std.len() != d {
            return Err(EmotionError::Load(format!(
                "{}: normalisation has {} / {} values, features need {d}",
                cfg_path.display(),
                cfg.mean.len(),
                cfg.std.len()
            )));
        }
        if let Some(file) = &cfg.patch_net {
            // A bare file name in this folder, of a network that gives the embedding and tags.
            let mut parts = Path::new(file).components();
            let bare = matches!(
                (parts.next(), parts.next()),
                (Some(std::path::Component::Normal(_)), None)
            );
            let why = if !bare {
                Some("must be a file name in the model's folder")
            } else if !dir.join(file).is_file() {
                Some("is missing")
            } else if cfg.features.needs_mid() || cfg.features.view().is_some() {
                Some("gives only the embedding and tags, and the model's features need more")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(EmotionError::Load(format!(
                    "{}: patch_net {file:?} {why}",
                    cfg_path.display()
                )));
            }
        }
        let mut m = Self::new(cfg, device);
        load_weights(&mut m.vs, dir)?;
        Ok(m)
    }

    /// Standardised (1, T, D) input for one track.
    pub fn input(&self, f: &SegmentFeatures) -> Result<Tensor, EmotionError> {
        let t = f.len();
        if t == 0 {
            return Err(EmotionError::NoSegments);
        }
        if !f.has_inputs(self.cfg.features)
            || f.emb
                .iter()
                .take(t)
                .any(|e| e.len() != super::musicnn::EMBEDDING_DIM)
        {
            return Err(EmotionError::Load(
                "segment features do not match the model's inputs".into(),
            ));
        }
        let d = self.cfg.features.dim();
        let mut flat = Vec::with_capacity(t * d);
        for i in 0..t {
            let row = f.row(i, self.cfg.features);
            flat.extend(
                row.iter()
                    .zip(self.cfg.mean.iter().zip(&self.cfg.std))
                    .map(|(x, (m, s))| (x - m) / s),
            );
        }
        Ok(Tensor::from_slice(&flat)
            .view([1, t as i64, d as i64])
            .to_device(self.vs.device()))
    }

    /// The ensemble's points for a padded batch (inference mode).
    pub fn points(&self, x: &Tensor, mask: &Tensor) -> Points {
        tch::no_grad(|| {
            let outs: Vec<Outputs> = self
                .nets
                .iter()
                .map(|n| n.forward(x, mask, false))
                .collect();
            let mean = |pick: fn(&Outputs) -> &Tensor| {
                let all: Vec<Tensor> = outs.iter().map(|o| pick(o).shallow_clone()).collect();
                Tensor::stack(&all, 0).mean_dim(0, false, Kind::Float)
            };
            Points {
                track: mean(|o| &o.track_va),
                segments: mean(|o| &o.seg_va),
            }
        })
    }

    /// The emotion of a track from its segment features.
    pub fn predict(&self, f: &SegmentFeatures) -> Result<TrackEmotion, EmotionError> {
        let x = self.input(f)?;
        let t = f.len();
        let mask = Tensor::ones([1, t as i64], (Kind::Bool, self.vs.device()));
        let p = self.points(&x, &mask);
        let to_vec = |t: Tensor| -> Result<Vec<f32>, EmotionError> {
            Ok(Vec::<f32>::try_from(
                t.to_device(Device::Cpu).contiguous().view([-1]),
            )?)
        };
        let va = to_vec(p.track)?;
        let seg_va = to_vec(p.segments)?;
        let cal = &self.cfg.calibration;
        let segments = (0..t)
            .map(|i| {
                let (v, a) = (seg_va[i * 2], seg_va[i * 2 + 1]);
                SegmentEmotion {
                    start_s: i as f64 * f.segment_secs,
                    probs: cal.probs(v, a),
                    valence: v,
                    arousal: a,
                }
            })
            .collect();
        let mut embedding = vec![0f32; f.emb.first().map(|e| e.len()).unwrap_or(0)];
        for e in f.emb.iter().take(t) {
            for (a, b) in embedding.iter_mut().zip(e) {
                *a += b / t as f32;
            }
        }
        Ok(TrackEmotion {
            probs: cal.probs(va[0], va[1]),
            valence: va[0],
            arousal: va[1],
            segments,
            embedding,
            model_version: self.cfg.version.clone(),
        })
    }
}

/// Writes a model folder: `config.json` (`cfg`) and `model.safetensors` (`vs`).
pub(crate) fn save_model<C: Serialize>(
    dir: &Path,
    cfg: &C,
    vs: &nn::VarStore,
) -> Result<(), EmotionError> {
    std::fs::create_dir_all(dir).map_err(|e| EmotionError::Load(e.to_string()))?;
    let text = serde_json::to_string_pretty(cfg).map_err(|e| EmotionError::Load(e.to_string()))?;
    std::fs::write(dir.join("config.json"), text).map_err(|e| EmotionError::Load(e.to_string()))?;
    vs.save(dir.join("model.safetensors"))?;
    Ok(())
}

/// A model folder's `config.json`, and its path (for messages).
pub(crate) fn read_config<C: serde::de::DeserializeOwned>(
    dir: &Path,
) -> Result<(C, std::path::PathBuf), EmotionError> {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| EmotionError::Load(format!("{}: {e}", path.display())))?;
    let cfg = serde_json::from_str(&text)
        .map_err(|e| EmotionError::Load(format!("{}: {e}", path.display())))?;
    Ok((cfg, path))
}

/// Loads a model folder's `model.safetensors` into `vs` (whose variables name the weights).
pub(crate) fn load_weights(vs: &mut nn::VarStore, dir: &Path) -> Result<(), EmotionError> {
    let w = dir.join("model.safetensors");
    if !w.exists() {
        return Err(EmotionError::Load(format!("{} is missing", w.display())));
    }
    vs.load(&w)
        .map_err(|e| EmotionError::Load(format!("{}: {e}", w.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An untrained model's configuration on the embedding alone (no dropout).
    fn test_config(arch: Arch, hidden: i64, heads: i64) -> EmotionConfig {
        EmotionConfig {
            arch,
            features: FeatureSet::Emb,
            hidden,
            heads,
            dropout: 0.0,
            mean: vec![],
            std: vec![],
            version: "test".into(),
            features_version: 1,
            members: 1,
            calibration: Calibration::default(),
            stat_pool: false,
            patch_net: None,
        }
    }

    /// `bigru_attn` (shared with seed 000) keeps the variable names and shapes a stored
    /// `bigru_attn` model was saved under, and `new` builds exactly it. (Values are not
    /// compared: the torch seed is global and tests run in parallel.)
    #[test]
    fn bigru_attn_variables_are_the_stored_ones() {
        let cfg = EmotionConfig {
            dropout: 0.1,
            ..test_config(Arch::BigruAttn, 32, 4)
        };
        let d = FeatureSet::Emb.dim() as i64;
        let shapes = |vs: &nn::VarStore| {
            let mut v: Vec<(String, Vec<i64>)> = vs
                .variables()
                .into_iter()
                .map(|(k, t)| (k, t.size()))
                .collect();
            v.sort();
            v
        };
        let a = nn::VarStore::new(Device::Cpu);
        let _ = EmotionNet::new(&(a.root() / "m0"), &cfg);
        let b = nn::VarStore::new(Device::Cpu);
        let _ = EmotionNet::bigru_attn(&(b.root() / "m0"), d, 32, 4, 0.1);
        let mut expected: Vec<(String, Vec<i64>)> = vec![
            ("m0.proj.weight".into(), vec![32, d]),
            ("m0.proj.bias".into(), vec![32]),
            ("m0.q.weight".into(), vec![32, 32]),
            ("m0.q.bias".into(), vec![32]),
            ("m0.k.weight".into(), vec![32, 32]),
            ("m0.k.bias".into(), vec![32]),
            ("m0.v.weight".into(), vec![32, 32]),
            ("m0.v.bias".into(), vec![32]),
            ("m0.o.weight".into(), vec![32, 32]),
            ("m0.o.bias".into(), vec![32]),
            ("m0.ln.weight".into(), vec![32]),
            ("m0.ln.bias".into(), vec![32]),
            ("m0.pool.weight".into(), vec![1, 32]),
            ("m0.pool.bias".into(), vec![1]),
            ("m0.va.weight".into(), vec![2, 32]),
            ("m0.va.bias".into(), vec![2]),
        ];
        for dir in ["", "_reverse"] {
            for (name, shape) in [
                ("weight_ih_l0", vec![48, 32]),
                ("weight_hh_l0", vec![48, 16]),
                ("bias_ih_l0", vec![48]),
                ("bias_hh_l0", vec![48]),
            ] {
                expected.push((format!("m0.gru.{name}{dir}"), shape));
            }
        }
        expected.sort();
        assert_eq!(shapes(&a), expected);
        assert_eq!(shapes(&b), expected);
    }

    /// With statistics pooling the track head reads [pooled, max, sd] (3 x hidden), and
    /// padded segments change nothing: large padding would dominate an unmasked max or sd.
    #[test]
    fn stat_pooling_ignores_padding() {
        let cfg = EmotionConfig {
            stat_pool: true,
            ..test_config(Arch::Attn, 16, 2)
        };
        let vs = nn::VarStore::new(Device::Cpu);
        let net = EmotionNet::new(&vs.root(), &cfg);
        let d = FeatureSet::Emb.dim() as i64;
        assert_eq!(vs.variables()["va_track.weight"].size(), [2, 3 * 16]);
        let x = Tensor::randn([1, 3, d], (Kind::Float, Device::Cpu));
        let pad = Tensor::randn([1, 2, d], (Kind::Float, Device::Cpu)) * 50.0;
        let mask = Tensor::from_slice(&[true, true, true]).view([1, 3]);
        let mask5 = Tensor::from_slice(&[true, true, true, false, false]).view([1, 5]);
        let a = tch::no_grad(|| net.forward(&x, &mask, false).track_va);
        let b = tch::no_grad(|| {
            net.forward(&Tensor::cat(&[&x, &pad], 1), &mask5, false)
                .track_va
        });
        assert!((&a - &b).abs().max().double_value(&[]) < 1e-5, "{a} vs {b}");
    }
}
