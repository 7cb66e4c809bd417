//! Tests of the playlists capability on synthetic libraries with a fixed clock: the history
//! and its counting rule, the mood now, every playlist rule (property tests), kept playlists
//! and their M3U8 files.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use proptest::prelude::*;
use rusqlite::params;

use super::*;
use crate::library::{AnalysisVersion, Library};
use crate::mood::{Calibration, Quadrant};

/// A fixed "now": 2026-11-22 12:00 UTC.
const NOW: i64 = 1_795_348_800;
const DAY: i64 = 24 * 3600;

pub(super) fn version() -> AnalysisVersion {
    AnalysisVersion {
        features: 1,
        model: "test+a1s1".into(),
    }
}

/// A track of the fixture library.
#[derive(Clone)]
pub(super) struct T {
    artist: String,
    album: String,
    title: String,
    secs: f64,
    point: Option<(f32, f32)>,
}

pub(super) fn t(artist: &str, title: &str, secs: f64, point: Option<(f32, f32)>) -> T {
    T {
        artist: artist.into(),
        album: format!("{artist} album"),
        title: title.into(),
        secs,
        point,
    }
}

/// A library of `tracks` (ids 1..), analysed under `version()` where a point is given, with
/// files under `dir` (not created).
pub(super) fn library(dir: &std::path::Path, tracks: &[T]) -> Library {
    let lib = Library::open_in_memory().unwrap();
    let v = version();
    for (i, tr) in tracks.iter().enumerate() {
        let id = i as i64 + 1;
        lib.conn
            .execute(
                "INSERT INTO tracks (id, path, size, mtime_ns, status, title, artist, album,
                    duration_s, added_at, updated_at)
                 VALUES (?1, ?2, 1000, 1, 'ok', ?3, ?4, ?5, ?6, 0, 0)",
                params![
                    id,
                    dir.join(format!("{id}.flac")).to_string_lossy().as_bytes(),
                    tr.title,
                    tr.artist,
                    tr.album,
                    tr.secs
                ],
            )
            .unwrap();
        if let Some((va, ar)) = tr.point {
            let p = Calibration::default().probs(va, ar);
            let emb: Vec<u8> = (0..8)
                .flat_map(|k| ((k as f32 * va).sin() + ar).to_le_bytes())
                .collect();
            lib.conn
                .execute(
                    "INSERT INTO analysis (track_id, status, features_version, model_version,
                        source_size, source_mtime_ns, analysed_at, quadrant, p1, p2, p3, p4,
                        valence, arousal, duration_s, embedding)
                     VALUES (?1, 'ok', ?2, ?3, 1000, 1, 0, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    params![
                        id,
                        v.features,
                        v.model,
                        Quadrant::of_point(va, ar).number(),
                        p[0],
                        p[1],
                        p[2],
                        p[3],
                        va,
                        ar,
                        tr.secs,
                        emb
                    ],
                )
                .unwrap();
        }
    }
    lib
}

fn play(lib: &mut Library, id: i64, at: i64, heard: f64) -> Play {
    lib.record_play(&NewPlay {
        track_id: id,
        started_at: at,
        heard_secs: heard,
        ended: PlayEnd::Finished,
    })
    .unwrap()
    .unwrap()
}

// ---- history -------------------------------------------------------------------------

#[test]
fn plays_are_stored_with_the_counting_rule_and_outlive_their_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = library(
        dir.path(),
        &[
            t("A", "Short", 25.0, None),
            t("B", "Song", 200.0, None),
            t("C", "Epic", 900.0, None),
        ],
    );
    assert!(!play(&mut lib, 1, NOW, 25.0).counts, "not longer than 30 s");
    assert!(!play(&mut lib, 2, NOW + 1, 99.0).counts);
    assert!(play(&mut lib, 2, NOW + 2, 100.0).counts, "half its length");
    assert!(!play(&mut lib, 3, NOW + 3, 239.0).counts);
    assert!(play(&mut lib, 3, NOW + 4, 240.0).counts, "4 minutes");
    let skipped = lib
        .record_play(&NewPlay {
            track_id: 2,
            started_at: NOW + 5,
            heard_secs: 3.0,
            ended: PlayEnd::Skipped,
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        (skipped.ended, skipped.counts),
        (Some(PlayEnd::Skipped), false)
    );
    assert_eq!(lib.play_count().unwrap(), 6);
    let counted = lib.history(10, true).unwrap();
    assert_eq!(counted.len(), 2);
    assert_eq!(counted[0].started_at, NOW + 4, "newest first");
    // Unknown track: nothing stored.
    assert!(lib
        .record_play(&NewPlay {
            track_id: 42,
            started_at: NOW,
            heard_secs: 100.0,
            ended: PlayEnd::Stopped
        })
        .unwrap()
        .is_none());
    // The file leaves the library: the play stays, with its artist and title.
    lib.conn
        .execute("DELETE FROM tracks WHERE id = 3", [])
        .unwrap();
    let all = lib.history(10, false).unwrap();
    assert_eq!(all.len(), 6);
    let epic = all.iter().find(|p| p.title == "Epic").unwrap();
    assert_eq!((epic.track_id, epic.artist.as_str()), (None, "C"));
}

// ---- mood now ------------------------------------------------------------------------

fn mood_lib(dir: &std::path::Path) -> Library {
    library(
        dir,
        &[
            t("A", "Happy 1", 200.0, Some((0.6, 0.4))),  // 1
            t("B", "Happy 2", 200.0, Some((0.4, 0.2))),  // 2
            t("C", "Sad 1", 200.0, Some((-0.6, -0.4))),  // 3
            t("D", "Calm 1", 200.0, Some((0.5, -0.5))),  // 4
            t("E", "Not analysed", 200.0, None),         // 5
            t("F", "Tense 1", 200.0, Some((-0.5, 0.6))), // 6
        ],
    )
}

fn reading(lib: &Library, method: MoodMethod) -> MoodReading {
    lib.mood_now(&version(), &Calibration::default(), method, NOW)
        .unwrap()
}

#[test]
fn fewer_than_three_counted_plays_is_not_enough() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = mood_lib(dir.path());
    play(&mut lib, 1, NOW - 100, 200.0);
    play(&mut lib, 2, NOW - 90, 200.0);
    // Not counted, and not analysed: neither helps.
    play(&mut lib, 3, NOW - 80, 10.0);
    play(&mut lib, 5, NOW - 70, 200.0);
    for method in [MoodMethod::Week, MoodMethod::Recent] {
        assert_eq!(
            reading(&lib, method),
            MoodReading::NotEnough {
                plays: 2,
                needed: 3
            }
        );
    }
    play(&mut lib, 3, NOW - 60, 200.0);
    assert!(reading(&lib, MoodMethod::Week).mood().is_some());
}

#[test]
fn the_week_is_the_top_ten_weighted_by_plays_within_seven_days() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = mood_lib(dir.path());
    // Track 1 three times, track 3 once inside the window; track 4 just outside it (7 days
    // and one second ago), track 6 exactly 7 days ago (outside: the window is (now - 7 d,
    // now]), and a play after `now` (a wrong clock) is ignored.
    for k in 0..3 {
        play(&mut lib, 1, NOW - DAY - k, 200.0);
    }
    play(&mut lib, 3, NOW - 6 * DAY, 200.0);
    play(&mut lib, 4, NOW - 7 * DAY - 1, 200.0);
    play(&mut lib, 6, NOW - 7 * DAY, 200.0);
    play(&mut lib, 6, NOW + 10, 200.0);
    let m = reading(&lib, MoodMethod::Week);
    let m = m.mood().unwrap();
    let ids: Vec<(i64, usize)> = m.sources.iter().map(|s| (s.track_id, s.plays)).collect();
    assert_eq!(ids, vec![(1, 3), (3, 1)]);
    // Weighted mean of (0.6, 0.4) x 3/4 and (-0.6, -0.4) x 1/4.
    assert!((m.mood.valence - 0.3).abs() < 1e-6, "{m:?}");
    assert!((m.mood.arousal - 0.2).abs() < 1e-6);
    assert_eq!(m.mood.quadrant, Quadrant::Q1);
    assert!((m.sources[0].weight - 0.75).abs() < 1e-6);
    // The quadrant probabilities follow the averaged point, as for a track.
    let cal = Calibration::default();
    assert_eq!(
        m.mood,
        crate::mood::Mood::from_point(m.mood.valence, m.mood.arousal, &cal)
    );
}

#[test]
fn the_week_keeps_ten_tracks_and_breaks_ties_by_recency() {
    let dir = tempfile::tempdir().unwrap();
    let tracks: Vec<T> = (0..12)
        .map(|i| {
            t(
                &format!("Artist {i}"),
                &format!("Song {i}"),
                180.0,
                Some((0.1 * i as f32 - 0.5, 0.3)),
            )
        })
        .collect();
    let mut lib = library(dir.path(), &tracks);
    // Tracks 1 and 2 twice; tracks 3..=12 once each, track 12 most recently.
    for id in 1..=12 {
        play(&mut lib, id, NOW - 1000 + id, 180.0);
    }
    play(&mut lib, 1, NOW - 3000, 180.0);
    play(&mut lib, 2, NOW - 3000, 180.0);
    let m = reading(&lib, MoodMethod::Week);
    let ids: Vec<i64> = m
        .mood()
        .unwrap()
        .sources
        .iter()
        .map(|s| s.track_id)
        .collect();
    // Two plays first (2 played last, after 1), then the single plays newest first; 3 and 4
    // are the oldest single plays and fall out of the ten.
    assert_eq!(ids, vec![2, 1, 12, 11, 10, 9, 8, 7, 6, 5]);
}

#[test]
fn right_now_reads_the_last_ten_counted_plays() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = mood_lib(dir.path());
    // Old listening (a month ago) is all the Recent method has: it still answers, the week
    // does not.
    for k in 0..8 {
        play(&mut lib, 3, NOW - 30 * DAY - k, 200.0);
    }
    assert!(reading(&lib, MoodMethod::Week).mood().is_none());
    let m = reading(&lib, MoodMethod::Recent);
    assert_eq!(m.mood().unwrap().mood.quadrant, Quadrant::Q3);
    // Ten fresh happy plays, one skipped (not counted): the last ten counted are happy.
    for k in 0..10 {
        play(&mut lib, 1 + (k % 2), NOW - 100 + k, 200.0);
    }
    play(&mut lib, 3, NOW - 1, 5.0);
    let m = reading(&lib, MoodMethod::Recent);
    let m = m.mood().unwrap();
    assert_eq!(m.mood.quadrant, Quadrant::Q1);
    assert_eq!(m.sources.iter().map(|s| s.plays).sum::<usize>(), 10);
    assert!(m.sources.iter().all(|s| s.track_id != 3));
}

// ---- playlist rules (property tests) -------------------------------------------------

fn arb_pool() -> impl Strategy<Value = Pool> {
    (8usize..160, 1usize..25, any::<u64>()).prop_map(|(n, artists, salt)| {
        let mut s = salt | 1;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut pool = Pool::default();
        for i in 0..n {
            let r = next();
            let artist = (r % artists as u64) as usize;
            Arc::make_mut(&mut pool.candidates).push(Candidate {
                id: i as i64 + 1,
                artist: format!("Artist {artist}"),
                album_artist: String::new(),
                album: format!("Album {}", (r >> 8) % 3),
                duration_secs: 60.0 + ((r >> 16) % 340) as f64,
                valence: ((r >> 24) % 2000) as f32 / 1000.0 - 1.0,
                arousal: ((r >> 36) % 2000) as f32 / 1000.0 - 1.0,
                embedding: (0..4)
                    .map(|k| ((r >> (k * 5)) % 97) as f32 - 48.0)
                    .collect(),
                scene: ((r >> 52) % 5 > 0).then_some(((r >> 56) % 4) as i64),
            });
            match (r >> 48) % 10 {
                0 => {
                    pool.excluded.insert(i as i64 + 1);
                }
                1 => {
                    pool.played_recently.insert(i as i64 + 1);
                }
                _ => {}
            }
        }
        pool
    })
}

fn arb_request(n: usize) -> impl Strategy<Value = Request> {
    let target = prop_oneof![
        (0usize..4).prop_map(|q| Target::Quadrant(Quadrant::ALL[q])),
        (-1.0f32..1.0, -1.0f32..1.0)
            .prop_map(|(valence, arousal)| Target::Point { valence, arousal }),
        proptest::collection::vec(1i64..=(n as i64), 1..4).prop_map(Target::Like),
    ];
    let size = prop_oneof![
        (1usize..40).prop_map(Size::Count),
        (5.0f64..120.0).prop_map(Size::Minutes),
    ];
    (target, size, 0.0f32..=1.0, any::<u64>()).prop_map(|(target, size, variety, seed)| Request {
        target,
        size,
        variety,
        seed,
    })
}

/// Pools whose every track is eligible for Like seeds (the seeds need not be excluded).
fn pool_and_request() -> impl Strategy<Value = (Pool, Request)> {
    arb_pool().prop_flat_map(|pool| {
        let n = pool.candidates.len().min(8);
        (Just(pool), arb_request(n))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Every rule holds for every playlist made; a request that cannot be met says which
    /// rules blocked it; the same inputs and seed give the same playlist.
    #[test]
    fn every_playlist_keeps_every_rule((pool, req) in pool_and_request()) {
        let by_id: HashMap<i64, &Candidate> = pool.candidates.iter().map(|c| (c.id, c)).collect();
        match generate(&pool, &req) {
            Ok(g) => {
                // The same inputs and seed give the same playlist.
                prop_assert_eq!(&generate(&pool, &req).unwrap(), &g);
                let unique: HashSet<i64> = g.tracks.iter().copied().collect();
                prop_assert_eq!(unique.len(), g.tracks.len(), "no track twice");
                if let Target::Like(seeds) = &req.target {
                    prop_assert!(g.tracks.iter().all(|t| !seeds.contains(t)), "seeds not in result");
                }
                for id in &g.tracks {
                    prop_assert!(!pool.played_recently.contains(id), "played in the last 24 h");
                    prop_assert!(!pool.excluded.contains(id), "never in playlists");
                    if let Target::Quadrant(q) = req.target {
                        let c = by_id[id];
                        prop_assert_eq!(Quadrant::of_point(c.valence, c.arousal), q);
                    }
                }
                for w in g.tracks.windows(3) {
                    let a: HashSet<&str> = w.iter().map(|id| by_id[id].artist.as_str()).collect();
                    prop_assert_eq!(a.len(), w.len(), "an artist twice within 3 tracks");
                }
                for w in g.tracks.windows(2) {
                    prop_assert_ne!(&by_id[&w[0]].artist, &by_id[&w[1]].artist);
                }
                let mut albums: HashMap<(&str, &str), usize> = HashMap::new();
                for id in &g.tracks {
                    let c = by_id[id];
                    *albums.entry((c.artist.as_str(), c.album.as_str())).or_default() += 1;
                }
                prop_assert!(albums.values().all(|&n| n <= 2), "at most 2 per album");
                let total: f64 = g.tracks.iter().map(|id| by_id[id].duration_secs).sum();
                prop_assert!((total - g.total_secs).abs() < 1e-6);
                match req.size {
                    Size::Count(n) => prop_assert_eq!(g.tracks.len(), n),
                    Size::Minutes(m) => {
                        prop_assert!((total - m * 60.0).abs() <= 0.05 * m * 60.0 + 1e-9,
                            "{} s for {} min", total, m);
                    }
                }
            }
            Err(GenerateError::Unsatisfiable { blocked, got, .. }) => {
                // It says which rules blocked the rest, or the library ran out of tracks;
                // it stopped short.
                prop_assert!(blocked.iter().any(|(_, n)| *n > 0) || got == pool.candidates.len(),
                    "{:?}", blocked);
                if let Size::Count(n) = req.size { prop_assert!(got < n); }
            }
            Err(GenerateError::SeedNotAnalysed(_)) | Err(GenerateError::NoSeeds) => {
                prop_assert!(matches!(req.target, Target::Like(_)));
            }
            Err(e) => prop_assert!(false, "{}", e),
        }
    }
}

/// A library where everything is allowed, for the variety and message tests.
fn open_pool(n: usize) -> Pool {
    let mut pool = Pool::default();
    for i in 0..n {
        let x = (i as f32 * 0.618).fract() * 2.0 - 1.0;
        let y = (i as f32 * 0.414).fract() * 2.0 - 1.0;
        Arc::make_mut(&mut pool.candidates).push(Candidate {
            id: i as i64 + 1,
            artist: format!("Artist {i}"),
            album_artist: String::new(),
            album: format!("Album {i}"),
            duration_secs: 200.0,
            valence: x,
            arousal: y,
            embedding: Vec::new(),
            scene: None,
        });
    }
    pool
}

/// Over 20 seeds' playlists made from `pool` at `variety`, scored with the scenes of
/// `truth`: the mean share of a playlist's biggest scene, the scenes used (summed), and the
/// mean distance to the target.
fn scene_spread(pool: &Pool, truth: &Pool, variety: f32) -> (f32, usize, f32) {
    let scene: HashMap<i64, Option<i64>> =
        truth.candidates.iter().map(|c| (c.id, c.scene)).collect();
    let (mut top, mut used, mut dist) = (0.0f32, 0usize, 0.0f32);
    for seed in 0..20 {
        let req = Request {
            target: Target::Point {
                valence: 0.4,
                arousal: -0.3,
            },
            size: Size::Count(20),
            variety,
            seed,
        };
        let g = generate(pool, &req).unwrap();
        let mut per: HashMap<i64, usize> = HashMap::new();
        for id in &g.tracks {
            if let Some(s) = scene[id] {
                *per.entry(s).or_default() += 1;
            }
        }
        top += *per.values().max().unwrap_or(&0) as f32 / 20.0;
        used += per.len();
        dist += g.distances.iter().sum::<f32>() / 20.0;
    }
    (top / 20.0, used, dist / 20.0)
}

#[test]
fn variety_spreads_picks_across_scenes() {
    // Eight scenes; the tracks nearest the target are mostly scene 0 (as when one scene
    // owns a corner of the plane).
    let mut pool = open_pool(2000);
    for c in Arc::make_mut(&mut pool.candidates).iter_mut() {
        let near = (c.valence - 0.4).hypot(c.arousal + 0.3) < 0.3;
        c.scene = Some(if near && c.id % 5 != 0 { 0 } else { c.id % 8 });
    }
    // The same library, scenes unknown.
    let mut blind = pool.clone();
    for c in Arc::make_mut(&mut blind.candidates).iter_mut() {
        c.scene = None;
    }
    // Variety 0 is the closest tracks, scenes or not.
    let closest = |p: &Pool| {
        let req = Request {
            target: Target::Quadrant(Quadrant::Q4),
            size: Size::Count(20),
            variety: 0.0,
            seed: 3,
        };
        generate(p, &req).unwrap().tracks
    };
    assert_eq!(closest(&pool), closest(&blind));
    // With variety, knowing the scenes uses more of them and leans less on the biggest,
    // at a small cost in closeness.
    let (top_blind, used_blind, dist_blind) = scene_spread(&blind, &pool, 0.5);
    let (top_seen, used_seen, dist_seen) = scene_spread(&pool, &pool, 0.5);
    assert!(
        top_seen < top_blind - 0.1,
        "biggest scene's share: {top_seen} knowing scenes, {top_blind} blind"
    );
    assert!(
        used_seen > used_blind,
        "scenes used: {used_seen} knowing scenes, {used_blind} blind"
    );
    assert!(
        dist_seen < dist_blind + 0.1,
        "mean distance: {dist_seen} knowing scenes, {dist_blind} blind"
    );
}

#[test]
fn an_impossible_request_names_the_rule_that_blocked_it() {
    // Six tracks by two artists: three tracks in a row need a third artist.
    let mut pool = open_pool(6);
    for (i, c) in Arc::make_mut(&mut pool.candidates).iter_mut().enumerate() {
        c.artist = format!("Duo {}", i % 2);
    }
    let req = Request {
        target: Target::Point {
            valence: 0.0,
            arousal: 0.0,
        },
        size: Size::Count(5),
        variety: 0.0,
        seed: 0,
    };
    let e = generate(&pool, &req).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("only 2 tracks") && text.contains("an artist again within 3 tracks: 4"),
        "{text}"
    );
    // Everything recently played: that is the reason given.
    let mut pool = open_pool(30);
    pool.played_recently = (1..=30).collect();
    let text = generate(&pool, &req).unwrap_err().to_string();
    assert!(text.contains("played in the last 24 hours: 30"), "{text}");
    // Too few Calm tracks.
    let pool = open_pool(30);
    let calm = pool
        .candidates
        .iter()
        .filter(|c| Quadrant::of_point(c.valence, c.arousal) == Quadrant::Q4)
        .count();
    let req = Request {
        target: Target::Quadrant(Quadrant::Q4),
        size: Size::Count(calm + 1),
        ..req
    };
    let text = generate(&pool, &req).unwrap_err().to_string();
    assert!(text.contains("not Calm (Q4): "), "{text}");
}

#[test]
fn a_region_playlist_keeps_to_its_rectangle_nearest_the_centre_first() {
    let pool = open_pool(400);
    let (valence, arousal) = ((-0.2, 0.4), (-0.5, 0.1));
    let inside = |c: &Candidate| {
        (valence.0..=valence.1).contains(&c.valence) && (arousal.0..=arousal.1).contains(&c.arousal)
    };
    let n_inside = pool.candidates.iter().filter(|c| inside(c)).count();
    assert!(n_inside > 20, "{n_inside}");
    let req = Request {
        target: Target::Region { valence, arousal },
        size: Size::Count(10),
        variety: 0.0,
        seed: 3,
    };
    let got = generate(&pool, &req).expect("a region playlist");
    assert_eq!(got.tracks.len(), 10);
    let by_id: HashMap<i64, &Candidate> = pool.candidates.iter().map(|c| (c.id, c)).collect();
    for id in &got.tracks {
        assert!(inside(by_id[id]), "track {id} is outside the region");
    }
    // With no variety, the picks are the region's tracks nearest its centre.
    let centre = ((valence.0 + valence.1) / 2.0, (arousal.0 + arousal.1) / 2.0);
    let d = |c: &Candidate| (c.valence - centre.0).hypot(c.arousal - centre.1);
    let mut all: Vec<f32> = pool
        .candidates
        .iter()
        .filter(|c| inside(c))
        .map(&d)
        .collect();
    all.sort_by(f32::total_cmp);
    let worst_picked = got
        .tracks
        .iter()
        .map(|id| d(by_id[id]))
        .fold(0.0f32, f32::max);
    assert!(worst_picked <= all[9] + 1e-6, "{worst_picked} > {}", all[9]);
    // Asking for more than the region holds names the rule.
    let req = Request {
        size: Size::Count(n_inside + 1),
        ..req
    };
    let text = generate(&pool, &req).unwrap_err().to_string();
    assert!(text.contains("outside the region: "), "{text}");
}

#[test]
fn a_minutes_playlist_lands_within_five_percent() {
    let mut pool = open_pool(300);
    for (i, c) in Arc::make_mut(&mut pool.candidates).iter_mut().enumerate() {
        c.duration_secs = 120.0 + (i * 37 % 300) as f64;
    }
    for minutes in [10.0, 45.0, 60.0, 90.0] {
        let g = generate(
            &pool,
            &Request {
                target: Target::Quadrant(Quadrant::Q1),
                size: Size::Minutes(minutes),
                variety: 0.3,
                seed: 9,
            },
        )
        .unwrap();
        let asked = minutes * 60.0;
        assert!(
            (g.total_secs - asked).abs() <= 0.05 * asked,
            "{} s for {minutes} min",
            g.total_secs
        );
    }
}

// ---- kept playlists, the library route, M3U8 -----------------------------------------

#[test]
fn playlists_are_kept_renamed_reordered_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = mood_lib(dir.path());
    let v = version();
    let id = lib.create_playlist("Mine", None, &[3, 1, 2, 42]).unwrap();
    let p = lib.playlist(&v, id).unwrap().unwrap();
    let ids: Vec<i64> = p.tracks.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![3, 1, 2], "an unknown track is not added");
    assert_eq!(p.summary.tracks, 3);
    assert_eq!(p.summary.duration_secs, 600.0);
    assert!(lib.rename_playlist(id, "  Evening  ").unwrap());
    assert!(lib.set_playlist_tracks(id, &[2, 3]).unwrap());
    let p = lib.playlist(&v, id).unwrap().unwrap();
    assert_eq!(p.summary.name, "Evening");
    assert_eq!(
        p.tracks.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(lib.find_playlist("Evening").unwrap(), Some(id));
    assert_eq!(lib.find_playlist(&id.to_string()).unwrap(), Some(id));
    assert_eq!(lib.playlists().unwrap().len(), 1);
    // A track leaving the library leaves the playlist.
    lib.conn
        .execute("DELETE FROM tracks WHERE id = 3", [])
        .unwrap();
    assert_eq!(lib.playlist(&v, id).unwrap().unwrap().tracks.len(), 1);
    assert!(lib.delete_playlist(id).unwrap());
    assert!(!lib.delete_playlist(id).unwrap());
    assert!(lib.playlists().unwrap().is_empty());
    assert!(!lib.rename_playlist(id, "x").unwrap());
}

#[test]
fn made_playlists_follow_the_library_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = mood_lib(dir.path());
    let (v, cal) = (version(), Calibration::default());
    let req = |target| Request {
        target,
        size: Size::Count(2),
        variety: 0.0,
        seed: 1,
    };
    // Never-in-playlists and played-in-the-last-24-hours come from the library.
    let made = lib
        .make_playlist(&v, &cal, &req(Target::Quadrant(Quadrant::Q1)), NOW)
        .unwrap();
    assert_eq!(made.generated.tracks.len(), 2);
    assert_eq!(made.name, "Happy (Q1), 2 tracks");
    lib.set_never_in_playlists(2, true).unwrap();
    let e = lib
        .make_playlist(&v, &cal, &req(Target::Quadrant(Quadrant::Q1)), NOW)
        .unwrap_err();
    assert!(
        e.to_string().contains("marked never in playlists: 1"),
        "{e}"
    );
    lib.set_never_in_playlists(2, false).unwrap();
    play(&mut lib, 1, NOW - DAY + 5, 3.0);
    let e = lib
        .make_playlist(&v, &cal, &req(Target::Quadrant(Quadrant::Q1)), NOW)
        .unwrap_err();
    assert!(
        e.to_string().contains("played in the last 24 hours: 1"),
        "{e}"
    );
    // A day later it may come back.
    assert!(lib
        .make_playlist(&v, &cal, &req(Target::Quadrant(Quadrant::Q1)), NOW + 10)
        .is_ok());
    // My mood now needs listening.
    let e = lib
        .make_playlist(&v, &cal, &req(Target::Now), NOW)
        .unwrap_err();
    assert!(
        matches!(e, PlaylistError::NotEnoughListening { plays: 0, .. }),
        "{e}"
    );
    for k in 0..3 {
        play(&mut lib, 3, NOW - 3 * DAY + k, 200.0);
    }
    let made = lib.make_playlist(&v, &cal, &req(Target::Now), NOW).unwrap();
    assert_eq!(made.mood_now.unwrap().mood.quadrant, Quadrant::Q3);
    assert!(
        made.name.starts_with("Your mood now: Sad (Q3)"),
        "{}",
        made.name
    );
    // More like track 1: not track 1, and the closest in mood and sound first.
    let made = lib
        .make_playlist(&v, &cal, &req(Target::Like(vec![2])), NOW + 2 * DAY)
        .unwrap();
    assert!(!made.generated.tracks.contains(&2));
    assert_eq!(made.generated.tracks[0], 1);
}

#[test]
fn m3u8_export_and_import_through_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    let mut lib = mood_lib(&music);
    for id in 1..=6 {
        std::fs::write(music.join(format!("{id}.flac")), b"x").unwrap();
    }
    let v = version();
    let id = lib.create_playlist("Out", None, &[4, 1, 6]).unwrap();
    // Under the music folder: relative paths.
    let file = music.join("out.m3u8");
    assert_eq!(lib.export_playlist(&v, id, &file).unwrap(), 3);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("#EXTM3U\n"), "{text}");
    assert!(text.contains("#EXTINF:200,D - Calm 1\n4.flac\n"), "{text}");
    // Elsewhere: absolute paths.
    let other = dir.path().join("lists/out.m3u8");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    lib.export_playlist(&v, id, &other).unwrap();
    let text = std::fs::read_to_string(&other).unwrap();
    assert!(
        text.contains(&format!("\n{}\n", music.join("4.flac").display())),
        "{text}"
    );
    // Import: the three come back in order; a missing file and a stranger are reported.
    std::fs::write(dir.path().join("stranger.mp3"), b"x").unwrap();
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("#EXTINF:100,Gone - Gone\ngone.flac\n../stranger.mp3\n");
    std::fs::write(&file, text).unwrap();
    let r = lib.import_playlist(&file, None).unwrap();
    assert_eq!((r.entries, r.added, r.name.as_str()), (5, 3, "out"));
    assert_eq!(r.missing.len(), 2);
    assert_eq!(r.missing[0].reason, "file not found");
    assert_eq!(
        (r.missing[0].line, &r.missing[0].path),
        (9, &music.join("gone.flac"))
    );
    assert!(r.missing[1].reason.starts_with("not in the library"));
    assert_eq!(r.missing[1].line, 10);
    let p = lib.playlist(&v, r.playlist_id).unwrap().unwrap();
    assert_eq!(
        p.tracks.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![4, 1, 6]
    );
    assert_eq!(
        lib.track(4).unwrap().map(|t| t.path),
        Some(music.join("4.flac"))
    );
}

// ---- history import ------------------------------------------------------------------

#[test]
fn imports_match_by_artist_and_title_and_report_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = library(
        dir.path(),
        &[
            t("Beyoncé", "Halo", 261.0, Some((0.5, 0.4))),
            t("Sigur Rós", "Hoppípolla", 268.0, Some((0.3, -0.2))),
            t("Daft Punk", "Get Lucky", 248.0, Some((0.7, 0.5))),
        ],
    );
    // ListenBrainz: accents, case and a "feat." credit differ from the tags; one listen
    // is not in the library; one row has no artist; one has no time.
    let lb = format!(
        r#"[
        {{"listened_at": {a}, "track_metadata": {{"artist_name": "BEYONCE", "track_name": "halo"}}}},
        {{"listened_at": {b}, "track_metadata": {{"artist_name": "Daft Punk feat. Pharrell Williams", "track_name": "Get Lucky (feat. Pharrell Williams)", "additional_info": {{"duration_ms": 248000}}}}}},
        {{"listened_at": {c}, "track_metadata": {{"artist_name": "Sigur Ros", "track_name": "Hoppipolla"}}}},
        {{"listened_at": {c}, "track_metadata": {{"artist_name": "Unknown Band", "track_name": "Elsewhere"}}}},
        {{"listened_at": {c}, "track_metadata": {{"track_name": "No Artist"}}}},
        {{"track_metadata": {{"artist_name": "Daft Punk", "track_name": "Get Lucky"}}}}
    ]"#,
        a = NOW - 3 * DAY,
        b = NOW - 2 * DAY,
        c = NOW - DAY
    );
    let parsed = import::parse_history(lb.as_bytes()).unwrap();
    let r = lib.import_history(&parsed).unwrap();
    assert_eq!(r.format, import::HistoryFormat::ListenBrainz);
    assert_eq!((r.listens, r.matched, r.added), (4, 3, 3));
    assert_eq!(r.unmatched.len(), 1);
    assert_eq!(
        (r.unmatched[0].artist.as_str(), r.unmatched[0].listens),
        ("Unknown Band", 1)
    );
    assert_eq!(
        r.bad.iter().map(|b| b.line).collect::<Vec<_>>(),
        vec![5, 6],
        "{:?}",
        r.bad
    );
    // Stored as counted plays of the right tracks; the history and the mood see them.
    let plays = lib.history(10, true).unwrap();
    assert_eq!(plays.len(), 3);
    assert!(plays.iter().all(|p| p.ended.is_none() && p.counts));
    let by_title: HashMap<&str, Option<i64>> = plays
        .iter()
        .map(|p| (p.title.as_str(), p.track_id))
        .collect();
    assert_eq!(by_title["halo"], Some(1));
    assert_eq!(by_title["Hoppipolla"], Some(2));
    assert!(reading(&lib, MoodMethod::Week).mood().is_some());
    // Importing the same file again adds nothing.
    let again = lib.import_history(&parsed).unwrap();
    assert_eq!((again.matched, again.added), (3, 0));
    assert_eq!(lib.play_count().unwrap(), 3);

    // Last.fm CSV, the headerless shape, with a malformed date.
    let csv = "Daft Punk,Random Access Memories,Get Lucky,31 Jan 2021 12:34\n\
               Daft Punk,Random Access Memories,Get Lucky,someday\n\
               Nobody,Nothing,Nowhere,31 Jan 2021 12:40\n";
    let parsed = import::parse_history(csv.as_bytes()).unwrap();
    let r = lib.import_history(&parsed).unwrap();
    assert_eq!(r.format, import::HistoryFormat::LastFm);
    assert_eq!((r.listens, r.matched, r.added), (2, 1, 1));
    assert_eq!(r.bad.len(), 1);
    assert_eq!(r.bad[0].line, 2);
    assert_eq!(r.unmatched[0].title, "Nowhere");
}

#[test]
fn the_kept_candidates_follow_every_change_and_never_cross_libraries() {
    let dir = tempfile::tempdir().unwrap();
    let v = version();
    let lib = mood_lib(dir.path());
    let point = |lib: &Library, id: i64| {
        lib.playlist_pool(&v, NOW)
            .unwrap()
            .candidates
            .iter()
            .find(|c| c.id == id)
            .map(|c| (c.valence, c.arousal))
    };
    assert_eq!(point(&lib, 1), Some((0.6, 0.4)));
    assert_eq!(lib.playlist_pool(&v, NOW).unwrap().candidates.len(), 5);
    // A new result, a deleted track, a changed file: each is seen at once.
    lib.conn
        .execute("UPDATE analysis SET valence = -0.9 WHERE track_id = 1", [])
        .unwrap();
    assert_eq!(point(&lib, 1), Some((-0.9, 0.4)));
    lib.conn
        .execute("DELETE FROM tracks WHERE id = 2", [])
        .unwrap();
    assert_eq!(point(&lib, 2), None);
    lib.conn
        .execute("UPDATE tracks SET size = 5 WHERE id = 3", [])
        .unwrap();
    assert_eq!(point(&lib, 3), None, "a changed file's result is stale");
    // Another library with as many changes: its own tracks, not the first one's.
    let other = library(
        dir.path(),
        &[
            t("X", "One", 200.0, Some((0.1, 0.1))),
            t("Y", "Two", 200.0, Some((0.2, 0.2))),
            t("Z", "Three", 200.0, Some((0.3, 0.3))),
            t("W", "Four", 200.0, Some((0.4, 0.4))),
            t("V", "Five", 200.0, None),
            t("U", "Six", 200.0, Some((0.5, 0.5))),
        ],
    );
    assert_eq!(point(&other, 1), Some((0.1, 0.1)));
    assert_eq!(point(&lib, 4), Some((0.5, -0.5)));
}
