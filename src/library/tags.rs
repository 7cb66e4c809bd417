//! Tag reading with symphonia, with a file-name fallback when a file carries none.

use std::path::Path;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::formats::FormatReader;
use symphonia::core::meta::{MetadataRevision, StandardTag};

use crate::audio::gain::{parse_gain_tag, parse_peak_tag, Gain, TrackGain};
use crate::audio::{audio_params, probe, sym_err, track_info, AudioError};

/// What we know about a file before analysing it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct TrackTags {
    pub title: Option<String>,
    pub artist: Option<String>,
    pub album: Option<String>,
    pub album_artist: Option<String>,
    pub track_no: Option<u32>,
    pub year: Option<i32>,
    pub genre: Option<String>,
    pub duration_secs: Option<f64>,
    pub codec: Option<String>,
    pub sample_rate: Option<u32>,
    pub channels: Option<u16>,
    /// The file's ReplayGain tags (REPLAYGAIN_TRACK_GAIN and friends), if any.
    pub replaygain: TrackGain,
}

/// Opens the container, reads its tags and stream header, and decodes the first audio packet,
/// so a file that cannot be played is caught at scan time, not when the user presses play.
pub fn read_tags(path: &Path) -> Result<TrackTags, AudioError> {
    crate::audio::contain("tag reader", || read_tags_unguarded(path))
}

fn read_tags_unguarded(path: &Path) -> Result<TrackTags, AudioError> {
    let mut format = probe(path)?;
    let (track_id, info) = track_info(format.as_ref())?;
    let mut tags = TrackTags {
        duration_secs: info.duration_secs,
        codec: Some(info.codec),
        sample_rate: Some(info.sample_rate),
        channels: Some(info.channels),
        ..Default::default()
    };
    // Every revision may add tags (e.g. ID3v2 before an MP3 stream and Xing inside it); the
    // first value seen for a field wins.
    let mut meta = format.metadata();
    while let Some(rev) = meta.pop() {
        apply_revision(&mut tags, &rev);
    }
    if let Some(rev) = meta.current() {
        apply_revision(&mut tags, rev);
    }
    check_first_packet(format.as_mut(), track_id)?;
    if tags.title.is_none() && is_wav(path) {
        apply_riff_info(&mut tags, path);
    }
    fill_from_file_name(&mut tags, path);
    Ok(tags)
}

fn is_wav(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("wav"))
}

/// symphonia 0.6.1's WAV reader parses LIST/INFO but drops the result: in
/// symphonia-format-riff 0.6.1, `WavReader::try_new` (src/wave/mod.rs) pushes each INFO chunk
/// into a local `MetadataLog` (line 136), then builds the reader with
/// `metadata: opts.external_data.metadata.unwrap_or_default()` (line 173), so `metadata()`
/// never shows them. WAV tags are therefore read here: walk the RIFF chunks (headers only,
/// skipping the audio data) and map the INFO keys. Drop this when symphonia keeps them.
fn apply_riff_info(tags: &mut TrackTags, path: &Path) {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return;
    };
    let mut head = [0u8; 12];
    if f.read_exact(&mut head).is_err() || &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return;
    }
    let mut hdr = [0u8; 8];
    // A bounded number of chunks: a corrupt file cannot spin here.
    for _ in 0..64 {
        if f.read_exact(&mut hdr).is_err() {
            return;
        }
        let len = u32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]) as u64;
        let padded = len + (len & 1);
        if &hdr[0..4] != b"LIST" || !(4..=1 << 20).contains(&len) {
            if f.seek(SeekFrom::Current(padded as i64)).is_err() {
                return;
            }
            continue;
        }
        let mut body = vec![0u8; len as usize];
        if f.read_exact(&mut body).is_err() {
            return;
        }
        if &body[0..4] == b"INFO" {
            parse_info(tags, &body[4..]);
        }
        if len & 1 == 1 && f.seek(SeekFrom::Current(1)).is_err() {
            return;
        }
    }
}

fn parse_info(tags: &mut TrackTags, mut b: &[u8]) {
    while b.len() >= 8 {
        let key = [b[0], b[1], b[2], b[3]];
        let len = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
        let Some(val) = b.get(8..8 + len) else { return };
        let v = String::from_utf8_lossy(val);
        match &key {
            b"INAM" => set(&mut tags.title, &v),
            b"IART" => set(&mut tags.artist, &v),
            b"IPRD" => set(&mut tags.album, &v),
            b"IGNR" => set(&mut tags.genre, &v),
            b"ICRD" if tags.year.is_none() => tags.year = parse_year(&v),
            b"ITRK" | b"IPRT" if tags.track_no.is_none() => {
                tags.track_no = v
                    .trim()
                    .trim_matches('\0')
                    .split('/')
                    .next()
                    .and_then(|n| n.trim().parse().ok());
            }
            _ => {}
        }
        b = &b[(8 + len + (len & 1)).min(b.len())..];
    }
}

/// A few packets is enough to tell a real stream from garbage behind a valid header.
fn check_first_packet(format: &mut dyn FormatReader, track_id: u32) -> Result<(), AudioError> {
    let params = audio_params(format, track_id)?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| AudioError::Unsupported(format!("codec: {e}")))?;
    let mut last_err = None;
    for _ in 0..16 {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                last_err = Some(sym_err(e));
                break;
            }
        };
        if packet.track_id != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) if buf.frames() > 0 => return Ok(()),
            Ok(_) => {}
            Err(e) => last_err = Some(sym_err(e)),
        }
    }
    Err(last_err.unwrap_or(AudioError::Empty))
}

fn set(slot: &mut Option<String>, value: &str) {
    let v = value.trim().trim_matches('\0').trim();
    if slot.is_none() && !v.is_empty() {
        *slot = Some(v.to_string());
    }
}

/// First four-digit run in a date string ("2019-04-01", "2019").
fn parse_year(s: &str) -> Option<i32> {
    let digits: String = s
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take(4)
        .collect();
    if digits.len() == 4 && digits.chars().all(|c| c.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

fn apply_revision(tags: &mut TrackTags, rev: &MetadataRevision) {
    let all = rev
        .media
        .tags
        .iter()
        .chain(rev.per_track.iter().flat_map(|t| t.metadata.tags.iter()));
    // Peaks may come before their gains: collected, then paired.
    let (mut track_peak, mut album_peak) = (None, None);
    for tag in all {
        let Some(std) = &tag.std else { continue };
        match std {
            StandardTag::ReplayGainTrackGain(v) if tags.replaygain.track.is_none() => {
                tags.replaygain.track = parse_gain_tag(v).map(|db| Gain { db, peak: None });
            }
            StandardTag::ReplayGainAlbumGain(v) if tags.replaygain.album.is_none() => {
                tags.replaygain.album = parse_gain_tag(v).map(|db| Gain { db, peak: None });
            }
            StandardTag::ReplayGainTrackPeak(v) if track_peak.is_none() => {
                track_peak = parse_peak_tag(v);
            }
            StandardTag::ReplayGainAlbumPeak(v) if album_peak.is_none() => {
                album_peak = parse_peak_tag(v);
            }
            StandardTag::TrackTitle(v) => set(&mut tags.title, v),
            StandardTag::Artist(v) => set(&mut tags.artist, v),
            StandardTag::Album(v) => set(&mut tags.album, v),
            StandardTag::AlbumArtist(v) => set(&mut tags.album_artist, v),
            StandardTag::Genre(v) => set(&mut tags.genre, v),
            StandardTag::TrackNumber(n) if tags.track_no.is_none() && *n > 0 && *n < 100_000 => {
                tags.track_no = Some(*n as u32);
            }
            StandardTag::ReleaseYear(y) | StandardTag::RecordingYear(y)
                if tags.year.is_none() && *y > 0 =>
            {
                tags.year = Some(*y as i32);
            }
            StandardTag::ReleaseDate(d)
            | StandardTag::RecordingDate(d)
            | StandardTag::OriginalReleaseDate(d)
                if tags.year.is_none() =>
            {
                tags.year = parse_year(d);
            }
            _ => {}
        }
    }
    for (gain, peak) in [
        (&mut tags.replaygain.track, track_peak),
        (&mut tags.replaygain.album, album_peak),
    ] {
        if let Some(g) = gain {
            g.peak = g.peak.or(peak);
        }
    }
}

/// Untagged files still get a title (and maybe a track number and artist) from their name:
/// "03 - Artist - Title.mp3", "03. Title.flac", "Artist - Title.ogg", "Title.wav".
fn fill_from_file_name(tags: &mut TrackTags, path: &Path) {
    let Some(stem) = path.file_stem() else { return };
    let stem = stem.to_string_lossy();
    let mut rest: &str = stem.trim();
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    if !digits.is_empty() && digits.len() <= 3 {
        let after = rest[digits.len()..].trim_start();
        if let Some(after) = after
            .strip_prefix("- ")
            .or_else(|| after.strip_prefix(". "))
            .or_else(|| after.strip_prefix("_"))
        {
            if tags.track_no.is_none() {
                tags.track_no = digits.parse().ok();
            }
            rest = after.trim();
        }
    }
    let (artist, title) = match rest.split_once(" - ") {
        Some((a, t)) if !a.trim().is_empty() && !t.trim().is_empty() => (Some(a.trim()), t.trim()),
        _ => (None, rest),
    };
    if tags.title.is_none() {
        set(&mut tags.title, title);
        if let Some(a) = artist {
            set(&mut tags.artist, a);
        }
    }
    if tags.title.is_none() {
        set(&mut tags.title, &stem);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_name_fallback() {
        let mut t = TrackTags::default();
        fill_from_file_name(&mut t, Path::new("/m/03 - Nina Simone - Feeling Good.mp3"));
        assert_eq!(t.track_no, Some(3));
        assert_eq!(t.artist.as_deref(), Some("Nina Simone"));
        assert_eq!(t.title.as_deref(), Some("Feeling Good"));

        let mut t = TrackTags::default();
        fill_from_file_name(&mut t, Path::new("12. Song.flac"));
        assert_eq!((t.track_no, t.title.as_deref()), (Some(12), Some("Song")));

        let mut t = TrackTags::default();
        fill_from_file_name(&mut t, Path::new("1999.wav"));
        assert_eq!((t.track_no, t.title.as_deref()), (None, Some("1999")));
    }

    #[test]
    fn tags_win_over_file_name() {
        let mut t = TrackTags {
            title: Some("Real".into()),
            ..Default::default()
        };
        fill_from_file_name(&mut t, Path::new("Other - Name.mp3"));
        assert_eq!(t.title.as_deref(), Some("Real"));
        assert_eq!(t.artist, None);
    }

    #[test]
    fn years() {
        assert_eq!(parse_year("2019-04-01"), Some(2019));
        assert_eq!(parse_year("c. 1971"), Some(1971));
        assert_eq!(parse_year("71"), None);
    }
}
