//! The Valence window (iced 0.14). One module per screen — `setup` (first run), `library`
//! (the table), `detail` (one track), `player` (the bar) — each with its own `State`,
//! `Message`, `update`, `view` and an outward `Event`; `backend` bridges to the library,
//! the analysis engine and the disk off the UI thread.

pub mod backend;
pub mod detail;
pub mod library;
pub mod player;
pub mod setup;
pub mod theme;
pub mod widgets;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use iced::keyboard::{self, key::Named, Key};
use iced::task::Handle;
use iced::widget::{button, column, container, progress_bar, row, space, text};
use iced::{alignment, event, Element, Font, Length, Subscription, Task, Theme};

use crate::analysis::{Control, Progress};
use crate::library::{AnalysisCounts, BrowseRow, TimelinePoint};

use backend::{BackendError, DetailData, JobEvent, LibraryData};

/// The app's typeface (bundled with iced's `fira-sans` feature, so every machine and the
/// snapshot tests render the same glyphs).
pub const FONT_NAME: &str = "Fira Sans";

/// Seconds as m:ss (h:mm:ss past an hour).
pub fn fmt_time(secs: f64) -> String {
    let s = if secs.is_finite() {
        secs.max(0.0) as u64
    } else {
        0
    };
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// Opens the window on the library at `db`. Blocks until the window closes.
pub fn run(db: PathBuf) -> iced::Result {
    iced::application(move || App::boot(db.clone()), App::update, App::view)
        .title(App::title)
        .theme(App::theme)
        .subscription(App::subscription)
        .default_font(Font::with_name(FONT_NAME))
        .window_size((1280.0, 800.0))
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
    job: Option<Job>,
    counts: AnalysisCounts,
    warning: Option<String>,
    reloading: bool,
    last_reload: Option<Instant>,
}

// Messages are a handful per second; boxing the big ones would buy nothing measurable.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Message {
    Loaded(Result<LibraryData, BackendError>),
    Setup(setup::Message),
    Library(library::Message),
    Detail(detail::Message),
    Player(player::Message),
    DetailLoaded(Result<DetailData, BackendError>),
    TimelineLoaded(Result<(i64, Vec<TimelinePoint>), BackendError>),
    Job(JobEvent),
    PauseJob(bool),
    CloseJob,
    AddMusic,
    ToggleTheme,
    Key(keyboard::Event, bool),
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
            job: None,
            counts: AnalysisCounts::default(),
            warning: None,
            reloading: false,
            last_reload: None,
        }
    }

    pub fn boot(db: PathBuf) -> (Self, Task<Message>) {
        let app = Self::new(db);
        let task = app.reload();
        (app, task)
    }

    /// A ready app over the given rows, with no I/O (tests, benches).
    pub fn with_rows(rows: Vec<BrowseRow>, opener: player::Opener) -> Self {
        let mut app = Self::new(PathBuf::from("/nonexistent/valence-test.sqlite3"));
        app.setup = setup::State::new(None);
        app.player = player::State::new(opener);
        app.counts.tracks = rows.len() as u64;
        app.counts.analysed = rows.iter().filter(|r| r.mood.is_some()).count() as u64;
        app.library.set_rows(rows);
        app.loaded = true;
        app
    }

    pub fn set_mode(&mut self, mode: theme::Mode) {
        self.mode = mode;
    }

    fn reload(&self) -> Task<Message> {
        Task::perform(backend::load_library(self.db.clone()), Message::Loaded)
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
        match message {
            Message::Loaded(result) => {
                self.reloading = false;
                self.last_reload = Some(Instant::now());
                match result {
                    Ok(data) => {
                        self.loaded = true;
                        self.counts = data.counts;
                        self.warning = data.warning;
                        self.library.set_rows(data.rows);
                        // Tracks waiting for analysis (a previous run was interrupted, or
                        // files were added from the command line): carry on quietly.
                        if self.job.is_none() && data.counts.pending > 0 && self.warning.is_none() {
                            return self.start_job(Vec::new());
                        }
                    }
                    Err(e) => {
                        self.loaded = true;
                        self.warning = Some(format!(
                            "Cannot open the library {}: {e}",
                            self.db.display()
                        ));
                    }
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
                Some(detail::Event::Close) => Task::none(),
                None => Task::none(),
            },
            Message::Player(m) => {
                let e = self.player.update(m);
                self.on_player_event(e)
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
        }
    }

    fn on_library_event(&mut self, e: library::Event) -> Task<Message> {
        match e {
            library::Event::Selected(id) => self.select(id),
            library::Event::Play(id) => self.play(id),
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

    fn on_player_event(&mut self, e: Option<player::Event>) -> Task<Message> {
        match e {
            Some(player::Event::NowPlaying(id)) => Task::perform(
                backend::load_timeline(self.db.clone(), id),
                Message::TimelineLoaded,
            ),
            None => Task::none(),
        }
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

    fn on_job_event(&mut self, e: JobEvent) -> Task<Message> {
        let Some(job) = &mut self.job else {
            return Task::none();
        };
        let mut reload = false;
        match e {
            JobEvent::Scanning => job.phase = Phase::Scanning,
            JobEvent::Scanned { .. } => {
                job.phase = Phase::LoadingModels;
                reload = true;
            }
            JobEvent::LoadingModels => job.phase = Phase::LoadingModels,
            JobEvent::Progress(p) => {
                job.phase = Phase::Analysing;
                let advanced = job.progress.as_ref().map(|o| o.done) != Some(p.done);
                // Moods appear in the table while the analysis runs: every 1.5 s for a
                // small library, every 4 s for a big one (a 100k-row reload is ~0.4 s).
                let every = if self.library.rows().len() > 20_000 {
                    Duration::from_secs(4)
                } else {
                    Duration::from_millis(1500)
                };
                let stale = self.last_reload.is_none_or(|t| t.elapsed() > every);
                reload = advanced && stale;
                job.progress = Some(p);
            }
            JobEvent::Finished {
                analysed,
                failed,
                cancelled,
            } => {
                job.phase = Phase::Done(if cancelled {
                    format!("Analysis stopped: {analysed} analysed, {failed} failed")
                } else if analysed + failed == 0 {
                    "Every track is analysed".to_string()
                } else {
                    format!("Analysis done: {analysed} analysed, {failed} failed")
                });
                reload = true;
                self.last_reload = None;
            }
            JobEvent::Failed(e) => {
                job.phase = Phase::Failed(e.to_string());
                reload = true;
            }
        }
        if reload && !self.reloading {
            self.reloading = true;
            return self.reload();
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
        if !self.loaded {
            return container(text("Opening the library…").size(theme::TEXT_BODY))
                .center(Length::Fill)
                .into();
        }
        let mut col = column![self.top_bar()];
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
            if self.detail.id.is_some() {
                r = r.push(self.detail.view(selected).map(Message::Detail));
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

fn fmt_eta(secs: f64) -> String {
    if secs < 90.0 {
        format!("{:.0} s", secs.max(1.0))
    } else if secs < 5400.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let e = BackendError::from(crate::library::StoreError::Sql("disk full".into()));
        assert_eq!(e.to_string(), "database error: disk full");
        assert!(matches!(e, BackendError::Library(_)));
        let e = BackendError::Analysis("model missing".into());
        assert_eq!(
            format!("Analysis failed: {e}"),
            "Analysis failed: model missing"
        );
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
