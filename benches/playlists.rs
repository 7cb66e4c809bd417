//! Mood playlists and "your mood now" at library scale:
//!
//! - `playlist_40/quadrant`, `playlist_40/point`, `playlist_40/like`: a 40-track playlist
//!   from a 100,000-track SQLite library (`Library::make_playlist`, all of it: the 24-hour
//!   and never-in-playlists lists, scoring, picking under the rules; for "like", reading the
//!   embeddings of the 4,096 tracks nearest in mood), with the library's tracks already
//!   read, as in the window after its first playlist (`Library::playlist_pool` keeps them
//!   until the library changes);
//! - `playlist_40/quadrant_cold`: the same after a change to the library, so the 100,000
//!   tracks are read again (the first playlist of a session, and every `valence playlist
//!   new`);
//! - `playlist_40/generate_only`: the picking alone on the 100,000 tracks in memory;
//! - `journey/30min`: a 30-minute journey from calm to happy (`Library::journey_stops`, all
//!   100,000 tracks read, then `playlists::plan`), and `journey/plan_only`;
//! - `mood_now/week`, `mood_now/recent`: the mood now with 1,000,000 stored plays spread
//!   over 3 years (about 6,400 in the last 7 days), seed 000's and seed 001's methods.
//!
//! `cargo bench --bench playlists` (`PLAYLIST_BENCH_TRACKS=N`, `PLAYLIST_BENCH_PLAYS=N` for
//! other sizes). Without `--bench` it runs once over 5,000 tracks and 50,000 plays.

mod common;

use std::hint::black_box;

use common::{fill_db, synthetic_rows};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use valence::library::{AnalysisVersion, Library};
use valence::mood::{Calibration, Quadrant};
use valence::playlists::{
    generate, plan, JourneyRequest, Length, MoodMethod, Request, Size, Target,
};

fn full() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn env_or(name: &str, full: usize, quick: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if self::full() { full } else { quick })
}

const NOW: i64 = 1_795_348_800;

/// A library of `tracks` analysed tracks with 200-d embeddings, and `plays` plays over 3
/// years (counted ones mostly), written with plain SQL.
fn library(dir: &std::path::Path, tracks: usize, plays: usize) -> (Library, AnalysisVersion) {
    let v = AnalysisVersion {
        features: 1,
        model: "bench+a1s5".into(),
    };
    let db = dir.join("lib.sqlite3");
    let rows = synthetic_rows(tracks);
    if let Err(e) = fill_db(&db, &rows, &v) {
        panic!("cannot fill the bench library: {e}");
    }
    let mut c = rusqlite::Connection::open(&db).expect("open");
    let tx = c.transaction().expect("tx");
    {
        let mut emb = tx
            .prepare("UPDATE analysis SET embedding = ?2 WHERE track_id = ?1")
            .expect("prepare");
        let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for r in &rows {
            let blob: Vec<u8> = (0..200)
                .flat_map(|_| ((next() % 1000) as f32 / 1000.0).to_le_bytes())
                .collect();
            emb.execute(rusqlite::params![r.id, blob])
                .expect("embedding");
        }
        let mut ins = tx
            .prepare(
                "INSERT INTO plays (track_id, started_at, heard_s, ended, counts, source,
                    artist, title, duration_s)
                 VALUES (?1, ?2, 200, 'finished', ?3, 'player', 'a', 't', 240)",
            )
            .expect("prepare");
        let span = 3 * 365 * 86_400i64;
        for k in 0..plays {
            let r = next();
            // Favourites: a third of the plays go to 1 % of the tracks.
            let pool = if r % 3 == 0 { tracks / 100 + 1 } else { tracks };
            let track = (r >> 8) as usize % pool + 1;
            let at = NOW - span + (k as i64 * span / plays.max(1) as i64);
            ins.execute(rusqlite::params![track as i64, at, (r >> 40) % 10 != 0])
                .expect("play");
        }
    }
    tx.commit().expect("commit");
    (Library::open(&db).expect("reopen"), v)
}

fn bench(c: &mut Criterion) {
    let tracks = env_or("PLAYLIST_BENCH_TRACKS", 100_000, 5_000);
    let plays = env_or("PLAYLIST_BENCH_PLAYS", 1_000_000, 50_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let (lib, v) = library(dir.path(), tracks, plays);
    let cal = Calibration::default();
    let req = |target| Request {
        target,
        size: Size::Count(40),
        variety: 0.3,
        seed: 7,
    };

    let mut g = c.benchmark_group("playlist_40");
    g.sample_size(20);
    let targets = [
        ("quadrant", Target::Quadrant(Quadrant::Q4)),
        (
            "point",
            Target::Point {
                valence: 0.4,
                arousal: -0.3,
            },
        ),
        ("like", Target::Like(vec![17, 4242 % tracks as i64 + 1])),
    ];
    for (name, target) in targets {
        let r = req(target);
        g.bench_function(name, |b| {
            b.iter(|| {
                let made = lib.make_playlist(&v, &cal, &r, NOW).expect("playlist");
                black_box(made.generated.tracks.len())
            })
        });
    }
    let db = dir.path().join("lib.sqlite3");
    let writer = rusqlite::Connection::open(&db).expect("open");
    let r = req(Target::Quadrant(Quadrant::Q4));
    g.bench_function("quadrant_cold", |b| {
        b.iter_batched(
            || {
                writer
                    .execute("UPDATE library_state SET generation = generation + 1", [])
                    .expect("bump")
            },
            |_| {
                let made = lib.make_playlist(&v, &cal, &r, NOW).expect("playlist");
                black_box(made.generated.tracks.len())
            },
            BatchSize::PerIteration,
        )
    });
    let pool = lib.playlist_pool(&v, NOW).expect("pool");
    let r = req(Target::Quadrant(Quadrant::Q4));
    g.bench_function("generate_only", |b| {
        b.iter(|| black_box(generate(&pool, &r).expect("playlist").tracks.len()))
    });
    g.finish();

    let mut g = c.benchmark_group("journey");
    g.sample_size(20);
    let jr = JourneyRequest::new((0.4, -0.5), (0.6, 0.5), Length::Minutes(30.0));
    g.bench_function("30min", |b| {
        b.iter(|| {
            let stops = lib.journey_stops(&v).expect("stops");
            black_box(plan(&stops, &jr).expect("journey").tracks.len())
        })
    });
    let stops = lib.journey_stops(&v).expect("stops");
    g.bench_function("plan_only", |b| {
        b.iter(|| black_box(plan(&stops, &jr).expect("journey").tracks.len()))
    });
    g.finish();

    let mut g = c.benchmark_group("mood_now");
    for (name, method) in [("week", MoodMethod::Week), ("recent", MoodMethod::Recent)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let m = lib.mood_now(&v, &cal, method, NOW).expect("mood");
                black_box(m.mood().map(|m| m.sources.len()))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
