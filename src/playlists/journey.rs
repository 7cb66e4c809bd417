//! Mood journeys (the iso principle): a sequence of tracks that starts where the listener
//! is, bridges step by step, and settles where the session should end.
//!
//! **The path.** From the start point `S` to the target `T` on the valence-arousal plane, of
//! one of three shapes ([`Shape`]): direct (a straight line), arousal first (arousal moves,
//! then valence), valence first. Progress along it is measured as arc length.
//!
//! **The schedule.** Track `i` of `n` aims at the path point at progress `u(i)`: the first
//! [`HOLD_SHARE`] of the tracks stay at the start (matching the listener), the last
//! [`HOLD_SHARE`] at the target (settling), and the ones between move evenly along the path.
//!
//! **Choosing tracks** is a beam search over the sequence ([`BEAM`] partial journeys kept
//! after each step, each extended with the [`CANDIDATES`] tracks nearest its waypoint). A
//! journey's cost adds, for each track, the distance of its mean mood to its waypoint and
//! `seam_weight` times the jump at the seam: from how the previous track *ends* (its
//! closing mood, the last fifth of its timeline) to how this one *begins* (its opening
//! mood). With `seam_weight` 0 only the track means count; the seam test in
//! `playlists::tests` measures what the timelines buy.
//!
//! **Constraints** (each a test): no artist twice; each step between consecutive tracks'
//! means moves at most `max_step`; progress never goes back by more than
//! [`PROGRESS_TOLERANCE`]; pinned tracks stay at their positions; the first and last tracks
//! lie within [`ENDPOINT_RADIUS`] of the start and the target; for minutes, the total length
//! lands within 10 % of the duration asked. When none fits, the error names the constraint
//! and the step where it blocked.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// Share of the tracks at each end that hold the start and the target mood.
pub const HOLD_SHARE: f64 = 0.2;
/// Partial journeys kept after each step.
pub const BEAM: usize = 24;
/// Tracks tried at each step, the nearest to its waypoint.
pub const CANDIDATES: usize = 40;
/// How far back along the path a step may go (valence/arousal units).
pub const PROGRESS_TOLERANCE: f32 = 0.05;
/// The first and last tracks lie this close to the start and the target.
pub const ENDPOINT_RADIUS: f32 = 0.15;
/// A minutes journey lands within this share of the length asked.
pub const LENGTH_TOLERANCE: f64 = 0.10;
/// Default largest step between consecutive tracks.
pub const DEFAULT_MAX_STEP: f32 = 0.3;
/// The pin position of the journey's last track, whatever its length.
pub const LAST: usize = usize::MAX;
/// Default weight of the seam jump against the waypoint distance.
pub const DEFAULT_SEAM_WEIGHT: f32 = 1.0;
/// Added to the cost of a track the request asks to avoid: about half a default step, so
/// an avoided track is only taken back when nothing comparable fits.
pub const AVOID_PENALTY: f32 = 0.15;

/// The path's shape from the start to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    #[default]
    Direct,
    /// Arousal moves first, then valence.
    ArousalFirst,
    /// Valence moves first, then arousal.
    ValenceFirst,
}

/// A track a journey may use.
#[derive(Debug, Clone, PartialEq)]
pub struct Stop {
    pub id: i64,
    pub artist: String,
    pub duration_secs: f64,
    /// The track's mean mood.
    pub mean: (f32, f32),
    /// Its opening and closing moods (see `library::seam_points`).
    pub start: (f32, f32),
    pub end: (f32, f32),
}

/// How long.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Length {
    Count(usize),
    Minutes(f64),
}

/// A journey request, with its start and target already resolved to points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyRequest {
    pub from: (f32, f32),
    pub to: (f32, f32),
    pub length: Length,
    pub shape: Shape,
    pub max_step: f32,
    pub seam_weight: f32,
    /// Tracks that must sit at these positions (0-based; [`LAST`] is the last position),
    /// e.g. a start or target track.
    pub pins: Vec<(usize, i64)>,
    /// Breaks ties between equally good journeys; the same seed, the same journey.
    pub seed: u64,
    /// Tracks never used (the user swapped them out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<i64>,
    /// Tracks used only when nothing comparable fits (costing [`AVOID_PENALTY`] more):
    /// "regenerate the rest" avoids the tracks it replaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub avoid: Vec<i64>,
}

impl JourneyRequest {
    pub fn new(from: (f32, f32), to: (f32, f32), length: Length) -> Self {
        Self {
            from,
            to,
            length,
            shape: Shape::Direct,
            max_step: DEFAULT_MAX_STEP,
            seam_weight: DEFAULT_SEAM_WEIGHT,
            pins: Vec::new(),
            seed: 0,
            exclude: Vec::new(),
            avoid: Vec::new(),
        }
    }
}

/// A planned journey.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Journey {
    pub tracks: Vec<i64>,
    /// Each track's waypoint (where the schedule wanted it).
    pub waypoints: Vec<(f32, f32)>,
    pub total_secs: f64,
    /// Mean jump at the seams (closing mood to the next opening mood).
    pub mean_seam_jump: f32,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JourneyError {
    #[error("no track within {radius:.2} of the {which} (valence {v:+.2}, arousal {a:+.2}): add music near it or choose another {which}")]
    Endpoint {
        which: &'static str,
        radius: f32,
        v: f32,
        a: f32,
    },
    #[error("no track within {max_step:.2} of step {step} at valence {v:+.2}, arousal {a:+.2} that keeps {rule}: allow larger steps or add music")]
    Step {
        step: usize,
        v: f32,
        a: f32,
        max_step: f32,
        rule: &'static str,
    },
    #[error("no journey of {tracks} tracks lands within 10 % of {minutes} minutes: ask for another length")]
    Length { tracks: usize, minutes: f64 },
    #[error("a journey needs at least 2 tracks")]
    TooShort,
    #[error("{tracks} tracks are too few for this journey with steps of at most {max_step:.2}: it needs at least {needed} (ask for more tracks or minutes, or allow larger steps)")]
    TooFewTracks {
        tracks: usize,
        needed: usize,
        max_step: f32,
    },
    #[error("pinned track {0} is not an analysed track of the library")]
    UnknownPin(i64),
}

/// A polyline path with arc-length progress.
struct Path {
    points: Vec<(f32, f32)>,
    /// Cumulative arc length at each point.
    at: Vec<f32>,
}

fn dist(p: (f32, f32), q: (f32, f32)) -> f32 {
    ((p.0 - q.0).powi(2) + (p.1 - q.1).powi(2)).sqrt()
}

impl Path {
    fn new(from: (f32, f32), to: (f32, f32), shape: Shape) -> Self {
        let points = match shape {
            Shape::Direct => vec![from, to],
            Shape::ArousalFirst => vec![from, (from.0, to.1), to],
            Shape::ValenceFirst => vec![from, (to.0, from.1), to],
        };
        let mut at = vec![0.0];
        for w in points.windows(2) {
            let last = at.last().copied().unwrap_or(0.0);
            at.push(last + dist(w[0], w[1]));
        }
        Self { points, at }
    }

    fn length(&self) -> f32 {
        self.at.last().copied().unwrap_or(0.0)
    }

    /// The point at arc length `s`.
    fn point(&self, s: f32) -> (f32, f32) {
        for (k, w) in self.points.windows(2).enumerate() {
            let (a, b) = (self.at[k], self.at[k + 1]);
            if s <= b || k + 2 == self.points.len() {
                let t = if b > a {
                    ((s - a) / (b - a)).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                return (
                    w[0].0 + t * (w[1].0 - w[0].0),
                    w[0].1 + t * (w[1].1 - w[0].1),
                );
            }
        }
        self.points[0]
    }

    /// Arc length of the path point nearest `p`.
    fn progress(&self, p: (f32, f32)) -> f32 {
        let mut best = (f32::INFINITY, 0.0f32);
        for (k, w) in self.points.windows(2).enumerate() {
            let (dx, dy) = (w[1].0 - w[0].0, w[1].1 - w[0].1);
            let len2 = dx * dx + dy * dy;
            let t = if len2 > 0.0 {
                (((p.0 - w[0].0) * dx + (p.1 - w[0].1) * dy) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let q = (w[0].0 + t * dx, w[0].1 + t * dy);
            let d = dist(p, q);
            if d < best.0 {
                best = (d, self.at[k] + t * len2.sqrt());
            }
        }
        best.1
    }
}

/// Steps between waypoints are at most this share of the step limit, leaving room to find
/// tracks near each.
const WAYPOINT_STEP_SHARE: f32 = 0.75;

/// The steps a path of `length` needs between its start and its target under `max_step`.
fn bridge_steps(length: f32, max_step: f32) -> usize {
    ((length / (WAYPOINT_STEP_SHARE * max_step)).ceil() as usize).max(1)
}

/// Waypoint progress of track `i` of `n` (see the module doc): the tracks hold the start
/// for up to `HOLD_SHARE` of the steps at each end, fewer when the path needs the steps to
/// stay under `max_step`, and move evenly between.
fn schedule(i: usize, n: usize, length: f32, max_step: f32) -> f32 {
    if n < 2 {
        return length;
    }
    let steps = n - 1;
    let bridge = bridge_steps(length, max_step).min(steps);
    let hold = ((HOLD_SHARE * steps as f64).round() as usize).min((steps - bridge) / 2);
    let moving = steps - 2 * hold;
    let k = i.saturating_sub(hold).min(moving);
    k as f32 / moving.max(1) as f32 * length
}

/// A partial journey in the beam.
#[derive(Clone)]
struct Partial {
    cost: f32,
    picks: Vec<usize>,
    artists: HashSet<String>,
    /// The highest progress reached so far.
    progress: f32,
    secs: f64,
}

fn artist_key(s: &str) -> Option<String> {
    let k = s.trim().to_lowercase();
    (!k.is_empty()).then_some(k)
}

/// A small seeded jitter in [0, 1e-4): breaks exact ties the same way for the same seed.
fn jitter(seed: u64, id: i64, step: usize) -> f32 {
    let mut x = seed ^ (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((step as u64) << 32);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x % 10_000) as f32 * 1e-8
}

/// Plans a journey of exactly `n` tracks; with `target_secs`, one whose length lands within
/// 10 % of it (the running length is steered toward an even pace on the way).
fn plan_n(
    stops: &[Stop],
    req: &JourneyRequest,
    n: usize,
    target_secs: Option<f64>,
) -> Result<Journey, JourneyError> {
    if n < 2 {
        return Err(JourneyError::TooShort);
    }
    let path = Path::new(req.from, req.to, req.shape);
    let max_step = if req.max_step.is_finite() && req.max_step > 0.0 {
        req.max_step
    } else {
        DEFAULT_MAX_STEP
    };
    let needed = bridge_steps(path.length(), max_step) + 1;
    if n < needed {
        return Err(JourneyError::TooFewTracks {
            tracks: n,
            needed,
            max_step,
        });
    }
    // The ends need music near them, whatever else holds.
    for (which, p) in [("start", req.from), ("target", req.to)] {
        if !stops.iter().any(|s| dist(s.mean, p) <= ENDPOINT_RADIUS) {
            return Err(JourneyError::Endpoint {
                which,
                radius: ENDPOINT_RADIUS,
                v: p.0,
                a: p.1,
            });
        }
    }
    let waypoints: Vec<(f32, f32)> = (0..n)
        .map(|i| path.point(schedule(i, n, path.length(), max_step)))
        .collect();
    let pinned = |i: usize| {
        req.pins
            .iter()
            .find(|(p, _)| *p == i || (*p == LAST && i + 1 == n))
            .map(|(_, id)| *id)
    };
    let excluded: HashSet<i64> = req.exclude.iter().copied().collect();
    let avoided: HashSet<i64> = req.avoid.iter().copied().collect();
    let mut beam = vec![Partial {
        cost: 0.0,
        picks: Vec::new(),
        artists: HashSet::new(),
        progress: 0.0,
        secs: 0.0,
    }];
    for (i, &w) in waypoints.iter().enumerate() {
        // This step's candidates: the pinned track, or the nearest to the waypoint.
        let cands: Vec<usize> = match pinned(i) {
            Some(id) => vec![stops
                .iter()
                .position(|s| s.id == id)
                .ok_or(JourneyError::UnknownPin(id))?],
            None => {
                let mut near: Vec<(f32, usize)> = stops
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| !excluded.contains(&s.id))
                    .map(|(k, s)| {
                        let avoid = if avoided.contains(&s.id) {
                            AVOID_PENALTY
                        } else {
                            0.0
                        };
                        (dist(s.mean, w) + avoid, k)
                    })
                    .collect();
                let keep = (CANDIDATES * 4).min(near.len());
                if keep < near.len() {
                    near.select_nth_unstable_by(keep, |x, y| x.0.total_cmp(&y.0));
                    near.truncate(keep);
                }
                near.sort_by(|x, y| x.0.total_cmp(&y.0).then(stops[x.1].id.cmp(&stops[y.1].id)));
                near.into_iter().map(|(_, k)| k).collect()
            }
        };
        let first = i == 0;
        let last = i + 1 == n;
        let mut next: Vec<Partial> = Vec::new();
        // Which constraint removed the most candidates, for the error.
        let mut blocked = [0usize; 5]; // step, progress, artist, endpoint, length
        for b in &beam {
            let prev = b.picks.last().map(|&k| &stops[k]);
            let mut tried = 0;
            for &k in &cands {
                if tried >= CANDIDATES && pinned(i).is_none() {
                    break;
                }
                let s = &stops[k];
                if b.picks.contains(&k) {
                    continue;
                }
                if (first && dist(s.mean, req.from) > ENDPOINT_RADIUS && pinned(i).is_none())
                    || (last && dist(s.mean, req.to) > ENDPOINT_RADIUS && pinned(i).is_none())
                {
                    blocked[3] += 1;
                    continue;
                }
                if let Some(p) = prev {
                    if dist(p.mean, s.mean) > max_step {
                        blocked[0] += 1;
                        continue;
                    }
                }
                let progress = path.progress(s.mean);
                if progress < b.progress - PROGRESS_TOLERANCE {
                    blocked[1] += 1;
                    continue;
                }
                let artist = artist_key(&s.artist);
                if artist.as_ref().is_some_and(|a| b.artists.contains(a)) {
                    blocked[2] += 1;
                    continue;
                }
                let secs = b.secs + s.duration_secs.max(0.0);
                let pace = target_secs.map(|t| (secs - t * (i + 1) as f64 / n as f64).abs() / t);
                if last && pace.is_some_and(|off| off > LENGTH_TOLERANCE) {
                    blocked[4] += 1;
                    continue;
                }
                tried += 1;
                let seam = prev.map(|p| dist(p.end, s.start)).unwrap_or(0.0);
                let mut e = b.clone();
                let avoid = if avoided.contains(&s.id) {
                    AVOID_PENALTY
                } else {
                    0.0
                };
                e.cost += dist(s.mean, w)
                    + avoid
                    + req.seam_weight.max(0.0) * seam
                    + pace.unwrap_or(0.0) as f32
                    + jitter(req.seed, s.id, i);
                e.picks.push(k);
                if let Some(a) = artist {
                    e.artists.insert(a);
                }
                e.progress = e.progress.max(progress);
                e.secs = secs;
                next.push(e);
            }
        }
        if next.is_empty() {
            // The constraint that stopped the candidates that got furthest through the checks
            // (in order: the ends, the step, progress, the artist, the length).
            if blocked[4] > 0 {
                return Err(JourneyError::Length {
                    tracks: n,
                    minutes: target_secs.unwrap_or(0.0) / 60.0,
                });
            }
            let rule = if blocked[2] > 0 {
                "one track per artist"
            } else if blocked[1] > 0 {
                "progress toward the target"
            } else if blocked[0] > 0 || !(first || last) {
                "the step limit"
            } else {
                "the ends near the start and the target"
            };
            return Err(JourneyError::Step {
                step: i + 1,
                v: w.0,
                a: w.1,
                max_step,
                rule,
            });
        }
        next.sort_by(|x, y| x.cost.total_cmp(&y.cost));
        next.truncate(BEAM);
        beam = next;
    }
    let best = beam.into_iter().next().ok_or(JourneyError::TooShort)?;
    let seams: Vec<f32> = best
        .picks
        .windows(2)
        .map(|w| dist(stops[w[0]].end, stops[w[1]].start))
        .collect();
    Ok(Journey {
        tracks: best.picks.iter().map(|&k| stops[k].id).collect(),
        waypoints,
        total_secs: best.secs,
        mean_seam_jump: if seams.is_empty() {
            0.0
        } else {
            seams.iter().sum::<f32>() / seams.len() as f32
        },
    })
}

/// Plans a journey over `stops` (analysed tracks) for `req`.
pub fn plan(stops: &[Stop], req: &JourneyRequest) -> Result<Journey, JourneyError> {
    match req.length {
        Length::Count(n) => plan_n(stops, req, n, None),
        Length::Minutes(m) => {
            let asked = m * 60.0;
            let mut secs: Vec<f64> = stops.iter().map(|s| s.duration_secs).collect();
            secs.sort_by(f64::total_cmp);
            let median = secs.get(secs.len() / 2).copied().unwrap_or(240.0).max(30.0);
            let path = Path::new(req.from, req.to, req.shape);
            let needed = bridge_steps(path.length(), req.max_step.max(1e-3)) + 1;
            let guess = ((asked / median).round() as usize).max(needed);
            // Nearby counts, nearest the guess first, until one lands within 10 %.
            let mut counts = vec![guess];
            for delta in 1..8usize {
                counts.push(guess + delta);
                if guess >= delta + needed {
                    counts.push(guess - delta);
                }
            }
            let (mut planned, mut last_err) = (false, None);
            for n in counts {
                match plan_n(stops, req, n, Some(asked)) {
                    Ok(j) if (j.total_secs - asked).abs() <= LENGTH_TOLERANCE * asked => {
                        return Ok(j)
                    }
                    Ok(_) => planned = true,
                    Err(e) => last_err = Some(e),
                }
            }
            // Journeys were found but none of the right length: that is the reason.
            match last_err {
                Some(e) if !planned => Err(e),
                _ => Err(JourneyError::Length {
                    tracks: guess,
                    minutes: m,
                }),
            }
        }
    }
}

/// The journey with its track at `i` swapped for the next-best track for that place: the
/// others stay where they are, and the track swapped out (with any swapped out before,
/// `req.exclude`) is left out. Returns the new journey and the request that makes it.
pub fn swap(
    stops: &[Stop],
    req: &JourneyRequest,
    tracks: &[i64],
    i: usize,
) -> Result<(Journey, JourneyRequest), JourneyError> {
    let Some(&out) = tracks.get(i) else {
        return Err(JourneyError::TooShort);
    };
    let mut next = req.clone();
    if !next.exclude.contains(&out) {
        next.exclude.push(out);
    }
    let mut fixed = next.clone();
    fixed.pins = tracks
        .iter()
        .enumerate()
        .filter(|&(k, _)| k != i)
        .map(|(k, &id)| (k, id))
        .collect();
    let j = plan_n(stops, &fixed, tracks.len(), None)?;
    Ok((j, next))
}

/// The journey planned again around the `locked` positions of `tracks` (they stay), with
/// the same number of tracks; the unlocked ones are avoided ([`AVOID_PENALTY`]) so the rest
/// changes where the library allows. A minutes journey still lands within 10 % of its
/// length.
pub fn regenerate(
    stops: &[Stop],
    req: &JourneyRequest,
    tracks: &[i64],
    locked: &[bool],
) -> Result<(Journey, JourneyRequest), JourneyError> {
    let mut next = req.clone();
    next.seed = req.seed.wrapping_add(1);
    next.avoid = tracks
        .iter()
        .zip(locked.iter().chain(std::iter::repeat(&false)))
        .filter(|(_, &l)| !l)
        .map(|(&id, _)| id)
        .collect();
    let mut fixed = next.clone();
    // The request's own pins (a start or target track) hold too.
    fixed.pins.extend(
        tracks
            .iter()
            .zip(locked)
            .enumerate()
            .filter(|(_, (_, &l))| l)
            .map(|(k, (&id, _))| (k, id)),
    );
    let target = match req.length {
        Length::Minutes(m) => Some(m * 60.0),
        Length::Count(_) => None,
    };
    let j = plan_n(stops, &fixed, tracks.len(), target)?;
    Ok((j, next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;

    /// A lattice of moods every 0.1 from -0.9 to 0.9 on both axes, `per` tracks at each
    /// point, each by its own artist, with planted timelines: the opening and closing moods
    /// lie up to 0.15 from the mean on each axis, in pseudo-random directions.
    fn lattice(per: usize, salt: u64) -> Vec<Stop> {
        let mut s = salt | 1;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 10_000) as f32 / 10_000.0
        };
        let mut out = Vec::new();
        for i in 0..19 {
            for j in 0..19 {
                for k in 0..per {
                    let mean = (-0.9 + 0.1 * i as f32, -0.9 + 0.1 * j as f32);
                    let id = out.len() as i64 + 1;
                    let r: [f32; 5] = [next(), next(), next(), next(), next()];
                    let off = |x: f32| 0.3 * x - 0.15;
                    out.push(Stop {
                        id,
                        artist: format!("Artist {i}-{j}-{k}"),
                        duration_secs: 150.0 + 150.0 * f64::from(r[4]),
                        mean,
                        start: (mean.0 + off(r[0]), mean.1 + off(r[1])),
                        end: (mean.0 + off(r[2]), mean.1 + off(r[3])),
                    });
                }
            }
        }
        out
    }

    fn request() -> impl Strategy<Value = JourneyRequest> {
        let point = (-0.8f32..0.8, -0.8f32..0.8);
        let length = prop_oneof![
            (3usize..16).prop_map(Length::Count),
            (15.0f64..90.0).prop_map(Length::Minutes),
        ];
        let shape = prop_oneof![
            Just(Shape::Direct),
            Just(Shape::ArousalFirst),
            Just(Shape::ValenceFirst)
        ];
        (point.clone(), point, length, shape, any::<u64>()).prop_map(
            |(from, to, length, shape, seed)| JourneyRequest {
                shape,
                seed,
                ..JourneyRequest::new(from, to, length)
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(60))]

        /// On a dense library every journey is found, and keeps every constraint.
        #[test]
        fn every_journey_keeps_its_constraints(req in request()) {
            let stops = lattice(3, 7);
            let by_id = |id: i64| stops.iter().find(|s| s.id == id).expect("a stop");
            let path = Path::new(req.from, req.to, req.shape);
            let needed = bridge_steps(path.length(), req.max_step) + 1;
            let j = match plan(&stops, &req) {
                Ok(j) => j,
                // Too short a journey for the distance: said so, and only then.
                Err(JourneyError::TooFewTracks { tracks, needed: n, .. }) => {
                    prop_assert_eq!(n, needed);
                    prop_assert!(matches!(req.length, Length::Count(c) if c == tracks && c < needed));
                    return Ok(());
                }
                // Minutes that the tracks the distance needs can only fill with shorter than
                // average tracks (150-300 s, mean 225 s): the length may block it, and says so.
                Err(JourneyError::Length { minutes, .. }) => {
                    prop_assert!(needed as f64 * 225.0 > 0.9 * minutes * 60.0, "{:?}", req);
                    return Ok(());
                }
                Err(e) => return Err(TestCaseError::fail(format!("{e} for {req:?}"))),
            };
            prop_assert_eq!(&plan(&stops, &req).expect("again"), &j, "deterministic");
            let means: Vec<(f32, f32)> = j.tracks.iter().map(|&id| by_id(id).mean).collect();
            prop_assert!(dist(means[0], req.from) <= ENDPOINT_RADIUS);
            prop_assert!(dist(means[means.len() - 1], req.to) <= ENDPOINT_RADIUS);
            let mut high = 0.0f32;
            for w in means.windows(2) {
                prop_assert!(dist(w[0], w[1]) <= req.max_step + 1e-6, "step {:?}", w);
            }
            for m in &means {
                let p = path.progress(*m);
                prop_assert!(p >= high - PROGRESS_TOLERANCE - 1e-6, "went back: {} < {}", p, high);
                high = high.max(p);
            }
            let artists: HashSet<&str> = j.tracks.iter().map(|&id| by_id(id).artist.as_str()).collect();
            prop_assert_eq!(artists.len(), j.tracks.len());
            match req.length {
                Length::Count(n) => prop_assert_eq!(j.tracks.len(), n),
                Length::Minutes(m) => prop_assert!((j.total_secs - m * 60.0).abs() <= 0.1 * m * 60.0),
            }
        }
    }

    #[test]
    fn the_schedule_holds_then_bridges_then_settles() {
        let n = 10;
        let u: Vec<f32> = (0..n).map(|i| schedule(i, n, 1.0, 0.5)).collect();
        assert_eq!(u[0], 0.0);
        assert_eq!(u[1], 0.0, "the first fifth matches the start");
        assert_eq!(u[n - 1], 1.0);
        assert_eq!(u[n - 2], 1.0, "the last fifth settles at the target");
        assert!(u.windows(2).all(|w| w[1] >= w[0]));
        // Arousal first: the waypoints move in arousal before valence.
        let path = Path::new((-0.5, -0.5), (0.5, 0.5), Shape::ArousalFirst);
        let mid = path.point(path.length() * 0.25);
        assert!((mid.0 + 0.5).abs() < 1e-6 && mid.1 > -0.5, "{mid:?}");
    }

    #[test]
    fn pins_stay_where_they_are_put() {
        let stops = lattice(2, 3);
        // A track near the middle of the journey, pinned at position 3 of 7.
        let mid = stops
            .iter()
            .find(|s| dist(s.mean, (0.0, 0.0)) < 1e-6)
            .expect("a middle track")
            .id;
        let req = JourneyRequest {
            pins: vec![(3, mid)],
            ..JourneyRequest::new((-0.5, -0.4), (0.5, 0.4), Length::Count(7))
        };
        let j = plan(&stops, &req).expect("journey");
        assert_eq!(j.tracks[3], mid);
        let req = JourneyRequest {
            pins: vec![(1, 999_999)],
            ..req
        };
        assert_eq!(plan(&stops, &req), Err(JourneyError::UnknownPin(999_999)));
    }

    #[test]
    fn a_swap_changes_only_its_place_and_keeps_the_rules() {
        let stops = lattice(3, 11);
        let req = JourneyRequest::new((-0.6, -0.5), (0.6, 0.5), Length::Count(9));
        let j = plan(&stops, &req).expect("journey");
        let mut tracks = j.tracks.clone();
        let mut req = req;
        let mut seen = vec![tracks[4]];
        // Swapping the same place again walks down the candidates: never an old track.
        for _ in 0..3 {
            let (k, next) = swap(&stops, &req, &tracks, 4).expect("a swap");
            for (p, (a, b)) in tracks.iter().zip(&k.tracks).enumerate() {
                if p != 4 {
                    assert_eq!(a, b, "place {p} moved");
                }
            }
            assert!(!seen.contains(&k.tracks[4]), "{:?} came back", k.tracks[4]);
            let by_id = |id: i64| stops.iter().find(|s| s.id == id).expect("stop");
            for w in k.tracks.windows(2) {
                assert!(dist(by_id(w[0]).mean, by_id(w[1]).mean) <= DEFAULT_MAX_STEP + 1e-6);
            }
            seen.push(k.tracks[4]);
            tracks = k.tracks;
            req = next;
        }
        assert_eq!(req.exclude.len(), 3);
        // With no other track in the library, the swap says where it is blocked.
        let only: Vec<Stop> = stops
            .iter()
            .filter(|s| tracks.contains(&s.id))
            .cloned()
            .collect();
        let e = swap(&only, &req, &tracks, 4).expect_err("nothing to swap in");
        assert!(e.to_string().contains("of step 5"), "{e}");
        assert!(e.to_string().contains("the step limit"), "{e}");
    }

    #[test]
    fn regenerating_keeps_the_locked_tracks_and_changes_the_rest() {
        let stops = lattice(3, 13);
        let req = JourneyRequest::new((-0.6, -0.5), (0.6, 0.5), Length::Minutes(30.0));
        let j = plan(&stops, &req).expect("journey");
        let n = j.tracks.len();
        let locked: Vec<bool> = (0..n).map(|i| i == 2 || i == n - 3).collect();
        let (k, next) = regenerate(&stops, &req, &j.tracks, &locked).expect("regenerated");
        assert_eq!(k.tracks.len(), n);
        assert_eq!(k.tracks[2], j.tracks[2]);
        assert_eq!(k.tracks[n - 3], j.tracks[n - 3]);
        let changed = (0..n)
            .filter(|&i| !locked[i] && k.tracks[i] != j.tracks[i])
            .count();
        assert!(
            changed >= (n - 2) / 2,
            "only {changed} of {} changed",
            n - 2
        );
        assert!(
            (k.total_secs - 1800.0).abs() <= 0.1 * 1800.0,
            "{}",
            k.total_secs
        );
        assert_eq!(next.avoid.len(), n - 2);
        // The same request and locks, the same journey.
        let (again, _) = regenerate(&stops, &req, &j.tracks, &locked).expect("regenerated");
        assert_eq!(again.tracks, k.tracks);
    }

    #[test]
    fn an_infeasible_journey_names_its_constraint_and_where() {
        // Nothing between valence -0.2 and 0.4: a 0.3 step cannot cross the gap.
        let stops: Vec<Stop> = lattice(1, 5)
            .into_iter()
            .filter(|s| !(-0.25..0.45).contains(&s.mean.0))
            .collect();
        let req = JourneyRequest::new((-0.7, 0.0), (0.7, 0.0), Length::Count(8));
        let e = plan(&stops, &req).expect_err("the gap blocks it");
        let text = e.to_string();
        assert!(matches!(e, JourneyError::Step { .. }), "{text}");
        assert!(text.contains("no track within 0.30 of step"), "{text}");
        assert!(text.contains("allow larger steps or add music"), "{text}");
        // Larger steps cross it.
        let req = JourneyRequest {
            max_step: 0.8,
            ..req
        };
        assert!(plan(&stops, &req).is_ok());
        // A start where there is no music.
        let far: Vec<Stop> = lattice(1, 5)
            .into_iter()
            .filter(|s| s.mean.0 > -0.5)
            .collect();
        let e = plan(
            &far,
            &JourneyRequest::new((-0.85, 0.0), (0.5, 0.0), Length::Count(8)),
        )
        .expect_err("no music at the start");
        assert!(
            e.to_string()
                .starts_with("no track within 0.15 of the start"),
            "{e}"
        );
    }

    /// What the timelines buy: on the lattice with planted timelines, the mean jump at the
    /// seams (closing mood to the next opening mood) with the seam term against a planner
    /// that sees track means only (seam weight 0), over the same 40 requests.
    #[test]
    fn seams_are_smoother_with_the_timelines() {
        let stops = lattice(3, 11);
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (mut with, mut without, mut waypoint_with, mut waypoint_without) =
            (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        let runs = 60;
        let mut done = 0;
        for _ in 0..runs {
            let req = request()
                .new_tree(&mut runner)
                .expect("a request")
                .current();
            let (Ok(a), Ok(b)) = (
                plan(&stops, &req),
                plan(
                    &stops,
                    &JourneyRequest {
                        seam_weight: 0.0,
                        ..req.clone()
                    },
                ),
            ) else {
                // Too short a journey for its distance: not a comparison.
                continue;
            };
            done += 1;
            with += a.mean_seam_jump;
            without += b.mean_seam_jump;
            let off = |j: &Journey| {
                j.tracks
                    .iter()
                    .zip(&j.waypoints)
                    .map(|(&id, &w)| dist(stops[(id - 1) as usize].mean, w))
                    .sum::<f32>()
                    / j.tracks.len() as f32
            };
            waypoint_with += off(&a);
            waypoint_without += off(&b);
        }
        assert!(done >= 30, "only {done} comparable journeys");
        let n = done as f32;
        eprintln!(
            "{done} journeys; mean seam jump: {:.3} with timelines, {:.3} means only; mean distance to the waypoint: {:.3} / {:.3}",
            with / n,
            without / n,
            waypoint_with / n,
            waypoint_without / n
        );
        assert!(with < 0.7 * without, "{} vs {}", with / n, without / n);
    }
}
