//! MPRIS on a real session bus: the test re-runs itself under `dbus-run-session` (a private
//! bus, gone with it), starts the server, drives the window's player (virtual audio output)
//! from `busctl` and `dbus-send` as a desktop would, and reads back what they see.
//! Skipped, with a line saying so, where `dbus-run-session` is not installed.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use iced::futures::channel::mpsc::{TryRecvError, UnboundedReceiver};
use iced::futures::executor::block_on;
use valence::audio::player::{AudioOutput, OutputError};
use valence::gui::{desktop, mpris, player, App, Message};
use valence::library::BrowseRow;
use valence::settings::{self, SavedQueue, SavedTrack};

const INNER: &str = "VALENCE_MPRIS_TEST_INNER";
const NAME: &str = "org.mpris.MediaPlayer2.valence";
const PATH: &str = "/org/mpris/MediaPlayer2";
const IFACE: &str = "org.mpris.MediaPlayer2.Player";

fn output() -> Result<AudioOutput, OutputError> {
    // Real time: positions stay where the test puts them between ticks.
    AudioOutput::open_virtual(1.0)
}

fn rows(dir: &Path) -> Vec<BrowseRow> {
    [("Morning Run", "Ana Ray"), ("Open Road", "Ben Cole")]
        .iter()
        .enumerate()
        .map(|(i, (title, artist))| {
            let path = dir.join(format!("{i}.wav"));
            common::write_sine_wav(&path, 440.0, 30.0, 44_100, 2);
            BrowseRow {
                id: 10 + i as i64,
                path,
                title: title.to_string(),
                artist: artist.to_string(),
                album: "Bright".into(),
                track_no: None,
                duration_secs: Some(30.0),
                mood: None,
                analysis_error: None,
                scene: None,
                gain: Default::default(),
            }
        })
        .collect()
}

fn busctl(args: &[&str]) -> String {
    let out = Command::new("busctl")
        .arg("--user")
        .args(args)
        .output()
        .expect("run busctl");
    assert!(
        out.status.success(),
        "busctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn property(name: &str) -> serde_json::Value {
    let text = busctl(&["--json=short", "get-property", NAME, PATH, IFACE, name]);
    let v: serde_json::Value = serde_json::from_str(&text).expect("busctl json");
    v["data"].clone()
}

fn call(method: &str, args: &[&str]) {
    let mut a = vec!["call", NAME, PATH, IFACE, method];
    a.extend_from_slice(args);
    busctl(&a);
}

/// Feeds the commands that arrived from the bus to the app, as the window's subscription
/// does, until `done` holds.
fn pump(
    app: &mut App,
    commands: &mut UnboundedReceiver<mpris::Command>,
    what: &str,
    done: impl Fn(&App) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(app) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        match commands.try_recv() {
            Ok(c) => {
                let _ = app.update(Message::Desktop(desktop::Message::Mpris(
                    mpris::Event::Command(c),
                )));
            }
            Err(TryRecvError::Closed) => panic!("the MPRIS server stopped"),
            Err(TryRecvError::Empty) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Reads `name` until it is `want` (the server applies snapshots on its own thread).
fn wait_property(name: &str, want: serde_json::Value) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = property(name);
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "{name} is {got}, not {want}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn mpris_on_a_session_bus() {
    if std::env::var_os(INNER).is_none() {
        if Command::new("dbus-run-session")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            eprintln!("skipped: dbus-run-session is not installed");
            return;
        }
        let exe = std::env::current_exe().expect("test binary");
        let status = Command::new("dbus-run-session")
            .arg("--")
            .arg(exe)
            .args(["--exact", "mpris_on_a_session_bus", "--nocapture"])
            .env(INNER, "1")
            .status()
            .expect("run dbus-run-session");
        assert!(status.success(), "the test under dbus-run-session failed");
        return;
    }
    inside_a_session_bus();
}

fn inside_a_session_bus() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = rows(dir.path());
    let mut app = App::with_rows(rows.clone(), output as player::Opener);
    // A queue as the settings keep it: both tracks, the first at its start.
    let mut loaded = settings::Loaded::default();
    loaded.settings.queue = Some(SavedQueue {
        index: 0,
        position: 0.0,
        tracks: rows
            .iter()
            .map(|r| SavedTrack {
                id: r.id,
                path: None,
            })
            .collect(),
    });
    app.keep_settings(dir.path().join("settings.toml"), loaded);
    assert_eq!(app.player.current().map(|c| c.id), Some(10));

    let (handle, mut commands) = block_on(mpris::start(mpris::BUS_SUFFIX)).expect("on the bus");
    assert_eq!(handle.bus_name(), NAME);
    let _ = app.update(Message::Desktop(desktop::Message::Mpris(
        mpris::Event::Ready(handle),
    )));
    assert!(busctl(&["list", "--acquired"]).contains(NAME));
    // The desktop finds our launcher entry (and icon) by the application ID.
    let root = busctl(&[
        "--json=short",
        "get-property",
        NAME,
        PATH,
        "org.mpris.MediaPlayer2",
        "DesktopEntry",
    ]);
    let root: serde_json::Value = serde_json::from_str(&root).expect("busctl json");
    assert_eq!(root["data"], valence::APP_ID);

    // What a desktop widget shows.
    wait_property("PlaybackStatus", "Paused".into());
    let meta = property("Metadata");
    assert_eq!(meta["mpris:trackid"]["data"], "/org/valence/track/10");
    assert_eq!(meta["xesam:title"]["data"], "Morning Run");
    assert_eq!(meta["xesam:artist"]["data"], serde_json::json!(["Ana Ray"]));
    assert_eq!(meta["mpris:length"]["data"], 30_000_000);
    assert!(meta.get("mpris:artUrl").is_none(), "no art is stored");
    assert_eq!(property("CanSeek"), true);
    assert_eq!(property("CanGoNext"), true);

    // Media keys.
    call("PlayPause", &[]);
    pump(&mut app, &mut commands, "PlayPause", |a| {
        a.player.is_playing()
    });
    wait_property("PlaybackStatus", "Playing".into());
    call("Next", &[]);
    pump(&mut app, &mut commands, "Next", |a| {
        a.player.current().map(|c| c.id) == Some(11)
    });
    wait_property("PlaybackStatus", "Playing".into());
    let meta = property("Metadata");
    assert_eq!(meta["mpris:trackid"]["data"], "/org/valence/track/11");
    assert_eq!(meta["xesam:title"]["data"], "Open Road");
    assert_eq!(property("CanGoNext"), false);

    // Seeks: SetPosition (busctl) and Seek (dbus-send), each announced with `Seeked`.
    let mut monitor = Command::new("dbus-monitor")
        .args([
            "--session",
            "type='signal',interface='org.mpris.MediaPlayer2.Player',member='Seeked'",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("dbus-monitor");
    std::thread::sleep(Duration::from_millis(300));
    // A position for another track is ignored, as the specification says.
    call("SetPosition", &["ox", "/org/valence/track/10", "9000000"]);
    call("SetPosition", &["ox", "/org/valence/track/11", "5000000"]);
    pump(&mut app, &mut commands, "SetPosition", |a| {
        (a.player.position() - 5.0).abs() < 1e-6
    });
    wait_property("Position", 5_000_000.into());
    let out = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            &format!("--dest={NAME}"),
            PATH,
            &format!("{IFACE}.Seek"),
            "int64:2000000",
        ])
        .output()
        .expect("dbus-send");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    pump(&mut app, &mut commands, "Seek", |a| {
        (a.player.position() - 7.0).abs() < 1e-6
    });
    wait_property("Position", 7_000_000.into());

    // Volume set over the bus reaches the player and reads back.
    busctl(&["set-property", NAME, PATH, IFACE, "Volume", "d", "0.25"]);
    pump(&mut app, &mut commands, "Volume", |a| {
        (a.player.volume() - 0.25).abs() < 1e-6
    });
    wait_property("Volume", 0.25.into());

    call("Stop", &[]);
    pump(&mut app, &mut commands, "Stop", |a| !a.player.is_playing());
    wait_property("PlaybackStatus", "Stopped".into());

    // The signals seen: one per accepted seek, at the new positions.
    std::thread::sleep(Duration::from_millis(300));
    let _ = monitor.kill();
    let seen = monitor.wait_with_output().expect("dbus-monitor output");
    let seen = String::from_utf8_lossy(&seen.stdout);
    let positions: Vec<&str> = seen
        .lines()
        .filter_map(|l| l.trim().strip_prefix("int64 "))
        .collect();
    assert_eq!(positions, ["5000000", "7000000"], "{seen}");

    // No session bus: the server says why instead of starting.
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    match block_on(mpris::start("valence_nobus")) {
        Err(mpris::MprisError::Bus(_)) => {}
        other => panic!("expected no bus, got {other:?}"),
    }
    drop(app);
}
