//! Scene names people understand: the two musicnn tags most over-represented in a scene,
//! then the scene's mood, e.g. "piano · ambient: calm".
//!
//! Inputs per track `d` ([`Collection`]): its scene mix `theta_d` (LDA), its musicnn tag
//! vector `p_d` (the mean over its segments of the 50 MSD tag probabilities) and its
//! valence/arousal point. Every per-scene figure counts a track by its share of the scene,
//! `theta_dk`; the scene's size is `W_k = sum_d theta_dk`.
//!
//! **Tags** ([`tag_scores`]). For scene `k` and tag `t`:
//! - the scene-weighted mean tag probability `m_kt = sum_d theta_dk p_dt / W_k`, shrunk
//!   towards the collection mean `c_t = mean_d p_dt` by [`PRIOR_TRACKS`] pseudo-tracks:
//!   `m'_kt = (W_k m_kt + n0 c_t) / (W_k + n0)`, so a scene of three tracks is not named after
//!   one track's quirks;
//! - scored by the smoothed log-lift `ln((m'_kt + eps) / (c_t + eps))`, eps = [`TAG_FLOOR`].
//!
//! Why a lift: a name should say what sets a scene apart, and musicnn rates most music as some
//! "rock" or "pop", so the plain mean would name every scene after the same common tags. Why
//! smoothed: a plain ratio (or a log-odds ratio, which behaves the same for small
//! probabilities) rewards tags that are rare everywhere, where 0.004 against 0.001 is a lift
//! of 4 out of noise; adding eps = 0.02 to both sides brings that ratio to about 1.1, while
//! 0.30 against 0.10 stays at 2.7. Tags whose collection mean is [`UNIVERSAL_MEAN`] or more
//! describe the collection, not a scene, and are skipped.
//!
//! **Choosing two** ([`pick_tags`]). Scenes choose in order of size (largest first, so the
//! big scenes get their best names). Each considers pairs of its [`CANDIDATE_TAGS`]
//! best-scoring tags, best score sum first, and takes the first pair no larger scene has
//! taken; only when every such pair is taken does it repeat one. Two tags that differ only
//! in case or a plural "s" ("female vocalist", "female vocalists") are one tag for a name.
//!
//! **Mood** ([`scene_points`], [`mood_word`]). The scene's point is the share-weighted mean
//! valence/arousal of its tracks; its mood is `Mood::from_point` under the shipped model's
//! calibration, shown as the quadrant's label in lower case ("happy", "tense", "sad",
//! "calm"), or [`MIXED`] when the mood is uncertain (`Mood::is_uncertain`: a mean point near
//! an axis or the centre, as a scene whose tracks spread over the plane has).
//!
//! **Mood mix** ([`mood_mix`]): the share of the scene's weight in each quadrant (each track
//! in the quadrant of its own point). **Typical tracks** ([`typical_tracks`]): the tracks of
//! highest `theta_dk`.

use serde::Serialize;

use super::ThemeError;
use crate::mood::{Calibration, Mood, Quadrant};

/// eps of the smoothed log-lift: a floor, in tag probability, under which differences do not
/// count (see the module doc).
pub const TAG_FLOOR: f64 = 0.02;
/// Pseudo-tracks at the collection mean added to every scene before its tags are scored.
pub const PRIOR_TRACKS: f64 = 2.0;
/// Tags with a collection mean at or above this are skipped as names (they describe all of
/// it).
pub const UNIVERSAL_MEAN: f64 = 0.5;
/// How many best-scoring tags of a scene its name's pair is chosen from.
pub const CANDIDATE_TAGS: usize = 6;
/// The mood word of a scene whose mean point is uncertain.
pub const MIXED: &str = "mixed";
/// Between the two tags of a name.
pub const TAG_SEPARATOR: &str = " · ";

/// Per-track inputs of the naming, checked for shape and finiteness.
#[derive(Clone, Copy, Debug)]
pub struct Collection<'a> {
    theta: &'a [f32],
    topics: usize,
    tags: &'a [f32],
    tag_names: &'a [String],
    points: &'a [[f32; 2]],
}

impl<'a> Collection<'a> {
    /// `theta`: `tracks x topics` scene mixes, row after row; `tags`: `tracks x
    /// tag_names.len()` tag probabilities; `points`: each track's (valence, arousal).
    /// Errors: sizes that do not agree, no track, no topic or no tag, a negative or
    /// non-finite value.
    pub fn new(
        theta: &'a [f32],
        topics: usize,
        tags: &'a [f32],
        tag_names: &'a [String],
        points: &'a [[f32; 2]],
    ) -> Result<Self, ThemeError> {
        let n = points.len();
        if topics == 0 || tag_names.is_empty() || n == 0 {
            return Err(ThemeError::Parameter(format!(
                "naming needs tracks, topics and tags: {n} track(s), {topics} topic(s), {} tag(s)",
                tag_names.len()
            )));
        }
        if theta.len() != n * topics {
            return Err(ThemeError::Shape {
                len: theta.len(),
                dim: topics,
            });
        }
        if tags.len() != n * tag_names.len() {
            return Err(ThemeError::Shape {
                len: tags.len(),
                dim: tag_names.len(),
            });
        }
        let bad = |v: &[f32], width: usize| {
            v.iter()
                .position(|x| !x.is_finite() || *x < 0.0)
                .map(|i| i / width)
        };
        if let Some(row) = bad(theta, topics).or_else(|| bad(tags, tag_names.len())) {
            return Err(ThemeError::NonFinite { row });
        }
        if let Some(row) = points
            .iter()
            .position(|p| !(p[0].is_finite() && p[1].is_finite()))
        {
            return Err(ThemeError::NonFinite { row });
        }
        Ok(Self {
            theta,
            topics,
            tags,
            tag_names,
            points,
        })
    }

    pub fn tracks(&self) -> usize {
        self.points.len()
    }
    pub fn topics(&self) -> usize {
        self.topics
    }
    fn theta_row(&self, d: usize) -> &[f32] {
        &self.theta[d * self.topics..(d + 1) * self.topics]
    }
    fn tag_row(&self, d: usize) -> &[f32] {
        let w = self.tag_names.len();
        &self.tags[d * w..(d + 1) * w]
    }

    /// Each scene's size `W_k = sum_d theta_dk`.
    pub fn weights(&self) -> Vec<f64> {
        let mut w = vec![0.0; self.topics];
        for d in 0..self.tracks() {
            for (a, &t) in w.iter_mut().zip(self.theta_row(d)) {
                *a += t as f64;
            }
        }
        w
    }

    /// Each tag's collection mean `c_t`.
    pub fn tag_means(&self) -> Vec<f64> {
        let mut c = vec![0.0; self.tag_names.len()];
        for d in 0..self.tracks() {
            for (a, &p) in c.iter_mut().zip(self.tag_row(d)) {
                *a += p as f64;
            }
        }
        c.iter_mut().for_each(|v| *v /= self.tracks() as f64);
        c
    }
}

/// `topics x tags` smoothed log-lifts (see the module doc); a skipped (near-universal) tag
/// scores negative infinity.
pub fn tag_scores(c: &Collection) -> Vec<Vec<f64>> {
    let means = c.tag_means();
    let weights = c.weights();
    let n_tags = c.tag_names.len();
    let mut sums = vec![vec![0.0f64; n_tags]; c.topics];
    for d in 0..c.tracks() {
        let tags = c.tag_row(d);
        for (k, &share) in c.theta_row(d).iter().enumerate() {
            for (s, &p) in sums[k].iter_mut().zip(tags) {
                *s += share as f64 * p as f64;
            }
        }
    }
    sums.iter()
        .zip(&weights)
        .map(|(row, &w)| {
            row.iter()
                .zip(&means)
                .map(|(&s, &m)| {
                    if m >= UNIVERSAL_MEAN {
                        return f64::NEG_INFINITY;
                    }
                    let shrunk = (s + PRIOR_TRACKS * m) / (w + PRIOR_TRACKS);
                    ((shrunk + TAG_FLOOR) / (m + TAG_FLOOR)).ln()
                })
                .collect()
        })
        .collect()
}

/// A tag name as one word of a name: lower case, and the key under which two spellings
/// ("Female vocalist", "female vocalists") are the same tag.
fn tag_key(name: &str) -> String {
    let l = name.trim().to_lowercase();
    l.strip_suffix('s').map(str::to_string).unwrap_or(l)
}

/// The two tags (indices into the tag names, best first) that name each scene, chosen as the
/// module doc says from `scores` (`topics x tags`, [`tag_scores`]) with scenes taking turns
/// by `weights` (largest first; ties to the lower scene). A scene with fewer than two
/// scorable tags gets what it has.
pub fn pick_tags(scores: &[Vec<f64>], weights: &[f64], tag_names: &[String]) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        let wa = weights.get(a).copied().unwrap_or(0.0);
        let wb = weights.get(b).copied().unwrap_or(0.0);
        wb.total_cmp(&wa).then(a.cmp(&b))
    });
    let key = |t: usize| tag_key(tag_names.get(t).map_or("", String::as_str));
    let mut taken: Vec<(String, String)> = Vec::new();
    let mut out = vec![Vec::new(); scores.len()];
    for k in order {
        // The best tags, one per key, skipped tags left out.
        let mut ranked: Vec<usize> = (0..scores[k].len())
            .filter(|&t| scores[k][t].is_finite())
            .collect();
        ranked.sort_by(|&a, &b| scores[k][b].total_cmp(&scores[k][a]).then(a.cmp(&b)));
        let mut cands: Vec<usize> = Vec::new();
        for t in ranked {
            if cands.len() == CANDIDATE_TAGS {
                break;
            }
            if !cands.iter().any(|&c| key(c) == key(t)) {
                cands.push(t);
            }
        }
        if cands.len() < 2 {
            out[k] = cands;
            continue;
        }
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        for i in 0..cands.len() {
            for j in i + 1..cands.len() {
                pairs.push((cands[i], cands[j]));
            }
        }
        // Best sum first; among equal sums, the pair holding the better single tag.
        pairs.sort_by(|a, b| {
            let sa = scores[k][a.0] + scores[k][a.1];
            let sb = scores[k][b.0] + scores[k][b.1];
            sb.total_cmp(&sa)
        });
        let pair_key = |(a, b): (usize, usize)| {
            let (ka, kb) = (key(a), key(b));
            if ka <= kb {
                (ka, kb)
            } else {
                (kb, ka)
            }
        };
        let chosen = pairs
            .iter()
            .copied()
            .find(|&p| !taken.contains(&pair_key(p)))
            .unwrap_or(pairs[0]);
        taken.push(pair_key(chosen));
        out[k] = vec![chosen.0, chosen.1];
    }
    out
}

/// Each scene's share-weighted mean (valence, arousal); a scene of no weight gets the
/// collection's plain mean.
pub fn scene_points(c: &Collection) -> Vec<[f32; 2]> {
    let n = c.tracks() as f64;
    let plain = c.points.iter().fold([0.0f64; 2], |a, p| {
        [a[0] + p[0] as f64 / n, a[1] + p[1] as f64 / n]
    });
    (0..c.topics)
        .map(|k| {
            let (mut w, mut v, mut a) = (0.0f64, 0.0f64, 0.0f64);
            for d in 0..c.tracks() {
                let s = c.theta_row(d)[k] as f64;
                w += s;
                v += s * c.points[d][0] as f64;
                a += s * c.points[d][1] as f64;
            }
            if w > 0.0 {
                [(v / w) as f32, (a / w) as f32]
            } else {
                [plain[0] as f32, plain[1] as f32]
            }
        })
        .collect()
}

/// The mood word of a scene: the quadrant's label in lower case, or [`MIXED`] when the mood
/// is uncertain.
pub fn mood_word(mood: &Mood) -> String {
    if mood.is_uncertain() {
        MIXED.to_string()
    } else {
        mood.quadrant.label().to_lowercase()
    }
}

/// Each scene's share of weight per quadrant Q1..Q4 (each track in its own point's quadrant);
/// all zero for a scene of no weight.
pub fn mood_mix(c: &Collection) -> Vec<[f64; 4]> {
    let mut mix = vec![[0.0f64; 4]; c.topics];
    for d in 0..c.tracks() {
        let q = Quadrant::of_point(c.points[d][0], c.points[d][1]).index();
        for (m, &s) in mix.iter_mut().zip(c.theta_row(d)) {
            m[q] += s as f64;
        }
    }
    for m in &mut mix {
        let sum: f64 = m.iter().sum();
        if sum > 0.0 {
            m.iter_mut().for_each(|v| *v /= sum);
        }
    }
    mix
}

/// Each track's main scene: the largest share of its row (the first on ties). `theta` is
/// `tracks x topics`, row after row (a trailing partial row is ignored).
pub fn main_scenes(theta: &[f32], topics: usize) -> Vec<usize> {
    if topics == 0 {
        return Vec::new();
    }
    theta
        .chunks_exact(topics)
        .map(crate::mood::argmax)
        .collect()
}

/// The `n` tracks of highest share in each scene, highest first. Short documents often put
/// several tracks wholly in one scene with equal shares; among equal shares the track whose
/// tag vector is closest (cosine) to the scene's share-weighted mean tag vector comes first,
/// then the lower track.
pub fn typical_tracks(c: &Collection, n: usize) -> Vec<Vec<usize>> {
    let weights = c.weights();
    let n_tags = c.tag_names.len();
    (0..c.topics)
        .map(|k| {
            let mut mean = vec![0.0f64; n_tags];
            for d in 0..c.tracks() {
                let s = c.theta_row(d)[k] as f64 / weights[k].max(f64::MIN_POSITIVE);
                for (m, &p) in mean.iter_mut().zip(c.tag_row(d)) {
                    *m += s * p as f64;
                }
            }
            let closeness: Vec<f64> = (0..c.tracks())
                .map(|d| cosine(&mean, c.tag_row(d)))
                .collect();
            let mut idx: Vec<usize> = (0..c.tracks()).collect();
            idx.sort_by(|&a, &b| {
                let (ta, tb) = (c.theta_row(a)[k], c.theta_row(b)[k]);
                tb.total_cmp(&ta)
                    .then(closeness[b].total_cmp(&closeness[a]))
                    .then(a.cmp(&b))
            });
            idx.truncate(n);
            idx
        })
        .collect()
}

/// Cosine of two vectors; 0 when either is all zero.
fn cosine(a: &[f64], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let y = y as f64;
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa > 0.0 && bb > 0.0 {
        ab / (aa * bb).sqrt()
    } else {
        0.0
    }
}

/// Everything a scene card shows.
#[derive(Clone, Debug, Serialize)]
pub struct SceneSummary {
    /// The topic index in the model.
    pub scene: usize,
    /// "tag · tag: mood".
    pub name: String,
    /// The two naming tags, lower case, best first.
    pub tags: Vec<String>,
    /// The mood of the scene's mean point, and its word ([`mood_word`]).
    pub mood: Mood,
    pub mood_word: String,
    /// `W_k`, the sum of the tracks' shares.
    pub weight: f64,
    /// Tracks whose main scene this is.
    pub main_tracks: usize,
    /// Share of weight per quadrant Q1..Q4.
    pub mood_mix: [f64; 4],
    /// Tracks of highest share, highest first.
    pub typical: Vec<usize>,
}

/// Names, sizes, moods, mood mixes and `typical` typical tracks of every scene, in topic
/// order. `cal` turns mean points into moods (the app passes
/// `analysis::default_calibration().unwrap_or_default()`).
pub fn describe(c: &Collection, cal: &Calibration, typical: usize) -> Vec<SceneSummary> {
    let weights = c.weights();
    let picks = pick_tags(&tag_scores(c), &weights, c.tag_names);
    let points = scene_points(c);
    let mixes = mood_mix(c);
    let tops = typical_tracks(c, typical);
    let mut main = vec![0usize; c.topics];
    for m in main_scenes(c.theta, c.topics) {
        main[m] += 1;
    }
    (0..c.topics)
        .map(|k| {
            let tags: Vec<String> = picks[k]
                .iter()
                .map(|&t| c.tag_names[t].trim().to_lowercase())
                .collect();
            let mood = Mood::from_point(points[k][0], points[k][1], cal);
            let word = mood_word(&mood);
            SceneSummary {
                scene: k,
                name: format!("{}: {word}", tags.join(TAG_SEPARATOR)),
                tags,
                mood,
                mood_word: word,
                weight: weights[k],
                main_tracks: main[k],
                mood_mix: mixes[k],
                typical: tops[k].clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    const CAL: Calibration = Calibration {
        valence_temp: 0.1,
        arousal_temp: 0.1,
    };

    /// Three scenes of 10 tracks each, every track wholly in its scene. Tags: 0 "rock"
    /// (0.7 everywhere: universal), 1 "piano", 2 "ambient", 3 "metal", 4 "guitar" (scenes
    /// 1 and 2), 5 "rare" (0.004 in scene 2, 0.001 elsewhere), 6 "Female vocalist", 7
    /// "female vocalists" (two spellings of one tag, both high in scene 2).
    fn planted() -> (Vec<f32>, Vec<f32>, Vec<String>, Vec<[f32; 2]>) {
        let tag_names = names(&[
            "rock",
            "piano",
            "ambient",
            "metal",
            "guitar",
            "rare",
            "Female vocalist",
            "female vocalists",
        ]);
        let mut theta = Vec::new();
        let mut tags = Vec::new();
        let mut points = Vec::new();
        for k in 0..3 {
            for i in 0..10 {
                let mut row = [0.0f32; 3];
                row[k] = 1.0;
                theta.extend_from_slice(&row);
                let j = i as f32 * 0.001; // small spread
                let t: [f32; 8] = match k {
                    0 => [0.7, 0.6 + j, 0.4, 0.05, 0.1, 0.001, 0.1, 0.1],
                    1 => [0.7, 0.05, 0.05, 0.6 + j, 0.5, 0.001, 0.1, 0.1],
                    _ => [0.7, 0.05, 0.1, 0.05, 0.5, 0.004, 0.5, 0.45],
                };
                tags.extend_from_slice(&t);
                points.push(match k {
                    0 => [0.4, -0.5],   // calm
                    1 => [-0.5, 0.6],   // tense
                    _ => [0.02, -0.01], // near the centre: mixed
                });
            }
        }
        (theta, tags, tag_names, points)
    }

    #[test]
    fn planted_scenes_get_their_tags_and_moods() {
        let (theta, tags, tag_names, points) = planted();
        let c = Collection::new(&theta, 3, &tags, &tag_names, &points).expect("inputs");
        let s = describe(&c, &CAL, 3);
        assert_eq!(s[0].name, "piano · ambient: calm");
        assert_eq!(s[1].name, "metal · guitar: tense");
        // "rock" is universal, "rare" is noise under the floor, and the two spellings of one
        // tag never make a pair.
        assert_eq!(s[2].tags, vec!["female vocalist", "guitar"]);
        assert_eq!(s[2].mood_word, MIXED);
        for x in &s {
            assert!(!x.tags.contains(&"rock".to_string()));
            assert!((x.weight - 10.0).abs() < 1e-9);
            assert_eq!(x.main_tracks, 10);
            assert_eq!(x.typical.len(), 3);
            assert!(x.typical.iter().all(|&d| d / 10 == x.scene));
        }
        assert_eq!(s[0].mood_mix, [0.0, 0.0, 0.0, 1.0]);
        assert_eq!(s[1].mood_mix, [0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn the_lift_is_smoothed_and_shrunk() {
        let (theta, tags, tag_names, points) = planted();
        let c = Collection::new(&theta, 3, &tags, &tag_names, &points).expect("inputs");
        let sc = tag_scores(&c);
        assert_eq!(sc[0][0], f64::NEG_INFINITY); // universal "rock"
                                                 // In scene 2 "rare" has the larger raw lift (0.004 / 0.002 = 2 against guitar's
                                                 // 0.5 / 0.367 = 1.36); smoothed, guitar wins.
        assert!(sc[2][5] > 0.0 && sc[2][5] < 0.1, "{}", sc[2][5]);
        assert!(sc[2][4] > sc[2][5] + 0.1, "{} {}", sc[2][4], sc[2][5]);
        // Piano in scene 0: m = 0.6045, c ~ 0.235; shrunk over 2 pseudo-tracks of 10.
        let m = (0.6045 * 10.0 + 2.0 * (0.6045 + 0.1) / 3.0) / 12.0;
        let want = ((m + TAG_FLOOR) / ((0.6045 + 0.1) / 3.0 + TAG_FLOOR)).ln();
        assert!((sc[0][1] - want).abs() < 1e-4, "{} vs {want}", sc[0][1]);
    }

    #[test]
    fn two_scenes_with_one_profile_get_different_names() {
        // Scenes 0 and 1 hold the same kind of tracks (piano, ambient, strings); scene 0 is
        // larger and gets the best pair, scene 1 the next best.
        let tag_names = names(&["piano", "ambient", "strings", "metal"]);
        let mut theta = Vec::new();
        let mut tags = Vec::new();
        for (k, n) in [(0usize, 12), (1, 8), (2, 10)] {
            for _ in 0..n {
                let mut row = [0.0f32; 3];
                row[k] = 1.0;
                theta.extend_from_slice(&row);
                let t: [f32; 4] = if k < 2 {
                    [0.6, 0.5, 0.4, 0.02]
                } else {
                    [0.02, 0.02, 0.02, 0.6]
                };
                tags.extend_from_slice(&t);
            }
        }
        let points = vec![[0.5f32, 0.5]; 30];
        let c = Collection::new(&theta, 3, &tags, &tag_names, &points).expect("inputs");
        let s = describe(&c, &CAL, 2);
        assert_eq!(s[0].tags, vec!["piano", "ambient"]);
        assert_eq!(s[1].tags, vec!["piano", "strings"]);
        assert_ne!(s[0].name, s[1].name);
        assert_eq!(s[2].tags[0], "metal");
        assert_eq!(s[0].mood_word, "happy");
    }

    #[test]
    fn mixed_memberships_weigh_moods_and_mixes() {
        // Two tracks: one calm, one happy; scene 0 holds 3/4 of the calm and 1/4 of the happy.
        let theta = [0.75f32, 0.25, 0.25, 0.75];
        let tags = [0.5f32, 0.1, 0.1, 0.5];
        let tag_names = names(&["a", "b"]);
        let points = [[0.5f32, -0.5], [0.5, 0.5]];
        let c = Collection::new(&theta, 2, &tags, &tag_names, &points).expect("inputs");
        let mix = mood_mix(&c);
        assert!((mix[0][3] - 0.75).abs() < 1e-9 && (mix[0][0] - 0.25).abs() < 1e-9);
        let p = scene_points(&c);
        assert!((p[0][0] - 0.5).abs() < 1e-6 && (p[0][1] + 0.25).abs() < 1e-6);
        assert_eq!(main_scenes(&theta, 2), vec![0, 1]);
        assert_eq!(typical_tracks(&c, 1), vec![vec![0], vec![1]]);
    }

    #[test]
    fn equal_shares_rank_the_track_closest_to_the_scene_tags_first() {
        // Tracks 0-2 wholly in scene 0 (equal shares), track 3 in scene 1. Scene 0's mean
        // tags are (0.6, 0.73); cosines: track 2 (0.9, 0.9) 0.995, track 1 (0.9, 0.3) 0.85,
        // track 0 (0, 1) 0.77.
        let theta = [1.0f32, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        let tags = [0.0f32, 1.0, 0.9, 0.3, 0.9, 0.9, 0.5, 0.5];
        let tag_names = names(&["a", "b"]);
        let points = [[0.0f32, 0.0]; 4];
        let c = Collection::new(&theta, 2, &tags, &tag_names, &points).expect("inputs");
        let t = typical_tracks(&c, 3);
        assert_eq!(t[0], vec![2, 1, 0]);
        assert_eq!(t[1][0], 3);
    }

    #[test]
    fn bad_inputs_are_refused() {
        let tag_names = names(&["a", "b"]);
        let points = [[0.0f32, 0.0]];
        assert!(Collection::new(&[1.0, 0.0], 2, &[0.1], &tag_names, &points).is_err());
        assert!(Collection::new(&[1.0], 2, &[0.1, 0.2], &tag_names, &points).is_err());
        assert!(Collection::new(&[f32::NAN, 1.0], 2, &[0.1, 0.2], &tag_names, &points).is_err());
        assert!(Collection::new(&[], 2, &[], &tag_names, &[]).is_err());
        let nan_point = [[f32::NAN, 0.0]];
        assert!(Collection::new(&[1.0, 0.0], 2, &[0.1, 0.2], &tag_names, &nan_point).is_err());
        assert!(Collection::new(&[1.0, 0.0], 2, &[0.1, 0.2], &tag_names, &points).is_ok());
    }
}
