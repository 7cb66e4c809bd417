//! Settings that stay: the window's theme, volume, ReplayGain mode and queue are written to
//! `$XDG_CONFIG_HOME/valence/settings.toml` when they change, and a new window starts from
//! them (the queue paused where it was). A broken file is said in the window.

mod common;

use common::window::{self, run, send};

use std::path::{Path, PathBuf};

use valence::audio::player::{AudioOutput, OutputError};
use valence::audio::ReplayGainMode;
use valence::gui::{player, App, Message};
use valence::settings::{self, Settings, Theme};

const SIZE: (f32, f32) = (1280.0, 800.0);

fn shows(app: &App, label: &str) -> bool {
    window::shows(app, SIZE.into(), label)
}

fn click(app: &mut App, label: &str) {
    window::click(app, SIZE.into(), label)
}

fn fast_output() -> Result<AudioOutput, OutputError> {
    AudioOutput::open_virtual(100.0)
}

const TRACKS: [common::MoodTrack; 3] = [
    ("Morning Run", "Ana Ray", "Bright", 0.7, 0.5),
    ("Open Road", "Ben Cole", "Bright", 0.6, 0.4),
    ("Grey Harbour", "Cara Dunn", "Tides", -0.3, -0.2),
];

/// A window on `db` keeping its settings in `file`, as `gui::run` opens it.
fn open(db: &Path, file: &Path) -> App {
    let (mut app, task) = App::with_db(db.to_path_buf(), fast_output as player::Opener);
    app.keep_settings(file.to_path_buf(), settings::load(file));
    run(&mut app, task);
    app
}

#[test]
fn gui_settings_changed_in_the_window_are_written_and_a_new_window_restores_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = common::mood_library(dir.path(), &TRACKS, 40.0, &[]);
    // The one test in this binary that sets the variable: the file goes where it says.
    let config = dir.path().join("config");
    std::env::set_var("XDG_CONFIG_HOME", &config);
    let file: PathBuf = settings::default_path().expect("a config path");
    assert_eq!(file, config.join("valence").join("settings.toml"));

    let mut app = open(&db, &file);
    assert!(!file.exists(), "opening writes nothing");
    assert_eq!(app.settings(), Settings::default());

    click(&mut app, "Light theme");
    assert!(shows(&app, "Dark theme"), "the light theme is on");
    click(&mut app, "ReplayGain: track");
    click(&mut app, "ReplayGain: album");
    assert_eq!(app.player.replaygain(), ReplayGainMode::Off);
    click(&mut app, "ReplayGain: off");
    click(&mut app, "ReplayGain: track");
    assert_eq!(app.player.replaygain(), ReplayGainMode::Album);
    send(&mut app, Message::Player(player::Message::Volume(0.3)));
    // `run` waited for the save that followed (debounced): the file holds the changes.
    let saved = settings::load(&file);
    assert!(saved.warnings.is_empty(), "{:?}", saved.warnings);
    assert_eq!(saved.settings.theme, Theme::Light);
    assert_eq!(saved.settings.replaygain, ReplayGainMode::Album);
    assert!((saved.settings.volume - 0.3).abs() < 1e-6);
    assert_eq!(saved.settings.queue, None);

    // Play the second track of the view, pause it, seek to 12 s.
    click(&mut app, "Open Road");
    click(&mut app, "▶ Play");
    let playing = app.player.current().expect("playing").clone();
    assert_eq!(playing.title, "Open Road");
    send(&mut app, Message::Player(player::Message::PlayPause));
    assert!(!app.player.is_playing());
    send(&mut app, Message::Player(player::Message::Seek(12.0)));
    let queue = settings::load(&file)
        .settings
        .queue
        .expect("the queue saved");
    assert_eq!(queue.tracks.len(), TRACKS.len());
    assert_eq!(queue.tracks[queue.index].id, playing.id);
    assert!((queue.position - 12.0).abs() < 1e-9, "{}", queue.position);
    let ids: Vec<i64> = app.player.queue().iter().map(|q| q.id).collect();
    drop(app);

    // A new window: the theme, volume, ReplayGain mode and the queue, paused at 12 s.
    let mut app = open(&db, &file);
    assert!(shows(&app, "Dark theme"), "still the light theme");
    assert!(shows(&app, "ReplayGain: album"));
    assert!((app.player.volume() - 0.3).abs() < 1e-6);
    assert_eq!(app.player.current().map(|c| c.id), Some(playing.id));
    assert_eq!(
        app.player.queue().iter().map(|q| q.id).collect::<Vec<_>>(),
        ids
    );
    assert!(!app.player.is_playing(), "restored paused, not playing");
    assert!((app.player.position() - 12.0).abs() < 1e-9);
    assert!(shows(&app, "0:12"), "the bar shows where it resumes");
    // Play resumes there. (Its tasks are not waited for: the settings' half-second debounce
    // would be 50 s of this 100x output, past the track's end.)
    let _ = app.update(Message::Player(player::Message::PlayPause));
    assert!(app.player.is_playing());
    // 50 ms at 100x are 5 s of the track: past 12 s only if play started at 12 s.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let _ = app.update(Message::Player(player::Message::Tick));
    assert_eq!(app.player.current().map(|c| c.id), Some(playing.id));
    assert!(
        app.player.position() > 12.5,
        "resumed at {} ({:?})",
        app.player.position(),
        app.player.error()
    );
    // The window closing writes the position it got to (no debounce left to wait for).
    send(&mut app, Message::Player(player::Message::PlayPause));
    let at = app.player.position();
    drop(app);
    let queue = settings::load(&file).settings.queue.expect("queue");
    assert!((queue.position - at).abs() < 1e-9);
}

#[test]
fn gui_a_broken_settings_file_is_said_in_the_window_and_the_defaults_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = common::mood_library(dir.path(), &TRACKS[..1], 5.0, &[]);
    let file = dir.path().join("settings.toml");
    std::fs::write(&file, "theme = \"light\"\nvolume = = 0.2\n").expect("write");
    let app = open(&db, &file);
    assert!(shows(
        &app,
        "The settings file could not be read; the defaults are used until a setting changes."
    ));
    assert!(shows(&app, "Light theme"), "the default (dark) theme");
    assert_eq!(app.settings(), Settings::default());
    drop(app);
    // Nothing changed, so the broken file is left for the user to look at.
    assert!(settings::load(&file).broken);
}
