//! The bridge between the window and the rest of Valence. Everything that touches the
//! database, the analysis engine or the disk runs on a std thread; results come back
//! through a oneshot (one answer) or an unbounded channel (a stream of progress), which
//! iced turns into messages with `Task::perform` / `Task::run`. The UI thread never blocks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use iced::futures::channel::{mpsc, oneshot};
use iced::futures::Stream;
use iced::widget::image;

use crate::analysis::{default_version, Control, Engine, EngineError, EngineOptions, Progress};
use crate::library::{
    scan, AnalysisCounts, AnalysisVersion, BrowseRow, Library, ScanOptions, StoreError,
    StoredAnalysis, TimelinePoint, TrackRow,
};

/// Why a background request failed. `Clone` (iced messages must be), so the io error sits
/// behind an `Arc`. The `Display` text is what the window shows.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BackendError {
    /// The worker thread panicked (a bug); `message` is the panic's text.
    #[error("the {worker} worker failed unexpectedly: {message}")]
    WorkerPanicked { worker: String, message: String },
    /// The worker thread ended without answering.
    #[error("the {worker} worker stopped unexpectedly")]
    WorkerStopped { worker: String },
    /// The OS would not start a thread.
    #[error("cannot start a worker thread for {worker}: {source}")]
    Spawn {
        worker: String,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The library database (open, query, scan).
    #[error(transparent)]
    Library(#[from] StoreError),
    /// The analysis engine (models, workers, storing results).
    #[error(transparent)]
    Analysis(#[from] EngineError),
}

impl BackendError {
    fn spawn(worker: &str, e: std::io::Error) -> Self {
        BackendError::Spawn {
            worker: worker.to_string(),
            source: Arc::new(e),
        }
    }
}

/// Runs `f` on a new thread and resolves with its result. A panic or a failed spawn
/// becomes an error rather than a stuck future.
pub async fn off_thread<T, F>(name: &str, f: F) -> Result<T, BackendError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, BackendError> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let worker = name.to_string();
    std::thread::Builder::new()
        .name(format!("valence-{name}"))
        .spawn(move || {
            // Caught so the window can say which worker failed, and with what.
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
                    Err(BackendError::WorkerPanicked {
                        worker,
                        message: crate::analysis::panic_text(panic),
                    })
                });
            let _ = tx.send(result);
        })
        .map_err(|e| BackendError::spawn(name, e))?;
    rx.await.map_err(|_| BackendError::WorkerStopped {
        worker: name.to_string(),
    })?
}

/// The version results must carry to be current. Without the model files nothing is
/// current, but the library can still be browsed and played.
fn version() -> (AnalysisVersion, Option<String>) {
    match default_version() {
        Ok(v) => (v, None),
        Err(e) => (
            AnalysisVersion {
                features: 0,
                model: "unavailable".into(),
            },
            Some(format!("emotion model unavailable: {e}")),
        ),
    }
}

/// What the library view needs at start-up and after each change.
#[derive(Debug, Clone)]
pub struct LibraryData {
    pub rows: Vec<BrowseRow>,
    pub counts: AnalysisCounts,
    pub warning: Option<String>,
}

pub async fn load_library(db: PathBuf) -> Result<LibraryData, BackendError> {
    off_thread("load", move || {
        let lib = Library::open(&db)?;
        let (v, warning) = version();
        let rows = lib.browse(&v)?;
        let counts = lib.analysis_counts(&v)?;
        Ok(LibraryData {
            rows,
            counts,
            warning,
        })
    })
    .await
}

/// A row re-read after its analysis landed; `None` when the track is no longer a playable
/// row of the library (deleted or unreadable since: the table then needs a full reload).
pub type RowUpdate = (i64, Option<BrowseRow>);

/// The current rows of `ids`, read on one connection: how the table follows the analysis
/// without re-reading the whole library (see `App::on_job_event`).
pub async fn load_rows(db: PathBuf, ids: Vec<i64>) -> Result<Vec<RowUpdate>, BackendError> {
    off_thread("rows", move || {
        let lib = Library::open(&db)?;
        let (v, _) = version();
        ids.into_iter()
            .map(|id| Ok((id, lib.browse_row(&v, id)?)))
            .collect()
    })
    .await
}

/// Everything the detail pane shows about one track.
#[derive(Debug, Clone)]
pub struct DetailData {
    pub id: i64,
    pub track: Option<TrackRow>,
    pub analysis: Option<StoredAnalysis>,
    pub spectrogram: Option<image::Handle>,
}

pub async fn load_detail(db: PathBuf, id: i64) -> Result<DetailData, BackendError> {
    off_thread("detail", move || {
        let lib = Library::open(&db)?;
        let (v, _) = version();
        let track = lib.track(id)?;
        let analysis = lib.analysis(id, &v)?;
        let spectrogram = analysis
            .as_ref()
            .and_then(|a| a.data.as_ref())
            .and_then(|d| super::widgets::spectrogram_handle(&d.thumbnail));
        Ok(DetailData {
            id,
            track,
            analysis,
            spectrogram,
        })
    })
    .await
}

/// The timeline of the playing track, for the seek bar.
pub async fn load_timeline(
    db: PathBuf,
    id: i64,
) -> Result<(i64, Vec<TimelinePoint>), BackendError> {
    off_thread("timeline", move || {
        let lib = Library::open(&db)?;
        let (v, _) = version();
        let a = lib.analysis(id, &v)?;
        Ok((
            id,
            a.and_then(|a| a.data)
                .map(|d| d.timeline)
                .unwrap_or_default(),
        ))
    })
    .await
}

/// News from a background scan + analysis run.
#[derive(Debug, Clone)]
pub enum JobEvent {
    Scanning,
    Scanned {
        seen: usize,
        added: usize,
        failed: usize,
        problems: Vec<String>,
    },
    LoadingModels,
    Progress(Progress),
    Finished {
        analysed: usize,
        failed: usize,
        cancelled: bool,
    },
    Failed(BackendError),
}

/// Scans `roots` (if any) and then analyses every pending track, reporting as it goes.
/// `control` pauses, resumes and cancels the analysis.
pub fn run_job(
    db: PathBuf,
    roots: Vec<PathBuf>,
    control: Arc<Control>,
) -> impl Stream<Item = JobEvent> {
    let (tx, rx) = mpsc::unbounded();
    let spawned = std::thread::Builder::new()
        .name("valence-job".into())
        .spawn({
            let tx = tx.clone();
            move || {
                // A panic would otherwise end the stream in silence, the strip still
                // saying "Analysing".
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    job(&db, &roots, &control, &tx)
                }))
                .unwrap_or_else(|panic| {
                    Err(BackendError::WorkerPanicked {
                        worker: "analysis".into(),
                        message: crate::analysis::panic_text(panic),
                    })
                });
                if let Err(e) = result {
                    let _ = tx.unbounded_send(JobEvent::Failed(e));
                }
            }
        });
    if let Err(e) = spawned {
        let _ = tx.unbounded_send(JobEvent::Failed(BackendError::spawn("analysis", e)));
    }
    rx
}

fn job(
    db: &Path,
    roots: &[PathBuf],
    control: &Arc<Control>,
    tx: &mpsc::UnboundedSender<JobEvent>,
) -> Result<(), BackendError> {
    if !roots.is_empty() {
        let _ = tx.unbounded_send(JobEvent::Scanning);
        let mut lib = Library::open(db)?;
        let report = scan(&mut lib, roots, &ScanOptions::default())?;
        let _ = tx.unbounded_send(JobEvent::Scanned {
            seen: report.seen,
            added: report.added + report.updated,
            failed: report.failed + report.unsupported,
            problems: report.walk_errors.clone(),
        });
    }
    if control.is_cancelled() {
        return Ok(());
    }
    let _ = tx.unbounded_send(JobEvent::LoadingModels);
    let engine = Engine::load(EngineOptions::default())?;
    let summary = engine.run(db, control, |p| {
        let _ = tx.unbounded_send(JobEvent::Progress(p.clone()));
    })?;
    let _ = tx.unbounded_send(JobEvent::Finished {
        // `done` counts every finished track, the failed ones included.
        analysed: summary.progress.done - summary.progress.failed,
        failed: summary.progress.failed,
        cancelled: summary.cancelled,
    });
    Ok(())
}
