//! The one route from a file to an emotion. The library analyser (`Engine`), `valence
//! evaluate` (which runs the engine) and `valence train` (segment features for training)
//! all decode and select patches with `Preparer`, run the patch network with `run_musicnn`
//! (MSD-musicnn, or the distilled student a model names: `load_patch_net`) and build the
//! emotion model's input with `segment_features`, so a model is trained on exactly the kind of
//! input the analyser feeds it.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use tch::{Device, Tensor};

use super::prepare::{PatchPlan, PrepareError, Prepared, Preparer};
use crate::features::musicnn_input::{N_MELS, PATCH_FRAMES};
use crate::model::emotion::{EmotionConfig, EmotionModel};
use crate::model::musicnn::{Musicnn, MusicnnError};
use crate::model::segments::{SegmentFeatures, SEGMENT_SECS};
use crate::model::vgg::Vgg;

/// Per patch: tag probabilities, embedding and (when asked for) pooled mid-end features.
#[derive(Debug, Clone, Default)]
pub struct NetRows {
    pub tags: Vec<Vec<f32>>,
    pub emb: Vec<Vec<f32>>,
    /// Empty unless `run_musicnn` was asked for them.
    pub mid: Vec<Vec<f32>>,
}

impl NetRows {
    /// Removes and returns the first `k` patches' rows (one track of a batched group).
    pub fn take_front(&mut self, k: usize) -> NetRows {
        let cut = |v: &mut Vec<Vec<f32>>| v.drain(..k.min(v.len())).collect();
        NetRows {
            tags: cut(&mut self.tags),
            emb: cut(&mut self.emb),
            mid: cut(&mut self.mid),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum RouteError {
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    #[error(transparent)]
    Musicnn(#[from] MusicnnError),
    #[error("network output: {0}")]
    Tensor(String),
}

impl From<tch::TchError> for RouteError {
    fn from(e: tch::TchError) -> Self {
        RouteError::Tensor(e.to_string())
    }
}

/// A pretrained network run on the analysed patches: MSD_musicnn (what the analyser
/// runs), or, in training, a second view fused with it (`model::segments::View`) or a
/// distilled student standing in for it (`model::student`).
pub trait PatchNet {
    /// Taggram `(N, 50)`, embedding `(N, E)` and, when asked for and the network has
    /// them, pooled mid-end features `(N, 1506)`, for `(N, 187, 96)` patches.
    fn outputs(
        &self,
        x: &Tensor,
        with_mid: bool,
    ) -> Result<(Tensor, Tensor, Option<Tensor>), MusicnnError>;
}

impl PatchNet for Musicnn {
    fn outputs(
        &self,
        x: &Tensor,
        with_mid: bool,
    ) -> Result<(Tensor, Tensor, Option<Tensor>), MusicnnError> {
        let o = self.try_forward(x)?;
        Ok((o.taggram, o.embedding, with_mid.then_some(o.pooled)))
    }
}

impl PatchNet for Vgg {
    fn outputs(
        &self,
        x: &Tensor,
        _with_mid: bool,
    ) -> Result<(Tensor, Tensor, Option<Tensor>), MusicnnError> {
        let o = self.try_forward(x)?;
        Ok((o.taggram, o.embedding, None))
    }
}

impl PatchNet for crate::model::student::Student {
    fn outputs(
        &self,
        x: &Tensor,
        _with_mid: bool,
    ) -> Result<(Tensor, Tensor, Option<Tensor>), MusicnnError> {
        let (taggram, embedding) = self.try_forward(x)?;
        Ok((taggram, embedding, None))
    }
}

/// The patch network an emotion model reads, and its tag names: MSD-musicnn (`musicnn`), or
/// the distilled student its config names (`EmotionConfig::patch_net`, a file in
/// `emotion_dir`, checked by `EmotionModel::load`), whose tags are musicnn's (read from
/// `musicnn`'s header only).
pub fn load_patch_net(
    musicnn: &Path,
    emotion_dir: &Path,
    cfg: &EmotionConfig,
    device: Device,
) -> Result<(Box<dyn PatchNet>, Vec<String>), MusicnnError> {
    match &cfg.patch_net {
        None => {
            let m = Musicnn::load(musicnn, device)?;
            let tags = m.tag_names().to_vec();
            Ok((Box::new(m), tags))
        }
        Some(file) => {
            let student = crate::model::student::Student::load(&emotion_dir.join(file), device)?;
            let tags = crate::model::musicnn::read_tag_names(musicnn)?;
            Ok((Box::new(student), tags))
        }
    }
}

/// `net` over `patches` (`[patch][frame][mel]`, flat), `batch` patches per call: on the
/// CPU small calls are faster per patch (activations stay in cache), on a GPU large ones are.
/// The 1506-wide pooled features are copied out only `with_mid` (only `all-mid` models read
/// them).
pub fn run_musicnn(
    net: &(impl PatchNet + ?Sized),
    patches: &[f32],
    batch: usize,
    with_mid: bool,
) -> Result<NetRows, RouteError> {
    let per = PATCH_FRAMES * N_MELS;
    let mut rows = NetRows::default();
    for piece in patches.chunks(batch.max(1) * per) {
        let n = (piece.len() / per) as i64;
        if n == 0 {
            continue;
        }
        let x = Tensor::f_from_slice(&piece[..n as usize * per])?.f_reshape([
            n,
            PATCH_FRAMES as i64,
            N_MELS as i64,
        ])?;
        let (taggram, embedding, pooled) = net.outputs(&x, with_mid)?;
        rows.tags.extend(to_rows(&taggram)?);
        rows.emb.extend(to_rows(&embedding)?);
        if let Some(pooled) = pooled {
            rows.mid.extend(to_rows(&pooled)?);
        }
    }
    Ok(rows)
}

/// The rows of an `(N, D)` output.
fn to_rows(t: &Tensor) -> Result<Vec<Vec<f32>>, RouteError> {
    let d = t.size().last().map_or(1, |&d| d.max(1) as usize);
    let flat = t.f_to_device(Device::Cpu)?.f_contiguous()?.f_view([-1])?;
    let v = Vec::<f32>::try_from(flat)?;
    Ok(v.chunks_exact(d).map(|c| c.to_vec()).collect())
}

/// The emotion model's input for one prepared track and its patches' musicnn outputs
/// (`net` holds exactly that track's rows).
pub fn segment_features(p: &Prepared, net: NetRows) -> SegmentFeatures {
    SegmentFeatures {
        emb: net.emb,
        tags: net.tags,
        mid: net.mid,
        views: Default::default(),
        desc: p.desc.iter().map(|d| d.to_vec()).collect(),
        segment_secs: SEGMENT_SECS,
        duration_secs: p.duration_s,
    }
}

/// Segment features of every analysed patch of a file under `plan` (stride 1: every
/// non-overlapping 3-s patch, what training caches; a strided subset of those is what the
/// analyser sees with that stride).
pub fn extract_segments(
    preparer: &mut Preparer,
    path: &Path,
    net: &(impl PatchNet + ?Sized),
    plan: PatchPlan,
    batch: usize,
    with_mid: bool,
) -> Result<SegmentFeatures, RouteError> {
    let p = preparer.prepare(path, plan, &AtomicBool::new(false))?;
    let rows = run_musicnn(net, &p.patches, batch, with_mid)?;
    Ok(segment_features(&p, rows))
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum AnalyzeError {
    #[error(transparent)]
    Asset(#[from] crate::model::assets::AssetError),
    #[error(transparent)]
    Musicnn(#[from] MusicnnError),
    #[error(transparent)]
    Emotion(#[from] crate::model::emotion::EmotionError),
    #[error(transparent)]
    Route(#[from] RouteError),
}

/// One file at a time through the route (the engine does the same for a whole library,
/// batched across tracks): for tools, tests and the sanity suite.
pub struct FileAnalyzer {
    net: Box<dyn PatchNet>,
    model: EmotionModel,
    preparer: Preparer,
    plan: PatchPlan,
}

impl FileAnalyzer {
    /// The shipped models (found without a path argument, see `model::assets`), analysing
    /// one patch in `stride` like the library analyser.
    pub fn load_default(device: Device, stride: usize) -> Result<Self, AnalyzeError> {
        use crate::model::assets::find_asset;
        let m = find_asset(crate::model::tagger::MUSICNN_ASSET)?;
        let cfg = find_asset(&format!(
            "{}/config.json",
            crate::model::emotion::EMOTION_ASSET_DIR
        ))?;
        let dir = cfg.parent().unwrap_or(Path::new("."));
        Self::load(&m, dir, device, stride)
    }

    pub fn load(
        musicnn: &Path,
        emotion_dir: &Path,
        device: Device,
        stride: usize,
    ) -> Result<Self, AnalyzeError> {
        let model = EmotionModel::load(emotion_dir, device)?;
        let (net, _) = load_patch_net(musicnn, emotion_dir, &model.cfg, device)?;
        Ok(Self {
            net,
            model,
            preparer: Preparer::new().map_err(RouteError::from)?,
            plan: PatchPlan::new(stride),
        })
    }

    pub fn model_version(&self) -> &str {
        &self.model.cfg.version
    }

    pub fn analyze(
        &mut self,
        path: &Path,
    ) -> Result<crate::model::emotion::TrackEmotion, AnalyzeError> {
        let with_mid = self.model.cfg.features.needs_mid();
        let f = extract_segments(
            &mut self.preparer,
            path,
            self.net.as_ref(),
            self.plan,
            1,
            with_mid,
        )?;
        Ok(self.model.predict(&f)?)
    }
}
