//! "Your mood now": the listener's current mood, read from the counted plays of the
//! history.
//!
//! Two methods, from the seeds:
//! - [`MoodMethod::Week`] (seed 000): the 10 most-played tracks of the last 7 days, each
//!   weighted by its share of those tracks' plays. Ties in play count go to the track played
//!   more recently, then to the lower track id.
//! - [`MoodMethod::Recent`] (seed 001, "right now"): the last 10 counted plays, each play
//!   weighing the same (a track heard twice among them weighs twice).
//!
//! The tracks' emotions are combined by **averaging their valence/arousal points** with
//! those weights; the quadrant and its probabilities are then derived from the averaged point
//! exactly as for a track (`crate::mood`). Not averaged posteriors: their argmax can disagree
//! with the averaged point, the badge-versus-numbers contradiction issue 11 removed. Not
//! averaged features through the emotion model (seed 000's literal method): the model is a
//! non-linear ensemble, and the mean of two songs' features is a sound no song has, off the
//! distribution it was trained on; it would also need the network and every track's segment
//! features in the window, where a stored point per track is enough (and fast: the
//! 1,000,000-play benchmark in `benches/playlists.rs`).
//!
//! Fewer than [`MIN_PLAYS`] counted plays with an analysed track is "not enough listening
//! yet", never a guess.

use serde::Serialize;

use rusqlite::params;

use crate::library::store::{Library, StoreError};
use crate::library::AnalysisVersion;
use crate::mood::{Calibration, Mood};

/// Tracks (Week) or plays (Recent) the mood is read from.
pub const TOP_K: usize = 10;
/// The Week method's window.
pub const WEEK_SECS: i64 = 7 * 24 * 3600;
/// Fewer counted plays than this is not enough to say anything.
pub const MIN_PLAYS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MoodMethod {
    /// Seed 000: the week's 10 most-played tracks, weighted by their plays.
    #[default]
    Week,
    /// Seed 001: the last 10 counted plays.
    Recent,
}

impl MoodMethod {
    pub fn describe(self) -> &'static str {
        match self {
            MoodMethod::Week => "your 10 most-played tracks of the last 7 days",
            MoodMethod::Recent => "your last 10 plays",
        }
    }
}

/// One track the mood was read from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MoodSource {
    pub track_id: i64,
    pub title: String,
    pub artist: String,
    /// Counted plays of this track in the window.
    pub plays: usize,
    /// Its share of the mood, summing to 1 over the sources.
    pub weight: f32,
    pub mood: Mood,
}

/// The listener's mood now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MoodNow {
    pub method: MoodMethod,
    /// The weighted mean point, its quadrant and probabilities.
    pub mood: Mood,
    /// The tracks it came from, heaviest first.
    pub sources: Vec<MoodSource>,
    /// Counted plays in the window that had no current analysis (left out).
    pub unanalysed_plays: usize,
}

/// The answer: a mood, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MoodReading {
    Mood(MoodNow),
    /// Not enough listening yet: `plays` counted plays of analysed tracks in the window,
    /// `needed` wanted.
    NotEnough {
        plays: usize,
        needed: usize,
    },
}

impl MoodReading {
    pub fn mood(&self) -> Option<&MoodNow> {
        match self {
            MoodReading::Mood(m) => Some(m),
            MoodReading::NotEnough { .. } => None,
        }
    }
}

/// A counted play with its track's current mood (`None`: not analysed).
struct Weighted {
    track_id: i64,
    plays: usize,
    mood: Option<(Mood, String, String)>,
}

impl Library {
    /// The mood now at time `now` (unix seconds), by `method`. `v` is the running analysis
    /// version (only current results are used), `cal` the model's calibration.
    pub fn mood_now(
        &self,
        v: &AnalysisVersion,
        cal: &Calibration,
        method: MoodMethod,
        now: i64,
    ) -> Result<MoodReading, StoreError> {
        let counted: Vec<(i64, usize)> = match method {
            MoodMethod::Week => {
                // (counts, started_at) index: only the window's plays are read.
                let mut stmt = self.conn.prepare_cached(
                    "SELECT track_id, COUNT(*) AS n, MAX(started_at) AS last FROM plays
                     WHERE counts = 1 AND started_at > ?1 AND started_at <= ?2
                       AND track_id IS NOT NULL
                     GROUP BY track_id ORDER BY n DESC, last DESC, track_id LIMIT ?3",
                )?;
                let rows = stmt.query_map(params![now - WEEK_SECS, now, TOP_K as i64], |r| {
                    Ok((r.get(0)?, r.get::<_, i64>(1)? as usize))
                })?;
                rows.collect::<Result<_, _>>()?
            }
            MoodMethod::Recent => {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT track_id FROM plays
                     WHERE counts = 1 AND started_at <= ?1 AND track_id IS NOT NULL
                     ORDER BY started_at DESC, id DESC LIMIT ?2",
                )?;
                let ids = stmt.query_map(params![now, TOP_K as i64], |r| r.get::<_, i64>(0))?;
                // One entry per track, in order of its latest play, its plays counted.
                let mut out: Vec<(i64, usize)> = Vec::new();
                for id in ids {
                    let id = id?;
                    match out.iter_mut().find(|(t, _)| *t == id) {
                        Some((_, n)) => *n += 1,
                        None => out.push((id, 1)),
                    }
                }
                out
            }
        };
        let mut weighted = Vec::with_capacity(counted.len());
        for (track_id, plays) in counted {
            let mood = self.browse_row(v, track_id)?.and_then(|r| {
                let title = r.title.clone();
                r.mood.map(|m| (m, title, r.artist))
            });
            weighted.push(Weighted {
                track_id,
                plays,
                mood,
            });
        }
        Ok(combine(method, weighted, cal))
    }
}

fn combine(method: MoodMethod, w: Vec<Weighted>, cal: &Calibration) -> MoodReading {
    let unanalysed_plays = w.iter().filter(|x| x.mood.is_none()).map(|x| x.plays).sum();
    let analysed: Vec<_> = w.into_iter().filter(|x| x.mood.is_some()).collect();
    let plays: usize = analysed.iter().map(|x| x.plays).sum();
    if plays < MIN_PLAYS {
        return MoodReading::NotEnough {
            plays,
            needed: MIN_PLAYS,
        };
    }
    let (mut v, mut a) = (0.0f32, 0.0f32);
    let mut sources = Vec::with_capacity(analysed.len());
    for x in analysed {
        let Some((mood, title, artist)) = x.mood else {
            continue;
        };
        let weight = x.plays as f32 / plays as f32;
        v += weight * mood.valence;
        a += weight * mood.arousal;
        sources.push(MoodSource {
            track_id: x.track_id,
            title,
            artist,
            plays: x.plays,
            weight,
            mood,
        });
    }
    // Heaviest first; the query's order (recency) breaks ties.
    sources.sort_by_key(|s| std::cmp::Reverse(s.plays));
    MoodReading::Mood(MoodNow {
        method,
        mood: Mood::from_point(v, a, cal),
        sources,
        unanalysed_plays,
    })
}
