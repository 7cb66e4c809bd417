//! Kept playlists (create, list, rename, reorder, remove, delete), the "never in playlists"
//! list, the pool playlists are made from, and M3U8 export/import of kept playlists.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::generate::{self, Candidate, GenerateError, Generated, Pool, Request, Target};
use super::journey::{self, Journey, JourneyError, JourneyRequest, Length, Shape, Stop};
use super::m3u::{self, M3uEntry, M3uError};
use super::mood_now::{MoodMethod, MoodNow, MoodReading};
use crate::library::analysis::CURRENT;
use crate::library::store::{now_secs, Library, StoreError};
use crate::library::{AnalysisVersion, BrowseRow, FileStatus, TrackRow};
use crate::mood::{Calibration, Quadrant};

/// "More like these" compares embeddings only among this many tracks nearest in mood: the
/// embeddings of a 100,000-track library are 80 MB, too much to read for one playlist.
pub const LIKE_SHORTLIST: usize = 4096;

/// Why a playlist could not be made, kept, exported or imported.
#[derive(Debug, thiserror::Error)]
pub enum PlaylistError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Generate(#[from] GenerateError),
    #[error(transparent)]
    File(#[from] M3uError),
    #[error("not enough listening yet to know your mood: {plays} counted plays of analysed tracks in the last 7 days, {needed} needed")]
    NotEnoughListening { plays: usize, needed: usize },
    #[error("no playlist {0}")]
    NoSuchPlaylist(String),
    #[error(transparent)]
    Journey(#[from] JourneyError),
    #[error("track {0} has no current analysis (run `valence analyze`)")]
    NotAnalysed(i64),
}

/// A kept playlist, without its tracks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaylistSummary {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub tracks: usize,
    pub duration_secs: f64,
    /// How it was made (`None`: imported or made by hand).
    pub recipe: Option<Request>,
}

/// A kept playlist with its tracks in order (tracks that left the library are gone).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Playlist {
    pub summary: PlaylistSummary,
    pub tracks: Vec<BrowseRow>,
}

/// A made playlist, before it is kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Made {
    pub request: Request,
    pub generated: Generated,
    /// For `Target::Now`: the mood it was made for.
    pub mood_now: Option<MoodNow>,
    /// A name for it, e.g. "Calm (Q4), 40 tracks".
    pub name: String,
}

/// A change to a planned journey.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Replan<'a> {
    /// The track at this place for the next-best one.
    Swap(usize),
    /// The places not locked planned again.
    Regenerate { locked: &'a [bool] },
}

/// Where a journey starts or ends, before it is resolved to a point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum JourneyEnd {
    /// The listener's mood now (seed 000's week method).
    Now,
    Point(f32, f32),
    /// The quadrant's clear point in this library (`generate::clear_point`).
    Quadrant(Quadrant),
    /// A track: the journey starts or ends on it (pinned there).
    Track(i64),
}

/// What a journey is asked, with its ends unresolved.
#[derive(Debug, Clone, PartialEq)]
pub struct JourneySpec {
    pub from: JourneyEnd,
    pub to: JourneyEnd,
    pub length: Length,
    pub shape: Shape,
    pub max_step: f32,
    pub seed: u64,
}

/// A planned journey with what the window and the command line show of it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedJourney {
    pub request: JourneyRequest,
    pub journey: Journey,
    /// The journey's tracks, in order.
    pub rows: Vec<BrowseRow>,
    /// Their opening, mean and closing moods, in order.
    pub stops: Vec<Stop>,
}

/// One entry of an imported playlist file that is not in the playlist.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingEntry {
    pub line: usize,
    #[serde(serialize_with = "ser_path")]
    pub path: PathBuf,
    pub reason: String,
}

pub(super) fn ser_path<S: serde::Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// What importing a playlist file did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct M3uImport {
    pub playlist_id: i64,
    pub name: String,
    pub entries: usize,
    pub added: usize,
    pub missing: Vec<MissingEntry>,
}

fn summary_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<PlaylistSummary> {
    let recipe: Option<String> = r.get(6)?;
    Ok(PlaylistSummary {
        id: r.get(0)?,
        name: r.get(1)?,
        created_at: r.get(2)?,
        updated_at: r.get(3)?,
        tracks: r.get::<_, i64>(4)? as usize,
        duration_secs: r.get::<_, Option<f64>>(5)?.unwrap_or(0.0),
        // A recipe this build cannot read (a newer one) is shown as none, not an error.
        recipe: recipe.and_then(|s| serde_json::from_str(&s).ok()),
    })
}

const SUMMARY_SQL: &str = "SELECT p.id, p.name, p.created_at, p.updated_at,
        COUNT(i.track_id), SUM(t.duration_s), p.recipe
     FROM playlists p
     LEFT JOIN playlist_items i ON i.playlist_id = p.id
     LEFT JOIN tracks t ON t.id = i.track_id";

impl Library {
    /// Keeps a new playlist of `tracks` (ids, in order); returns its id.
    pub fn create_playlist(
        &mut self,
        name: &str,
        recipe: Option<&Request>,
        tracks: &[i64],
    ) -> Result<i64, StoreError> {
        let recipe = recipe.map(serde_json::to_string).transpose()?;
        let now = now_secs();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO playlists (name, created_at, updated_at, recipe) VALUES (?1, ?2, ?2, ?3)",
            params![name.trim(), now, recipe],
        )?;
        let id = tx.last_insert_rowid();
        write_items(&tx, id, tracks)?;
        tx.commit()?;
        Ok(id)
    }

    /// Every kept playlist, newest first.
    pub fn playlists(&self) -> Result<Vec<PlaylistSummary>, StoreError> {
        let sql = format!("{SUMMARY_SQL} GROUP BY p.id ORDER BY p.updated_at DESC, p.id DESC");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], summary_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A playlist by id, with its tracks as library rows (moods under `v`).
    pub fn playlist(&self, v: &AnalysisVersion, id: i64) -> Result<Option<Playlist>, StoreError> {
        let sql = format!("{SUMMARY_SQL} WHERE p.id = ?1 GROUP BY p.id");
        let Some(summary) = self
            .conn
            .query_row(&sql, params![id], summary_from)
            .optional()?
        else {
            return Ok(None);
        };
        let ids: Vec<i64> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT track_id FROM playlist_items WHERE playlist_id = ?1 ORDER BY pos",
            )?;
            let rows = stmt.query_map(params![id], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut tracks = Vec::with_capacity(ids.len());
        for t in ids {
            // A track that is no longer playable (failed on a rescan) is skipped.
            if let Some(row) = self.browse_row(v, t)? {
                tracks.push(row);
            }
        }
        Ok(Some(Playlist { summary, tracks }))
    }

    /// A playlist by id or by exact name (the newest of that name).
    pub fn find_playlist(&self, id_or_name: &str) -> Result<Option<i64>, StoreError> {
        if let Ok(id) = id_or_name.trim().parse::<i64>() {
            let found: Option<i64> = self
                .conn
                .query_row("SELECT id FROM playlists WHERE id = ?1", params![id], |r| {
                    r.get(0)
                })
                .optional()?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM playlists WHERE name = ?1 ORDER BY updated_at DESC, id DESC LIMIT 1",
                params![id_or_name.trim()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Renames a playlist; false when there is no such playlist.
    pub fn rename_playlist(&mut self, id: i64, name: &str) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "UPDATE playlists SET name = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, name.trim(), now_secs()],
        )?;
        Ok(n > 0)
    }

    /// Replaces a playlist's tracks (reordering and removing are this); false when there is
    /// no such playlist.
    pub fn set_playlist_tracks(&mut self, id: i64, tracks: &[i64]) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE playlists SET updated_at = ?2 WHERE id = ?1",
            params![id, now_secs()],
        )?;
        if n == 0 {
            return Ok(false);
        }
        tx.execute(
            "DELETE FROM playlist_items WHERE playlist_id = ?1",
            params![id],
        )?;
        write_items(&tx, id, tracks)?;
        tx.commit()?;
        Ok(true)
    }

    /// Deletes a playlist; false when there is no such playlist.
    pub fn delete_playlist(&mut self, id: i64) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute("DELETE FROM playlists WHERE id = ?1", params![id])?;
        Ok(n > 0)
    }

    /// Marks a track "never in playlists" (or clears the mark).
    pub fn set_never_in_playlists(&mut self, track_id: i64, never: bool) -> Result<(), StoreError> {
        if never {
            self.conn.execute(
                "INSERT OR IGNORE INTO excluded_tracks (track_id, since)
                 SELECT id, ?2 FROM tracks WHERE id = ?1",
                params![track_id, now_secs()],
            )?;
        } else {
            self.conn.execute(
                "DELETE FROM excluded_tracks WHERE track_id = ?1",
                params![track_id],
            )?;
        }
        Ok(())
    }

    /// Tracks marked "never in playlists".
    pub fn never_in_playlists(&self) -> Result<HashSet<i64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT track_id FROM excluded_tracks")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The analysed playable tracks (without embeddings) and what the rules need at `now`.
    ///
    /// The tracks are read once per library state and kept (process-wide, one library):
    /// reading 100,000 of them costs about 100 ms, a playlist from them 15 ms. The key is
    /// the library's random id and its change counter, which triggers on `tracks` and
    /// `analysis` bump on every write (migration 3), plus the running analysis version.
    pub fn playlist_pool(&self, v: &AnalysisVersion, now: i64) -> Result<Pool, StoreError> {
        let (library, generation): (Vec<u8>, i64) = self.conn.query_row(
            "SELECT library, generation FROM library_state WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let key = PoolKey {
            library,
            generation,
            version: v.clone(),
        };
        let cached = POOL_CACHE.lock().ok().and_then(|c| {
            c.as_ref()
                .filter(|(k, _)| *k == key)
                .map(|(_, p)| p.clone())
        });
        let (candidates, playable) = match cached {
            Some(hit) => hit,
            None => {
                let read = self.read_candidates(v)?;
                if let Ok(mut c) = POOL_CACHE.lock() {
                    *c = Some((key, read.clone()));
                }
                read
            }
        };
        Ok(Pool {
            unanalysed: playable.saturating_sub(candidates.len()),
            candidates,
            excluded: self.never_in_playlists()?,
            played_recently: self.played_since(now - generate::RECENT_SECS)?,
        })
    }

    /// The analysed playable tracks, and how many tracks are playable.
    fn read_candidates(
        &self,
        v: &AnalysisVersion,
    ) -> Result<(Arc<Vec<Candidate>>, usize), StoreError> {
        let sql = format!(
            "SELECT t.id, t.artist, t.album_artist, t.album,
                    COALESCE(t.duration_s, a.duration_s), a.valence, a.arousal, s.main
             FROM tracks t JOIN analysis a ON a.track_id = t.id AND {CURRENT}
                  LEFT JOIN track_scenes s ON s.track_id = t.id
             WHERE t.status = 'ok' AND a.status = 'ok' AND a.valence IS NOT NULL"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![v.features, v.model], |r| {
            Ok(Candidate {
                id: r.get(0)?,
                artist: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                album_artist: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                album: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                duration_secs: r.get::<_, Option<f64>>(4)?.unwrap_or(0.0),
                valence: r.get(5)?,
                arousal: r.get(6)?,
                embedding: Vec::new(),
                scene: r.get(7)?,
            })
        })?;
        let candidates: Vec<Candidate> = rows.collect::<Result<_, _>>()?;
        let playable: i64 =
            self.conn
                .query_row("SELECT COUNT(*) FROM tracks WHERE status = 'ok'", [], |r| {
                    r.get(0)
                })?;
        Ok((Arc::new(candidates), playable.max(0) as usize))
    }

    /// The analysed playable tracks as journey stops: mean, opening and closing moods.
    pub fn journey_stops(&self, v: &AnalysisVersion) -> Result<Vec<Stop>, StoreError> {
        let sql = format!(
            "SELECT t.id, t.artist, COALESCE(t.duration_s, a.duration_s), a.valence, a.arousal,
                    COALESCE(a.start_valence, a.valence), COALESCE(a.start_arousal, a.arousal),
                    COALESCE(a.end_valence, a.valence), COALESCE(a.end_arousal, a.arousal)
             FROM tracks t JOIN analysis a ON a.track_id = t.id AND {CURRENT}
             WHERE t.status = 'ok' AND a.status = 'ok' AND a.valence IS NOT NULL"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![v.features, v.model], |r| {
            Ok(Stop {
                id: r.get(0)?,
                artist: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                duration_secs: r.get::<_, Option<f64>>(2)?.unwrap_or(0.0),
                mean: (r.get(3)?, r.get(4)?),
                start: (r.get(5)?, r.get(6)?),
                end: (r.get(7)?, r.get(8)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The stored track embeddings of `ids` (current results only).
    pub fn embeddings(
        &self,
        v: &AnalysisVersion,
        ids: &[i64],
    ) -> Result<HashMap<i64, Vec<f32>>, StoreError> {
        let sql = format!(
            "SELECT a.embedding FROM tracks t JOIN analysis a ON a.track_id = t.id AND {CURRENT}
             WHERE t.id = ?3"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut out = HashMap::with_capacity(ids.len());
        for &id in ids {
            let blob: Option<Option<Vec<u8>>> = stmt
                .query_row(params![v.features, v.model, id], |r| r.get(0))
                .optional()?;
            if let Some(Some(b)) = blob {
                out.insert(
                    id,
                    b.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                );
            }
        }
        Ok(out)
    }

    /// Makes (does not keep) a playlist for `req` at time `now`. "My mood now" is resolved
    /// with seed 000's method (`MoodMethod::Week`).
    pub fn make_playlist(
        &self,
        v: &AnalysisVersion,
        cal: &Calibration,
        req: &Request,
        now: i64,
    ) -> Result<Made, PlaylistError> {
        let mut pool = self.playlist_pool(v, now)?;
        let mut resolved = req.clone();
        let mut mood_now = None;
        match &req.target {
            Target::Now => match self.mood_now(v, cal, MoodMethod::Week, now)? {
                MoodReading::Mood(m) => {
                    resolved.target = Target::Point {
                        valence: m.mood.valence,
                        arousal: m.mood.arousal,
                    };
                    mood_now = Some(m);
                }
                MoodReading::NotEnough { plays, needed } => {
                    return Err(PlaylistError::NotEnoughListening { plays, needed })
                }
            },
            Target::Like(seeds) => {
                let mut near = shortlist_like(&pool.candidates, seeds);
                let ids: Vec<i64> = near.iter().map(|c| c.id).collect();
                let mut emb = self.embeddings(v, &ids)?;
                for c in &mut near {
                    c.embedding = emb.remove(&c.id).unwrap_or_default();
                }
                pool.candidates = Arc::new(near);
            }
            Target::Quadrant(_) | Target::Point { .. } | Target::Region { .. } => {}
        }
        let generated = generate::generate(&pool, &resolved)?;
        let name = match &mood_now {
            Some(m) => format!(
                "Your mood now: {} ({}), {}",
                m.mood.quadrant.label(),
                m.mood.quadrant.name(),
                req.size
            ),
            None => {
                let mut t = req.target.describe();
                if let Some(first) = t.get(..1) {
                    t = first.to_uppercase() + &t[1..];
                }
                format!("{t}, {}", req.size)
            }
        };
        Ok(Made {
            request: req.clone(),
            generated,
            mood_now,
            name,
        })
    }

    /// A journey end resolved to a point, and the track to pin there (for a track).
    pub fn journey_end(
        &self,
        v: &AnalysisVersion,
        cal: &Calibration,
        stops: &[Stop],
        end: JourneyEnd,
        now: i64,
    ) -> Result<((f32, f32), Option<i64>), PlaylistError> {
        match end {
            JourneyEnd::Now => match self.mood_now(v, cal, MoodMethod::Week, now)? {
                MoodReading::Mood(m) => Ok(((m.mood.valence, m.mood.arousal), None)),
                MoodReading::NotEnough { plays, needed } => {
                    Err(PlaylistError::NotEnoughListening { plays, needed })
                }
            },
            JourneyEnd::Point(v, a) => Ok(((v.clamp(-1.0, 1.0), a.clamp(-1.0, 1.0)), None)),
            JourneyEnd::Quadrant(q) => {
                Ok((generate::clear_point(stops.iter().map(|s| s.mean), q), None))
            }
            JourneyEnd::Track(id) => stops
                .iter()
                .find(|s| s.id == id)
                .map(|s| (s.mean, Some(id)))
                .ok_or(PlaylistError::NotAnalysed(id)),
        }
    }

    /// Plans a journey for `spec` over the analysed library (`journey::plan`).
    pub fn plan_journey(
        &self,
        v: &AnalysisVersion,
        cal: &Calibration,
        spec: &JourneySpec,
        now: i64,
    ) -> Result<PlannedJourney, PlaylistError> {
        let stops = self.journey_stops(v)?;
        let (from, first) = self.journey_end(v, cal, &stops, spec.from, now)?;
        let (to, last) = self.journey_end(v, cal, &stops, spec.to, now)?;
        let mut request = JourneyRequest::new(from, to, spec.length);
        request.shape = spec.shape;
        request.max_step = spec.max_step;
        request.seed = spec.seed;
        request.pins = first
            .map(|id| (0, id))
            .into_iter()
            .chain(last.map(|id| (journey::LAST, id)))
            .collect();
        let planned = journey::plan(&stops, &request)?;
        self.planned(v, &stops, request, planned)
    }

    /// A journey changed by hand: `journey::swap` (`Some(i)`) or `journey::regenerate`
    /// around the `locked` places.
    pub fn replan_journey(
        &self,
        v: &AnalysisVersion,
        request: &JourneyRequest,
        tracks: &[i64],
        change: Replan<'_>,
    ) -> Result<PlannedJourney, PlaylistError> {
        let stops = self.journey_stops(v)?;
        let (j, request) = match change {
            Replan::Swap(i) => journey::swap(&stops, request, tracks, i)?,
            Replan::Regenerate { locked } => journey::regenerate(&stops, request, tracks, locked)?,
        };
        self.planned(v, &stops, request, j)
    }

    fn planned(
        &self,
        v: &AnalysisVersion,
        stops: &[Stop],
        request: JourneyRequest,
        journey: Journey,
    ) -> Result<PlannedJourney, PlaylistError> {
        let by_id: HashMap<i64, &Stop> = stops.iter().map(|s| (s.id, s)).collect();
        let mut rows = Vec::with_capacity(journey.tracks.len());
        let mut picked = Vec::with_capacity(journey.tracks.len());
        for &id in &journey.tracks {
            let row = self
                .browse_row(v, id)?
                .ok_or(PlaylistError::NotAnalysed(id))?;
            rows.push(row);
            picked.push((*by_id.get(&id).ok_or(PlaylistError::NotAnalysed(id))?).clone());
        }
        Ok(PlannedJourney {
            request,
            journey,
            rows,
            stops: picked,
        })
    }

    /// Writes a kept playlist as M3U8 to `out`; returns the number of entries.
    pub fn export_playlist(
        &self,
        v: &AnalysisVersion,
        id: i64,
        out: &Path,
    ) -> Result<usize, PlaylistError> {
        let p = self
            .playlist(v, id)?
            .ok_or_else(|| PlaylistError::NoSuchPlaylist(id.to_string()))?;
        let entries: Vec<M3uEntry> = p.tracks.iter().map(M3uEntry::from).collect();
        m3u::write_m3u8(out, &entries)?;
        Ok(entries.len())
    }

    /// Reads an M3U/M3U8 file into a new kept playlist (named `name`, else after the file).
    /// Entries whose file is missing or not in the library are reported, not fatal.
    pub fn import_playlist(
        &mut self,
        file: &Path,
        name: Option<&str>,
    ) -> Result<M3uImport, PlaylistError> {
        let parsed = m3u::read_m3u(file)?;
        let mut ids = Vec::new();
        let mut missing = Vec::new();
        for e in &parsed.entries {
            if !e.exists {
                missing.push(MissingEntry {
                    line: e.line,
                    path: e.path.clone(),
                    reason: "file not found".into(),
                });
                continue;
            }
            let playable = |t: TrackRow| (t.status == FileStatus::Ok).then_some(t.id);
            let id = match self.track_by_path(&e.path)?.and_then(playable) {
                Some(id) => Some(id),
                // The library keeps the paths it scanned; the file may name them otherwise.
                None => match std::fs::canonicalize(&e.path) {
                    Ok(c) if c != e.path => self.track_by_path(&c)?.and_then(playable),
                    _ => None,
                },
            };
            match id {
                Some(id) => ids.push(id),
                None => missing.push(MissingEntry {
                    line: e.line,
                    path: e.path.clone(),
                    reason: "not in the library (scan its folder first)".into(),
                }),
            }
        }
        let name = name.map(str::to_string).unwrap_or_else(|| {
            file.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "Imported playlist".into())
        });
        let playlist_id = self.create_playlist(&name, None, &ids)?;
        Ok(M3uImport {
            playlist_id,
            name,
            entries: parsed.entries.len(),
            added: ids.len(),
            missing,
        })
    }
}

impl From<&BrowseRow> for M3uEntry {
    fn from(t: &BrowseRow) -> Self {
        M3uEntry {
            path: t.path.clone(),
            duration_secs: t.duration_secs,
            artist: t.artist.clone(),
            title: t.title.clone(),
        }
    }
}

fn write_items(tx: &rusqlite::Transaction<'_>, id: i64, tracks: &[i64]) -> Result<(), StoreError> {
    let mut ins = tx.prepare_cached(
        "INSERT INTO playlist_items (playlist_id, pos, track_id)
         SELECT ?1, ?2, id FROM tracks WHERE id = ?3",
    )?;
    for (pos, t) in tracks.iter().enumerate() {
        ins.execute(params![id, pos as i64, t])?;
    }
    Ok(())
}

/// The seeds and the `LIKE_SHORTLIST` tracks nearest to their mean mood (copies: their
/// embeddings are filled in next).
fn shortlist_like(all: &[Candidate], seeds: &[i64]) -> Vec<Candidate> {
    let seed_set: HashSet<i64> = seeds.iter().copied().collect();
    let points: Vec<(f32, f32)> = all
        .iter()
        .filter(|c| seed_set.contains(&c.id))
        .map(|c| (c.valence, c.arousal))
        .collect();
    if all.len() <= LIKE_SHORTLIST || points.is_empty() {
        // Small, or a seed is not analysed (generate() says which).
        return all.to_vec();
    }
    let n = points.len() as f32;
    let v = points.iter().map(|p| p.0).sum::<f32>() / n;
    let a = points.iter().map(|p| p.1).sum::<f32>() / n;
    let d = |c: &Candidate| (c.valence - v).powi(2) + (c.arousal - a).powi(2);
    let mut rest: Vec<&Candidate> = all.iter().filter(|c| !seed_set.contains(&c.id)).collect();
    if rest.len() > LIKE_SHORTLIST {
        rest.select_nth_unstable_by(LIKE_SHORTLIST, |x, y| {
            d(x).total_cmp(&d(y)).then(x.id.cmp(&y.id))
        });
        rest.truncate(LIKE_SHORTLIST);
    }
    all.iter()
        .filter(|c| seed_set.contains(&c.id))
        .chain(rest)
        .cloned()
        .collect()
}

/// What a kept candidate list was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PoolKey {
    /// `library_state.library`: random per database, so a new file never matches.
    library: Vec<u8>,
    generation: i64,
    version: AnalysisVersion,
}

type CachedCandidates = (Arc<Vec<Candidate>>, usize);

/// The last candidate list read, and its key.
static POOL_CACHE: Mutex<Option<(PoolKey, CachedCandidates)>> = Mutex::new(None);
