//! Feature-extraction speed. `cargo bench --bench features`.
//!
//! Prints "x realtime" (audio seconds / compute seconds, one thread) for the musicnn
//! log-mel (30 s at 16 kHz) and for the 66-dim segment descriptors (30 s at 22050 Hz),
//! then runs the criterion benchmarks (time per 30-s clip).

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use valence::features::{musicnn_input, segment_descriptors};

const SECONDS: f64 = 30.0;

/// Deterministic music-like test signal: a few partials, amplitude modulation, noise.
fn synth(sr: u32) -> Vec<f32> {
    let n = (SECONDS * sr as f64) as usize;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|i| {
            let t = i as f64 / sr as f64;
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            let beat = (-(t * 2.0).fract() * 8.0).exp();
            let tone = [220.0, 277.18, 329.63, 440.0]
                .iter()
                .map(|f| (2.0 * std::f64::consts::PI * f * t).sin())
                .sum::<f64>();
            (0.15 * tone * (0.6 + 0.4 * beat) + 0.1 * noise * beat) as f32
        })
        .collect()
}

/// CPU time of this thread in seconds (Linux `/proc/thread-self/schedstat`), if available.
fn thread_cpu_s() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}

/// (x realtime by wall clock, x realtime by this thread's CPU time).
fn x_realtime<F: FnMut()>(mut f: F) -> (f64, Option<f64>) {
    f();
    let mut iters = 0u32;
    let cpu0 = thread_cpu_s();
    let start = Instant::now();
    while iters < 3 || start.elapsed().as_secs_f64() < 3.0 {
        f();
        iters += 1;
    }
    let wall = start.elapsed().as_secs_f64();
    let audio = SECONDS * iters as f64;
    let cpu = match (cpu0, thread_cpu_s()) {
        (Some(a), Some(b)) if b > a => Some(audio / (b - a)),
        _ => None,
    };
    (audio / wall, cpu)
}

fn report(what: &str, (wall, cpu): (f64, Option<f64>)) {
    match cpu {
        Some(c) => eprintln!(
            "{what}: {wall:.0}x realtime (wall clock), {c:.0}x realtime (thread CPU time)"
        ),
        None => eprintln!("{what}: {wall:.0}x realtime (wall clock)"),
    }
}

fn benches(c: &mut Criterion) {
    let y16 = synth(musicnn_input::SAMPLE_RATE);
    let y22 = synth(22050);
    let mut ex = musicnn_input::Extractor::new().expect("extractor");
    report(
        "musicnn log-mel (30 s @ 16 kHz, reused Extractor)",
        x_realtime(|| {
            black_box(ex.log_mel(black_box(&y16)).expect("log mel"));
        }),
    );
    report(
        "musicnn log-mel (30 s @ 16 kHz, musicnn_input::log_mel)",
        x_realtime(|| {
            black_box(musicnn_input::log_mel(black_box(&y16)).expect("log mel"));
        }),
    );
    report(
        "segment descriptors (30 s @ 22050 Hz, 10 x 66 dims)",
        x_realtime(|| {
            black_box(segment_descriptors(black_box(&y22), 22050).expect("desc"));
        }),
    );

    c.bench_function("musicnn_log_mel_30s", |b| {
        b.iter(|| musicnn_input::log_mel(black_box(&y16)).expect("log mel"))
    });
    c.bench_function("segment_descriptors_30s", |b| {
        b.iter(|| segment_descriptors(black_box(&y22), 22050).expect("desc"))
    });
}

criterion_group! {
    name = features;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(features);
