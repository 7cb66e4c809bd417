//! Fuzzing on stable Rust (issue 17, point 2): a seeded mutation loop over a corpus of
//! synthesised files in every supported format, fed to tag reading (`read_tags`), decoding
//! (`decode_mono`) and the analyser's decode + features (`Preparer::prepare`).
//!
//! Each input runs on its own thread under a time limit (a hang fails the test with the
//! seed and the iteration that replay it), panics are caught and fail it the same way, and
//! the peak memory of the process must stay under a bound (a file that declares a huge size
//! or sample count must not make Valence allocate it). Failing inputs are written to
//! `target/fuzz-failures/`; once fixed they go to `tests/fuzz-regressions/`, which every
//! run replays first.
//!
//! The suite runs it for 60 s. The long run:
//! `VALENCE_FUZZ_SECS=600 cargo test --release --test fuzz -- --nocapture`
//! (`VALENCE_FUZZ_SEED=N` replays a run).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use common::{encode, write_sine_wav, Rng, FORMATS};
use valence::analysis::{PatchPlan, Preparer};

/// Longest an input may take through all three targets (the slowest CI machine, debug).
const PER_INPUT: Duration = Duration::from_secs(20);
/// Peak resident memory allowed for the whole test process.
const MAX_RSS_MB: u64 = 3_000;

/// Values that break parsers: lengths and counts at their edges.
const INTERESTING_U32: [u32; 8] = [
    0,
    1,
    0x7F,
    0xFF,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFE,
    0xFFFF_FFFF,
];

/// One to four mutations of `data`.
fn mutate(data: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut d = data.to_vec();
    for _ in 0..1 + rng.below(4) {
        if d.is_empty() {
            d.push(rng.next() as u8);
            continue;
        }
        let at = rng.below(d.len());
        match rng.below(8) {
            // Flip one bit.
            0 => d[at] ^= 1 << rng.below(8),
            // A random byte.
            1 => d[at] = rng.next() as u8,
            // An edge value over 4 bytes, either byte order (headers' lengths and counts).
            2 => {
                let v = INTERESTING_U32[rng.below(INTERESTING_U32.len())];
                let bytes = if rng.below(2) == 0 {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                };
                for (k, b) in bytes.iter().enumerate() {
                    if let Some(x) = d.get_mut(at + k) {
                        *x = *b;
                    }
                }
            }
            // Truncate (mid-frame, mid-header).
            3 => d.truncate(at.max(1)),
            // Delete a stretch.
            4 => {
                let n = 1 + rng.below(256.min(d.len() - at));
                d.drain(at..at + n);
            }
            // Insert random bytes.
            5 => {
                let n = 1 + rng.below(64);
                let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                d.splice(at..at, junk);
            }
            // Duplicate a stretch (repeated frames, chunks, atoms).
            6 => {
                let n = 1 + rng.below(512.min(d.len() - at));
                let piece = d[at..at + n].to_vec();
                let to = rng.below(d.len());
                d.splice(to..to, piece);
            }
            // Early bytes matter most (headers): hit the first 64.
            _ => {
                let i = rng.below(64.min(d.len()));
                d[i] = rng.next() as u8;
            }
        }
    }
    d
}

/// The corpus: a short sine in every format, plus two tagged ones.
fn corpus(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let wav = dir.join("seed.wav");
    write_sine_wav(&wav, 440.0, 1.5, 22050, 2);
    let mut out = vec![("wav".to_string(), std::fs::read(&wav).expect("read"))];
    let tags = common::Tags {
        title: "Fuzz",
        artist: "Corpus",
        album: "Seeds",
        track: 3,
        year: 2026,
        genre: "Test",
    };
    for (i, (ext, codec, label)) in FORMATS.iter().enumerate().skip(1) {
        let p = dir.join(format!("seed{i}.{ext}"));
        encode(&wav, &p, codec, (i % 2 == 0).then_some(&tags));
        out.push((label.to_string(), std::fs::read(&p).expect("read")));
    }
    out
}

fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// Runs the three targets on `path` on a thread of its own, under the time limit. Errors
/// are fine (a damaged file may be refused); a panic or a hang is not.
fn run_targets(path: &Path) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    let p = path.to_path_buf();
    std::thread::Builder::new()
        .name("fuzz-input".into())
        .spawn(move || {
            let r = std::panic::catch_unwind(|| {
                let _ = valence::library::read_tags(&p);
                let _ = valence::audio::decode_mono(&p, Some(16_000), None);
                if let Ok(mut prep) = Preparer::new() {
                    let _ = prep.prepare(&p, PatchPlan::new(3), &AtomicBool::new(false));
                }
            });
            let _ = tx.send(r.map_err(|e| {
                e.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a panic".into())
            }));
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    match rx.recv_timeout(PER_INPUT) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(panic)) => Err(format!("panicked: {panic}")),
        Err(_) => Err(format!("hung for more than {PER_INPUT:?}")),
    }
}

fn keep_failure(name: &str, data: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join(name);
    let _ = std::fs::write(&p, data);
    p
}

#[test]
fn fuzz_tags_decoding_and_features() {
    let secs: u64 = std::env::var("VALENCE_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let (mut rng, seed) = Rng::from_env_or_clock("VALENCE_FUZZ_SEED", "fuzz");
    eprintln!("fuzz: VALENCE_FUZZ_SECS={secs}");
    // Panics inside the decoders are contained by Valence (`audio::contain`) and become an
    // error for the file; count them by place instead of printing a backtrace each.
    let contained: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    {
        let contained = contained.clone();
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // The test's own failures are told as usual.
            if std::thread::current().name() != Some("fuzz-input") {
                return default(info);
            }
            let at = info
                .location()
                .map_or("?".into(), |l| format!("{}:{}", l.file(), l.line()));
            let at = at.rsplit("registry/src/").next().unwrap_or(&at).to_string();
            if let Ok(mut m) = contained.lock() {
                *m.entry(at).or_default() += 1;
            }
        }));
    }
    let dir = tempfile::tempdir().expect("tempdir");

    // Inputs that once failed, fixed since: replayed first, every run.
    let regressions = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut replayed = 0;
    if let Ok(entries) = std::fs::read_dir(&regressions) {
        for e in entries.filter_map(Result::ok) {
            if let Err(why) = run_targets(&e.path()) {
                panic!("regression {}: {why}", e.path().display());
            }
            replayed += 1;
        }
    }

    let seeds = corpus(dir.path());
    let started = Instant::now();
    let mut runs = 0u64;
    let mut per_format = vec![0u64; seeds.len()];
    while started.elapsed() < Duration::from_secs(secs) {
        let k = rng.below(seeds.len());
        let (label, data) = &seeds[k];
        let input = mutate(data, &mut rng);
        // The right extension, or (1 in 8) a wrong one: a mislabelled file.
        let ext = if rng.below(8) == 0 {
            ["mp3", "flac", "wav", "ogg", "m4a"][rng.below(5)]
        } else {
            FORMATS[k].0
        };
        let path = dir.path().join(format!("input.{ext}"));
        std::fs::write(&path, &input).expect("write input");
        if let Err(why) = run_targets(&path) {
            let kept = keep_failure(&format!("{seed}-{runs}.{ext}"), &input);
            panic!(
                "input {runs} (from the {label} seed; VALENCE_FUZZ_SEED={seed}) {why}; kept as {}",
                kept.display()
            );
        }
        let rss = peak_rss_mb();
        assert!(
            rss <= MAX_RSS_MB,
            "input {runs} (VALENCE_FUZZ_SEED={seed}) took the peak memory to {rss} MB; kept as {}",
            keep_failure(&format!("{seed}-{runs}.{ext}"), &input).display()
        );
        runs += 1;
        per_format[k] += 1;
    }
    let per: Vec<String> = seeds
        .iter()
        .zip(&per_format)
        .map(|((l, _), n)| format!("{l} {n}"))
        .collect();
    let _ = std::panic::take_hook();
    let contained = contained.lock().map(|m| m.clone()).unwrap_or_default();
    eprintln!(
        "fuzz: {runs} inputs in {:.0} s ({:.1}/s; {}), {replayed} regressions replayed, 0 escaped panics, 0 hangs, peak RSS {} MB; panics contained as file errors: {contained:?}",
        started.elapsed().as_secs_f64(),
        runs as f64 / started.elapsed().as_secs_f64(),
        per.join(", "),
        peak_rss_mb()
    );
    assert!(runs > 0);
}
