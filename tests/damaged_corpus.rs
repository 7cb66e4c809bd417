//! Lenient where players are lenient (issue 17, point 1). A corpus generator takes
//! synthesised files in every supported format and damages them the way real files are
//! damaged; for every file that ffmpeg decodes, Valence must scan it (read its tags and
//! stream), play it (decode at least 90 % of the duration ffmpeg gets) and analyse it (the
//! analyser's decode + features, over at least 90 % of that duration), for at least 95 % of
//! such files. The table per damage kind is printed (`--nocapture`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use common::{encode, write_song, Tags};
use valence::analysis::{PatchPlan, Preparer};

const SECS: f32 = 8.0;
/// Variants per damage kind (positions and values drawn from a fixed seed).
const VARIANTS: usize = 10;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// The clean sources: one synthesised song, encoded to each format (44.1 kHz stereo).
struct Sources {
    wav: Vec<u8>,
    mp3: Vec<u8>,
    flac: Vec<u8>,
    ogg: Vec<u8>,
    /// AAC in MP4 as ffmpeg writes it: the `moov` atom at the end.
    m4a_moov_last: Vec<u8>,
    /// Fragmented MP4: an empty `moov` up front, the samples in `moof` fragments.
    m4a_empty_moov: Vec<u8>,
    /// `moov` first (`-movflags +faststart`, as streaming sites serve it).
    m4a_moov_first: Vec<u8>,
}

fn sources(dir: &Path) -> Sources {
    let mono = dir.join("song-mono.wav");
    write_song(&mono, SECS, 11);
    let wav = dir.join("song.wav");
    let run = |args: &[&str], out: &Path| {
        let st = Command::new("ffmpeg")
            .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i"])
            .arg(&mono)
            .args(args)
            .arg(out)
            .status()
            .expect("ffmpeg");
        assert!(st.success(), "ffmpeg {args:?}");
    };
    run(&["-ar", "44100", "-ac", "2", "-c:a", "pcm_s16le"], &wav);
    let tags = Tags {
        title: "Damaged",
        artist: "Corpus",
        album: "Kinds",
        track: 1,
        year: 2026,
        genre: "Test",
    };
    let enc = |name: &str, codec: &[&str]| {
        let p = dir.join(name);
        encode(&wav, &p, codec, Some(&tags));
        std::fs::read(&p).expect("read")
    };
    let mp4 = |name: &str, flags: &str| {
        let p = dir.join(name);
        let st = Command::new("ffmpeg")
            .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i"])
            .arg(&wav)
            .args(["-c:a", "aac", "-b:a", "128k", "-movflags", flags])
            .arg(&p)
            .status()
            .expect("ffmpeg");
        assert!(st.success(), "ffmpeg -movflags {flags}");
        std::fs::read(&p).expect("read")
    };
    Sources {
        wav: std::fs::read(&wav).expect("read"),
        mp3: enc("song.mp3", &["-c:a", "libmp3lame", "-b:a", "192k"]),
        flac: enc("song.flac", &["-c:a", "flac"]),
        ogg: enc("song.ogg", &["-c:a", "libvorbis", "-q:a", "4"]),
        m4a_moov_last: enc("song.m4a", &["-c:a", "aac", "-b:a", "128k"]),
        m4a_empty_moov: mp4("frag.m4a", "frag_keyframe+empty_moov"),
        m4a_moov_first: mp4("fast.m4a", "+faststart"),
    }
}

/// Offset of a RIFF chunk's header (its 4-byte id) at the top level of a WAV.
fn chunk(wav: &[u8], id: &[u8; 4]) -> Option<usize> {
    let mut at = 12;
    while at + 8 <= wav.len() {
        if &wav[at..at + 4] == id {
            return Some(at);
        }
        let len = u32::from_le_bytes(wav[at + 4..at + 8].try_into().ok()?) as usize;
        at += 8 + len + (len & 1);
    }
    None
}

fn set_u32_le(d: &mut [u8], at: usize, v: u32) {
    d[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// An ID3v2.4 tag with a title frame (what some taggers put in front of any file).
fn id3v2(title: &str) -> Vec<u8> {
    let mut frame = b"TIT2".to_vec();
    let body: Vec<u8> = std::iter::once(3u8).chain(title.bytes()).collect();
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes()); // small: syncsafe equal
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(&body);
    // Some padding, as taggers leave.
    frame.resize(frame.len() + 256, 0);
    let n = frame.len() as u32;
    let syncsafe = [
        ((n >> 21) & 0x7F) as u8,
        ((n >> 14) & 0x7F) as u8,
        ((n >> 7) & 0x7F) as u8,
        (n & 0x7F) as u8,
    ];
    let mut tag = b"ID3\x04\x00\x00".to_vec();
    tag.extend_from_slice(&syncsafe);
    tag.extend_from_slice(&frame);
    tag
}

/// An ID3v1 tag (the last 128 bytes of many MP3s).
fn id3v1(title: &str) -> Vec<u8> {
    let mut t = b"TAG".to_vec();
    for (s, n) in [
        (title, 30),
        ("Corpus", 30),
        ("Kinds", 30),
        ("2026", 4),
        ("", 30),
    ] {
        let mut f = s.as_bytes().to_vec();
        f.resize(n, 0);
        t.extend_from_slice(&f);
    }
    t.push(12);
    t
}

/// An APEv2 tag with one item, header and footer (foobar2000 and others write these).
fn ape(title: &str) -> Vec<u8> {
    let mut item = (title.len() as u32).to_le_bytes().to_vec();
    item.extend_from_slice(&0u32.to_le_bytes());
    item.extend_from_slice(b"Title\0");
    item.extend_from_slice(title.as_bytes());
    let size = (item.len() + 32) as u32;
    let block = |header: bool| {
        let mut b = b"APETAGEX".to_vec();
        b.extend_from_slice(&2000u32.to_le_bytes());
        b.extend_from_slice(&size.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        let flags: u32 = 0x8000_0000 | if header { 0x2000_0000 } else { 0 };
        b.extend_from_slice(&flags.to_le_bytes());
        b.extend_from_slice(&[0; 8]);
        b
    };
    let mut t = block(true);
    t.extend_from_slice(&item);
    t.extend_from_slice(&block(false));
    t
}

/// The damage kinds: (name, extension, damaged bytes) per variant.
fn damaged(s: &Sources, rng: &mut Rng) -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let data = chunk(&s.wav, b"data").expect("data chunk");
    for _ in 0..VARIANTS {
        // RIFF length: what streaming writers leave (44, 0, -1) or off by some.
        let mut d = s.wav.clone();
        let v = [44u32, 0, 0xFFFF_FFFF, 36, (d.len() as u32) * 2][rng.below(5)];
        set_u32_le(&mut d, 4, v);
        out.push(("WAV: wrong RIFF length", "wav", d));

        // Data length: unset (0 or -1), or longer than the file.
        let mut d = s.wav.clone();
        let v = [0xFFFF_FFFFu32, 0x7FFF_FFFF, (d.len() * 3) as u32][rng.below(3)];
        set_u32_le(&mut d, data + 4, v);
        out.push(("WAV: wrong data length", "wav", d));

        // A zero-length data chunk with the audio after it.
        let mut d = s.wav.clone();
        set_u32_le(&mut d, data + 4, 0);
        out.push(("WAV: empty data chunk, audio follows", "wav", d));

        // An odd-sized chunk before the data, written without its pad byte.
        let mut d = s.wav[..data].to_vec();
        let n = 2 * rng.below(20) + 1;
        d.extend_from_slice(b"junk");
        d.extend_from_slice(&(n as u32).to_le_bytes());
        d.extend((0..n).map(|i| b'a' + (i % 26) as u8));
        d.extend_from_slice(&s.wav[data..]);
        let riff = (d.len() - 8) as u32;
        set_u32_le(&mut d, 4, riff);
        out.push(("WAV: odd chunk without pad byte", "wav", d));

        // An ID3v2 tag in front of a FLAC stream.
        let mut d = id3v2("Tagged in front");
        d.extend_from_slice(&s.flac);
        out.push(("FLAC: ID3v2 tag in front", "flac", d));

        // ID3v1 or APEv2 at the end of an MP3.
        let mut d = s.mp3.clone();
        if rng.below(2) == 0 {
            d.extend_from_slice(&id3v1("Tagged at the end"));
        } else {
            d.extend_from_slice(&ape("Tagged at the end"));
        }
        out.push(("MP3: ID3v1 or APE tag at the end", "mp3", d));

        // Junk before the first MP3 frame (after the ID3v2 tag ffmpeg wrote, if any).
        let first = s
            .mp3
            .windows(2)
            .position(|w| w[0] == 0xFF && w[1] & 0xE0 == 0xE0)
            .unwrap_or(0);
        let mut d = s.mp3[..first].to_vec();
        let n = 16 + rng.below(2000);
        d.extend((0..n).map(|i| [0u8, 0x20, 0x55, 0xA7][i % 4]));
        d.extend_from_slice(&s.mp3[first..]);
        out.push(("MP3: junk before the first frame", "mp3", d));

        // Truncation in the middle of a frame (a copy or a download cut short), each format.
        for (kind, ext, src) in [
            ("truncated: MP3", "mp3", &s.mp3),
            ("truncated: FLAC", "flac", &s.flac),
            ("truncated: Ogg Vorbis", "ogg", &s.ogg),
            ("truncated: WAV", "wav", &s.wav),
            ("truncated: MP4, moov first", "m4a", &s.m4a_moov_first),
            ("truncated: MP4, fragmented", "m4a", &s.m4a_empty_moov),
        ] {
            let cut = src.len() * (50 + rng.below(45)) / 100;
            out.push((kind, ext, src[..cut].to_vec()));
        }

        // A FLAC frame with a bad CRC: a byte of audio changed.
        let mut d = s.flac.clone();
        let at = d.len() / 4 + rng.below(d.len() / 2);
        d[at] ^= 0x5A;
        out.push(("FLAC: a frame with a bad CRC", "flac", d));

        out.push(("MP4: moov atom at the end", "m4a", s.m4a_moov_last.clone()));
        out.push((
            "MP4: empty moov (fragmented)",
            "m4a",
            s.m4a_empty_moov.clone(),
        ));
    }
    out
}

/// Seconds ffmpeg decodes from `path` (mono 8 kHz samples counted), `None` if it refuses.
fn ffmpeg_secs(path: &Path) -> Option<f64> {
    let o = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "quiet", "-i"])
        .arg(path)
        .args(["-f", "s16le", "-ac", "1", "-ar", "8000", "-"])
        .output()
        .ok()?;
    let secs = o.stdout.len() as f64 / 2.0 / 8000.0;
    (secs > 0.0).then_some(secs)
}

/// Valence on `path`: (scanned, decoded seconds, analysed seconds).
fn valence_secs(path: &Path) -> (bool, f64, f64) {
    let scanned = valence::library::read_tags(path).is_ok();
    let decoded = valence::audio::decode_mono(path, Some(8000), None)
        .map_or(0.0, |d| d.samples.len() as f64 / 8000.0);
    let analysed = Preparer::new()
        .and_then(|mut p| p.prepare(path, PatchPlan::new(3), &AtomicBool::new(false)))
        .map_or(0.0, |p| p.duration_s);
    (scanned, decoded, analysed)
}

#[test]
fn damaged_files_that_ffmpeg_decodes_scan_play_and_analyse() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = sources(dir.path());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let files = damaged(&src, &mut rng);

    // kind -> (files, ffmpeg decodes, Valence keeps up, worst share)
    let mut kinds: Vec<(&str, usize, usize, usize, f64)> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for (i, (kind, ext, bytes)) in files.iter().enumerate() {
        let path: PathBuf = dir.path().join(format!("{i:03}.{ext}"));
        std::fs::write(&path, bytes).expect("write");
        let row = match kinds.iter().position(|k| k.0 == *kind) {
            Some(r) => r,
            None => {
                kinds.push((kind, 0, 0, 0, f64::INFINITY));
                kinds.len() - 1
            }
        };
        kinds[row].1 += 1;
        let Some(reference) = ffmpeg_secs(&path) else {
            continue;
        };
        kinds[row].2 += 1;
        let (scanned, decoded, analysed) = valence_secs(&path);
        let share = decoded.min(analysed) / reference;
        kinds[row].4 = kinds[row].4.min(share);
        if scanned && share >= 0.9 {
            kinds[row].3 += 1;
        } else {
            failures.push(format!(
                "{kind} ({}): scanned {scanned}, decoded {decoded:.2} s, analysed {analysed:.2} s, ffmpeg {reference:.2} s",
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            ));
        }
    }
    eprintln!("| damage | files | ffmpeg decodes | Valence scans, plays and analyses >= 90 % | least share of ffmpeg's duration |");
    eprintln!("|---|---|---|---|---|");
    let (mut total, mut ok) = (0, 0);
    for (kind, n, ff, good, worst) in &kinds {
        total += ff;
        ok += good;
        let worst = if worst.is_finite() {
            format!("{:.0} %", 100.0 * worst)
        } else {
            "-".into()
        };
        eprintln!("| {kind} | {n} | {ff} | {good} | {worst} |");
    }
    eprintln!(
        "| **all** | {} | {total} | {ok} ({:.1} %) | |",
        files.len(),
        100.0 * ok as f64 / total.max(1) as f64
    );
    for f in &failures {
        eprintln!("not kept up: {f}");
    }
    assert!(total > 0);
    assert!(
        ok as f64 >= 0.95 * total as f64,
        "{ok} of {total} files ffmpeg decodes are scanned, played and analysed to 90 %"
    );
}
