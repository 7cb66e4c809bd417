//! The listening history: every play the player makes, and plays imported from
//! ListenBrainz or Last.fm. A play *counts* (for "your mood now" and for statistics) under
//! the rule Last.fm and ListenBrainz share: the track is longer than 30 s and was heard for
//! half its length or 4 minutes, whichever is shorter.

use std::collections::{HashMap, HashSet};

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::import::{match_key, BadRow, HistoryFormat, ParsedHistory};
use crate::library::store::{Library, StoreError};

/// Tracks this short never count.
pub const MIN_TRACK_SECS: f64 = 30.0;
/// Hearing this much always counts (for a track longer than 30 s).
pub const ENOUGH_SECS: f64 = 240.0;

/// Whether a play counts: the track is longer than 30 s and was heard for half its length or
/// 4 minutes, whichever is shorter. A track of unknown length counts after 4 minutes.
pub fn play_counts(track_secs: Option<f64>, heard_secs: f64) -> bool {
    let heard = if heard_secs.is_finite() {
        heard_secs
    } else {
        0.0
    };
    match track_secs.filter(|t| t.is_finite() && *t > 0.0) {
        Some(len) => len > MIN_TRACK_SECS && heard >= (len / 2.0).min(ENOUGH_SECS),
        None => heard >= ENOUGH_SECS,
    }
}

/// How a play ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlayEnd {
    /// The track played to its end.
    Finished,
    /// The listener moved to another track.
    Skipped,
    /// Playback stopped (the queue ended early, the window closed).
    Stopped,
}

impl PlayEnd {
    fn as_str(self) -> &'static str {
        match self {
            PlayEnd::Finished => "finished",
            PlayEnd::Skipped => "skipped",
            PlayEnd::Stopped => "stopped",
        }
    }
    fn parse(s: &str) -> Option<PlayEnd> {
        match s {
            "finished" => Some(PlayEnd::Finished),
            "skipped" => Some(PlayEnd::Skipped),
            "stopped" => Some(PlayEnd::Stopped),
            _ => None,
        }
    }
}

/// Where a play comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlaySource {
    Player,
    ListenBrainz,
    LastFm,
}

impl PlaySource {
    fn as_str(self) -> &'static str {
        match self {
            PlaySource::Player => "player",
            PlaySource::ListenBrainz => "listenbrainz",
            PlaySource::LastFm => "lastfm",
        }
    }
    fn parse(s: &str) -> PlaySource {
        match s {
            "listenbrainz" => PlaySource::ListenBrainz,
            "lastfm" => PlaySource::LastFm,
            _ => PlaySource::Player,
        }
    }
}

/// A play the player just finished with.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPlay {
    pub track_id: i64,
    /// Unix seconds.
    pub started_at: i64,
    /// Seconds of audio heard (seeks are not hearing).
    pub heard_secs: f64,
    pub ended: PlayEnd,
}

/// One stored play.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Play {
    pub id: i64,
    /// `None` once the file has left the library.
    pub track_id: Option<i64>,
    pub started_at: i64,
    pub heard_secs: f64,
    /// `None` for imported plays (the export does not say).
    pub ended: Option<PlayEnd>,
    pub counts: bool,
    pub source: PlaySource,
    pub artist: String,
    pub title: String,
    pub duration_secs: Option<f64>,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    pub format: HistoryFormat,
    /// Listens read from the file (bad rows not included).
    pub listens: usize,
    /// Listens whose artist and title name a library track.
    pub matched: usize,
    /// Matched listens newly stored (the rest were already imported).
    pub added: usize,
    /// Listens with no library track, by (artist, title), most frequent first.
    pub unmatched: Vec<Unmatched>,
    /// Rows that could not be read, with the reason.
    pub bad: Vec<BadRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmatched {
    pub artist: String,
    pub title: String,
    pub listens: usize,
}

const PLAY_COLUMNS: &str =
    "id, track_id, started_at, heard_s, ended, counts, source, artist, title, duration_s";

fn play_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<Play> {
    Ok(Play {
        id: r.get(0)?,
        track_id: r.get(1)?,
        started_at: r.get(2)?,
        heard_secs: r.get(3)?,
        ended: r
            .get::<_, Option<String>>(4)?
            .as_deref()
            .and_then(PlayEnd::parse),
        counts: r.get(5)?,
        source: PlaySource::parse(&r.get::<_, String>(6)?),
        artist: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
        title: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
        duration_secs: r.get(9)?,
    })
}

impl Library {
    /// Stores a play of the player. Whether it counts follows from the track's length as
    /// stored; the artist and title are copied so the play outlives the file. `None`: the
    /// track is no longer in the library (nothing stored).
    pub fn record_play(&mut self, p: &NewPlay) -> Result<Option<Play>, StoreError> {
        let tx = self.conn.transaction()?;
        let track: Option<(Option<String>, Option<String>, Option<f64>)> = tx
            .query_row(
                "SELECT artist, title, duration_s FROM tracks WHERE id = ?1",
                params![p.track_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((artist, title, duration)) = track else {
            return Ok(None);
        };
        let heard = if p.heard_secs.is_finite() {
            p.heard_secs.max(0.0)
        } else {
            0.0
        };
        let counts = play_counts(duration, heard);
        tx.execute(
            "INSERT INTO plays (track_id, started_at, heard_s, ended, counts, source, artist,
                title, duration_s) VALUES (?1, ?2, ?3, ?4, ?5, 'player', ?6, ?7, ?8)",
            params![
                p.track_id,
                p.started_at,
                heard,
                p.ended.as_str(),
                counts,
                artist,
                title,
                duration
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Some(Play {
            id,
            track_id: Some(p.track_id),
            started_at: p.started_at,
            heard_secs: heard,
            ended: Some(p.ended),
            counts,
            source: PlaySource::Player,
            artist: artist.unwrap_or_default(),
            title: title.unwrap_or_default(),
            duration_secs: duration,
        }))
    }

    /// The newest plays first, at most `limit`; only counted ones when `counted_only`.
    pub fn history(&self, limit: usize, counted_only: bool) -> Result<Vec<Play>, StoreError> {
        let filter = if counted_only { "WHERE counts = 1" } else { "" };
        let sql = format!(
            "SELECT {PLAY_COLUMNS} FROM plays {filter} ORDER BY started_at DESC, id DESC LIMIT ?1"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params![limit.min(i64::MAX as usize) as i64], play_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stored plays, counted or not.
    pub fn play_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM plays", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Tracks played (counted or not) at or after `since` (unix seconds).
    pub fn played_since(&self, since: i64) -> Result<HashSet<i64>, StoreError> {
        // Deduplicated here, not with DISTINCT, and `+track_id` keeps the planner off the
        // track index: with either, SQLite walked all plays in track order (1.6 s at 1M
        // plays) instead of the last day's through `plays_time` (under 1 ms).
        let mut stmt = self.conn.prepare_cached(
            "SELECT track_id FROM plays WHERE started_at >= ?1 AND +track_id IS NOT NULL",
        )?;
        let rows = stmt.query_map(params![since], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stores the listens of an exported history that name a library track (matched by
    /// artist and title, see [`match_key`]); plays already imported are not added twice.
    /// Imported plays count: both services only keep listens that met the rule.
    pub fn import_history(&mut self, parsed: &ParsedHistory) -> Result<ImportReport, StoreError> {
        let source = match parsed.format {
            HistoryFormat::ListenBrainz => PlaySource::ListenBrainz,
            HistoryFormat::LastFm => PlaySource::LastFm,
        };
        let tx = self.conn.transaction()?;
        // Keyed by artist and title; a title by the album artist matches too.
        let mut keys: HashMap<String, (i64, Option<f64>)> = HashMap::new();
        {
            let mut stmt = tx.prepare(
                "SELECT id, artist, album_artist, title, duration_s FROM tracks
                 WHERE status = 'ok' AND title IS NOT NULL ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<f64>>(4)?,
                ))
            })?;
            for row in rows {
                let (id, artist, album_artist, title, dur) = row?;
                for a in [artist, album_artist].into_iter().flatten() {
                    keys.entry(match_key(&a, &title)).or_insert((id, dur));
                }
            }
        }
        let mut matched = 0;
        let mut added = 0;
        let mut unmatched: HashMap<String, Unmatched> = HashMap::new();
        {
            let mut ins = tx.prepare(
                "INSERT OR IGNORE INTO plays (track_id, started_at, heard_s, ended, counts,
                    source, artist, title, duration_s)
                 VALUES (?1, ?2, ?3, NULL, 1, ?4, ?5, ?6, ?7)",
            )?;
            for l in &parsed.listens {
                let key = match_key(&l.artist, &l.title);
                match keys.get(&key) {
                    Some(&(id, dur)) => {
                        matched += 1;
                        let dur = l.duration_secs.or(dur);
                        // The export says it counted, not how much was heard: the rule's
                        // threshold is the least it can have been.
                        let heard = dur.map(|d| (d / 2.0).min(ENOUGH_SECS)).unwrap_or(0.0);
                        added += ins.execute(params![
                            id,
                            l.listened_at,
                            heard,
                            source.as_str(),
                            l.artist,
                            l.title,
                            dur
                        ])?;
                    }
                    None => {
                        unmatched
                            .entry(key)
                            .or_insert_with(|| Unmatched {
                                artist: l.artist.clone(),
                                title: l.title.clone(),
                                listens: 0,
                            })
                            .listens += 1;
                    }
                }
            }
        }
        tx.commit()?;
        let mut unmatched: Vec<Unmatched> = unmatched.into_values().collect();
        unmatched.sort_by(|a, b| {
            b.listens
                .cmp(&a.listens)
                .then_with(|| a.artist.cmp(&b.artist))
                .then_with(|| a.title.cmp(&b.title))
        });
        Ok(ImportReport {
            format: parsed.format,
            listens: parsed.listens.len(),
            matched,
            added,
            unmatched,
            bad: parsed.bad.clone(),
        })
    }
}

/// A length or an offset as `m:ss`, `h:mm:ss` from an hour on (whole seconds, cut down).
pub fn fmt_clock(secs: f64) -> String {
    let total = if secs.is_finite() && secs > 0.0 {
        secs as u64
    } else {
        0
    };
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM` (UTC); kept by the library (its backups are named by date).
pub use crate::library::fmt_utc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counting_rule() {
        // Not longer than 30 s: never.
        assert!(!play_counts(Some(30.0), 30.0));
        assert!(!play_counts(Some(20.0), 20.0));
        // Half the length.
        assert!(play_counts(Some(31.0), 15.5));
        assert!(!play_counts(Some(31.0), 15.4));
        assert!(play_counts(Some(200.0), 100.0));
        assert!(!play_counts(Some(200.0), 99.9));
        // 4 minutes when shorter than half: a 10-minute track.
        assert!(play_counts(Some(600.0), 240.0));
        assert!(!play_counts(Some(600.0), 239.9));
        // Exactly 8 minutes: both thresholds are 240 s.
        assert!(play_counts(Some(480.0), 240.0));
        // Unknown length: 4 minutes.
        assert!(play_counts(None, 240.0));
        assert!(!play_counts(None, 200.0));
        assert!(!play_counts(Some(f64::NAN), 100.0));
        assert!(!play_counts(Some(200.0), f64::NAN));
    }

    #[test]
    fn utc_dates() {
        assert_eq!(fmt_utc(0), "1970-01-01 00:00");
        assert_eq!(fmt_utc(1_795_348_800), "2026-11-22 12:00");
        assert_eq!(fmt_utc(951_782_400), "2000-02-29 00:00");
        assert_eq!(fmt_utc(-60), "1969-12-31 23:59");
    }

    #[test]
    fn clock_lengths() {
        assert_eq!(fmt_clock(0.0), "0:00");
        assert_eq!(fmt_clock(59.9), "0:59");
        assert_eq!(fmt_clock(605.0), "10:05");
        assert_eq!(fmt_clock(3600.0), "1:00:00");
        assert_eq!(fmt_clock(3725.0), "1:02:05");
        assert_eq!(fmt_clock(f64::NAN), "0:00");
        assert_eq!(fmt_clock(-5.0), "0:00");
    }
}
