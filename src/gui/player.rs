//! The player bar: play/pause, previous/next, the seek bar drawn as the track's emotion
//! timeline, volume. The queue is the library view (filtered, sorted) when play started.
//! Without an audio device the bar says why instead of playing.
//!
//! Playback is gapless: the queue's next track is queued in the output while one plays, and
//! the bar follows when the output moves on to it. ReplayGain (off, track, album) is applied
//! per track from the row's gains, and a change of mode applies at once.
//!
//! Every play is measured for the listening history: the seconds heard are the stretches of
//! the track actually played (a seek ends one stretch and starts another, so jumping ahead
//! is not hearing), and how it ended (finished, skipped). The app collects them with
//! [`State::take_plays`].

use std::path::PathBuf;
use std::time::Duration;

use iced::widget::{button, canvas, column, container, row, slider, text};
use iced::{alignment, Element, Length};

use crate::audio::gain::{ReplayGainMode, TrackGain};
use crate::audio::player::{AudioOutput, OutputError};
use crate::library::{BrowseRow, TimelinePoint};
use crate::playlists::{NewPlay, PlayEnd};

use super::theme;
use super::widgets::timeline::SeekBar;

/// One entry of the queue (a copy: the library may reload while we play).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueItem {
    pub id: i64,
    pub path: PathBuf,
    pub title: String,
    pub artist: String,
    pub duration: Option<f64>,
    pub gain: TrackGain,
}

impl From<&BrowseRow> for QueueItem {
    fn from(r: &BrowseRow) -> Self {
        Self {
            id: r.id,
            path: r.path.clone(),
            title: r.title.clone(),
            artist: r.artist.clone(),
            duration: r.duration_secs,
            gain: r.gain,
        }
    }
}

/// How the output is opened; tests swap in one that fails like a machine without sound.
pub type Opener = fn() -> Result<AudioOutput, OutputError>;

enum Output {
    /// Not opened yet: opening waits for the first play, so a silent start costs nothing.
    Closed,
    Open(AudioOutput),
    Unavailable(String),
}

pub struct State {
    opener: Opener,
    output: Output,
    queue: Vec<QueueItem>,
    index: Option<usize>,
    playing: bool,
    position: f64,
    volume: f32,
    timeline: Vec<TimelinePoint>,
    error: Option<String>,
    /// The play being measured: track, start (unix seconds), seconds heard before the
    /// current stretch, and where the current stretch began.
    measuring: Option<Measure>,
    /// Plays that ended and are not yet collected by the app.
    ended: Vec<NewPlay>,
    /// Which gain playback applies (chosen in the window, kept in the settings).
    replaygain: ReplayGainMode,
    /// The queue index waiting in the output behind the playing track (gapless).
    queued: Option<usize>,
    /// [`queue_fingerprint`] of `queue`, kept as the queue is replaced: the settings ask
    /// for it after every message, and a queue can hold the whole library.
    queue_print: u64,
    /// Seeks done so far: MPRIS announces each one (its `Seeked` signal).
    seeks: u64,
    /// A queue restored from the settings: where play resumes in `queue[index]`.
    resume_at: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
struct Measure {
    track_id: i64,
    started_at: i64,
    heard: f64,
    stretch_from: f64,
}

#[derive(Debug, Clone)]
pub enum Message {
    PlayPause,
    Next,
    Previous,
    Seek(f64),
    SeekBy(f64),
    Volume(f32),
    /// Stops and rewinds (MPRIS `Stop`); play starts the track again.
    Stop,
    Tick,
    DismissError,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A track started: the app loads its timeline for the seek bar.
    NowPlaying(i64),
}

impl Default for State {
    fn default() -> Self {
        Self::new(AudioOutput::open_default)
    }
}

impl State {
    pub fn new(opener: Opener) -> Self {
        Self {
            opener,
            output: Output::Closed,
            queue: Vec::new(),
            index: None,
            playing: false,
            position: 0.0,
            volume: 0.8,
            timeline: Vec::new(),
            error: None,
            measuring: None,
            ended: Vec::new(),
            replaygain: ReplayGainMode::default(),
            queued: None,
            queue_print: queue_fingerprint(std::iter::empty()),
            seeks: 0,
            resume_at: None,
        }
    }

    pub fn replaygain(&self) -> ReplayGainMode {
        self.replaygain
    }

    /// Sets the ReplayGain mode; the playing and queued tracks change level at once.
    pub fn set_replaygain(&mut self, mode: ReplayGainMode) {
        self.replaygain = mode;
        if let Output::Open(o) = &self.output {
            let factor = |i: Option<usize>| {
                i.and_then(|i| self.queue.get(i))
                    .map_or(1.0, |q| q.gain.factor(mode))
            };
            o.set_gains(factor(self.index), factor(self.queued));
        }
    }

    /// Queues the track after the playing one in the output, so it follows without a gap.
    /// A file that cannot be opened is left for [`Message::Next`] to report when reached.
    fn queue_next(&mut self) {
        self.queued = None;
        let Some(next) = self.index.map(|i| i + 1) else {
            return;
        };
        let Some(item) = self.queue.get(next) else {
            return;
        };
        if let Output::Open(o) = &self.output {
            if o.enqueue(&item.path, item.gain.factor(self.replaygain))
                .is_ok()
            {
                self.queued = Some(next);
            }
        }
    }

    pub fn queue(&self) -> &[QueueItem] {
        &self.queue
    }

    /// Which tracks the queue holds, in order, as one number ([`queue_fingerprint`]).
    pub fn queue_fingerprint(&self) -> u64 {
        self.queue_print
    }

    pub fn index(&self) -> Option<usize> {
        self.index
    }

    /// Seconds into the current track.
    pub fn position(&self) -> f64 {
        self.position
    }

    pub fn volume(&self) -> f32 {
        self.volume
    }

    pub fn seeks(&self) -> u64 {
        self.seeks
    }

    /// A play is under way but paused, or a restored queue waits for play (not stopped, not
    /// ended). Read from our own state: the output's lags behind a stop.
    pub fn is_paused(&self) -> bool {
        self.current().is_some()
            && !self.playing
            && (self.measuring.is_some() || self.resume_at.is_some())
    }

    /// Puts back a saved queue, paused at `position` seconds of `queue[index]`: nothing
    /// plays (nor opens the output) until play is pressed.
    pub fn restore(&mut self, queue: Vec<QueueItem>, index: usize, position: f64) {
        if index >= queue.len() {
            return;
        }
        self.queue_print = queue_fingerprint(queue.iter().map(|q| q.id));
        self.queue = queue;
        self.index = Some(index);
        self.position = position.max(0.0);
        self.resume_at = Some(self.position);
    }

    /// The plays that ended since the last call, oldest first.
    pub fn take_plays(&mut self) -> Vec<NewPlay> {
        std::mem::take(&mut self.ended)
    }

    /// Ends the play being measured (if any) at `position` seconds.
    fn end_play(&mut self, how: PlayEnd, position: f64) {
        if let Some(m) = self.measuring.take() {
            self.ended.push(NewPlay {
                track_id: m.track_id,
                started_at: m.started_at,
                heard_secs: m.heard + (position - m.stretch_from).max(0.0),
                ended: how,
            });
        }
    }

    /// Ends the current play as stopped (the window is closing).
    pub fn stop_measuring(&mut self) {
        self.end_play(PlayEnd::Stopped, self.position);
    }

    pub fn is_playing(&self) -> bool {
        self.playing
    }

    /// Makes the open output report a device error, as an unplugged device would (tests).
    #[doc(hidden)]
    pub fn inject_device_fault(&self, message: &str) {
        if let Output::Open(o) = &self.output {
            o.inject_fault(message);
        }
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub fn current(&self) -> Option<&QueueItem> {
        self.index.and_then(|i| self.queue.get(i))
    }

    pub fn set_timeline(&mut self, id: i64, timeline: Vec<TimelinePoint>) {
        if self.current().map(|c| c.id) == Some(id) {
            self.timeline = timeline;
        }
    }

    fn output(&mut self) -> Result<&AudioOutput, String> {
        if matches!(self.output, Output::Closed) {
            self.output = match (self.opener)() {
                Ok(o) => {
                    o.set_volume(self.volume);
                    Output::Open(o)
                }
                Err(e) => Output::Unavailable(format!("Cannot play: {e}")),
            };
        }
        match &self.output {
            Output::Open(o) => Ok(o),
            Output::Unavailable(why) => Err(why.clone()),
            Output::Closed => Err("Cannot play: audio output not open".into()),
        }
    }

    /// Plays `queue[index]`; the queue replaces the old one.
    pub fn play_queue(&mut self, queue: Vec<QueueItem>, index: usize) -> Option<Event> {
        self.queue_print = queue_fingerprint(queue.iter().map(|q| q.id));
        self.queue = queue;
        self.resume_at = None;
        self.start(index)
    }

    fn start(&mut self, index: usize) -> Option<Event> {
        let item = self.queue.get(index)?.clone();
        // A restored queue resumes where it was, for its own track only.
        let resume = self.resume_at.take().filter(|_| self.index == Some(index));
        // Whatever played before was left for this one.
        self.end_play(PlayEnd::Skipped, self.position);
        self.index = Some(index);
        self.position = 0.0;
        self.timeline.clear();
        self.queued = None;
        let gain = item.gain.factor(self.replaygain);
        let result = self
            .output()
            .and_then(|o| o.play_file(&item.path, gain).map_err(|e| e.to_string()));
        match result {
            Ok(()) => {
                self.playing = true;
                self.error = None;
                self.measuring = Some(Measure {
                    track_id: item.id,
                    started_at: crate::library::store::now_secs(),
                    heard: 0.0,
                    stretch_from: 0.0,
                });
                if let Some(at) = resume.filter(|&at| at > 0.0) {
                    self.seek_to(at);
                }
                self.queue_next();
            }
            Err(e) => {
                self.playing = false;
                self.error = Some(e);
            }
        }
        Some(Event::NowPlaying(item.id))
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::PlayPause => {
                let index = self.index?;
                if let Output::Open(o) = &self.output {
                    if self.playing {
                        o.pause();
                        self.playing = false;
                    } else if o.is_idle() {
                        return self.start(index);
                    } else {
                        o.resume();
                        self.playing = true;
                    }
                    None
                } else {
                    self.start(index)
                }
            }
            Message::Next => {
                let next = self.index.map(|i| i + 1).unwrap_or(0);
                if next < self.queue.len() {
                    self.start(next)
                } else {
                    self.end_play(PlayEnd::Skipped, self.position);
                    self.stop();
                    None
                }
            }
            Message::Previous => {
                // Like every player: back to the start first, then the previous track.
                let i = self.index?;
                if self.position > 3.0 || i == 0 {
                    self.seek_to(0.0);
                    None
                } else {
                    self.start(i - 1)
                }
            }
            Message::Seek(s) => {
                self.seek_to(s);
                None
            }
            Message::SeekBy(d) => {
                self.seek_to(self.position + d);
                None
            }
            Message::Volume(v) => {
                self.volume = v.clamp(0.0, 1.0);
                if let Output::Open(o) = &self.output {
                    o.set_volume(self.volume);
                }
                None
            }
            Message::Stop => {
                self.end_play(PlayEnd::Stopped, self.position);
                self.resume_at = None;
                self.stop();
                None
            }
            Message::Tick => {
                let fault = match &self.output {
                    Output::Open(o) => o.fault(),
                    _ => None,
                };
                if let Some(e) = fault {
                    // The device went away mid-track: count what was heard, close the output
                    // so that Play opens the device again (or the new default one) and
                    // starts the track over.
                    let at = self.position;
                    self.end_play(PlayEnd::Skipped, at);
                    self.playing = false;
                    self.queued = None;
                    self.output = Output::Closed;
                    self.error = Some(format!(
                        "The audio device stopped ({e}); playback stopped. Press play to start the track again."
                    ));
                    return None;
                }
                if let Output::Open(o) = &self.output {
                    if self.playing {
                        if let (Some(next), 1) = (self.queued, o.queued()) {
                            // The queued track took over without a gap: the bar follows.
                            o.advance();
                            let end = self.duration().max(self.position);
                            self.end_play(PlayEnd::Finished, end);
                            return self.moved_on(next);
                        }
                        if o.is_idle() {
                            // The track ended: heard to its end; go on with the queue.
                            let end = self.duration().max(self.position);
                            self.end_play(PlayEnd::Finished, end);
                            return self.update(Message::Next);
                        }
                        self.position = o.position().as_secs_f64();
                    }
                }
                None
            }
            Message::DismissError => {
                self.error = None;
                None
            }
        }
    }

    /// The output moved on to queue entry `next` by itself (gapless): measure the new play
    /// and queue the one after it.
    fn moved_on(&mut self, next: usize) -> Option<Event> {
        let item = self.queue.get(next)?.clone();
        self.index = Some(next);
        self.timeline.clear();
        self.position = match &self.output {
            Output::Open(o) => o.position().as_secs_f64(),
            _ => 0.0,
        };
        self.measuring = Some(Measure {
            track_id: item.id,
            started_at: crate::library::store::now_secs(),
            heard: 0.0,
            stretch_from: 0.0,
        });
        self.queue_next();
        Some(Event::NowPlaying(item.id))
    }

    fn stop(&mut self) {
        if let Output::Open(o) = &self.output {
            o.stop();
        }
        self.playing = false;
        self.position = 0.0;
        self.queued = None;
    }

    fn duration(&self) -> f64 {
        self.current()
            .and_then(|c| c.duration)
            .or_else(|| self.timeline.last().map(|p| p.end_s))
            .unwrap_or(0.0)
    }

    fn seek_to(&mut self, secs: f64) {
        if self.index.is_none() {
            return;
        }
        let dur = self.duration();
        let secs = if dur > 0.0 {
            secs.clamp(0.0, dur)
        } else {
            secs.max(0.0)
        };
        if let Output::Open(o) = &self.output {
            match o.seek(Duration::from_secs_f64(secs)) {
                Ok(()) => {
                    // A seek ends the stretch heard so far and starts another.
                    if let Some(m) = &mut self.measuring {
                        m.heard += (self.position - m.stretch_from).max(0.0);
                        m.stretch_from = secs;
                    }
                    self.position = secs;
                    self.seeks += 1;
                }
                Err(e) => self.error = Some(e.to_string()),
            }
        } else if self.resume_at.is_some() {
            // Restored, not started yet: play will resume here.
            self.resume_at = Some(secs);
            self.position = secs;
            self.seeks += 1;
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let icon = |s: &'static str| text(s).size(16).align_x(alignment::Horizontal::Center);
        let has = self.index.is_some();
        let controls = row![
            button(icon("|◀"))
                .style(theme::flat)
                .padding([6.0, 10.0])
                .on_press_maybe(has.then_some(Message::Previous)),
            button(icon(if self.playing { "❚❚" } else { "▶" }))
                .style(iced::widget::button::primary)
                .padding([6.0, 14.0])
                .on_press_maybe(has.then_some(Message::PlayPause)),
            button(icon("▶|"))
                .style(theme::flat)
                .padding([6.0, 10.0])
                .on_press_maybe(has.then_some(Message::Next)),
        ]
        .spacing(theme::SPACE_XS)
        .align_y(alignment::Vertical::Center);

        let (title, artist) = match self.current() {
            Some(c) => (c.title.clone(), c.artist.clone()),
            None => (
                "Nothing playing".to_string(),
                "Select a track and press Enter".to_string(),
            ),
        };
        let now = column![
            text(title)
                .size(theme::TEXT_BODY)
                .wrapping(text::Wrapping::None),
            text(artist)
                .size(theme::TEXT_SMALL)
                .wrapping(text::Wrapping::None)
                .style(super::detail::muted_text),
        ]
        .width(Length::Fixed(220.0))
        .clip(true);

        let dur = self.duration();
        let seek = canvas(SeekBar {
            timeline: &self.timeline,
            duration: dur,
            position: self.position,
            on_seek: has.then_some(Message::Seek as fn(f64) -> Message),
        })
        .width(Length::Fill)
        .height(Length::Fixed(22.0));
        let times = |s: f64| {
            text(super::fmt_time(s))
                .size(theme::TEXT_SMALL)
                .style(super::detail::muted_text)
        };
        let volume = row![
            text("Vol")
                .size(theme::TEXT_SMALL)
                .style(super::detail::muted_text),
            slider(0.0..=1.0, self.volume, Message::Volume)
                .step(0.01)
                .width(Length::Fixed(100.0)),
        ]
        .spacing(theme::SPACE_S)
        .align_y(alignment::Vertical::Center);

        let bar = row![
            controls,
            now,
            times(self.position),
            seek,
            times(dur),
            volume
        ]
        .spacing(theme::SPACE_M)
        .align_y(alignment::Vertical::Center);

        let mut content = column![].spacing(theme::SPACE_S);
        if let Some(e) = &self.error {
            content = content.push(
                container(
                    row![
                        text(e.clone()).size(theme::TEXT_BODY).width(Length::Fill),
                        button(text("Dismiss").size(theme::TEXT_SMALL))
                            .style(theme::flat)
                            .on_press(Message::DismissError),
                    ]
                    .align_y(alignment::Vertical::Center),
                )
                .padding([6.0, theme::SPACE_M])
                .width(Length::Fill)
                .style(theme::error_banner),
            );
        }
        content = content.push(bar);
        container(content)
            .padding([theme::SPACE_S, theme::SPACE_L])
            .width(Length::Fill)
            .style(theme::panel)
            .into()
    }
}

/// A queue's track ids, in order, as one number (FNV-1a): whether the kept queue changed.
pub fn queue_fingerprint(ids: impl Iterator<Item = i64>) -> u64 {
    use std::hash::Hasher;
    let mut h = fnv::FnvHasher::default();
    for id in ids {
        h.write_i64(id);
    }
    h.finish()
}
