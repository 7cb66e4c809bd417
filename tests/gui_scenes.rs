//! Theme scenes in the window, on a real library database (a made-up analysed library with
//! audio words, `valence::library::demo`), used like a person would: the scenes are fitted
//! in the background when the window opens; the Scenes tab shows a card per scene; a
//! card's "Show in library" and the library's scene chips filter the table; Play queues the
//! scene; Rename is stored; the map colours its points by scene; "Fit again now" refits and
//! keeps the scenes that continue.

mod common;

use common::window::{self, run, send};

use std::path::{Path, PathBuf};

use valence::audio::player::{AudioOutput, OutputError};
use valence::gui::{library, map, player, scenes, App, Message, Screen};
use valence::library::Library;

const WINDOW: (f32, f32) = (1280.0, 1400.0);
const TRACKS: usize = 300;

fn shows(app: &App, label: &str) -> bool {
    window::shows(app, WINDOW.into(), label)
}

fn click(app: &mut App, label: &str) {
    window::click(app, WINDOW.into(), label)
}

fn no_device() -> Result<AudioOutput, OutputError> {
    Err(OutputError::Device("test".into()))
}

fn demo(dir: &Path, tracks: usize) -> PathBuf {
    let db = dir.join("lib.sqlite3");
    let v = valence::analysis::default_version().expect("the shipped model");
    let cal = valence::analysis::default_calibration().unwrap_or_default();
    valence::library::demo::write_demo_library(&db, tracks, 0, 5, &v, &cal).expect("demo");
    db
}

fn open(db: &Path) -> App {
    let (mut app, task) = App::with_db(db.to_path_buf(), no_device as player::Opener);
    run(&mut app, task);
    app
}

fn stored_scenes(db: &Path) -> Vec<valence::themes::store::Scene> {
    let v = valence::analysis::default_version().expect("version");
    let cal = valence::analysis::default_calibration().unwrap_or_default();
    Library::open(db)
        .expect("db")
        .scenes(&v, &cal)
        .expect("scenes")
}

#[test]
fn gui_scenes_are_fitted_on_open_shown_filtered_played_and_renamed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = demo(dir.path(), TRACKS);
    let mut app = open(&db);

    // Opening the window fitted the scenes in the background (none existed).
    let stored = stored_scenes(&db);
    assert!(stored.len() >= 2, "{} scenes", stored.len());
    assert_eq!(app.scenes.scenes(), stored.as_slice());
    assert!(!app.scenes.is_busy());
    // The rows were re-read with each track's main scene.
    assert!(
        app.library.rows().iter().all(|r| r.scene.is_some()),
        "every analysed track has a scene"
    );

    click(&mut app, "Scenes");
    assert_eq!(app.screen(), Screen::Scenes);
    let first = stored[0].clone();
    assert!(shows(&app, &first.name), "a card named {}", first.name);
    assert!(shows(
        &app,
        &format!(
            "{} tracks · centre valence {:+.2}, arousal {:+.2}",
            first.tracks, first.mood.valence, first.mood.arousal
        )
    ));
    assert!(shows(&app, "Fit again now"));
    // Its typical tracks are listed by title.
    let typical = app.library.row(first.typical[0]).expect("a row").clone();
    assert!(shows(
        &app,
        &format!("{} · {}", typical.title, typical.artist)
    ));

    // Show in library: the table holds that scene's tracks only.
    click(&mut app, "Show in library");
    assert_eq!(app.screen(), Screen::Library);
    assert_eq!(app.library.scene(), Some(first.id));
    let shown: Vec<_> = app.library.view_rows().collect();
    assert_eq!(shown.len(), first.tracks);
    assert!(shown.iter().all(|r| r.scene == Some(first.id)));
    assert!(shows(&app, &format!("{} of {TRACKS} tracks", first.tracks)));
    // Its chip is on; clicking it again shows everything.
    send(
        &mut app,
        Message::Library(library::Message::ToggleScene(first.id)),
    );
    assert_eq!(app.library.view_rows().count(), TRACKS);
    // Another scene's chip, as a listener would click it.
    let second = stored[1].clone();
    click(&mut app, &second.name);
    assert_eq!(app.library.scene(), Some(second.id));
    assert_eq!(app.library.view_rows().count(), second.tracks);

    // Play a scene from its card: the most typical track first, then the scene's others.
    click(&mut app, "Scenes");
    click(&mut app, "Play");
    let now = app.player.current().expect("playing").clone();
    assert_eq!(now.id, first.typical[0]);

    // Rename: stored, and shown on the card, the chips and an open track's detail.
    send(
        &mut app,
        Message::Library(library::Message::Clicked(first.typical[0])),
    );
    assert!(shows(&app, &first.name), "the detail names its scene");
    send(&mut app, Message::Scenes(scenes::Message::Rename(first.id)));
    send(
        &mut app,
        Message::Scenes(scenes::Message::RenameInput("Sunday piano".into())),
    );
    send(&mut app, Message::Scenes(scenes::Message::RenameSave));
    let renamed = stored_scenes(&db);
    let it = renamed
        .iter()
        .find(|s| s.id == first.id)
        .expect("still there");
    assert_eq!(it.name, "Sunday piano");
    assert_eq!(it.auto_name, first.auto_name);
    assert!(shows(&app, "Sunday piano"));
    assert!(
        app.detail.data.as_ref().is_some_and(|d| d
            .scenes
            .iter()
            .any(|m| m.scene == first.id && m.name == "Sunday piano")),
        "the open detail was read again"
    );
    assert!(shows(
        &app,
        &format!(
            "{} tracks · centre valence {:+.2}, arousal {:+.2} · found as “{}”",
            first.tracks, first.mood.valence, first.mood.arousal, first.auto_name
        )
    ));

    // The map, coloured by scene, with a legend naming each scene and its size.
    click(&mut app, "Map");
    assert!(!app.map.by_scene());
    send(&mut app, Message::Map(map::Message::ColorByScene(true)));
    assert!(app.map.by_scene());
    assert!(shows(&app, &format!("Sunday piano ({})", first.tracks)));
    let point = app.map.data().point(first.typical[0]).expect("on the map");
    assert_eq!(point.scene, Some(first.id));

    // Fit again: the same words and seed give the same scenes, which keep their ids and
    // the user's name.
    click(&mut app, "Scenes");
    click(&mut app, "Fit again now");
    let status = app.scenes.status().expect("a status").to_string();
    assert!(
        status.contains(&format!("{} kept from before, 0 gone", stored.len())),
        "{status}"
    );
    assert!(shows(&app, "Sunday piano"));
    assert_eq!(
        stored_scenes(&db).iter().map(|s| s.id).collect::<Vec<_>>(),
        app.scenes.scenes().iter().map(|s| s.id).collect::<Vec<_>>()
    );
}

#[test]
fn gui_scenes_say_why_a_small_library_has_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = demo(dir.path(), 12);
    let mut app = open(&db);
    assert!(app.scenes.scenes().is_empty());
    assert!(app.scenes.error().is_none(), "{:?}", app.scenes.error());
    click(&mut app, "Scenes");
    assert!(shows(
        &app,
        "Theme scenes need at least 20 analysed tracks; 12 are analysed so far. They appear here once the analysis has done enough."
    ));
    // No scene chips and no scene colouring without scenes.
    send(&mut app, Message::Map(map::Message::ColorByScene(true)));
    assert!(!app.map.by_scene());
}

#[test]
fn gui_snapshot_scenes_dark() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = demo(dir.path(), TRACKS);
    let mut app = open(&db);
    window::click(&mut app, (1280.0, 800.0).into(), "Scenes");
    app.set_mode(valence::gui::theme::Mode::Dark);
    let mut ui = window::sim(&app, (1280.0, 800.0).into());
    let snap = ui
        .snapshot(&valence::gui::theme::Mode::Dark.theme())
        .expect("snapshot");
    assert!(
        snap.matches_image("tests/gui/scenes-dark")
            .expect("compare"),
        "the Scenes screen differs from tests/gui/scenes-dark-tiny-skia.png"
    );
}
