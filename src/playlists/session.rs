//! Sessions: a kept mood journey with a name, an optional client label, notes, the
//! listener's own mood before and after it (check-ins), and its tracks as planned. Everything
//! stays in the local library database. A session plays in the player, exports to M3U8, and
//! exports a printable session sheet (HTML beside a PNG of the path that the window draws).
//!
//! The tracks are a snapshot taken when they are saved (title, artist, length, moods, lock),
//! so the sheet stays what was planned after a file leaves the library: such an item keeps
//! its snapshot, loses its track id and path, and is left out of the M3U8.
//!
//! Check-ins are points of the valence-arousal plane: a non-finite value is refused, a
//! finite one outside [-1, 1] is clamped onto the plane's edge (a point picked at the map's
//! border), and the time recorded is the time of the edit.

use std::fmt;
use std::path::{Path, PathBuf};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;

use super::atomic::{write_atomic, WriteError};
use super::history::{fmt_clock, fmt_utc};
use super::journey::{JourneyRequest, Length, Shape, Stop};
use super::m3u::{self, M3uEntry, M3uError};
use super::store::ser_path;
use crate::library::store::{bytes_path, now_secs, Library, StoreError};
use crate::mood::{Calibration, Mood};

/// The longest file-name stem an export uses, in bytes (a file name is at most 255 bytes,
/// and the temp file beside it adds a dozen).
pub const MAX_STEM_BYTES: usize = 120;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Why a session could not be kept, changed, read or exported.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Playlist(#[from] M3uError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("a session needs a name")]
    NoName,
    #[error("{0} is not a number")]
    NotANumber(String),
    #[error("the map image is not a PNG")]
    NotAPng,
    #[error(
        "session {id}: its journey cannot be read ({source}); was it saved by a newer Valence?"
    )]
    Unreadable {
        id: i64,
        #[source]
        source: serde_json::Error,
    },
    #[error("no session {0}")]
    NoSuchSession(i64),
}

impl From<rusqlite::Error> for SessionError {
    fn from(e: rusqlite::Error) -> Self {
        SessionError::Store(e.into())
    }
}

impl From<serde_json::Error> for SessionError {
    fn from(e: serde_json::Error) -> Self {
        SessionError::Store(e.into())
    }
}

/// One track of a session, as planned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionStop {
    /// The library's track; `None` once its file left the library (the snapshot stays). A
    /// stop saved with an id the library no longer has is kept the same way.
    pub track_id: Option<i64>,
    pub title: String,
    pub artist: String,
    /// 0 when unknown.
    pub duration_secs: f64,
    /// The track's mean mood (valence, arousal).
    pub mean: (f32, f32),
    /// Its opening and closing moods.
    pub start: (f32, f32),
    pub end: (f32, f32),
    /// Kept at its position when the journey is planned again.
    pub locked: bool,
}

impl SessionStop {
    /// A planned journey stop as a session track, under the title the library shows.
    pub fn from_stop(stop: &Stop, title: impl Into<String>, locked: bool) -> Self {
        Self {
            track_id: Some(stop.id),
            title: title.into(),
            artist: stop.artist.clone(),
            duration_secs: stop.duration_secs,
            mean: stop.mean,
            start: stop.start,
            end: stop.end,
            locked,
        }
    }
}

/// The listener's own mood at a moment: a point of the plane and when it was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CheckIn {
    pub valence: f32,
    pub arousal: f32,
    /// Unix seconds, UTC.
    pub at: i64,
}

/// Which check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    Before,
    After,
}

impl When {
    fn word(self) -> &'static str {
        match self {
            When::Before => "before",
            When::After => "after",
        }
    }
}

/// A session to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    /// Trimmed; must not be blank.
    pub name: String,
    /// Trimmed; blank is none.
    pub client: Option<String>,
    pub notes: String,
    pub request: JourneyRequest,
    pub stops: Vec<SessionStop>,
}

/// A kept session, without its tracks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionSummary {
    pub id: i64,
    pub name: String,
    pub client: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub tracks: usize,
    /// The tracks' total length as planned.
    pub duration_secs: f64,
}

/// One track of a kept session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionItem {
    #[serde(flatten)]
    pub stop: SessionStop,
    /// The file to play; `None` when it left the library or can no longer be read.
    #[serde(serialize_with = "ser_opt_path")]
    pub path: Option<PathBuf>,
}

impl SessionItem {
    /// The item as a playlist file entry; `None` without a file.
    pub fn m3u_entry(&self) -> Option<M3uEntry> {
        let s = &self.stop;
        Some(M3uEntry {
            path: self.path.clone()?,
            duration_secs: (s.duration_secs > 0.0).then_some(s.duration_secs),
            artist: s.artist.clone(),
            title: s.title.clone(),
        })
    }
}

fn ser_opt_path<S: serde::Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => ser_path(p, s),
        None => s.serialize_none(),
    }
}

/// A kept session with its tracks in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub summary: SessionSummary,
    pub notes: String,
    pub request: JourneyRequest,
    pub items: Vec<SessionItem>,
    pub before: Option<CheckIn>,
    pub after: Option<CheckIn>,
}

/// A change to a kept session; each bumps its `updated_at`.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEdit {
    /// Trimmed; must not be blank.
    Rename(String),
    /// Trimmed; blank or `None` clears it.
    Client(Option<String>),
    Notes(String),
    /// Replaces the tracks (order and locks), in one transaction.
    Stops(Vec<SessionStop>),
    /// Records a check-in now (`None` clears it). Non-finite values are refused; finite ones
    /// are clamped to [-1, 1].
    CheckIn(When, Option<(f32, f32)>),
}

/// The files a session export wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionExport {
    #[serde(serialize_with = "ser_path")]
    pub m3u: PathBuf,
    #[serde(serialize_with = "ser_path")]
    pub html: PathBuf,
    #[serde(serialize_with = "ser_opt_path")]
    pub png: Option<PathBuf>,
    /// Entries of the M3U8.
    pub tracks: usize,
    /// Items left out of the M3U8: their file left the library or can no longer be read
    /// (the sheet still lists them).
    pub missing: usize,
}

const SUMMARY_SQL: &str = "SELECT s.id, s.name, s.client, s.created_at, s.updated_at,
        COUNT(i.pos), SUM(i.duration_s)
     FROM sessions s
     LEFT JOIN session_items i ON i.session_id = s.id";

fn summary_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionSummary> {
    Ok(SessionSummary {
        id: r.get(0)?,
        name: r.get(1)?,
        client: r.get(2)?,
        created_at: r.get(3)?,
        updated_at: r.get(4)?,
        tracks: r.get::<_, i64>(5)?.max(0) as usize,
        duration_secs: r.get::<_, Option<f64>>(6)?.unwrap_or(0.0),
    })
}

/// The check-in in columns `i..i + 3` (valence, arousal, time), if recorded.
fn check_in_from(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<CheckIn>> {
    Ok(
        match (r.get(i)?, r.get(i + 1)?, r.get::<_, Option<i64>>(i + 2)?) {
            (Some(valence), Some(arousal), Some(at)) => Some(CheckIn {
                valence,
                arousal,
                at,
            }),
            _ => None,
        },
    )
}

fn item_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionItem> {
    let status: Option<String> = r.get(12)?;
    let path = match status.as_deref() {
        Some("ok") => r.get::<_, Option<Vec<u8>>>(11)?.map(bytes_path),
        _ => None,
    };
    Ok(SessionItem {
        stop: SessionStop {
            track_id: r.get(0)?,
            title: r.get(1)?,
            artist: r.get(2)?,
            duration_secs: r.get(3)?,
            mean: (r.get(4)?, r.get(5)?),
            start: (r.get(6)?, r.get(7)?),
            end: (r.get(8)?, r.get(9)?),
            locked: r.get(10)?,
        },
        path,
    })
}

impl Library {
    /// Keeps a new session; returns its id.
    pub fn save_session(&mut self, s: &NewSession) -> Result<i64, SessionError> {
        self.save_session_with(s, [None, None])
    }

    /// [`Library::save_session`] with the check-ins recorded before it was saved (before,
    /// after), kept with their own times, in the same transaction.
    pub fn save_session_with(
        &mut self,
        s: &NewSession,
        check_ins: [Option<CheckIn>; 2],
    ) -> Result<i64, SessionError> {
        let name = clean_name(&s.name)?;
        check_request(&s.request)?;
        check_stops(&s.stops)?;
        let request = serde_json::to_string(&s.request)?;
        let now = now_secs();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO sessions (name, client, notes, created_at, updated_at, request)
             VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
            params![
                name,
                clean_client(s.client.as_deref()),
                s.notes,
                now,
                request
            ],
        )?;
        let id = tx.last_insert_rowid();
        write_items(&tx, id, &s.stops)?;
        for (when, c) in [When::Before, When::After].into_iter().zip(check_ins) {
            if let Some(c) = c {
                set_check_in(&tx, id, when, Some((c.valence, c.arousal)), c.at, now)?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// Every kept session, newest (most recently changed) first.
    pub fn sessions(&self) -> Result<Vec<SessionSummary>, SessionError> {
        let sql = format!("{SUMMARY_SQL} GROUP BY s.id ORDER BY s.updated_at DESC, s.id DESC");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], summary_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A session by id, with its tracks; the files of those still in the library.
    pub fn session(&self, id: i64) -> Result<Option<Session>, SessionError> {
        let sql = format!("{SUMMARY_SQL} WHERE s.id = ?1 GROUP BY s.id");
        let Some(summary) = self
            .conn
            .query_row(&sql, params![id], summary_from)
            .optional()?
        else {
            return Ok(None);
        };
        let (notes, request, before, after): (String, String, _, _) = self.conn.query_row(
            "SELECT notes, request, before_valence, before_arousal, before_at,
                    after_valence, after_arousal, after_at
             FROM sessions WHERE id = ?1",
            params![id],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    check_in_from(r, 2)?,
                    check_in_from(r, 5)?,
                ))
            },
        )?;
        let request = serde_json::from_str(&request)
            .map_err(|source| SessionError::Unreadable { id, source })?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT i.track_id, i.title, i.artist, i.duration_s, i.valence, i.arousal,
                    i.start_valence, i.start_arousal, i.end_valence, i.end_arousal, i.locked,
                    t.path, t.status
             FROM session_items i LEFT JOIN tracks t ON t.id = i.track_id
             WHERE i.session_id = ?1 ORDER BY i.pos",
        )?;
        let items = stmt
            .query_map(params![id], item_from)?
            .collect::<Result<_, _>>()?;
        Ok(Some(Session {
            summary,
            notes,
            request,
            items,
            before,
            after,
        }))
    }

    /// Changes a session; false when there is no such session.
    pub fn edit_session(&mut self, id: i64, edit: SessionEdit) -> Result<bool, SessionError> {
        self.edit_session_with(id, vec![edit])
    }

    /// Several edits of one session in one transaction (all or none).
    pub fn edit_session_with(
        &mut self,
        id: i64,
        edits: Vec<SessionEdit>,
    ) -> Result<bool, SessionError> {
        let now = now_secs();
        let tx = self.conn.transaction()?;
        let mut n = 0;
        for edit in edits {
            n = n.max(apply_edit(&tx, id, edit, now)?);
        }
        tx.commit()?;
        Ok(n > 0)
    }

    /// Deletes a session and its tracks; false when there is no such session.
    pub fn delete_session(&mut self, id: i64) -> Result<bool, SessionError> {
        let n = self
            .conn
            .execute("DELETE FROM sessions WHERE id = ?1", params![id])?;
        Ok(n > 0)
    }

    /// Writes a session into `dir` (created if missing) under a file-name-safe form of its
    /// name: `STEM.m3u8` (the tracks whose file is still in the library), `STEM.png`
    /// (`map_png`, when given) and `STEM.html`, the printable session sheet. Each file is
    /// replaced atomically.
    pub fn export_session(
        &self,
        id: i64,
        dir: &Path,
        map_png: Option<&[u8]>,
    ) -> Result<SessionExport, SessionError> {
        let session = self.session(id)?.ok_or(SessionError::NoSuchSession(id))?;
        if map_png.is_some_and(|b| !b.starts_with(PNG_SIGNATURE)) {
            return Err(SessionError::NotAPng);
        }
        std::fs::create_dir_all(dir).map_err(|source| WriteError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let stem = file_stem(&session.summary.name);
        let png = match map_png {
            Some(bytes) => {
                let name = format!("{stem}.png");
                write_atomic(&dir.join(&name), bytes)?;
                Some(name)
            }
            None => None,
        };
        let sheet = Sheet {
            session: &session,
            png: png.as_deref(),
            cal: &crate::analysis::default_calibration().unwrap_or_default(),
            written_at: now_secs(),
        };
        let html = dir.join(format!("{stem}.html"));
        write_atomic(&html, sheet.to_string().as_bytes())?;
        let entries: Vec<M3uEntry> = session
            .items
            .iter()
            .filter_map(SessionItem::m3u_entry)
            .collect();
        let m3u = dir.join(format!("{stem}.m3u8"));
        m3u::write_m3u8(&m3u, &entries)?;
        Ok(SessionExport {
            m3u,
            html,
            png: png.map(|name| dir.join(name)),
            tracks: entries.len(),
            missing: session.items.len() - entries.len(),
        })
    }
}

fn write_items(tx: &Transaction<'_>, id: i64, stops: &[SessionStop]) -> Result<(), StoreError> {
    // A track the library no longer has is kept as its snapshot, without the link.
    let mut ins = tx.prepare_cached(
        "INSERT INTO session_items (session_id, pos, track_id, title, artist, duration_s,
            valence, arousal, start_valence, start_arousal, end_valence, end_arousal, locked)
         VALUES (?1, ?2, (SELECT id FROM tracks WHERE id = ?3), ?4, ?5, ?6, ?7, ?8, ?9, ?10,
            ?11, ?12, ?13)",
    )?;
    for (pos, s) in stops.iter().enumerate() {
        let secs = if s.duration_secs.is_finite() {
            s.duration_secs.max(0.0)
        } else {
            0.0
        };
        ins.execute(params![
            id, pos as i64, s.track_id, s.title, s.artist, secs, s.mean.0, s.mean.1, s.start.0,
            s.start.1, s.end.0, s.end.1, s.locked
        ])?;
    }
    Ok(())
}

fn clean_name(name: &str) -> Result<&str, SessionError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(SessionError::NoName);
    }
    Ok(name)
}

fn clean_client(client: Option<&str>) -> Option<&str> {
    client.map(str::trim).filter(|c| !c.is_empty())
}

fn finite(p: (f32, f32)) -> bool {
    p.0.is_finite() && p.1.is_finite()
}

/// SQLite keeps NaN as NULL and JSON has no NaN: refused before they are stored.
fn check_stops(stops: &[SessionStop]) -> Result<(), SessionError> {
    match stops
        .iter()
        .position(|s| ![s.mean, s.start, s.end].into_iter().all(finite))
    {
        Some(i) => Err(SessionError::NotANumber(format!(
            "the mood of track {} ({})",
            i + 1,
            stops[i].title
        ))),
        None => Ok(()),
    }
}

fn check_request(r: &JourneyRequest) -> Result<(), SessionError> {
    let minutes = match r.length {
        Length::Minutes(m) => m.is_finite(),
        Length::Count(_) => true,
    };
    if finite(r.from) && finite(r.to) && finite((r.max_step, r.seam_weight)) && minutes {
        Ok(())
    } else {
        Err(SessionError::NotANumber("a value of the journey".into()))
    }
}

/// A check-in point on the plane: finite, clamped to [-1, 1].
/// One edit of session `id` inside `tx`; the rows changed (0: no such session).
fn apply_edit(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    edit: SessionEdit,
    now: i64,
) -> Result<usize, SessionError> {
    Ok(match edit {
        SessionEdit::Rename(name) => tx.execute(
            "UPDATE sessions SET name = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, clean_name(&name)?, now],
        )?,
        SessionEdit::Client(client) => tx.execute(
            "UPDATE sessions SET client = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, clean_client(client.as_deref()), now],
        )?,
        SessionEdit::Notes(notes) => tx.execute(
            "UPDATE sessions SET notes = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, notes, now],
        )?,
        SessionEdit::Stops(stops) => {
            check_stops(&stops)?;
            let n = tx.execute(
                "UPDATE sessions SET updated_at = ?2 WHERE id = ?1",
                params![id, now],
            )?;
            if n > 0 {
                tx.execute(
                    "DELETE FROM session_items WHERE session_id = ?1",
                    params![id],
                )?;
                write_items(tx, id, &stops)?;
            }
            n
        }
        SessionEdit::CheckIn(when, point) => set_check_in(tx, id, when, point, now, now)?,
    })
}

/// Stores (or clears, `None`) a check-in recorded at `at`.
fn set_check_in(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    when: When,
    point: Option<(f32, f32)>,
    at: i64,
    now: i64,
) -> Result<usize, SessionError> {
    let point = point.map(|p| on_plane(when, p)).transpose()?;
    let sql = match when {
        When::Before => {
            "UPDATE sessions SET before_valence = ?2, before_arousal = ?3,
                before_at = ?4, updated_at = ?5 WHERE id = ?1"
        }
        When::After => {
            "UPDATE sessions SET after_valence = ?2, after_arousal = ?3,
                after_at = ?4, updated_at = ?5 WHERE id = ?1"
        }
    };
    Ok(tx.execute(
        sql,
        params![
            id,
            point.map(|p| p.0),
            point.map(|p| p.1),
            point.map(|_| at),
            now
        ],
    )?)
}

fn on_plane(when: When, (v, a): (f32, f32)) -> Result<(f32, f32), SessionError> {
    if !finite((v, a)) {
        return Err(SessionError::NotANumber(format!(
            "the {} check-in",
            when.word()
        )));
    }
    Ok((v.clamp(-1.0, 1.0), a.clamp(-1.0, 1.0)))
}

/// A file-name stem for `name`: characters that some file system refuses or a shell reads
/// specially (`/ \ : * ? " < > |`, controls) become `_`; no leading dot (a hidden file) nor
/// trailing dot or space; at most [`MAX_STEM_BYTES`]; "session" when nothing is left.
pub fn file_stem(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let mut stem = safe.trim_matches(|c: char| c.is_whitespace() || c == '.');
    if stem.len() > MAX_STEM_BYTES {
        let mut cut = MAX_STEM_BYTES;
        while !stem.is_char_boundary(cut) {
            cut -= 1;
        }
        stem = stem[..cut].trim_end_matches(|c: char| c.is_whitespace() || c == '.');
    }
    if stem.is_empty() {
        "session".to_owned()
    } else {
        stem.to_owned()
    }
}

/// Bytes escaped in a relative URL of one path segment: all but RFC 3986 unreserved ones.
const URL_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Text escaped for HTML content and quoted attribute values.
struct Esc<'a>(&'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..i])?;
            f.write_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}

/// A point as the sheet shows it: "valence +0.50, arousal -0.20 (Q4 Calm)".
fn point_text((v, a): (f32, f32), cal: &Calibration) -> String {
    format!(
        "valence {v:+.2}, arousal {a:+.2} ({})",
        Mood::from_point(v, a, cal).text()
    )
}

fn shape_text(shape: Shape) -> &'static str {
    match shape {
        Shape::Direct => "direct (a straight line)",
        Shape::ArousalFirst => "arousal first, then valence",
        Shape::ValenceFirst => "valence first, then arousal",
    }
}

fn length_text(length: Length) -> String {
    match length {
        Length::Count(n) => format!("{n} tracks"),
        Length::Minutes(m) => format!("{m} minutes"),
    }
}

const SHEET_CSS: &str = "
@page { size: A4; margin: 14mm 14mm 16mm; }
* { box-sizing: border-box; }
body { font-family: 'Fira Sans', 'Helvetica Neue', Arial, sans-serif; font-size: 10.5pt;
  line-height: 1.35; color: #111; background: #fff; max-width: 182mm; margin: 0 auto;
  padding: 10mm 6mm; }
h1 { font-size: 18pt; margin: 0 0 1mm; }
h2 { font-size: 12pt; margin: 6mm 0 2mm; border-bottom: 0.6pt solid #999; }
.meta { color: #444; margin: 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 1mm 5mm; margin: 0; }
dt { font-weight: 600; }
dd { margin: 0; }
.notes { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
.none { color: #666; font-style: italic; }
figure { margin: 4mm 0; text-align: center; }
figure img { max-width: 100%; max-height: 105mm; }
table { width: 100%; border-collapse: collapse; font-size: 9.5pt; }
th, td { text-align: left; vertical-align: top; padding: 1mm 1.5mm;
  border-bottom: 0.3pt solid #bbb; overflow-wrap: anywhere; }
th { border-bottom: 0.8pt solid #333; }
.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.gone { color: #666; font-size: 8.5pt; }
footer { margin-top: 6mm; color: #555; font-size: 8.5pt; }
@media print {
  body { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  figure, tr { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
}
";

/// The printable session sheet: a self-contained HTML page (no scripts; the only other
/// file is the map PNG beside it).
struct Sheet<'a> {
    session: &'a Session,
    /// The map's file name, in the sheet's folder.
    png: Option<&'a str>,
    cal: &'a Calibration,
    written_at: i64,
}

impl fmt::Display for Sheet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.session;
        let sum = &s.summary;
        let name = Esc(&sum.name);
        writeln!(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>")?;
        writeln!(f, "<meta charset=\"utf-8\">")?;
        writeln!(f, "<title>{name}: session sheet</title>")?;
        writeln!(f, "<style>{SHEET_CSS}</style>\n</head>\n<body>")?;
        writeln!(f, "<h1>{name}</h1>")?;
        if let Some(client) = &sum.client {
            writeln!(f, "<p class=\"meta\">Client: {}</p>", Esc(client))?;
        }
        writeln!(
            f,
            "<p class=\"meta\">Created {} UTC. {} tracks, total length {}.</p>",
            fmt_utc(sum.created_at),
            s.items.len(),
            fmt_clock(sum.duration_secs)
        )?;

        let r = &s.request;
        writeln!(f, "<h2>Path</h2>\n<dl>")?;
        writeln!(f, "<dt>Start</dt><dd>{}</dd>", point_text(r.from, self.cal))?;
        writeln!(f, "<dt>Target</dt><dd>{}</dd>", point_text(r.to, self.cal))?;
        writeln!(f, "<dt>Shape</dt><dd>{}</dd>", shape_text(r.shape))?;
        writeln!(f, "<dt>Length asked</dt><dd>{}</dd>", length_text(r.length))?;
        writeln!(f, "</dl>")?;

        writeln!(f, "<h2>Check-ins</h2>\n<dl>")?;
        for (label, c) in [("Before", s.before), ("After", s.after)] {
            match c {
                Some(c) => writeln!(
                    f,
                    "<dt>{label}</dt><dd>{}, recorded {} UTC</dd>",
                    point_text((c.valence, c.arousal), self.cal),
                    fmt_utc(c.at)
                )?,
                None => writeln!(f, "<dt>{label}</dt><dd class=\"none\">not recorded</dd>")?,
            }
        }
        writeln!(f, "</dl>")?;

        writeln!(f, "<h2>Notes</h2>")?;
        if s.notes.trim().is_empty() {
            writeln!(f, "<p class=\"none\">No notes.</p>")?;
        } else {
            writeln!(f, "<p class=\"notes\">{}</p>", Esc(&s.notes))?;
        }

        if let Some(png) = self.png {
            writeln!(
                f,
                "<figure><img src=\"{}\" alt=\"The path on the valence-arousal map\"></figure>",
                utf8_percent_encode(png, URL_SEGMENT)
            )?;
        }

        writeln!(f, "<h2>Tracks</h2>\n<table>")?;
        writeln!(
            f,
            "<thead><tr><th class=\"n\">#</th><th class=\"n\">Starts</th><th>Title</th>\
             <th>Artist</th><th class=\"n\">Valence</th><th class=\"n\">Arousal</th>\
             <th>Mood</th><th>Lock</th></tr></thead>\n<tbody>"
        )?;
        let mut offset = 0.0;
        for (i, item) in s.items.iter().enumerate() {
            let t = &item.stop;
            let (v, a) = t.mean;
            let gone = if item.path.is_none() {
                " <span class=\"gone\">(no longer in the library)</span>"
            } else {
                ""
            };
            writeln!(
                f,
                "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}{gone}</td>\
                 <td>{}</td><td class=\"n\">{v:+.2}</td><td class=\"n\">{a:+.2}</td>\
                 <td>{}</td><td>{}</td></tr>",
                i + 1,
                fmt_clock(offset),
                Esc(&t.title),
                Esc(&t.artist),
                Mood::from_point(v, a, self.cal).text(),
                if t.locked { "locked" } else { "" }
            )?;
            offset += t.duration_secs;
        }
        writeln!(f, "</tbody>\n</table>")?;

        writeln!(
            f,
            "<footer>Valence runs from -1 (unpleasant) to +1 (pleasant), arousal from -1 \
             (calm) to +1 (energetic). Track moods are estimated from the audio by Valence's \
             model; check-ins are as recorded. Starts: when each track begins within the \
             session. Written by Valence on {} UTC.</footer>",
            fmt_utc(self.written_at)
        )?;
        writeln!(f, "</body>\n</html>")
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::playlists::tests::{library, t, version};

    /// Four analysed tracks (ids 1..4) with files under `dir` (not created).
    fn four(dir: &Path) -> Library {
        library(
            dir,
            &[
                t("Ann", "Morning", 200.0, Some((0.6, 0.5))),
                t(
                    "Bo",
                    "<script>alert('t')</script>",
                    150.0,
                    Some((-0.5, 0.4)),
                ),
                t("Cy", "Dusk", 300.0, Some((-0.4, -0.6))),
                t("Di", "Still & Calm", 250.0, Some((0.5, -0.5))),
            ],
        )
    }

    /// Session stops for track `ids`, in order; the ids in `locked` are locked.
    fn stops(lib: &Library, ids: &[i64], locked: &[i64]) -> Vec<SessionStop> {
        let all = lib.journey_stops(&version()).unwrap();
        ids.iter()
            .map(|id| {
                let stop = all.iter().find(|s| s.id == *id).unwrap();
                let title = lib.track(*id).unwrap().unwrap().tags.title.unwrap();
                SessionStop::from_stop(stop, title, locked.contains(id))
            })
            .collect()
    }

    fn request() -> JourneyRequest {
        let mut r = JourneyRequest::new((0.6, 0.5), (0.5, -0.5), Length::Minutes(15.0));
        r.shape = Shape::ArousalFirst;
        r.seed = 7;
        r
    }

    fn new_session(lib: &Library, name: &str, ids: &[i64], locked: &[i64]) -> NewSession {
        NewSession {
            name: name.into(),
            client: Some("  C-12  ".into()),
            notes: "First line\nsecond line".into(),
            request: request(),
            stops: stops(lib, ids, locked),
        }
    }

    fn ids(s: &Session) -> Vec<Option<i64>> {
        s.items.iter().map(|i| i.stop.track_id).collect()
    }

    fn locks(s: &Session) -> Vec<bool> {
        s.items.iter().map(|i| i.stop.locked).collect()
    }

    #[test]
    fn sessions_are_saved_listed_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut lib = four(dir.path());
        let new = new_session(&lib, "  Evening wind-down ", &[3, 1, 4], &[1]);
        let id = lib.save_session(&new).unwrap();
        let second = lib
            .save_session(&NewSession {
                client: Some("   ".into()),
                ..new_session(&lib, "Second", &[2], &[])
            })
            .unwrap();

        let list = lib.sessions().unwrap();
        let names: Vec<(i64, &str)> = list.iter().map(|s| (s.id, s.name.as_str())).collect();
        assert_eq!(names, [(second, "Second"), (id, "Evening wind-down")]);
        assert_eq!(list[0].client, None, "a blank client is none");
        assert_eq!(list[1].client.as_deref(), Some("C-12"));
        assert_eq!(list[1].tracks, 3);
        assert!((list[1].duration_secs - 750.0).abs() < 1e-9);

        let s = lib.session(id).unwrap().unwrap();
        assert_eq!(s.summary, list[1]);
        assert_eq!(s.notes, "First line\nsecond line");
        assert_eq!(s.request, request());
        assert_eq!(ids(&s), [Some(3), Some(1), Some(4)]);
        assert_eq!(locks(&s), [false, true, false]);
        assert_eq!((s.before, s.after), (None, None));

        let stops: Vec<SessionStop> = s.items.iter().map(|i| i.stop.clone()).collect();
        assert_eq!(stops, new.stops);
        assert_eq!(s.items[0].stop.title, "Dusk");
        assert_eq!(s.items[0].stop.mean, (-0.4, -0.6));
        assert_eq!(s.items[2].path, Some(dir.path().join("4.flac")));
        assert_eq!((s.before, s.after), (None, None));
        assert!(lib.session(second + 100).unwrap().is_none());

        // A blank name is refused and nothing is kept.
        let blank = new_session(&lib, " \t ", &[1], &[]);
        assert!(matches!(
            lib.save_session(&blank),
            Err(SessionError::NoName)
        ));
        // So is a mood that is not a number (SQLite would keep it as NULL).
        let mut nan = new_session(&lib, "NaN", &[1, 2], &[]);
        nan.stops[1].end.1 = f32::NAN;
        match lib.save_session(&nan) {
            Err(SessionError::NotANumber(what)) => assert!(what.contains("track 2"), "{what}"),
            other => panic!("expected NotANumber, got {other:?}"),
        }
        assert_eq!(lib.sessions().unwrap().len(), 2);

        // Check-ins recorded before saving are kept with their own times, clamped.
        let early = CheckIn {
            valence: -0.4,
            arousal: 1.5,
            at: 1_000,
        };
        let third = lib
            .save_session_with(&new_session(&lib, "Third", &[2], &[]), [Some(early), None])
            .unwrap();
        let t = lib.session(third).unwrap().unwrap();
        assert_eq!(
            t.before,
            Some(CheckIn {
                arousal: 1.0,
                ..early
            })
        );
        assert_eq!(t.after, None);
    }

    #[test]
    fn edits_rename_relabel_annotate_replace_tracks_and_check_in() {
        let dir = tempfile::tempdir().unwrap();
        let mut lib = four(dir.path());
        let id = lib
            .save_session(&new_session(&lib, "Plan", &[1, 2, 3], &[2]))
            .unwrap();
        // Edits bump `updated_at` and leave `created_at`.
        lib.conn
            .execute("UPDATE sessions SET created_at = 5, updated_at = 5", [])
            .unwrap();
        let get = |lib: &Library| lib.session(id).unwrap().unwrap();

        assert!(lib
            .edit_session(id, SessionEdit::Rename("  Renamed  ".into()))
            .unwrap());
        let s = get(&lib);
        assert_eq!(s.summary.name, "Renamed");
        assert!(s.summary.updated_at > 5 && s.summary.created_at == 5);
        assert!(matches!(
            lib.edit_session(id, SessionEdit::Rename("   ".into())),
            Err(SessionError::NoName)
        ));
        assert_eq!(get(&lib).summary.name, "Renamed");

        assert!(lib.edit_session(id, SessionEdit::Client(None)).unwrap());
        assert_eq!(get(&lib).summary.client, None);
        assert!(lib
            .edit_session(id, SessionEdit::Client(Some(" K ".into())))
            .unwrap());
        assert_eq!(get(&lib).summary.client.as_deref(), Some("K"));

        assert!(lib
            .edit_session(id, SessionEdit::Notes("a\n\nb".into()))
            .unwrap());
        assert_eq!(get(&lib).notes, "a\n\nb");

        let new_stops = stops(&lib, &[4, 2, 1, 3], &[4, 1]);
        assert!(lib
            .edit_session(id, SessionEdit::Stops(new_stops.clone()))
            .unwrap());
        let s = get(&lib);
        assert_eq!(ids(&s), [Some(4), Some(2), Some(1), Some(3)]);
        assert_eq!(locks(&s), [true, false, true, false]);
        assert_eq!(s.summary.tracks, 4);
        assert!((s.summary.duration_secs - 900.0).abs() < 1e-9);
        // A failed replacement changes nothing.
        let mut bad = new_stops.clone();
        bad.truncate(1);
        bad[0].mean.0 = f32::INFINITY;
        assert!(lib.edit_session(id, SessionEdit::Stops(bad)).is_err());
        assert_eq!(ids(&get(&lib)), [Some(4), Some(2), Some(1), Some(3)]);

        let before = now_secs();
        assert!(lib
            .edit_session(id, SessionEdit::CheckIn(When::Before, Some((0.25, -0.5))))
            .unwrap());
        assert!(lib
            .edit_session(id, SessionEdit::CheckIn(When::After, Some((1.7, -3.0))))
            .unwrap());
        let after = now_secs();
        let s = get(&lib);
        let b = s.before.unwrap();
        assert_eq!((b.valence, b.arousal), (0.25, -0.5));
        assert!((before..=after).contains(&b.at));
        let a = s.after.unwrap();
        assert_eq!(
            (a.valence, a.arousal),
            (1.0, -1.0),
            "clamped onto the plane"
        );
        for p in [(f32::NAN, 0.0), (0.0, f32::NEG_INFINITY)] {
            match lib.edit_session(id, SessionEdit::CheckIn(When::Before, Some(p))) {
                Err(SessionError::NotANumber(what)) => assert!(what.contains("before")),
                other => panic!("expected NotANumber, got {other:?}"),
            }
        }
        assert_eq!(
            get(&lib).before,
            Some(b),
            "a refused check-in keeps the last"
        );
        assert!(lib
            .edit_session(id, SessionEdit::CheckIn(When::Before, None))
            .unwrap());
        let s = get(&lib);
        assert_eq!((s.before, s.after), (None, Some(a)));

        // No such session: nothing changes, for every kind of edit.
        for edit in [
            SessionEdit::Rename("x".into()),
            SessionEdit::Notes("x".into()),
            SessionEdit::Stops(new_stops),
            SessionEdit::CheckIn(When::After, None),
        ] {
            assert!(!lib.edit_session(id + 1, edit).unwrap());
        }
        let items: i64 = lib
            .conn
            .query_row("SELECT COUNT(*) FROM session_items", [], |r| r.get(0))
            .unwrap();
        assert_eq!(items, 4);
    }

    #[test]
    fn deleting_a_session_deletes_its_tracks() {
        let dir = tempfile::tempdir().unwrap();
        let mut lib = four(dir.path());
        let gone = lib
            .save_session(&new_session(&lib, "Gone", &[1, 2], &[]))
            .unwrap();
        let kept = lib
            .save_session(&new_session(&lib, "Kept", &[3], &[]))
            .unwrap();
        let count = |lib: &Library, id: i64| -> i64 {
            lib.conn
                .query_row(
                    "SELECT COUNT(*) FROM session_items WHERE session_id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!(count(&lib, gone), 2);
        assert!(lib.delete_session(gone).unwrap());
        assert!(lib.session(gone).unwrap().is_none());
        assert_eq!(count(&lib, gone), 0);
        assert!(!lib.delete_session(gone).unwrap());
        assert_eq!(count(&lib, kept), 1);
        assert_eq!(lib.sessions().unwrap().len(), 1);
        // The library's tracks stay.
        assert_eq!(lib.tracks().unwrap().len(), 4);
    }

    #[test]
    fn a_track_that_leaves_the_library_keeps_its_snapshot_and_is_missing_from_the_export() {
        let dir = tempfile::tempdir().unwrap();
        let mut lib = four(dir.path());
        let planned = stops(&lib, &[1, 3, 4], &[3]);
        let id = lib
            .save_session(&NewSession {
                stops: planned.clone(),
                ..new_session(&lib, "Snapshot", &[], &[])
            })
            .unwrap();
        lib.conn
            .execute("DELETE FROM tracks WHERE id = 3", [])
            .unwrap();
        // A file that can no longer be read is not played either.
        lib.conn
            .execute("UPDATE tracks SET status = 'failed' WHERE id = 4", [])
            .unwrap();
        let s = lib.session(id).unwrap().unwrap();
        assert_eq!(ids(&s), [Some(1), None, Some(4)]);
        let gone = &s.items[1];
        assert_eq!(gone.path, None);
        assert_eq!(
            gone.stop,
            SessionStop {
                track_id: None,
                ..planned[1].clone()
            },
            "the snapshot is kept"
        );
        assert_eq!(s.items[2].path, None);
        assert_eq!(s.items[0].path, Some(dir.path().join("1.flac")));
        assert_eq!(s.summary.tracks, 3, "the sheet still lists it");

        let out = dir.path().join("out");
        let e = lib.export_session(id, &out, None).unwrap();
        assert_eq!((e.tracks, e.missing), (1, 2));
        let listed = m3u::read_m3u(&e.m3u).unwrap();
        let paths: Vec<&Path> = listed.entries.iter().map(|x| x.path.as_path()).collect();
        assert_eq!(paths, [dir.path().join("1.flac").as_path()]);
        let html = fs::read_to_string(&e.html).unwrap();
        assert!(html.contains("Dusk <span class=\"gone\">(no longer in the library)"));

        // Saving a stop whose track is gone keeps it, unlinked.
        assert!(lib
            .edit_session(id, SessionEdit::Stops(planned.clone()))
            .unwrap());
        assert_eq!(
            ids(&lib.session(id).unwrap().unwrap()),
            [Some(1), None, Some(4)]
        );
    }

    #[test]
    fn export_writes_the_playlist_the_sheet_and_the_map() {
        let dir = tempfile::tempdir().unwrap();
        let mut lib = four(dir.path());
        let name = "<script>x()</script> A/B: \"Evening\"";
        let id = lib
            .save_session(&NewSession {
                notes: "Line one & more\n<script>notes()</script>\nline three".into(),
                ..new_session(&lib, name, &[1, 2, 3, 4], &[2])
            })
            .unwrap();
        lib.edit_session(id, SessionEdit::CheckIn(When::Before, Some((-0.3, 0.45))))
            .unwrap();
        let out = dir.path().join("new/sessions");
        let png = [PNG_SIGNATURE, b"rest of the image"].concat();
        let e = lib.export_session(id, &out, Some(&png)).unwrap();

        let stem = "_script_x()__script_ A_B_ _Evening_";
        assert_eq!(e.m3u, out.join(format!("{stem}.m3u8")));
        assert_eq!(e.html, out.join(format!("{stem}.html")));
        assert_eq!(e.png, Some(out.join(format!("{stem}.png"))));
        assert_eq!((e.tracks, e.missing), (4, 0));
        assert_eq!(fs::read(out.join(format!("{stem}.png"))).unwrap(), png);
        let listed = m3u::read_m3u(&e.m3u).unwrap();
        let titles: Vec<&str> = listed.entries.iter().map(|x| x.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Morning",
                "<script>alert('t')</script>",
                "Dusk",
                "Still & Calm"
            ]
        );
        // Only the three files: no temp file left behind.
        assert_eq!(fs::read_dir(&out).unwrap().count(), 3);

        let html = fs::read_to_string(&e.html).unwrap();
        assert!(!html.to_lowercase().contains("<script"), "{html}");
        assert!(html.contains("<h1>&lt;script&gt;x()&lt;/script&gt; A/B: &quot;Evening&quot;</h1>"));
        assert!(html.contains("Client: C-12"));
        assert!(
            html.contains("Line one &amp; more\n&lt;script&gt;notes()&lt;/script&gt;\nline three")
        );
        assert!(
            html.contains("white-space: pre-wrap"),
            "line breaks are kept"
        );
        for title in [
            "Morning",
            "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;",
            "Dusk",
            "Still &amp; Calm",
        ] {
            assert!(html.contains(&format!("<td>{title}</td>")), "{title}");
        }
        // Offsets within the session: 200 + 150 s before the third track.
        assert!(html.contains("<td class=\"n\">3</td><td class=\"n\">5:50</td><td>Dusk</td>"));
        assert!(html.contains("4 tracks, total length 15:00."));
        assert!(html.contains("valence -0.30, arousal +0.45"));
        assert!(html.contains("<dt>After</dt><dd class=\"none\">not recorded</dd>"));
        assert!(html.contains("<dt>Shape</dt><dd>arousal first, then valence</dd>"));
        assert!(html.contains("<dt>Length asked</dt><dd>15 minutes</dd>"));
        assert!(html.contains("valence +0.60, arousal +0.50 (Q1 Happy)"));
        assert_eq!(html.matches("<td>locked</td>").count(), 1);
        assert!(html.contains(
            "<td>Ann</td><td class=\"n\">+0.60</td><td class=\"n\">+0.50</td><td>Q1 Happy</td>"
        ));
        assert!(html.contains("@media print") && html.contains("size: A4"));
        // The map by its relative, URL-encoded name; nothing else is fetched.
        assert!(html.contains("<img src=\"_script_x%28%29__script_%20A_B_%20_Evening_.png\""));
        assert_eq!(html.matches("src=").count(), 1);
        assert!(!html.contains("http:") && !html.contains("https:"));

        // Again without a map: no image on the sheet.
        let e = lib.export_session(id, &out, None).unwrap();
        assert_eq!(e.png, None);
        assert!(!fs::read_to_string(&e.html).unwrap().contains("<img"));
        // Not a PNG, or no such session: refused, nothing written.
        assert!(matches!(
            lib.export_session(id, &out, Some(b"GIF89a")),
            Err(SessionError::NotAPng)
        ));
        assert!(matches!(
            lib.export_session(id + 1, &dir.path().join("none"), None),
            Err(SessionError::NoSuchSession(_))
        ));
        assert!(!dir.path().join("none").exists());
    }

    #[test]
    fn the_sheet_shows_the_mood_the_app_shows() {
        let dir = tempfile::tempdir().unwrap();
        let mut lib = library(
            dir.path(),
            &[
                t("A", "Sure", 60.0, Some((-0.7, -0.6))),
                t("B", "Near an axis", 60.0, Some((0.01, 0.6))),
            ],
        );
        let id = lib
            .save_session(&new_session(&lib, "Moods", &[1, 2], &[]))
            .unwrap();
        let session = lib.session(id).unwrap().unwrap();
        let cal = Calibration::default();
        let html = Sheet {
            session: &session,
            png: None,
            cal: &cal,
            written_at: 0,
        }
        .to_string();
        assert!(html.contains("<td>Q3 Sad</td>"));
        assert!(html.contains("<td>Q1 Happy (uncertain; or Q2 Tense)</td>"));
        assert!(html.contains("Written by Valence on 1970-01-01 00:00 UTC"));
    }

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("Evening: calm/quiet?"), "Evening_ calm_quiet_");
        assert_eq!(file_stem("  ..hidden. "), "hidden");
        assert_eq!(file_stem("tab\there\nnewline"), "tab_here_newline");
        assert_eq!(file_stem("..."), "session");
        assert_eq!(file_stem(""), "session");
        assert_eq!(file_stem("Björk – Jóga"), "Björk – Jóga");
        let long = "é".repeat(200);
        let stem = file_stem(&long);
        assert!(stem.len() <= MAX_STEM_BYTES && stem.len() >= MAX_STEM_BYTES - 1);
        assert!(stem.chars().all(|c| c == 'é'));
    }
}
