//! The window as a desktop citizen: its settings kept between runs (`crate::settings`) and
//! the player published on D-Bus (`mpris`).
//!
//! Both hang off [`App::update`]: after every message the app compares what it now is with
//! what it last saved and published. A change of settings is written half a second after
//! the last one (a volume drag writes once), off the UI thread; the window closing writes
//! whatever is left (see `Drop for App`).

use std::path::PathBuf;
use std::time::Duration;

use iced::futures::channel::oneshot;
use iced::{Size, Subscription, Task};

use crate::audio::ReplayGainMode;
use crate::settings::{self, SavedQueue, SavedTrack, Settings};

use super::{mpris, player, theme, App, Message as AppMessage};

/// How long settings must stay still before they are written.
pub const SAVE_DELAY: Duration = Duration::from_millis(500);

#[derive(Debug, Clone)]
pub enum Message {
    Mpris(mpris::Event),
    Resized(Size),
    /// The settings stopped changing (the generation asked to be saved).
    Save(u64),
    Saved(Result<(), String>),
    ReplayGain(ReplayGainMode),
}

/// What the app keeps for both.
#[derive(Default)]
pub struct Desktop {
    /// Where settings are kept; `None`: not kept (tests that do not ask, benches).
    file: Option<PathBuf>,
    /// The settings as last scheduled for saving, and as last written.
    scheduled: Option<Key>,
    written: Option<Key>,
    generation: u64,
    /// The window's inner size.
    window: Option<Size>,
    /// A saved queue waiting for the library to load.
    pending_queue: Option<SavedQueue>,
    /// MPRIS: on in the real window (`run`), off in tests that drive `App` directly.
    mpris_enabled: bool,
    mpris: Option<mpris::Handle>,
    published: Option<mpris::Snapshot>,
}

/// What decides whether the settings changed, without copying the queue: its ids hashed.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Key {
    mode: theme::Mode,
    volume: f32,
    replaygain: ReplayGainMode,
    window: Option<(f32, f32)>,
    queue: Option<(u64, usize)>,
    /// Only while paused: a playing track's position moves every tick; it is written when
    /// play stops and at exit.
    position: Option<u64>,
}

impl App {
    /// Keeps the settings in `file`, starting from `loaded` (what `settings::load` read
    /// there): the theme, volume and ReplayGain mode now, the queue once the library is
    /// loaded. Warnings go to stderr; a broken file is also said in the window.
    pub fn keep_settings(&mut self, file: PathBuf, loaded: settings::Loaded) {
        for w in &loaded.warnings {
            eprintln!("valence: {w}");
        }
        if loaded.broken {
            self.notice = Some(
                "The settings file could not be read; the defaults are used until a setting changes."
                    .into(),
            );
        }
        let s = loaded.settings;
        self.mode = match s.theme {
            settings::Theme::Dark => theme::Mode::Dark,
            settings::Theme::Light => theme::Mode::Light,
        };
        self.player.update(player::Message::Volume(s.volume));
        self.player.set_replaygain(s.replaygain);
        self.desk.window = Some(Size::new(s.window.width, s.window.height));
        self.desk.pending_queue = s.queue;
        self.desk.file = Some(file);
        // What was read counts as written: starting the window writes nothing.
        let key = self.settings_key();
        self.desk.scheduled = Some(key);
        self.desk.written = Some(key);
        self.restore_queue();
    }

    /// Publishes the player on D-Bus (MPRIS) once the window runs.
    pub fn enable_mpris(&mut self) {
        self.desk.mpris_enabled = true;
    }

    /// The settings as they would be written now.
    pub fn settings(&self) -> Settings {
        let queue = match self.player.current() {
            Some(_) => self.player.index().map(|index| SavedQueue {
                index,
                position: self.player.position(),
                tracks: self
                    .player
                    .queue()
                    .iter()
                    .map(|q| SavedTrack {
                        id: q.id,
                        path: q.path.to_str().map(str::to_string),
                    })
                    .collect(),
            }),
            None => self.desk.pending_queue.clone(),
        };
        let window = self.desk.window.unwrap_or(Size::new(
            settings::DEFAULT_WINDOW.0,
            settings::DEFAULT_WINDOW.1,
        ));
        Settings {
            theme: match self.mode {
                theme::Mode::Dark => settings::Theme::Dark,
                theme::Mode::Light => settings::Theme::Light,
            },
            volume: self.player.volume(),
            replaygain: self.player.replaygain(),
            window: settings::WindowSize {
                width: window.width,
                height: window.height,
            },
            queue,
        }
    }

    /// The MPRIS bus name, once the server is up.
    pub fn mpris_bus_name(&self) -> Option<&str> {
        self.desk.mpris.as_ref().map(|h| h.bus_name())
    }

    fn settings_key(&self) -> Key {
        let queue = match self.player.current() {
            Some(_) => self
                .player
                .index()
                .map(|i| (self.player.queue_fingerprint(), i)),
            // Only until the library has loaded: then it is restored or dropped.
            None => self.desk.pending_queue.as_ref().map(|q| {
                (
                    player::queue_fingerprint(q.tracks.iter().map(|t| t.id)),
                    q.index,
                )
            }),
        };
        Key {
            mode: self.mode,
            volume: self.player.volume(),
            replaygain: self.player.replaygain(),
            window: self.desk.window.map(|s| (s.width, s.height)),
            queue,
            position: (!self.player.is_playing()).then(|| self.player.position().to_bits()),
        }
    }

    /// After every update: restore a waiting queue, publish to MPRIS, schedule a save.
    pub(super) fn after_update(&mut self) -> Task<AppMessage> {
        self.restore_queue();
        self.publish();
        let Some(_) = &self.desk.file else {
            return Task::none();
        };
        let key = self.settings_key();
        if self.desk.scheduled == Some(key) {
            return Task::none();
        }
        self.desk.scheduled = Some(key);
        self.desk.generation += 1;
        let generation = self.desk.generation;
        Task::perform(after(SAVE_DELAY), move |()| {
            AppMessage::Desktop(Message::Save(generation))
        })
    }

    pub(super) fn on_desktop(&mut self, m: Message) -> Task<AppMessage> {
        match m {
            Message::Mpris(mpris::Event::Ready(handle)) => {
                self.desk.mpris = Some(handle);
                self.desk.published = None;
                Task::none()
            }
            Message::Mpris(mpris::Event::Command(c)) => self.on_mpris(c),
            Message::Resized(size) => {
                self.desk.window = Some(size);
                Task::none()
            }
            Message::Save(generation) => {
                // A newer change is waiting its own turn.
                if generation != self.desk.generation {
                    return Task::none();
                }
                let (Some(file), Some(key)) = (self.desk.file.clone(), self.desk.scheduled) else {
                    return Task::none();
                };
                if self.desk.written == Some(key) {
                    return Task::none();
                }
                self.desk.written = Some(key);
                let s = self.settings();
                Task::perform(off_thread(move || settings::save(&file, &s)), |r| {
                    AppMessage::Desktop(Message::Saved(r))
                })
            }
            Message::Saved(Ok(())) => Task::none(),
            Message::Saved(Err(e)) => {
                eprintln!("valence: {e}");
                self.desk.written = None;
                self.notice = Some(format!("Settings could not be saved: {e}"));
                Task::none()
            }
            Message::ReplayGain(mode) => {
                self.player.set_replaygain(mode);
                Task::none()
            }
        }
    }

    fn on_mpris(&mut self, c: mpris::Command) -> Task<AppMessage> {
        use player::Message as P;
        let playing = self.player.is_playing();
        let has = self.player.current().is_some();
        let m = match c {
            mpris::Command::PlayPause if has => P::PlayPause,
            mpris::Command::Play if has && !playing => P::PlayPause,
            mpris::Command::Pause if playing => P::PlayPause,
            mpris::Command::Stop if has => P::Stop,
            mpris::Command::Next => P::Next,
            mpris::Command::Previous => P::Previous,
            mpris::Command::SeekBy(d) => P::SeekBy(d),
            mpris::Command::SetPosition { track, secs }
                if self.player.current().map(|c| c.id) == Some(track) =>
            {
                P::Seek(secs)
            }
            mpris::Command::Volume(v) => P::Volume(v as f32),
            _ => return Task::none(),
        };
        self.update(AppMessage::Player(m))
    }

    pub(super) fn desktop_subscription(&self) -> Subscription<AppMessage> {
        let resized = iced::window::resize_events()
            .map(|(_, size)| AppMessage::Desktop(Message::Resized(size)));
        if self.desk.mpris_enabled {
            Subscription::batch([
                resized,
                mpris::subscription().map(|e| AppMessage::Desktop(Message::Mpris(e))),
            ])
        } else {
            resized
        }
    }

    /// The window is closing: what changed since the last write is written now.
    pub(super) fn save_settings_now(&mut self) {
        let Some(file) = &self.desk.file else {
            return;
        };
        if self.desk.written == Some(self.settings_key()) {
            return;
        }
        if let Err(e) = settings::save(file, &self.settings()) {
            eprintln!("valence: {e}");
        }
    }

    /// The player as MPRIS sees it, sent when it changed.
    fn publish(&mut self) {
        let Some(handle) = &self.desk.mpris else {
            return;
        };
        let p = &self.player;
        let status = if p.is_playing() {
            mpris::Status::Playing
        } else if p.is_paused() {
            mpris::Status::Paused
        } else {
            mpris::Status::Stopped
        };
        let s = mpris::Snapshot {
            status,
            track: p.current().map(|c| mpris::Track {
                id: c.id,
                title: c.title.clone(),
                artist: c.artist.clone(),
                length: c.duration,
                path: c.path.clone(),
            }),
            position: p.position(),
            volume: f64::from(p.volume()),
            can_next: p.index().is_some_and(|i| i + 1 < p.queue().len()),
            can_previous: p.index().is_some(),
            seeks: p.seeks(),
        };
        if self.desk.published.as_ref() == Some(&s) {
            return;
        }
        if handle.publish(s.clone()) {
            self.desk.published = Some(s);
        } else {
            // The server stopped (the bus went away): nothing more to tell it.
            self.desk.mpris = None;
        }
    }

    /// Puts the saved queue back once the library's rows are there: paused at its position.
    fn restore_queue(&mut self) {
        if !self.loaded || self.library.is_empty() || self.player.current().is_some() {
            return;
        }
        let Some(saved) = self.desk.pending_queue.take() else {
            return;
        };
        // By id where the path still agrees (or was not kept); else by path, should the
        // library have been rebuilt under new ids. Tracks gone since are left out.
        let mut by_path: Option<std::collections::HashMap<&std::path::Path, usize>> = None;
        let rows = self.library.rows();
        let mut queue = Vec::with_capacity(saved.tracks.len());
        let mut index = None;
        for (i, t) in saved.tracks.iter().enumerate() {
            let path_ok = |r: &crate::library::BrowseRow| {
                t.path
                    .as_deref()
                    .is_none_or(|p| r.path.as_os_str() == std::ffi::OsStr::new(p))
            };
            let row = match self.library.row(t.id).filter(|r| path_ok(r)) {
                Some(r) => Some(r),
                None => t.path.as_deref().and_then(|p| {
                    let map = by_path.get_or_insert_with(|| {
                        rows.iter()
                            .enumerate()
                            .map(|(k, r)| (r.path.as_path(), k))
                            .collect()
                    });
                    map.get(std::path::Path::new(p)).map(|&k| &rows[k])
                }),
            };
            if let Some(r) = row {
                if i == saved.index {
                    index = Some(queue.len());
                }
                queue.push(player::QueueItem::from(r));
            }
        }
        match index {
            Some(i) => self.player.restore(queue, i, saved.position),
            // The track that was playing is gone: the next one that is not, from its start.
            None if !queue.is_empty() => {
                let before = saved.tracks[..saved.index.min(saved.tracks.len())]
                    .iter()
                    .filter(|t| queue.iter().any(|q| q.id == t.id))
                    .count();
                let i = before.min(queue.len() - 1);
                self.player.restore(queue, i, 0.0);
            }
            None => {}
        }
    }
}

/// The next mode in the window's ReplayGain button (off → track → album → off).
pub fn next_replaygain(mode: ReplayGainMode) -> ReplayGainMode {
    match mode {
        ReplayGainMode::Off => ReplayGainMode::Track,
        ReplayGainMode::Track => ReplayGainMode::Album,
        ReplayGainMode::Album => ReplayGainMode::Off,
    }
}

/// Resolves after `d`, with no executor's timer: a sleeping thread (any executor, the tests'
/// `block_on` included, can wait on it).
async fn after(d: Duration) {
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        std::thread::sleep(d);
        let _ = tx.send(());
    });
    let _ = rx.await;
}

/// Runs `f` on a thread of its own: file writes stay off the UI thread.
async fn off_thread<T>(f: impl FnOnce() -> Result<(), T> + Send + 'static) -> Result<(), String>
where
    T: std::fmt::Display + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f().map_err(|e| e.to_string()));
    });
    rx.await
        .unwrap_or_else(|_| Err("the writing thread stopped".into()))
}
