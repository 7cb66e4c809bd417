//! Playback as a listener hears it: gapless seams between tracks (WAV, FLAC, MP3) and
//! ReplayGain (loudness against ffmpeg's EBU R128 meter, tags read, gain applied). The audio
//! goes to a capturing output with no device, so what the output played is compared sample
//! by sample with what was written.

mod common;

use std::f32::consts::PI;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use valence::audio::gain::{Gain, ReplayGainMode, TrackGain};
use valence::audio::player::{AudioOutput, Captured};
use valence::audio::AudioStream;
use valence::gui::player::{Event, Message, QueueItem, State};

const RATE: u32 = 44_100;
/// A multiple of the MP3 frame (1152) and of FLAC's default block (4096): each half ends
/// on a frame boundary of both.
const HALF: usize = 36_864 * 2;

/// A 1 kHz stereo sine at amplitude 0.5, as 16-bit samples (interleaved).
fn sine_i16(frames: usize) -> Vec<i16> {
    (0..frames)
        .flat_map(|i| {
            let v = (2.0 * PI * 1000.0 * i as f32 / RATE as f32).sin() * 0.5;
            let s = (v * 32767.0).round() as i16;
            [s, s]
        })
        .collect()
}

fn as_f32(x: &[i16]) -> Vec<f32> {
    x.iter().map(|s| *s as f32 / 32768.0).collect()
}

/// The sine split at `HALF` into two files of format `ext`.
fn halves(dir: &Path, ext: &str, codec: &[&str]) -> (PathBuf, PathBuf, Vec<f32>) {
    let whole = sine_i16(2 * HALF);
    let mut out = Vec::new();
    for (k, part) in whole.chunks(HALF * 2).enumerate() {
        let wav = dir.join(format!("part{k}.wav"));
        common::write_wav_i16(&wav, part, RATE, 2);
        if ext == "wav" {
            out.push(wav);
        } else {
            let enc = dir.join(format!("part{k}.{ext}"));
            common::encode(&wav, &enc, codec, None);
            out.push(enc);
        }
    }
    let b = out.pop().expect("two parts");
    let a = out.pop().expect("two parts");
    (a, b, as_f32(&whole))
}

/// Waits until the output has played everything (or panics after a while).
fn wait_idle(out: &AudioOutput) {
    let start = Instant::now();
    while !out.is_idle() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "playback did not end"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Where `want` starts in `got`: the interleaved offset with the least error over the first
/// 4096 samples, searched around the first sample the output did not pad with silence.
fn align(got: &[f32], want: &[f32]) -> usize {
    let first = got
        .iter()
        .position(|s| *s != 0.0)
        .expect("something played");
    let lo = first.saturating_sub(8) & !1;
    (lo..first + 8)
        .step_by(2)
        .min_by(|&a, &b| {
            let err = |o: usize| -> f32 {
                want.iter()
                    .take(4096)
                    .zip(got.iter().skip(o))
                    .map(|(w, g)| (w - g).abs())
                    .sum()
            };
            err(a).total_cmp(&err(b))
        })
        .expect("an offset")
}

/// Plays `a` then `b` the way the window does (b queued while a plays) and returns what
/// the output played, aligned with the original signal.
fn play_both(a: &Path, b: &Path, want: &[f32]) -> Vec<f32> {
    let (out, captured): (AudioOutput, Captured) = AudioOutput::open_capture(40.0).expect("output");
    out.play_file(a, 1.0).expect("play a");
    out.enqueue(b, 1.0).expect("queue b");
    assert_eq!(out.queued(), 2);
    wait_idle(&out);
    let got = captured.lock().expect("capture").clone();
    let at = align(&got, want);
    got[at..].to_vec()
}

/// The seam checks: every sample of both tracks is there in order (no sample inserted or
/// lost: the second half lines up with the original), and around the seam the played signal
/// follows the sine within `tol` with no run of silence.
fn check_seam(label: &str, got: &[f32], want: &[f32], tol: f32) {
    let seam = HALF * 2;
    assert!(
        got.len() >= want.len(),
        "{label}: played {} of {} samples",
        got.len(),
        want.len()
    );
    let window = 2048 * 2;
    let err =
        |r: std::ops::Range<usize>| r.map(|i| (got[i] - want[i]).abs()).fold(0.0f32, f32::max);
    let at_seam = err(seam - window..seam + window);
    let late = err(want.len() - window..want.len());
    assert!(
        at_seam <= tol,
        "{label}: the played signal leaves the sine by {at_seam} around the seam"
    );
    assert!(
        late <= tol,
        "{label}: the end of the second track is off by {late}: samples were inserted or lost"
    );
    let longest_quiet = got[seam - window..seam + window]
        .chunks(2)
        .fold((0usize, 0usize), |(run, best), f| {
            if f[0].abs() < 1e-3 {
                (run + 1, best.max(run + 1))
            } else {
                (0, best)
            }
        })
        .1;
    // The sine (amplitude 0.5, 1 kHz) is under 1e-3 for at most a frame per zero crossing.
    assert!(
        longest_quiet <= 2,
        "{label}: {longest_quiet} silent frames at the seam"
    );
    // A click is a jump between neighbouring frames larger than the reference has there.
    let jump = |x: &[f32]| {
        x[seam - window..seam + window]
            .chunks(2)
            .zip(x[seam - window + 2..seam + window + 2].chunks(2))
            .map(|(p, q)| (p[0] - q[0]).abs())
            .fold(0.0f32, f32::max)
    };
    assert!(
        jump(got) <= jump(want) + 2.0 * tol,
        "{label}: a jump of {} at the seam (a click), the reference's largest is {}",
        jump(got),
        jump(want)
    );
}

/// What ffmpeg decodes from `paths`, one after the other (interleaved f32): the reference
/// for lossy files, whose samples are the encoder's, not the sine's.
fn ffmpeg_decode(paths: &[&Path]) -> Vec<f32> {
    let mut out = Vec::new();
    for p in paths {
        let o = Command::new("ffmpeg")
            .args(["-nostdin", "-loglevel", "error", "-i"])
            .arg(p)
            .args(["-f", "f32le", "-"])
            .output()
            .expect("ffmpeg");
        assert!(
            o.status.success(),
            "ffmpeg could not decode {}",
            p.display()
        );
        out.extend(
            o.stdout
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
    }
    out
}

#[test]
fn gapless_seams_are_continuous_for_wav_flac_and_mp3() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (ext, codec) in [
        ("wav", &[][..]),
        ("flac", &["-c:a", "flac"][..]),
        ("mp3", &["-c:a", "libmp3lame", "-b:a", "192k"][..]),
    ] {
        let sub = dir.path().join(ext);
        std::fs::create_dir_all(&sub).expect("dir");
        let (a, b, sine) = halves(&sub, ext, codec);
        let got = play_both(&a, &b, &sine);
        if ext == "mp3" {
            // MP3 is lossy, and the encoder's error is largest at the cut (0.06 within
            // 256 frames of it, 0.015 elsewhere, in ffmpeg's decoding too), so the reference
            // is what ffmpeg's gapless decoder makes of the two files: the same number of
            // samples as the sine (encoder delay and padding trimmed) and the same samples.
            let reference = ffmpeg_decode(&[&a, &b]);
            assert_eq!(
                reference.len(),
                sine.len(),
                "ffmpeg trims delay and padding"
            );
            check_seam(ext, &got, &reference, 1e-4);
        } else {
            check_seam(ext, &got, &sine, 1.5 / 32768.0);
        }
    }
}

#[test]
fn the_player_bar_follows_a_gapless_change_of_track() {
    fn virtual_output() -> Result<AudioOutput, valence::audio::player::OutputError> {
        AudioOutput::open_virtual(40.0)
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b, _) = halves(dir.path(), "wav", &[]);
    let item = |id: i64, path: &Path| QueueItem {
        id,
        path: path.to_path_buf(),
        title: format!("t{id}"),
        artist: "A".into(),
        duration: Some(HALF as f64 / RATE as f64),
        gain: TrackGain::default(),
    };
    let mut player = State::new(virtual_output);
    assert_eq!(
        player.play_queue(vec![item(1, &a), item(2, &b)], 0),
        Some(Event::NowPlaying(1))
    );
    let start = Instant::now();
    let mut events = Vec::new();
    while player.is_playing() && start.elapsed() < Duration::from_secs(30) {
        if let Some(e) = player.update(Message::Tick) {
            events.push(e);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(
        events,
        vec![Event::NowPlaying(2)],
        "the bar moved on once, to track 2"
    );
    let plays = player.take_plays();
    assert_eq!(plays.len(), 2, "{plays:?}");
    assert_eq!((plays[0].track_id, plays[1].track_id), (1, 2));
    assert!(plays
        .iter()
        .all(|p| p.ended == valence::playlists::PlayEnd::Finished));
}

fn ffmpeg_integrated_lufs(path: &Path) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-nostats", "-i"])
        .arg(path)
        .args(["-af", "ebur128", "-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    let log = String::from_utf8_lossy(&out.stderr);
    // The summary's "I:  -20.0 LUFS" line (the last one: per-frame lines come first).
    log.lines()
        .rev()
        .find_map(|l| {
            let l = l.trim();
            l.strip_prefix("I:")
                .and_then(|r| r.trim().strip_suffix("LUFS"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or_else(|| panic!("no integrated loudness in ffmpeg's log:\n{log}"))
}

fn our_loudness(path: &Path) -> valence::audio::gain::Loudness {
    let mut s = AudioStream::open(path).expect("open");
    s.measure_loudness().expect("meter");
    while s.next_chunk().expect("decode").is_some() {}
    s.loudness().expect("a loudness")
}

#[test]
fn loudness_matches_ffmpeg_ebur128() {
    let dir = tempfile::tempdir().expect("tempdir");
    // -20 dBFS, 1 kHz, stereo: the reference signal.
    let rate = 48_000;
    let sine: Vec<i16> = (0..rate as usize * 10)
        .flat_map(|i| {
            let v = 0.1 * (2.0 * PI * 1000.0 * i as f32 / rate as f32).sin();
            let s = (v * 32767.0).round() as i16;
            [s, s]
        })
        .collect();
    let wav = dir.path().join("sine.wav");
    common::write_wav_i16(&wav, &sine, rate, 2);
    let ours = our_loudness(&wav).integrated_lufs;
    let theirs = ffmpeg_integrated_lufs(&wav);
    assert!(
        (ours - theirs).abs() <= 0.1,
        "ours {ours:.2} LUFS, ffmpeg {theirs:.2} LUFS"
    );
    assert!((ours + 20.0).abs() < 0.2, "{ours}");
    // A music-like signal, encoded, with quiet and loud parts.
    let song = dir.path().join("song.wav");
    common::write_song(&song, 12.0, 7);
    let flac = dir.path().join("song.flac");
    common::encode(&song, &flac, &["-c:a", "flac"], None);
    let ours = our_loudness(&flac).integrated_lufs;
    let theirs = ffmpeg_integrated_lufs(&flac);
    assert!(
        (ours - theirs).abs() <= 0.1,
        "song: ours {ours:.2} LUFS, ffmpeg {theirs:.2} LUFS"
    );
}

#[test]
fn replaygain_tags_are_read_from_flac_and_mp3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("src.wav");
    common::write_sine_wav(&wav, 440.0, 1.0, 44_100, 2);
    for (ext, codec) in [
        ("flac", &["-c:a", "flac"][..]),
        ("mp3", &["-c:a", "libmp3lame", "-b:a", "128k"][..]),
    ] {
        let out = dir.path().join(format!("tagged.{ext}"));
        let status = Command::new("ffmpeg")
            .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i"])
            .arg(&wav)
            .args(codec)
            .args([
                "-metadata",
                "REPLAYGAIN_TRACK_GAIN=-6.50 dB",
                "-metadata",
                "REPLAYGAIN_TRACK_PEAK=0.501",
                "-metadata",
                "REPLAYGAIN_ALBUM_GAIN=-7.25 dB",
                "-metadata",
                "REPLAYGAIN_ALBUM_PEAK=0.9",
            ])
            .arg(&out)
            .status()
            .expect("ffmpeg");
        assert!(status.success());
        let tags = valence::library::read_tags(&out).expect("tags");
        assert_eq!(
            tags.replaygain,
            TrackGain {
                track: Some(Gain {
                    db: -6.5,
                    peak: Some(0.501)
                }),
                album: Some(Gain {
                    db: -7.25,
                    peak: Some(0.9)
                }),
            },
            "{ext}"
        );
    }
}

#[test]
fn playback_applies_the_gain_and_a_new_mode_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let x = sine_i16(RATE as usize * 2);
    let wav = dir.path().join("a.wav");
    common::write_wav_i16(&wav, &x, RATE, 2);
    let gain = TrackGain {
        track: Some(Gain {
            db: -6.0206,
            peak: Some(0.5),
        }),
        album: Some(Gain {
            db: 12.0,
            peak: Some(0.5),
        }),
    };
    // Track gain halves the level; album gain (+12 dB) is held at 2x by the 0.5 peak.
    let (out, captured) = AudioOutput::open_capture(2.0).expect("output");
    out.play_file(&wav, gain.factor(ReplayGainMode::Track))
        .expect("play");
    std::thread::sleep(Duration::from_millis(300));
    out.set_gains(gain.factor(ReplayGainMode::Album), 1.0);
    wait_idle(&out);
    let got = captured.lock().expect("capture").clone();
    let peak_of = |r: &[f32]| r.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    let loud = peak_of(&got[got.len() / 2..]);
    let first = got.iter().position(|s| *s != 0.0).expect("played");
    let quiet = peak_of(&got[first..first + 8192]);
    assert!((quiet - 0.25).abs() < 0.01, "track gain: peak {quiet}");
    assert!(
        (loud - 1.0).abs() < 0.01,
        "album gain, held by the peak: {loud}"
    );
}

#[test]
fn analysis_measures_track_and_album_gain() {
    use valence::analysis::{Control, Engine, EngineOptions};
    let dir = tempfile::tempdir().expect("tempdir");
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).expect("mkdir");
    // Two songs of one album, 12 dB apart, and the album as one file for ffmpeg's meter.
    let rate = 44_100;
    let song = |amp: f32, freq: f32| -> Vec<i16> {
        (0..rate as usize * 8)
            .flat_map(|i| {
                let t = i as f32 / rate as f32;
                let v = amp * (2.0 * PI * freq * t).sin() * (1.0 + 0.5 * (2.0 * PI * t).sin());
                let s = (v * 32767.0).round() as i16;
                [s, s]
            })
            .collect()
    };
    let (loud, quiet) = (song(0.4, 330.0), song(0.1, 550.0));
    let album = dir.path().join("album.wav");
    common::write_wav_i16(&album, &[loud.clone(), quiet.clone()].concat(), rate, 2);
    let mut paths = Vec::new();
    for (k, x) in [&loud, &quiet].into_iter().enumerate() {
        let wav = dir.path().join(format!("s{k}.wav"));
        common::write_wav_i16(&wav, x, rate, 2);
        let flac = music.join(format!("{k}.flac"));
        let tags = common::Tags {
            title: if k == 0 { "Loud" } else { "Quiet" },
            artist: "Pair",
            album: "Both",
            track: k as u32 + 1,
            year: 2026,
            genre: "Test",
        };
        common::encode(&wav, &flac, &["-c:a", "flac"], Some(&tags));
        paths.push(flac);
    }
    let db = dir.path().join("lib.sqlite3");
    let lib = common::scanned_library(&db, &music);
    let engine = Engine::load(EngineOptions {
        jobs: 1,
        nice: 0,
        ..EngineOptions::default()
    })
    .expect("models");
    engine.run(&db, &Control::new(), |_| {}).expect("analyse");
    let rows = lib.browse(engine.version()).expect("browse");
    assert_eq!(rows.len(), 2);
    // ffmpeg meters the album as one file, so 3 of its ~160 blocks straddle the two songs;
    // album gain (ours, and libebur128's loudness over several meters, as taggers use) gates
    // each song's own blocks. The two agree within a few hundredths of a dB here.
    let album_db = -18.0 - ffmpeg_integrated_lufs(&album);
    for (row, path) in rows.iter().zip(&paths) {
        let track = row.gain.track.expect("track gain measured");
        let want = -18.0 - ffmpeg_integrated_lufs(path);
        assert!(
            (f64::from(track.db) - want).abs() <= 0.1,
            "{}: {} dB, ffmpeg says {want:.2}",
            row.title,
            track.db
        );
        let album = row.gain.album.expect("album gain once both are measured");
        assert!(
            (f64::from(album.db) - album_db).abs() <= 0.1,
            "album: {} dB, ffmpeg over the whole album says {album_db:.2}",
            album.db
        );
        assert!(album.peak.expect("peak") >= track.peak.expect("peak"));
    }
}
