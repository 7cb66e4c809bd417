//! The library database: SQLite in WAL mode, schema migrations under `PRAGMA user_version`,
//! every write in a transaction, so a kill at any moment leaves a consistent file.

use crate::audio::gain::{Gain, TrackGain};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

use super::TrackTags;

/// Numbered migrations; migration `i` moves the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: tracks and the failures of files that could not be read.
    r#"
    CREATE TABLE tracks (
        id           INTEGER PRIMARY KEY,
        path         BLOB    NOT NULL UNIQUE,   -- raw file-name bytes: names need not be UTF-8
        size         INTEGER NOT NULL,
        mtime_ns     INTEGER NOT NULL,
        fingerprint  INTEGER,                   -- head/tail hash, to recognise moved files
        status       TEXT    NOT NULL CHECK (status IN ('ok', 'failed', 'unsupported')),
        error        TEXT,
        title        TEXT,
        artist       TEXT,
        album        TEXT,
        album_artist TEXT,
        track_no     INTEGER,
        year         INTEGER,
        genre        TEXT,
        duration_s   REAL,
        codec        TEXT,
        sample_rate  INTEGER,
        channels     INTEGER,
        added_at     INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL
    );
    CREATE INDEX tracks_fingerprint ON tracks (fingerprint, size);
    CREATE INDEX tracks_status ON tracks (status);
    "#,
    // 2: analysis results (one row per track) and the per-segment emotion timeline.
    r#"
    CREATE TABLE analysis (
        track_id         INTEGER PRIMARY KEY REFERENCES tracks (id) ON DELETE CASCADE,
        status           TEXT    NOT NULL CHECK (status IN ('ok', 'failed')),
        error            TEXT,
        features_version INTEGER NOT NULL,
        model_version    TEXT    NOT NULL,
        source_size      INTEGER NOT NULL,   -- the file as analysed: a changed file is redone
        source_mtime_ns  INTEGER NOT NULL,
        analysed_at      INTEGER NOT NULL,
        quadrant         INTEGER,            -- 1..4
        p1 REAL, p2 REAL, p3 REAL, p4 REAL,
        valence          REAL,
        arousal          REAL,
        duration_s       REAL,
        top_tags         TEXT,               -- JSON [[tag, p], ...]
        -- large values last: SQLite reads past them only when asked for them
        embedding        BLOB,               -- f32 little-endian
        thumb_w          INTEGER,
        thumb_h          INTEGER,
        thumb            BLOB                -- u8 log-mel, row-major, row 0 = lowest band
    );
    CREATE INDEX analysis_quadrant ON analysis (quadrant);
    CREATE TABLE analysis_segments (
        track_id INTEGER NOT NULL REFERENCES analysis (track_id) ON DELETE CASCADE,
        idx      INTEGER NOT NULL,
        start_s  REAL    NOT NULL,
        end_s    REAL    NOT NULL,
        p1 REAL NOT NULL, p2 REAL NOT NULL, p3 REAL NOT NULL, p4 REAL NOT NULL,
        valence  REAL    NOT NULL,
        arousal  REAL    NOT NULL,
        PRIMARY KEY (track_id, idx)
    ) WITHOUT ROWID;
    "#,
    // 3: listening history, kept playlists, and the tracks never to put in a playlist.
    r#"
    CREATE TABLE plays (
        id          INTEGER PRIMARY KEY,
        -- NULL once the file leaves the library: the play itself is kept (artist, title).
        track_id    INTEGER REFERENCES tracks (id) ON DELETE SET NULL,
        started_at  INTEGER NOT NULL,   -- unix seconds, UTC
        heard_s     REAL    NOT NULL,
        ended       TEXT    CHECK (ended IN ('finished', 'skipped', 'stopped')),  -- NULL: imported
        counts      INTEGER NOT NULL CHECK (counts IN (0, 1)),
        source      TEXT    NOT NULL CHECK (source IN ('player', 'listenbrainz', 'lastfm')),
        artist      TEXT,
        title       TEXT,
        duration_s  REAL
    );
    CREATE INDEX plays_time ON plays (started_at);
    CREATE INDEX plays_counted ON plays (counts, started_at);
    CREATE INDEX plays_track ON plays (track_id);
    -- Importing the same export twice adds nothing.
    CREATE UNIQUE INDEX plays_imported_once ON plays (source, started_at, artist, title)
        WHERE source != 'player';
    CREATE TABLE playlists (
        id         INTEGER PRIMARY KEY,
        name       TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        recipe     TEXT                 -- JSON: how it was made; NULL when imported
    );
    CREATE TABLE playlist_items (
        playlist_id INTEGER NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
        pos         INTEGER NOT NULL,
        track_id    INTEGER NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
        PRIMARY KEY (playlist_id, pos)
    ) WITHOUT ROWID;
    CREATE INDEX playlist_items_track ON playlist_items (track_id);
    CREATE TABLE excluded_tracks (
        track_id INTEGER PRIMARY KEY REFERENCES tracks (id) ON DELETE CASCADE,
        since    INTEGER NOT NULL
    );
    -- A random id per database and a counter of changes to tracks and analysis results:
    -- what a kept copy of the library (playlists' candidates) is checked against.
    CREATE TABLE library_state (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        library    BLOB    NOT NULL,
        generation INTEGER NOT NULL
    );
    INSERT INTO library_state (id, library, generation) VALUES (1, randomblob(16), 0);
    CREATE TRIGGER tracks_insert_counts AFTER INSERT ON tracks
        BEGIN UPDATE library_state SET generation = generation + 1; END;
    CREATE TRIGGER tracks_update_counts AFTER UPDATE ON tracks
        BEGIN UPDATE library_state SET generation = generation + 1; END;
    CREATE TRIGGER tracks_delete_counts AFTER DELETE ON tracks
        BEGIN UPDATE library_state SET generation = generation + 1; END;
    CREATE TRIGGER analysis_insert_counts AFTER INSERT ON analysis
        BEGIN UPDATE library_state SET generation = generation + 1; END;
    CREATE TRIGGER analysis_update_counts AFTER UPDATE ON analysis
        BEGIN UPDATE library_state SET generation = generation + 1; END;
    CREATE TRIGGER analysis_delete_counts AFTER DELETE ON analysis
        BEGIN UPDATE library_state SET generation = generation + 1; END;
    "#,
    // 4: each track's opening and closing mood (the mean of its timeline's first and last
    // fifth, `analysis::seam_points`), for journeys that join songs at their seams. Results
    // already stored get them from their timelines.
    r#"
    ALTER TABLE analysis ADD COLUMN start_valence REAL;
    ALTER TABLE analysis ADD COLUMN start_arousal REAL;
    ALTER TABLE analysis ADD COLUMN end_valence REAL;
    ALTER TABLE analysis ADD COLUMN end_arousal REAL;
    UPDATE analysis SET
        start_valence = (SELECT avg(s.valence) FROM analysis_segments s
            WHERE s.track_id = analysis.track_id AND s.start_s < 0.2 * analysis.duration_s),
        start_arousal = (SELECT avg(s.arousal) FROM analysis_segments s
            WHERE s.track_id = analysis.track_id AND s.start_s < 0.2 * analysis.duration_s),
        end_valence = (SELECT avg(s.valence) FROM analysis_segments s
            WHERE s.track_id = analysis.track_id AND s.end_s > 0.8 * analysis.duration_s),
        end_arousal = (SELECT avg(s.arousal) FROM analysis_segments s
            WHERE s.track_id = analysis.track_id AND s.end_s > 0.8 * analysis.duration_s)
    WHERE status = 'ok';
    "#,
    // 5: sessions: a kept journey with a name, an optional client label, notes, the
    // listener's own mood before and after, and its tracks as planned. The items are a
    // snapshot (title, artist, length, moods) so the session sheet stays what was planned
    // once a file leaves the library; `track_id` then becomes NULL.
    r#"
    CREATE TABLE sessions (
        id             INTEGER PRIMARY KEY,
        name           TEXT    NOT NULL,
        client         TEXT,
        notes          TEXT    NOT NULL DEFAULT '',
        created_at     INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL,
        request        TEXT    NOT NULL,   -- JSON: the journey request
        -- Check-ins: a point on the valence-arousal plane and when it was recorded (unix
        -- seconds, UTC); all three or none.
        before_valence REAL    CHECK (before_valence BETWEEN -1 AND 1),
        before_arousal REAL    CHECK (before_arousal BETWEEN -1 AND 1),
        before_at      INTEGER,
        after_valence  REAL    CHECK (after_valence BETWEEN -1 AND 1),
        after_arousal  REAL    CHECK (after_arousal BETWEEN -1 AND 1),
        after_at       INTEGER,
        CHECK ((before_valence IS NULL) = (before_arousal IS NULL)
            AND (before_valence IS NULL) = (before_at IS NULL)),
        CHECK ((after_valence IS NULL) = (after_arousal IS NULL)
            AND (after_valence IS NULL) = (after_at IS NULL))
    );
    CREATE TABLE session_items (
        session_id    INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        pos           INTEGER NOT NULL,
        -- NULL once the file leaves the library: the snapshot below is kept.
        track_id      INTEGER REFERENCES tracks (id) ON DELETE SET NULL,
        title         TEXT    NOT NULL,
        artist        TEXT    NOT NULL,
        duration_s    REAL    NOT NULL,
        valence       REAL    NOT NULL,
        arousal       REAL    NOT NULL,
        start_valence REAL    NOT NULL,
        start_arousal REAL    NOT NULL,
        end_valence   REAL    NOT NULL,
        end_arousal   REAL    NOT NULL,
        locked        INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
        PRIMARY KEY (session_id, pos)
    ) WITHOUT ROWID;
    CREATE INDEX session_items_track ON session_items (track_id);
    "#,
    // 6: each analysed track's audio words (one per segment, `themes::Codebook`, u16
    // little-endian) and its mean musicnn tag probabilities (f32 little-endian): the
    // documents and the names of theme scenes. Results stored before have neither; their
    // version predates the codebook, so they are analysed again.
    r#"
    ALTER TABLE analysis ADD COLUMN words BLOB;
    ALTER TABLE analysis ADD COLUMN tag_means BLOB;
    "#,
    // 7: theme scenes of the library (`themes::store`): the current fit (its LDA model as
    // JSON, the tracks it saw), the scenes with a stable id across refits and the user's
    // name, and each track's scene mix (f32 little-endian per topic of the fit).
    r#"
    CREATE TABLE scene_fits (
        id        INTEGER PRIMARY KEY,
        fitted_at INTEGER NOT NULL,
        version   TEXT    NOT NULL,
        topics    INTEGER NOT NULL CHECK (topics > 0),
        tracks    INTEGER NOT NULL,
        model     BLOB    NOT NULL
    );
    CREATE TABLE scenes (
        id        INTEGER PRIMARY KEY,
        topic     INTEGER NOT NULL,
        name      TEXT    NOT NULL,
        user_name TEXT
    );
    CREATE TABLE track_scenes (
        track_id INTEGER PRIMARY KEY REFERENCES tracks (id) ON DELETE CASCADE,
        mix      BLOB    NOT NULL,
        main     INTEGER REFERENCES scenes (id) ON DELETE SET NULL
    );
    CREATE INDEX track_scenes_main ON track_scenes (main);
    "#,
    // 8: a track's scene is part of what playlists pick by (they spread picks across
    // scenes), so a change of scene mixes counts as a library change for kept copies.
    r#"
    CREATE TRIGGER track_scenes_insert_counts AFTER INSERT ON track_scenes
        BEGIN UPDATE library_state SET generation = generation + 1; END;
    CREATE TRIGGER track_scenes_update_counts AFTER UPDATE ON track_scenes
        BEGIN UPDATE library_state SET generation = generation + 1; END;
    CREATE TRIGGER track_scenes_delete_counts AFTER DELETE ON track_scenes
        BEGIN UPDATE library_state SET generation = generation + 1; END;
    "#,
    // 9: ReplayGain. A file's own ReplayGain tags (read at scan), the loudness analysis
    // measured (EBU R128: integrated, sample peak, the gating-block histogram an album's
    // loudness is computed from) and the album's, once all its tracks are measured.
    // Files scanned before this version have their tags read again at the next scan.
    r#"
    ALTER TABLE tracks ADD COLUMN rg_track_gain REAL;
    ALTER TABLE tracks ADD COLUMN rg_track_peak REAL;
    ALTER TABLE tracks ADD COLUMN rg_album_gain REAL;
    ALTER TABLE tracks ADD COLUMN rg_album_peak REAL;
    ALTER TABLE analysis ADD COLUMN loudness_lufs REAL;
    ALTER TABLE analysis ADD COLUMN sample_peak REAL;
    ALTER TABLE analysis ADD COLUMN loudness_blocks BLOB;
    ALTER TABLE analysis ADD COLUMN album_loudness_lufs REAL;
    ALTER TABLE analysis ADD COLUMN album_peak REAL;
    CREATE INDEX tracks_album ON tracks (album, album_artist, artist);
    UPDATE tracks SET mtime_ns = -1 WHERE status = 'ok';
    "#,
];

/// Schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Library errors, by meaning. Sources are kept (in `Arc`s, so the error stays `Clone` for
/// the window's messages).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sql(#[source] Arc<rusqlite::Error>),
    #[error("cannot encode a stored value: {0}")]
    Json(#[source] Arc<serde_json::Error>),
    #[error("database {path} has schema version {found}, newer than this Valence ({supported}); upgrade Valence")]
    TooNew {
        path: String,
        found: u32,
        supported: u32,
    },
    #[error("cannot create database folder {}: {source}", path.display())]
    Folder {
        path: PathBuf,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The file at the library's path is not a usable library: not a database, truncated,
    /// corrupt, or another program's database. It is never changed or overwritten; the
    /// window offers to restore a backup or to start a new library (`library::backup`).
    #[error("{path} is not a usable Valence library: {reason}. The file was left as it is")]
    Damaged { path: String, reason: String },
    /// SQLite found damage while reading the library (a page that is not what it should
    /// be). Like [`StoreError::Damaged`], found later than the opening.
    #[error("the library file is damaged ({0}); a backup can replace it")]
    Corrupt(Arc<rusqlite::Error>),
    /// SQLite cannot open the file: usually its folder cannot be written (a read-only file
    /// system, permissions), which WAL mode needs for its journal.
    #[error("cannot open the library {path}: {reason}")]
    CannotOpen { path: String, reason: String },
    /// The disk (or the user's quota) is full. What was stored stays stored.
    #[error("the disk holding the library is full: nothing stored was lost, but nothing new can be saved until space is freed")]
    DiskFull,
    /// The library file or its folder cannot be written.
    #[error("the library is read-only (check the permissions of the file and its folder): it can be browsed but not changed")]
    ReadOnly,
    /// A backup could not be made, listed or restored.
    #[error("backup {}: {source}", path.display())]
    Backup {
        path: PathBuf,
        #[source]
        source: Arc<std::io::Error>,
    },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::DiskFull,
            Some(rusqlite::ErrorCode::ReadOnly) => StoreError::ReadOnly,
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                StoreError::Corrupt(Arc::new(e))
            }
            _ => StoreError::Sql(Arc::new(e)),
        }
    }
}

impl StoreError {
    /// Whether the database file itself is bad (as opposed to the disk, the permissions or
    /// this Valence's version): the cases a backup can mend.
    pub fn is_damaged(&self) -> bool {
        matches!(self, StoreError::Damaged { .. } | StoreError::Corrupt(_))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Json(Arc::new(e))
    }
}

/// Where the library lives: `--db`, else `$VALENCE_DB`, else the XDG data dir.
pub fn default_db_path() -> PathBuf {
    if let Some(p) = std::env::var_os("VALENCE_DB").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    match directories::ProjectDirs::from("org", "valence", "valence") {
        Some(d) => d.data_dir().join("library.sqlite3"),
        None => PathBuf::from("valence-library.sqlite3"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    Ok,
    Failed,
    Unsupported,
}

impl FileStatus {
    fn as_str(self) -> &'static str {
        match self {
            FileStatus::Ok => "ok",
            FileStatus::Failed => "failed",
            FileStatus::Unsupported => "unsupported",
        }
    }
    fn parse(s: &str) -> FileStatus {
        match s {
            "ok" => FileStatus::Ok,
            "unsupported" => FileStatus::Unsupported,
            _ => FileStatus::Failed,
        }
    }
}

/// One file of the library as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackRow {
    pub id: i64,
    #[serde(serialize_with = "ser_path")]
    pub path: PathBuf,
    pub status: FileStatus,
    pub error: Option<String>,
    /// What the scan read from the file (all empty for a file that could not be read).
    #[serde(flatten)]
    pub tags: TrackTags,
    pub size: u64,
}

fn ser_path<S: serde::Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LibraryCounts {
    pub tracks: u64,
    pub failed: u64,
    pub unsupported: u64,
}

/// What the scanner knows of a stored file without opening it.
#[derive(Debug, Clone)]
pub(crate) struct KnownFile {
    pub id: i64,
    pub size: u64,
    pub mtime_ns: i64,
    pub fingerprint: Option<i64>,
}

/// A scanned file to insert or update.
#[derive(Debug, Clone)]
pub(crate) struct FileRecord {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    pub fingerprint: Option<i64>,
    pub outcome: Result<TrackTags, (FileStatus, String)>,
}

pub struct Library {
    pub(crate) conn: Connection,
    path: PathBuf,
}

pub(crate) fn path_bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

pub(crate) fn bytes_path(b: Vec<u8>) -> PathBuf {
    PathBuf::from(std::ffi::OsString::from_vec(b))
}

pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Library {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Folder {
                path: dir.to_path_buf(),
                source: Arc::new(e),
            })?;
        }
        super::backup::inspect(path)?;
        let damaged = |reason: String| StoreError::Damaged {
            path: path.display().to_string(),
            reason,
        };
        let opened = Connection::open(path)
            .map_err(StoreError::from)
            .and_then(|conn| Self::init(conn, path.to_path_buf()));
        match opened {
            // SQLite's own verdict on the file, said in the same words.
            Err(StoreError::Corrupt(e)) => Err(damaged(format!("SQLite finds it damaged ({e})"))),
            Err(StoreError::Sql(e))
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::CannotOpen) =>
            {
                Err(StoreError::CannotOpen {
                    path: path.display().to_string(),
                    reason: cannot_open_reason(path),
                })
            }
            other => other,
        }
    }

    /// A private in-memory library (tests, benches).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?, PathBuf::from(":memory:"))
    }

    fn init(mut conn: Connection, path: PathBuf) -> Result<Self, StoreError> {
        conn.busy_timeout(Duration::from_secs(10))?;
        // Before anything writes (even the journal mode): another program's database is
        // refused untouched.
        let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        foreign_check(&conn, &path, version)?;
        // WAL: readers (the GUI) never block the writer (the scanner/analyser), and a crash
        // mid-transaction rolls back cleanly. NORMAL sync is durable across app crashes.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn, &path)?;
        Ok(Self { conn, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Stored files whose path lies under `root` (by path bytes, on a component boundary).
    pub(crate) fn known_under(&self, root: &Path) -> Result<Vec<(PathBuf, KnownFile)>, StoreError> {
        let mut prefix = path_bytes(root).to_vec();
        if !prefix.ends_with(b"/") {
            prefix.push(b'/');
        }
        // BLOB range query: every path that starts with `prefix`.
        let mut upper = prefix.clone();
        if let Some(last) = upper.last_mut() {
            *last += 1; // '/' + 1 = '0': exclusive upper bound of the prefix range
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, path, size, mtime_ns, fingerprint FROM tracks WHERE path >= ?1 AND path < ?2",
        )?;
        let rows = stmt.query_map(params![prefix, upper], |r| {
            Ok((
                bytes_path(r.get(1)?),
                KnownFile {
                    id: r.get(0)?,
                    size: r.get::<_, i64>(2)? as u64,
                    mtime_ns: r.get(3)?,
                    fingerprint: r.get(4)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Inserts or updates scanned files in one transaction; `moves` first re-point existing
    /// rows at their new paths, so a moved file keeps its id (and later its analysis).
    pub(crate) fn write_batch(
        &mut self,
        moves: &[(i64, PathBuf)],
        files: &[FileRecord],
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for (id, path) in moves {
            tx.execute(
                "UPDATE tracks SET path = ?2 WHERE id = ?1",
                params![id, path_bytes(path)],
            )?;
        }
        for f in files {
            upsert_one(&tx, f)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Forgets files that are gone from disk.
    pub(crate) fn delete_tracks(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for id in ids {
            tx.execute("DELETE FROM tracks WHERE id = ?1", params![id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Playable tracks, ordered for display.
    pub fn tracks(&self) -> Result<Vec<TrackRow>, StoreError> {
        self.query_rows("WHERE status = 'ok' ORDER BY artist COLLATE NOCASE, album COLLATE NOCASE, track_no, title COLLATE NOCASE")
    }

    /// Files that could not be read, with their reasons.
    pub fn failures(&self) -> Result<Vec<TrackRow>, StoreError> {
        self.query_rows("WHERE status != 'ok' ORDER BY path")
    }

    pub fn track(&self, id: i64) -> Result<Option<TrackRow>, StoreError> {
        Ok(self
            .query_rows(&format!("WHERE id = {id}"))?
            .into_iter()
            .next())
    }

    pub fn track_by_path(&self, path: &Path) -> Result<Option<TrackRow>, StoreError> {
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM tracks WHERE path = ?1",
                params![path_bytes(path)],
                |r| r.get(0),
            )
            .optional()?;
        match id {
            Some(id) => self.track(id),
            None => Ok(None),
        }
    }

    fn query_rows(&self, tail: &str) -> Result<Vec<TrackRow>, StoreError> {
        let sql = format!(
            "SELECT id, path, status, error, title, artist, album, album_artist, track_no, year, \
             genre, duration_s, codec, sample_rate, channels, size, rg_track_gain, rg_track_peak, \
             rg_album_gain, rg_album_peak FROM tracks {tail}"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], |r| {
            Ok(TrackRow {
                id: r.get(0)?,
                path: bytes_path(r.get(1)?),
                status: FileStatus::parse(&r.get::<_, String>(2)?),
                error: r.get(3)?,
                tags: TrackTags {
                    title: r.get(4)?,
                    artist: r.get(5)?,
                    album: r.get(6)?,
                    album_artist: r.get(7)?,
                    track_no: r.get(8)?,
                    year: r.get(9)?,
                    genre: r.get(10)?,
                    duration_secs: r.get(11)?,
                    codec: r.get(12)?,
                    sample_rate: r.get(13)?,
                    channels: r.get(14)?,
                    replaygain: {
                        let gain =
                            |g: Option<f32>, p: Option<f32>| g.map(|db| Gain { db, peak: p });
                        TrackGain {
                            track: gain(r.get(16)?, r.get(17)?),
                            album: gain(r.get(18)?, r.get(19)?),
                        }
                    },
                },
                size: r.get::<_, i64>(15)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn counts(&self) -> Result<LibraryCounts, StoreError> {
        let mut c = LibraryCounts::default();
        let mut stmt = self
            .conn
            .prepare("SELECT status, COUNT(*) FROM tracks GROUP BY status")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (status, n) = row?;
            match FileStatus::parse(&status) {
                FileStatus::Ok => c.tracks = n as u64,
                FileStatus::Failed => c.failed = n as u64,
                FileStatus::Unsupported => c.unsupported = n as u64,
            }
        }
        Ok(c)
    }
}

fn upsert_one(tx: &Transaction<'_>, f: &FileRecord) -> Result<(), StoreError> {
    let now = now_secs();
    let (status, error, t) = match &f.outcome {
        Ok(t) => (FileStatus::Ok, None, t.clone()),
        Err((status, e)) => (*status, Some(e.as_str()), TrackTags::default()),
    };
    tx.execute(
        "INSERT INTO tracks (path, size, mtime_ns, fingerprint, status, error, title, artist, album,
            album_artist, track_no, year, genre, duration_s, codec, sample_rate, channels,
            added_at, updated_at, rg_track_gain, rg_track_peak, rg_album_gain, rg_album_peak)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18,
            ?19, ?20, ?21, ?22)
         ON CONFLICT (path) DO UPDATE SET
            size = excluded.size, mtime_ns = excluded.mtime_ns, fingerprint = excluded.fingerprint,
            status = excluded.status, error = excluded.error, title = excluded.title,
            artist = excluded.artist, album = excluded.album, album_artist = excluded.album_artist,
            track_no = excluded.track_no, year = excluded.year, genre = excluded.genre,
            duration_s = excluded.duration_s, codec = excluded.codec,
            sample_rate = excluded.sample_rate, channels = excluded.channels,
            updated_at = excluded.updated_at, rg_track_gain = excluded.rg_track_gain,
            rg_track_peak = excluded.rg_track_peak, rg_album_gain = excluded.rg_album_gain,
            rg_album_peak = excluded.rg_album_peak",
        params![
            path_bytes(&f.path),
            f.size as i64,
            f.mtime_ns,
            f.fingerprint,
            status.as_str(),
            error,
            t.title,
            t.artist,
            t.album,
            t.album_artist,
            t.track_no,
            t.year,
            t.genre,
            t.duration_secs,
            t.codec,
            t.sample_rate,
            t.channels,
            now,
            t.replaygain.track.map(|g| g.db),
            t.replaygain.track.and_then(|g| g.peak),
            t.replaygain.album.map(|g| g.db),
            t.replaygain.album.and_then(|g| g.peak),
        ],
    )?;
    Ok(())
}

/// Why SQLite could not open `path`, in the user's terms.
fn cannot_open_reason(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let writable = |p: &Path| -> Result<(), std::io::Error> {
        let c = std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        // SAFETY: a valid C string; access() only reads it.
        if unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let say = |what: &str, e: std::io::Error| match e.raw_os_error() {
        Some(libc::EROFS) => format!("{what} is on a read-only file system"),
        Some(libc::EACCES) | Some(libc::EPERM) => format!("{what} is not writable (permissions)"),
        _ => format!("{what} cannot be written ({e})"),
    };
    if let Err(e) = writable(dir) {
        return format!(
            "{}; Valence writes its journal beside the library",
            say("its folder", e)
        );
    }
    if path.exists() {
        if let Err(e) = writable(path) {
            return say("the file", e);
        }
    }
    "SQLite cannot open it (unable to open database file)".into()
}

/// Refuses another program's SQLite database: migrating it would write Valence's tables
/// into it. A new library has no tables and version 0; every version since 1 has `tracks`.
fn foreign_check(conn: &Connection, path: &Path, version: u32) -> Result<(), StoreError> {
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let ours = tables.iter().any(|t| t == "tracks");
    // A newer Valence may have changed its tables: that is `TooNew`, said by `migrate`.
    let foreign = match version {
        0 => !tables.is_empty(),
        v if v > SCHEMA_VERSION => false,
        _ => !ours,
    };
    if !foreign {
        return Ok(());
    }
    let mut names = tables
        .iter()
        .take(4)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if tables.len() > 4 {
        names.push_str(", ...");
    }
    Err(StoreError::Damaged {
        path: path.display().to_string(),
        reason: if tables.is_empty() {
            format!("it is a database of schema version {version} without Valence's tables")
        } else {
            format!("it is another program's database (tables {names})")
        },
    })
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let too_new = |found: u32| StoreError::TooNew {
        path: path.display().to_string(),
        found,
        supported: SCHEMA_VERSION,
    };
    let found: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(too_new(found));
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    // The window opens the library from several threads at once: each migration takes the
    // write lock first (IMMEDIATE) and reads the version again under it, so a migration that
    // another connection applied meanwhile is skipped instead of failing on its own tables.
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let at: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if at > SCHEMA_VERSION {
            return Err(too_new(at));
        }
        let Some(sql) = MIGRATIONS.get(at as usize) else {
            return Ok(());
        };
        // Each migration and its version bump commit together, or not at all.
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", at + 1)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_fresh_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/lib.sqlite3");
        let lib = Library::open(&p).unwrap();
        assert_eq!(lib.schema_version().unwrap(), SCHEMA_VERSION);
        drop(lib);
        let lib = Library::open(&p).unwrap();
        assert_eq!(lib.schema_version().unwrap(), SCHEMA_VERSION);
        let mode: String = lib
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    /// The window opens the library from several threads at once; an upgrade must not
    /// fail in the ones that lose the race (each migration is applied once).
    #[test]
    fn concurrent_opens_migrate_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lib.sqlite3");
        let blocker = open_at_version(&p, 7);
        blocker.pragma_update(None, "journal_mode", "WAL").unwrap();
        // Everyone reads version 7 while another writer holds the lock, then races to
        // upgrade once it lets go.
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
        let opened: Vec<Result<u32, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        Library::open(&p)
                            .and_then(|l| l.schema_version())
                            .map_err(|e| e.to_string())
                    })
                })
                .collect();
            std::thread::sleep(Duration::from_millis(300));
            blocker.execute_batch("COMMIT").unwrap();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for r in opened {
            assert_eq!(r, Ok(SCHEMA_VERSION));
        }
    }

    /// Migration 4 gives results stored before it their opening and closing moods, the same
    /// as `seam_points` computes for new ones.
    #[test]
    fn migration_4_backfills_the_seams_from_the_timelines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lib.sqlite3");
        let timeline: Vec<crate::library::TimelinePoint> = (0..10)
            .map(|k| crate::library::TimelinePoint {
                start_s: 10.0 * k as f64,
                end_s: 10.0 * (k + 1) as f64,
                probs: [0.25; 4],
                valence: 0.1 * k as f32 - 0.4,
                arousal: 0.3 - 0.05 * k as f32,
            })
            .collect();
        {
            let c = open_at_version(&p, 3);
            c.execute_batch(
                "INSERT INTO tracks (id, path, size, mtime_ns, status, added_at, updated_at)
                 VALUES (1, x'2f612e6d7033', 1, 1, 'ok', 0, 0);
                 INSERT INTO analysis (track_id, status, features_version, model_version,
                    source_size, source_mtime_ns, analysed_at, valence, arousal, duration_s)
                 VALUES (1, 'ok', 1, 'm', 1, 1, 0, 0.05, 0.075, 100.0);",
            )
            .unwrap();
            for (k, t) in timeline.iter().enumerate() {
                c.execute(
                    "INSERT INTO analysis_segments (track_id, idx, start_s, end_s, p1, p2, p3, p4,
                        valence, arousal) VALUES (1, ?1, ?2, ?3, 0.25, 0.25, 0.25, 0.25, ?4, ?5)",
                    params![k as i64, t.start_s, t.end_s, t.valence, t.arousal],
                )
                .unwrap();
            }
        }
        let lib = Library::open(&p).unwrap();
        assert_eq!(lib.schema_version().unwrap(), SCHEMA_VERSION);
        let got: (f64, f64, f64, f64) = lib
            .conn
            .query_row(
                "SELECT start_valence, start_arousal, end_valence, end_arousal FROM analysis",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        let ((sv, sa), (ev, ea)) = crate::library::seam_points(&timeline, 100.0, (0.05, 0.075));
        for (a, b) in [(got.0, sv), (got.1, sa), (got.2, ev), (got.3, ea)] {
            assert!(
                (a - f64::from(b)).abs() < 1e-5,
                "{got:?} vs {sv} {sa} {ev} {ea}"
            );
        }
        // The first two segments start in the first fifth, the last two end in the last.
        assert!(
            (sv - (-0.35)).abs() < 1e-6 && (ev - 0.45).abs() < 1e-6,
            "{sv} {ev}"
        );
    }

    /// A database at schema `version`, made by the first `version` migrations as they ran.
    fn open_at_version(p: &Path, version: usize) -> Connection {
        let mut c = Connection::open(p).unwrap();
        for (i, sql) in MIGRATIONS.iter().take(version).enumerate() {
            let tx = c.transaction().unwrap();
            tx.execute_batch(sql).unwrap();
            tx.pragma_update(None, "user_version", (i + 1) as u32)
                .unwrap();
            tx.commit().unwrap();
        }
        c
    }

    /// Migration 5 adds the (empty) session tables to a version 4 library and keeps what was
    /// there: its tracks and kept playlists.
    #[test]
    fn migration_5_adds_sessions_and_keeps_playlists() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lib.sqlite3");
        {
            let c = open_at_version(&p, 4);
            assert_eq!(
                c.pragma_query_value(None, "user_version", |r| r.get::<_, u32>(0))
                    .unwrap(),
                4
            );
            c.execute_batch(
                "INSERT INTO tracks (id, path, size, mtime_ns, status, added_at, updated_at)
                 VALUES (1, x'2f612e6d7033', 1, 1, 'ok', 0, 0),
                        (2, x'2f622e6d7033', 1, 1, 'ok', 0, 0);
                 INSERT INTO playlists (id, name, created_at, updated_at)
                 VALUES (7, 'Evening', 10, 20);
                 INSERT INTO playlist_items (playlist_id, pos, track_id)
                 VALUES (7, 0, 2), (7, 1, 1);",
            )
            .unwrap();
            let has_sessions: i64 = c
                .query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE name = 'sessions'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(has_sessions, 0);
        }
        let lib = Library::open(&p).unwrap();
        assert_eq!(lib.schema_version().unwrap(), SCHEMA_VERSION);
        let kept: Vec<(i64, String)> = lib
            .playlists()
            .unwrap()
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect();
        assert_eq!(kept, [(7, "Evening".to_owned())]);
        let items: Vec<i64> = lib
            .conn
            .prepare("SELECT track_id FROM playlist_items WHERE playlist_id = 7 ORDER BY pos")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(items, [2, 1]);
        assert!(lib.sessions().unwrap().is_empty());
        // A check-in off the plane is refused by the table itself.
        let off_plane = lib.conn.execute(
            "INSERT INTO sessions (name, created_at, updated_at, request, before_valence,
                before_arousal, before_at) VALUES ('x', 0, 0, '{}', 1.5, 0, 0)",
            [],
        );
        assert!(off_plane.is_err());
    }

    #[test]
    fn refuses_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lib.sqlite3");
        {
            let c = Connection::open(&p).unwrap();
            c.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
                .unwrap();
        }
        match Library::open(&p) {
            Err(StoreError::TooNew { found, .. }) => assert_eq!(found, SCHEMA_VERSION + 5),
            other => panic!("expected TooNew, got {:?}", other.err()),
        }
    }

    #[test]
    fn prefix_query_respects_component_boundary() {
        let mut lib = Library::open_in_memory().unwrap();
        let rec = |p: &str| FileRecord {
            path: PathBuf::from(p),
            size: 1,
            mtime_ns: 1,
            fingerprint: None,
            outcome: Ok(TrackTags::default()),
        };
        lib.write_batch(
            &[],
            &[
                rec("/music/a.mp3"),
                rec("/music2/b.mp3"),
                rec("/music/x/c.mp3"),
            ],
        )
        .unwrap();
        let mut under: Vec<_> = lib
            .known_under(Path::new("/music"))
            .unwrap()
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        under.sort();
        assert_eq!(
            under,
            vec![
                PathBuf::from("/music/a.mp3"),
                PathBuf::from("/music/x/c.mp3")
            ]
        );
    }
}
