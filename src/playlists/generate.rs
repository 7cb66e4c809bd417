//! Mood playlists: N tracks or M minutes for a target mood, under the rules listeners expect.
//!
//! Targets ([`Target`]): a quadrant, a valence/arousal point, "my mood now" (resolved to its
//! point by the caller, see `Library::make_playlist`), or "more like these tracks".
//!
//! Every eligible track gets a distance `d` to the target:
//! - a point: the Euclidean distance of the track's valence/arousal point to it;
//! - a quadrant: only tracks whose point lies in it are eligible; the distance is to the
//!   quadrant's *clear* point, the 75th percentile of |valence| and of |arousal| among the
//!   library's tracks in that quadrant (signed), so "calm" means clearly calm on this
//!   library's own scale (arousal spreads less than valence, see issue 11);
//! - like these tracks: `0.5 * |p - p_seeds| + 0.5 * (1 - cos(e, e_seeds))`, the mood
//!   distance to the seeds' mean point plus the cosine distance of the musicnn embedding to
//!   the seeds' mean embedding (a track without an embedding takes the cosine distance 1).
//!
//! Tracks are then picked one at a time, in playlist order. Each pick is drawn among the
//! tracks that keep every rule, with weight `exp(-(d - d_best) / t)`, `t = variety *
//! VARIETY_SCALE`: variety 0 takes the closest track every time; at variety 1 a track 0.15
//! further from the target than the closest one left is drawn 1/e as often. Variety also
//! spreads the picks across theme scenes, as seed 000 intends: a track whose main scene
//! already has `k` tracks in the playlist has its weight multiplied by
//! `exp(-variety * SCENE_SPREAD * k)` (tracks without a scene are not held back). So at the
//! window's variety 0.3 a fourth track of one scene is drawn 0.41 times as often as it would
//! be otherwise; at variety 0 nothing changes. The draw uses a ChaCha8 generator seeded with
//! the request's seed: the same inputs and seed give the same playlist.
//!
//! The rules (each a test in `playlists::tests`): the seeds are not in the result; nothing
//! played in the last 24 h; tracks marked "never in playlists" are left out; no artist twice
//! within 3 tracks; at most 2 tracks of an album; for minutes, the total length within 5 %
//! of the minutes asked. When the library cannot satisfy a request the error counts the
//! tracks each rule blocked.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use rand::{Rng as _, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::mood::Quadrant;

/// Distance scale of variety 1 (valence/arousal units).
pub const VARIETY_SCALE: f32 = 0.15;
/// How strongly variety 1 holds back a scene per track of it already picked (see the
/// module doc).
pub const SCENE_SPREAD: f64 = 1.0;
/// A minutes playlist ends within this share of the length asked.
pub const LENGTH_TOLERANCE: f64 = 0.05;
/// Tracks played this recently are not picked.
pub const RECENT_SECS: i64 = 24 * 3600;
/// An artist appears at most once in any run of this many consecutive tracks.
pub const ARTIST_WINDOW: usize = 3;
/// Tracks of one album in a playlist, at most.
pub const PER_ALBUM: usize = 2;

/// What the playlist is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Quadrant(Quadrant),
    Point {
        valence: f32,
        arousal: f32,
    },
    /// The listener's mood now (seed 000's method), resolved to its point when made.
    Now,
    /// More like these tracks (ids).
    Like(Vec<i64>),
    /// The tracks inside a rectangle of the plane (dragged out on the map), nearest its
    /// centre first.
    Region {
        valence: (f32, f32),
        arousal: (f32, f32),
    },
}

/// How long.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    Count(usize),
    Minutes(f64),
}

/// A playlist request; stored with the playlist as its recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub target: Target,
    pub size: Size,
    /// 0 = the closest tracks, 1 = a wide spread around the target.
    pub variety: f32,
    pub seed: u64,
}

impl Target {
    /// "Calm (Q4)", "valence +0.40, arousal -0.30", "your mood now", "like 2 tracks".
    pub fn describe(&self) -> String {
        match self {
            Target::Quadrant(q) => format!("{} ({})", q.label(), q.name()),
            Target::Point { valence, arousal } => {
                format!("valence {valence:+.2}, arousal {arousal:+.2}")
            }
            Target::Now => "your mood now".into(),
            Target::Like(ids) if ids.len() == 1 => "more like 1 track".into(),
            Target::Like(ids) => format!("more like {} tracks", ids.len()),
            Target::Region { valence, arousal } => format!(
                "valence {:+.2} to {:+.2}, arousal {:+.2} to {:+.2}",
                valence.0, valence.1, arousal.0, arousal.1
            ),
        }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Size::Count(n) => write!(f, "{n} tracks"),
            Size::Minutes(m) => write!(f, "{m} minutes"),
        }
    }
}

/// A track a playlist may use: an analysed, playable library track.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: i64,
    pub artist: String,
    /// Empty when not tagged; the album is then the track artist's.
    pub album_artist: String,
    pub album: String,
    pub duration_secs: f64,
    pub valence: f32,
    pub arousal: f32,
    /// musicnn embedding (empty when not loaded: only "more like these" needs it).
    pub embedding: Vec<f32>,
    /// The track's main theme scene (none before scenes are fitted).
    pub scene: Option<i64>,
}

/// The library as playlists see it.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    /// Shared: the window keeps the last library read (`Library::playlist_pool`).
    pub candidates: Arc<Vec<Candidate>>,
    /// Marked "never in playlists".
    pub excluded: HashSet<i64>,
    /// Played (counted or not) in the last 24 h.
    pub played_recently: HashSet<i64>,
    /// Playable tracks without a current analysis (they have no mood yet).
    pub unanalysed: usize,
}

/// The rules a track can be blocked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    Seed,
    Excluded,
    PlayedRecently,
    OtherQuadrant,
    OutsideRegion,
    ArtistRepeat,
    AlbumLimit,
    Length,
}

impl Rule {
    /// What the blocked tracks are, as a label for a count ("played in the last 24 hours: 3").
    fn describe(self, target: &Target) -> String {
        match self {
            Rule::Seed => "the tracks to be like".into(),
            Rule::Excluded => "marked never in playlists".into(),
            Rule::PlayedRecently => "played in the last 24 hours".into(),
            Rule::OtherQuadrant => match target {
                Target::Quadrant(q) => format!("not {} ({})", q.label(), q.name()),
                _ => "in another quadrant".into(),
            },
            Rule::OutsideRegion => "outside the region".into(),
            Rule::ArtistRepeat => format!("an artist again within {ARTIST_WINDOW} tracks"),
            Rule::AlbumLimit => format!("more than {PER_ALBUM} tracks of one album"),
            Rule::Length => "too long for the minutes left".into(),
        }
    }
}

/// A made playlist.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Generated {
    pub tracks: Vec<i64>,
    pub total_secs: f64,
    /// Each track's distance to the target, in order.
    pub distances: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GenerateError {
    /// The library cannot satisfy the request: what it got and what blocked the rest.
    #[error("{}", unsatisfiable_text(.target, .size, *.got, *.got_secs, .blocked, *.unanalysed))]
    Unsatisfiable {
        target: Target,
        size: Size,
        got: usize,
        got_secs: f64,
        /// Tracks blocked by each rule, largest first.
        blocked: Vec<(Rule, usize)>,
        unanalysed: usize,
    },
    #[error("ask for at least one track or minute")]
    EmptySize,
    #[error("track {0} has no current analysis, so nothing can be matched to it")]
    SeedNotAnalysed(i64),
    #[error("name at least one track to be like")]
    NoSeeds,
}

fn unsatisfiable_text(
    target: &Target,
    size: &Size,
    got: usize,
    got_secs: f64,
    blocked: &[(Rule, usize)],
    unanalysed: usize,
) -> String {
    let mut s = format!(
        "cannot make {size} for {}: only {got} tracks ({:.0} min) fit the rules",
        target.describe(),
        got_secs / 60.0
    );
    let reasons: Vec<String> = blocked
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(r, n)| format!("{}: {n}", r.describe(target)))
        .collect();
    if reasons.is_empty() {
        s.push_str("; the library has no more analysed tracks");
    } else {
        s.push_str(&format!("; tracks blocked by rule: {}", reasons.join(", ")));
    }
    if unanalysed > 0 {
        s.push_str(&format!("; {unanalysed} tracks are not analysed yet"));
    }
    s
}

/// Artist and album keys: case-insensitive, trimmed. An empty artist or album is unknown and
/// limits nothing (two untagged tracks are not known to share an artist).
fn key(s: &str) -> Option<String> {
    let k = s.trim().to_lowercase();
    (!k.is_empty()).then_some(k)
}

fn point_distance(c: &Candidate, v: f32, a: f32) -> f32 {
    ((c.valence - v).powi(2) + (c.arousal - a).powi(2)).sqrt()
}

fn cosine(x: &[f32], y: &[f32]) -> f32 {
    if x.is_empty() || x.len() != y.len() {
        return 0.0;
    }
    let (mut dot, mut nx, mut ny) = (0.0f32, 0.0f32, 0.0f32);
    for (a, b) in x.iter().zip(y) {
        dot += a * b;
        nx += a * a;
        ny += b * b;
    }
    if nx <= 0.0 || ny <= 0.0 {
        0.0
    } else {
        dot / (nx.sqrt() * ny.sqrt())
    }
}

/// The quadrant's clear point on the scale of a library's `points` (see the module doc):
/// the 75th percentile of |valence| and of |arousal| among its points in `q`, signed.
pub fn clear_point(points: impl Iterator<Item = (f32, f32)>, q: Quadrant) -> (f32, f32) {
    let (mut vs, mut as_): (Vec<f32>, Vec<f32>) = points
        .filter(|&(v, a)| Quadrant::of_point(v, a) == q)
        .map(|(v, a)| (v.abs(), a.abs()))
        .unzip();
    let p75 = |x: &mut Vec<f32>| -> f32 {
        if x.is_empty() {
            return 0.5;
        }
        x.sort_by(f32::total_cmp);
        x[(x.len() * 3 / 4).min(x.len() - 1)]
    };
    (
        q.valence_sign() as f32 * p75(&mut vs),
        q.arousal_sign() as f32 * p75(&mut as_),
    )
}

/// The distance function of a resolved target (`Target::Now` must already be a point).
enum Scorer {
    Point(f32, f32),
    InQuadrant(Quadrant, f32, f32),
    InRegion((f32, f32), (f32, f32)),
    Like {
        v: f32,
        a: f32,
        embedding: Vec<f32>,
        seeds: HashSet<i64>,
    },
}

impl Scorer {
    fn new(pool: &Pool, target: &Target) -> Result<Self, GenerateError> {
        Ok(match target {
            Target::Point { valence, arousal } => Scorer::Point(*valence, *arousal),
            // Resolved by the caller; an unresolved one reads as the plane's centre.
            Target::Now => Scorer::Point(0.0, 0.0),
            Target::Quadrant(q) => {
                let (v, a) =
                    clear_point(pool.candidates.iter().map(|c| (c.valence, c.arousal)), *q);
                Scorer::InQuadrant(*q, v, a)
            }
            Target::Region { valence, arousal } => Scorer::InRegion(*valence, *arousal),
            Target::Like(ids) => {
                if ids.is_empty() {
                    return Err(GenerateError::NoSeeds);
                }
                let by_id: HashMap<i64, &Candidate> =
                    pool.candidates.iter().map(|c| (c.id, c)).collect();
                let mut seeds = Vec::with_capacity(ids.len());
                for id in ids {
                    seeds.push(*by_id.get(id).ok_or(GenerateError::SeedNotAnalysed(*id))?);
                }
                let n = seeds.len() as f32;
                let v = seeds.iter().map(|c| c.valence).sum::<f32>() / n;
                let a = seeds.iter().map(|c| c.arousal).sum::<f32>() / n;
                let dim = seeds.iter().map(|c| c.embedding.len()).max().unwrap_or(0);
                let mut embedding = vec![0.0f32; dim];
                for c in &seeds {
                    // Each seed's direction counts the same, whatever its norm.
                    let norm = c.embedding.iter().map(|x| x * x).sum::<f32>().sqrt();
                    if c.embedding.len() == dim && norm > 0.0 {
                        for (e, x) in embedding.iter_mut().zip(&c.embedding) {
                            *e += x / norm;
                        }
                    }
                }
                Scorer::Like {
                    v,
                    a,
                    embedding,
                    seeds: ids.iter().copied().collect(),
                }
            }
        })
    }

    /// The track's distance, or the rule of the target that blocks it.
    fn score(&self, c: &Candidate) -> Result<f32, Rule> {
        match self {
            Scorer::Point(v, a) => Ok(point_distance(c, *v, *a)),
            Scorer::InQuadrant(q, v, a) => {
                if Quadrant::of_point(c.valence, c.arousal) == *q {
                    Ok(point_distance(c, *v, *a))
                } else {
                    Err(Rule::OtherQuadrant)
                }
            }
            Scorer::InRegion(v, a) => {
                if (v.0..=v.1).contains(&c.valence) && (a.0..=a.1).contains(&c.arousal) {
                    Ok(point_distance(c, (v.0 + v.1) / 2.0, (a.0 + a.1) / 2.0))
                } else {
                    Err(Rule::OutsideRegion)
                }
            }
            Scorer::Like {
                v,
                a,
                embedding,
                seeds,
            } => {
                if seeds.contains(&c.id) {
                    return Err(Rule::Seed);
                }
                let cos = if c.embedding.is_empty() {
                    0.0
                } else {
                    cosine(&c.embedding, embedding)
                };
                Ok(0.5 * point_distance(c, *v, *a) + 0.5 * (1.0 - cos))
            }
        }
    }
}

/// One eligible track, its keys resolved once.
struct Eligible {
    index: usize,
    d: f32,
    scene: Option<i64>,
    artist: Option<String>,
    album: Option<(Option<String>, String)>,
    secs: f64,
}

/// Makes a playlist from `pool` for `req` (see the module doc for the method and rules).
pub fn generate(pool: &Pool, req: &Request) -> Result<Generated, GenerateError> {
    match req.size {
        Size::Count(0) => return Err(GenerateError::EmptySize),
        Size::Minutes(m) if !(m.is_finite() && m > 0.0) => return Err(GenerateError::EmptySize),
        _ => {}
    }
    let scorer = Scorer::new(pool, &req.target)?;
    let mut blocked: HashMap<Rule, usize> = HashMap::new();
    let mut eligible: Vec<Eligible> = Vec::new();
    for (index, c) in pool.candidates.iter().enumerate() {
        let verdict = if pool.excluded.contains(&c.id) {
            Err(Rule::Excluded)
        } else {
            scorer.score(c).and_then(|d| {
                if pool.played_recently.contains(&c.id) {
                    Err(Rule::PlayedRecently)
                } else {
                    Ok(d)
                }
            })
        };
        match verdict {
            // Keys come later, for the tracks the picking looks at.
            Ok(d) => eligible.push(Eligible {
                index,
                d: if d.is_finite() { d } else { f32::MAX },
                scene: c.scene,
                artist: None,
                album: None,
                secs: if c.duration_secs.is_finite() {
                    c.duration_secs.max(0.0)
                } else {
                    0.0
                },
            }),
            Err(rule) => *blocked.entry(rule).or_default() += 1,
        }
    }
    // Closest first; ties by id, so the order never depends on the pool's order.
    let closer = |x: &Eligible, y: &Eligible| {
        x.d.total_cmp(&y.d).then_with(|| {
            pool.candidates[x.index]
                .id
                .cmp(&pool.candidates[y.index].id)
        })
    };

    // Most picks look at the head of the list only; a failure there retries on all of it.
    let need = match req.size {
        Size::Count(n) => n,
        Size::Minutes(m) => {
            let mut secs: Vec<f64> = eligible.iter().map(|o| o.secs).collect();
            secs.sort_by(f64::total_cmp);
            let median = secs.get(secs.len() / 2).copied().unwrap_or(180.0).max(30.0);
            (m * 60.0 / median).ceil() as usize + 2
        }
    };
    let variety = if req.variety.is_finite() {
        req.variety.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let head = need
        .saturating_mul(8 + (120.0 * variety) as usize)
        .max(64)
        .min(eligible.len());
    // Only the head is sorted and keyed at first (100,000 tracks: most are never looked at).
    if head < eligible.len() {
        eligible.select_nth_unstable_by(head, closer);
    }
    eligible[..head].sort_by(closer);
    add_keys(&mut eligible[..head], pool);
    let first = pick(&eligible[..head], req, variety);
    let outcome = match first {
        Ok(p) => Ok(p),
        Err(_) if head < eligible.len() => {
            eligible[head..].sort_by(closer);
            add_keys(&mut eligible[head..], pool);
            pick(&eligible, req, variety)
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(chosen) => Ok(Generated {
            tracks: chosen
                .iter()
                .map(|&i| pool.candidates[eligible[i].index].id)
                .collect(),
            total_secs: chosen.iter().map(|&i| eligible[i].secs).sum(),
            distances: chosen.iter().map(|&i| eligible[i].d).collect(),
        }),
        Err(stuck) => {
            for (rule, n) in stuck.blocked {
                *blocked.entry(rule).or_default() += n;
            }
            let mut blocked: Vec<(Rule, usize)> = blocked.into_iter().collect();
            blocked.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
            Err(GenerateError::Unsatisfiable {
                target: req.target.clone(),
                size: req.size,
                got: stuck.got,
                got_secs: stuck.got_secs,
                blocked,
                unanalysed: pool.unanalysed,
            })
        }
    }
}

/// The artist and album keys of `list`'s tracks.
fn add_keys(list: &mut [Eligible], pool: &Pool) {
    for o in list {
        let c = &pool.candidates[o.index];
        o.artist = key(&c.artist);
        o.album = key(&c.album).map(|al| {
            let by = if c.album_artist.trim().is_empty() {
                &c.artist
            } else {
                &c.album_artist
            };
            (key(by), al)
        });
    }
}

/// Where picking stopped short, and what blocked the tracks left at that point.
struct Stuck {
    got: usize,
    got_secs: f64,
    blocked: Vec<(Rule, usize)>,
}

/// Dead ends undone before giving up (each costs one scan of the list).
const MAX_BACKTRACKS: usize = 256;

/// Picks indices into `list` (sorted by distance) one at a time under the rules. A pick may
/// lead into a dead end (the last minutes cannot be filled, or only the last two artists
/// are left): then the last pick is undone and not tried again at that position, up to
/// `MAX_BACKTRACKS` times.
fn pick(list: &[Eligible], req: &Request, variety: f32) -> Result<Vec<usize>, Stuck> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(req.seed);
    let temperature = variety * VARIETY_SCALE;
    let (count, min_secs, max_secs) = match req.size {
        Size::Count(n) => (n, 0.0, f64::INFINITY),
        Size::Minutes(m) => (
            usize::MAX,
            m * 60.0 * (1.0 - LENGTH_TOLERANCE),
            m * 60.0 * (1.0 + LENGTH_TOLERANCE),
        ),
    };
    // A pick that does not finish a minutes playlist must leave room for one more track.
    let shortest = list.iter().map(|o| o.secs).fold(f64::INFINITY, f64::min);
    let mut used = vec![false; list.len()];
    let mut chosen: Vec<usize> = Vec::new();
    // Tracks already tried (and undone) at each position.
    let mut banned: Vec<Vec<usize>> = vec![Vec::new()];
    let mut albums: HashMap<&(Option<String>, String), usize> = HashMap::new();
    // Picks so far per scene.
    let mut scenes: HashMap<i64, u32> = HashMap::new();
    let mut total = 0.0f64;
    let mut weights: Vec<(usize, f64)> = Vec::new();
    let mut backtracks = 0;
    // Where it got furthest, for the error.
    let mut furthest: Option<Stuck> = None;
    loop {
        let done = match req.size {
            Size::Count(_) => chosen.len() >= count,
            Size::Minutes(_) => total >= min_secs,
        };
        if done {
            return Ok(chosen);
        }
        // The artists of the last ARTIST_WINDOW - 1 picks may not come next.
        let recent: Vec<&str> = chosen
            .iter()
            .rev()
            .take(ARTIST_WINDOW - 1)
            .filter_map(|&i| list[i].artist.as_deref())
            .collect();
        let allowed = |o: &Eligible| -> Result<(), Rule> {
            if o.artist.as_deref().is_some_and(|a| recent.contains(&a)) {
                return Err(Rule::ArtistRepeat);
            }
            if o.album
                .as_ref()
                .is_some_and(|k| albums.get(k).copied().unwrap_or(0) >= PER_ALBUM)
            {
                return Err(Rule::AlbumLimit);
            }
            let after = total + o.secs;
            if after > max_secs || (after < min_secs && after + shortest > max_secs) {
                return Err(Rule::Length);
            }
            Ok(())
        };
        let tried = banned.last().map(Vec::as_slice).unwrap_or(&[]);
        weights.clear();
        let mut best: Option<f32> = None;
        for (i, o) in list.iter().enumerate() {
            if used[i] || tried.contains(&i) || allowed(o).is_err() {
                continue;
            }
            let d_best = *best.get_or_insert(o.d);
            if temperature <= 0.0 {
                weights.push((i, 1.0));
                break;
            }
            let w = (-f64::from((o.d - d_best) / temperature)).exp();
            // The list is sorted: everything further is weightless too.
            if w < 1e-6 {
                break;
            }
            let k = o.scene.and_then(|s| scenes.get(&s)).copied().unwrap_or(0);
            let spread = (-f64::from(variety) * SCENE_SPREAD * f64::from(k)).exp();
            weights.push((i, w * spread));
        }
        if weights.is_empty() {
            if furthest.as_ref().is_none_or(|f| chosen.len() > f.got) {
                let mut blocked: HashMap<Rule, usize> = HashMap::new();
                for (i, o) in list.iter().enumerate() {
                    if let (false, Err(rule)) = (used[i], allowed(o)) {
                        *blocked.entry(rule).or_default() += 1;
                    }
                }
                furthest = Some(Stuck {
                    got: chosen.len(),
                    got_secs: total,
                    blocked: blocked.into_iter().collect(),
                });
            }
            // Undo the last pick and try another there.
            let last = chosen.pop();
            banned.pop();
            match (last, banned.last_mut()) {
                (Some(last), Some(tried)) if backtracks < MAX_BACKTRACKS => {
                    backtracks += 1;
                    used[last] = false;
                    total -= list[last].secs;
                    if let Some(k) = &list[last].album {
                        if let Some(n) = albums.get_mut(k) {
                            *n = n.saturating_sub(1);
                        }
                    }
                    if let Some(n) = list[last].scene.and_then(|s| scenes.get_mut(&s)) {
                        *n = n.saturating_sub(1);
                    }
                    tried.push(last);
                    continue;
                }
                _ => {
                    return Err(furthest.unwrap_or(Stuck {
                        got: 0,
                        got_secs: 0.0,
                        blocked: Vec::new(),
                    }))
                }
            }
        }
        let sum: f64 = weights.iter().map(|(_, w)| w).sum();
        let mut r = rng.gen::<f64>() * sum;
        let mut next = weights[weights.len() - 1].0;
        for &(i, w) in &weights {
            if r < w {
                next = i;
                break;
            }
            r -= w;
        }
        used[next] = true;
        total += list[next].secs;
        if let Some(k) = &list[next].album {
            *albums.entry(k).or_default() += 1;
        }
        if let Some(s) = list[next].scene {
            *scenes.entry(s).or_default() += 1;
        }
        chosen.push(next);
        banned.push(Vec::new());
    }
}
