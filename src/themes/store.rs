//! Theme scenes on the user's own library: fitting them (LDA over the stored audio words),
//! keeping each scene's identity and name across refits, folding new tracks in, renaming.
//! The SQL lives here, behind `Library` methods (migration 7).
//!
//! **When a fit happens.** On demand (`valence scenes --fit`), when there is none yet, and
//! when the library has grown by a fifth ([`REFIT_GROWTH`]) since the last one. Between
//! fits, new tracks are folded in (phi fixed, [`lda::DEFAULT_FOLD_IN_ITERATIONS`] sweeps)
//! without changing anyone else's mix.
//!
//! **Identity across refits.** The new topics are paired with the old ones by minimum total
//! Hellinger distance (`lda::match_topics`). A pair closer than [`SAME_SCENE`] keeps the old
//! scene's id and the user's name for it; a farther one is a new scene (on 4q-train two
//! fits with different seeds pair at about 0.5 on average, so a looser threshold would
//! carry names over to scenes that are not the same). Old scenes without a close partner
//! are removed.
//!
//! **Small libraries.** Fewer than [`MIN_TRACKS`] tracks with words is refused with the
//! count, and the number of scenes is capped at a fifth of the tracks, so a 40-track
//! library gets 8 scenes of about 5 tracks, not 16 of 2.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::lda::{self, LdaConfig, Model};
use super::naming::{self, Collection};
use super::ThemeError;
use crate::library::analysis::CURRENT;
use crate::library::store::{now_secs, Library, StoreError};
use crate::library::AnalysisVersion;
use crate::mood::{Calibration, Mood};

/// Tracks with audio words a fit needs.
pub const MIN_TRACKS: usize = 20;
/// A refit is due when the library has this many times the tracks of the last fit.
pub const REFIT_GROWTH: f64 = 1.2;
/// A refit topic this close (Hellinger) to an old one continues it.
pub const SAME_SCENE: f64 = 0.35;
/// At most one scene per this many tracks.
pub const TRACKS_PER_SCENE: usize = 5;
/// Typical tracks listed per scene (those with the largest share of it).
pub const TYPICAL_TRACKS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Theme(#[from] ThemeError),
    #[error("theme scenes need at least {needed} analysed tracks with audio words; the library has {tracks} (analyse more music, or wait for the analysis to finish)")]
    TooFewTracks { tracks: usize, needed: usize },
    #[error("no scene {0}")]
    NoSuchScene(i64),
    #[error("a scene's name cannot be empty")]
    EmptyName,
    #[error("the stored scene model cannot be read ({0}): fit the scenes again")]
    Unreadable(String),
}

impl From<rusqlite::Error> for SceneError {
    fn from(e: rusqlite::Error) -> Self {
        SceneError::Store(e.into())
    }
}

/// One scene as the CLI and the window show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scene {
    pub id: i64,
    /// The user's name if renamed, else the automatic one.
    pub name: String,
    /// "tag · tag: mood", from the last fit.
    pub auto_name: String,
    /// Sum of the tracks' shares in it.
    pub weight: f64,
    /// Tracks whose main scene it is.
    pub tracks: usize,
    /// Share of its weight per quadrant, Q1..Q4.
    pub mood_mix: [f64; 4],
    pub mood: Mood,
    /// Track ids with the largest share of the scene, largest first (at most
    /// [`TYPICAL_TRACKS`]).
    pub typical: Vec<i64>,
}

/// What [`Library::update_scenes`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SceneUpdate {
    /// The fit, when one was asked for or due.
    pub fit: Option<FitReport>,
    /// Tracks placed in the scenes without a refit.
    pub folded_in: usize,
}

/// What a fit did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitReport {
    pub tracks: usize,
    pub scenes: usize,
    /// Scenes that kept the identity (and name) of one before.
    pub kept: usize,
    /// Scenes of the old fit that had no close partner and are gone.
    pub removed: usize,
}

/// A track's share in each scene, largest first (shares under 5 % left out).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SceneShare {
    pub scene: i64,
    pub name: String,
    pub share: f32,
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Shares under this are left out of a track's scene mix as shown.
const SHOWN_SHARE: f32 = 0.05;

impl Library {
    /// The scene id of each topic of the current fit and the tracks it saw, if there is a
    /// fit (the model itself is not read: listing and showing scenes do not need it).
    fn scene_ids(&self) -> Result<Option<(Vec<i64>, usize)>, SceneError> {
        let row: Option<(i64, i64)> = self
            .conn
            .query_row(
                "SELECT topics, tracks FROM scene_fits ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((topics, tracks)) = row else {
            return Ok(None);
        };
        let mut ids = vec![0i64; topics.max(0) as usize];
        let mut stmt = self.conn.prepare("SELECT id, topic FROM scenes")?;
        for r in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
            let (id, topic) = r?;
            if let Some(slot) = usize::try_from(topic).ok().and_then(|t| ids.get_mut(t)) {
                *slot = id;
            }
        }
        Ok(Some((ids, tracks.max(0) as usize)))
    }

    /// The current fit's model and the scene id of each topic, if there is a fit.
    fn scene_model(&self) -> Result<Option<(Model, Vec<i64>)>, SceneError> {
        let Some((ids, _)) = self.scene_ids()? else {
            return Ok(None);
        };
        let blob: Vec<u8> = self.conn.query_row(
            "SELECT model FROM scene_fits ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )?;
        let model: Model =
            serde_json::from_slice(&blob).map_err(|e| SceneError::Unreadable(e.to_string()))?;
        if model.topics() != ids.len() {
            return Err(SceneError::Unreadable("topic count".into()));
        }
        Ok(Some((model, ids)))
    }

    /// Whether the scenes should be fitted (again): none yet, or the library grew by a
    /// fifth since the last fit.
    pub fn scenes_due(&self, v: &AnalysisVersion) -> Result<bool, SceneError> {
        // Counted in SQL: the words themselves are not needed to decide.
        let sql = format!(
            "SELECT COUNT(*) FROM tracks t JOIN analysis a ON a.track_id = t.id AND {CURRENT}
             WHERE t.status = 'ok' AND a.status = 'ok' AND length(a.words) > 0"
        );
        let now: i64 = self
            .conn
            .query_row(&sql, params![v.features, v.model], |r| r.get(0))?;
        let now = now.max(0) as usize;
        Ok(match self.scene_ids()? {
            None => now >= MIN_TRACKS,
            Some((_, at_fit)) => now as f64 >= REFIT_GROWTH * at_fit.max(1) as f64,
        })
    }

    /// Fits the scenes on every analysed track's words (`topics`: how many, default
    /// [`lda::DEFAULT_TOPICS`], at most one per [`TRACKS_PER_SCENE`] tracks), keeps the
    /// identities of the scenes that continue old ones, names them, and stores every
    /// track's mix. `tag_names`: musicnn's 50 tags (for names).
    pub fn fit_scenes(
        &mut self,
        v: &AnalysisVersion,
        cal: &Calibration,
        tag_names: &[String],
        topics: Option<usize>,
        seed: u64,
    ) -> Result<FitReport, SceneError> {
        let inputs: Vec<_> = self
            .scene_inputs(v)?
            .into_iter()
            .filter(|s| !s.words.is_empty() && s.tag_means.len() == tag_names.len())
            .collect();
        if inputs.len() < MIN_TRACKS {
            return Err(SceneError::TooFewTracks {
                tracks: inputs.len(),
                needed: MIN_TRACKS,
            });
        }
        let t = topics
            .unwrap_or(lda::DEFAULT_TOPICS)
            .clamp(1, (inputs.len() / TRACKS_PER_SCENE).max(1));
        let docs: Vec<&[u16]> = inputs.iter().map(|s| s.words.as_slice()).collect();
        let vocab = docs
            .iter()
            .flat_map(|d| d.iter())
            .map(|&w| w as usize + 1)
            .max()
            .unwrap_or(1)
            .max(super::kmeans::DEFAULT_WORDS);
        let fit = lda::fit(&docs, vocab, &LdaConfig::new(t).seed(seed))?;
        let old = self.scene_model()?;
        // Which old scene each new topic continues.
        let mut continues: Vec<Option<i64>> = vec![None; t];
        if let Some((old_model, old_ids)) = &old {
            if old_model.vocab() == fit.model.vocab() {
                for (k, m) in lda::match_topics(old_model, &fit.model)?
                    .into_iter()
                    .enumerate()
                {
                    if let Some(m) = m.filter(|m| m.distance < SAME_SCENE) {
                        continues[k] = old_ids.get(m.old).copied().filter(|&id| id > 0);
                    }
                }
            }
        }
        let tags: Vec<f32> = inputs
            .iter()
            .flat_map(|s| s.tag_means.iter().copied())
            .collect();
        let points: Vec<[f32; 2]> = inputs.iter().map(|s| [s.point.0, s.point.1]).collect();
        let collection = Collection::new(fit.theta(), t, &tags, tag_names, &points)?;
        let described = naming::describe(&collection, cal, 0);
        let model_json =
            serde_json::to_vec(&fit.model).map_err(|e| SceneError::Unreadable(e.to_string()))?;

        let tx = self.conn.transaction()?;
        let old_ids: Vec<i64> = {
            let mut stmt = tx.prepare("SELECT id FROM scenes")?;
            let ids = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            ids
        };
        let kept: Vec<i64> = continues.iter().flatten().copied().collect();
        let mut removed = 0;
        for id in &old_ids {
            if !kept.contains(id) {
                tx.execute("DELETE FROM scenes WHERE id = ?1", params![id])?;
                removed += 1;
            }
        }
        tx.execute("DELETE FROM scene_fits", [])?;
        tx.execute(
            "INSERT INTO scene_fits (fitted_at, version, topics, tracks, model)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                now_secs(),
                v.model,
                t as i64,
                inputs.len() as i64,
                model_json
            ],
        )?;
        let mut ids = vec![0i64; t];
        for (k, d) in described.iter().enumerate() {
            ids[k] = match continues[k] {
                Some(id) => {
                    tx.execute(
                        "UPDATE scenes SET topic = ?2, name = ?3 WHERE id = ?1",
                        params![id, k as i64, d.name],
                    )?;
                    id
                }
                None => {
                    tx.execute(
                        "INSERT INTO scenes (topic, name) VALUES (?1, ?2)",
                        params![k as i64, d.name],
                    )?;
                    tx.last_insert_rowid()
                }
            };
        }
        tx.execute("DELETE FROM track_scenes", [])?;
        {
            let mut ins =
                tx.prepare("INSERT INTO track_scenes (track_id, mix, main) VALUES (?1, ?2, ?3)")?;
            for (d, s) in inputs.iter().enumerate() {
                let mix = fit.doc_topics(d).unwrap_or(&[]);
                ins.execute(params![s.track_id, f32s(mix), main_scene(mix, &ids)])?;
            }
        }
        tx.commit()?;
        Ok(FitReport {
            tracks: inputs.len(),
            scenes: t,
            kept: kept.len(),
            removed,
        })
    }

    /// Folds the analysed tracks that have no scene mix yet into the current fit (nothing
    /// without one); answers how many.
    pub fn fold_in_scenes(&mut self, v: &AnalysisVersion) -> Result<usize, SceneError> {
        let Some((model, ids)) = self.scene_model()? else {
            return Ok(0);
        };
        let new: Vec<_> = self
            .unplaced_scene_inputs(v)?
            .into_iter()
            .filter(|s| !s.words.is_empty())
            .collect();
        let tx = self.conn.transaction()?;
        {
            let mut ins = tx.prepare(
                "INSERT OR REPLACE INTO track_scenes (track_id, mix, main) VALUES (?1, ?2, ?3)",
            )?;
            for s in &new {
                // Words past the model's vocabulary (another codebook) cannot be folded in.
                let words: Vec<u16> = s
                    .words
                    .iter()
                    .copied()
                    .filter(|&w| (w as usize) < model.vocab())
                    .collect();
                let mix =
                    model.fold_in(&words, lda::DEFAULT_FOLD_IN_ITERATIONS, s.track_id as u64)?;
                ins.execute(params![s.track_id, f32s(&mix), main_scene(&mix, &ids)])?;
            }
        }
        tx.commit()?;
        Ok(new.len())
    }

    /// Brings the scenes up to date: fits them when asked (`refit`, or a number of scenes)
    /// or when due ([`Library::scenes_due`]), then folds in the tracks that have no mix
    /// yet. The one route of `valence scenes` and the window.
    pub fn update_scenes(
        &mut self,
        v: &AnalysisVersion,
        cal: &Calibration,
        tag_names: &[String],
        refit: bool,
        topics: Option<usize>,
    ) -> Result<SceneUpdate, SceneError> {
        let fit = if refit || topics.is_some() || self.scenes_due(v)? {
            Some(self.fit_scenes(v, cal, tag_names, topics, 0)?)
        } else {
            None
        };
        let folded_in = self.fold_in_scenes(v)?;
        Ok(SceneUpdate { fit, folded_in })
    }

    /// The scenes, largest first, with their sizes and mood mixes over the tracks' stored
    /// mixes and moods.
    pub fn scenes(&self, v: &AnalysisVersion, cal: &Calibration) -> Result<Vec<Scene>, SceneError> {
        let Some((ids, _)) = self.scene_ids()? else {
            return Ok(Vec::new());
        };
        let names: HashMap<i64, (String, Option<String>)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id, name, user_name FROM scenes")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
                .collect::<Result<_, _>>()?;
            rows
        };
        let t = ids.len();
        let (mut weight, mut count) = (vec![0f64; t], vec![0usize; t]);
        let mut mix = vec![[0f64; 4]; t];
        let mut point = vec![(0f64, 0f64); t];
        // (share, track) of the most typical tracks so far, largest first.
        let mut typical: Vec<Vec<(f32, i64)>> = vec![Vec::new(); t];
        let sql = format!(
            "SELECT s.mix, s.main, a.valence, a.arousal, s.track_id FROM track_scenes s
             JOIN tracks t ON t.id = s.track_id
             JOIN analysis a ON a.track_id = t.id AND {CURRENT}
             WHERE t.status = 'ok' AND a.status = 'ok'"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params![v.features, v.model], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, f32>(2)?,
                r.get::<_, f32>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        for row in rows {
            let (blob, main, va, ar, track) = row?;
            let q = crate::mood::Quadrant::of_point(va, ar).index();
            for (k, &share) in from_f32s(&blob).iter().enumerate().take(t) {
                let s = share as f64;
                weight[k] += s;
                mix[k][q] += s;
                point[k].0 += s * va as f64;
                point[k].1 += s * ar as f64;
                let top = &mut typical[k];
                if top.len() < TYPICAL_TRACKS || top.last().is_some_and(|l| share > l.0) {
                    let at = top.partition_point(|x| x.0 >= share);
                    top.insert(at, (share, track));
                    top.truncate(TYPICAL_TRACKS);
                }
            }
            if let Some(k) = main.and_then(|m| ids.iter().position(|&id| id == m)) {
                count[k] += 1;
            }
        }
        let mut out: Vec<Scene> = (0..t)
            .filter(|&k| ids[k] > 0)
            .map(|k| {
                let w = weight[k].max(1e-9);
                let (auto, user) = names.get(&ids[k]).cloned().unwrap_or_default();
                Scene {
                    id: ids[k],
                    name: user.unwrap_or_else(|| auto.clone()),
                    auto_name: auto,
                    weight: weight[k],
                    tracks: count[k],
                    mood_mix: mix[k].map(|m| m / w),
                    mood: Mood::from_point((point[k].0 / w) as f32, (point[k].1 / w) as f32, cal),
                    typical: typical[k].iter().map(|x| x.1).collect(),
                }
            })
            .collect();
        out.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// A track's scenes, largest share first (none before a fit or a fold-in).
    pub fn track_scenes(&self, track_id: i64) -> Result<Vec<SceneShare>, SceneError> {
        let Some((ids, _)) = self.scene_ids()? else {
            return Ok(Vec::new());
        };
        let blob: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT mix FROM track_scenes WHERE track_id = ?1",
                params![track_id],
                |r| r.get(0),
            )
            .optional()?;
        let Some(blob) = blob else {
            return Ok(Vec::new());
        };
        let mut stmt = self
            .conn
            .prepare_cached("SELECT COALESCE(user_name, name) FROM scenes WHERE id = ?1")?;
        let mut out = Vec::new();
        for (k, &share) in from_f32s(&blob).iter().enumerate() {
            let Some(&id) = ids.get(k).filter(|&&id| id > 0) else {
                continue;
            };
            if share >= SHOWN_SHARE {
                let name: String = stmt.query_row(params![id], |r| r.get(0))?;
                out.push(SceneShare {
                    scene: id,
                    name,
                    share,
                });
            }
        }
        out.sort_by(|a, b| b.share.total_cmp(&a.share));
        Ok(out)
    }

    /// Renames a scene (an empty name is refused); the name outlives refits that continue
    /// the scene.
    pub fn rename_scene(&mut self, id: i64, name: &str) -> Result<(), SceneError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(SceneError::EmptyName);
        }
        let n = self.conn.execute(
            "UPDATE scenes SET user_name = ?2 WHERE id = ?1",
            params![id, name],
        )?;
        if n == 0 {
            return Err(SceneError::NoSuchScene(id));
        }
        Ok(())
    }
}

/// The scene id of a mix's largest share.
fn main_scene(mix: &[f32], ids: &[i64]) -> Option<i64> {
    let k = crate::mood::argmax(mix);
    ids.get(k).copied().filter(|&id| id > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::{AnalysisData, Thumbnail, TimelinePoint};

    fn version() -> AnalysisVersion {
        AnalysisVersion {
            features: 1,
            model: "test+a1s1+cb".into(),
        }
    }

    /// Track `i`'s result in its style (see [`library`]).
    fn analysis_data(i: usize, bright: bool) -> AnalysisData {
        let base = if bright { 0u16 } else { 60 };
        // Every word of its style, in a track-specific order: the styles are the only
        // structure (a subset per track would plant more).
        let words = (0..40)
            .map(|k| base + ((i * 7 + k * 3) % 40) as u16)
            .collect();
        let mut tag_means = vec![0.05f32; 50];
        tag_means[if bright { 0 } else { 1 }] = 0.8;
        let (va, ar) = if bright { (0.6, 0.5) } else { (-0.6, -0.5) };
        AnalysisData {
            probs: [0.25; 4],
            valence: va,
            arousal: ar,
            duration_s: 30.0,
            timeline: vec![TimelinePoint {
                start_s: 0.0,
                end_s: 30.0,
                probs: [0.25; 4],
                valence: va,
                arousal: ar,
            }],
            embedding: Vec::new(),
            top_tags: Vec::new(),
            thumbnail: Thumbnail {
                width: 0,
                height: 0,
                pixels: Vec::new(),
            },
            words,
            tag_means,
            loudness: None,
        }
    }

    /// `n` analysed tracks in two planted styles, alternating: words 0..40 with tag 0 high
    /// (bright, happy) and words 60..100 with tag 1 high (dark, sad). Answers each track's
    /// id and whether it is bright.
    fn library(dir: &std::path::Path, n: usize) -> (Library, Vec<(i64, bool)>) {
        let mut lib = Library::open(&dir.join("lib.sqlite3")).expect("open");
        for i in 0..n {
            lib.conn
                .execute(
                    "INSERT INTO tracks (path, size, mtime_ns, status, title, artist, album,
                        track_no, duration_s, added_at, updated_at)
                     VALUES (?1, 1000, 1, 'ok', ?2, 'a', 'b', 1, 30.0, 0, 0)",
                    params![format!("/m/{i}.mp3").as_bytes(), format!("t{i}")],
                )
                .expect("track");
        }
        let v = version();
        let pending = lib.pending_analysis(&v).expect("pending");
        assert_eq!(pending.len(), n);
        let mut out = Vec::new();
        for (i, p) in pending.iter().enumerate() {
            let bright = i % 2 == 0;
            let d = analysis_data(i, bright);
            lib.store_analysis(p, &v, Ok(&d)).expect("store");
            out.push((p.id, bright));
        }
        (lib, out)
    }

    fn tags() -> Vec<String> {
        (0..50)
            .map(|i| match i {
                0 => "bright".to_string(),
                1 => "dark".to_string(),
                _ => format!("tag{i}"),
            })
            .collect()
    }

    #[test]
    fn scenes_are_fitted_named_folded_in_renamed_and_kept_across_refits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut lib, tracks) = library(dir.path(), 40);
        let (v, cal) = (version(), Calibration::default());
        assert!(lib.scenes_due(&v).expect("due"));
        let r = lib.fit_scenes(&v, &cal, &tags(), Some(2), 1).expect("fit");
        assert_eq!((r.tracks, r.scenes, r.kept, r.removed), (40, 2, 0, 0));
        assert!(!lib.scenes_due(&v).expect("due"));
        let scenes = lib.scenes(&v, &cal).expect("scenes");
        assert_eq!(scenes.len(), 2);
        // The planted styles come out as the two scenes, each named after its tag and mood.
        let bright = scenes
            .iter()
            .find(|s| s.name.starts_with("bright"))
            .expect("bright");
        let dark = scenes
            .iter()
            .find(|s| s.name.starts_with("dark"))
            .expect("dark");
        assert!(bright.name.ends_with(": happy"), "{}", bright.name);
        assert!(dark.name.ends_with(": sad"), "{}", dark.name);
        assert_eq!((bright.tracks, dark.tracks), (20, 20));
        assert!(bright.mood_mix[0] > 0.9 && dark.mood_mix[2] > 0.9);
        let first = lib.track_scenes(tracks[0].0).expect("mix");
        assert_eq!(first[0].scene, bright.id);
        assert!(first[0].share > 0.8, "{first:?}");

        lib.rename_scene(dark.id, "Rainy evenings").expect("rename");
        assert!(matches!(
            lib.rename_scene(dark.id, " "),
            Err(SceneError::EmptyName)
        ));
        assert!(matches!(
            lib.rename_scene(999, "x"),
            Err(SceneError::NoSuchScene(999))
        ));
        // A refit with another seed continues both scenes: same ids, the user's name kept.
        let r = lib
            .fit_scenes(&v, &cal, &tags(), Some(2), 7)
            .expect("refit");
        assert_eq!((r.kept, r.removed), (2, 0));
        let again = lib.scenes(&v, &cal).expect("scenes");
        let mut ids: Vec<i64> = again.iter().map(|s| s.id).collect();
        ids.sort_unstable();
        let mut before = vec![bright.id, dark.id];
        before.sort_unstable();
        assert_eq!(ids, before);
        assert!(again
            .iter()
            .any(|s| s.id == dark.id && s.name == "Rainy evenings"));
    }

    #[test]
    fn new_tracks_are_folded_in_and_small_libraries_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut lib, _) = library(dir.path(), 12);
        let (v, cal) = (version(), Calibration::default());
        assert!(!lib.scenes_due(&v).expect("due"));
        let e = lib
            .fit_scenes(&v, &cal, &tags(), None, 1)
            .expect_err("too few");
        assert!(e.to_string().contains("at least 20"), "{e}");
        assert_eq!(lib.fold_in_scenes(&v).expect("nothing to fold into"), 0);

        let dir = tempfile::tempdir().expect("tempdir");
        let (mut lib, tracks) = library(dir.path(), 30);
        // 30 tracks: at most 6 scenes, whatever is asked.
        let r = lib.fit_scenes(&v, &cal, &tags(), Some(16), 1).expect("fit");
        assert_eq!(r.scenes, 6);
        // 2 scenes, then a track whose mix was lost is folded in again, into its style's.
        lib.fit_scenes(&v, &cal, &tags(), Some(2), 1).expect("fit");
        let (lost, _) = tracks[1];
        let (twin, _) = tracks[3];
        lib.conn
            .execute(
                "DELETE FROM track_scenes WHERE track_id = ?1",
                params![lost],
            )
            .expect("delete");
        assert!(lib.track_scenes(lost).expect("mix").is_empty());
        assert_eq!(lib.fold_in_scenes(&v).expect("fold"), 1);
        let mix = lib.track_scenes(lost).expect("mix");
        assert!(!mix.is_empty());
        let style = lib.track_scenes(twin).expect("mix")[0].scene;
        assert_eq!(mix[0].scene, style, "{mix:?}");
        assert_eq!(lib.fold_in_scenes(&v).expect("fold"), 0, "nothing left");
    }

    #[test]
    fn updates_fit_when_due_rows_carry_scenes_and_a_reanalysed_track_is_placed_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut lib, tracks) = library(dir.path(), 30);
        let (v, cal) = (version(), Calibration::default());
        // Due (no fit yet): fitted; then nothing to do.
        let u = lib
            .update_scenes(&v, &cal, &tags(), false, None)
            .expect("update");
        assert!(u.fit.is_some() && u.folded_in == 0, "{u:?}");
        let u = lib
            .update_scenes(&v, &cal, &tags(), false, None)
            .expect("update");
        assert_eq!((u.fit, u.folded_in), (None, 0));
        // Asked to: fitted again.
        let u = lib
            .update_scenes(&v, &cal, &tags(), false, Some(2))
            .expect("update");
        assert_eq!(u.fit.map(|f| f.scenes), Some(2));

        // Each row carries its main scene, and each scene lists its most typical tracks:
        // its own tracks, by share, largest first.
        let scenes = lib.scenes(&v, &cal).expect("scenes");
        let rows = lib.browse(&v).expect("rows");
        for r in &rows {
            let mix = lib.track_scenes(r.id).expect("mix");
            assert_eq!(r.scene, Some(mix[0].scene));
        }
        for sc in &scenes {
            assert_eq!(sc.typical.len(), TYPICAL_TRACKS);
            let share = |id: i64| {
                lib.track_scenes(id)
                    .expect("mix")
                    .iter()
                    .find(|m| m.scene == sc.id)
                    .map_or(0.0, |m| m.share)
            };
            let shares: Vec<f32> = sc.typical.iter().map(|&id| share(id)).collect();
            assert!(shares.windows(2).all(|w| w[0] >= w[1]), "{shares:?}");
            let best_other = rows
                .iter()
                .filter(|r| !sc.typical.contains(&r.id))
                .map(|r| share(r.id))
                .fold(0.0f32, f32::max);
            assert!(shares[TYPICAL_TRACKS - 1] >= best_other);
        }

        // A bright track analysed again as a dark one: its old mix goes with the old
        // result, the next update places it in the dark scene, and playlists see it there.
        let (id, bright) = tracks[0];
        assert!(bright);
        let dark_scene = lib.track_scenes(tracks[1].0).expect("mix")[0].scene;
        let pool = lib.playlist_pool(&v, 0).expect("pool");
        let scene_in = |pool: &crate::playlists::Pool| {
            pool.candidates
                .iter()
                .find(|c| c.id == id)
                .and_then(|c| c.scene)
        };
        assert_ne!(scene_in(&pool), Some(dark_scene));
        let pending = crate::library::PendingTrack {
            id,
            path: "/m/0.mp3".into(),
            size: 1000,
            mtime_ns: 1,
            duration_secs: Some(30.0),
        };
        lib.store_analysis(&pending, &v, Ok(&analysis_data(0, false)))
            .expect("store");
        assert!(lib.track_scenes(id).expect("mix").is_empty());
        assert_eq!(
            lib.browse_row(&v, id).expect("row").and_then(|r| r.scene),
            None
        );
        // Read (and kept) while the track has no scene: the fold-in must refresh it.
        let pool = lib.playlist_pool(&v, 0).expect("pool");
        assert_eq!(scene_in(&pool), None);
        let u = lib
            .update_scenes(&v, &cal, &tags(), false, None)
            .expect("update");
        assert_eq!((u.fit.is_some(), u.folded_in), (false, 1));
        assert_eq!(lib.track_scenes(id).expect("mix")[0].scene, dark_scene);
        let pool = lib.playlist_pool(&v, 0).expect("pool");
        assert_eq!(
            scene_in(&pool),
            Some(dark_scene),
            "the kept pool was refreshed"
        );
    }
}
