//! The map and the journey panel on a real library database (a made-up analysed library,
//! `valence::library::demo`), used like a person would: a click on a point opens its
//! detail, a dragged rectangle filters the table and becomes a playlist, a journey is
//! planned, drawn, changed (lock, swap, regenerate), kept as a session with its check-ins,
//! and exported.
//!
//! The map's own mouse handling is exercised on the canvas alone (its bounds are then the
//! simulator's, so a track's pixel is known); what it publishes goes into the app.

mod common;

use common::window::{self, run, send};

use std::path::{Path, PathBuf};

use iced::widget::canvas;
use iced::{keyboard, mouse, Length, Point, Settings, Size};
use iced_test::simulator::Simulator;
use valence::audio::player::{AudioOutput, OutputError};
use valence::gui::widgets::map_canvas::{DragMode, MapCanvas, View};
use valence::gui::{journey, map, player, theme, App, Message, Screen};
use valence::library::Library;
use valence::playlists::When;

/// The window's size; tall, so the whole journey panel shows without scrolling (each
/// simulated frame starts unscrolled).
const WINDOW: (f32, f32) = (1280.0, 1400.0);

fn sim(app: &App) -> iced_test::simulator::Simulator<'_, Message> {
    window::sim(app, WINDOW.into())
}

fn shows(app: &App, label: &str) -> bool {
    window::shows(app, WINDOW.into(), label)
}

fn click(app: &mut App, label: &str) {
    window::click(app, WINDOW.into(), label)
}
const CANVAS: Size = Size::new(600.0, 600.0);
const TRACKS: usize = 800;

fn no_device() -> Result<AudioOutput, OutputError> {
    Err(OutputError::Device("test".into()))
}

fn demo(dir: &Path) -> PathBuf {
    let db = dir.join("lib.sqlite3");
    let v = valence::analysis::default_version().expect("the shipped model");
    let cal = valence::analysis::default_calibration().unwrap_or_default();
    valence::library::demo::write_demo_library(&db, TRACKS, 24, 11, &v, &cal).expect("demo");
    db
}

fn open(dir: &Path) -> App {
    let (mut app, task) = App::with_db(demo(dir), no_device as player::Opener);
    run(&mut app, task);
    app.set_export_dir(dir.join("exports"));
    click(&mut app, "Map");
    assert_eq!(app.screen(), Screen::Map);
    app
}

/// Mouse `events` on the map canvas alone (CANVAS big, the app's view and `mode`), their
/// messages fed into the app.
fn on_canvas(app: &mut App, mode: DragMode, shift: bool, events: &[(Point, Option<bool>)]) {
    let messages: Vec<Message> = {
        let program = MapCanvas {
            data: app.map.data(),
            cache: &canvas::Cache::new(),
            view: app.map.view_state(),
            mode,
            selected: None,
            region: None,
            mood_now: None,
            picked: None,
            journey: &[],
            ends: None,
            check_ins: [None, None],
            picking: app.journey.checking_in().is_some(),
            coloring: Default::default(),
            on_event: |e| Message::Map(map::Message::Canvas(e)),
        };
        let element: iced::Element<'_, Message> = canvas(program)
            .width(Length::Fill)
            .height(Length::Fill)
            .into();
        let mut ui = Simulator::with_size(Settings::default(), CANVAS, element);
        if shift {
            ui.simulate([iced::Event::Keyboard(keyboard::Event::ModifiersChanged(
                keyboard::Modifiers::SHIFT,
            ))]);
        }
        for &(p, button) in events {
            ui.point_at(p);
            let e = match button {
                None => mouse::Event::CursorMoved { position: p },
                Some(true) => mouse::Event::ButtonPressed(mouse::Button::Left),
                Some(false) => mouse::Event::ButtonReleased(mouse::Button::Left),
            };
            ui.simulate([iced::Event::Mouse(e)]);
        }
        ui.into_messages().collect()
    };
    for m in messages {
        send(app, m);
    }
}

fn click_at(p: Point) -> Vec<(Point, Option<bool>)> {
    vec![(p, None), (p, Some(true)), (p, Some(false))]
}

fn drag(from: Point, to: Point) -> Vec<(Point, Option<bool>)> {
    let mid = Point::new((from.x + to.x) / 2.0, (from.y + to.y) / 2.0);
    vec![
        (from, None),
        (from, Some(true)),
        (mid, None),
        (to, None),
        (to, Some(false)),
    ]
}

#[test]
fn gui_map_click_selects_a_track_and_an_empty_spot_picks_a_point() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = open(dir.path());
    assert_eq!(
        app.map.data().len(),
        TRACKS,
        "every analysed track is a point"
    );
    // A track well apart from the others, so the click can only mean it.
    let view = View::default();
    let lonely = app
        .map
        .data()
        .points()
        .iter()
        .max_by(|a, b| {
            let gap = |p: &valence::gui::widgets::map_canvas::MapPoint| {
                app.map
                    .data()
                    .points()
                    .iter()
                    .filter(|q| q.id != p.id)
                    .map(|q| (q.valence - p.valence).hypot(q.arousal - p.arousal))
                    .fold(f32::MAX, f32::min)
            };
            gap(a).total_cmp(&gap(b))
        })
        .cloned()
        .expect("points");
    let at = view.to_px(CANVAS, lonely.valence, lonely.arousal);
    on_canvas(&mut app, DragMode::Pan, false, &click_at(at));
    assert_eq!(
        app.detail.id,
        Some(lonely.id),
        "the click opened its detail"
    );
    assert!(shows(&app, &lonely.title), "the detail pane shows it");

    // A click off the tracks (beyond the plane's corner) picks a point for journeys.
    let corner = view.to_px(CANVAS, 1.0, 1.0) + iced::Vector::new(8.0, -8.0);
    on_canvas(&mut app, DragMode::Pan, false, &click_at(corner));
    assert_eq!(app.map.picked(), Some((1.0, 1.0)), "clamped onto the plane");
    assert_eq!(
        app.detail.id,
        Some(lonely.id),
        "picking does not change the track"
    );
}

#[test]
fn gui_map_a_region_filters_the_table_and_becomes_a_playlist() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = open(dir.path());
    let view = View::default();
    // Shift+drag (the map is in move mode) from (-0.6, -0.1) to (-0.1, -0.6).
    let from = view.to_px(CANVAS, -0.6, -0.1);
    let to = view.to_px(CANVAS, -0.1, -0.6);
    on_canvas(&mut app, DragMode::Pan, true, &drag(from, to));
    let r = app.map.region().expect("a region");
    assert!(
        (r.valence.0 + 0.6).abs() < 0.01 && (r.valence.1 + 0.1).abs() < 0.01,
        "{r:?}"
    );
    assert!(
        (r.arousal.0 + 0.6).abs() < 0.01 && (r.arousal.1 + 0.1).abs() < 0.01,
        "{r:?}"
    );
    let inside: Vec<i64> = app
        .library
        .rows()
        .iter()
        .filter(|t| t.mood.is_some_and(|m| r.contains(m.valence, m.arousal)))
        .map(|t| t.id)
        .collect();
    assert!(inside.len() > 20, "{} tracks", inside.len());
    assert_eq!(app.map.region_count(), inside.len());
    let said = format!(
        "{} tracks with valence {:+.2} to {:+.2}, arousal {:+.2} to {:+.2}",
        inside.len(),
        r.valence.0,
        r.valence.1,
        r.arousal.0,
        r.arousal.1
    );
    assert!(shows(&app, &said), "{said}");

    // A plain drag in move mode pans instead, and leaves the region alone.
    let before = app.map.view_state();
    on_canvas(
        &mut app,
        DragMode::Pan,
        false,
        &drag(Point::new(300.0, 300.0), Point::new(360.0, 330.0)),
    );
    assert_ne!(app.map.view_state(), before, "the drag moved the map");
    assert_eq!(app.map.region(), Some(r));
    // In select mode a plain drag selects.
    click(&mut app, "Select region");
    let view = app.map.view_state();
    let path = drag(
        view.to_px(CANVAS, -0.6, -0.1),
        view.to_px(CANVAS, -0.1, -0.6),
    );
    on_canvas(&mut app, DragMode::Select, false, &path);
    let r2 = app.map.region().expect("a region");
    assert!((r2.valence.0 + 0.6).abs() < 0.01 && (r2.arousal.1 + 0.1).abs() < 0.01);

    click(&mut app, "Show in library");
    assert_eq!(app.screen(), Screen::Library);
    let shown: Vec<i64> = app.library.view_rows().map(|t| t.id).collect();
    let inside2: Vec<i64> = app
        .library
        .rows()
        .iter()
        .filter(|t| t.mood.is_some_and(|m| r2.contains(m.valence, m.arousal)))
        .map(|t| t.id)
        .collect();
    let mut sorted = shown.clone();
    sorted.sort_unstable();
    let mut want = inside2.clone();
    want.sort_unstable();
    assert_eq!(sorted, want, "the table shows exactly the region's tracks");
    // The filter shows as a chip that clears it.
    click(&mut app, "Map region  ×");
    assert_eq!(app.library.visible_count(), TRACKS);

    click(&mut app, "Map");
    click(&mut app, "Make a playlist");
    assert_eq!(app.screen(), Screen::Playlists);
    let open = app.playlists.open().expect("the new playlist is open");
    assert!(!open.tracks.is_empty());
    for t in &open.tracks {
        let m = t.mood.expect("analysed");
        assert!(r2.contains(m.valence, m.arousal), "{} is outside", t.title);
    }
}

#[test]
fn gui_map_journey_is_planned_drawn_changed_kept_and_exported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = open(dir.path());
    // From the mood now (the demo's plays) to calm, 30 minutes.
    click(&mut app, "Plan journey");
    let c = app
        .journey
        .current()
        .unwrap_or_else(|| panic!("no journey: {:?}", app.journey.status()))
        .clone();
    let n = c.items.len();
    assert!(n >= 4, "{n} tracks");
    assert!(
        (c.total_secs() - 1800.0).abs() <= 180.0,
        "{}",
        c.total_secs()
    );
    for w in c.items.windows(2) {
        let (p, q) = (w[0].stop.mean, w[1].stop.mean);
        assert!(
            (p.0 - q.0).hypot(p.1 - q.1) <= 0.3 + 1e-5,
            "a step over 0.3"
        );
    }
    // Drawn: one mark per track, each from its opening to its closing mood.
    let (marks, ends) = app.journey.marks();
    assert_eq!(marks.len(), n);
    assert_eq!(ends, Some((c.request.from, c.request.to)));
    assert!(marks
        .iter()
        .zip(&c.items)
        .all(|(m, i)| m.start == i.stop.start && m.end == i.stop.end));
    // The map zoomed to the journey.
    assert!(app.map.view_state().zoom > 1.0);
    let said = format!(
        "{n} tracks · {} · mean seam jump {:.2}",
        valence::gui::fmt_time(c.total_secs()),
        c.mean_seam_jump.expect("planned")
    );
    assert!(shows(&app, &said), "{said}");

    // Lock the second track, swap the third, regenerate the rest.
    send(&mut app, Message::Journey(journey::Message::Lock(1)));
    send(&mut app, Message::Journey(journey::Message::Swap(2)));
    let after_swap = app.journey.current().expect("journey").clone();
    let ids = |c: &journey::Current| c.track_ids().expect("ids");
    let (old, new) = (ids(&c), ids(&after_swap));
    assert_ne!(old[2], new[2], "the third track was swapped");
    for i in (0..n).filter(|&i| i != 2) {
        assert_eq!(old[i], new[i], "place {i} stayed");
    }
    assert!(after_swap.items[1].stop.locked, "the lock survives a swap");
    click(&mut app, "Regenerate the rest");
    let regen = app.journey.current().expect("journey").clone();
    assert_eq!(ids(&regen)[1], old[1], "the locked track stayed");
    assert_ne!(ids(&regen), new, "the rest changed");

    // Keep it as a session, with a check-in before.
    click(&mut app, "Record");
    assert_eq!(app.journey.checking_in(), Some(When::Before));
    // The whole map, and a click right on a track: while recording it marks the point,
    // it does not open the track.
    click(&mut app, "Whole map");
    let view = app.map.view_state();
    let track = app.map.data().points()[7].clone();
    let spot = view.to_px(CANVAS, track.valence, track.arousal);
    let detail_before = app.detail.id;
    on_canvas(&mut app, DragMode::Pan, false, &click_at(spot));
    let (v, a) = app.journey.check_ins()[0]
        .map(|c| (c.valence, c.arousal))
        .expect("a check-in before");
    assert!((v - track.valence).abs() < 0.01 && (a - track.arousal).abs() < 0.01);
    assert_eq!(app.detail.id, detail_before, "no track was opened");
    assert_eq!(app.journey.checking_in(), None);
    send(
        &mut app,
        Message::Journey(journey::Message::Name("Tuesday <client>".into())),
    );
    send(
        &mut app,
        Message::Journey(journey::Message::Client("R.".into())),
    );
    click(&mut app, "Save session");
    let id = app.journey.session().expect("saved");
    assert!(
        shows(&app, "Tuesday <client>"),
        "listed under saved sessions"
    );
    let lib = Library::open(&dir.path().join("lib.sqlite3")).expect("db");
    let kept = lib.session(id).expect("read").expect("kept");
    assert_eq!(kept.summary.client.as_deref(), Some("R."));
    assert_eq!(kept.items.len(), n);
    assert_eq!(
        kept.before.map(|c| (c.valence, c.arousal)),
        Some((v, a)),
        "the check-in made before saving was kept"
    );
    assert!(kept.items[1].stop.locked);

    click(&mut app, "Export sheet and M3U8");
    let out = dir.path().join("exports").join("Valence sessions");
    let files: Vec<String> = std::fs::read_dir(&out)
        .expect("exported")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for ext in ["html", "m3u8", "png"] {
        assert!(
            files.iter().any(|f| f.ends_with(ext)),
            "{ext} missing: {files:?}"
        );
    }
    let png = files.iter().find(|f| f.ends_with("png")).expect("png");
    let img = image::open(out.join(png)).expect("a PNG").to_rgba8();
    assert_eq!(img.dimensions(), (1040, 1040));
    // Not blank: the plane, points and the path give many colours.
    let colours: std::collections::HashSet<[u8; 4]> = img.pixels().map(|p| p.0).collect();
    assert!(colours.len() > 50, "{} colours", colours.len());
    let html = std::fs::read_to_string(
        out.join(files.iter().find(|f| f.ends_with("html")).expect("html")),
    )
    .expect("sheet");
    assert!(html.contains("Tuesday &lt;client&gt;"), "escaped name");
    assert!(app
        .journey
        .status()
        .is_some_and(|s| s.starts_with("Exported")));
}

#[test]
fn gui_snapshot_map_with_a_journey_dark() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = open(dir.path());
    click(&mut app, "Plan journey");
    assert!(app.journey.current().is_some());
    app.set_mode(theme::Mode::Dark);
    let mut ui = sim(&app);
    let snap = ui.snapshot(&theme::Mode::Dark.theme()).expect("snapshot");
    assert!(
        snap.matches_image("tests/gui/map-journey-dark")
            .expect("compare"),
        "the map differs from tests/gui/map-journey-dark-tiny-skia.png"
    );
}

#[test]
fn gui_detail_shows_the_track_scene_mix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = demo(dir.path());
    // Scenes fitted as `valence scenes` would.
    {
        let mut lib = Library::open(&db).expect("db");
        let v = valence::analysis::default_version().expect("version");
        let cal = valence::analysis::default_calibration().unwrap_or_default();
        let musicnn = valence::model::assets::find_asset(valence::model::tagger::MUSICNN_ASSET)
            .expect("musicnn");
        let tags = valence::model::musicnn::read_tag_names(&musicnn).expect("tag names");
        lib.fit_scenes(&v, &cal, &tags, Some(8), 0).expect("scenes");
    }
    let (mut app, task) = App::with_db(db.clone(), no_device as player::Opener);
    run(&mut app, task);
    let id = app.library.rows()[3].id;
    let mix = Library::open(&db)
        .expect("db")
        .track_scenes(id)
        .expect("mix");
    assert!(!mix.is_empty());
    send(
        &mut app,
        Message::Library(valence::gui::library::Message::Clicked(id)),
    );
    assert!(
        shows(&app, "THEME SCENES"),
        "the detail has a scenes section"
    );
    assert!(shows(&app, &mix[0].name), "{}", mix[0].name);
    assert!(shows(&app, &format!("{:.0}%", mix[0].share * 100.0)));
}
