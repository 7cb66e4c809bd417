//! Fixtures shared by the window benches (`gui_table`, `gui_rows`): synthetic library rows
//! and a real SQLite library filled with them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use valence::audio::player::{AudioOutput, OutputError};
use valence::library::{AnalysisVersion, BrowseRow, Library, Mood};
use valence::mood::Calibration;

pub fn no_device() -> Result<AudioOutput, OutputError> {
    Err(OutputError::Device("bench".into()))
}

/// Deterministic pseudo-random rows (xorshift), with realistic string lengths.
pub fn synthetic_rows(n: usize) -> Vec<BrowseRow> {
    let words = [
        "love", "night", "blue", "fire", "river", "dream", "city", "heart", "light", "storm",
        "golden", "echo", "summer", "shadow", "wild", "silver", "road", "ocean", "ghost", "rain",
    ];
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    (0..n)
        .map(|i| {
            let r = next();
            let w = |k: u64| words[(k % words.len() as u64) as usize];
            let v = ((r >> 8) % 2000) as f32 / 1000.0 - 1.0;
            let a = ((r >> 24) % 2000) as f32 / 1000.0 - 1.0;
            let q = match (v >= 0.0, a >= 0.0) {
                (true, true) => 1,
                (false, true) => 2,
                (false, false) => 3,
                (true, false) => 4,
            };
            BrowseRow {
                id: i as i64 + 1,
                path: PathBuf::from(format!("/music/{i}.mp3")),
                title: format!("{} {} {}", w(r), w(r >> 5), w(r >> 10)),
                artist: format!("The {} {}", w(r >> 15), w(r >> 20)),
                album: format!("{} {}", w(r >> 25), w(r >> 30)),
                track_no: Some((i % 14) as u32 + 1),
                duration_secs: Some(90.0 + (r >> 40) as f64 % 300.0),
                // One in twenty not analysed yet.
                mood: (i % 20 != 0).then(|| {
                    let m = Mood::from_point(v, a, &Calibration::default());
                    debug_assert_eq!(m.quadrant.number(), q);
                    m
                }),
                analysis_error: None,
                scene: None,
                gain: Default::default(),
            }
        })
        .collect()
}

/// Writes `rows` (and their moods as current analysis results) into a new library.
pub fn fill_db(db: &Path, rows: &[BrowseRow], v: &AnalysisVersion) -> Result<(), String> {
    drop(Library::open(db).map_err(|e| e.to_string())?);
    let mut c = rusqlite::Connection::open(db).map_err(|e| e.to_string())?;
    let tx = c.transaction().map_err(|e| e.to_string())?;
    {
        let mut t = tx
            .prepare(
                "INSERT INTO tracks (id, path, size, mtime_ns, status, title, artist, album,
                    track_no, duration_s, added_at, updated_at)
                 VALUES (?1, ?2, 1000, 1, 'ok', ?3, ?4, ?5, ?6, ?7, 0, 0)",
            )
            .map_err(|e| e.to_string())?;
        let mut a = tx
            .prepare(
                "INSERT INTO analysis (track_id, status, features_version, model_version,
                    source_size, source_mtime_ns, analysed_at, quadrant, p1, p2, p3, p4,
                    valence, arousal, duration_s)
                 VALUES (?1, 'ok', ?2, ?3, 1000, 1, 0, ?4, 0.25, 0.25, 0.25, 0.25, ?5, ?6, ?7)",
            )
            .map_err(|e| e.to_string())?;
        for r in rows {
            t.execute(rusqlite::params![
                r.id,
                r.path.to_string_lossy().as_bytes(),
                r.title,
                r.artist,
                r.album,
                r.track_no,
                r.duration_secs
            ])
            .map_err(|e| e.to_string())?;
            if let Some(m) = r.mood {
                a.execute(rusqlite::params![
                    r.id,
                    v.features,
                    v.model,
                    m.quadrant.number(),
                    m.valence,
                    m.arousal,
                    r.duration_secs
                ])
                .map_err(|e| e.to_string())?;
            }
        }
    }
    tx.commit().map_err(|e| e.to_string())
}
