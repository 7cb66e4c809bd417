//! The Valence window (iced 0.14). One module per screen — `setup` (first run), `library`
//! (the table), `detail` (one track), `player` (the bar), `map` (the library on the
//! valence-arousal plane) with its `journey` panel (journeys and sessions), `scenes` (theme
//! scenes), `playlists`, `history`, and the `mood_card` in the sidebar — each with its own `State`, `Message`, `update`, `view` and
//! an outward `Event`; `backend` bridges to the library, the analysis engine and the disk
//! off the UI thread.

pub mod backend;
pub mod desktop;
pub mod detail;
pub mod history;
pub mod journey;
pub mod library;
pub mod map;
pub mod mood_card;
pub mod mpris;
pub mod player;
pub mod playlists;
pub mod recovery;
pub mod scenes;
pub mod setup;
pub mod theme;
mod trace;
pub mod widgets;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use iced::keyboard::{self, key::Named, Key};
use iced::task::Handle;
use iced::widget::{button, column, container, progress_bar, row, space, text};
use iced::{alignment, event, Element, Font, Length, Subscription, Task, Theme};

use crate::analysis::{Control, Progress};
use crate::library::{AnalysisCounts, BrowseRow, TimelinePoint};
use crate::playlists::{
    MoodMethod, MoodReading, PlannedJourney, Play, Playlist, PlaylistSummary, Request, Session,
    SessionExport, SessionSummary, Size, Target,
};

use backend::{
    BackendError, DetailData, JobEvent, JourneyChange, LibraryData, MoodData, PlaylistEdit,
    RowUpdate, ScenesData, SessionChange,
};

/// Width of the title bar's ReplayGain label, room for its longest ("ReplayGain: album")
/// at the small text size.
const REPLAYGAIN_LABEL_WIDTH: f32 = 112.0;

/// The screens the sidebar switches between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Library,
    Map,
    Scenes,
    Playlists,
    History,
}

/// Tracks in a playlist made from the window.
pub const PLAYLIST_TRACKS: usize = 25;
/// Variety of a playlist made from the window.
pub const PLAYLIST_VARIETY: f32 = 0.3;

/// The app's typeface (bundled with iced's `fira-sans` feature, so every machine and the
/// snapshot tests render the same glyphs).
pub const FONT_NAME: &str = "Fira Sans";

/// Seconds as m:ss (h:mm:ss past an hour): the one formatter, shared with the data layer.
pub use crate::playlists::history::fmt_clock as fmt_time;

/// Opens the window on the library at `db`, playing `files` (opened from a file manager)
/// once they are scanned in. Blocks until the window closes.
pub fn run(db: PathBuf, files: Vec<PathBuf>) -> iced::Result {
    // Read before the window opens: its size comes from there.
    let kept = crate::settings::default_path().map(|p| {
        let loaded = crate::settings::load(&p);
        (p, loaded)
    });
    let size = kept
        .as_ref()
        .map(|(_, l)| l.settings.window)
        .unwrap_or_default();
    let boot = move || {
        let (mut app, task) = App::boot(db.clone());
        if let Some((file, loaded)) = &kept {
            app.keep_settings(file.clone(), loaded.clone());
        }
        app.enable_mpris();
        let open = app.open_files(files.clone());
        (app, Task::batch([task, open]))
    };
    iced::application(boot, App::update, App::view)
        .title(App::title)
        .theme(App::theme)
        .subscription(App::subscription)
        .default_font(Font::with_name(FONT_NAME))
        .window(crate::desktop::window_settings())
        .window_size((size.width, size.height))
        .run()
}

/// A background scan/analysis run.
struct Job {
    control: Arc<Control>,
    _handle: Handle,
    phase: Phase,
    progress: Option<Progress>,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Scanning,
    LoadingModels,
    Analysing,
    Done(String),
    Failed(String),
}

pub struct App {
    db: PathBuf,
    mode: theme::Mode,
    loaded: bool,
    show_setup: bool,
    setup: setup::State,
    pub library: library::State,
    pub detail: detail::State,
    pub player: player::State,
    pub playlists: playlists::State,
    pub history: history::State,
    pub map: map::State,
    pub journey: journey::State,
    pub scenes: scenes::State,
    /// Another scenes update was asked for while one ran (true: a refit).
    scenes_again: Option<bool>,
    /// The first load started the first scenes update.
    scenes_started: bool,
    screen: Screen,
    /// Where exports go: the music folder (tests: a temporary one).
    export_dir: PathBuf,
    mood: Option<MoodData>,
    mood_method: MoodMethod,
    /// Plays stored since start (tests check that playing records them).
    plays_recorded: usize,
    job: Option<Job>,
    counts: AnalysisCounts,
    warning: Option<String>,
    /// What a finished action says (e.g. a restored backup), under the title bar.
    notice: Option<String>,
    /// Files given on the command line (opened from a file manager), to play once scanned:
    /// the files, and whether their scan has finished.
    to_play: Vec<PathBuf>,
    to_play_scanned: bool,
    /// The library file is damaged: the recovery screen instead of the library.
    recovery: Option<recovery::State>,
    /// The library could not be opened for another reason (a read-only folder, a newer
    /// Valence's database): why, shown instead of the library.
    open_failed: Option<String>,
    /// Today's backup was asked for (once, after the first load).
    backup_started: bool,
    /// A full reload is in flight.
    reloading: bool,
    /// The library changed again while a reload was in flight: reload once more after it.
    reload_again: bool,
    /// Full reloads started (tests check that analysis progress starts none).
    reloads: u64,
    /// Tracks whose analysis landed and whose rows are not re-read yet.
    stale_rows: Vec<i64>,
    /// A `load_rows` is in flight (one at a time; ids arriving meanwhile wait in
    /// `stale_rows` and go in the next one).
    fetching_rows: bool,
    /// Settings kept between runs, and MPRIS (see `desktop`).
    desk: desktop::Desktop,
}

#[derive(Debug, Clone)]
pub enum Message {
    Loaded(Result<LibraryData, BackendError>),
    Setup(setup::Message),
    Library(library::Message),
    Detail(detail::Message),
    Player(player::Message),
    DetailLoaded(Result<DetailData, BackendError>),
    TimelineLoaded(Result<(i64, Vec<TimelinePoint>), BackendError>),
    /// Rows re-read after their analysis landed (`backend::load_rows`).
    RowsLoaded(Result<Vec<RowUpdate>, BackendError>),
    Job(JobEvent),
    Screen(Screen),
    Playlists(playlists::Message),
    MoodCard(mood_card::Message),
    MoodLoaded(Result<MoodData, BackendError>),
    PlaysRecorded(Result<usize, BackendError>),
    HistoryLoaded(Result<Vec<Play>, BackendError>),
    PlaylistsLoaded(Result<Vec<PlaylistSummary>, BackendError>),
    PlaylistLoaded(Result<Option<Playlist>, BackendError>),
    /// A playlist was made and kept (its id), or why not.
    PlaylistMade(Result<(i64, Option<String>), BackendError>),
    PlaylistEdited(Result<(), BackendError>),
    Exported(Result<(PathBuf, usize), BackendError>),
    Map(map::Message),
    Journey(journey::Message),
    JourneyPlanned(Result<PlannedJourney, BackendError>),
    /// A swap or a regeneration, with the locks it keeps.
    JourneyReplanned(Result<(PlannedJourney, Vec<bool>), BackendError>),
    SessionsLoaded(Result<Vec<SessionSummary>, BackendError>),
    SessionLoaded(Result<Option<Session>, BackendError>),
    SessionSaved(Result<i64, BackendError>),
    SessionEdited(Result<(), BackendError>),
    SessionExported(Result<SessionExport, BackendError>),
    Scenes(scenes::Message),
    ScenesUpdated(Result<ScenesData, BackendError>),
    SceneRenamed(Result<(), BackendError>),
    Recovery(recovery::Message),
    /// A damaged library was mended (what happened, in words).
    Mended(Result<String, BackendError>),
    BackedUp(Result<Option<PathBuf>, BackendError>),
    DismissNotice,
    /// Open the library again (after it could not be opened).
    Retry,
    /// A frame asked for by `VALENCE_TRACE_FRAMES` (see `trace`).
    FrameTick,
    PauseJob(bool),
    CloseJob,
    AddMusic,
    ToggleTheme,
    Key(keyboard::Event, bool),
    Desktop(desktop::Message),
}

impl App {
    /// The state before anything is loaded; `boot` adds the first load.
    pub fn new(db: PathBuf) -> Self {
        let music = directories::UserDirs::new().and_then(|u| {
            // XDG_MUSIC_DIR when configured, else ~/Music when it exists.
            u.audio_dir()
                .map(|p| p.to_path_buf())
                .or_else(|| Some(u.home_dir().join("Music")).filter(|p| p.is_dir()))
        });
        Self {
            db,
            mode: theme::Mode::Dark,
            loaded: false,
            show_setup: false,
            setup: setup::State::new(music),
            library: library::State::default(),
            detail: detail::State::default(),
            player: player::State::default(),
            playlists: playlists::State::default(),
            history: history::State::default(),
            map: map::State::default(),
            journey: journey::State::default(),
            scenes: scenes::State::default(),
            scenes_again: None,
            scenes_started: false,
            screen: Screen::Library,
            export_dir: user_folder(),
            mood: None,
            mood_method: MoodMethod::Week,
            plays_recorded: 0,
            job: None,
            counts: AnalysisCounts::default(),
            warning: None,
            notice: None,
            to_play: Vec::new(),
            to_play_scanned: false,
            recovery: None,
            open_failed: None,
            backup_started: false,
            reloading: false,
            reload_again: false,
            reloads: 0,
            stale_rows: Vec::new(),
            fetching_rows: false,
            desk: desktop::Desktop::default(),
        }
    }

    pub fn boot(db: PathBuf) -> (Self, Task<Message>) {
        let mut app = Self::new(db);
        let task = Task::batch([app.reload(), app.load_mood(), app.load_playlists()]);
        (app, task)
    }

    /// The app on a library database, with this audio output (tests: a virtual one).
    pub fn with_db(db: PathBuf, opener: player::Opener) -> (Self, Task<Message>) {
        let (mut app, task) = Self::boot(db);
        app.setup = setup::State::new(None);
        app.player = player::State::new(opener);
        (app, task)
    }

    /// Opens files as a file manager does ("Open with Valence"): they join the library (a
    /// scan of just those files, then their analysis) and play, in the order given, once
    /// scanned. A file that cannot be played is said in the notice.
    pub fn open_files(&mut self, files: Vec<PathBuf>) -> Task<Message> {
        let mut missing = Vec::new();
        self.to_play = files
            .into_iter()
            .filter_map(|f| match f.canonicalize() {
                Ok(p) if p.is_file() => Some(p),
                _ => {
                    missing.push(f.display().to_string());
                    None
                }
            })
            .collect();
        if !missing.is_empty() {
            self.notice = Some(format!("Cannot open {}: no such file", missing.join(", ")));
        }
        if self.to_play.is_empty() {
            return Task::none();
        }
        self.to_play_scanned = false;
        self.start_job(self.to_play.clone())
    }

    /// The opened files' rows, once their scan is in: they become the queue and play.
    fn play_opened(&mut self) -> Task<Message> {
        if self.to_play.is_empty() || !self.to_play_scanned {
            return Task::none();
        }
        let files = std::mem::take(&mut self.to_play);
        let mut queue = Vec::new();
        let mut unplayable = Vec::new();
        for f in &files {
            match self.library.rows().iter().find(|r| &r.path == f) {
                Some(r) => queue.push(player::QueueItem::from(r)),
                None => unplayable.push(
                    f.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                ),
            }
        }
        if !unplayable.is_empty() {
            let said = format!(
                "Cannot play {}: not a readable audio file (`valence status` says why)",
                unplayable.join(", ")
            );
            // After what opening said (files that do not exist), not instead of it.
            self.notice = Some(match self.notice.take() {
                Some(before) => format!("{before}. {said}"),
                None => said,
            });
        }
        if queue.is_empty() {
            return Task::none();
        }
        let e = self.player.play_queue(queue, 0);
        self.on_player_event(e)
    }

    /// Whether a scan or analysis run is under way.
    pub fn is_analysing(&self) -> bool {
        self.job.is_some()
    }

    /// What the last finished action said (e.g. a restored backup), while shown.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    pub fn screen(&self) -> Screen {
        self.screen
    }

    /// The mood card's readings, once loaded.
    pub fn mood(&self) -> Option<&MoodData> {
        self.mood.as_ref()
    }

    /// Plays stored since the window opened.
    pub fn plays_recorded(&self) -> usize {
        self.plays_recorded
    }

    fn load_mood(&self) -> Task<Message> {
        Task::perform(backend::load_mood(self.db.clone()), Message::MoodLoaded)
    }

    fn load_playlists(&self) -> Task<Message> {
        Task::perform(
            backend::load_playlists(self.db.clone()),
            Message::PlaylistsLoaded,
        )
    }

    fn load_history(&self) -> Task<Message> {
        Task::perform(
            backend::load_history(self.db.clone(), history::LIMIT),
            Message::HistoryLoaded,
        )
    }

    fn open_playlist(&self, id: i64) -> Task<Message> {
        Task::perform(
            backend::load_playlist(self.db.clone(), id),
            Message::PlaylistLoaded,
        )
    }

    /// Makes and keeps a playlist for `target`; the Playlists screen opens on it.
    fn make_playlist(&mut self, target: Target) -> Task<Message> {
        let req = Request {
            target,
            size: Size::Count(PLAYLIST_TRACKS),
            variety: PLAYLIST_VARIETY,
            seed: crate::library::store::now_secs() as u64,
        };
        Task::perform(
            backend::make_playlist(self.db.clone(), req),
            Message::PlaylistMade,
        )
    }

    /// Stores the plays the player finished measuring.
    fn record_plays(&mut self) -> Task<Message> {
        let plays = self.player.take_plays();
        if plays.is_empty() {
            return Task::none();
        }
        Task::perform(
            backend::record_plays(self.db.clone(), plays),
            Message::PlaysRecorded,
        )
    }

    /// A ready app over the given rows, with no I/O (tests, benches).
    pub fn with_rows(rows: Vec<BrowseRow>, opener: player::Opener) -> Self {
        let mut app = Self::new(PathBuf::from("/nonexistent/valence-test.sqlite3"));
        app.setup = setup::State::new(None);
        app.player = player::State::new(opener);
        app.counts.tracks = rows.len() as u64;
        app.counts.analysed = rows.iter().filter(|r| r.mood.is_some()).count() as u64;
        app.counts.pending = rows
            .iter()
            .filter(|r| analysis_state(r) == AnalysisState::Pending)
            .count() as u64;
        app.library.set_rows(rows);
        app.loaded = true;
        // No database behind these rows: no scenes to fit, nothing to back up.
        app.scenes_started = true;
        app.backup_started = true;
        app
    }

    /// Exports go under `dir` (`Playlists/`, `Valence sessions/`).
    pub fn set_export_dir(&mut self, dir: PathBuf) {
        self.export_dir = dir;
    }

    pub fn set_mode(&mut self, mode: theme::Mode) {
        self.mode = mode;
    }

    /// Re-reads the whole library: at start-up and when the library itself changed (a
    /// scan added or removed tracks). Analysis results do not come this way: see
    /// [`App::fetch_rows`].
    fn reload(&mut self) -> Task<Message> {
        if self.reloading {
            self.reload_again = true;
            return Task::none();
        }
        self.reloading = true;
        self.reloads += 1;
        Task::perform(backend::load_library(self.db.clone()), Message::Loaded)
    }

    /// Full reloads started so far.
    pub fn reloads(&self) -> u64 {
        self.reloads
    }

    /// The counts in the title bar (tracks, analysed, failed, pending).
    pub fn counts(&self) -> AnalysisCounts {
        self.counts
    }

    /// Re-reads the rows in `stale_rows`, one request at a time, none during a full reload
    /// (its answer may predate their results; they are fetched after it lands).
    fn fetch_rows(&mut self) -> Task<Message> {
        if self.reloading || self.fetching_rows || self.stale_rows.is_empty() {
            return Task::none();
        }
        self.fetching_rows = true;
        let ids = std::mem::take(&mut self.stale_rows);
        Task::perform(
            backend::load_rows(self.db.clone(), ids),
            Message::RowsLoaded,
        )
    }

    /// Applies re-read rows in place: the table's sort and filters, the title bar's counts
    /// and an open detail pane follow; only a track that appeared or vanished reloads all.
    fn on_rows_loaded(&mut self, result: Result<Vec<RowUpdate>, BackendError>) -> Task<Message> {
        self.fetching_rows = false;
        let mut tasks = Vec::new();
        let mut library_changed = false;
        match result {
            Ok(updates) => {
                for (id, row) in updates {
                    let Some(row) = row else {
                        // Deleted or unreadable since the last load.
                        library_changed |= self.library.row(id).is_some();
                        continue;
                    };
                    let before = self.library.row(id).map(analysis_state);
                    let after = analysis_state(&row);
                    if !self.library.update_row(row) {
                        // A track the table has not seen: added since the last load.
                        library_changed = true;
                        continue;
                    }
                    if let Some(before) = before {
                        self.counts = recount(self.counts, before, after);
                    }
                    // The open detail pane shows this track: give it the new result.
                    if self.detail.id == Some(id) && self.detail.data.is_some() {
                        tasks.push(Task::perform(
                            backend::load_detail(self.db.clone(), id),
                            Message::DetailLoaded,
                        ));
                    }
                }
            }
            // Rows could not be read: the full reload reads them again, and says why
            // in the banner if it fails too.
            Err(_) => library_changed = true,
        }
        self.rows_changed();
        if library_changed {
            tasks.push(self.reload());
        }
        tasks.push(self.fetch_rows());
        Task::batch(tasks)
    }

    /// The table's rows changed: the map's points follow (at once when it is showing).
    fn rows_changed(&mut self) {
        self.map.mark_stale();
        if self.screen == Screen::Map {
            self.map.refresh(self.library.rows());
        }
    }

    pub fn title(&self) -> String {
        match self.player.current() {
            Some(c) if self.player.is_playing() => format!("{} — {} · Valence", c.title, c.artist),
            _ => "Valence".into(),
        }
    }

    pub fn theme(&self) -> Theme {
        self.mode.theme()
    }

    pub fn subscription(&self) -> Subscription<Message> {
        let keys = event::listen_with(|e, status, _| match e {
            iced::Event::Keyboard(k @ keyboard::Event::KeyPressed { .. }) => {
                Some(Message::Key(k, status == event::Status::Captured))
            }
            _ => None,
        });
        let keys = if trace::frames_enabled() {
            Subscription::batch([
                keys,
                iced::time::every(trace::FRAME_TICK).map(|_| Message::FrameTick),
            ])
        } else {
            keys
        };
        let keys = Subscription::batch([keys, self.desktop_subscription()]);
        if self.player.is_playing() {
            Subscription::batch([
                keys,
                iced::time::every(Duration::from_millis(250))
                    .map(|_| Message::Player(player::Message::Tick)),
            ])
        } else {
            keys
        }
    }

    fn on_setup_screen(&self) -> bool {
        self.loaded && (self.show_setup || (self.library.is_empty() && self.job.is_none()))
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        let task = self.handle(message);
        // Settings saved and MPRIS told after whatever changed.
        Task::batch([task, self.after_update()])
    }

    fn handle(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Loaded(result) => {
                self.reloading = false;
                if std::mem::take(&mut self.reload_again) {
                    return self.reload();
                }
                match result {
                    Ok(data) => {
                        self.loaded = true;
                        self.open_failed = None;
                        self.counts = data.counts;
                        self.warning = data.warning;
                        self.library.set_rows(data.rows);
                        self.rows_changed();
                        let opened = self.play_opened();
                        // The scenes are brought up to date once at start (fitted when
                        // due, new tracks folded in), then after each analysis run.
                        let mut scenes = if std::mem::replace(&mut self.scenes_started, true) {
                            Task::none()
                        } else {
                            self.update_scenes(false)
                        };
                        // Today's backup, once a session, after the library opened.
                        if !std::mem::replace(&mut self.backup_started, true) {
                            scenes = Task::batch([
                                scenes,
                                Task::perform(
                                    backend::backup_daily(self.db.clone()),
                                    Message::BackedUp,
                                ),
                            ]);
                        }
                        // Tracks waiting for analysis (a previous run was interrupted, or
                        // files were added from the command line): carry on quietly.
                        if self.job.is_none() && data.counts.pending > 0 && self.warning.is_none() {
                            return Task::batch([
                                self.start_job(Vec::new()),
                                self.fetch_rows(),
                                scenes,
                                opened,
                            ]);
                        }
                        return Task::batch([self.fetch_rows(), scenes, opened]);
                    }
                    Err(BackendError::Library(e)) if e.is_damaged() => {
                        self.loaded = true;
                        self.recovery = Some(recovery::State::new(e.to_string()));
                        return Task::perform(backend::find_backup(self.db.clone()), |r| {
                            Message::Recovery(recovery::Message::Found(r.ok().flatten()))
                        });
                    }
                    Err(e) => {
                        self.loaded = true;
                        // Not an empty library: the first-run screen must not offer to
                        // start one over it.
                        self.open_failed = Some(e.to_string());
                    }
                }
                // Results that landed during the reload.
                self.fetch_rows()
            }
            Message::Retry => {
                self.open_failed = None;
                self.loaded = false;
                Task::batch([self.reload(), self.load_mood(), self.load_playlists()])
            }
            Message::Recovery(m) => {
                let Some(r) = &mut self.recovery else {
                    return Task::none();
                };
                match r.update(m) {
                    Some(event) => Task::perform(
                        backend::mend_library(self.db.clone(), event == recovery::Event::Restore),
                        Message::Mended,
                    ),
                    None => Task::none(),
                }
            }
            Message::Mended(Ok(said)) => {
                self.recovery = None;
                self.notice = Some(said);
                self.loaded = false;
                Task::batch([self.reload(), self.load_mood(), self.load_playlists()])
            }
            Message::Mended(Err(e)) => {
                if let Some(r) = &mut self.recovery {
                    r.update(recovery::Message::Failed(e.to_string()));
                }
                Task::none()
            }
            Message::FrameTick => {
                trace::tick();
                Task::none()
            }
            Message::DismissNotice => {
                self.notice = None;
                Task::none()
            }
            Message::BackedUp(result) => {
                // Not the user's concern unless it fails; then only a line on stderr, the
                // library itself is fine.
                if let Err(e) = result {
                    eprintln!("valence: no backup made today: {e}");
                }
                Task::none()
            }
            Message::Setup(m) => match self.setup.update(m) {
                Some(setup::Event::Scan(folders)) => {
                    self.show_setup = false;
                    self.start_job(folders)
                }
                None => Task::none(),
            },
            Message::Library(m) => {
                let (task, event) = self.library.update(m);
                let task = task.map(Message::Library);
                match event {
                    Some(e) => Task::batch([task, self.on_library_event(e)]),
                    None => task,
                }
            }
            Message::Detail(m) => match self.detail.update(m) {
                Some(detail::Event::Play(id)) => self.play(id),
                Some(detail::Event::MoreLike(id)) => self.make_playlist(Target::Like(vec![id])),
                Some(detail::Event::NeverInPlaylists(id, never)) => Task::perform(
                    backend::set_never_in_playlists(self.db.clone(), id, never),
                    Message::PlaylistEdited,
                ),
                Some(detail::Event::Close) => Task::none(),
                None => Task::none(),
            },
            Message::Player(m) => {
                let e = self.player.update(m);
                self.on_player_event(e)
            }
            Message::Screen(s) => {
                self.screen = s;
                match s {
                    Screen::History => self.load_history(),
                    Screen::Playlists => self.load_playlists(),
                    Screen::Map => {
                        self.map.refresh(self.library.rows());
                        self.load_sessions()
                    }
                    Screen::Library | Screen::Scenes => Task::none(),
                }
            }
            Message::Scenes(m) => match self.scenes.update(m) {
                Some(e) => self.on_scenes_event(e),
                None => Task::none(),
            },
            Message::ScenesUpdated(r) => self.on_scenes_updated(r),
            Message::SceneRenamed(r) => match r {
                // The new name goes everywhere scenes are named (chips, legend, details).
                Ok(()) => self.update_scenes(false),
                Err(e) => {
                    self.scenes.set(Err(e.to_string()));
                    Task::none()
                }
            },
            Message::Playlists(m) => match self.playlists.update(m) {
                Some(e) => self.on_playlists_event(e),
                None => Task::none(),
            },
            Message::MoodCard(mood_card::Message::Method(m)) => {
                self.mood_method = m;
                Task::none()
            }
            Message::MoodCard(mood_card::Message::MakePlaylist) => {
                // The week's mood is seed 000's "my mood now"; right now, its point.
                let target = match self.mood.as_ref().map(|d| d.reading(self.mood_method)) {
                    Some(MoodReading::Mood(m)) if self.mood_method == MoodMethod::Recent => {
                        Target::Point {
                            valence: m.mood.valence,
                            arousal: m.mood.arousal,
                        }
                    }
                    _ => Target::Now,
                };
                self.make_playlist(target)
            }
            Message::MoodLoaded(r) => {
                match r {
                    Ok(d) => {
                        let now = match &d.week {
                            MoodReading::Mood(m) => Some((m.mood.valence, m.mood.arousal)),
                            MoodReading::NotEnough { .. } => None,
                        };
                        self.map.set_mood_now(now);
                        self.journey.set_mood_now(now);
                        self.mood = Some(d);
                    }
                    Err(e) => self.warning = Some(format!("Cannot read your mood now: {e}")),
                }
                Task::none()
            }
            Message::PlaysRecorded(r) => match r {
                Ok(n) => {
                    self.plays_recorded += n;
                    let history = if self.screen == Screen::History {
                        self.load_history()
                    } else {
                        Task::none()
                    };
                    Task::batch([self.load_mood(), history])
                }
                Err(e) => {
                    self.warning = Some(format!("Cannot store the play in your history: {e}"));
                    Task::none()
                }
            },
            Message::HistoryLoaded(r) => {
                self.history.set(r.map_err(|e| e.to_string()));
                Task::none()
            }
            Message::PlaylistsLoaded(r) => {
                match r {
                    Ok(list) => self.playlists.set_list(list),
                    Err(e) => self
                        .playlists
                        .set_status(format!("Cannot read the playlists: {e}")),
                }
                Task::none()
            }
            Message::PlaylistLoaded(r) => {
                match r {
                    Ok(p) => self.playlists.set_open(p),
                    Err(e) => self
                        .playlists
                        .set_status(format!("Cannot open the playlist: {e}")),
                }
                Task::none()
            }
            Message::PlaylistMade(r) => {
                self.screen = Screen::Playlists;
                match r {
                    Ok((id, note)) => {
                        if let Some(why) = note {
                            self.playlists
                                .set_status(format!("A shorter playlist: {why}"));
                        }
                        Task::batch([self.load_playlists(), self.open_playlist(id)])
                    }
                    Err(e) => {
                        self.playlists.set_status(format!("No playlist made: {e}"));
                        Task::none()
                    }
                }
            }
            Message::PlaylistEdited(r) => match r {
                Ok(()) => self.load_playlists(),
                Err(e) => {
                    self.playlists
                        .set_status(format!("The change was not stored: {e}"));
                    self.load_playlists()
                }
            },
            Message::Exported(r) => {
                self.playlists.set_status(match r {
                    Ok((path, n)) => format!("Exported {n} tracks to {}", path.display()),
                    Err(e) => format!("Not exported: {e}"),
                });
                Task::none()
            }
            Message::Map(m) => match self.map.update(m) {
                Some(e) => self.on_map_event(e),
                None => Task::none(),
            },
            Message::Journey(m) => {
                let task = match self.journey.update(m) {
                    Some(e) => self.on_journey_event(e),
                    None => Task::none(),
                };
                // A check-in waits for a click on the map, wherever it lands.
                self.map.set_picking(self.journey.checking_in().is_some());
                task
            }
            Message::JourneyPlanned(r) => {
                match r {
                    Ok(p) => {
                        self.journey.set_planned(p, &[]);
                        self.map.fit(self.journey.extent());
                    }
                    Err(e) => self.journey.set_status(format!("No journey: {e}")),
                }
                Task::none()
            }
            Message::JourneyReplanned(r) => {
                match r {
                    Ok((p, locked)) => {
                        // A swap keeps the locks as they are.
                        let locked = if locked.is_empty() {
                            self.journey
                                .current()
                                .map(|c| c.locked())
                                .unwrap_or_default()
                        } else {
                            locked
                        };
                        self.journey.set_planned(p, &locked)
                    }
                    Err(e) => self.journey.set_status(format!("Not changed: {e}")),
                }
                Task::none()
            }
            Message::SessionsLoaded(r) => {
                match r {
                    Ok(list) => self.journey.set_sessions(list),
                    Err(e) => self
                        .journey
                        .set_status(format!("Cannot read the sessions: {e}")),
                }
                Task::none()
            }
            Message::SessionLoaded(r) => {
                match r {
                    Ok(Some(s)) => {
                        self.journey.set_session(s);
                        self.map.fit(self.journey.extent());
                    }
                    Ok(None) => self.journey.set_status("That session is gone"),
                    Err(e) => self
                        .journey
                        .set_status(format!("Cannot open the session: {e}")),
                }
                Task::none()
            }
            Message::SessionSaved(r) => match r {
                Ok(id) => {
                    self.journey.set_saved(id);
                    self.load_sessions()
                }
                Err(e) => {
                    self.journey.set_status(format!("Not saved: {e}"));
                    Task::none()
                }
            },
            Message::SessionEdited(r) => {
                if let Err(e) = r {
                    self.journey
                        .set_status(format!("The change was not stored: {e}"));
                }
                self.load_sessions()
            }
            Message::SessionExported(r) => {
                self.journey.set_status(match r {
                    Ok(x) => {
                        let missing = if x.missing > 0 {
                            format!(" ({} no longer in the library)", x.missing)
                        } else {
                            String::new()
                        };
                        format!(
                            "Exported {} tracks{missing}: {} and {}",
                            x.tracks,
                            x.m3u.display(),
                            x.html.display()
                        )
                    }
                    Err(e) => format!("Not exported: {e}"),
                });
                Task::none()
            }
            Message::DetailLoaded(r) => {
                self.detail.loaded(r);
                Task::none()
            }
            Message::TimelineLoaded(r) => {
                if let Ok((id, t)) = r {
                    self.player.set_timeline(id, t);
                }
                Task::none()
            }
            Message::RowsLoaded(r) => self.on_rows_loaded(r),
            Message::Job(e) => self.on_job_event(e),
            Message::PauseJob(paused) => {
                if let Some(job) = &mut self.job {
                    job.control.set_paused(paused);
                    if let Some(p) = &mut job.progress {
                        p.paused = paused;
                    }
                }
                Task::none()
            }
            Message::CloseJob => {
                if let Some(job) = self.job.take() {
                    job.control.cancel();
                }
                Task::none()
            }
            Message::AddMusic => {
                self.show_setup = !self.show_setup;
                Task::none()
            }
            Message::ToggleTheme => {
                self.mode = self.mode.toggled();
                Task::none()
            }
            Message::Key(k, captured) => self.on_key(k, captured),
            Message::Desktop(m) => self.on_desktop(m),
        }
    }

    fn on_library_event(&mut self, e: library::Event) -> Task<Message> {
        match e {
            library::Event::Selected(id) => self.select(id),
            library::Event::Play(id) => self.play(id),
            library::Event::MakePlaylist(q) => self.make_playlist(Target::Quadrant(q)),
        }
    }

    /// Brings the theme scenes up to date in the background (`refit`: fit them again even
    /// when not due). One at a time; a request meanwhile runs after it.
    fn update_scenes(&mut self, refit: bool) -> Task<Message> {
        if self.scenes.is_busy() {
            self.scenes_again = Some(refit || self.scenes_again == Some(true));
            return Task::none();
        }
        self.scenes.set_busy(true);
        Task::perform(
            backend::update_scenes(self.db.clone(), refit),
            Message::ScenesUpdated,
        )
    }

    fn on_scenes_updated(&mut self, r: Result<ScenesData, BackendError>) -> Task<Message> {
        let mut tasks = Vec::new();
        match r {
            Ok(d) => {
                let changed = d.update.fit.is_some() || d.update.folded_in > 0;
                let list: Vec<(i64, String, usize)> = d
                    .scenes
                    .iter()
                    .map(|s| (s.id, s.name.clone(), s.tracks))
                    .collect();
                self.scenes.set(Ok((d.update, d.scenes)));
                self.library.set_scenes(
                    list.iter()
                        .enumerate()
                        .map(|(slot, s)| (s.0, s.1.clone(), theme::scene_color(slot)))
                        .collect(),
                );
                self.map.set_scenes(&list);
                if self.screen == Screen::Map {
                    self.map.refresh(self.library.rows());
                }
                // The rows carry each track's main scene.
                if changed {
                    tasks.push(self.reload());
                }
                // The open detail names its scenes: a fit or a rename changes them.
                if let Some(id) = self.detail.id.filter(|_| self.detail.data.is_some()) {
                    tasks.push(Task::perform(
                        backend::load_detail(self.db.clone(), id),
                        Message::DetailLoaded,
                    ));
                }
            }
            Err(e) => self.scenes.set(Err(e.to_string())),
        }
        if let Some(refit) = self.scenes_again.take() {
            tasks.push(self.update_scenes(refit));
        }
        Task::batch(tasks)
    }

    fn on_scenes_event(&mut self, e: scenes::Event) -> Task<Message> {
        match e {
            scenes::Event::Play { scene, from } => {
                // The scene's most typical tracks first, then the rest in library order.
                let typical = self
                    .scenes
                    .scene(scene)
                    .map(|s| s.typical.clone())
                    .unwrap_or_default();
                let mut queue: Vec<player::QueueItem> = typical
                    .iter()
                    .filter_map(|&id| self.library.row(id))
                    .map(Into::into)
                    .collect();
                queue.extend(
                    self.library
                        .rows()
                        .iter()
                        .filter(|r| r.scene == Some(scene) && !typical.contains(&r.id))
                        .map(Into::into),
                );
                let index = from
                    .and_then(|id| queue.iter().position(|q| q.id == id))
                    .unwrap_or(0);
                if queue.is_empty() {
                    return Task::none();
                }
                let e = self.player.play_queue(queue, index);
                self.on_player_event(e)
            }
            scenes::Event::Show(id) => {
                self.library.set_scene(Some(id));
                self.screen = Screen::Library;
                Task::none()
            }
            scenes::Event::Rename(id, name) => Task::perform(
                backend::rename_scene(self.db.clone(), id, name),
                Message::SceneRenamed,
            ),
            scenes::Event::Refit => self.update_scenes(true),
        }
    }

    fn load_sessions(&self) -> Task<Message> {
        Task::perform(
            backend::load_sessions(self.db.clone()),
            Message::SessionsLoaded,
        )
    }

    fn on_map_event(&mut self, e: map::Event) -> Task<Message> {
        match e {
            map::Event::Select(id) => {
                let title = self.library.row(id).map(|r| r.title.clone());
                self.journey.set_track(title.map(|t| (id, t)));
                self.select(id)
            }
            map::Event::Pick(v, a) => {
                let task = match self.journey.on_pick(v, a) {
                    Some(e) => self.on_journey_event(e),
                    None => Task::none(),
                };
                self.map.set_picking(self.journey.checking_in().is_some());
                task
            }
            map::Event::FilterLibrary(r) => {
                self.library.set_region(Some(r));
                self.screen = Screen::Library;
                Task::none()
            }
            map::Event::MakePlaylist(r) => self.make_playlist(Target::Region {
                valence: r.valence,
                arousal: r.arousal,
            }),
        }
    }

    fn on_journey_event(&mut self, e: journey::Event) -> Task<Message> {
        let db = self.db.clone();
        let edit = |id, change| {
            Task::perform(
                backend::edit_session(db.clone(), id, change),
                Message::SessionEdited,
            )
        };
        match e {
            journey::Event::Plan(spec) => Task::perform(
                backend::plan_journey(self.db.clone(), spec),
                Message::JourneyPlanned,
            ),
            journey::Event::Swap(req, ids, i) => Task::perform(
                backend::replan_journey(self.db.clone(), req, ids, JourneyChange::Swap(i)),
                Message::JourneyReplanned,
            ),
            journey::Event::Regenerate(req, ids, locked) => Task::perform(
                backend::replan_journey(
                    self.db.clone(),
                    req,
                    ids,
                    JourneyChange::Regenerate(locked),
                ),
                Message::JourneyReplanned,
            ),
            journey::Event::Play(items, index) => {
                // Tracks whose file left the library are skipped.
                let mut start = 0;
                let mut queue = Vec::new();
                for (i, it) in items.iter().enumerate() {
                    if let (Some(id), Some(path)) = (it.stop.track_id, &it.path) {
                        if i < index {
                            start += 1;
                        }
                        queue.push(player::QueueItem {
                            id,
                            path: path.clone(),
                            title: it.stop.title.clone(),
                            artist: it.stop.artist.clone(),
                            duration: Some(it.stop.duration_secs).filter(|d| *d > 0.0),
                            gain: self.library.row(id).map(|r| r.gain).unwrap_or_default(),
                        });
                    }
                }
                if queue.is_empty() {
                    return Task::none();
                }
                let last = queue.len() - 1;
                let e = self.player.play_queue(queue, start.min(last));
                self.on_player_event(e)
            }
            journey::Event::Save(new, check_ins) => Task::perform(
                backend::save_session(self.db.clone(), new, check_ins),
                Message::SessionSaved,
            ),
            journey::Event::Update {
                id,
                name,
                client,
                notes,
                stops,
            } => {
                self.journey.set_status("Session saved");
                edit(
                    id,
                    SessionChange::Update {
                        name,
                        client,
                        notes,
                        stops,
                    },
                )
            }
            journey::Event::CheckIn(id, when, p) => edit(id, SessionChange::CheckIn(when, p)),
            journey::Event::Delete(id) => edit(id, SessionChange::Delete),
            journey::Event::Open(id) => Task::perform(
                backend::load_session(self.db.clone(), id),
                Message::SessionLoaded,
            ),
            journey::Event::Export(id) => Task::perform(
                backend::export_session(
                    self.db.clone(),
                    id,
                    self.export_dir.join("Valence sessions"),
                    self.map.data().clone(),
                ),
                Message::SessionExported,
            ),
        }
    }

    fn on_playlists_event(&mut self, e: playlists::Event) -> Task<Message> {
        let edit = |app: &App, id, edit| {
            Task::perform(
                backend::edit_playlist(app.db.clone(), id, edit),
                Message::PlaylistEdited,
            )
        };
        match e {
            playlists::Event::Open(id) => self.open_playlist(id),
            playlists::Event::Rename(id, name) => edit(self, id, PlaylistEdit::Rename(name)),
            playlists::Event::SetTracks(id, t) => edit(self, id, PlaylistEdit::SetTracks(t)),
            playlists::Event::Delete(id) => edit(self, id, PlaylistEdit::Delete),
            playlists::Event::Play(rows, index) => {
                let queue = rows.iter().map(Into::into).collect();
                let e = self.player.play_queue(queue, index);
                self.on_player_event(e)
            }
            playlists::Event::Export(id, name) => {
                let out = export_path(&self.export_dir, &name);
                Task::perform(
                    backend::export_playlist(self.db.clone(), id, out),
                    Message::Exported,
                )
            }
        }
    }

    fn select(&mut self, id: i64) -> Task<Message> {
        if self.detail.id == Some(id) && self.detail.data.is_some() {
            return Task::none();
        }
        self.detail.show(id);
        Task::perform(
            backend::load_detail(self.db.clone(), id),
            Message::DetailLoaded,
        )
    }

    /// Plays `id` with the current view as the queue.
    fn play(&mut self, id: i64) -> Task<Message> {
        let queue: Vec<player::QueueItem> = self.library.view_rows().map(Into::into).collect();
        let (queue, index) = match queue.iter().position(|q| q.id == id) {
            Some(i) => (queue, i),
            // Not in the view (filtered away since): play it alone.
            None => match self.library.row(id) {
                Some(r) => (vec![r.into()], 0),
                None => return Task::none(),
            },
        };
        let e = self.player.play_queue(queue, index);
        self.on_player_event(e)
    }

    /// After every player change: the new track's timeline, and the plays that ended go
    /// to the history.
    fn on_player_event(&mut self, e: Option<player::Event>) -> Task<Message> {
        let timeline = match e {
            Some(player::Event::NowPlaying(id)) => Task::perform(
                backend::load_timeline(self.db.clone(), id),
                Message::TimelineLoaded,
            ),
            None => Task::none(),
        };
        Task::batch([timeline, self.record_plays()])
    }

    fn start_job(&mut self, roots: Vec<PathBuf>) -> Task<Message> {
        if let Some(old) = self.job.take() {
            old.control.cancel();
        }
        let control = Control::new();
        let phase = if roots.is_empty() {
            Phase::LoadingModels
        } else {
            Phase::Scanning
        };
        let (task, handle) = Task::run(
            backend::run_job(self.db.clone(), roots, control.clone()),
            Message::Job,
        )
        .abortable();
        self.job = Some(Job {
            control,
            // Dropping the window's state aborts the stream; the worker notices the
            // closed channel and the cancel flag.
            _handle: handle.abort_on_drop(),
            phase,
            progress: None,
        });
        task
    }

    /// Background news. A scan changes the library, so it reloads it; analysis progress
    /// names the track just stored, whose row alone is re-read (`backend::load_rows`,
    /// `Library::browse_row`) and patched in place (`library::State::update_row`).
    /// Medians at 100,000 tracks (`cargo bench --bench gui_rows`, 2-core machine): a
    /// reload reads for 345 ms off the UI thread, then rebuilds the view model for 101 ms
    /// on it; a row is read in 36 µs (1.0 ms with the worker thread and opening the
    /// database) and patched in 31 µs.
    fn on_job_event(&mut self, e: JobEvent) -> Task<Message> {
        let Some(job) = &mut self.job else {
            return Task::none();
        };
        let mut reload = false;
        let mut stored = None;
        // The scan is over: the reload it starts has the opened files' rows.
        let mut scanned = false;
        // New results: fold them into the scenes (a refit when the library grew by a fifth).
        let mut scenes = false;
        match e {
            JobEvent::Scanning => job.phase = Phase::Scanning,
            JobEvent::Scanned { .. } => {
                job.phase = Phase::LoadingModels;
                reload = true;
                scanned = true;
            }
            JobEvent::LoadingModels => job.phase = Phase::LoadingModels,
            JobEvent::Progress(p) => {
                job.phase = Phase::Analysing;
                // `last` is set once per stored track (not on the timer's ticks).
                stored = p.last.as_ref().map(|t| t.id);
                job.progress = Some(p);
            }
            JobEvent::Finished {
                analysed,
                failed,
                cancelled,
            } => {
                scenes = analysed > 0;
                // Every result is already in its row (or on its way): nothing to reload.
                job.phase = Phase::Done(if cancelled {
                    format!("Analysis stopped: {analysed} analysed, {failed} failed")
                } else if analysed + failed == 0 {
                    "Every track is analysed".to_string()
                } else {
                    format!("Analysis done: {analysed} analysed, {failed} failed")
                });
            }
            JobEvent::Failed(e) => {
                scanned = true;
                job.phase = Phase::Failed(e.to_string());
                // A scan may have stopped halfway through changing the library.
                reload = true;
            }
        }
        if scanned {
            self.to_play_scanned = true;
        }
        if let Some(id) = stored {
            self.stale_rows.push(id);
            return self.fetch_rows();
        }
        if reload {
            return self.reload();
        }
        if scenes {
            return self.update_scenes(false);
        }
        Task::none()
    }

    fn on_key(&mut self, k: keyboard::Event, captured: bool) -> Task<Message> {
        let keyboard::Event::KeyPressed { key, modifiers, .. } = k else {
            return Task::none();
        };
        if self.on_setup_screen() {
            return Task::none();
        }
        // Escape clears the search even while typing in it (the input captures it).
        if key == Key::Named(Named::Escape) {
            return self.update(Message::Library(library::Message::ClearSearch));
        }
        if captured || modifiers.control() || modifiers.alt() || modifiers.logo() {
            return Task::none();
        }
        match key.as_ref() {
            Key::Named(Named::Space) => {
                if self.player.current().is_none() {
                    match self.library.selected() {
                        Some(id) => self.play(id),
                        None => Task::none(),
                    }
                } else {
                    self.update(Message::Player(player::Message::PlayPause))
                }
            }
            Key::Named(Named::ArrowLeft) => {
                self.update(Message::Player(player::Message::SeekBy(-5.0)))
            }
            Key::Named(Named::ArrowRight) => {
                self.update(Message::Player(player::Message::SeekBy(5.0)))
            }
            Key::Named(Named::ArrowUp) | Key::Named(Named::ArrowDown) => {
                let delta = if key == Key::Named(Named::ArrowUp) {
                    -1
                } else {
                    1
                };
                let (task, event) = self.library.move_selection(delta);
                let task = task.map(Message::Library);
                match event {
                    Some(e) => Task::batch([task, self.on_library_event(e)]),
                    None => task,
                }
            }
            Key::Named(Named::Enter) => match self.library.selected() {
                Some(id) => self.play(id),
                None => Task::none(),
            },
            Key::Character("/") => iced::widget::operation::focus(library::search_id()),
            _ => Task::none(),
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        trace::frame(self.loaded.then(|| self.library.rows().len()));
        if !self.loaded {
            return container(text("Opening the library…").size(theme::TEXT_BODY))
                .center(Length::Fill)
                .into();
        }
        if let Some(r) = &self.recovery {
            return r.view().map(Message::Recovery);
        }
        if let Some(why) = &self.open_failed {
            return container(
                column![
                    text("The library cannot be opened").size(theme::TEXT_DISPLAY),
                    text(why.clone()).size(theme::TEXT_BODY),
                    text("Nothing was changed.")
                        .size(theme::TEXT_SMALL)
                        .style(detail::muted_text),
                    row![
                        space::horizontal(),
                        button(text("Try again").size(theme::TEXT_BODY))
                            .padding([10.0, 16.0])
                            .style(button::primary)
                            .on_press(Message::Retry),
                    ],
                ]
                .spacing(theme::SPACE_M)
                .max_width(680),
            )
            .center(Length::Fill)
            .padding(theme::SPACE_L)
            .into();
        }
        let mut col = column![self.top_bar()];
        if let Some(n) = &self.notice {
            col = col.push(
                container(
                    row![
                        text(n.clone()).size(theme::TEXT_SMALL).width(Length::Fill),
                        button(text("Dismiss").size(theme::TEXT_SMALL))
                            .style(theme::flat)
                            .on_press(Message::DismissNotice),
                    ]
                    .align_y(iced::alignment::Vertical::Center),
                )
                .padding([4.0, theme::SPACE_L])
                .width(Length::Fill)
                .style(theme::panel),
            );
        }
        if let Some(w) = &self.warning {
            col = col.push(
                container(text(w.clone()).size(theme::TEXT_SMALL))
                    .padding([6.0, theme::SPACE_L])
                    .width(Length::Fill)
                    .style(theme::error_banner),
            );
        }
        if let Some(job) = self.job_view() {
            col = col.push(job);
        }
        let main: Element<'_, Message> = if self.on_setup_screen() {
            self.setup.view().map(Message::Setup)
        } else if self.screen == Screen::Playlists {
            self.playlists.view().map(Message::Playlists)
        } else if self.screen == Screen::Map {
            let (marks, ends) = self.journey.marks();
            let point = |c: Option<crate::playlists::CheckIn>| c.map(|c| (c.valence, c.arousal));
            let [before, after] = self.journey.check_ins();
            let map = self
                .map
                .view(map::Overlay {
                    journey: marks,
                    ends,
                    check_ins: [point(before), point(after)],
                })
                .map(Message::Map);
            // The clicked track's detail, else the journey panel.
            let side = if self.detail.id.is_some() {
                let selected = self.detail.id.and_then(|id| self.library.row(id));
                self.detail.view(selected).map(Message::Detail)
            } else {
                self.journey.view().map(Message::Journey)
            };
            row![map, side].height(Length::Fill).into()
        } else if self.screen == Screen::History {
            row![self.history.view(), self.mood_pane()]
                .height(Length::Fill)
                .into()
        } else if self.screen == Screen::Scenes {
            self.scenes
                .view(&self.library, self.counts.analysed)
                .map(Message::Scenes)
        } else if self.library.is_empty() {
            container(
                text("Reading your music folders… tracks appear here as they are found.")
                    .size(theme::TEXT_BODY)
                    .style(detail::muted_text),
            )
            .center(Length::Fill)
            .into()
        } else {
            let selected = self.detail.id.and_then(|id| self.library.row(id));
            let mut r = row![self.library.view().map(Message::Library)];
            // The open track, else the listener's mood now.
            if self.detail.id.is_some() {
                r = r.push(self.detail.view(selected).map(Message::Detail));
            } else {
                r = r.push(self.mood_pane());
            }
            r.height(Length::Fill).into()
        };
        col = col.push(main);
        // Nothing to play on the first-run screen.
        if !self.on_setup_screen() {
            col = col.push(self.player.view().map(Message::Player));
        }
        container(col)
            .width(Length::Fill)
            .height(Length::Fill)
            .into()
    }

    /// The mood-now card as a right-hand pane.
    fn mood_pane(&self) -> Element<'_, Message> {
        container(mood_card::view(self.mood.as_ref(), self.mood_method).map(Message::MoodCard))
            .width(Length::Fixed(300.0))
            .height(Length::Fill)
            .padding(theme::SPACE_M)
            .style(theme::panel)
            .into()
    }

    /// Library, Map, Scenes, Playlists, History.
    fn tabs(&self) -> Element<'_, Message> {
        let tab = |s: Screen, label: String| {
            button(text(label).size(theme::TEXT_BODY))
                .padding([6.0, 12.0])
                .style(if self.screen == s {
                    button::secondary
                } else {
                    theme::flat
                })
                .on_press(Message::Screen(s))
        };
        let lists = self.playlists.list().len();
        row![
            tab(Screen::Library, "Library".into()),
            tab(Screen::Map, "Map".into()),
            tab(Screen::Scenes, "Scenes".into()),
            tab(
                Screen::Playlists,
                if lists > 0 {
                    format!("Playlists ({lists})")
                } else {
                    "Playlists".into()
                }
            ),
            tab(Screen::History, "History".into()),
        ]
        .spacing(theme::SPACE_XS)
        .into()
    }

    fn top_bar(&self) -> Element<'_, Message> {
        let c = self.counts;
        let summary = if c.tracks == 0 {
            String::new()
        } else {
            let mut s = format!("{} tracks · {} analysed", c.tracks, c.analysed);
            if c.failed > 0 {
                s.push_str(&format!(" · {} failed", c.failed));
            }
            s
        };
        let theme_label = match self.mode {
            theme::Mode::Dark => "Light theme",
            theme::Mode::Light => "Dark theme",
        };
        container(
            row![
                text("Valence").size(theme::TEXT_TITLE).font(Font {
                    weight: iced::font::Weight::Bold,
                    ..Font::with_name(FONT_NAME)
                }),
                self.tabs(),
                text(summary)
                    .size(theme::TEXT_SMALL)
                    .style(detail::muted_text),
                space::horizontal(),
                button(
                    text(if self.show_setup {
                        "Back to library"
                    } else {
                        "Add music"
                    })
                    .size(theme::TEXT_SMALL)
                )
                .style(theme::flat)
                .padding([6.0, 10.0])
                .on_press_maybe((!self.library.is_empty()).then_some(Message::AddMusic)),
                // A fixed width: the label changes (track, album, off) and must not move
                // the buttons beside it.
                button(
                    text(format!("ReplayGain: {}", self.player.replaygain()))
                        .size(theme::TEXT_SMALL)
                        .width(Length::Fixed(REPLAYGAIN_LABEL_WIDTH))
                        .align_x(alignment::Horizontal::Center)
                        .wrapping(text::Wrapping::None)
                )
                .style(theme::flat)
                .padding([6.0, 10.0])
                .on_press(Message::Desktop(desktop::Message::ReplayGain(
                    desktop::next_replaygain(self.player.replaygain())
                ))),
                button(text(theme_label).size(theme::TEXT_SMALL))
                    .style(theme::flat)
                    .padding([6.0, 10.0])
                    .on_press(Message::ToggleTheme),
            ]
            .spacing(theme::SPACE_M)
            .align_y(alignment::Vertical::Center),
        )
        .padding([theme::SPACE_S, theme::SPACE_L])
        .width(Length::Fill)
        .style(theme::panel)
        .into()
    }

    /// The background work strip: phase, progress bar, count, rate, ETA, pause/resume.
    fn job_view(&self) -> Option<Element<'_, Message>> {
        let job = self.job.as_ref()?;
        let (label, fraction, detail): (String, Option<f32>, String) = match &job.phase {
            Phase::Scanning => ("Reading music folders…".into(), None, String::new()),
            Phase::LoadingModels => ("Loading the emotion model…".into(), None, String::new()),
            Phase::Analysing => {
                let p = job.progress.clone().unwrap_or_default();
                let frac = if p.total > 0 {
                    p.done as f32 / p.total as f32
                } else {
                    0.0
                };
                let eta = match p.eta_secs() {
                    Some(s) if !p.paused => format!(" · about {} left", fmt_eta(s)),
                    _ => String::new(),
                };
                let failed = if p.failed > 0 {
                    format!(" · {} failed", p.failed)
                } else {
                    String::new()
                };
                (
                    if p.paused {
                        "Analysis paused".into()
                    } else {
                        "Analysing moods…".into()
                    },
                    Some(frac),
                    format!(
                        "{} of {} tracks{failed} · {:.1} tracks/s · {:.0}× real time{eta}",
                        p.done,
                        p.total,
                        p.tracks_per_sec(),
                        p.x_realtime()
                    ),
                )
            }
            Phase::Done(s) => (s.clone(), Some(1.0), String::new()),
            Phase::Failed(e) => (format!("Analysis failed: {e}"), None, String::new()),
        };
        let running = matches!(
            job.phase,
            Phase::Analysing | Phase::LoadingModels | Phase::Scanning
        );
        let paused = job.progress.as_ref().is_some_and(|p| p.paused);
        let bar: Element<'_, Message> = match fraction {
            Some(f) => progress_bar(0.0..=1.0, f)
                .girth(6)
                .length(Length::Fill)
                .into(),
            None => space().width(Length::Fill).into(),
        };
        let mut r = row![
            text(label)
                .size(theme::TEXT_SMALL)
                .width(Length::Fixed(190.0)),
            bar,
            text(detail)
                .size(theme::TEXT_SMALL)
                .style(detail::muted_text),
        ]
        .spacing(theme::SPACE_M)
        .align_y(alignment::Vertical::Center);
        if matches!(job.phase, Phase::Analysing) {
            r = r.push(
                button(text(if paused { "Resume" } else { "Pause" }).size(theme::TEXT_SMALL))
                    .style(button::secondary)
                    .padding([4.0, 12.0])
                    .on_press(Message::PauseJob(!paused)),
            );
        }
        r = r.push(
            button(text(if running { "Stop" } else { "Close" }).size(theme::TEXT_SMALL))
                .style(theme::flat)
                .padding([4.0, 10.0])
                .on_press(Message::CloseJob),
        );
        Some(
            container(r)
                .padding([6.0, theme::SPACE_L])
                .width(Length::Fill)
                .style(theme::panel)
                .into(),
        )
    }
}

/// The music folder (the home folder without one): where the window exports to.
fn user_folder() -> PathBuf {
    directories::UserDirs::new()
        .map(|u| {
            u.audio_dir()
                .map(|p| p.to_path_buf())
                .unwrap_or_else(|| u.home_dir().to_path_buf())
        })
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Where the window exports a playlist: `Playlists/NAME.m3u8` under `base` (the music
/// folder, see [`user_folder`]).
fn export_path(base: &Path, name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let safe = safe.trim().trim_start_matches('.');
    base.join("Playlists").join(format!(
        "{}.m3u8",
        if safe.is_empty() { "playlist" } else { safe }
    ))
}

impl Drop for App {
    /// The window is closing: the track playing is a play that stopped. It is stored here,
    /// synchronously (one small transaction), since no task runs after the window is gone.
    fn drop(&mut self) {
        self.save_settings_now();
        self.player.stop_measuring();
        let plays = self.player.take_plays();
        if plays.is_empty() {
            return;
        }
        if let Ok(mut lib) = crate::library::Library::open(&self.db) {
            for p in &plays {
                // Nothing to tell anyone any more: a failure loses this one play only.
                let _ = lib.record_play(p);
            }
        }
    }
}

fn fmt_eta(secs: f64) -> String {
    if secs < 90.0 {
        format!("{:.0} s", secs.max(1.0))
    } else if secs < 5400.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

/// Where a row stands in the title bar's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AnalysisState {
    Pending,
    Analysed,
    Failed,
}

fn analysis_state(r: &BrowseRow) -> AnalysisState {
    match (&r.mood, &r.analysis_error) {
        (Some(_), _) => AnalysisState::Analysed,
        (None, Some(_)) => AnalysisState::Failed,
        (None, None) => AnalysisState::Pending,
    }
}

/// The counts after one row moved from `before` to `after` (the same definitions as
/// `Library::analysis_counts`, so they stay equal to what a reload would read).
fn recount(mut c: AnalysisCounts, before: AnalysisState, after: AnalysisState) -> AnalysisCounts {
    fn slot(c: &mut AnalysisCounts, s: AnalysisState) -> &mut u64 {
        match s {
            AnalysisState::Pending => &mut c.pending,
            AnalysisState::Analysed => &mut c.analysed,
            AnalysisState::Failed => &mut c.failed,
        }
    }
    if before != after {
        let from = slot(&mut c, before);
        *from = from.saturating_sub(1);
        *slot(&mut c, after) += 1;
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::TrackOutcome;
    use crate::audio::player::{AudioOutput, OutputError};
    use crate::library::Mood;
    use crate::mood::{Calibration, Quadrant};

    fn no_device() -> Result<AudioOutput, OutputError> {
        Err(OutputError::Device("test".into()))
    }

    fn row(id: i64, title: &str, point: Option<(f32, f32)>) -> BrowseRow {
        BrowseRow {
            id,
            path: PathBuf::from(format!("/m/{id}.mp3")),
            title: title.into(),
            artist: "A".into(),
            album: String::new(),
            track_no: Some(id as u32),
            duration_secs: Some(60.0),
            mood: point.map(|(v, a)| Mood::from_point(v, a, &Calibration::default())),
            analysis_error: None,
            scene: None,
            gain: Default::default(),
        }
    }

    /// Two Q1 rows, one Q3 row and two rows waiting for analysis.
    fn rows() -> Vec<BrowseRow> {
        vec![
            row(1, "One", Some((0.8, 0.5))),
            row(2, "Two", Some((0.2, 0.4))),
            row(3, "Three", None),
            row(4, "Four", Some((-0.6, -0.5))),
            row(5, "Five", None),
        ]
    }

    /// An app with a running job (no worker behind it: the test plays the engine).
    fn analysing_app() -> App {
        let mut app = App::with_rows(rows(), no_device);
        let (_, handle) = Task::<Message>::none().abortable();
        app.job = Some(Job {
            control: Control::new(),
            _handle: handle.abort_on_drop(),
            phase: Phase::Analysing,
            progress: None,
        });
        app
    }

    fn stored(id: i64, result: Result<Quadrant, crate::analysis::TrackError>) -> Message {
        Message::Job(JobEvent::Progress(Progress {
            total: 2,
            done: 1,
            last: Some(TrackOutcome {
                id,
                path: PathBuf::from(format!("/m/{id}.mp3")),
                result,
            }),
            ..Progress::default()
        }))
    }

    fn view_ids(app: &App) -> Vec<i64> {
        app.library.view_rows().map(|r| r.id).collect()
    }

    /// A stored result re-reads that one row (one task, no reload); its answer patches the
    /// row in place under the active mood filter and sort, and the counts follow.
    #[test]
    fn analysis_progress_patches_one_row_without_reloading() {
        let mut app = analysing_app();
        let _ = app.update(Message::Library(library::Message::ToggleMood(Quadrant::Q1)));
        let _ = app.update(Message::Library(library::Message::Sort(
            library::Column::Valence,
        )));
        assert_eq!(view_ids(&app), vec![1, 2]);
        let before = app.counts();

        let task = app.update(stored(3, Ok(Quadrant::Q1)));
        assert_eq!(task.units(), 1, "one row fetch");
        assert_eq!(app.reloads(), 0);
        assert!(app.fetching_rows && app.stale_rows.is_empty());

        // A timer tick (no track stored) fetches nothing.
        let tick = Message::Job(JobEvent::Progress(Progress::default()));
        assert_eq!(app.update(tick).units(), 0);

        // What `backend::load_rows` answers: track 3 is now Q1 with the middle valence.
        let new = row(3, "Three", Some((0.5, 0.3)));
        let task = app.update(Message::RowsLoaded(Ok(vec![(3, Some(new.clone()))])));
        assert_eq!(task.units(), 0, "nothing left to fetch, nothing to reload");
        assert_eq!(app.reloads(), 0);
        assert!(!app.fetching_rows);
        assert_eq!(app.library.row(3), Some(&new));
        // Valence high to low, inside the Q1 filter.
        assert_eq!(view_ids(&app), vec![1, 3, 2]);
        let mut expected = rows();
        expected[2] = new;
        assert_eq!(app.library.rows(), &expected[..], "other rows untouched");
        let after = app.counts();
        assert_eq!(after.analysed, before.analysed + 1);
        assert_eq!(after.pending, before.pending - 1);
        assert_eq!(after.tracks, before.tracks);

        // A row whose mood leaves the filter leaves the view.
        let _ = app.update(stored(1, Ok(Quadrant::Q3)));
        let _ = app.update(Message::RowsLoaded(Ok(vec![(
            1,
            Some(row(1, "One", Some((-0.9, -0.2)))),
        )])));
        assert_eq!(view_ids(&app), vec![3, 2]);
        assert_eq!(app.reloads(), 0);
        // Without the filter it is last but one: valence sort, unanalysed row last.
        let _ = app.update(Message::Library(library::Message::ToggleMood(Quadrant::Q1)));
        assert_eq!(view_ids(&app), vec![3, 2, 4, 1, 5]);
    }

    /// Results landing while a fetch is in flight wait and go in the next one.
    #[test]
    fn row_fetches_are_coalesced() {
        let mut app = analysing_app();
        assert_eq!(app.update(stored(3, Ok(Quadrant::Q1))).units(), 1);
        assert_eq!(
            app.update(stored(5, Err(crate::analysis::TrackError::NoAudio)))
                .units(),
            0
        );
        assert_eq!(app.stale_rows, vec![5]);
        let task = app.update(Message::RowsLoaded(Ok(vec![(
            3,
            Some(row(3, "Three", Some((0.5, 0.3)))),
        )])));
        assert_eq!(task.units(), 1, "the waiting row is fetched next");
        assert!(app.stale_rows.is_empty() && app.fetching_rows);
        let mut failed = row(5, "Five", None);
        failed.analysis_error = Some("bad".into());
        let _ = app.update(Message::RowsLoaded(Ok(vec![(5, Some(failed))])));
        assert_eq!(app.counts().failed, 1);
        assert_eq!(app.counts().pending, 0);
        assert_eq!(app.reloads(), 0);
    }

    /// Only a change of the library itself reloads everything: a scan, a track that
    /// vanished or appeared, an unreadable answer.
    #[test]
    fn library_changes_reload() {
        let mut app = analysing_app();
        let scanned = JobEvent::Scanned {
            seen: 1,
            added: 1,
            failed: 0,
            problems: Vec::new(),
        };
        assert_eq!(app.update(Message::Job(scanned.clone())).units(), 1);
        assert_eq!(app.reloads(), 1);
        // A second change during that reload waits for it, then reloads once more.
        assert_eq!(app.update(Message::Job(scanned)).units(), 0);
        // Results landing during a reload are fetched after it.
        assert_eq!(app.update(stored(3, Ok(Quadrant::Q1))).units(), 0);
        let data = LibraryData {
            rows: rows(),
            counts: app.counts(),
            warning: None,
        };
        assert_eq!(app.update(Message::Loaded(Ok(data.clone()))).units(), 1);
        assert_eq!(app.reloads(), 2);
        assert_eq!(app.update(Message::Loaded(Ok(data))).units(), 1);
        assert!(app.fetching_rows && app.stale_rows.is_empty());
        assert_eq!(app.reloads(), 2);

        // The answer names a track the table lacks: reload.
        let _ = app.update(Message::RowsLoaded(Ok(vec![(
            77,
            Some(row(77, "New", None)),
        )])));
        assert_eq!(app.reloads(), 3);

        let mut app = analysing_app();
        let _ = app.update(Message::RowsLoaded(Ok(vec![(4, None)])));
        assert_eq!(app.reloads(), 1, "a vanished track reloads");
        let mut app = analysing_app();
        let err = BackendError::WorkerStopped {
            worker: "rows".into(),
        };
        let _ = app.update(Message::RowsLoaded(Err(err)));
        assert_eq!(app.reloads(), 1, "an unreadable answer reloads");
        // The end of the run reloads nothing (its rows are already patched); it brings
        // the theme scenes up to date, in the background.
        let mut app = analysing_app();
        let finished = JobEvent::Finished {
            analysed: 1,
            failed: 0,
            cancelled: false,
        };
        assert_eq!(app.update(Message::Job(finished)).units(), 1);
        assert_eq!(app.reloads(), 0);
        assert!(app.scenes.is_busy());
    }

    /// The error kinds read as before and keep their sources.
    #[test]
    fn backend_errors_say_what_failed() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::OutOfMemory, "no threads left");
        let e = BackendError::Spawn {
            worker: "rows".into(),
            source: Arc::new(io),
        };
        assert_eq!(
            e.to_string(),
            "cannot start a worker thread for rows: no threads left"
        );
        // The io error is the source (behind the `Arc` that keeps the error `Clone`).
        assert!(e
            .source()
            .and_then(|s| s.downcast_ref::<Arc<std::io::Error>>())
            .is_some_and(|io| io.kind() == std::io::ErrorKind::OutOfMemory));
        let e = BackendError::from(crate::library::StoreError::from(
            rusqlite::Error::QueryReturnedNoRows,
        ));
        assert_eq!(e.to_string(), "database error: Query returned no rows");
        assert!(matches!(e, BackendError::Library(_)));
        let e = BackendError::from(crate::analysis::EngineError::WorkerPanicked("boom".into()));
        assert_eq!(
            format!("Analysis failed: {e}"),
            "Analysis failed: an analysis worker panicked: boom"
        );
        assert!(matches!(
            e,
            BackendError::Analysis(crate::analysis::EngineError::WorkerPanicked(_))
        ));
    }

    /// A worker's panic comes back as an error naming the worker, not a stuck request.
    #[test]
    fn a_panicking_worker_is_an_error() {
        let r: Result<(), BackendError> = iced::futures::executor::block_on(backend::off_thread(
            "test",
            || -> Result<(), BackendError> { panic!("boom") },
        ));
        match r {
            Err(BackendError::WorkerPanicked { worker, message }) => {
                assert_eq!((worker.as_str(), message.as_str()), ("test", "boom"));
            }
            other => panic!("{other:?}"),
        }
        let ok = iced::futures::executor::block_on(backend::off_thread("test", || Ok(7)));
        assert_eq!(ok.ok(), Some(7));
    }
}
