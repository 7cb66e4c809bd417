//! The window's update/view logic through iced_test's simulator (no display, no audio), and
//! tiny-skia snapshots kept under `tests/gui/` (written on the first run, compared after).

use std::path::PathBuf;

use iced::Settings;
use iced_test::simulator::Simulator;
use valence::audio::player::{AudioOutput, OutputError};
use valence::gui::backend::DetailData;
use valence::gui::{detail, library, player, theme, App, Message};
use valence::library::{
    AnalysisData, BrowseRow, Mood, StoredAnalysis, Thumbnail, TimelinePoint, TrackRow,
};
use valence::mood::{Calibration, Quadrant};

const SIZE: (f32, f32) = (1100.0, 640.0);

fn no_device() -> Result<AudioOutput, OutputError> {
    Err(OutputError::Device(
        "no default output device (test)".into(),
    ))
}

/// Titles that name their quadrant, so a test can tell the rows apart.
fn rows() -> Vec<BrowseRow> {
    let names = [
        ("Sunrise Drive", 1u8, 0.7f32, 0.6f32),
        ("Riot Engine", 2, -0.6, 0.8),
        ("Grey November", 3, -0.7, -0.5),
        ("Still Water", 4, 0.5, -0.6),
        ("Festival Lights", 1, 0.8, 0.4),
        ("Broken Glass", 2, -0.4, 0.6),
        ("Empty Rooms", 3, -0.5, -0.3),
        ("Meadow", 4, 0.6, -0.4),
    ];
    let mut out = Vec::new();
    for (i, (t, q, v, a)) in names.iter().enumerate() {
        out.push(BrowseRow {
            id: i as i64 + 1,
            path: PathBuf::from(format!("/music/{t}.mp3")),
            title: t.to_string(),
            artist: format!("Artist {}", (b'A' + (i % 4) as u8) as char),
            album: format!("Album {}", i % 3 + 1),
            track_no: Some(i as u32 + 1),
            duration_secs: Some(150.0 + 17.0 * i as f64),
            mood: Some({
                let m = Mood::from_point(*v, *a, &Calibration::default());
                assert_eq!(m.quadrant.number(), *q);
                m
            }),
            analysis_error: None,
            scene: None,
            gain: Default::default(),
        });
    }
    out.push(BrowseRow {
        id: 99,
        path: PathBuf::from("/music/corrupt.mp3"),
        title: "Corrupt File".into(),
        artist: "Unknown".into(),
        album: String::new(),
        track_no: None,
        duration_secs: None,
        mood: None,
        analysis_error: Some("decode error: bad frame".into()),
        scene: None,
        gain: Default::default(),
    });
    out
}

/// The shipped model's temperatures, so fixtures look like real results.
const CAL: Calibration = Calibration {
    valence_temp: 0.17,
    arousal_temp: 0.06,
};

fn analysis(id: i64) -> DetailData {
    let timeline: Vec<TimelinePoint> = (0..20)
        .map(|k| {
            let x = k as f32 / 19.0;
            let (valence, arousal) = (-0.7 + 0.9 * x, -0.5 + 0.3 * (x * 6.0).sin());
            // Coherent like the model's output: the probabilities come from the point.
            TimelinePoint {
                start_s: k as f64 * 9.0,
                end_s: (k + 1) as f64 * 9.0,
                probs: CAL.probs(valence, arousal),
                valence,
                arousal,
            }
        })
        .collect();
    let (w, h) = (96u32, 32u32);
    let pixels = (0..h)
        .flat_map(|r| (0..w).map(move |c| (255 - r * 6).saturating_sub(c * 7 % 50) as u8))
        .collect();
    let data = AnalysisData {
        probs: CAL.probs(-0.55, -0.35),
        valence: -0.55,
        arousal: -0.35,
        duration_s: 180.0,
        timeline,
        embedding: Vec::new(),
        top_tags: vec![
            ("sad".into(), 0.61),
            ("piano".into(), 0.44),
            ("mellow".into(), 0.32),
        ],
        thumbnail: Thumbnail {
            width: w,
            height: h,
            pixels,
        },
        words: Vec::new(),
        tag_means: Vec::new(),
        loudness: None,
    };
    let spectrogram = valence::gui::widgets::spectrogram_handle(&data.thumbnail);
    DetailData {
        id,
        track: None,
        analysis: Some(StoredAnalysis {
            track_id: id,
            features_version: 1,
            model_version: "test".into(),
            analysed_at: 0,
            current: true,
            error: None,
            data: Some(data),
        }),
        spectrogram,
        never_in_playlists: false,
        scenes: Vec::new(),
    }
}

fn failed_detail(id: i64) -> DetailData {
    DetailData {
        id,
        track: Some(TrackRow {
            id,
            path: PathBuf::from("/music/corrupt.mp3"),
            status: valence::library::FileStatus::Failed,
            error: Some("decode error: bad frame".into()),
            tags: Default::default(),
            size: 10,
        }),
        analysis: None,
        spectrogram: None,
        never_in_playlists: false,
        scenes: Vec::new(),
    }
}

fn sim(app: &App) -> Simulator<'_, Message> {
    Simulator::with_size(Settings::default(), SIZE, app.view())
}

/// Feeds what the simulated clicks produced back into `update` (tasks are I/O: dropped).
fn click(app: &mut App, label: &str) {
    let messages: Vec<Message> = {
        let mut ui = sim(app);
        ui.click(label)
            .unwrap_or_else(|e| panic!("cannot click {label:?}: {e}"));
        ui.into_messages().collect()
    };
    assert!(!messages.is_empty(), "clicking {label:?} did nothing");
    for m in messages {
        let _ = app.update(m);
    }
}

fn shows(app: &App, label: &str) -> bool {
    sim(app).find(label).is_ok()
}

#[test]
fn gui_mood_filter_changes_the_list() {
    let mut app = App::with_rows(rows(), no_device);
    assert!(shows(&app, "Grey November"));
    assert!(shows(&app, "Sunrise Drive"));
    // The chips come before the table, so the first "Q1 Happy" is the filter.
    click(&mut app, "Q1 Happy");
    assert_eq!(app.library.moods(), [true, false, false, false]);
    assert!(shows(&app, "Sunrise Drive"));
    assert!(
        !shows(&app, "Grey November"),
        "Q3 track still listed with only Q1 on"
    );
    assert!(shows(&app, "2 of 9 tracks"));
    // Filters combine: Q1 or Q3.
    click(&mut app, "Q3 Sad");
    assert!(shows(&app, "Grey November"));
    assert!(!shows(&app, "Riot Engine"));
    assert_eq!(app.library.visible_count(), 4);
}

#[test]
fn gui_search_and_sort() {
    let mut app = App::with_rows(rows(), no_device);
    let _ = app.update(Message::Library(library::Message::Search("GLASS".into())));
    assert_eq!(app.library.visible_count(), 1);
    assert!(shows(&app, "Broken Glass"));
    let _ = app.update(Message::Library(library::Message::ClearSearch));
    assert_eq!(app.library.visible_count(), 9);
    // Valence sorts high to low first; unanalysed rows go last.
    // (The wordmark also reads "Valence", so this header is sorted by message.)
    let _ = app.update(Message::Library(library::Message::Sort(
        library::Column::Valence,
    )));
    let order: Vec<&str> = app.library.view_rows().map(|r| r.title.as_str()).collect();
    assert_eq!(order.first(), Some(&"Festival Lights"));
    assert_eq!(order.last(), Some(&"Corrupt File"));
    click(&mut app, "Valence ▼");
    let order: Vec<&str> = app.library.view_rows().map(|r| r.title.as_str()).collect();
    assert_eq!(order.first(), Some(&"Grey November"));
}

#[test]
fn gui_selecting_a_track_shows_its_detail() {
    let mut app = App::with_rows(rows(), no_device);
    click(&mut app, "Grey November");
    assert_eq!(app.library.selected(), Some(3));
    assert_eq!(app.detail.id, Some(3));
    assert!(shows(&app, "Loading…"));
    // What the backend would answer.
    let _ = app.update(Message::DetailLoaded(Ok(analysis(3))));
    let conf = CAL.probs(-0.55, -0.35)[Quadrant::Q3.index()];
    assert!(
        shows(&app, &format!("Q3 sad / depressed ({:.0} %)", 100.0 * conf)),
        "confidence {conf}"
    );
    assert!(shows(&app, "SPECTROGRAM"));
    assert!(shows(&app, "EMOTION OVER TIME"));
    assert!(shows(&app, "VALENCE–AROUSAL"));
    assert!(shows(&app, "mellow"));
    // A late answer for another track is ignored.
    let _ = app.update(Message::DetailLoaded(Ok(analysis(5))));
    assert_eq!(app.detail.data.as_ref().map(|d| d.id), Some(3));
}

#[test]
fn gui_failed_file_shows_its_reason() {
    let mut app = App::with_rows(rows(), no_device);
    click(&mut app, "Corrupt File");
    let _ = app.update(Message::DetailLoaded(Ok(failed_detail(99))));
    assert!(shows(&app, "This file could not be read"));
    assert!(shows(&app, "decode error: bad frame"));
}

#[test]
fn gui_play_without_audio_device_shows_the_error() {
    let mut app = App::with_rows(rows(), no_device);
    click(&mut app, "Still Water");
    let _ = app.update(Message::DetailLoaded(Ok(analysis(4))));
    click(&mut app, "▶ Play");
    let err = app.player.error().map(str::to_owned);
    assert_eq!(
        err.as_deref(),
        Some("Cannot play: no audio output: no default output device (test)")
    );
    assert!(!app.player.is_playing());
    assert!(shows(
        &app,
        "Cannot play: no audio output: no default output device (test)"
    ));
    // The queue is the view: next moves on (and fails the same way, without panicking).
    let _ = app.update(Message::Player(player::Message::Next));
    assert_eq!(
        app.player.current().map(|c| c.title.as_str()),
        Some("Meadow")
    );
    click(&mut app, "Dismiss");
    assert!(app.player.error().is_none());
}

#[test]
fn gui_real_audio_output_fails_gracefully_or_opens() {
    // On a machine without sound this is an error value, never a panic.
    match AudioOutput::open_default() {
        Ok(o) => o.stop(),
        Err(e) => assert!(e.to_string().starts_with("no audio output")),
    }
}

#[test]
fn gui_table_is_virtualised() {
    let many: Vec<BrowseRow> = (0..100_000)
        .map(|i| {
            let mut r = rows()[i % 8].clone();
            r.id = i as i64;
            r.title = format!("Track {i:06}");
            r
        })
        .collect();
    let mut state = library::State::new(many);
    state.set_viewport_height(600.0);
    let w = state.window();
    assert!(
        w.len() < 40,
        "builds {} rows for a 600-px viewport",
        w.len()
    );
    let _ = state.update(library::Message::ToggleMood(Quadrant::Q4));
    assert_eq!(state.visible_count(), 25_000);
    let _ = state.update(library::Message::Sort(library::Column::Title));
    let first = state.view_rows().next().map(|r| r.title.clone());
    assert_eq!(first.as_deref(), Some("Track 000003"));
}

/// An analysis result patches its row in place: the badge appears, the mood filter and the
/// title bar follow, and the library is not reloaded.
#[test]
fn gui_analysis_result_updates_its_row_in_place() {
    let mut rows = rows();
    // Grey November (Q3) is still waiting for analysis.
    rows[2].mood = None;
    let mut app = App::with_rows(rows.clone(), no_device);
    assert!(shows(&app, "9 tracks · 7 analysed"));
    click(&mut app, "Q3 Sad");
    assert!(shows(&app, "1 of 9 tracks"));
    assert!(!shows(&app, "Grey November"));

    // What the backend answers once the engine stored its result.
    let mut done = rows[2].clone();
    done.mood = Some(Mood::from_point(-0.7, -0.5, &CAL));
    let _ = app.update(Message::RowsLoaded(Ok(vec![(3, Some(done))])));
    assert!(shows(&app, "Grey November"));
    assert!(shows(&app, "2 of 9 tracks"));
    assert!(shows(&app, "9 tracks · 8 analysed"));
    assert_eq!(app.reloads(), 0);
}

fn snapshot(app: &App, mode: theme::Mode, name: &str) {
    // Deterministic pictures: the CPU renderer, a fixed size, no clock in the view.
    std::env::set_var("ICED_TEST_BACKEND", "tiny-skia");
    let mut ui = sim(app);
    let snap = ui.snapshot(&mode.theme()).expect("snapshot");
    assert!(
        snap.matches_image(format!("tests/gui/{name}"))
            .expect("baseline"),
        "{name} differs from tests/gui/{name}-tiny-skia.png (delete it to accept the new look)"
    );
}

#[test]
fn gui_snapshot_library_dark() {
    let app = App::with_rows(rows(), no_device);
    snapshot(&app, theme::Mode::Dark, "library-dark");
}

#[test]
fn gui_snapshot_detail_light() {
    let mut app = App::with_rows(rows(), no_device);
    app.set_mode(theme::Mode::Light);
    let _ = app.update(Message::Library(library::Message::Clicked(3)));
    let _ = app.update(Message::DetailLoaded(Ok(analysis(3))));
    let _ = app.update(Message::Detail(detail::Message::Play(3)));
    snapshot(&app, theme::Mode::Light, "detail-light");
}

#[test]
fn gui_click_selects_and_double_click_plays() {
    let mut app = App::with_rows(rows(), no_device);
    // One click selects (no playback).
    click(&mut app, "Still Water");
    assert!(app.player.current().is_none());
    assert!(app.player.error().is_none());
    // Two clicks in one simulator session are a double click: it plays (and, with no
    // device, says why it cannot).
    let messages: Vec<Message> = {
        let mut ui = sim(&app);
        for _ in 0..2 {
            ui.click("Still Water")
                .unwrap_or_else(|e| panic!("cannot click: {e}"));
        }
        ui.into_messages().collect()
    };
    assert!(
        messages
            .iter()
            .any(|m| matches!(m, Message::Library(library::Message::DoubleClicked(_)))),
        "no double click among {} messages",
        messages.len()
    );
    for m in messages {
        let _ = app.update(m);
    }
    assert_eq!(
        app.player.current().map(|c| c.title.as_str()),
        Some("Still Water")
    );
    assert!(app
        .player
        .error()
        .is_some_and(|e| e.starts_with("Cannot play")));
}

/// A mood whose point lies near an axis is marked uncertain, with its runner-up, in the table.
#[test]
fn gui_uncertain_mood_shows_the_runner_up() {
    let mut rows = rows();
    rows[0].mood = Some(Mood::from_point(0.01, 0.5, &CAL));
    let m = rows[0].mood.expect("mood");
    assert!(m.is_uncertain(), "{m:?}");
    let app = App::with_rows(rows, no_device);
    assert!(shows(&app, "Q1 Happy? · Q2"));
    // Sure moods keep their plain badge.
    assert!(shows(&app, "Q2 Tense"));
    // And in the light theme it looks like this (outlined and faded, beside solid badges).
    let mut app = app;
    app.set_mode(theme::Mode::Light);
    snapshot(&app, theme::Mode::Light, "uncertain-light");
}
