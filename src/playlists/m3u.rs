//! M3U8 export and M3U/M3U8 import.
//!
//! Export writes `#EXTM3U` with one `#EXTINF` per track. A track under the playlist's
//! folder is written relative to it (so a music folder moves with its playlists), any
//! other absolutely; a path that is not UTF-8 goes as a percent-encoded `file://` URI so
//! the file stays valid UTF-8 (mpv and VLC read those). Import takes what other players
//! write: BOM or not, CRLF, no header, Latin-1 lines, `file://` URIs, and stream URLs
//! (kept as entries that do not exist; nothing is fetched).

use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::atomic::{write_atomic, WriteError};

/// Largest playlist file read: far beyond any real playlist, small enough to hold in memory.
pub const MAX_PLAYLIST_BYTES: u64 = 16 * 1024 * 1024;
/// Entries kept from one playlist file; later ones are ignored.
pub const MAX_ENTRIES: usize = 100_000;

/// Bytes left as they are in a `file://` URI path: RFC 3986 unreserved characters and `/`.
const URI_PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One entry of a playlist file.
#[derive(Debug, Clone, PartialEq)]
pub struct M3uEntry {
    /// Absolute (a relative path is taken relative to the playlist's folder).
    pub path: PathBuf,
    pub duration_secs: Option<f64>,
    /// May be empty.
    pub artist: String,
    /// May be empty.
    pub title: String,
}

/// Playlist file errors, by meaning.
#[derive(Debug, thiserror::Error)]
pub enum M3uError {
    /// Reading the playlist, or writing, syncing or renaming its new version, failed.
    #[error("playlist file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is bigger than any playlist should be; it is not read.
    #[error("playlist file {} is {bytes} bytes, over the {limit}-byte limit", path.display())]
    TooLarge {
        path: PathBuf,
        bytes: u64,
        limit: u64,
    },
    /// The path to write to names a folder or root, not a file.
    #[error("playlist path {} does not name a file", path.display())]
    NotAFile { path: PathBuf },
}

impl From<WriteError> for M3uError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Io { path, source } => M3uError::Io { path, source },
            WriteError::NotAFile { path } => M3uError::NotAFile { path },
        }
    }
}

/// A playlist file as read.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedM3u {
    /// In file order, at most [`MAX_ENTRIES`].
    pub entries: Vec<ImportedEntry>,
}

/// One entry of a playlist file as read.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedEntry {
    /// 1-based line of the path.
    pub line: usize,
    /// Resolved: relative paths against the playlist file's folder, `..` removed lexically,
    /// `file://` URIs decoded. Other URLs (`http://`...) as written.
    pub path: PathBuf,
    /// From a preceding `#EXTINF`, else `None` / empty.
    pub duration_secs: Option<f64>,
    pub artist: String,
    pub title: String,
    /// `path.is_file()` at read time; always false for URLs.
    pub exists: bool,
}

/// Renders an M3U8 playlist that will live at `playlist_path`.
pub fn render_m3u8(playlist_path: &Path, entries: &[M3uEntry]) -> Vec<u8> {
    let dir = playlist_dir(playlist_path);
    let mut out = String::with_capacity(16 + entries.len() * 96);
    out.push_str("#EXTM3U\n");
    for e in entries {
        out.push_str("#EXTINF:");
        out.push_str(&render_duration(e.duration_secs));
        out.push(',');
        out.push_str(&render_display(&e.artist, &e.title));
        out.push('\n');
        out.push_str(&render_path(&dir, &e.path));
        out.push('\n');
    }
    out.into_bytes()
}

/// Writes it atomically (temp file in the same folder, fsync, rename), so a crash never
/// leaves half a file.
pub fn write_m3u8(playlist_path: &Path, entries: &[M3uEntry]) -> Result<(), M3uError> {
    let bytes = render_m3u8(playlist_path, entries);
    Ok(write_atomic(playlist_path, &bytes)?)
}

/// Reads and parses a playlist file (at most [`MAX_PLAYLIST_BYTES`]).
pub fn read_m3u(playlist_path: &Path) -> Result<ParsedM3u, M3uError> {
    let bytes = read_limited(playlist_path, MAX_PLAYLIST_BYTES)?;
    Ok(parse_m3u(playlist_path, &bytes))
}

/// Parses the bytes of the playlist file at `playlist_path` (which resolves relative
/// entries; `exists` is checked on the file system).
pub fn parse_m3u(playlist_path: &Path, bytes: &[u8]) -> ParsedM3u {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let dir = playlist_dir(playlist_path);
    let mut entries = Vec::new();
    let mut pending: Option<ExtInf> = None;
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        if entries.len() >= MAX_ENTRIES {
            break;
        }
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = raw.trim_ascii();
        if text.is_empty() {
            continue;
        }
        if text[0] == b'#' {
            // Trailing spaces are kept: "Artist - " means an empty title.
            if let Some(info) = parse_extinf(raw.trim_ascii_start()) {
                pending = Some(info);
            }
            continue;
        }
        let info = pending.take().unwrap_or_default();
        let (path, exists) = resolve(&dir, text);
        entries.push(ImportedEntry {
            line: i + 1,
            path,
            duration_secs: info.duration_secs,
            artist: info.artist,
            title: info.title,
            exists,
        });
    }
    ParsedM3u { entries }
}

fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, M3uError> {
    let io = |source| M3uError::Io {
        path: path.to_path_buf(),
        source,
    };
    let too_large = |bytes| M3uError::TooLarge {
        path: path.to_path_buf(),
        bytes,
        limit,
    };
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > limit {
        return Err(too_large(len));
    }
    let mut buf = Vec::with_capacity(len as usize);
    // The length can lie (a file growing, a pipe): never read past the limit.
    file.take(limit + 1).read_to_end(&mut buf).map_err(io)?;
    if buf.len() as u64 > limit {
        return Err(too_large(buf.len() as u64));
    }
    Ok(buf)
}

/// The absolute, lexically normalised folder of the playlist.
fn playlist_dir(playlist_path: &Path) -> PathBuf {
    let abs = std::path::absolute(playlist_path).unwrap_or_else(|_| playlist_path.to_path_buf());
    let abs = normalize_lexically(&abs);
    match abs.parent() {
        Some(p) => p.to_path_buf(),
        None => abs,
    }
}

/// Removes `.` and resolves `..` against the preceding component, without touching the
/// file system (a playlist names files that may not exist here).
fn normalize_lexically(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => out.push(c.as_os_str()),
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                // "/.." is "/".
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            Component::Normal(n) => out.push(n),
        }
    }
    out
}

fn render_duration(d: Option<f64>) -> String {
    match d {
        Some(d) if d.is_finite() && d >= 0.0 => format!("{}", d.round() as i64),
        _ => "-1".to_owned(),
    }
}

/// One line of text: a newline in a tag would start a line read as a path.
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ").trim().to_owned()
}

fn render_display(artist: &str, title: &str) -> String {
    let (artist, title) = (one_line(artist), one_line(title));
    if !artist.is_empty() {
        format!("{artist} - {title}")
    } else if title.contains(" - ") {
        // Readers split on the first " - "; a leading one keeps the whole title a title.
        format!(" - {title}")
    } else {
        title
    }
}

/// The text of a track's path line: relative under the playlist's folder, else absolute,
/// as a `file://` URI where the plain form would not read back the same.
fn render_path(dir: &Path, track: &Path) -> String {
    let track = normalize_lexically(&dir.join(track));
    let shown = match track.strip_prefix(dir) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel,
        _ => track.as_path(),
    };
    match shown.to_str() {
        Some(s) if reads_back_plain(s) => s.to_owned(),
        _ => file_uri(&track),
    }
}

/// `path` (absolute) as a `file://` URI, every byte but RFC 3986's unreserved ones and `/`
/// percent-encoded (so names that are not UTF-8 survive too).
pub fn file_uri(path: &Path) -> String {
    format!(
        "file://{}",
        percent_encode(path.as_os_str().as_bytes(), URI_PATH)
    )
}

/// Whether `s` on a line of its own is read back by [`parse_m3u`] as that same path.
fn reads_back_plain(s: &str) -> bool {
    !s.is_empty()
        && !s.contains(['\n', '\r'])
        && !s.starts_with('#')
        && s.trim_ascii() == s
        && uri_scheme(s.as_bytes()).is_none()
}

/// The scheme of a URI line: `xyz://...`, or `file:` in any form. Two letters at least, so
/// that nothing like a drive letter counts.
fn uri_scheme(text: &[u8]) -> Option<&[u8]> {
    let colon = text.iter().position(|&b| b == b':')?;
    let scheme = &text[..colon];
    let valid = scheme.len() >= 2
        && scheme[0].is_ascii_alphabetic()
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let is_uri = text[colon + 1..].starts_with(b"//") || scheme.eq_ignore_ascii_case(b"file");
    (valid && is_uri).then_some(scheme)
}

/// The local path of a `file:` URI (`file:///p`, `file://localhost/p`, `file:/p`), percent-
/// decoded to raw bytes; `None` for another host or no path.
fn file_uri_path(text: &[u8]) -> Option<PathBuf> {
    let rest = text.get(5..)?;
    let path = if let Some(after) = rest.strip_prefix(b"//") {
        let slash = after.iter().position(|&b| b == b'/')?;
        let host = &after[..slash];
        if !host.is_empty() && !host.eq_ignore_ascii_case(b"localhost") {
            return None;
        }
        &after[slash..]
    } else if rest.starts_with(b"/") {
        rest
    } else {
        return None;
    };
    let bytes: Vec<u8> = percent_decode(path).collect();
    Some(PathBuf::from(OsStr::from_bytes(&bytes)))
}

/// Path and existence of one path line.
fn resolve(dir: &Path, text: &[u8]) -> (PathBuf, bool) {
    let as_written = || PathBuf::from(OsStr::from_bytes(text));
    let local = match uri_scheme(text) {
        Some(s) if s.eq_ignore_ascii_case(b"file") => file_uri_path(text),
        Some(_) => None,
        None => Some(dir.join(OsStr::from_bytes(text))),
    };
    match local {
        Some(p) => {
            let p = normalize_lexically(&p);
            let exists = p.is_file();
            (p, exists)
        }
        // A stream or remote file: listed, never fetched.
        None => (as_written(), false),
    }
}

/// What an `#EXTINF` line says.
#[derive(Debug, Default)]
struct ExtInf {
    duration_secs: Option<f64>,
    artist: String,
    title: String,
}

/// `#EXTINF:<secs>[ attrs],<artist> - <title>`; `None` for any other `#` line.
fn parse_extinf(line: &[u8]) -> Option<ExtInf> {
    const TAG: &[u8] = b"#EXTINF:";
    if line.len() < TAG.len() || !line[..TAG.len()].eq_ignore_ascii_case(TAG) {
        return None;
    }
    let rest = &line[TAG.len()..];
    // Old files are Latin-1, where each byte is the code point of the same number.
    let rest: String = match std::str::from_utf8(rest) {
        Ok(s) => s.to_owned(),
        Err(_) => rest.iter().map(|&b| char::from(b)).collect(),
    };
    let (params, display) = match split_params(&rest) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest.as_str(), ""),
    };
    let duration_secs = params
        .split_whitespace()
        .next()
        .and_then(|d| d.parse::<f64>().ok())
        .filter(|d| d.is_finite() && *d >= 0.0);
    let (artist, title) = match display.split_once(" - ") {
        Some((a, t)) => (a.trim(), t.trim()),
        None => ("", display.trim()),
    };
    Some(ExtInf {
        duration_secs,
        artist: artist.to_owned(),
        title: title.to_owned(),
    })
}

/// Byte index of the comma ending the duration and attributes: the first one outside
/// quotes (`tvg-name="a, b"` holds commas), else the first one at all.
fn split_params(s: &str) -> Option<usize> {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => return Some(i),
            _ => {}
        }
    }
    s.find(',')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn entry(path: PathBuf, secs: Option<f64>, artist: &str, title: &str) -> M3uEntry {
        M3uEntry {
            path,
            duration_secs: secs,
            artist: artist.to_owned(),
            title: title.to_owned(),
        }
    }

    fn touch(p: &Path) {
        fs::create_dir_all(p.parent().expect("has a parent")).expect("mkdir");
        fs::write(p, b"x").expect("write");
    }

    fn text_lines(bytes: &[u8]) -> Vec<String> {
        std::str::from_utf8(bytes)
            .expect("output is UTF-8")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn round_trip_relative_absolute_unicode_and_non_utf8() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        let music = root.join("music");
        let playlist = music.join("mix.m3u8");
        let spaced = music.join("sub/a b.mp3");
        let bjork = music.join("Björk – Jóga.flac");
        let tokyo = music.join("東京.mp3");
        let latin = music.join(OsStr::from_bytes(b"caf\xe9.mp3"));
        let outside = root.join("elsewhere/Outside Track.ogg");
        for p in [&spaced, &bjork, &tokyo, &latin, &outside] {
            touch(p);
        }
        let entries = vec![
            entry(spaced.clone(), Some(215.0), "Some Artist", "A B"),
            entry(bjork.clone(), Some(305.0), "Björk", "Jóga"),
            entry(tokyo.clone(), None, "", "東京"),
            entry(latin.clone(), Some(61.0), "Café", "Crème, brûlée"),
            entry(outside.clone(), Some(1.0), "Far", "Away"),
        ];
        write_m3u8(&playlist, &entries).expect("write");

        let bytes = fs::read(&playlist).expect("read back");
        let lines = text_lines(&bytes);
        let latin_uri = format!(
            "file://{}/caf%E9.mp3",
            percent_encode(music.as_os_str().as_bytes(), URI_PATH)
        );
        let outside_text = outside.to_str().expect("tempdir is UTF-8").to_owned();
        let expected = [
            "#EXTM3U",
            "#EXTINF:215,Some Artist - A B",
            "sub/a b.mp3",
            "#EXTINF:305,Björk - Jóga",
            "Björk – Jóga.flac",
            "#EXTINF:-1,東京",
            "東京.mp3",
            "#EXTINF:61,Café - Crème, brûlée",
            latin_uri.as_str(),
            "#EXTINF:1,Far - Away",
            outside_text.as_str(),
        ];
        assert_eq!(lines, expected);
        assert!(bytes.ends_with(b"\n") && !bytes.contains(&b'\r'));

        let parsed = read_m3u(&playlist).expect("parse");
        assert_eq!(parsed.entries.len(), entries.len());
        for (got, want) in parsed.entries.iter().zip(&entries) {
            assert_eq!(got.path, want.path);
            assert_eq!(got.duration_secs, want.duration_secs);
            assert_eq!(got.artist, want.artist);
            assert_eq!(got.title, want.title);
            assert!(got.exists, "{}", got.path.display());
        }
        let lines: Vec<usize> = parsed.entries.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 5, 7, 9, 11]);
    }

    #[test]
    fn render_rounds_and_sanitises_tags() {
        let dir = Path::new("/music");
        let entries = [
            entry(PathBuf::from("/music/x.mp3"), Some(215.6), "A\nB", "T\r\nU"),
            entry(
                PathBuf::from("/music/y.mp3"),
                Some(f64::NAN),
                "",
                "Only - Title",
            ),
            entry(PathBuf::from("/music/#1.mp3"), Some(-3.0), "Art", ""),
        ];
        let bytes = render_m3u8(&dir.join("p.m3u8"), &entries);
        assert_eq!(
            text_lines(&bytes),
            [
                "#EXTM3U",
                "#EXTINF:216,A B - T  U",
                "x.mp3",
                "#EXTINF:-1, - Only - Title",
                "y.mp3",
                "#EXTINF:-1,Art - ",
                "file:///music/%231.mp3",
            ]
        );
        // The awkward ones read back as written.
        let parsed = parse_m3u(&dir.join("p.m3u8"), &bytes);
        assert_eq!(parsed.entries[1].artist, "");
        assert_eq!(parsed.entries[1].title, "Only - Title");
        assert_eq!(parsed.entries[2].artist, "Art");
        assert_eq!(parsed.entries[2].title, "");
        assert_eq!(parsed.entries[2].path, PathBuf::from("/music/#1.mp3"));
    }

    #[test]
    fn missing_file_is_listed_not_existing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let playlist = tmp.path().join("p.m3u");
        fs::write(&playlist, b"#EXTM3U\n#EXTINF:10,A - B\ngone.mp3\n").expect("write");
        let parsed = read_m3u(&playlist).expect("parse");
        assert_eq!(parsed.entries.len(), 1);
        assert_eq!(parsed.entries[0].path, tmp.path().join("gone.mp3"));
        assert!(!parsed.entries[0].exists);
        assert_eq!(parsed.entries[0].duration_secs, Some(10.0));
    }

    #[test]
    fn crlf_with_bom() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let track = tmp.path().join("Sigur Rós.flac");
        touch(&track);
        let playlist = tmp.path().join("p.m3u8");
        let bytes = b"\xEF\xBB\xBF#EXTM3U\r\n#EXTINF:200,Sigur R\xC3\xB3s - Hoppip\xC3\xB3lla\r\nSigur R\xC3\xB3s.flac\r\n";
        fs::write(&playlist, bytes).expect("write");
        let parsed = read_m3u(&playlist).expect("parse");
        assert_eq!(
            parsed.entries,
            [ImportedEntry {
                line: 3,
                path: track,
                duration_secs: Some(200.0),
                artist: "Sigur Rós".to_owned(),
                title: "Hoppipólla".to_owned(),
                exists: true,
            }]
        );
    }

    #[test]
    fn plain_m3u_without_extinf() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("lists");
        let a = dir.join("a.mp3");
        let b = tmp.path().join("b.mp3");
        touch(&a);
        touch(&b);
        let text = format!("a.mp3\n\n   \n../b.mp3\n./sub/../a.mp3\n{}\n", b.display());
        let parsed = parse_m3u(&dir.join("old.m3u"), text.as_bytes());
        let got: Vec<(usize, &Path, bool)> = parsed
            .entries
            .iter()
            .map(|e| (e.line, e.path.as_path(), e.exists))
            .collect();
        assert_eq!(
            got,
            [
                (1, a.as_path(), true),
                (4, b.as_path(), true),
                (5, a.as_path(), true),
                (6, b.as_path(), true)
            ]
        );
        assert!(parsed
            .entries
            .iter()
            .all(|e| e.duration_secs.is_none() && e.artist.is_empty() && e.title.is_empty()));
    }

    #[test]
    fn extinf_with_attributes_and_other_tags() {
        let text = "#EXTM3U x-tvg-url=\"u\"\n\
                    #EXTINF:-1 tvg-id=\"x\" tvg-name=\"a, b\" group-title=\"G\",Artist - Title - Live\n\
                    #EXTGRP:ignored\n\
                    /m/a.mp3\n\
                    #EXTINF:12.5,No Artist Here\n\
                    /m/b.mp3\n\
                    /m/c.mp3\n";
        let parsed = parse_m3u(Path::new("/m/p.m3u8"), text.as_bytes());
        let e = &parsed.entries;
        assert_eq!(e.len(), 3);
        assert_eq!((e[0].duration_secs, e[0].artist.as_str()), (None, "Artist"));
        assert_eq!(e[0].title, "Title - Live");
        assert_eq!(e[0].line, 4);
        assert_eq!((e[1].duration_secs, e[1].artist.as_str()), (Some(12.5), ""));
        assert_eq!(e[1].title, "No Artist Here");
        // An #EXTINF describes only the next path.
        assert_eq!((e[2].duration_secs, e[2].title.as_str()), (None, ""));
    }

    #[test]
    fn latin1_lines_are_raw_path_bytes() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let track = tmp.path().join(OsStr::from_bytes(b"Sigur R\xf3s.mp3"));
        touch(&track);
        let playlist = tmp.path().join("old.m3u");
        fs::write(
            &playlist,
            b"#EXTINF:100,Sigur R\xf3s - Glos\xf3li\nSigur R\xf3s.mp3\n",
        )
        .expect("write");
        let parsed = read_m3u(&playlist).expect("parse");
        assert_eq!(parsed.entries.len(), 1);
        assert_eq!(parsed.entries[0].path, track);
        assert!(parsed.entries[0].exists);
        assert_eq!(parsed.entries[0].artist, "Sigur Rós");
        assert_eq!(parsed.entries[0].title, "Glosóli");
    }

    #[test]
    fn file_uris_are_decoded() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let track = tmp.path().join("a b/ü.mp3");
        touch(&track);
        let enc = percent_encode(track.as_os_str().as_bytes(), URI_PATH).to_string();
        let text =
            format!("file://{enc}\nFILE://localhost{enc}\nfile:{enc}\nfile://server/share/x.mp3\n");
        let parsed = parse_m3u(&tmp.path().join("p.m3u8"), text.as_bytes());
        let e = &parsed.entries;
        assert_eq!(e.len(), 4);
        for local in &e[..3] {
            assert_eq!(local.path, track);
            assert!(local.exists);
        }
        // Another host is not a local file.
        assert_eq!(e[3].path, PathBuf::from("file://server/share/x.mp3"));
        assert!(!e[3].exists);
    }

    #[test]
    fn urls_are_kept_and_not_fetched() {
        let text = "#EXTINF:-1,Radio - Stream\nhttp://example.invalid/live.mp3\nhttps://example.invalid/a%20b.ogg?x=1\nrtsp://h/s\n";
        let parsed = parse_m3u(Path::new("/m/p.m3u"), text.as_bytes());
        let got: Vec<(&Path, bool)> = parsed
            .entries
            .iter()
            .map(|e| (e.path.as_path(), e.exists))
            .collect();
        assert_eq!(
            got,
            [
                (Path::new("http://example.invalid/live.mp3"), false),
                (Path::new("https://example.invalid/a%20b.ogg?x=1"), false),
                (Path::new("rtsp://h/s"), false),
            ]
        );
        assert_eq!(parsed.entries[0].artist, "Radio");
    }

    #[test]
    fn refuses_oversized_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let playlist = tmp.path().join("huge.m3u");
        // Sparse: the size is what counts, not the bytes on disk.
        let f = File::create(&playlist).expect("create");
        f.set_len(MAX_PLAYLIST_BYTES + 1).expect("set_len");
        match read_m3u(&playlist) {
            Err(M3uError::TooLarge { bytes, limit, .. }) => {
                assert_eq!((bytes, limit), (MAX_PLAYLIST_BYTES + 1, MAX_PLAYLIST_BYTES));
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
        assert!(matches!(
            read_m3u(&tmp.path().join("absent.m3u")),
            Err(M3uError::Io { .. })
        ));
    }

    #[test]
    fn stops_after_max_entries() {
        let text = "/m/a.mp3\n".repeat(MAX_ENTRIES + 5);
        let parsed = parse_m3u(Path::new("/m/p.m3u"), text.as_bytes());
        assert_eq!(parsed.entries.len(), MAX_ENTRIES);
    }

    #[test]
    fn write_replaces_and_keeps_mode() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let playlist = tmp.path().join("p.m3u8");
        fs::write(&playlist, b"old").expect("write");
        fs::set_permissions(&playlist, fs::Permissions::from_mode(0o640)).expect("chmod");
        write_m3u8(&playlist, &[]).expect("write");
        assert_eq!(fs::read(&playlist).expect("read"), b"#EXTM3U\n");
        let mode = fs::metadata(&playlist).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
        // No temp file left behind.
        let names: Vec<_> = fs::read_dir(tmp.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, [OsString::from("p.m3u8")]);
        assert!(matches!(
            write_m3u8(Path::new("/"), &[]),
            Err(M3uError::NotAFile { .. })
        ));
    }
}
