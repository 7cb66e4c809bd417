//! The analysis engine: every pending track goes decode -> features (N feature workers) ->
//! musicnn, batched across tracks, then the emotion model (network workers) -> one
//! transaction per track (the calling thread). Kill-safe, cancellable, pausable, niced.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tch::Device;

use super::prepare::{PatchPlan, PrepareError, Prepared, Preparer};
use super::route::{load_patch_net, run_musicnn, segment_features, NetRows, PatchNet, RouteError};
use crate::features::musicnn_input::{N_MELS, PATCH_FRAMES};
use crate::features::FEATURES_VERSION;
use crate::library::{
    AnalysisData, AnalysisVersion, Library, PendingTrack, StoreError, TimelinePoint,
};
use crate::model::assets::{find_asset, AssetError};
use crate::model::device::{resolve, DeviceChoice, DeviceError};
use crate::model::emotion::{EmotionError, EmotionModel, EMOTION_ASSET_DIR};
use crate::model::musicnn::{MusicnnError, N_TAGS};
use crate::model::segments::SEGMENT_SECS;
use crate::model::tagger::MUSICNN_ASSET;
use crate::mood::Calibration;

/// Version of this pipeline (patch choice, timeline, thumbnail, loudness). Part of every
/// result's model version, so a change here recomputes old results. 2: results carry the
/// track's loudness (ReplayGain).
pub const PIPELINE_VERSION: u32 = 2;
/// Default stride: one analysed 3-s patch per 3 (a timeline point every ~9 s). The accuracy
/// and speed of each stride are in `assets/models/MODEL_CARD.md`.
pub const DEFAULT_STRIDE: usize = 3;
/// Tags stored per track.
pub const TOP_TAGS: usize = 8;

#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Asset(#[from] AssetError),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    Musicnn(#[from] MusicnnError),
    #[error(transparent)]
    Emotion(#[from] EmotionError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The audio-word codebook (`assets/themes`; shared: the error may hold an io error).
    #[error("{0}")]
    Codebook(#[source] Arc<crate::themes::ThemeError>),
    #[error("cannot start an analysis worker thread: {0}")]
    Spawn(#[source] Arc<std::io::Error>),
    #[error("an analysis worker panicked: {0}")]
    WorkerPanicked(String),
    /// The analysis process (`valence-engine`) could not be started, or ended without
    /// finishing (a crash, a kill); the text says which and how.
    #[error("the analysis process {0}")]
    Process(String),
    /// An error the analysis process reported, as its text.
    #[error("{0}")]
    Reported(String),
}

impl From<crate::themes::ThemeError> for EngineError {
    fn from(e: crate::themes::ThemeError) -> Self {
        EngineError::Codebook(Arc::new(e))
    }
}

/// Why one track could not be analysed: stored with the track and shown to the user (by
/// its `Display` text); the run goes on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TrackError {
    /// Decoding or feature extraction failed (a corrupt, truncated or odd file).
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// musicnn failed on the track's patches.
    #[error("network failed: {0}")]
    Network(#[source] RouteError),
    #[error(transparent)]
    Emotion(#[from] EmotionError),
    #[error("the file holds no audio")]
    NoAudio,
    /// A panic caught in a worker (a bug, or a file that trips one); `stage` says where.
    #[error("internal error {stage}: {message}")]
    Panicked {
        stage: &'static str,
        message: String,
    },
    /// Reported by the analysis process, as its text (see `analysis::remote`).
    #[error("{0}")]
    Reported(String),
}

impl Serialize for TrackError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// A track error that crossed from the analysis process keeps its text only.
impl<'de> Deserialize<'de> for TrackError {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(TrackError::Reported)
    }
}

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Worker threads (feature workers; as many network workers on the CPU). Default: cores.
    pub jobs: usize,
    pub device: DeviceChoice,
    /// Analyse one 3-s patch in `stride` (see [`PatchPlan`]).
    pub stride: usize,
    /// Patches per network call; tracks are gathered across until a call is full.
    /// Default: 1 on the CPU (small calls keep the activations in cache: ~46 ms per patch per
    /// core, 60 ms at 4; see the README's throughput notes), 128 on CUDA.
    pub batch: Option<usize>,
    /// Nice value for the worker threads (0 keeps the caller's priority).
    pub nice: i32,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            device: DeviceChoice::Auto,
            stride: DEFAULT_STRIDE,
            batch: None,
            nice: 10,
        }
    }
}

/// Shared switches for a running analysis (the GUI's pause button, Ctrl-C).
#[derive(Debug, Default)]
pub struct Control {
    cancel: AtomicBool,
    pause: AtomicBool,
}

impl Control {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
    pub fn set_paused(&self, paused: bool) {
        self.pause.store(paused, Ordering::SeqCst);
    }
    pub fn is_paused(&self) -> bool {
        self.pause.load(Ordering::SeqCst)
    }
}

/// The outcome of one track, as reported in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrackOutcome {
    pub id: i64,
    pub path: PathBuf,
    /// The track's quadrant, or why the track could not be analysed.
    pub result: Result<crate::mood::Quadrant, TrackError>,
}

/// Where a run stands; sent after every stored track and a few times a second.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Progress {
    /// Tracks this run set out to analyse.
    pub total: usize,
    /// Tracks finished, the failed ones included.
    pub done: usize,
    /// Of `done`, the tracks that could not be analysed.
    pub failed: usize,
    /// Seconds of audio analysed so far.
    pub audio_secs: f64,
    pub elapsed_secs: f64,
    pub paused: bool,
    pub finished: bool,
    pub last: Option<TrackOutcome>,
}

impl Progress {
    /// Audio seconds per wall-clock second.
    pub fn x_realtime(&self) -> f64 {
        if self.elapsed_secs > 0.0 {
            self.audio_secs / self.elapsed_secs
        } else {
            0.0
        }
    }
    pub fn tracks_per_sec(&self) -> f64 {
        if self.elapsed_secs > 0.0 {
            self.done as f64 / self.elapsed_secs
        } else {
            0.0
        }
    }
    /// Estimated seconds left, from the track rate so far.
    pub fn eta_secs(&self) -> Option<f64> {
        let r = self.tracks_per_sec();
        (r > 0.0 && self.done > 0).then(|| (self.total - self.done.min(self.total)) as f64 / r)
    }
}

/// CPU seconds (summed over threads) spent in each stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTimes {
    pub decode: f64,
    pub features: f64,
    pub network: f64,
    pub emotion: f64,
    pub database: f64,
}

/// What a finished (or cancelled) run did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub progress: Progress,
    pub stages: StageTimes,
    pub cancelled: bool,
    pub device: String,
    pub jobs: usize,
    pub batch: usize,
    pub stride: usize,
    /// Patches run through the patch network (musicnn, or the model's student).
    pub patches: usize,
}

/// The networks, loaded once and shared by the network workers.
struct Models {
    /// MSD-musicnn, or the distilled student the emotion model names.
    net: Box<dyn PatchNet>,
    emotion: EmotionModel,
    tag_names: Vec<String>,
    /// Each segment's audio word (theme scenes).
    codebook: crate::themes::Codebook,
}

// SAFETY: libtorch modules are safe to run forward passes on from several threads at once
// (weights are only read); tch marks tensors Send but not Sync.
unsafe impl Sync for Models {}
unsafe impl Send for Models {}

pub struct Engine {
    models: Arc<Models>,
    version: AnalysisVersion,
    opts: EngineOptions,
    device: Device,
}

/// Result version string of a model under this pipeline and stride.
pub fn version_for(model_version: &str, stride: usize, codebook: &str) -> AnalysisVersion {
    AnalysisVersion {
        features: FEATURES_VERSION,
        // The codebook is part of it: its words are stored with every result, and the
        // segment embeddings they come from are not, so a new codebook means analysing again.
        model: format!(
            "{model_version}+a{PIPELINE_VERSION}s{}+{codebook}",
            stride.max(1)
        ),
    }
}

/// The shipped model's config.json, parsed (no weights loaded).
fn shipped_config() -> Result<(PathBuf, serde_json::Value), EngineError> {
    let cfg = find_asset(&format!("{EMOTION_ASSET_DIR}/config.json"))?;
    let text = std::fs::read_to_string(&cfg)
        .map_err(|e| EmotionError::Load(format!("{}: {e}", cfg.display())))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| EmotionError::Load(format!("{}: {e}", cfg.display())))?;
    Ok((cfg, v))
}

/// The version results must carry under the shipped model and default stride, read from
/// the model's config without loading any weights (cheap: what the GUI asks).
pub fn default_version() -> Result<AnalysisVersion, EngineError> {
    let (cfg, v) = shipped_config()?;
    let model = v
        .get("version")
        .and_then(|m| m.as_str())
        .ok_or_else(|| EmotionError::Load(format!("{}: no version", cfg.display())))?;
    let codebook = crate::themes::default_codebook()?;
    Ok(version_for(model, DEFAULT_STRIDE, &codebook.version()))
}

/// The shipped model's calibration (how a valence/arousal point becomes quadrant
/// probabilities), for moods computed from stored points, e.g. "your mood now".
pub fn default_calibration() -> Result<Calibration, EngineError> {
    let (cfg, v) = shipped_config()?;
    match v.get("calibration") {
        None => Ok(Calibration::default()),
        Some(c) => serde_json::from_value(c.clone())
            .map_err(|e| EmotionError::Load(format!("{}: calibration: {e}", cfg.display())).into()),
    }
}

type Job = (PendingTrack, Result<Prepared, TrackError>);
type Done = (PendingTrack, Result<AnalysisData, TrackError>, f64);

impl Engine {
    /// Loads the shipped models (see `model::assets`).
    pub fn load(opts: EngineOptions) -> Result<Self, EngineError> {
        let m = find_asset(MUSICNN_ASSET)?;
        let cfg = find_asset(&format!("{EMOTION_ASSET_DIR}/config.json"))?;
        let dir = cfg.parent().unwrap_or(Path::new(".")).to_path_buf();
        Self::load_from(&m, &dir, opts)
    }

    pub fn load_from(
        musicnn: &Path,
        emotion_dir: &Path,
        opts: EngineOptions,
    ) -> Result<Self, EngineError> {
        let device = resolve(opts.device)?;
        if device == Device::Cpu {
            // One intra-op thread per network worker: the workers are the parallelism, and
            // the thread cap holds.
            tch::set_num_threads(1);
        }
        let emotion = EmotionModel::load(emotion_dir, device)?;
        let (net, tag_names) = load_patch_net(musicnn, emotion_dir, &emotion.cfg, device)?;
        let codebook = crate::themes::default_codebook()?;
        let version = version_for(&emotion.cfg.version, opts.stride, &codebook.version());
        Ok(Self {
            models: Arc::new(Models {
                net,
                emotion,
                tag_names,
                codebook,
            }),
            version,
            opts: EngineOptions {
                jobs: opts.jobs.max(1),
                stride: opts.stride.max(1),
                ..opts
            },
            device,
        })
    }

    pub fn version(&self) -> &AnalysisVersion {
        &self.version
    }

    pub fn device_name(&self) -> String {
        match self.device {
            Device::Cuda(i) => format!("cuda:{i}"),
            _ => "cpu".into(),
        }
    }

    fn batch(&self) -> usize {
        self.opts
            .batch
            .unwrap_or(if self.device == Device::Cpu { 1 } else { 128 })
    }

    /// Analyses every pending track of the library at `db`, storing each result as it
    /// comes. Blocks until done or cancelled; `progress` runs on the calling thread.
    pub fn run(
        &self,
        db: &Path,
        control: &Arc<Control>,
        mut progress: impl FnMut(&Progress),
    ) -> Result<Summary, EngineError> {
        let mut lib = Library::open(db)?;
        let pending = lib.pending_analysis(&self.version)?;
        let started = Instant::now();
        let mut prog = Progress {
            total: pending.len(),
            ..Progress::default()
        };
        progress(&prog);

        let jobs = self.opts.jobs;
        let net_workers = if self.device == Device::Cpu { jobs } else { 1 };
        let batch = self.batch();
        let plan = PatchPlan::new(self.opts.stride);
        let queue = Arc::new(Mutex::new(VecDeque::from(pending)));
        let (prep_tx, prep_rx) = mpsc::sync_channel::<Job>(jobs * 2);
        let prep_rx = Arc::new(Mutex::new(prep_rx));
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let times = Arc::new(Mutex::new(StageTimes::default()));
        let patches_run = Arc::new(std::sync::atomic::AtomicUsize::new(0));

        let mut handles = Vec::new();
        for w in 0..jobs {
            let (queue, tx, control, times) = (
                queue.clone(),
                prep_tx.clone(),
                control.clone(),
                times.clone(),
            );
            let nice = self.opts.nice;
            handles.push(
                std::thread::Builder::new()
                    .name(format!("valence-features-{w}"))
                    .spawn(move || feature_worker(queue, tx, control, times, plan, nice))
                    .map_err(|e| EngineError::Spawn(Arc::new(e)))?,
            );
        }
        drop(prep_tx);
        for w in 0..net_workers {
            let (rx, tx, control, times, models, patches_run) = (
                prep_rx.clone(),
                done_tx.clone(),
                control.clone(),
                times.clone(),
                self.models.clone(),
                patches_run.clone(),
            );
            let ctx = NetCtx {
                models,
                plan,
                batch,
                nice: self.opts.nice,
            };
            handles.push(
                std::thread::Builder::new()
                    .name(format!("valence-network-{w}"))
                    .spawn(move || net_worker(ctx, rx, tx, control, times, patches_run))
                    .map_err(|e| EngineError::Spawn(Arc::new(e)))?,
            );
        }
        drop(done_tx);

        // The writer: this thread, one transaction per track.
        let mut db_s = 0.0;
        let mut store_err = None;
        let mut worker_panic: Option<String> = None;
        let mut last_tick = Instant::now();
        loop {
            match done_rx.recv_timeout(Duration::from_millis(250)) {
                Ok((track, outcome, secs)) => {
                    let t = super::thread_cpu_secs();
                    let reason = outcome.as_ref().err().map(ToString::to_string);
                    let stored = lib.store_analysis(
                        &track,
                        &self.version,
                        match (&outcome, &reason) {
                            (Ok(d), _) => Ok(d),
                            (Err(_), r) => Err(r.as_deref().unwrap_or_default()),
                        },
                    );
                    db_s += super::thread_cpu_secs() - t;
                    if let Err(e) = stored {
                        // A database that cannot be written stops the run (disk full...).
                        control.cancel();
                        store_err = Some(e);
                        break;
                    }
                    prog.done += 1;
                    prog.audio_secs += secs;
                    prog.last = Some(TrackOutcome {
                        id: track.id,
                        path: track.path.clone(),
                        result: match &outcome {
                            Ok(d) => Ok(d.quadrant()),
                            Err(e) => {
                                prog.failed += 1;
                                Err(e.clone())
                            }
                        },
                    });
                    prog.elapsed_secs = started.elapsed().as_secs_f64();
                    prog.paused = control.is_paused();
                    progress(&prog);
                    last_tick = Instant::now();
                }
                Err(RecvTimeoutError::Timeout) => {
                    if last_tick.elapsed() >= Duration::from_millis(250) {
                        prog.elapsed_secs = started.elapsed().as_secs_f64();
                        prog.paused = control.is_paused();
                        prog.last = None;
                        progress(&prog);
                        last_tick = Instant::now();
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        drop(done_rx);
        for h in handles {
            // Workers catch per-track panics; a panic here is a bug in the plumbing.
            if let Err(p) = h.join() {
                worker_panic.get_or_insert(panic_text(p));
            }
        }
        if let Some(e) = store_err {
            return Err(e.into());
        }
        if let Some(p) = worker_panic {
            return Err(EngineError::WorkerPanicked(p));
        }
        prog.elapsed_secs = started.elapsed().as_secs_f64();
        prog.finished = true;
        prog.last = None;
        prog.paused = false;
        progress(&prog);
        // A poisoned lock only means a worker panicked mid-update: the times are still usable.
        let mut stages = *times.lock().unwrap_or_else(|e| e.into_inner());
        stages.database = db_s;
        Ok(Summary {
            progress: prog,
            stages,
            cancelled: control.is_cancelled(),
            device: self.device_name(),
            jobs,
            batch,
            stride: self.opts.stride,
            patches: patches_run.load(Ordering::Relaxed),
        })
    }
}

/// Lowers the calling thread's priority (Linux nice values are per thread).
fn lower_priority(nice: i32) {
    if nice <= 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread; failure only leaves the priority as is.
    unsafe {
        let tid = libc::gettid();
        let cur = libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t);
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, (cur + nice).min(19));
    }
}

/// The message of a caught panic (shared with the GUI backend's workers).
pub(crate) fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn feature_worker(
    queue: Arc<Mutex<VecDeque<PendingTrack>>>,
    tx: SyncSender<Job>,
    control: Arc<Control>,
    times: Arc<Mutex<StageTimes>>,
    plan: PatchPlan,
    nice: i32,
) {
    lower_priority(nice);
    let mut prep = match Preparer::new() {
        Ok(p) => p,
        Err(e) => {
            // Cannot happen with valid constants; report on every track rather than hang.
            while let Some(t) = queue.lock().ok().and_then(|mut q| q.pop_front()) {
                if tx.send((t, Err(TrackError::from(e.clone())))).is_err() {
                    return;
                }
            }
            return;
        }
    };
    loop {
        while control.is_paused() && !control.is_cancelled() {
            std::thread::sleep(Duration::from_millis(100));
        }
        if control.is_cancelled() {
            return;
        }
        let Some(track) = queue.lock().ok().and_then(|mut q| q.pop_front()) else {
            return;
        };
        let cancel = &control.cancel;
        let out =
            std::panic::catch_unwind(AssertUnwindSafe(|| prep.prepare(&track.path, plan, cancel)));
        let out = match out {
            Ok(Ok(p)) => {
                if let Ok(mut t) = times.lock() {
                    t.decode += p.decode_s;
                    t.features += p.features_s;
                }
                Ok(p)
            }
            Ok(Err(PrepareError::Cancelled)) => return,
            Ok(Err(e)) => Err(TrackError::from(e)),
            Err(p) => {
                // A panic may leave the FFT state odd: start afresh.
                if let Ok(p2) = Preparer::new() {
                    prep = p2;
                }
                Err(TrackError::Panicked {
                    stage: "while reading audio",
                    message: panic_text(p),
                })
            }
        };
        if tx.send((track, out)).is_err() {
            return;
        }
    }
}

struct NetCtx {
    models: Arc<Models>,
    plan: PatchPlan,
    batch: usize,
    nice: i32,
}

fn net_worker(
    ctx: NetCtx,
    rx: Arc<Mutex<Receiver<Job>>>,
    tx: mpsc::Sender<Done>,
    control: Arc<Control>,
    times: Arc<Mutex<StageTimes>>,
    patches_run: Arc<std::sync::atomic::AtomicUsize>,
) {
    lower_priority(ctx.nice);
    loop {
        // Gather whole tracks until the batch is full or nothing else is ready.
        let mut group: Vec<(PendingTrack, Prepared)> = Vec::new();
        let mut n = 0;
        {
            let Ok(rx) = rx.lock() else { return };
            let Ok(first) = rx.recv() else { return };
            let mut item = Some(first);
            while let Some((track, prepared)) = item.take() {
                match prepared {
                    Ok(p) => {
                        n += p.patch_index.len();
                        group.push((track, p));
                    }
                    Err(e) => {
                        let _ = tx.send((track, Err(e), 0.0));
                    }
                }
                if n < ctx.batch {
                    item = rx.try_recv().ok();
                }
            }
        }
        if group.is_empty() {
            continue;
        }
        if control.is_cancelled() {
            continue; // drain without work; the tracks stay pending
        }
        let out = std::panic::catch_unwind(AssertUnwindSafe(|| run_group(&ctx, &group)));
        let results = match out {
            Ok(r) => r,
            Err(p) => {
                let e = TrackError::Panicked {
                    stage: "in the network",
                    message: panic_text(p),
                };
                group.iter().map(|_| Err(e.clone())).collect()
            }
        };
        if let Ok(mut t) = times.lock() {
            t.network += results.network_s();
            t.emotion += results.emotion_s();
        }
        patches_run.fetch_add(n, Ordering::Relaxed);
        for ((track, p), r) in group.into_iter().zip(results.items) {
            if tx.send((track, r, p.duration_s)).is_err() {
                return;
            }
        }
    }
}

struct GroupResult {
    items: Vec<Result<AnalysisData, TrackError>>,
    network_s: f64,
    emotion_s: f64,
}

impl GroupResult {
    fn network_s(&self) -> f64 {
        self.network_s
    }
    fn emotion_s(&self) -> f64 {
        self.emotion_s
    }
}

impl FromIterator<Result<AnalysisData, TrackError>> for GroupResult {
    fn from_iter<I: IntoIterator<Item = Result<AnalysisData, TrackError>>>(it: I) -> Self {
        Self {
            items: it.into_iter().collect(),
            network_s: 0.0,
            emotion_s: 0.0,
        }
    }
}

/// musicnn over the patches of several tracks at once, then the emotion model per track.
fn run_group(ctx: &NetCtx, group: &[(PendingTrack, Prepared)]) -> GroupResult {
    let t = super::thread_cpu_secs();
    let per = PATCH_FRAMES * N_MELS;
    let total: usize = group.iter().map(|(_, p)| p.patch_index.len()).sum();
    let mut flat = Vec::with_capacity(total * per);
    for (_, p) in group {
        flat.extend_from_slice(&p.patches);
    }
    // Tracks are gathered across, then run in chunks of `batch` patches.
    let with_mid = ctx.models.emotion.cfg.features.needs_mid();
    let net = run_musicnn(ctx.models.net.as_ref(), &flat, ctx.batch, with_mid);
    let network_s = super::thread_cpu_secs() - t;
    let t = super::thread_cpu_secs();
    let items = match net {
        Err(e) => group
            .iter()
            .map(|_| Err(TrackError::Network(e.clone())))
            .collect(),
        Ok(mut rows) => group
            .iter()
            .map(|(_, p)| finish_track(ctx, p, rows.take_front(p.patch_index.len())))
            .collect(),
    };
    GroupResult {
        items,
        network_s,
        emotion_s: super::thread_cpu_secs() - t,
    }
}

/// Emotion model on one track's analysed patches, and the record to store.
fn finish_track(ctx: &NetCtx, p: &Prepared, rows: NetRows) -> Result<AnalysisData, TrackError> {
    if p.duration_s <= 0.0 || rows.tags.is_empty() {
        return Err(TrackError::NoAudio);
    }
    let f = segment_features(p, rows);
    let tags = &f.tags;
    let e = ctx.models.emotion.predict(&f)?;
    let timeline = timeline(&p.patch_index, ctx.plan, p.duration_s, &e.segments);
    let mut mean_tags = [0f32; N_TAGS];
    for t in tags {
        for (m, v) in mean_tags.iter_mut().zip(t) {
            *m += v / tags.len() as f32;
        }
    }
    let mut order: Vec<usize> = (0..mean_tags.len()).collect();
    order.sort_by(|&a, &b| mean_tags[b].total_cmp(&mean_tags[a]));
    let top_tags = order
        .into_iter()
        .take(TOP_TAGS)
        .filter_map(|i| {
            ctx.models
                .tag_names
                .get(i)
                .map(|n| (n.clone(), mean_tags[i]))
        })
        .collect();
    // A segment whose embedding has no word (non-finite, all zero) is left out.
    let words = f
        .emb
        .iter()
        .filter_map(|e| ctx.models.codebook.assign(e))
        .collect();
    Ok(AnalysisData {
        probs: e.probs,
        valence: e.valence,
        arousal: e.arousal,
        duration_s: p.duration_s,
        timeline,
        embedding: e.embedding,
        top_tags,
        thumbnail: p.thumbnail.clone(),
        words,
        tag_means: mean_tags.to_vec(),
        loudness: p.loudness.clone(),
    })
}

/// Each analysed patch stands for its stride window; the windows tile `0..duration`
/// (the first starts at 0, the last runs to the end), so the timeline covers the track.
pub fn timeline(
    patch_index: &[usize],
    plan: PatchPlan,
    duration_s: f64,
    seg: &[crate::model::emotion::SegmentEmotion],
) -> Vec<TimelinePoint> {
    let n = patch_index.len().min(seg.len());
    (0..n)
        .map(|k| {
            let window_start = |i: usize| (i / plan.stride * plan.stride) as f64 * SEGMENT_SECS;
            let start_s = if k == 0 {
                0.0
            } else {
                window_start(patch_index[k]).min(duration_s)
            };
            let end_s = if k + 1 == n {
                duration_s
            } else {
                window_start(patch_index[k + 1]).min(duration_s)
            };
            TimelinePoint {
                start_s,
                end_s,
                probs: seg[k].probs,
                valence: seg[k].valence,
                arousal: seg[k].arousal,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::emotion::SegmentEmotion;

    fn seg() -> SegmentEmotion {
        SegmentEmotion {
            start_s: 0.0,
            probs: [0.25; 4],
            valence: 0.0,
            arousal: 0.0,
        }
    }

    #[test]
    fn timeline_tiles_the_track() {
        let plan = PatchPlan::new(5);
        // 4-minute track: 80 whole patches, analysed 2, 7, ..., 77.
        let idx: Vec<usize> = (0..80).filter(|&i| plan.selects(i)).collect();
        let segs = vec![seg(); idx.len()];
        let tl = timeline(&idx, plan, 240.0, &segs);
        assert_eq!(tl.len(), 16);
        assert_eq!(tl[0].start_s, 0.0);
        assert_eq!(tl.last().unwrap().end_s, 240.0);
        for w in tl.windows(2) {
            assert_eq!(w[0].end_s, w[1].start_s);
            assert!(w[0].end_s > w[0].start_s);
        }
        // Short-track fallback: one point for the whole track.
        let tl = timeline(&[0], plan, 4.0, &[seg()]);
        assert_eq!((tl[0].start_s, tl[0].end_s), (0.0, 4.0));
    }

    #[test]
    fn progress_rates() {
        let p = Progress {
            total: 10,
            done: 4,
            audio_secs: 960.0,
            elapsed_secs: 2.0,
            ..Progress::default()
        };
        assert_eq!(p.x_realtime(), 480.0);
        assert_eq!(p.eta_secs(), Some(3.0));
        assert_eq!(Progress::default().eta_secs(), None);
    }
}
