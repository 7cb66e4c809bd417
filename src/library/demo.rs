//! A made-up, already analysed library without audio files: the map's screenshots, the
//! window tests that plan journeys, and the benches use it (`examples/demo_library.rs`
//! writes one). Nothing in the app reads or writes it on its own.
//!
//! The moods are a seeded mixture of clusters, like a real collection (dense around a few
//! styles, thin between them), not a uniform square; each track's opening and closing
//! moods lie up to 0.15 from its mean on each axis, so journeys have seams to join. Each
//! cluster also has its own audio words and two tags that stand out, so theme scenes have
//! something to find.

use std::path::Path;

use rusqlite::params;

use super::analysis::AnalysisVersion;
use super::store::{Library, StoreError};
use crate::mood::{Calibration, Mood};

/// Cluster centres, spreads and weights.
const CLUSTERS: [((f32, f32), f32, u32); 8] = [
    ((0.55, 0.45), 0.16, 6),   // bright pop
    ((0.75, 0.75), 0.10, 2),   // dance
    ((-0.45, 0.55), 0.15, 3),  // rock, metal
    ((-0.55, -0.45), 0.15, 3), // ballads
    ((0.45, -0.50), 0.17, 4),  // ambient, acoustic
    ((0.05, 0.10), 0.22, 5),   // the middle ground
    ((-0.15, -0.75), 0.10, 1), // drones
    ((0.25, -0.15), 0.12, 2),  // jazz
];

const WORDS: [&str; 24] = [
    "love", "night", "blue", "fire", "river", "dream", "city", "heart", "light", "storm", "golden",
    "echo", "summer", "shadow", "wild", "silver", "road", "ocean", "ghost", "rain", "morning",
    "glass", "north", "paper",
];

/// Deterministic xorshift64 with a Gaussian (Box-Muller).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    fn gauss(&mut self) -> f32 {
        let u = self.unit().max(1e-7);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }

    fn word(&mut self) -> &'static str {
        WORDS[(self.next() % WORDS.len() as u64) as usize]
    }
}

/// Writes `tracks` analysed tracks (current for `v`) into the library at `db`, about eight
/// per artist, and `plays` counted plays in the last days of tracks near
/// `(-0.35, -0.3)`, so "your mood now" has something to read.
pub fn write_demo_library(
    db: &Path,
    tracks: usize,
    plays: usize,
    seed: u64,
    v: &AnalysisVersion,
    cal: &Calibration,
) -> Result<(), StoreError> {
    drop(Library::open(db)?);
    let mut c = rusqlite::Connection::open(db)?;
    let tx = c.transaction()?;
    let mut rng = Rng(seed | 1);
    let total: u32 = CLUSTERS.iter().map(|c| c.2).sum();
    let now = super::store::now_secs();
    let mut near_mood = Vec::new();
    {
        let mut t = tx.prepare(
            "INSERT INTO tracks (path, size, mtime_ns, status, title, artist, album,
                track_no, duration_s, added_at, updated_at)
             VALUES (?1, 1000, 1, 'ok', ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        )?;
        let mut a = tx.prepare(
            "INSERT INTO analysis (track_id, status, features_version, model_version,
                source_size, source_mtime_ns, analysed_at, quadrant, p1, p2, p3, p4,
                valence, arousal, duration_s,
                start_valence, start_arousal, end_valence, end_arousal, words, tag_means)
             VALUES (?1, 'ok', ?2, ?3, 1000, 1, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
                ?13, ?14, ?15, ?16, ?17, ?18)",
        )?;
        let mut artist = String::new();
        let mut album = String::new();
        for i in 0..tracks {
            if i % 8 == 0 {
                artist = format!("The {} {}", cap(rng.word()), cap(rng.word()));
                album = format!("{} {}", cap(rng.word()), cap(rng.word()));
                // Unique per artist, so journeys never see two artists as one.
                artist.push_str(&format!(" {}", i / 8 + 1));
            }
            let mut pick = (rng.next() % total as u64) as u32;
            let cluster = CLUSTERS
                .iter()
                .find(|c| {
                    if pick < c.2 {
                        true
                    } else {
                        pick -= c.2;
                        false
                    }
                })
                .unwrap_or(&CLUSTERS[0]);
            let ((cv, ca), sd, _) = *cluster;
            let c = CLUSTERS.iter().position(|k| k == cluster).unwrap_or(0);
            // Audio words: mostly the cluster's own sixteen, some from anywhere (128).
            let words: Vec<u8> = (0..20)
                .map(|_| {
                    let w = if rng.unit() < 0.8 {
                        c as u64 * 16 + rng.next() % 16
                    } else {
                        rng.next() % 128
                    };
                    w as u16
                })
                .flat_map(|w| w.to_le_bytes())
                .collect();
            // Tag means: the cluster's two tags stand out.
            let tags: Vec<u8> = (0..50)
                .map(|t| if t / 2 == c { 0.6f32 } else { 0.04 })
                .flat_map(|p| p.to_le_bytes())
                .collect();
            let val = (cv + sd * rng.gauss()).clamp(-0.98, 0.98);
            let aro = (ca + sd * rng.gauss()).clamp(-0.98, 0.98);
            let mood = Mood::from_point(val, aro, cal);
            let mut seam = |x: f32| (x + 0.15 * (2.0 * rng.unit() - 1.0)).clamp(-1.0, 1.0);
            let (sv, sa, ev, ea) = (seam(val), seam(aro), seam(val), seam(aro));
            let title = format!("{} {}", cap(rng.word()), rng.word());
            let secs = 150.0 + (rng.next() % 180) as f64;
            let path = format!("/nonexistent/demo/{}/{title} {i}.mp3", artist);
            // Paths are stored as their bytes (a file name need not be UTF-8).
            t.execute(params![
                path.as_bytes(),
                title,
                artist,
                album,
                (i % 8 + 1) as i64,
                secs,
                now
            ])?;
            let id = tx.last_insert_rowid();
            let p = mood.probs;
            a.execute(params![
                id,
                v.features,
                v.model,
                now,
                mood.quadrant.number(),
                p[0],
                p[1],
                p[2],
                p[3],
                val,
                aro,
                secs,
                sv,
                sa,
                ev,
                ea,
                words,
                tags
            ])?;
            if (val + 0.35).hypot(aro + 0.3) < 0.2 {
                near_mood.push((id, secs));
            }
        }
        let mut ins = tx.prepare(
            "INSERT INTO plays (track_id, started_at, heard_s, ended, counts, source,
                artist, title, duration_s)
             VALUES (?1, ?2, ?3, 'finished', 1, 'player', 'demo', 'demo', ?3)",
        )?;
        for k in 0..plays.min(near_mood.len() * 4) {
            let (id, secs) = near_mood[k % near_mood.len()];
            ins.execute(params![id, now - 3600 * (k as i64 + 1), secs])?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn cap(w: &str) -> String {
    let mut c = w.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
