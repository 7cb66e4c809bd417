//! End-to-end analysis throughput on a synthetic library of 4-minute tracks: x realtime
//! (audio seconds per wall second) and where the thread time goes.
//!
//! Run: `cargo bench --bench analysis` (ffmpeg needed: `libtorch-setup/setup.sh
//! --with-test-deps`). Knobs (environment): VALENCE_BENCH_TRACKS (16), VALENCE_BENCH_MINUTES
//! (4), VALENCE_BENCH_FORMAT (mp3|flac|wav), VALENCE_BENCH_JOBS (cores), VALENCE_BENCH_STRIDE
//! (the engine default, 3), VALENCE_BENCH_BATCH (engine default), VALENCE_BENCH_DEVICE (auto|cpu|cuda).
//! The library is generated once under target/bench-analysis/ and reused.

use std::f32::consts::PI;
use std::path::{Path, PathBuf};
use std::process::Command;

use valence::analysis::{Control, Engine, EngineOptions};
use valence::library::{scan, Library, ScanOptions};
use valence::model::device::DeviceChoice;

fn env<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

/// A few minutes of "music": a chord progression with a beat, a bass line and noise, so
/// every track differs and the codecs have real work.
fn write_track(path: &Path, secs: f32, seed: u32) {
    let rate = 44100u32;
    let n = (secs * rate as f32) as usize;
    let mut data: Vec<i16> = Vec::with_capacity(n * 2);
    let mut x = seed.wrapping_mul(2654435761).max(1);
    let bpm = 80.0 + (seed % 7) as f32 * 12.0;
    let beat = 60.0 / bpm;
    let roots = [220.0f32, 174.6, 196.0, 261.6, 146.8, 164.8];
    for i in 0..n {
        let t = i as f32 / rate as f32;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let noise = (x as f32 / u32::MAX as f32 - 0.5) * 0.04;
        let bar = (t / (4.0 * beat)) as usize;
        let r = roots[(bar + seed as usize) % roots.len()];
        let third = if (bar + seed as usize).is_multiple_of(3) {
            1.189
        } else {
            1.26
        };
        let chord = 0.12 * (2.0 * PI * r * t).sin()
            + 0.09 * (2.0 * PI * r * third * t).sin()
            + 0.09 * (2.0 * PI * r * 1.498 * t).sin();
        let ph = (t % beat) / beat;
        let kick = (-ph * 30.0).exp() * (2.0 * PI * 60.0 * t).sin() * 0.4;
        let hat = if ph > 0.5 && ph < 0.53 {
            noise * 6.0
        } else {
            0.0
        };
        let bass = 0.1 * (2.0 * PI * r * 0.5 * t).sin();
        let v = (chord + kick + hat + bass + noise).clamp(-1.0, 1.0);
        let s = (v * 30000.0) as i16;
        data.extend_from_slice(&[s, s]);
    }
    valence::audio::write_wav_pcm16(path, &data, rate, 2).expect("write wav");
}

fn make_library(dir: &Path, n: usize, minutes: f32, format: &str) {
    std::fs::create_dir_all(dir).expect("bench dir");
    for i in 0..n {
        let out = dir.join(format!("track{i:03}.{format}"));
        if out.exists() {
            continue;
        }
        let wav = dir.join(format!("tmp{i:03}.wav"));
        write_track(&wav, minutes * 60.0, i as u32 + 1);
        if format == "wav" {
            std::fs::rename(&wav, &out).expect("rename");
            continue;
        }
        let codec: &[&str] = match format {
            "flac" => &["-c:a", "flac"],
            _ => &["-c:a", "libmp3lame", "-b:a", "192k"],
        };
        let ok = Command::new("ffmpeg")
            .args(["-nostdin", "-loglevel", "error", "-y", "-i"])
            .arg(&wav)
            .args(codec)
            .args([
                "-metadata",
                &format!("title=Bench {i}"),
                "-metadata",
                "artist=Valence",
            ])
            .arg(&out)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        let _ = std::fs::remove_file(&wav);
        assert!(
            ok,
            "ffmpeg is needed: run libtorch-setup/setup.sh --with-test-deps"
        );
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would too: only run for bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n: usize = env("VALENCE_BENCH_TRACKS", 16);
    let minutes: f32 = env("VALENCE_BENCH_MINUTES", 4.0);
    let format: String = env("VALENCE_BENCH_FORMAT", "mp3".to_string());
    let defaults = EngineOptions::default();
    let device = match env("VALENCE_BENCH_DEVICE", "auto".to_string()).as_str() {
        "cpu" => DeviceChoice::Cpu,
        "cuda" => DeviceChoice::Cuda,
        _ => DeviceChoice::Auto,
    };
    let opts = EngineOptions {
        jobs: env("VALENCE_BENCH_JOBS", defaults.jobs),
        stride: env("VALENCE_BENCH_STRIDE", defaults.stride),
        batch: std::env::var("VALENCE_BENCH_BATCH")
            .ok()
            .and_then(|b| b.parse().ok()),
        device,
        nice: 0,
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-analysis")
        .join(format!("{format}-{minutes}min"));
    make_library(&root, n, minutes, &format);
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("bench.sqlite3");
    {
        let mut lib = Library::open(&db).expect("db");
        let mut files: Vec<_> = std::fs::read_dir(&root)
            .expect("bench dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == format.as_str()))
            .collect();
        files.sort();
        files.truncate(n);
        let sub = tmp.path().join("lib");
        std::fs::create_dir_all(&sub).expect("lib dir");
        for f in &files {
            let name = f.file_name().expect("file name");
            std::os::unix::fs::symlink(f, sub.join(name)).expect("symlink");
        }
        scan(&mut lib, &[sub], &ScanOptions::default()).expect("scan");
    }
    let engine = Engine::load(opts).expect("models");
    let summary = engine
        .run(&db, &Control::new(), |_| {})
        .expect("analysis run");
    let p = &summary.progress;
    let s = &summary.stages;
    let thread_total = s.decode + s.features + s.network + s.emotion + s.database;
    println!(
        "analysis/{format}: {} x {minutes}-min tracks, {:.0} s audio in {:.2} s = {:.0}x realtime \
         ({:.3} s per track; device {}, jobs {}, stride {}, batch {}, {} failed)",
        p.done,
        p.audio_secs,
        p.elapsed_secs,
        p.x_realtime(),
        p.elapsed_secs / p.done.max(1) as f64,
        summary.device,
        summary.jobs,
        summary.stride,
        summary.batch,
        p.failed
    );
    let pct = |x: f64| 100.0 * x / thread_total.max(1e-9);
    println!(
        "thread time {:.2} s: decode+resample {:.2} s ({:.0} %), features {:.2} s ({:.0} %), \
         musicnn {:.2} s ({:.0} %, {} patches, {:.1} ms/patch), emotion {:.3} s, database {:.3} s ({:.1} ms/track)",
        thread_total,
        s.decode,
        pct(s.decode),
        s.features,
        pct(s.features),
        s.network,
        pct(s.network),
        summary.patches,
        1000.0 * s.network / summary.patches.max(1) as f64,
        s.emotion,
        s.database,
        1000.0 * s.database / p.done.max(1) as f64
    );
}
