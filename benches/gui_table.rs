//! The library window with 100,000 tracks: load into the view model, toggle a mood filter,
//! type a search, sort, and build + lay out + draw the visible window (iced_test's headless
//! tiny-skia renderer). Plus opening a real 100k-track database with analysis results and
//! `Library::browse` on it: the path the window takes at start-up.
//!
//! `cargo bench --bench gui_table` (GUI_BENCH_DB_TRACKS=N for the database part, default
//! 100000).

mod common;

use std::time::{Duration, Instant};

use common::{fill_db, no_device, synthetic_rows};
use iced::Settings;
use iced_test::simulator::Simulator;
use valence::gui::{library, theme, App};
use valence::library::{AnalysisVersion, Library};
use valence::mood::Quadrant;

const N: usize = 100_000;

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this with no flag: keep it short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n = if quick { 5_000 } else { N };
    println!("gui_table: {n} synthetic rows");

    let rows = synthetic_rows(n);
    let (mut state, open) = time(|| library::State::new(rows.clone()));
    println!(
        "open (load rows into the view model, lower-case keys, sort): {}",
        ms(open)
    );

    let reps = if quick { 3 } else { 11 };
    let mut toggles = Vec::new();
    for _ in 0..reps {
        let (_, d) = time(|| state.update(library::Message::ToggleMood(Quadrant::Q3)));
        toggles.push(d);
        let (_, d) = time(|| state.update(library::Message::ToggleMood(Quadrant::Q3)));
        toggles.push(d);
    }
    println!("filter: toggle a mood (median): {}", ms(median(toggles)));

    let mut typing = Vec::new();
    for _ in 0..reps.min(5) {
        let mut typed = String::new();
        for c in "night".chars() {
            typed.push(c);
            let (_, d) = time(|| state.update(library::Message::Search(typed.clone())));
            typing.push(d);
        }
        let _ = state.update(library::Message::ClearSearch);
    }
    println!(
        "filter: one keystroke of a search (median): {}",
        ms(median(typing))
    );

    for col in [
        library::Column::Title,
        library::Column::Valence,
        library::Column::Duration,
        library::Column::Artist,
    ] {
        let mut v = Vec::new();
        for _ in 0..reps.min(5) {
            let (_, d) = time(|| state.update(library::Message::Sort(col)));
            v.push(d);
        }
        println!("sort by {col:?} (median): {}", ms(median(v)));
    }

    // The whole window over all rows: view() alone, then view + layout, then a frame drawn.
    let app = App::with_rows(rows, no_device);
    let mut views = Vec::new();
    for _ in 0..reps {
        let (e, d) = time(|| app.view());
        drop(e);
        views.push(d);
    }
    println!(
        "view() of the window (visible rows only) (median): {}",
        ms(median(views))
    );
    std::env::set_var("ICED_TEST_BACKEND", "tiny-skia");
    let mut layouts = Vec::new();
    let mut frames = Vec::new();
    for _ in 0..reps.min(5) {
        let (mut ui, d) =
            time(|| Simulator::with_size(Settings::default(), (1280.0, 800.0), app.view()));
        layouts.push(d);
        let (_, d) = time(|| ui.snapshot(&theme::Mode::Dark.theme()));
        frames.push(d);
    }
    println!("view() + layout (median): {}", ms(median(layouts)));
    println!(
        "draw one 1280x800 frame at 2x scale, tiny-skia (median): {}",
        ms(median(frames))
    );

    // Library::browse on a real 100k-track database with analysis results. There is no
    // public bulk insert (tracks come from scanning files), so the bench writes the rows
    // with SQL into the schema `Library::open` created.
    let db_tracks: usize = std::env::var("GUI_BENCH_DB_TRACKS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if quick { 2_000 } else { N });
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            println!("browse: skipped ({e})");
            return;
        }
    };
    let db = dir.path().join("lib.sqlite3");
    let v = valence::analysis::default_version().unwrap_or(AnalysisVersion {
        features: 0,
        model: "none".into(),
    });
    if let Err(e) = fill_db(&db, &synthetic_rows(db_tracks), &v) {
        println!("browse: skipped (cannot build the database: {e})");
        return;
    }
    let mut browses = Vec::new();
    let mut got = 0;
    for _ in 0..5 {
        let (r, d) = time(|| Library::open(&db).and_then(|lib| lib.browse(&v)));
        got = r.map(|r| r.len()).unwrap_or(0);
        browses.push(d);
    }
    println!(
        "open the database + Library::browse of {got} tracks with moods (median): {}",
        ms(median(browses))
    );
    let (state, d) = time(|| {
        Library::open(&db)
            .and_then(|lib| lib.browse(&v))
            .map(library::State::new)
    });
    println!(
        "window open path: database -> view model of {} rows: {}",
        state.map(|s| s.visible_count()).unwrap_or(0),
        ms(d)
    );
}
