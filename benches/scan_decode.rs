//! Scan rate on a 10,000-file synthetic tree and decode speed (x realtime, one core).
//! Run: `cargo bench --bench scan_decode` (after `libtorch-setup/setup.sh --with-test-deps`).
//! For decode, criterion's "elem/s" is x realtime: one element = one second of audio.

use std::f32::consts::PI;
use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use valence::audio::AudioStream;
use valence::library::{scan, Library, ScanOptions};

fn write_wav(path: &Path, secs: f32, rate: u32, seed: u32) {
    let n = (secs * rate as f32) as usize;
    let mut data: Vec<i16> = Vec::with_capacity(n * 2);
    let mut x = seed.wrapping_mul(2654435761).max(1);
    for i in 0..n {
        let t = i as f32 / rate as f32;
        // A chord with some noise: realistic work for the encoders and decoders.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let noise = (x as f32 / u32::MAX as f32 - 0.5) * 0.05;
        let v = 0.2 * (2.0 * PI * 220.0 * t).sin()
            + 0.15 * (2.0 * PI * 277.2 * t).sin()
            + 0.15 * (2.0 * PI * 329.6 * t).sin()
            + noise;
        let s = (v * 32767.0) as i16;
        data.extend_from_slice(&[s, s]);
    }
    valence::audio::write_wav_pcm16(path, &data, rate, 2).expect("write wav");
}

fn encode(wav: &Path, out: &Path, codec: &[&str]) {
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-i"])
        .arg(wav)
        .args(codec)
        .args(["-metadata", "title=Bench", "-metadata", "artist=Valence"])
        .arg(out)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "ffmpeg is needed: run libtorch-setup/setup.sh --with-test-deps"
    );
}

const CODECS: &[(&str, &[&str])] = &[
    ("mp3", &["-c:a", "libmp3lame", "-b:a", "192k"]),
    ("flac", &["-c:a", "flac"]),
    ("ogg", &["-c:a", "libvorbis"]),
    ("m4a", &["-c:a", "aac"]),
];

/// 10,000 short files (mp3/flac/ogg/m4a/wav in turn) in 100 folders.
fn make_tree(root: &Path) -> usize {
    let tmp = root.join("templates");
    std::fs::create_dir_all(&tmp).unwrap();
    let wav = tmp.join("t.wav");
    write_wav(&wav, 2.0, 44100, 1);
    let mut templates: Vec<PathBuf> = vec![wav.clone()];
    for (ext, codec) in CODECS {
        let out = tmp.join(format!("t.{ext}"));
        encode(&wav, &out, codec);
        templates.push(out);
    }
    let tree = root.join("tree");
    let mut n = 0;
    for d in 0..100 {
        let dir = tree.join(format!("Artist {d:03}/Album"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..100 {
            let t = &templates[n % templates.len()];
            let ext = t.extension().unwrap().to_string_lossy();
            std::fs::copy(t, dir.join(format!("{f:02} - Song {n}.{ext}"))).unwrap();
            n += 1;
        }
    }
    n
}

fn bench_scan(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let n = make_tree(dir.path());
    let tree = dir.path().join("tree");
    let mut g = c.benchmark_group("scan");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("first_scan_10k_files", |b| {
        b.iter_batched(
            || {
                let db = tempfile::tempdir().unwrap();
                let lib = Library::open(&db.path().join("l.sqlite3")).unwrap();
                (db, lib)
            },
            |(db, mut lib)| {
                let r = scan(
                    &mut lib,
                    std::slice::from_ref(&tree),
                    &ScanOptions::default(),
                )
                .unwrap();
                assert_eq!(r.added, n);
                (db, lib)
            },
            BatchSize::PerIteration,
        )
    });
    let db = tempfile::tempdir().unwrap();
    let mut lib = Library::open(&db.path().join("l.sqlite3")).unwrap();
    scan(
        &mut lib,
        std::slice::from_ref(&tree),
        &ScanOptions::default(),
    )
    .unwrap();
    g.bench_function("rescan_10k_unchanged", |b| {
        b.iter(|| {
            let r = scan(
                &mut lib,
                std::slice::from_ref(&tree),
                &ScanOptions::default(),
            )
            .unwrap();
            assert_eq!(r.unchanged, n);
        })
    });
    g.finish();
}

fn decode_all(path: &Path, rate: Option<u32>) -> usize {
    decode_metered(path, rate, false)
}

/// Decodes as analysis does, optionally metering loudness (EBU R128) on the way.
fn decode_metered(path: &Path, rate: Option<u32>, loudness: bool) -> usize {
    let mut s = AudioStream::open_mono(path, rate).unwrap();
    if loudness {
        s.measure_loudness().unwrap();
    }
    let mut total = 0;
    while let Some(c) = s.next_chunk().unwrap() {
        total += c.len();
    }
    total
}

fn bench_decode(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("song.wav");
    write_wav(&wav, 240.0, 44100, 7);
    let mut g = c.benchmark_group("decode_4min_one_core");
    g.sample_size(10);
    g.throughput(Throughput::Elements(240));
    for (ext, codec) in CODECS.iter().take(2) {
        let f = dir.path().join(format!("song.{ext}"));
        encode(&wav, &f, codec);
        g.bench_function(format!("{ext}_mono_native"), |b| {
            b.iter(|| decode_all(&f, None))
        });
        g.bench_function(format!("{ext}_mono_16k"), |b| {
            b.iter(|| decode_all(&f, Some(16000)))
        });
        // What ReplayGain's loudness meter adds to the analyser's decode.
        g.bench_function(format!("{ext}_mono_native_with_loudness"), |b| {
            b.iter(|| decode_metered(&f, None, true))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_decode, bench_scan);
criterion_main!(benches);
