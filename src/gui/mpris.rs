//! MPRIS (`org.mpris.MediaPlayer2.valence`): media keys, desktop widgets and `playerctl`
//! see and drive the player through the session bus.
//!
//! The D-Bus server (the `mpris-server` crate on zbus) lives on a thread of its own with
//! zbus's executor. Commands from the bus travel to the window as [`Command`]s (the app turns
//! them into ordinary player messages); the player's state travels back as [`Snapshot`]s that
//! the app sends after each update. Neither side waits for the other: both channels are
//! unbounded and the server only ever looks at the newest snapshot.
//!
//! No cover art is stored in the library, so `mpris:artUrl` is never set.

use iced::futures::channel::{mpsc, oneshot};
use iced::futures::{SinkExt, StreamExt};
use mpris_server::{Metadata, PlaybackStatus, Player, Time, TrackId};

/// The bus name's suffix: `org.mpris.MediaPlayer2.valence` (a second window gets
/// `valence.instance<pid>`, as the specification suggests).
pub const BUS_SUFFIX: &str = "valence";

/// What a client asked for over D-Bus.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    Play,
    Pause,
    PlayPause,
    Stop,
    Next,
    Previous,
    /// Relative, in seconds (`Seek`).
    SeekBy(f64),
    /// Absolute, in seconds, in the named track (`SetPosition`: ignored unless it is the
    /// current one).
    SetPosition {
        track: i64,
        secs: f64,
    },
    /// 0..=1.
    Volume(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Playing,
    Paused,
    Stopped,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub id: i64,
    pub title: String,
    pub artist: String,
    pub length: Option<f64>,
    pub path: std::path::PathBuf,
}

/// The player as the bus sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub status: Status,
    pub track: Option<Track>,
    /// Seconds.
    pub position: f64,
    pub volume: f64,
    pub can_next: bool,
    pub can_previous: bool,
    /// Seeks so far: a change is announced with `Seeked`.
    pub seeks: u64,
}

/// What the subscription hands the app.
#[derive(Debug, Clone)]
pub enum Event {
    /// The server is on the bus: send it snapshots through this.
    Ready(Handle),
    Command(Command),
}

/// The app's end of a running server. Dropping every copy stops the server.
#[derive(Clone)]
pub struct Handle {
    tx: mpsc::UnboundedSender<Snapshot>,
    bus_name: String,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("bus_name", &self.bus_name)
            .finish_non_exhaustive()
    }
}

impl Handle {
    /// Hands `s` to the server; false when the server is gone.
    pub fn publish(&self, s: Snapshot) -> bool {
        self.tx.unbounded_send(s).is_ok()
    }

    /// `org.mpris.MediaPlayer2.…`, as owned on the bus.
    pub fn bus_name(&self) -> &str {
        &self.bus_name
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum MprisError {
    #[error("no D-Bus session bus: {0}")]
    Bus(String),
    #[error("cannot start the MPRIS thread: {0}")]
    Thread(String),
}

/// `mpris:trackid` of a library track. Object paths allow `[A-Za-z0-9_]` only, hence `m`
/// for a minus.
pub fn track_path(id: i64) -> String {
    if id < 0 {
        format!("/org/valence/track/m{}", id.unsigned_abs())
    } else {
        format!("/org/valence/track/{id}")
    }
}

/// The library id in a [`track_path`]; `None` for any other path (`NoTrack` included).
pub fn track_of(path: &str) -> Option<i64> {
    let rest = path.strip_prefix("/org/valence/track/")?;
    match rest.strip_prefix('m') {
        Some(n) => n.parse::<i64>().ok().map(|n| -n),
        None => rest.parse().ok(),
    }
}

/// Starts the server on its own thread; resolves once it owns its bus name (or cannot).
/// `suffix` is the bus name's suffix ([`BUS_SUFFIX`]; tests pass their own).
pub async fn start(suffix: &str) -> Result<(Handle, mpsc::UnboundedReceiver<Command>), MprisError> {
    let (state_tx, state_rx) = mpsc::unbounded();
    let (cmd_tx, cmd_rx) = mpsc::unbounded();
    let (ready_tx, ready_rx) = oneshot::channel();
    let suffix = suffix.to_string();
    std::thread::Builder::new()
        .name("valence-mpris".into())
        .spawn(move || {
            mpris_server::zbus::block_on(serve(suffix, cmd_tx, state_rx, ready_tx));
        })
        .map_err(|e| MprisError::Thread(e.to_string()))?;
    let bus_name = ready_rx
        .await
        .map_err(|_| MprisError::Thread("the MPRIS thread stopped".into()))??;
    Ok((
        Handle {
            tx: state_tx,
            bus_name,
        },
        cmd_rx,
    ))
}

/// The window's subscription: starts the server once and streams its events. Without a
/// session bus (CI, a bare console) it says so in one line on stderr and stays quiet.
pub fn subscription() -> iced::Subscription<Event> {
    iced::Subscription::run(events)
}

fn events() -> impl iced::futures::Stream<Item = Event> {
    iced::stream::channel(16, async |mut out: mpsc::Sender<Event>| {
        match start(BUS_SUFFIX).await {
            Ok((handle, mut commands)) => {
                if out.send(Event::Ready(handle)).await.is_err() {
                    return;
                }
                while let Some(c) = commands.next().await {
                    if out.send(Event::Command(c)).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => eprintln!("valence: media keys unavailable (MPRIS): {e}"),
        }
        // Ending the stream would not start it again; staying keeps the subscription idle.
        iced::futures::future::pending::<()>().await;
    })
}

async fn build(suffix: &str) -> mpris_server::zbus::Result<Player> {
    Player::builder(suffix)
        .identity("Valence")
        .desktop_entry(crate::APP_ID)
        .supported_uri_schemes(["file"])
        .can_play(true)
        .can_pause(true)
        .can_seek(true)
        .can_control(true)
        .volume(0.8)
        .build()
        .await
}

async fn serve(
    suffix: String,
    commands: mpsc::UnboundedSender<Command>,
    mut states: mpsc::UnboundedReceiver<Snapshot>,
    ready: oneshot::Sender<Result<String, MprisError>>,
) {
    // The well-known name first; if another Valence holds it, one of our own.
    let (player, suffix) = match build(&suffix).await {
        Ok(p) => (p, suffix),
        Err(first) => {
            let own = format!("{suffix}.instance{}", std::process::id());
            match build(&own).await {
                Ok(p) => (p, own),
                Err(_) => {
                    let _ = ready.send(Err(MprisError::Bus(first.to_string())));
                    return;
                }
            }
        }
    };
    let send = move |c: Command| {
        // The window is gone: nothing to drive any more.
        let _ = commands.unbounded_send(c);
    };
    let on = |c: Command| {
        let send = send.clone();
        move |_: &Player| send(c)
    };
    player.connect_play(on(Command::Play));
    player.connect_pause(on(Command::Pause));
    player.connect_play_pause(on(Command::PlayPause));
    player.connect_stop(on(Command::Stop));
    player.connect_next(on(Command::Next));
    player.connect_previous(on(Command::Previous));
    {
        let send = send.clone();
        player.connect_seek(move |_, offset| send(Command::SeekBy(secs(offset))));
    }
    {
        let send = send.clone();
        player.connect_set_position(move |_, track: &TrackId, at| {
            if let Some(track) = track_of(track.as_str()) {
                send(Command::SetPosition {
                    track,
                    secs: secs(at),
                });
            }
        });
    }
    player.connect_set_volume(move |_, v| send(Command::Volume(v.clamp(0.0, 1.0))));

    let bus_name = format!("org.mpris.MediaPlayer2.{suffix}");
    if ready.send(Ok(bus_name)).is_err() {
        return;
    }
    let follow = async {
        let mut last: Option<Snapshot> = None;
        while let Some(mut s) = states.next().await {
            // Only the newest state matters.
            while let Ok(newer) = states.try_recv() {
                s = newer;
            }
            apply(&player, last.as_ref(), &s).await;
            last = Some(s);
        }
    };
    // Runs until the app drops its handle (the state channel closes).
    iced::futures::future::select(Box::pin(player.run()), Box::pin(follow)).await;
}

fn secs(t: Time) -> f64 {
    t.as_micros() as f64 / 1e6
}

fn time(secs: f64) -> Time {
    Time::from_micros((secs.max(0.0) * 1e6) as i64)
}

fn metadata(track: Option<&Track>) -> Metadata {
    let Some(t) = track else {
        // The specification's "no track" id.
        let mut m = Metadata::new();
        if let Ok(id) = TrackId::try_from("/org/mpris/MediaPlayer2/TrackList/NoTrack") {
            m.set_trackid(Some(id));
        }
        return m;
    };
    let mut m = Metadata::new();
    if let Ok(id) = TrackId::try_from(track_path(t.id)) {
        m.set_trackid(Some(id));
    }
    m.set_title(Some(t.title.clone()));
    m.set_artist(Some([t.artist.clone()]));
    m.set_length(t.length.map(time));
    m.set_url(Some(crate::playlists::m3u::file_uri(&t.path)));
    m
}

/// Brings the bus's view up to date with `s`: properties that changed (each emits
/// `PropertiesChanged`), the position (polled by clients, never signalled), and `Seeked`
/// after a seek.
async fn apply(player: &Player, last: Option<&Snapshot>, s: &Snapshot) {
    let changed = |f: fn(&Snapshot) -> bool| last.is_none_or(|l| f(l) != f(s));
    // Failures here mean the bus went away; the next snapshot tries again.
    if last.is_none_or(|l| l.track != s.track) {
        let _ = player.set_metadata(metadata(s.track.as_ref())).await;
    }
    if last.is_none_or(|l| l.status != s.status) {
        let status = match s.status {
            Status::Playing => PlaybackStatus::Playing,
            Status::Paused => PlaybackStatus::Paused,
            Status::Stopped => PlaybackStatus::Stopped,
        };
        let _ = player.set_playback_status(status).await;
    }
    if last.is_none_or(|l| l.volume != s.volume) {
        let _ = player.set_volume(s.volume).await;
    }
    if changed(|s| s.can_next) {
        let _ = player.set_can_go_next(s.can_next).await;
    }
    if changed(|s| s.can_previous) {
        let _ = player.set_can_go_previous(s.can_previous).await;
    }
    player.set_position(time(s.position));
    if last.is_some_and(|l| l.seeks != s.seeks) {
        let _ = player.seeked(time(s.position)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_ids_are_object_paths_and_read_back() {
        for id in [0, 1, 42, i64::MAX, -5, i64::MIN + 1] {
            let p = track_path(id);
            assert!(TrackId::try_from(p.as_str()).is_ok(), "{p} is not a path");
            assert_eq!(track_of(&p), Some(id));
        }
        assert_eq!(track_of("/org/mpris/MediaPlayer2/TrackList/NoTrack"), None);
        assert_eq!(track_of("/org/valence/track/x1"), None);
    }

    #[test]
    fn file_urls_escape_what_uris_cannot_hold() {
        assert_eq!(
            crate::playlists::m3u::file_uri(std::path::Path::new("/music/A b/c#1%.flac")),
            "file:///music/A%20b/c%231%25.flac"
        );
    }
}
