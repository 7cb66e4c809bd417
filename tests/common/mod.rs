//! Test fixtures, synthesised by test code: WAV written here, other formats encoded from it
//! with ffmpeg (installed by `libtorch-setup/setup.sh --with-test-deps`).
// Each integration test compiles this module and uses only part of it.
#![allow(dead_code)]

pub mod window;

use std::collections::BTreeMap;
use std::f32::consts::PI;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes 16-bit PCM WAV: `channels` copies of a sine at `freq` Hz.
pub fn write_sine_wav(path: &Path, freq: f32, secs: f32, rate: u32, channels: u16) {
    let n = (secs * rate as f32).round() as usize;
    let mut samples = Vec::with_capacity(n * channels as usize);
    for i in 0..n {
        let v = (2.0 * PI * freq * i as f32 / rate as f32).sin() * 0.5;
        for _ in 0..channels {
            samples.push((v * 32767.0) as i16);
        }
    }
    write_wav_i16(path, &samples, rate, channels);
}

pub fn write_wav_i16(path: &Path, samples: &[i16], rate: u32, channels: u16) {
    valence::audio::write_wav_pcm16(path, samples, rate, channels).expect("write wav");
}

/// Every format Valence supports: (file extension, ffmpeg codec arguments, label).
pub const FORMATS: &[(&str, &[&str], &str)] = &[
    ("wav", &["-c:a", "pcm_s16le"], "wav"),
    ("mp3", &["-c:a", "libmp3lame", "-b:a", "128k"], "mp3"),
    ("flac", &["-c:a", "flac"], "flac"),
    ("ogg", &["-c:a", "libvorbis", "-q:a", "4"], "vorbis"),
    ("m4a", &["-c:a", "aac", "-b:a", "128k"], "aac"),
    ("m4a", &["-c:a", "alac"], "alac"),
];

pub struct Tags<'a> {
    pub title: &'a str,
    pub artist: &'a str,
    pub album: &'a str,
    pub track: u32,
    pub year: i32,
    pub genre: &'a str,
}

fn ffmpeg() -> &'static str {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        panic!("ffmpeg is missing: run `libtorch-setup/setup.sh --with-test-deps` (installs it)");
    }
    "ffmpeg"
}

/// Encodes `wav` to `out` with `codec` args and optional tags.
pub fn encode(wav: &Path, out: &Path, codec: &[&str], tags: Option<&Tags<'_>>) {
    let mut cmd = Command::new(ffmpeg());
    cmd.args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(wav)
        .args(codec);
    if let Some(t) = tags {
        for (k, v) in [
            ("title", t.title.to_string()),
            ("artist", t.artist.to_string()),
            ("album", t.album.to_string()),
            ("track", t.track.to_string()),
            ("date", t.year.to_string()),
            ("genre", t.genre.to_string()),
        ] {
            cmd.arg("-metadata").arg(format!("{k}={v}"));
        }
    }
    let status = cmd.arg(out).status().expect("run ffmpeg");
    assert!(status.success(), "ffmpeg failed for {}", out.display());
}

/// A sine in `fmt_index`'s format at `dir/name`.
pub fn sine_file(
    dir: &Path,
    name: &str,
    fmt_index: usize,
    freq: f32,
    secs: f32,
    rate: u32,
    tags: Option<&Tags<'_>>,
) -> PathBuf {
    let wav = dir.join(format!(".{name}.src.wav"));
    write_sine_wav(&wav, freq, secs, rate, 2);
    let (ext, codec, _) = FORMATS[fmt_index];
    let out = dir.join(format!("{name}.{ext}"));
    encode(&wav, &out, codec, tags);
    std::fs::remove_file(&wav).ok();
    out
}

/// Frequency of the strongest FFT bin (Hann window) of `x` at `rate`.
pub fn peak_frequency(x: &[f32], rate: u32) -> f32 {
    use rustfft::num_complex::Complex;
    let n = x.len().next_power_of_two().min(1 << 18);
    let take = x.len().min(n);
    let mut buf: Vec<Complex<f32>> = (0..n)
        .map(|i| {
            if i < take {
                let w = 0.5 - 0.5 * (2.0 * PI * i as f32 / take as f32).cos();
                Complex::new(x[i] * w, 0.0)
            } else {
                Complex::new(0.0, 0.0)
            }
        })
        .collect();
    rustfft::FftPlanner::new()
        .plan_fft_forward(n)
        .process(&mut buf);
    let (k, _) = buf[..n / 2]
        .iter()
        .enumerate()
        .map(|(k, c)| (k, c.norm_sqr()))
        .fold((0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
    k as f32 * rate as f32 / n as f32
}

/// (title, artist, album, valence, arousal)
pub type MoodTrack = (&'static str, &'static str, &'static str, f32, f32);

/// A library database in `dir`: the `tracks` as tagged FLAC files (sines of `secs`),
/// scanned, each with an analysis result at its point under the running version; the
/// tracks titled in `played` were heard once, counted, an hour ago.
pub fn mood_library(dir: &Path, tracks: &[MoodTrack], secs: f32, played: &[&str]) -> PathBuf {
    use valence::library::{scan, AnalysisData, Library, ScanOptions, Thumbnail, TimelinePoint};
    use valence::playlists::{NewPlay, PlayEnd};
    let music = dir.join("music");
    std::fs::create_dir_all(&music).expect("music dir");
    for (i, (title, artist, album, _, _)) in tracks.iter().enumerate() {
        let wav = dir.join(format!("{i}.wav"));
        write_sine_wav(&wav, 220.0 + 110.0 * i as f32, secs, 22_050, 1);
        let tags = Tags {
            title,
            artist,
            album,
            track: 1,
            year: 2020,
            genre: "Test",
        };
        encode(
            &wav,
            &music.join(format!("{i}.flac")),
            &["-c:a", "flac"],
            Some(&tags),
        );
    }
    let db = dir.join("lib.sqlite3");
    let mut lib = Library::open(&db).expect("open");
    scan(&mut lib, &[music], &ScanOptions::default()).expect("scan");
    let v = valence::analysis::default_version().expect("model version");
    let cal = valence::analysis::default_calibration().expect("calibration");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    for p in lib.pending_analysis(&v).expect("pending") {
        let row = lib.track(p.id).expect("track").expect("row");
        let title = row.tags.title.clone().unwrap_or_default();
        let (_, _, _, va, ar) = *tracks.iter().find(|t| t.0 == title).expect("known track");
        let probs = cal.probs(va, ar);
        let data = AnalysisData {
            probs,
            valence: va,
            arousal: ar,
            duration_s: f64::from(secs),
            timeline: vec![TimelinePoint {
                start_s: 0.0,
                end_s: f64::from(secs),
                probs,
                valence: va,
                arousal: ar,
            }],
            embedding: vec![va, ar, 0.5],
            top_tags: Vec::new(),
            thumbnail: Thumbnail {
                width: 0,
                height: 0,
                pixels: Vec::new(),
            },
            words: Vec::new(),
            tag_means: Vec::new(),
            loudness: None,
        };
        lib.store_analysis(&p, &v, Ok(&data)).expect("store");
        if played.contains(&title.as_str()) {
            lib.record_play(&NewPlay {
                track_id: p.id,
                started_at: now - 3600,
                heard_secs: f64::from(secs),
                ended: PlayEnd::Finished,
            })
            .expect("play");
        }
    }
    db
}

/// Runs the `valence` binary on the library `db`.
pub fn valence_cli(db: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_valence"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("run valence")
}

/// Runs it and reads what it printed as JSON (it must succeed).
pub fn valence_json(db: &Path, args: &[&str]) -> serde_json::Value {
    let o = valence_cli(db, args);
    assert!(
        o.status.success(),
        "valence {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "valence {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

/// A short "song": a chord whose root depends on `seed`, with an amplitude pulse.
pub fn write_song(path: &Path, secs: f32, seed: u32) {
    let rate = 22050u32;
    let n = (secs * rate as f32) as usize;
    let root = 110.0 * 2f32.powf((seed % 24) as f32 / 12.0);
    let pulse = 1.0 + (seed % 5) as f32;
    let mut x = seed.wrapping_mul(747_796_405).max(1);
    let s: Vec<i16> = (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let noise = (x as f32 / u32::MAX as f32 - 0.5) * 0.05;
            let env = 0.6 + 0.4 * (2.0 * std::f32::consts::PI * pulse * t).sin();
            let v = env
                * (0.2 * (2.0 * std::f32::consts::PI * root * t).sin()
                    + 0.15 * (2.0 * std::f32::consts::PI * root * 1.26 * t).sin()
                    + 0.15 * (2.0 * std::f32::consts::PI * root * 1.5 * t).sin())
                + noise;
            (v.clamp(-1.0, 1.0) * 30000.0) as i16
        })
        .collect();
    write_wav_i16(path, &s, rate, 1);
}

/// (track id, status, analysed_at, duration, error) of a stored result.
pub type ResultRow = (i64, String, i64, Option<f64>, Option<String>);

/// Invariants of a consistent database: every stored result is complete (its timeline
/// tiles 0..duration), nothing dangles. Returns (track id -> analysed_at) of results.
pub fn check_consistent(db: &Path) -> BTreeMap<i64, i64> {
    let c = rusqlite::Connection::open(db).expect("open db");
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(ok, "ok");
    let orphans: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM analysis_segments s LEFT JOIN analysis a USING (track_id)
             WHERE a.track_id IS NULL OR a.status != 'ok'",
            [],
            |r| r.get(0),
        )
        .expect("orphans");
    assert_eq!(orphans, 0, "timeline rows without a result");
    let mut stmt = c
        .prepare("SELECT track_id, status, analysed_at, duration_s, error FROM analysis")
        .expect("prepare");
    let rows: Vec<ResultRow> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let mut out = BTreeMap::new();
    for (id, status, at, dur, err) in rows {
        if status == "ok" {
            let dur = dur.expect("duration of an ok result");
            let segs: Vec<(i64, f64, f64)> = c
                .prepare("SELECT idx, start_s, end_s FROM analysis_segments WHERE track_id = ?1 ORDER BY idx")
                .expect("prepare")
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("segments");
            assert!(!segs.is_empty(), "track {id}: result without timeline");
            for (k, s) in segs.iter().enumerate() {
                assert_eq!(s.0, k as i64, "track {id}: timeline indices");
            }
            assert_eq!(segs[0].1, 0.0, "track {id}: timeline starts at 0");
            assert!(
                (segs[segs.len() - 1].2 - dur).abs() < 1e-9,
                "track {id}: timeline ends at the end"
            );
            for w in segs.windows(2) {
                assert_eq!(w[0].2, w[1].1, "track {id}: timeline has a gap");
            }
        } else {
            assert!(
                err.is_some_and(|e| !e.is_empty()),
                "failure without a reason"
            );
        }
        out.insert(id, at);
    }
    out
}

/// xorshift64: the seeded draws of the long tests (kills, fuzzing), printed and replayable.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A draw in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

impl Rng {
    /// Seeded from `$var` when set (to replay a run), else from the clock; the seed is
    /// printed as `what: VAR=SEED`.
    pub fn from_env_or_clock(var: &str, what: &str) -> (Rng, u64) {
        let seed = std::env::var(var)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            })
            | 1;
        eprintln!("{what}: {var}={seed}");
        (Rng(seed), seed)
    }
}

/// `n` songs of `secs` (`write_song`, seeds from `seed0`) in `dir/music`, scanned into
/// `dir/lib.sqlite3` by the binary. Returns the database.
pub fn song_library(dir: &Path, n: u32, secs: f32, seed0: u32) -> PathBuf {
    let music = dir.join("music");
    std::fs::create_dir_all(&music).expect("mkdir");
    for i in 0..n {
        write_song(&music.join(format!("s{i:02}.wav")), secs, i + seed0);
    }
    let db = dir.join("lib.sqlite3");
    let out = valence_cli(&db, &["scan", music.to_str().expect("utf-8 temp path")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

/// The library at `db` with `music` scanned into it.
pub fn scanned_library(db: &Path, music: &Path) -> valence::library::Library {
    let mut lib = valence::library::Library::open(db).expect("open the library");
    valence::library::scan(
        &mut lib,
        &[music.to_path_buf()],
        &valence::library::ScanOptions::default(),
    )
    .expect("scan");
    lib
}

/// The crate root, or `VALENCE_REPO` when set (golden tests read weights from it).
pub fn repo() -> PathBuf {
    std::env::var_os("VALENCE_REPO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// Largest absolute difference of two tensors of the same shape (in f64).
pub fn max_abs_diff(a: &tch::Tensor, b: &tch::Tensor) -> f64 {
    assert_eq!(a.size(), b.size());
    (a.to_kind(tch::Kind::Double) - b.to_kind(tch::Kind::Double))
        .abs()
        .max()
        .double_value(&[])
}

/// Copies the folder `from` into `to`, recursively (a test's own copy of the assets).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let dst = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).expect("copy");
        }
    }
}
