//! `bliss-bench --jobs N FILE...`: analyses the files with bliss-rs 0.13 (its DSP features,
//! decoded by Symphonia) on N threads and prints one JSON line: files, analysed, failed,
//! seconds of audio analysed and wall seconds. Used by `tools/bench-vs-bliss.sh`.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Instant;

use bliss_audio::decoder::symphonia::SymphoniaDecoder;
use bliss_audio::decoder::Decoder as _;
use bliss_audio::AnalysisOptions;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut jobs = 2usize;
    let mut files: Vec<PathBuf> = Vec::new();
    while let Some(a) = args.next() {
        if a == "--jobs" {
            jobs = args.next().and_then(|n| n.parse().ok()).unwrap_or(2);
        } else {
            files.push(a.into());
        }
    }
    let options = AnalysisOptions {
        number_cores: NonZeroUsize::new(jobs.max(1)).unwrap_or(NonZeroUsize::MIN),
        ..AnalysisOptions::default()
    };
    let started = Instant::now();
    let (mut analysed, mut failed, mut audio_secs) = (0usize, 0usize, 0f64);
    for (path, result) in SymphoniaDecoder::analyze_paths_with_options(files.clone(), options) {
        match result {
            Ok(song) => {
                analysed += 1;
                audio_secs += song.duration.as_secs_f64();
            }
            Err(e) => {
                failed += 1;
                eprintln!("bliss-bench: {}: {e}", path.display());
            }
        }
    }
    println!(
        "{{\"files\": {}, \"analysed\": {analysed}, \"failed\": {failed}, \"audio_secs\": {audio_secs:.3}, \"wall_secs\": {:.3}}}",
        files.len(),
        started.elapsed().as_secs_f64()
    );
}
