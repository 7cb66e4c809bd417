//! Stored analysis results: per-track emotion, the per-segment timeline, embedding, tags and
//! a spectrogram thumbnail. One transaction per track, so a kill never leaves half a result.
//!
//! A result is *current* when it was computed by the running features/model versions from
//! the file as it is now (same size and mtime); anything else is pending and is recomputed.

use crate::audio::gain::{Gain, Loudness, TrackGain, REFERENCE_LUFS};
use std::path::PathBuf;

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::store::{bytes_path, now_secs, Library, StoreError};
use crate::mood::{Mood, Quadrant};

/// The versions a result must carry to be current.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalysisVersion {
    /// `features::FEATURES_VERSION`.
    pub features: u32,
    /// Emotion model version plus the analysis pipeline version, e.g. `emotion-1+a1`.
    pub model: String,
}

impl AnalysisVersion {
    /// The version when the model files are missing: no stored result is current, but the
    /// library, its history and playlists still read.
    pub fn unavailable() -> Self {
        Self {
            features: 0,
            model: "unavailable".into(),
        }
    }
}

/// A playable track that needs (re)analysis.
#[derive(Debug, Clone)]
pub struct PendingTrack {
    pub id: i64,
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    /// Duration from the tags/container, if known (for progress and ETA).
    pub duration_secs: Option<f64>,
}

/// One stretch of the emotion timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelinePoint {
    pub start_s: f64,
    pub end_s: f64,
    /// Quadrant probabilities Q1..Q4.
    pub probs: [f32; 4],
    pub valence: f32,
    pub arousal: f32,
}

/// Downsampled log-mel picture of the whole track: `height` mel rows (row 0 = lowest band)
/// by `width` time columns, 0..=255 over a fixed dB range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thumbnail {
    pub width: u32,
    pub height: u32,
    #[serde(skip)]
    pub pixels: Vec<u8>,
}

impl Thumbnail {
    pub fn get(&self, col: u32, row: u32) -> u8 {
        self.pixels
            .get((row * self.width + col) as usize)
            .copied()
            .unwrap_or(0)
    }
}

/// Everything the analyser found out about one track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisData {
    pub probs: [f32; 4],
    pub valence: f32,
    pub arousal: f32,
    /// Seconds of audio analysed (the decoded duration).
    pub duration_s: f64,
    pub timeline: Vec<TimelinePoint>,
    #[serde(skip)]
    pub embedding: Vec<f32>,
    pub top_tags: Vec<(String, f32)>,
    pub thumbnail: Thumbnail,
    /// The audio word of each segment (`themes::Codebook`), in order: the track's document
    /// for theme scenes.
    #[serde(skip)]
    pub words: Vec<u16>,
    /// The mean musicnn tag probabilities over the segments (scene names).
    #[serde(skip)]
    pub tag_means: Vec<f32>,
    /// EBU R128 loudness of the track (ReplayGain), when it could be measured.
    #[serde(default)]
    pub loudness: Option<crate::audio::gain::Loudness>,
}

/// What theme scenes read of one analysed track.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneInput {
    pub track_id: i64,
    /// Its segments' audio words, in order.
    pub words: Vec<u16>,
    /// Its mean musicnn tag probabilities.
    pub tag_means: Vec<f32>,
    /// Its (valence, arousal).
    pub point: (f32, f32),
}

/// Share of a track, at each end, whose timeline makes its opening and closing mood.
pub const SEAM_SHARE: f64 = 0.2;

/// A track's opening and closing moods, `((valence, arousal), (valence, arousal))`: the mean
/// point of the timeline's segments that start in its first fifth, and of those that end in
/// its last fifth (migration 4 computes the same in SQL for results already stored). Without
/// a timeline, both are `mean`.
pub fn seam_points(
    timeline: &[TimelinePoint],
    duration_s: f64,
    mean: (f32, f32),
) -> ((f32, f32), (f32, f32)) {
    let avg = |pick: &dyn Fn(&TimelinePoint) -> bool| {
        let (mut v, mut a, mut n) = (0.0f32, 0.0f32, 0usize);
        for p in timeline.iter().filter(|p| pick(p)) {
            v += p.valence;
            a += p.arousal;
            n += 1;
        }
        if n == 0 {
            mean
        } else {
            (v / n as f32, a / n as f32)
        }
    };
    (
        avg(&|p| p.start_s < SEAM_SHARE * duration_s),
        avg(&|p| p.end_s > (1.0 - SEAM_SHARE) * duration_s),
    )
}

impl AnalysisData {
    /// The track's opening and closing moods (see [`seam_points`]).
    pub fn seams(&self) -> ((f32, f32), (f32, f32)) {
        seam_points(
            &self.timeline,
            self.duration_s,
            (self.valence, self.arousal),
        )
    }

    /// The track's mood: its valence/arousal point, the point's quadrant and the quadrant
    /// probabilities (see `crate::mood`).
    pub fn mood(&self) -> Mood {
        Mood::new(self.valence, self.arousal, self.probs)
    }

    /// The quadrant of the track's valence/arousal point.
    pub fn quadrant(&self) -> Quadrant {
        Quadrant::of_point(self.valence, self.arousal)
    }
}

impl TimelinePoint {
    /// The mood of this stretch of the track.
    pub fn mood(&self) -> Mood {
        Mood::new(self.valence, self.arousal, self.probs)
    }
}

/// A result as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredAnalysis {
    pub track_id: i64,
    pub features_version: u32,
    pub model_version: String,
    pub analysed_at: i64,
    /// Computed by the running versions from the file as it is now.
    pub current: bool,
    /// The analysis failed for this reason.
    pub error: Option<String>,
    pub data: Option<AnalysisData>,
}

/// Analysis progress of the library under the running versions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AnalysisCounts {
    /// Playable tracks.
    pub tracks: u64,
    pub analysed: u64,
    pub failed: u64,
    pub pending: u64,
}

/// One row of the library view: tags plus the current mood or analysis state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrowseRow {
    pub id: i64,
    pub path: PathBuf,
    pub title: String,
    pub artist: String,
    pub album: String,
    pub track_no: Option<u32>,
    pub duration_secs: Option<f64>,
    pub mood: Option<Mood>,
    /// Why analysis failed (current failure only).
    pub analysis_error: Option<String>,
    /// The theme scene with the largest share of the track (none before scenes are
    /// fitted or the track is folded in).
    pub scene: Option<i64>,
    /// ReplayGain: the file's tags where it has them, else what analysis measured.
    pub gain: TrackGain,
}

pub(crate) const CURRENT: &str = "a.features_version = ?1 AND a.model_version = ?2 \
     AND a.source_size = t.size AND a.source_mtime_ns = t.mtime_ns";

/// Sets the album loudness of `track_id`'s album on every current result of that album: the
/// loudness of all its tracks' gating blocks together, once every playable track of the album
/// has a current measurement (otherwise none, and playback falls back to track gain).
/// Tracks without an album tag have no album.
fn update_album_loudness(
    tx: &rusqlite::Transaction<'_>,
    v: &AnalysisVersion,
    track_id: i64,
) -> Result<(), StoreError> {
    // The album is the album tag under one artist (the album artist, else the artist), so
    // two artists' "Greatest Hits" are two albums.
    const SAME_ALBUM: &str = "FROM tracks t JOIN tracks me ON me.id = ?3
           AND t.album = me.album AND me.album <> ''
           AND COALESCE(NULLIF(t.album_artist, ''), t.artist, '')
             = COALESCE(NULLIF(me.album_artist, ''), me.artist, '')
         LEFT JOIN analysis a ON a.track_id = t.id AND a.status = 'ok' AND ";
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT t.id, a.loudness_blocks, a.sample_peak {SAME_ALBUM} {CURRENT}
         WHERE t.status = 'ok'"
    ))?;
    let rows: Vec<(i64, Option<Vec<u8>>, Option<f64>)> = stmt
        .query_map(params![v.features, v.model, track_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    if rows.is_empty() {
        return Ok(());
    }
    let complete = rows.iter().all(|(_, b, p)| b.is_some() && p.is_some());
    let (lufs, peak) = if complete {
        let blocks: Vec<Vec<crate::audio::gain::BlockBin>> = rows
            .iter()
            .map(|(_, b, _)| Loudness::blocks_from_blob(b.as_deref().unwrap_or_default()))
            .collect();
        let peak = rows
            .iter()
            .filter_map(|(_, _, p)| *p)
            .fold(0.0f64, f64::max);
        (
            crate::audio::gain::album_loudness(blocks.iter().map(Vec::as_slice)),
            Some(peak),
        )
    } else {
        (None, None)
    };
    let mut set = tx.prepare_cached(
        "UPDATE analysis SET album_loudness_lufs = ?2, album_peak = ?3
         WHERE track_id = ?1 AND status = 'ok'",
    )?;
    for (id, _, _) in &rows {
        set.execute(params![id, lufs, lufs.and(peak)])?;
    }
    Ok(())
}

fn f32s_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn u16s_to_blob(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn blob_to_u16s(b: &[u8]) -> Vec<u16> {
    b.chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect()
}

fn blob_to_f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

impl Library {
    /// Playable tracks without a current result, in library order (artist, album, track).
    pub fn pending_analysis(&self, v: &AnalysisVersion) -> Result<Vec<PendingTrack>, StoreError> {
        let sql = format!(
            "SELECT t.id, t.path, t.size, t.mtime_ns, t.duration_s FROM tracks t
             LEFT JOIN analysis a ON a.track_id = t.id AND {CURRENT}
             WHERE t.status = 'ok' AND a.track_id IS NULL
             ORDER BY t.artist COLLATE NOCASE, t.album COLLATE NOCASE, t.track_no, t.id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params![v.features, v.model], |r| {
            Ok(PendingTrack {
                id: r.get(0)?,
                path: bytes_path(r.get(1)?),
                size: r.get::<_, i64>(2)? as u64,
                mtime_ns: r.get(3)?,
                duration_secs: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stores a result (or a failure) for `track`, replacing any older one, in one
    /// transaction. `track` carries the size/mtime the audio was read at: if the file
    /// changed meanwhile the result is stored but not current, so it is redone.
    pub fn store_analysis(
        &mut self,
        track: &PendingTrack,
        v: &AnalysisVersion,
        outcome: Result<&AnalysisData, &str>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        // The track may have been deleted by a concurrent rescan: nothing to store then.
        let exists: Option<i64> = tx
            .query_row(
                "SELECT id FROM tracks WHERE id = ?1",
                params![track.id],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Ok(());
        }
        tx.execute(
            "DELETE FROM analysis WHERE track_id = ?1",
            params![track.id],
        )?;
        // The old scene mix came from the old result's words: the next fold-in places the
        // track again.
        tx.execute(
            "DELETE FROM track_scenes WHERE track_id = ?1",
            params![track.id],
        )?;
        match outcome {
            Err(reason) => {
                tx.execute(
                    "INSERT INTO analysis (track_id, status, error, features_version, model_version,
                        source_size, source_mtime_ns, analysed_at)
                     VALUES (?1, 'failed', ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        track.id,
                        reason,
                        v.features,
                        v.model,
                        track.size as i64,
                        track.mtime_ns,
                        now_secs()
                    ],
                )?;
            }
            Ok(d) => {
                let tags = serde_json::to_string(&d.top_tags)?;
                let ((sv, sa), (ev, ea)) = d.seams();
                tx.execute(
                    "INSERT INTO analysis (track_id, status, features_version, model_version,
                        source_size, source_mtime_ns, analysed_at, quadrant, p1, p2, p3, p4,
                        valence, arousal, duration_s, top_tags, embedding, thumb_w, thumb_h, thumb,
                        start_valence, start_arousal, end_valence, end_arousal, words, tag_means,
                        loudness_lufs, sample_peak, loudness_blocks)
                     VALUES (?1, 'ok', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
                        ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)",
                    params![
                        track.id,
                        v.features,
                        v.model,
                        track.size as i64,
                        track.mtime_ns,
                        now_secs(),
                        d.quadrant().number(),
                        d.probs[0],
                        d.probs[1],
                        d.probs[2],
                        d.probs[3],
                        d.valence,
                        d.arousal,
                        d.duration_s,
                        tags,
                        f32s_to_blob(&d.embedding),
                        d.thumbnail.width,
                        d.thumbnail.height,
                        d.thumbnail.pixels,
                        sv,
                        sa,
                        ev,
                        ea,
                        u16s_to_blob(&d.words),
                        f32s_to_blob(&d.tag_means),
                        d.loudness.as_ref().map(|l| l.integrated_lufs),
                        d.loudness.as_ref().map(|l| l.sample_peak),
                        d.loudness.as_ref().map(Loudness::blocks_blob),
                    ],
                )?;
                let mut ins = tx.prepare_cached(
                    "INSERT INTO analysis_segments (track_id, idx, start_s, end_s, p1, p2, p3, p4,
                        valence, arousal) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?;
                for (i, s) in d.timeline.iter().enumerate() {
                    ins.execute(params![
                        track.id, i as i64, s.start_s, s.end_s, s.probs[0], s.probs[1], s.probs[2],
                        s.probs[3], s.valence, s.arousal
                    ])?;
                }
            }
        }
        update_album_loudness(&tx, v, track.id)?;
        tx.commit()?;
        Ok(())
    }

    /// Every playable track's current audio words and mean tag probabilities (the
    /// documents and names of theme scenes), in track id order.
    pub fn scene_inputs(&self, v: &AnalysisVersion) -> Result<Vec<SceneInput>, StoreError> {
        self.scene_inputs_where(v, "")
    }

    /// [`Library::scene_inputs`] of the tracks without a scene mix yet (what a fold-in
    /// places), selected in SQL: the others' words are not read.
    pub fn unplaced_scene_inputs(
        &self,
        v: &AnalysisVersion,
    ) -> Result<Vec<SceneInput>, StoreError> {
        self.scene_inputs_where(
            v,
            "AND NOT EXISTS (SELECT 1 FROM track_scenes s WHERE s.track_id = t.id)",
        )
    }

    fn scene_inputs_where(
        &self,
        v: &AnalysisVersion,
        and: &str,
    ) -> Result<Vec<SceneInput>, StoreError> {
        let sql = format!(
            "SELECT t.id, a.words, a.tag_means, a.valence, a.arousal
             FROM tracks t JOIN analysis a ON a.track_id = t.id AND {CURRENT}
             WHERE t.status = 'ok' AND a.status = 'ok' {and} ORDER BY t.id"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![v.features, v.model], |r| {
            let words: Option<Vec<u8>> = r.get(1)?;
            let tags: Option<Vec<u8>> = r.get(2)?;
            Ok(SceneInput {
                track_id: r.get(0)?,
                words: words.as_deref().map(blob_to_u16s).unwrap_or_default(),
                tag_means: tags.as_deref().map(blob_to_f32s).unwrap_or_default(),
                point: (
                    r.get::<_, Option<f32>>(3)?.unwrap_or(0.0),
                    r.get::<_, Option<f32>>(4)?.unwrap_or(0.0),
                ),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The stored result of a track (current or not), with its timeline.
    pub fn analysis(
        &self,
        track_id: i64,
        v: &AnalysisVersion,
    ) -> Result<Option<StoredAnalysis>, StoreError> {
        let sql = format!(
            "SELECT a.status, a.error, a.features_version, a.model_version, a.analysed_at,
                    ({CURRENT}), a.p1, a.p2, a.p3, a.p4, a.valence, a.arousal, a.duration_s,
                    a.top_tags, a.embedding, a.thumb_w, a.thumb_h, a.thumb, a.words, a.tag_means,
                    a.loudness_lufs, a.sample_peak, a.loudness_blocks
             FROM analysis a JOIN tracks t ON t.id = a.track_id WHERE a.track_id = ?3"
        );
        let row = self
            .conn
            .query_row(&sql, params![v.features, v.model, track_id], |r| {
                let status: String = r.get(0)?;
                let data = if status == "ok" {
                    let tags: Option<String> = r.get(13)?;
                    let emb: Option<Vec<u8>> = r.get(14)?;
                    let words: Option<Vec<u8>> = r.get(18)?;
                    let tag_means: Option<Vec<u8>> = r.get(19)?;
                    Some(AnalysisData {
                        probs: [r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?],
                        valence: r.get(10)?,
                        arousal: r.get(11)?,
                        duration_s: r.get(12)?,
                        timeline: Vec::new(),
                        embedding: emb.as_deref().map(blob_to_f32s).unwrap_or_default(),
                        top_tags: tags
                            .and_then(|t| serde_json::from_str(&t).ok())
                            .unwrap_or_default(),
                        thumbnail: Thumbnail {
                            width: r.get::<_, Option<u32>>(15)?.unwrap_or(0),
                            height: r.get::<_, Option<u32>>(16)?.unwrap_or(0),
                            pixels: r.get::<_, Option<Vec<u8>>>(17)?.unwrap_or_default(),
                        },
                        words: words.as_deref().map(blob_to_u16s).unwrap_or_default(),
                        tag_means: tag_means.as_deref().map(blob_to_f32s).unwrap_or_default(),
                        loudness: match (r.get::<_, Option<f64>>(20)?, r.get(21)?) {
                            (Some(integrated_lufs), Some(sample_peak)) => Some(Loudness {
                                integrated_lufs,
                                sample_peak,
                                blocks: Loudness::blocks_from_blob(
                                    &r.get::<_, Option<Vec<u8>>>(22)?.unwrap_or_default(),
                                ),
                            }),
                            _ => None,
                        },
                    })
                } else {
                    None
                };
                Ok(StoredAnalysis {
                    track_id,
                    error: r.get(1)?,
                    features_version: r.get(2)?,
                    model_version: r.get(3)?,
                    analysed_at: r.get(4)?,
                    current: r.get(5)?,
                    data,
                })
            })
            .optional()?;
        let Some(mut a) = row else {
            return Ok(None);
        };
        if let Some(d) = a.data.as_mut() {
            let mut stmt = self.conn.prepare_cached(
                "SELECT start_s, end_s, p1, p2, p3, p4, valence, arousal
                 FROM analysis_segments WHERE track_id = ?1 ORDER BY idx",
            )?;
            let rows = stmt.query_map(params![track_id], |r| {
                Ok(TimelinePoint {
                    start_s: r.get(0)?,
                    end_s: r.get(1)?,
                    probs: [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
                    valence: r.get(6)?,
                    arousal: r.get(7)?,
                })
            })?;
            d.timeline = rows.collect::<Result<_, _>>()?;
        }
        Ok(Some(a))
    }

    /// Analysed / failed / pending counts of the playable tracks under the running versions.
    pub fn analysis_counts(&self, v: &AnalysisVersion) -> Result<AnalysisCounts, StoreError> {
        let sql = format!(
            "SELECT COUNT(*),
                    COALESCE(SUM(a.status = 'ok'), 0),
                    COALESCE(SUM(a.status = 'failed'), 0)
             FROM tracks t LEFT JOIN analysis a ON a.track_id = t.id AND {CURRENT}
             WHERE t.status = 'ok'"
        );
        let (tracks, ok, failed): (i64, i64, i64) =
            self.conn
                .query_row(&sql, params![v.features, v.model], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
        Ok(AnalysisCounts {
            tracks: tracks as u64,
            analysed: ok as u64,
            failed: failed as u64,
            pending: (tracks - ok - failed).max(0) as u64,
        })
    }

    /// Every playable track with its current mood, in library order: the GUI's table.
    pub fn browse(&self, v: &AnalysisVersion) -> Result<Vec<BrowseRow>, StoreError> {
        let sql = browse_sql(
            "WHERE t.status = 'ok'
             ORDER BY t.artist COLLATE NOCASE, t.album COLLATE NOCASE, t.track_no,
                      t.title COLLATE NOCASE, t.id",
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params![v.features, v.model], browse_row_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One row of [`Library::browse`] by track id (`None`: no such playable track). The
    /// window refreshes a row with this when its analysis lands, instead of re-reading
    /// every track.
    pub fn browse_row(
        &self,
        v: &AnalysisVersion,
        track_id: i64,
    ) -> Result<Option<BrowseRow>, StoreError> {
        let sql = browse_sql("WHERE t.status = 'ok' AND t.id = ?3");
        // Cached: the window asks for rows one after another on the same connection.
        let mut stmt = self.conn.prepare_cached(&sql)?;
        Ok(stmt
            .query_row(params![v.features, v.model, track_id], browse_row_from)
            .optional()?)
    }
}

/// The query behind [`Library::browse`] and [`Library::browse_row`]: the columns
/// [`browse_row_from`] reads, then `tail` (WHERE/ORDER BY); `?1`/`?2` are the running versions.
fn browse_sql(tail: &str) -> String {
    format!(
        "SELECT t.id, t.path, t.title, t.artist, t.album, t.track_no, t.duration_s,
                a.status, a.valence, a.arousal, a.error, a.p1, a.p2, a.p3, a.p4, s.main,
                t.rg_track_gain, t.rg_track_peak, t.rg_album_gain, t.rg_album_peak,
                a.loudness_lufs, a.sample_peak, a.album_loudness_lufs, a.album_peak
         FROM tracks t LEFT JOIN analysis a ON a.track_id = t.id AND {CURRENT}
              LEFT JOIN track_scenes s ON s.track_id = t.id
         {tail}"
    )
}

fn browse_row_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<BrowseRow> {
    let path = bytes_path(r.get(1)?);
    let title: Option<String> = r.get(2)?;
    let status: Option<String> = r.get(7)?;
    let f = |i: usize| -> rusqlite::Result<f32> { Ok(r.get::<_, Option<f32>>(i)?.unwrap_or(0.0)) };
    let mood = match (status.as_deref(), r.get::<_, Option<f32>>(8)?) {
        (Some("ok"), Some(valence)) => {
            Some(Mood::new(valence, f(9)?, [f(11)?, f(12)?, f(13)?, f(14)?]))
        }
        _ => None,
    };
    Ok(BrowseRow {
        id: r.get(0)?,
        title: title.unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        }),
        path,
        artist: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
        album: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
        track_no: r.get(5)?,
        duration_secs: r.get(6)?,
        mood,
        analysis_error: if status.as_deref() == Some("failed") {
            r.get(10)?
        } else {
            None
        },
        scene: r.get(15)?,
        gain: gain_from(r, 16)?,
    })
}

/// The ReplayGain columns of a browse row from `at` on: tag gains first (the user's
/// tagger chose them), measured loudness otherwise.
fn gain_from(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<TrackGain> {
    let g = |i: usize| r.get::<_, Option<f64>>(at + i);
    let tagged = |gain: Option<f64>, peak: Option<f64>| {
        gain.map(|db| Gain {
            db: db as f32,
            peak: peak.map(|p| p as f32),
        })
    };
    let measured = |lufs: Option<f64>, peak: Option<f64>| {
        lufs.filter(|l| l.is_finite()).map(|l| Gain {
            db: (REFERENCE_LUFS - l) as f32,
            peak: peak.map(|p| p as f32),
        })
    };
    Ok(TrackGain {
        track: tagged(g(0)?, g(1)?).or(measured(g(4)?, g(5)?)),
        album: tagged(g(2)?, g(3)?).or(measured(g(6)?, g(7)?)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::store::FileRecord;
    use crate::library::{FileStatus, TrackTags};

    fn lib_with(n: usize) -> Library {
        let mut lib = Library::open_in_memory().unwrap();
        let files: Vec<FileRecord> = (0..n)
            .map(|i| FileRecord {
                path: PathBuf::from(format!("/m/{i}.flac")),
                size: 100 + i as u64,
                mtime_ns: 7,
                fingerprint: None,
                outcome: Ok(TrackTags {
                    title: Some(format!("t{i}")),
                    artist: Some("a".into()),
                    ..Default::default()
                }),
            })
            .collect();
        lib.write_batch(&[], &files).unwrap();
        lib
    }

    /// A result in quadrant index `q`, coherent like the model's: the point's quadrant.
    fn data(q: usize) -> AnalysisData {
        let quadrant = Quadrant::from_index(q).unwrap_or(Quadrant::Q1);
        let (sv, sa) = (
            quadrant.valence_sign() as f32,
            quadrant.arousal_sign() as f32,
        );
        let probs = crate::mood::Calibration::default().probs(0.5 * sv, 0.25 * sa);
        AnalysisData {
            probs,
            valence: 0.5 * sv,
            arousal: 0.25 * sa,
            duration_s: 30.0,
            timeline: vec![
                TimelinePoint {
                    start_s: 0.0,
                    end_s: 15.0,
                    probs,
                    valence: 0.4 * sv,
                    arousal: 0.2 * sa,
                },
                TimelinePoint {
                    start_s: 15.0,
                    end_s: 30.0,
                    probs,
                    valence: 0.6 * sv,
                    arousal: 0.3 * sa,
                },
            ],
            embedding: vec![1.0, -2.5, 3.25],
            top_tags: vec![("rock".into(), 0.5)],
            thumbnail: Thumbnail {
                width: 2,
                height: 2,
                pixels: vec![0, 64, 128, 255],
            },
            // The round trip checks the words and tag means come back as stored.
            words: vec![0, 127, 5, 5, u16::MAX],
            tag_means: vec![0.125, 0.75, 0.0],
            loudness: None,
        }
    }

    /// A measured loudness from a histogram of one bin (every block at `lufs`).
    fn loud(lufs: f64, peak: f64) -> crate::audio::gain::Loudness {
        crate::audio::gain::Loudness {
            integrated_lufs: lufs,
            sample_peak: peak,
            blocks: vec![crate::audio::gain::BlockBin {
                bin: ((lufs + 70.0) / 0.1) as u16,
                count: 100,
                mean_lufs: lufs as f32,
            }],
        }
    }

    #[test]
    fn album_gain_comes_once_every_track_of_the_album_is_measured() {
        let mut lib = Library::open_in_memory().unwrap();
        let file = |i: usize, album: &str, rg: TrackGain| FileRecord {
            path: PathBuf::from(format!("/m/{i}.flac")),
            size: 100,
            mtime_ns: 7,
            fingerprint: None,
            outcome: Ok(TrackTags {
                title: Some(format!("t{i}")),
                artist: Some("a".into()),
                album: Some(album.into()),
                replaygain: rg,
                ..Default::default()
            }),
        };
        let tagged = TrackGain {
            track: Some(Gain {
                db: -3.0,
                peak: Some(0.7),
            }),
            album: None,
        };
        let files = vec![
            file(0, "One", TrackGain::default()),
            file(1, "One", TrackGain::default()),
            file(2, "Other", tagged),
        ];
        lib.write_batch(&[], &files).unwrap();
        let v = AnalysisVersion {
            features: 1,
            model: "m".into(),
        };
        let pend = lib.pending_analysis(&v).unwrap();
        let with = |l| AnalysisData {
            loudness: Some(l),
            ..data(0)
        };
        let gain_of = |lib: &Library, i: usize| {
            lib.browse(&v)
                .unwrap()
                .into_iter()
                .find(|r| r.id == pend[i].id)
                .unwrap()
                .gain
        };
        lib.store_analysis(&pend[0], &v, Ok(&with(loud(-10.0, 0.9))))
            .unwrap();
        let g = gain_of(&lib, 0);
        assert_eq!(g.track.map(|g| g.db.round()), Some(-8.0));
        assert_eq!(g.album, None, "half an album measured: no album gain");
        lib.store_analysis(&pend[1], &v, Ok(&with(loud(-16.0, 0.5))))
            .unwrap();
        // Both tracks' blocks together: 10 log10((10^-1 + 10^-1.6) / 2) = -12.04 LUFS, so
        // -5.96 dB.
        for i in 0..2 {
            let album = gain_of(&lib, i).album.unwrap();
            assert!((album.db + 5.96).abs() < 0.01, "{album:?}");
            assert_eq!(album.peak, Some(0.9));
        }
        // The file's own tags win over the measurement.
        lib.store_analysis(&pend[2], &v, Ok(&with(loud(-30.0, 0.1))))
            .unwrap();
        let g = gain_of(&lib, 2);
        assert_eq!(g.track, tagged.track);
        assert_eq!(g.album.map(|g| g.db.round()), Some(12.0));
        let back = lib.analysis(pend[1].id, &v).unwrap().unwrap().data.unwrap();
        assert_eq!(back.loudness, Some(loud(-16.0, 0.5)));
    }

    #[test]
    fn round_trip_counts_and_staleness() {
        let mut lib = lib_with(3);
        let v1 = AnalysisVersion {
            features: 1,
            model: "m1".into(),
        };
        let pend = lib.pending_analysis(&v1).unwrap();
        assert_eq!(pend.len(), 3);
        lib.store_analysis(&pend[0], &v1, Ok(&data(2))).unwrap();
        lib.store_analysis(&pend[1], &v1, Err("bad audio")).unwrap();
        let c = lib.analysis_counts(&v1).unwrap();
        assert_eq!((c.tracks, c.analysed, c.failed, c.pending), (3, 1, 1, 1));
        assert_eq!(lib.pending_analysis(&v1).unwrap().len(), 1);

        let a = lib.analysis(pend[0].id, &v1).unwrap().unwrap();
        assert!(a.current);
        let d = a.data.unwrap();
        assert_eq!(d, data(2));
        assert_eq!(d.quadrant(), Quadrant::Q3);
        // Only the current ok result is a scene input.
        let inputs = lib.scene_inputs(&v1).unwrap();
        assert_eq!(
            inputs,
            vec![SceneInput {
                track_id: pend[0].id,
                words: data(2).words,
                tag_means: data(2).tag_means,
                point: (data(2).valence, data(2).arousal),
            }]
        );
        assert_eq!(crate::mood::argmax(&d.probs), 2);
        let f = lib.analysis(pend[1].id, &v1).unwrap().unwrap();
        assert_eq!(f.error.as_deref(), Some("bad audio"));

        // Re-storing replaces (no duplicate timeline rows).
        lib.store_analysis(&pend[0], &v1, Ok(&data(0))).unwrap();
        let d = lib
            .analysis(pend[0].id, &v1)
            .unwrap()
            .unwrap()
            .data
            .unwrap();
        assert_eq!(d.timeline.len(), 2);
        assert_eq!(d.quadrant(), Quadrant::Q1);

        // A new model version makes everything pending again; old rows are not current.
        let v2 = AnalysisVersion {
            features: 1,
            model: "m2".into(),
        };
        assert_eq!(lib.pending_analysis(&v2).unwrap().len(), 3);
        assert!(!lib.analysis(pend[0].id, &v2).unwrap().unwrap().current);
        let rows = lib.browse(&v2).unwrap();
        assert!(rows.iter().all(|r| r.mood.is_none()));
        let rows = lib.browse(&v1).unwrap();
        assert_eq!(rows.iter().filter(|r| r.mood.is_some()).count(), 1);
        assert_eq!(
            rows.iter().filter(|r| r.analysis_error.is_some()).count(),
            1
        );
    }

    #[test]
    fn changed_file_is_pending_and_deleted_track_is_skipped() {
        let mut lib = lib_with(2);
        let v = AnalysisVersion {
            features: 1,
            model: "m".into(),
        };
        let pend = lib.pending_analysis(&v).unwrap();
        // Result computed from an older version of the file.
        let mut old = pend[0].clone();
        old.mtime_ns -= 1;
        lib.store_analysis(&old, &v, Ok(&data(1))).unwrap();
        assert_eq!(lib.pending_analysis(&v).unwrap().len(), 2);
        lib.store_analysis(&pend[0], &v, Ok(&data(1))).unwrap();
        assert_eq!(lib.pending_analysis(&v).unwrap().len(), 1);
        // Deleting the track cascades to its analysis and timeline.
        lib.delete_tracks(&[pend[0].id]).unwrap();
        let n: i64 = lib
            .conn
            .query_row("SELECT COUNT(*) FROM analysis_segments", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        // Storing for a vanished track is a no-op, not an error.
        lib.store_analysis(&pend[0], &v, Ok(&data(1))).unwrap();
        assert_eq!(lib.analysis_counts(&v).unwrap().tracks, 1);
    }

    /// `browse_row` is `browse` for one id: the same row before and after a result lands,
    /// the result's mood or failure once stored, and nothing for unknown or unreadable ids.
    #[test]
    fn browse_row_matches_browse() {
        let mut lib = lib_with(3);
        // One file that could not be read: not playable, so not a browse row.
        lib.write_batch(
            &[],
            &[FileRecord {
                path: PathBuf::from("/m/broken.flac"),
                size: 1,
                mtime_ns: 7,
                fingerprint: None,
                outcome: Err((FileStatus::Failed, "bad header".into())),
            }],
        )
        .unwrap();
        let broken = lib
            .track_by_path(std::path::Path::new("/m/broken.flac"))
            .unwrap()
            .unwrap()
            .id;
        let v = AnalysisVersion {
            features: 1,
            model: "m".into(),
        };
        let by_id = |lib: &Library, id| lib.browse_row(&v, id).unwrap();
        for r in lib.browse(&v).unwrap() {
            assert_eq!(by_id(&lib, r.id).as_ref(), Some(&r));
            assert!(r.mood.is_none());
        }
        assert_eq!(by_id(&lib, broken), None);
        assert_eq!(by_id(&lib, 9_999), None);

        let pend = lib.pending_analysis(&v).unwrap();
        lib.store_analysis(&pend[0], &v, Ok(&data(1))).unwrap();
        lib.store_analysis(&pend[1], &v, Err("bad audio")).unwrap();
        let ok = by_id(&lib, pend[0].id).unwrap();
        assert_eq!(ok.mood.map(|m| m.quadrant), Some(Quadrant::Q2));
        assert_eq!(ok.mood.map(|m| m.valence), Some(-0.5));
        assert_eq!(ok.analysis_error, None);
        let failed = by_id(&lib, pend[1].id).unwrap();
        assert_eq!(failed.mood, None);
        assert_eq!(failed.analysis_error.as_deref(), Some("bad audio"));
        assert_eq!(by_id(&lib, pend[2].id).unwrap().mood, None);
        // Every row still equals its browse row (the same query, one id).
        for r in lib.browse(&v).unwrap() {
            assert_eq!(by_id(&lib, r.id).as_ref(), Some(&r));
        }
        // Under another model version the result is not current: no mood.
        let v2 = AnalysisVersion {
            features: 1,
            model: "m2".into(),
        };
        assert_eq!(lib.browse_row(&v2, pend[0].id).unwrap().unwrap().mood, None);
    }
}
