//! The bridge between the window and the rest of Valence. Everything that touches the
//! database, the analysis engine or the disk runs on a std thread; results come back
//! through a oneshot (one answer) or an unbounded channel (a stream of progress), which
//! iced turns into messages with `Task::perform` / `Task::run`. The UI thread never blocks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use iced::futures::channel::{mpsc, oneshot};
use iced::futures::Stream;
use iced::widget::image;

use crate::analysis::{default_version, remote, Control, EngineError, EngineOptions, Progress};
use crate::library::{
    scan, AnalysisCounts, AnalysisVersion, BrowseRow, Library, ScanOptions, StoreError,
    StoredAnalysis, TimelinePoint, TrackRow,
};
use crate::mood::Calibration;
use crate::playlists::{
    CheckIn, JourneyRequest, JourneySpec, NewSession, PlannedJourney, Replan, Session, SessionEdit,
    SessionError, SessionExport, SessionStop, SessionSummary, When,
};
use crate::playlists::{
    GenerateError, MoodMethod, MoodReading, NewPlay, Play, Playlist, PlaylistError,
    PlaylistSummary, Request, Size,
};
use crate::themes::store::{Scene, SceneError, SceneUpdate};

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
    /// Making, keeping or exporting a playlist (shared: the error holds an io error).
    #[error("{0}")]
    Playlist(#[source] Arc<PlaylistError>),
    /// Keeping or exporting a session.
    #[error("{0}")]
    Session(#[source] Arc<SessionError>),
    /// Fitting, reading or renaming theme scenes.
    #[error("{0}")]
    Scenes(#[source] Arc<SceneError>),
}

impl From<SceneError> for BackendError {
    fn from(e: SceneError) -> Self {
        BackendError::Scenes(Arc::new(e))
    }
}

impl From<SessionError> for BackendError {
    fn from(e: SessionError) -> Self {
        BackendError::Session(Arc::new(e))
    }
}

impl From<PlaylistError> for BackendError {
    fn from(e: PlaylistError) -> Self {
        BackendError::Playlist(Arc::new(e))
    }
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
        // The models are there, but the program that runs them may not be.
        Ok(v) => match remote::engine_path() {
            Ok(p) if p.exists() => (v, None),
            Ok(p) => (
                v,
                Some(format!(
                    "analysis is off: the analysis engine is missing ({}); install valence-engine beside valence",
                    p.display()
                )),
            ),
            Err(e) => (v, Some(format!("analysis is off: {e}"))),
        },
        Err(e) => (
            AnalysisVersion::unavailable(),
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
    /// Marked "never in playlists".
    pub never_in_playlists: bool,
    /// Its theme scenes, largest share first (empty before scenes are fitted).
    pub scenes: Vec<crate::themes::store::SceneShare>,
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
        let never_in_playlists = lib.never_in_playlists()?.contains(&id);
        // Scenes are extra: a problem reading them leaves them out, not the detail.
        let scenes = lib.track_scenes(id).unwrap_or_default();
        Ok(DetailData {
            id,
            track,
            analysis,
            spectrogram,
            never_in_playlists,
            scenes,
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

/// The "mood now" card's two readings (seed 000's week, seed 001's last plays).
#[derive(Debug, Clone, PartialEq)]
pub struct MoodData {
    pub week: MoodReading,
    pub recent: MoodReading,
}

impl MoodData {
    pub fn reading(&self, method: MoodMethod) -> &MoodReading {
        match method {
            MoodMethod::Week => &self.week,
            MoodMethod::Recent => &self.recent,
        }
    }
}

fn calibration() -> Calibration {
    crate::analysis::default_calibration().unwrap_or_default()
}

fn now() -> i64 {
    crate::library::store::now_secs()
}

pub async fn load_mood(db: PathBuf) -> Result<MoodData, BackendError> {
    off_thread("mood", move || {
        let lib = Library::open(&db)?;
        let (v, _) = version();
        let (cal, t) = (calibration(), now());
        Ok(MoodData {
            week: lib.mood_now(&v, &cal, MoodMethod::Week, t)?,
            recent: lib.mood_now(&v, &cal, MoodMethod::Recent, t)?,
        })
    })
    .await
}

/// Stores the plays the player measured; answers how many were stored.
pub async fn record_plays(db: PathBuf, plays: Vec<NewPlay>) -> Result<usize, BackendError> {
    off_thread("history", move || {
        let mut lib = Library::open(&db)?;
        let mut n = 0;
        for p in &plays {
            n += usize::from(lib.record_play(p)?.is_some());
        }
        Ok(n)
    })
    .await
}

/// The newest plays, for the History screen.
pub async fn load_history(db: PathBuf, limit: usize) -> Result<Vec<Play>, BackendError> {
    off_thread("history", move || {
        Ok(Library::open(&db)?.history(limit, false)?)
    })
    .await
}

pub async fn load_playlists(db: PathBuf) -> Result<Vec<PlaylistSummary>, BackendError> {
    off_thread("playlists", move || Ok(Library::open(&db)?.playlists()?)).await
}

pub async fn load_playlist(db: PathBuf, id: i64) -> Result<Option<Playlist>, BackendError> {
    off_thread("playlists", move || {
        let lib = Library::open(&db)?;
        let (v, _) = version();
        Ok(lib.playlist(&v, id)?)
    })
    .await
}

/// Makes a playlist for `req` now and keeps it; answers its id, and when the library
/// could not give the whole size asked, why (the window then keeps the shorter playlist:
/// four happy tracks are a better answer than none).
pub async fn make_playlist(
    db: PathBuf,
    req: Request,
) -> Result<(i64, Option<String>), BackendError> {
    off_thread("playlists", move || {
        let mut lib = Library::open(&db)?;
        let (v, _) = version();
        let cal = calibration();
        let t = now();
        let (made, note) = match lib.make_playlist(&v, &cal, &req, t) {
            Err(PlaylistError::Generate(e @ GenerateError::Unsatisfiable { got, .. }))
                if got > 0 && matches!(req.size, Size::Count(_)) =>
            {
                let shorter = Request {
                    size: Size::Count(got),
                    ..req.clone()
                };
                (
                    lib.make_playlist(&v, &cal, &shorter, t)?,
                    Some(e.to_string()),
                )
            }
            other => (other?, None),
        };
        let id = lib.create_playlist(&made.name, Some(&made.request), &made.generated.tracks)?;
        Ok((id, note))
    })
    .await
}

/// Marks a track "never in playlists" (or clears the mark).
pub async fn set_never_in_playlists(db: PathBuf, id: i64, never: bool) -> Result<(), BackendError> {
    off_thread("playlists", move || {
        Ok(Library::open(&db)?.set_never_in_playlists(id, never)?)
    })
    .await
}

/// A change to a kept playlist.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaylistEdit {
    Rename(String),
    /// The tracks in their new order (reordering and removing).
    SetTracks(Vec<i64>),
    Delete,
}

pub async fn edit_playlist(db: PathBuf, id: i64, edit: PlaylistEdit) -> Result<(), BackendError> {
    off_thread("playlists", move || {
        let mut lib = Library::open(&db)?;
        match edit {
            PlaylistEdit::Rename(name) => lib.rename_playlist(id, &name)?,
            PlaylistEdit::SetTracks(t) => lib.set_playlist_tracks(id, &t)?,
            PlaylistEdit::Delete => lib.delete_playlist(id)?,
        };
        Ok(())
    })
    .await
}

/// Writes a playlist as M3U8 to `out`; answers the file and the number of entries.
pub async fn export_playlist(
    db: PathBuf,
    id: i64,
    out: PathBuf,
) -> Result<(PathBuf, usize), BackendError> {
    off_thread("export", move || {
        let lib = Library::open(&db)?;
        let (v, _) = version();
        let n = lib.export_playlist(&v, id, &out)?;
        Ok((out, n))
    })
    .await
}

/// Plans a journey (`Library::plan_journey`).
pub async fn plan_journey(db: PathBuf, spec: JourneySpec) -> Result<PlannedJourney, BackendError> {
    off_thread("journey", move || {
        let lib = Library::open(&db)?;
        let (v, _) = version();
        Ok(lib.plan_journey(&v, &calibration(), &spec, now())?)
    })
    .await
}

/// A change to a planned journey, owned so it can travel to the worker.
#[derive(Debug, Clone, PartialEq)]
pub enum JourneyChange {
    Swap(usize),
    Regenerate(Vec<bool>),
}

/// Swaps one track or regenerates the unlocked ones (`Library::replan_journey`); answers
/// the new journey and the locks it keeps.
pub async fn replan_journey(
    db: PathBuf,
    request: JourneyRequest,
    tracks: Vec<i64>,
    change: JourneyChange,
) -> Result<(PlannedJourney, Vec<bool>), BackendError> {
    off_thread("journey", move || {
        let lib = Library::open(&db)?;
        let (v, _) = version();
        let (replan, locked) = match &change {
            JourneyChange::Swap(i) => (Replan::Swap(*i), Vec::new()),
            JourneyChange::Regenerate(l) => (Replan::Regenerate { locked: l }, l.clone()),
        };
        Ok((lib.replan_journey(&v, &request, &tracks, replan)?, locked))
    })
    .await
}

/// The theme scenes after bringing them up to date (`Library::update_scenes`).
#[derive(Debug, Clone)]
pub struct ScenesData {
    pub update: SceneUpdate,
    pub scenes: Vec<Scene>,
}

/// Fits the scenes when asked (`refit`) or due, folds new tracks in, and lists them. A fit
/// of a large library takes a while (about 37 s at 100,000 tracks): it runs here, off the
/// UI thread.
pub async fn update_scenes(db: PathBuf, refit: bool) -> Result<ScenesData, BackendError> {
    off_thread("scenes", move || {
        let mut lib = Library::open(&db)?;
        let (v, _) = version();
        let cal = calibration();
        let tags = crate::themes::default_tag_names().map_err(SceneError::from)?;
        let update = lib.update_scenes(&v, &cal, &tags, refit, None)?;
        let scenes = lib.scenes(&v, &cal)?;
        Ok(ScenesData { update, scenes })
    })
    .await
}

pub async fn rename_scene(db: PathBuf, id: i64, name: String) -> Result<(), BackendError> {
    off_thread("scenes", move || {
        Ok(Library::open(&db)?.rename_scene(id, &name)?)
    })
    .await
}

pub async fn load_sessions(db: PathBuf) -> Result<Vec<SessionSummary>, BackendError> {
    off_thread("sessions", move || Ok(Library::open(&db)?.sessions()?)).await
}

pub async fn load_session(db: PathBuf, id: i64) -> Result<Option<Session>, BackendError> {
    off_thread("sessions", move || Ok(Library::open(&db)?.session(id)?)).await
}

/// Keeps a new session with the check-ins recorded before it was saved; answers its id.
pub async fn save_session(
    db: PathBuf,
    new: NewSession,
    check_ins: [Option<CheckIn>; 2],
) -> Result<i64, BackendError> {
    off_thread("sessions", move || {
        Ok(Library::open(&db)?.save_session_with(&new, check_ins)?)
    })
    .await
}

/// A change to a kept session: its text and tracks, a check-in, or its removal.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionChange {
    Update {
        name: String,
        client: Option<String>,
        notes: String,
        stops: Vec<SessionStop>,
    },
    CheckIn(When, Option<(f32, f32)>),
    Delete,
}

pub async fn edit_session(db: PathBuf, id: i64, change: SessionChange) -> Result<(), BackendError> {
    off_thread("sessions", move || {
        let mut lib = Library::open(&db)?;
        match change {
            SessionChange::Update {
                name,
                client,
                notes,
                stops,
            } => {
                lib.edit_session_with(
                    id,
                    vec![
                        SessionEdit::Rename(name),
                        SessionEdit::Client(client),
                        SessionEdit::Notes(notes),
                        SessionEdit::Stops(stops),
                    ],
                )?;
            }
            SessionChange::CheckIn(w, p) => {
                lib.edit_session(id, SessionEdit::CheckIn(w, p))?;
            }
            SessionChange::Delete => {
                lib.delete_session(id)?;
            }
        }
        Ok(())
    })
    .await
}

/// Exports a session into `dir`: its M3U8, its printable sheet and the picture of its path
/// on the map (drawn over the library's points, `map::render_png`).
pub async fn export_session(
    db: PathBuf,
    id: i64,
    dir: PathBuf,
    points: Arc<crate::gui::widgets::map_canvas::MapData>,
) -> Result<SessionExport, BackendError> {
    off_thread("export", move || {
        let lib = Library::open(&db)?;
        let session = lib.session(id)?.ok_or(SessionError::NoSuchSession(id))?;
        // Without a picture the sheet still has its table; the reason goes to stderr.
        let png = match crate::gui::map::session_png(&points, &session) {
            Ok(png) => Some(png),
            Err(e) => {
                eprintln!("valence: the session picture was not drawn: {e}");
                None
            }
        };
        Ok(lib.export_session(id, &dir, png.as_deref())?)
    })
    .await
}

/// The newest backup that passes SQLite's check (for a damaged library).
pub async fn find_backup(
    db: PathBuf,
) -> Result<Option<crate::library::backup::BackupInfo>, BackendError> {
    off_thread("backups", move || {
        Ok(crate::library::backup::newest_good(&db))
    })
    .await
}

/// Mends a damaged library: the newest good backup put in its place (`restore`), or a new
/// library. The damaged file is renamed aside either way. Returns what happened, in words.
pub async fn mend_library(db: PathBuf, restore: bool) -> Result<String, BackendError> {
    use crate::library::backup;
    off_thread("backups", move || {
        let now = crate::library::store::now_secs();
        if restore {
            let Some((b, aside)) = backup::restore_newest(&db, now)? else {
                return Ok("No good backup was found; nothing was changed".to_string());
            };
            let kept = aside.map_or(String::new(), |a| {
                format!("; the damaged file is kept as {}", a.display())
            });
            Ok(format!("Restored the backup of {}{kept}", b.date))
        } else {
            let kept = backup::start_new(&db, now)?.map_or(String::new(), |a| {
                format!("; the damaged file is kept as {}", a.display())
            });
            Ok(format!("Started a new library{kept}"))
        }
    })
    .await
}

/// Today's backup of the library, if it is due (`library::backup::backup_daily`).
pub async fn backup_daily(db: PathBuf) -> Result<Option<PathBuf>, BackendError> {
    off_thread("backups", move || {
        Ok(crate::library::backup::backup_daily(
            &db,
            crate::library::store::now_secs(),
        )?)
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

/// Scans `roots` (if any) here, then analyses every pending track in the engine process
/// (`analysis::remote`), reporting as it goes. `control` pauses, resumes and cancels it.
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
    // In the engine process: the window never loads libtorch, and a crash in inference
    // ends that process, not playback.
    let summary = remote::run(db, &EngineOptions::default(), control, |e| {
        if let remote::Event::Progress(p) = e {
            let _ = tx.unbounded_send(JobEvent::Progress(p));
        }
    })?;
    let _ = tx.unbounded_send(JobEvent::Finished {
        // `done` counts every finished track, the failed ones included.
        analysed: summary.progress.done - summary.progress.failed,
        failed: summary.progress.failed,
        cancelled: summary.cancelled,
    });
    Ok(())
}
