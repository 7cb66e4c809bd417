//! What one analysis result costs the window at 100,000 tracks, now that it patches its row
//! instead of reloading the library (`App::on_job_event`):
//!
//! - `browse_row`: `Library::browse_row` on an open 100k-track SQLite library (with
//!   analysis results), random ids;
//! - `load_rows_one`: `gui::backend::load_rows` for one id, as the window runs it (a worker
//!   thread, open the database, the model version, the row), off the UI thread;
//! - `update_row`: `library::State::update_row` on 100k rows sorted by valence with the Q1
//!   filter on; every update moves its row between Q1 and Q3, so it leaves or enters the
//!   view and moves in the sort (two binary searches, two `Vec` shifts);
//! - `app_rows_loaded`: the same through `App::update(Message::RowsLoaded)` (counts too);
//! - for scale, what a full reload cost: `browse_all` (open + `Library::browse`) and
//!   `set_rows` (the view model rebuilt and sorted).
//!
//! `cargo bench --bench gui_rows` (`GUI_BENCH_ROWS=N` for another size). Without `--bench`
//! (`cargo test --benches`) it runs once over 5,000 rows.
//!
//! Medians at 100,000 rows on the 2-core development machine (shared, so noisy):
//! `update_row` 25 µs, `app_rows_loaded` 31 µs, `browse_row` 36 µs, `load_rows_one`
//! 1.0 ms; a reload: `browse_all` 345 ms + `set_rows` 101 ms.

mod common;

use std::hint::black_box;
use std::path::PathBuf;

use common::{fill_db, no_device, synthetic_rows};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use iced::futures::executor::block_on;
use valence::gui::{backend, library, App, Message};
use valence::library::{AnalysisVersion, BrowseRow, Library, Mood};
use valence::mood::{Calibration, Quadrant};

fn size() -> usize {
    let full = std::env::args().any(|a| a == "--bench");
    std::env::var("GUI_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if full { 100_000 } else { 5_000 })
}

/// Row updates cycling over random ids, alternating a Q1 and a Q3 mood.
fn updates(rows: &[BrowseRow], n: usize) -> Vec<BrowseRow> {
    let mut s: u64 = 0x0123_4567_89AB_CDEF;
    (0..n)
        .map(|k| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let mut r = rows[(s % rows.len() as u64) as usize].clone();
            let x = ((s >> 20) % 900) as f32 / 1000.0 + 0.05;
            let (v, a) = if k % 2 == 0 {
                (x, x / 2.0)
            } else {
                (-x, -x / 2.0)
            };
            r.mood = Some(Mood::from_point(v, a, &Calibration::default()));
            r
        })
        .collect()
}

/// Sorted by valence (high to low) with only Q1 shown: the update re-sorts and re-filters.
fn sorted_filtered(rows: Vec<BrowseRow>) -> library::State {
    let mut state = library::State::new(rows);
    let _ = state.update(library::Message::Sort(library::Column::Valence));
    let _ = state.update(library::Message::ToggleMood(Quadrant::Q1));
    state
}

fn bench(c: &mut Criterion) {
    let n = size();
    let rows = synthetic_rows(n);
    let ups = updates(&rows, 4096);
    let mut g = c.benchmark_group(format!("row_update_{n}"));

    let mut state = sorted_filtered(rows.clone());
    let mut k = 0;
    g.bench_function("update_row", |b| {
        b.iter_batched(
            || {
                k = (k + 1) % ups.len();
                ups[k].clone()
            },
            |r| assert!(state.update_row(r)),
            BatchSize::SmallInput,
        )
    });

    let mut app = App::with_rows(rows.clone(), no_device);
    let _ = app.update(Message::Library(library::Message::Sort(
        library::Column::Valence,
    )));
    let _ = app.update(Message::Library(library::Message::ToggleMood(Quadrant::Q1)));
    let mut k = 0;
    g.bench_function("app_rows_loaded", |b| {
        b.iter_batched(
            || {
                k = (k + 1) % ups.len();
                Message::RowsLoaded(Ok(vec![(ups[k].id, Some(ups[k].clone()))]))
            },
            |m| black_box(app.update(m)),
            BatchSize::SmallInput,
        )
    });
    assert_eq!(app.reloads(), 0);

    let dir = tempfile::tempdir().expect("temp dir");
    let db: PathBuf = dir.path().join("lib.sqlite3");
    // The version the backend reads, so the rows carry their moods.
    let v = valence::analysis::default_version().unwrap_or(AnalysisVersion {
        features: 0,
        model: "unavailable".into(),
    });
    fill_db(&db, &rows, &v).expect("fill the bench database");
    let lib = Library::open(&db).expect("open the bench database");
    let mut k = 0;
    g.bench_function("browse_row", |b| {
        b.iter(|| {
            k = (k + 1) % ups.len();
            let r = lib.browse_row(&v, ups[k].id).expect("browse_row");
            assert!(r.is_some());
            r
        })
    });
    let mut k = 0;
    g.bench_function("load_rows_one", |b| {
        b.iter(|| {
            k = (k + 1) % ups.len();
            let r = block_on(backend::load_rows(db.clone(), vec![ups[k].id]));
            assert!(matches!(&r, Ok(v) if v.len() == 1 && v[0].1.is_some()));
            r
        })
    });

    // The full reload this replaces, for scale.
    g.sample_size(10);
    g.bench_function("browse_all", |b| {
        b.iter(|| {
            Library::open(&db)
                .and_then(|l| l.browse(&v))
                .map(|r| r.len())
        })
    });
    let mut state = sorted_filtered(rows.clone());
    g.bench_function("set_rows", |b| {
        b.iter_batched(
            || rows.clone(),
            |r| {
                state.set_rows(r);
                state.visible_count()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
