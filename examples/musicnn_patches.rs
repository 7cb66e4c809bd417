//! Writes musicnn input patches computed by Valence's own features code, for the second
//! musicnn golden set (`tools/musicnn/regen.sh golden --patches FILE --name rust_features`).
//! Format: one JSON line `{"shape":[N,187,96]}` then little-endian f32.
//! Usage: cargo run --example musicnn_patches -- OUT [AUDIO_FILE]

use std::f32::consts::PI;
use std::io::Write;

use valence::features::musicnn_input::{log_mel, patches, PATCH_FRAMES, SAMPLE_RATE};

fn synth() -> Vec<f32> {
    // 9 s: a vibrato chord with a kick-like click every 0.5 s over quiet noise.
    let sr = SAMPLE_RATE as f32;
    let mut x: u32 = 12345;
    (0..(9.0 * sr) as usize)
        .map(|i| {
            let t = i as f32 / sr;
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let noise = (x as f32 / u32::MAX as f32 - 0.5) * 0.02;
            let vib = 1.0 + 0.004 * (2.0 * PI * 5.0 * t).sin();
            let chord: f32 = [261.6f32, 329.6, 392.0, 523.3]
                .iter()
                .map(|f| (2.0 * PI * f * vib * t).sin() * 0.15)
                .sum();
            let beat = t % 0.5;
            let click = (-beat * 60.0).exp() * (2.0 * PI * 60.0 * beat).sin() * 0.6;
            chord + click + noise
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = args
        .get(1)
        .ok_or_else(|| anyhow::anyhow!("usage: musicnn_patches OUT [AUDIO]"))?;
    let samples = match args.get(2) {
        Some(f) => valence::audio::decode_mono(f.as_ref(), Some(SAMPLE_RATE), Some(30.0))?.samples,
        None => synth(),
    };
    let p = patches(&log_mel(&samples)?, PATCH_FRAMES);
    let mut f = std::io::BufWriter::new(std::fs::File::create(out)?);
    writeln!(f, "{{\"shape\":[{},{},96]}}", p.len(), PATCH_FRAMES)?;
    for v in p.iter().flatten() {
        f.write_all(&v.to_le_bytes())?;
    }
    println!("{} patches -> {out}", p.len());
    Ok(())
}
