//! Theme scenes at library scale (issue 15's budgets: a fit of 100,000 tracks of 16-60 words
//! in <= 60 s on 2 cores, fold-in <= 1 ms per track):
//!
//! - `lda_fit/100k_docs`: `themes::fit_lda` on 100,000 planted-topic documents of 16-60
//!   words (V = 128 audio words, T = 16 topics, the default 200 sweeps), one fit per sample;
//! - `lda_fit/sweep_100k_docs`: the same corpus, 1 sweep (the per-sweep cost);
//! - `lda_fold_in/track`: `Model::fold_in` of one 16-60-word track (default 50 sweeps),
//!   cycling through 1,000 tracks;
//! - `codebook/assign_track`: the words of a 27-segment track (4 minutes at stride 3),
//!   K = 128, 200-d;
//! - `kmeans/fit_20k_rows`: a 128-word codebook from 20,000 200-d rows (one start).
//!
//! `cargo bench --bench themes`: 11 fits of 100,000 documents dominate (criterion's minimum
//! of 10 samples plus the warm-up): about 7 minutes on the shared 2-core machine while
//! another build ran (median fit 37 s); `THEMES_BENCH_DOCS=N` for another corpus size. Without `--bench` (as `cargo test --benches` runs it) each routine runs once
//! on 2,000 documents.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use valence::themes::kmeans::{self, KMeansConfig};
use valence::themes::synthetic::{planted, planted_clusters, PlantedSpec};
use valence::themes::{fit_lda, LdaConfig, DEFAULT_FOLD_IN_ITERATIONS, DEFAULT_WORDS};

fn full() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn docs() -> usize {
    std::env::var("THEMES_BENCH_DOCS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if full() { 100_000 } else { 2_000 })
}

/// The bench corpus: 16 topics over 128 words (blocks of 12, 4 shared with the next),
/// Dirichlet(0.2) mixes, 16-60 tokens per document.
fn spec(docs: usize) -> PlantedSpec {
    PlantedSpec {
        topics: 16,
        vocab: DEFAULT_WORDS,
        docs,
        min_len: 16,
        max_len: 60,
        doc_alpha: 0.2,
        support: 12,
        leak: 0.05,
    }
}

fn bench(c: &mut Criterion) {
    let n = docs();
    let corpus = planted(&spec(n), 1);
    let tokens: usize = corpus.docs.iter().map(Vec::len).sum();
    eprintln!("themes bench: {n} documents, {tokens} tokens");

    let mut g = c.benchmark_group("lda_fit");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.warm_up_time(Duration::from_millis(1));
    g.measurement_time(Duration::from_secs(1));
    let name = if n == 100_000 {
        "100k_docs".to_string()
    } else {
        format!("{n}_docs")
    };
    g.bench_function(&name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let t = Instant::now();
                let fit =
                    fit_lda(&corpus.docs, DEFAULT_WORDS, &LdaConfig::new(16).seed(i)).expect("fit");
                total += t.elapsed();
                black_box(fit.tokens);
            }
            total
        })
    });
    let one = LdaConfig {
        iterations: 1,
        ..LdaConfig::new(16)
    };
    g.bench_function(format!("sweep_{name}"), |b| {
        b.iter(|| {
            black_box(
                fit_lda(&corpus.docs, DEFAULT_WORDS, &one)
                    .expect("fit")
                    .tokens,
            )
        })
    });
    g.finish();

    // Fold-in against a model fitted on (at most) 20,000 of the documents.
    let train = &corpus.docs[..n.min(20_000)];
    let model = fit_lda(train, DEFAULT_WORDS, &LdaConfig::new(16))
        .expect("fit")
        .model;
    let tracks: Vec<&Vec<u16>> = corpus.docs.iter().rev().take(1000).collect();
    let mut g = c.benchmark_group("lda_fold_in");
    g.sample_size(10);
    let mut i = 0usize;
    g.bench_function("track", |b| {
        b.iter(|| {
            i = (i + 1) % tracks.len();
            black_box(
                model
                    .fold_in(tracks[i], DEFAULT_FOLD_IN_ITERATIONS, i as u64)
                    .expect("fold-in"),
            )
        })
    });
    g.finish();

    let rows = if full() { 20_000 } else { 2_000 };
    let (data, _) = planted_clusters(200, rows / 200, 200, 0.8, 2);
    let cfg = KMeansConfig {
        k: DEFAULT_WORDS,
        max_iter: 100,
        restarts: 1,
        seed: 1,
    };
    let codebook = kmeans::fit(&data, 200, &cfg).expect("k-means").codebook;
    let mut g = c.benchmark_group("codebook");
    g.sample_size(10);
    let track = &data[..27 * 200];
    g.bench_function("assign_track", |b| {
        b.iter(|| black_box(codebook.assign_batch(track).expect("assign")))
    });
    g.finish();

    let mut g = c.benchmark_group("kmeans");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.warm_up_time(Duration::from_millis(1));
    g.measurement_time(Duration::from_secs(1));
    g.bench_function(format!("fit_{}k_rows", rows / 1000), |b| {
        b.iter(|| black_box(kmeans::fit(&data, 200, &cfg).expect("k-means").iterations))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
