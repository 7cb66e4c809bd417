//! ListenBrainz (JSON) and Last.fm (CSV) listening histories, parsed into listens.
//!
//! Only parsing and the matching key live here; storing plays is `history`'s job. The
//! format is sniffed from the bytes, not the file name (exports get renamed). A broken
//! row is reported in [`ParsedHistory::bad`] with its line and never sinks the import;
//! only a file that cannot be read or is not a history at all is an error.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Largest history file read: years of listens are tens of MiB; this is far beyond.
pub const MAX_HISTORY_BYTES: u64 = 512 * 1024 * 1024;
/// Longest artist or title kept (bytes): anything longer is a broken row, not a name.
const MAX_FIELD_BYTES: usize = 1024;
/// Latest listen time accepted, 3000-01-01 UTC: later is a broken value (or milliseconds).
const MAX_UNIX_SECS: i64 = 32_503_680_000;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What [`ImportError::UnknownFormat`] says was expected.
const EXPECTED: &str = "expected a ListenBrainz export (a JSON array of listens, JSON Lines \
    with one listen per line, or an API response with payload.listens) or a Last.fm \
    scrobble CSV (artist,album,title,date rows, or a header row naming artist, \
    track or title, and uts or a date column)";

/// Which service's export a history came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum HistoryFormat {
    ListenBrainz,
    LastFm,
}

/// One play from an exported history.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Listen {
    pub artist: String,
    pub title: String,
    pub album: Option<String>,
    /// Unix seconds, UTC.
    pub listened_at: i64,
    pub duration_secs: Option<f64>,
}

/// A row that could not be taken, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BadRow {
    /// 1-based line (JSON Lines, CSV) or JSON array index + 1.
    pub line: usize,
    pub reason: String,
}

/// A history file as read: the listens in file order, and the rows left out.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ParsedHistory {
    pub format: HistoryFormat,
    pub listens: Vec<Listen>,
    pub bad: Vec<BadRow>,
}

/// History file errors, by meaning.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read history file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("history file {} is {bytes} bytes, over the {limit}-byte limit", path.display())]
    TooLarge {
        path: PathBuf,
        bytes: u64,
        limit: u64,
    },
    /// Not a history this reader knows; the text says what was found and what was expected.
    #[error("not a listening history: {0}")]
    UnknownFormat(String),
}

fn unknown(found: &str) -> ImportError {
    ImportError::UnknownFormat(format!("{found}; {EXPECTED}"))
}

/// Reads and parses a history file (at most [`MAX_HISTORY_BYTES`]).
pub fn read_history(path: &Path) -> Result<ParsedHistory, ImportError> {
    let io = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let too_large = |bytes| ImportError::TooLarge {
        path: path.to_path_buf(),
        bytes,
        limit: MAX_HISTORY_BYTES,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > MAX_HISTORY_BYTES {
        return Err(too_large(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // The length can lie (a growing file, a pipe): never read past the limit.
    file.take(MAX_HISTORY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_HISTORY_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    parse_history(&bytes)
}

/// Parses a history, sniffing the format from its first bytes.
pub fn parse_history(bytes: &[u8]) -> Result<ParsedHistory, ImportError> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Err(unknown("the file is empty")),
        Some(b'[') => parse_lb_array(bytes),
        Some(b'{') => parse_lb_object_or_lines(bytes),
        Some(_) => parse_lastfm_csv(bytes),
    }
}

/// The key two (artist, title) pairs match on: case-, accent- and "feat."-insensitive.
pub fn match_key(artist: &str, title: &str) -> String {
    let artist = strip_feat_groups(&fold(artist), ARTIST_GROUPS);
    let artist = cut_at_first(&artist, ARTIST_CUTS);
    let title = strip_feat_groups(&fold(title), TITLE_GROUPS);
    let title = cut_at_first(&title, TITLE_CUTS);
    format!("{}\u{1f}{}", squash(artist), squash(title))
}

// ---- ListenBrainz -------------------------------------------------------------------

/// Rows gathered so far, and whether anything looked like a ListenBrainz listen at all.
#[derive(Default)]
struct Rows {
    listens: Vec<Listen>,
    bad: Vec<BadRow>,
    /// Array items seen (for the item number of a syntax error).
    items: usize,
    listen_like: bool,
}

impl Rows {
    fn push(&mut self, line: usize, row: Result<Listen, String>) {
        match row {
            Ok(l) => self.listens.push(l),
            Err(reason) => self.bad.push(BadRow { line, reason }),
        }
    }

    fn push_json(&mut self, line: usize, v: &Value) {
        if v.as_object()
            .is_some_and(|o| o.contains_key("track_metadata") || o.contains_key("listened_at"))
        {
            self.listen_like = true;
        }
        self.push(line, listen_from_json(v));
    }

    /// Items were there but none looked like a listen: some other JSON, not a history.
    /// `unit` names what [`BadRow::line`] counts ("item", "line").
    fn finish(self, unit: &str) -> Result<ParsedHistory, ImportError> {
        if !self.listen_like && !self.bad.is_empty() {
            let first = &self.bad[0];
            return Err(unknown(&format!(
                "JSON without ListenBrainz listens ({unit} {}: {})",
                first.line, first.reason
            )));
        }
        Ok(ParsedHistory {
            format: HistoryFormat::ListenBrainz,
            listens: self.listens,
            bad: self.bad,
        })
    }
}

/// The classic export: one JSON array, read item by item so only one is in memory.
fn parse_lb_array(bytes: &[u8]) -> Result<ParsedHistory, ImportError> {
    let mut rows = Rows::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let res = ListenArray(&mut rows)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Err(e) = res {
        // serde_json cannot resume after a syntax error: keep what came before it.
        rows.bad.push(BadRow {
            line: rows.items + 1,
            reason: format!("invalid JSON, rest of the file skipped: {e}"),
        });
    }
    rows.finish("item")
}

/// JSON Lines (the zip export's `listens/YYYY/MM.jsonl`) or one API response object.
fn parse_lb_object_or_lines(bytes: &[u8]) -> Result<ParsedHistory, ImportError> {
    // A whole JSON object on the first line means JSON Lines, or an API response saved
    // on one line; otherwise it is one pretty-printed object.
    let first = bytes
        .split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    // Keys only: a one-line API response can be the whole file, and is streamed below.
    match serde_json::from_slice::<HashMap<String, IgnoredAny>>(first) {
        Ok(o) if o.contains_key("payload") => parse_lb_api(bytes),
        Ok(_) => parse_lb_lines(bytes),
        // A broken first line of JSON Lines also lands here: try those if it is no API
        // response, but say why it was not one if it is neither.
        Err(_) => parse_lb_api(bytes).or_else(|api_err| parse_lb_lines(bytes).map_err(|_| api_err)),
    }
}

fn parse_lb_lines(bytes: &[u8]) -> Result<ParsedHistory, ImportError> {
    let mut rows = Rows::default();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = raw.trim_ascii();
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Value>(line) {
            Ok(v) => rows.push_json(i + 1, &v),
            Err(e) => rows.push(i + 1, Err(format!("invalid JSON: {e}"))),
        }
    }
    rows.finish("line")
}

/// `{"payload": {"listens": [...]}}`, streamed like the array.
fn parse_lb_api(bytes: &[u8]) -> Result<ParsedHistory, ImportError> {
    let mut rows = Rows::default();
    let mut found = false;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let res = KeyPath {
        path: &["payload", "listens"],
        rows: &mut rows,
        found: &mut found,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match res {
        Err(e) if !found => Err(unknown(&format!("invalid JSON object ({e})"))),
        Err(e) => {
            rows.bad.push(BadRow {
                line: rows.items + 1,
                reason: format!("invalid JSON, rest of the file skipped: {e}"),
            });
            rows.finish("item")
        }
        Ok(()) if !found => Err(unknown("a JSON object without payload.listens")),
        Ok(()) => rows.finish("item"),
    }
}

/// Streams a JSON array of listens into [`Rows`].
struct ListenArray<'a>(&'a mut Rows);

impl<'de> Visitor<'de> for ListenArray<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of ListenBrainz listens")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<Value>()? {
            self.0.items += 1;
            let n = self.0.items;
            self.0.push_json(n, &item);
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for ListenArray<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

/// An object in which only the key `path[0]` matters: it descends `path` and streams the
/// array at its end into [`Rows`] (`["payload", "listens"]` for the API response).
struct KeyPath<'a> {
    path: &'static [&'static str],
    rows: &'a mut Rows,
    found: &'a mut bool,
}

impl<'de> Visitor<'de> for KeyPath<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object with {}", self.path.join("."))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((&first, rest)) = self.path.split_first() else {
            return Ok(());
        };
        while let Some(key) = map.next_key::<String>()? {
            if key != first {
                map.next_value::<IgnoredAny>()?;
            } else if rest.is_empty() {
                *self.found = true;
                map.next_value_seed(ListenArray(&mut *self.rows))?;
            } else {
                map.next_value_seed(KeyPath {
                    path: rest,
                    rows: &mut *self.rows,
                    found: &mut *self.found,
                })?;
            }
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for KeyPath<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

fn listen_from_json(v: &Value) -> Result<Listen, String> {
    let obj = v.as_object().ok_or("not a JSON object")?;
    let meta = obj
        .get("track_metadata")
        .and_then(Value::as_object)
        .ok_or("missing track_metadata")?;
    let artist = required_text(meta, "artist_name")?;
    let title = required_text(meta, "track_name")?;
    let listened_at = match obj.get("listened_at") {
        None | Some(Value::Null) => return Err("missing listened_at".to_owned()),
        Some(t) => json_time(t)?,
    };
    let album = meta
        .get("release_name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|a| !a.is_empty() && a.len() <= MAX_FIELD_BYTES)
        .map(str::to_owned);
    let info = meta.get("additional_info").and_then(Value::as_object);
    let number = |key: &str| info.and_then(|i| json_number(i.get(key)?));
    let duration_secs = number("duration_ms")
        .map(|ms| ms / 1000.0)
        .or_else(|| number("duration"))
        .filter(|d| d.is_finite() && *d > 0.0);
    Ok(Listen {
        artist,
        title,
        album,
        listened_at,
        duration_secs,
    })
}

fn required_text(meta: &Map<String, Value>, key: &str) -> Result<String, String> {
    match meta.get(key) {
        None | Some(Value::Null) => Err(format!("missing {key}")),
        Some(Value::String(s)) => checked_text(s.trim(), key),
        Some(_) => Err(format!("{key} is not a string")),
    }
}

fn checked_text(s: &str, what: &str) -> Result<String, String> {
    if s.is_empty() {
        Err(format!("empty {what}"))
    } else if s.len() > MAX_FIELD_BYTES {
        Err(format!("{what} longer than {MAX_FIELD_BYTES} bytes"))
    } else {
        Ok(s.to_owned())
    }
}

fn json_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `listened_at` as unix seconds: a number (the exports), a numeric string, or an ISO 8601
/// date (some tools rewrite it so).
fn json_time(v: &Value) -> Result<i64, String> {
    let t = match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.floor() as i64)
        }),
        Value::String(s) => parse_date(s),
        _ => None,
    };
    match t {
        Some(t) => checked_time(t),
        None => Err(format!("listened_at is not a time: {v}")),
    }
}

fn checked_time(t: i64) -> Result<i64, String> {
    if (0..=MAX_UNIX_SECS).contains(&t) {
        Ok(t)
    } else {
        Err(format!(
            "time {t} is out of range (before 1970 or after 2999)"
        ))
    }
}

// ---- Last.fm CSV --------------------------------------------------------------------

/// Column positions named by a header row.
struct Columns {
    artist: usize,
    title: usize,
    album: Option<usize>,
    uts: Option<usize>,
    date: Option<usize>,
}

impl Columns {
    /// `Ok(None)`: the row names no artist column, so it is no header. `Err`: a header
    /// that lacks a needed column.
    fn from_header(rec: &csv::ByteRecord) -> Result<Option<Columns>, String> {
        let names: Vec<String> = rec
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_lowercase())
            .collect();
        let find = |wanted: &[&str]| names.iter().position(|n| wanted.contains(&n.as_str()));
        let Some(artist) = find(&["artist", "artist_name", "artist name", "artistname"]) else {
            return Ok(None);
        };
        let title = find(&[
            "track",
            "title",
            "track_name",
            "track name",
            "trackname",
            "song",
            "name",
        ]);
        let uts = find(&[
            "uts",
            "timestamp",
            "unix_timestamp",
            "listened_at",
            "date_uts",
        ]);
        let date = find(&[
            "utc_time",
            "date",
            "time",
            "datetime",
            "date_text",
            "played_at",
            "scrobble_time",
        ]);
        let album = find(&[
            "album",
            "album_name",
            "album name",
            "release",
            "release_name",
        ]);
        let Some(title) = title else {
            return Err("a CSV header without a track or title column".to_owned());
        };
        if uts.is_none() && date.is_none() {
            return Err("a CSV header without a uts or date column".to_owned());
        }
        Ok(Some(Columns {
            artist,
            title,
            album,
            uts,
            date,
        }))
    }

    fn listen(&self, rec: &csv::ByteRecord) -> Result<Listen, String> {
        let get = |i: Option<usize>| i.and_then(|i| rec.get(i)).map(lossy_trim);
        let artist = checked_text(&get(Some(self.artist)).unwrap_or_default(), "artist")?;
        let title = checked_text(&get(Some(self.title)).unwrap_or_default(), "title")?;
        let uts = get(self.uts).unwrap_or_default();
        let date = get(self.date).unwrap_or_default();
        // uts is exact; the date column is the fallback (and all some exports have).
        let t = match (parse_unix(&uts), parse_date(&date)) {
            (Some(t), _) | (None, Some(t)) => t,
            _ if uts.is_empty() && date.is_empty() => return Err("no date".to_owned()),
            _ if !date.is_empty() => return Err(format!("unparsable date {date:?}")),
            _ => return Err(format!("unparsable uts {uts:?}")),
        };
        Ok(Listen {
            artist,
            title,
            album: get(self.album).filter(|a| !a.is_empty() && a.len() <= MAX_FIELD_BYTES),
            listened_at: checked_time(t)?,
            duration_secs: None,
        })
    }
}

/// A headerless `artist,album,title,date` row (the lastfm-to-csv exporter).
fn headerless_listen(rec: &csv::ByteRecord) -> Result<Listen, String> {
    if rec.len() != 4 {
        return Err(format!(
            "expected 4 fields (artist, album, title, date), found {}",
            rec.len()
        ));
    }
    let field = |i| rec.get(i).map(lossy_trim).unwrap_or_default();
    let artist = checked_text(&field(0), "artist")?;
    let title = checked_text(&field(2), "title")?;
    let album = Some(field(1)).filter(|a| !a.is_empty() && a.len() <= MAX_FIELD_BYTES);
    let date = field(3);
    let t = match parse_date(&date) {
        Some(t) => t,
        None if date.is_empty() => return Err("no date".to_owned()),
        None => return Err(format!("unparsable date {date:?}")),
    };
    Ok(Listen {
        artist,
        title,
        album,
        listened_at: checked_time(t)?,
        duration_secs: None,
    })
}

/// Records read before deciding a headerless file is a scrobble list.
const SNIFF_ROWS: usize = 10;

fn parse_lastfm_csv(bytes: &[u8]) -> Result<ParsedHistory, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let line_of = |p: Option<&csv::Position>| p.map_or(0, |p| p.line() as usize);
    let mut next = || -> Option<Result<(usize, csv::ByteRecord), (usize, String)>> {
        Some(match records.next()? {
            Ok(r) => Ok((line_of(r.position()), r)),
            Err(e) => Err((line_of(e.position()), e.to_string())),
        })
    };
    let first = match next() {
        None => return Err(unknown("the file is empty")),
        Some(Err((_, e))) => return Err(unknown(&format!("unreadable CSV ({e})"))),
        Some(Ok(r)) => r,
    };
    let mut listens = Vec::new();
    let mut bad = Vec::new();
    let mut take = |line, row: Result<Listen, String>| match row {
        Ok(l) => listens.push(l),
        Err(reason) => bad.push(BadRow { line, reason }),
    };

    match Columns::from_header(&first.1) {
        Err(missing) => return Err(unknown(&missing)),
        Ok(Some(cols)) => {
            while let Some(r) = next() {
                match r {
                    Ok((line, rec)) => take(line, cols.listen(&rec)),
                    // Reading a byte slice does not fail; if it ever does, stop there.
                    Err((line, e)) => {
                        take(line, Err(format!("unreadable CSV, rest skipped: {e}")));
                        break;
                    }
                }
            }
        }
        Ok(None) => {
            // No header: one of the first rows must be a dated scrobble, else it is some
            // other CSV (or no CSV at all).
            let mut head = vec![first];
            while head.len() < SNIFF_ROWS {
                match next() {
                    Some(Ok(r)) => head.push(r),
                    _ => break,
                }
            }
            if !head.iter().any(|(_, r)| headerless_listen(r).is_ok()) {
                return Err(unknown("text whose first rows are not Last.fm scrobbles"));
            }
            for (line, rec) in &head {
                take(*line, headerless_listen(rec));
            }
            while let Some(r) = next() {
                match r {
                    Ok((line, rec)) => take(line, headerless_listen(&rec)),
                    Err((line, e)) => {
                        take(line, Err(format!("unreadable CSV, rest skipped: {e}")));
                        break;
                    }
                }
            }
        }
    }
    Ok(ParsedHistory {
        format: HistoryFormat::LastFm,
        listens,
        bad,
    })
}

/// Exports are UTF-8; a stray bad byte becomes U+FFFD rather than losing the row.
fn lossy_trim(field: &[u8]) -> String {
    String::from_utf8_lossy(field).trim().to_owned()
}

// ---- Dates --------------------------------------------------------------------------

/// Whole unix seconds (a trailing fraction is dropped).
fn parse_unix(s: &str) -> Option<i64> {
    let s = s.trim();
    let int = s.split_once('.').map_or(s, |(i, _)| i);
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    int.parse().ok()
}

/// Unix seconds (UTC) from the forms exports write: `31 Jan 2021 12:34` (Last.fm
/// exporters; a comma after the year, seconds, or a "UTC" are fine), ISO 8601
/// (`2021-01-31T12:34:56Z`, with an offset, or a space for the `T`), or unix seconds.
fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    parse_unix(s)
        .or_else(|| parse_day_month_year(s))
        .or_else(|| parse_iso(s))
}

fn parse_day_month_year(s: &str) -> Option<i64> {
    let mut parts = s
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|p| !p.is_empty());
    let day: u32 = parts.next()?.parse().ok()?;
    let month = month_number(parts.next()?)?;
    let year: i64 = parts.next()?.parse().ok()?;
    let (h, m, sec) = match parts.next() {
        Some(t) => parse_hms(t)?,
        None => (0, 0, 0),
    };
    match parts.next() {
        None => {}
        Some(z) if ["utc", "gmt", "z"].contains(&z.to_lowercase().as_str()) => {}
        Some(_) => return None,
    }
    if parts.next().is_some() {
        return None;
    }
    civil_to_unix(year, month, day, h, m, sec)
}

fn month_number(tok: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let tok = tok.trim_end_matches('.').to_lowercase();
    if tok.len() < 3 {
        return None;
    }
    let i = MONTHS.iter().position(|m| m.starts_with(&tok))?;
    u32::try_from(i + 1).ok()
}

/// `HH:MM` or `HH:MM:SS[.fff]`.
fn parse_hms(t: &str) -> Option<(u32, u32, u32)> {
    let mut it = t.split(':');
    let h: u32 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let s: u32 = match it.next() {
        Some(s) => s.split_once('.').map_or(s, |(i, _)| i).parse().ok()?,
        None => 0,
    };
    if it.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // A leap second is the last second of the minute here.
    Some((h, m, s.min(59)))
}

fn parse_iso(s: &str) -> Option<i64> {
    let (date, rest) = s.split_at_checked(10)?;
    let mut d = date.split('-');
    let (y, mo, da) = (d.next()?, d.next()?, d.next()?);
    if y.len() != 4 || mo.len() != 2 || da.len() != 2 {
        return None;
    }
    let (y, mo, da) = (y.parse().ok()?, mo.parse().ok()?, da.parse().ok()?);
    if rest.is_empty() {
        return civil_to_unix(y, mo, da, 0, 0, 0);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (time, offset_secs) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        (&rest[..i], parse_offset(&rest[i..])?)
    } else {
        (rest, 0)
    };
    let (h, m, sec) = parse_hms(time.trim_end())?;
    // 12:00+01:00 is 11:00 UTC.
    Some(civil_to_unix(y, mo, da, h, m, sec)? - offset_secs)
}

/// `+HH:MM`, `+HHMM` or `+HH` as seconds east of UTC.
fn parse_offset(s: &str) -> Option<i64> {
    let (sign, digits) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (i64, i64) = match digits.len() {
        2 => (digits.parse().ok()?, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        _ => return None,
    };
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

/// Unix seconds of a UTC civil time; `None` for a date that does not exist.
fn civil_to_unix(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<i64> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=9999).contains(&y) || d == 0 || d > days_in_month {
        return None;
    }
    // Days from 1970-01-01 (H. Hinnant's days_from_civil; March-based years put the leap
    // day last).
    let (m, d) = (i64::from(mo), i64::from(d));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s))
}

// ---- Matching keys ------------------------------------------------------------------

/// Where a featured artist starts in an artist field (already folded).
const ARTIST_CUTS: &[&str] = &[" feat.", " feat ", " ft.", " ft ", " featuring ", " with "];
/// Where a trailing featured artist starts in a title. Only the unmistakable forms:
/// "Six Ft Under" or "A Feat of Strength" are titles, not credits.
const TITLE_CUTS: &[&str] = &[" feat.", " ft.", " featuring "];
/// How a bracketed credit group starts: "(feat. X)", "[ft. X]", "(featuring X)".
const TITLE_GROUPS: &[&str] = &["feat.", "feat ", "ft.", "ft ", "featuring "];
const ARTIST_GROUPS: &[&str] = &["feat.", "feat ", "ft.", "ft ", "featuring ", "with "];

/// Accents off (NFKD without combining marks), lower case, the few Latin letters NFKD
/// leaves alone spelled out, "&" as "and", whitespace runs as one space.
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
    {
        match c {
            '&' => out.push_str(" and "),
            'ß' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            'þ' => out.push_str("th"),
            'ø' => out.push('o'),
            'đ' | 'ð' => out.push('d'),
            'ł' => out.push('l'),
            'ı' => out.push('i'),
            c => out.push(c),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Removes "(feat. X)"-style groups (round or square brackets) whose text starts with
/// one of `starts`; an unclosed one runs to the end.
fn strip_feat_groups(s: &str, starts: &[&str]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find(['(', '[']) {
        let close = if rest[open..].starts_with('(') {
            ')'
        } else {
            ']'
        };
        let inner_start = open + 1;
        let inner_end = rest[inner_start..].find(close).map(|i| inner_start + i);
        let inner = rest[inner_start..inner_end.unwrap_or(rest.len())].trim_start();
        if starts.iter().any(|p| inner.starts_with(p)) {
            out.push_str(&rest[..open]);
            out.push(' ');
            rest = inner_end.map_or("", |e| &rest[e + 1..]);
        } else {
            out.push_str(&rest[..inner_start]);
            rest = &rest[inner_start..];
        }
    }
    out.push_str(rest);
    out
}

fn cut_at_first<'a>(s: &'a str, cuts: &[&str]) -> &'a str {
    match cuts.iter().filter_map(|c| s.find(c)).min() {
        Some(i) => &s[..i],
        None => s,
    }
}

/// Letters and digits only: apostrophes vanish ("Don't" is "dont"), any other run of
/// punctuation or space is one space.
fn squash(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        } else if !matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '`' | '\u{2bc}') {
            gap = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(artist: &str, title: &str, album: Option<&str>, at: i64, dur: Option<f64>) -> Listen {
        Listen {
            artist: artist.to_owned(),
            title: title.to_owned(),
            album: album.map(str::to_owned),
            listened_at: at,
            duration_secs: dur,
        }
    }

    fn bad_lines(h: &ParsedHistory) -> Vec<usize> {
        h.bad.iter().map(|b| b.line).collect()
    }

    fn unknown_text(bytes: &[u8]) -> String {
        match parse_history(bytes) {
            Err(ImportError::UnknownFormat(s)) => s,
            other => panic!("expected UnknownFormat, got {other:?}"),
        }
    }

    #[test]
    fn listenbrainz_array() {
        let json = r#"[
          {"listened_at": 1700000000, "track_metadata": {"artist_name": "Björk", "track_name": "Jóga",
            "release_name": "Homogenic", "additional_info": {"duration_ms": 305000, "duration": 999}}},
          {"listened_at": 1700000300, "track_metadata": {"artist_name": "Sigur Rós", "track_name": "Hoppípolla"}},
          {"listened_at": 1700000600, "track_metadata": {"track_name": "No Artist"}},
          {"track_metadata": {"artist_name": "A", "track_name": "No Time"}},
          42,
          {"listened_at": "2023-11-14T22:13:20Z", "track_metadata": {"artist_name": "Air", "track_name": "Alpha Beta Gaga",
            "release_name": "", "additional_info": {"duration": 280}}},
          {"listened_at": -5, "track_metadata": {"artist_name": "A", "track_name": "B"}}
        ]"#;
        let h = parse_history(json.as_bytes()).expect("parses");
        assert_eq!(h.format, HistoryFormat::ListenBrainz);
        assert_eq!(
            h.listens,
            [
                listen(
                    "Björk",
                    "Jóga",
                    Some("Homogenic"),
                    1_700_000_000,
                    Some(305.0)
                ),
                listen("Sigur Rós", "Hoppípolla", None, 1_700_000_300, None),
                listen("Air", "Alpha Beta Gaga", None, 1_700_000_000, Some(280.0)),
            ]
        );
        assert_eq!(bad_lines(&h), [3, 4, 5, 7]);
        assert_eq!(h.bad[0].reason, "missing artist_name");
        assert_eq!(h.bad[1].reason, "missing listened_at");
        assert_eq!(h.bad[2].reason, "not a JSON object");
        assert!(
            h.bad[3].reason.contains("out of range"),
            "{}",
            h.bad[3].reason
        );
    }

    #[test]
    fn listenbrainz_truncated_array_keeps_what_came_before() {
        let json = br#"[{"listened_at": 1700000000, "track_metadata": {"artist_name": "A", "track_name": "B"}},
            {"listened_at": 17000"#;
        let h = parse_history(json).expect("parses");
        assert_eq!(h.listens.len(), 1);
        assert_eq!(bad_lines(&h), [2]);
        assert!(
            h.bad[0].reason.contains("invalid JSON"),
            "{}",
            h.bad[0].reason
        );
    }

    #[test]
    fn listenbrainz_json_lines() {
        let jsonl = b"\xEF\xBB\xBF{\"listened_at\": 1700000000, \"track_metadata\": {\"artist_name\": \"A\", \"track_name\": \"One\"}}\r\n\
            \n\
            {\"listened_at\": 1700000100, \"track_metadata\": {\"artist_name\": \"A\", \"track_name\": \"Two\", \"release_name\": \"R\"}}\n\
            {\"listened_at\": 1700000200, \"track_metadata\": {\"artist_name\": \"A\"\n\
            {\"listened_at\": 1700000300, \"track_metadata\": {\"artist_name\": \"\", \"track_name\": \"Four\"}}\n\
            {\"listened_at\": 1700000400, \"track_metadata\": {\"artist_name\": \"A\", \"track_name\": \"Five\"}}\n";
        let h = parse_history(jsonl).expect("parses");
        assert_eq!(h.format, HistoryFormat::ListenBrainz);
        let titles: Vec<&str> = h.listens.iter().map(|l| l.title.as_str()).collect();
        assert_eq!(titles, ["One", "Two", "Five"]);
        assert_eq!(h.listens[1].album.as_deref(), Some("R"));
        assert_eq!(bad_lines(&h), [4, 5]);
        assert!(h.bad[0].reason.starts_with("invalid JSON"));
        assert_eq!(h.bad[1].reason, "empty artist_name");
    }

    #[test]
    fn listenbrainz_json_lines_with_broken_first_line() {
        let jsonl = b"{\"listened_at\": 17\n\
            {\"listened_at\": 1700000400, \"track_metadata\": {\"artist_name\": \"A\", \"track_name\": \"B\"}}\n";
        let h = parse_history(jsonl).expect("parses");
        assert_eq!(h.listens.len(), 1);
        assert_eq!(bad_lines(&h), [1]);
    }

    #[test]
    fn listenbrainz_api_response() {
        let json = r#"{
          "payload": {
            "count": 3,
            "user_id": "someone",
            "listens": [
              {"listened_at": 1700000000, "track_metadata": {"artist_name": "A", "track_name": "B",
                "additional_info": {"duration_ms": "215000"}}},
              {"listened_at": 1700000100, "track_metadata": {"artist_name": "A"}},
              {"listened_at": 1700000200, "track_metadata": {"artist_name": "C", "track_name": "D"}}
            ],
            "latest_listen_ts": 1700000200
          }
        }"#;
        let h = parse_history(json.as_bytes()).expect("parses");
        assert_eq!(
            h.listens,
            [
                listen("A", "B", None, 1_700_000_000, Some(215.0)),
                listen("C", "D", None, 1_700_000_200, None),
            ]
        );
        assert_eq!(bad_lines(&h), [2]);
        assert_eq!(h.bad[0].reason, "missing track_name");

        let one_line = r#"{"payload": {"listens": []}}"#;
        let h = parse_history(one_line.as_bytes()).expect("parses");
        assert!(h.listens.is_empty() && h.bad.is_empty());
    }

    #[test]
    fn lastfm_headerless() {
        let csv = "Radiohead,OK Computer,Airbag,31 Jan 2021 12:34\n\
            \"Crosby, Stills & Nash\",\"Crosby, Stills & Nash\",\"Suite: Judy Blue Eyes\",\"31 Jan 2021 12:40\"\n\
            Radiohead,OK Computer,Paranoid Android,not a date\n\
            ,No Artist,Title,31 Jan 2021 12:50\n\
            Too,Few,Fields\n\
            \"Multi\nLine\",Album,Song,\"01 Feb 2021, 00:00\"\n\
            Air,,Alpha Beta Gaga,29 Feb 2020 00:00\n\
            Air,,Leap,30 Feb 2020 00:00\n";
        let h = parse_history(csv.as_bytes()).expect("parses");
        assert_eq!(h.format, HistoryFormat::LastFm);
        assert_eq!(
            h.listens,
            [
                listen(
                    "Radiohead",
                    "Airbag",
                    Some("OK Computer"),
                    1_612_096_440,
                    None
                ),
                listen(
                    "Crosby, Stills & Nash",
                    "Suite: Judy Blue Eyes",
                    Some("Crosby, Stills & Nash"),
                    1_612_096_800,
                    None
                ),
                listen("Multi\nLine", "Song", Some("Album"), 1_612_137_600, None),
                listen("Air", "Alpha Beta Gaga", None, 1_582_934_400, None),
            ]
        );
        assert_eq!(bad_lines(&h), [3, 4, 5, 9]);
        assert_eq!(h.bad[0].reason, "unparsable date \"not a date\"");
        assert_eq!(h.bad[1].reason, "empty artist");
        assert!(h.bad[2].reason.starts_with("expected 4 fields"));
    }

    #[test]
    fn lastfm_with_header() {
        let csv = "uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid\n\
            1612096440,\"31 Jan 2021, 12:34\",Radiohead,,OK Computer,,Airbag,\n\
            ,\"31 Jan 2021, 12:40\",\"Crosby, Stills & Nash\",,,,\"Helplessly Hoping\",\n\
            ,,NoDate,,,,Song,\n\
            1612096999,,Artist,,,,,\n\
            1612097000,,Short row\n\
            bogus,,Artist,,,,Song,\n";
        let h = parse_history(csv.as_bytes()).expect("parses");
        assert_eq!(h.format, HistoryFormat::LastFm);
        assert_eq!(
            h.listens,
            [
                listen(
                    "Radiohead",
                    "Airbag",
                    Some("OK Computer"),
                    1_612_096_440,
                    None
                ),
                listen(
                    "Crosby, Stills & Nash",
                    "Helplessly Hoping",
                    None,
                    1_612_096_800,
                    None
                ),
            ]
        );
        assert_eq!(bad_lines(&h), [4, 5, 6, 7]);
        assert_eq!(h.bad[0].reason, "no date");
        assert_eq!(h.bad[1].reason, "empty title");
        assert_eq!(h.bad[2].reason, "empty title");
        assert_eq!(h.bad[3].reason, "unparsable uts \"bogus\"");

        let titled = "Artist,Title,Album,Date\nAir,Sexy Boy,Moon Safari,2021-01-31 12:34:00\n";
        let h = parse_history(titled.as_bytes()).expect("parses");
        assert_eq!(
            h.listens,
            [listen(
                "Air",
                "Sexy Boy",
                Some("Moon Safari"),
                1_612_096_440,
                None
            )]
        );
    }

    #[test]
    fn unknown_formats_are_errors() {
        assert!(unknown_text(b"").contains("empty"));
        assert!(unknown_text(b"  \n").contains("empty"));
        let text = unknown_text(b"hello world\nthis is not a history\n");
        assert!(text.contains("expected a ListenBrainz export"), "{text}");
        assert!(unknown_text(b"artist,song\nA,B\n").contains("uts or date"));
        assert!(unknown_text(br#"{"something": "else"}"#).contains("payload"));
        assert!(unknown_text(b"{\n  \"pretty\": true\n}\n").contains("payload"));
        assert!(unknown_text(b"[1, 2, 3]").contains("item 1"));
        assert!(unknown_text(b"\x00\x01\x02binary").contains("expected"));
        // An empty export is a history with nothing in it.
        let h = parse_history(b"[]").expect("empty array");
        assert!(h.listens.is_empty() && h.bad.is_empty());
    }

    #[test]
    fn read_history_limits_and_io() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let big = tmp.path().join("big.json");
        // Sparse: the size is what counts, not the bytes on disk.
        let f = std::fs::File::create(&big).expect("create");
        f.set_len(MAX_HISTORY_BYTES + 1).expect("set_len");
        assert!(matches!(
            read_history(&big),
            Err(ImportError::TooLarge { bytes, .. }) if bytes == MAX_HISTORY_BYTES + 1
        ));
        assert!(matches!(
            read_history(&tmp.path().join("absent.json")),
            Err(ImportError::Io { .. })
        ));
        let ok = tmp.path().join("scrobbles.csv");
        std::fs::write(&ok, "A,Al,T,31 Jan 2021 12:34\n").expect("write");
        let h = read_history(&ok).expect("reads");
        assert_eq!(h.listens.len(), 1);
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("31 Jan 2021 12:34"), Some(1_612_096_440));
        assert_eq!(
            parse_date("31 January 2021, 12:34:00 UTC"),
            Some(1_612_096_440)
        );
        assert_eq!(parse_date("2021-01-31T12:34:00Z"), Some(1_612_096_440));
        assert_eq!(parse_date("2021-01-31T13:34:00+01:00"), Some(1_612_096_440));
        assert_eq!(
            parse_date("2021-01-31 07:34:00.250-0500"),
            Some(1_612_096_440)
        );
        assert_eq!(parse_date("1612096440"), Some(1_612_096_440));
        assert_eq!(parse_date("01 Jan 1970 00:00"), Some(0));
        assert_eq!(parse_date("31 Feb 2021 12:00"), None);
        assert_eq!(parse_date("31 Foo 2021 12:00"), None);
        assert_eq!(parse_date("31 Jan 2021 25:00"), None);
        assert_eq!(parse_date(""), None);
    }

    fn same(a: (&str, &str), b: (&str, &str)) -> bool {
        match_key(a.0, a.1) == match_key(b.0, b.1)
    }

    #[test]
    fn match_key_ignores_case_accents_and_credits() {
        // Case and accents.
        assert!(same(("BEYONCÉ", "Halo"), ("beyonce", "halo")));
        assert!(same(
            ("Sigur Rós", "Hoppípolla"),
            ("sigur ros", "hoppipolla")
        ));
        assert!(same(("Mø", "Final Song"), ("MO", "final song")));
        // Featured artists in the artist field.
        for artist in [
            "Calvin Harris feat. Rihanna",
            "Calvin Harris ft. Rihanna",
            "Calvin Harris ft Rihanna",
            "Calvin Harris featuring Rihanna",
            "Calvin Harris with Rihanna",
            "Calvin Harris (feat. Rihanna)",
        ] {
            assert!(
                same((artist, "Summer"), ("Calvin Harris", "Summer")),
                "{artist}"
            );
        }
        // ...and in the title.
        for title in [
            "We Found Love (feat. Calvin Harris)",
            "We Found Love [ft. Calvin Harris]",
            "We Found Love (featuring Calvin Harris)",
            "We Found Love feat. Calvin Harris",
            "We Found Love (Feat. Calvin Harris",
        ] {
            assert!(
                same(("Rihanna", title), ("Rihanna", "We Found Love")),
                "{title}"
            );
        }
        // A non-credit group stays.
        assert!(same(("A", "Song (Live) [feat. B]"), ("a", "song (live)")));
        // "&" and "and".
        assert!(same(
            ("Simon & Garfunkel", "The Boxer"),
            ("Simon and Garfunkel", "The Boxer")
        ));
        assert!(same(("A", "Rock&Roll"), ("a", "rock and roll")));
        // Punctuation and whitespace.
        assert!(same(
            ("  Queen ", "Don't   Stop -- Me Now!!!"),
            ("queen", "dont stop me now")
        ));
        assert!(same(("AC/DC", "T.N.T."), ("ac dc", "t n t")));
        assert_eq!(
            match_key("The  Artist", "A  Title!"),
            "the artist\u{1f}a title"
        );
    }

    #[test]
    fn match_key_keeps_different_songs_apart() {
        assert!(!same(("Radiohead", "Airbag"), ("Radiohead", "Creep")));
        assert!(!same(
            ("Radiohead", "Creep"),
            ("Radiohead", "Creep (Acoustic)")
        ));
        assert!(!same(("Beyoncé", "Halo"), ("Beyoncé", "Hello")));
        assert!(!same(("Six Feet", "Song"), ("Six", "Song")));
        assert!(!same(("Band", "Six Ft Under"), ("Band", "Six")));
        // The separator keeps artist and title apart.
        assert!(!same(("A B", "C"), ("A", "B C")));
    }
}
