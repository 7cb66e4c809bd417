//! Sanity on unfamiliar timbres: a synthesised solo piano played the same melody faster,
//! louder and in fuller chords must sound more aroused to the model, and a fast chiptune
//! should not read as calm. The pieces go through the analyser's own route
//! (`route::FileAnalyzer`), as WAV files, like any track of a library.
//!
//! Ordered pairs: two pieces that differ in exactly one factor (tempo, loudness or chord
//! size) form a pair; the model gets it right when the "more" piece has the higher arousal.

use std::path::Path;

use serde::Serialize;

use super::route::{AnalyzeError, FileAnalyzer};

/// Notes per second.
pub const TEMPOS: [f32; 4] = [0.75, 1.5, 3.0, 6.0];
/// Peak level in dB below full scale.
pub const GAINS_DB: [f32; 3] = [-30.0, -18.0, -6.0];
/// Notes per chord.
pub const VOICES: [usize; 3] = [1, 2, 4];
const RATE: u32 = 22_050;
const SECS: f32 = 15.0;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Timbre {
    Piano,
    Chiptune,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Piece {
    pub timbre: Timbre,
    pub tempo: f32,
    pub gain_db: f32,
    pub voices: usize,
}

/// The melody: degrees of a C major scale from a fixed seeded walk, the same for every piece.
fn melody(n: usize) -> Vec<i32> {
    let mut s: u64 = 0x5EED;
    let mut d = 7i32;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let step = ((s >> 33) % 5) as i32 - 2;
            d = (d + step).clamp(0, 14);
            d
        })
        .collect()
}

fn degree_hz(d: i32) -> f32 {
    const MAJOR: [i32; 7] = [0, 2, 4, 5, 7, 9, 11];
    let semis = 12 * d.div_euclid(7) + MAJOR[d.rem_euclid(7) as usize];
    // Degree 0 = C3.
    130.81 * 2f32.powf(semis as f32 / 12.0)
}

/// The piece as mono samples at 22.05 kHz.
pub fn synth(p: &Piece) -> Vec<f32> {
    let n = (SECS * RATE as f32) as usize;
    let mut out = vec![0f32; n];
    let notes = (SECS * p.tempo).ceil() as usize;
    let mel = melody(notes);
    let dur = 1.0 / p.tempo;
    for (i, &deg) in mel.iter().enumerate() {
        let t0 = i as f32 * dur;
        // Chords stack thirds under the melody note.
        for v in 0..p.voices {
            let f0 = degree_hz(deg - 2 * v as i32);
            let start = (t0 * RATE as f32) as usize;
            let len = ((dur + 0.4).min(SECS - t0) * RATE as f32) as usize;
            for k in 0..len.min(n.saturating_sub(start)) {
                let t = k as f32 / RATE as f32;
                let s = match p.timbre {
                    Timbre::Piano => {
                        let mut s = 0.0;
                        for h in 1..=10 {
                            let hf = h as f32;
                            let f = hf * f0 * (1.0 + 4e-4 * hf * hf).sqrt();
                            if f > 10_000.0 {
                                break;
                            }
                            let decay = (-(1.2 + 0.7 * hf) * t).exp();
                            s += (2.0 * std::f32::consts::PI * f * t).sin() * decay / hf.powf(1.2);
                        }
                        // 5-ms attack; a damper after the note's time.
                        let attack = (t / 0.005).min(1.0);
                        let release = if t > dur {
                            (-(t - dur) / 0.08).exp()
                        } else {
                            1.0
                        };
                        s * attack * release
                    }
                    Timbre::Chiptune => {
                        let phase = (f0 * 2.0 * t).fract();
                        let sq = if phase < 0.5 { 1.0 } else { -1.0 };
                        if t < dur * 0.9 {
                            sq * 0.5
                        } else {
                            0.0
                        }
                    }
                };
                out[start + k] += s;
            }
        }
    }
    let peak = out.iter().fold(0f32, |m, x| m.max(x.abs())).max(1e-9);
    let g = 10f32.powf(p.gain_db / 20.0) / peak;
    out.iter_mut().for_each(|x| *x *= g);
    out
}

/// The piece as a 16-bit mono WAV file.
pub fn write_wav(path: &Path, samples: &[f32]) -> std::io::Result<()> {
    let pcm: Vec<i16> = samples
        .iter()
        .map(|s| (s.clamp(-1.0, 1.0) * 32767.0) as i16)
        .collect();
    crate::audio::write_wav_pcm16(path, &pcm, RATE, 1)
}

/// The model's reading of each piece and the ordered-pair scores.
#[derive(Debug, Clone, Serialize)]
pub struct SanityReport {
    /// (piece, valence, arousal)
    pub pieces: Vec<(Piece, f32, f32)>,
    /// (factor, right, total)
    pub pairs: Vec<(String, usize, usize)>,
    /// Share of all ordered pairs right.
    pub share: f64,
    /// Share of piano pieces read as aroused (arousal > 0).
    pub piano_aroused: f64,
}

/// Every piece of the suite: the piano grid, then a loud fast chiptune.
pub fn pieces() -> Vec<Piece> {
    let mut v = Vec::new();
    for &tempo in &TEMPOS {
        for &gain_db in &GAINS_DB {
            for &voices in &VOICES {
                v.push(Piece {
                    timbre: Timbre::Piano,
                    tempo,
                    gain_db,
                    voices,
                });
            }
        }
    }
    v.push(Piece {
        timbre: Timbre::Chiptune,
        tempo: 8.0,
        gain_db: -6.0,
        voices: 2,
    });
    v
}

/// Scores ordered pairs of `(piece, valence, arousal)` readings.
pub fn score(readings: &[(Piece, f32, f32)]) -> SanityReport {
    let piano: Vec<&(Piece, f32, f32)> = readings
        .iter()
        .filter(|r| r.0.timbre == Timbre::Piano)
        .collect();
    let mut pairs = Vec::new();
    type Key = fn(&Piece) -> f32;
    let factors: [(&str, Key, Key); 3] = [
        (
            "tempo",
            |p| p.tempo,
            |p| p.gain_db * 100.0 + p.voices as f32,
        ),
        (
            "loudness",
            |p| p.gain_db,
            |p| p.tempo * 100.0 + p.voices as f32,
        ),
        (
            "chord size",
            |p| p.voices as f32,
            |p| p.tempo * 100.0 + p.gain_db,
        ),
    ];
    for (name, level, rest) in factors {
        let (mut right, mut total) = (0, 0);
        for a in &piano {
            for b in &piano {
                if rest(&a.0) == rest(&b.0) && level(&a.0) < level(&b.0) {
                    total += 1;
                    if b.2 > a.2 {
                        right += 1;
                    }
                }
            }
        }
        pairs.push((name.to_string(), right, total));
    }
    let (r, t) = pairs.iter().fold((0, 0), |(r, t), p| (r + p.1, t + p.2));
    SanityReport {
        pieces: readings.to_vec(),
        pairs,
        share: r as f64 / t.max(1) as f64,
        piano_aroused: piano.iter().filter(|r| r.2 > 0.0).count() as f64
            / piano.len().max(1) as f64,
    }
}

/// Synthesises every piece into `dir`, analyses it and scores the pairs.
pub fn run(analyzer: &mut FileAnalyzer, dir: &Path) -> Result<SanityReport, AnalyzeError> {
    let mut readings = Vec::new();
    for (i, p) in pieces().into_iter().enumerate() {
        let path = dir.join(format!("sanity-{i:02}.wav"));
        write_wav(&path, &synth(&p)).map_err(|e| {
            AnalyzeError::Route(super::route::RouteError::Tensor(format!(
                "{}: {e}",
                path.display()
            )))
        })?;
        let e = analyzer.analyze(&path)?;
        readings.push((p, e.valence, e.arousal));
    }
    Ok(score(&readings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_scoring_counts_each_factor() {
        // A model whose arousal is tempo + loudness + voices gets every pair right; one that
        // reads arousal backwards gets none.
        let good: Vec<(Piece, f32, f32)> = pieces()
            .into_iter()
            .map(|p| (p, 0.0, p.tempo + p.gain_db / 10.0 + p.voices as f32))
            .collect();
        let r = score(&good);
        assert_eq!(r.share, 1.0);
        // 3 x 3 rest-combinations x C(4,2) tempo pairs, and so on.
        assert_eq!(r.pairs[0].2, 9 * 6);
        assert_eq!(r.pairs[1].2, 12 * 3);
        assert_eq!(r.pairs[2].2, 12 * 3);
        let bad: Vec<(Piece, f32, f32)> = good.iter().map(|(p, v, a)| (*p, *v, -a)).collect();
        assert_eq!(score(&bad).share, 0.0);
    }

    #[test]
    fn synthesis_follows_the_piece() {
        let p = Piece {
            timbre: Timbre::Piano,
            tempo: 3.0,
            gain_db: -6.0,
            voices: 2,
        };
        let x = synth(&p);
        assert_eq!(x.len(), (SECS * RATE as f32) as usize);
        let peak = x.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!((20.0 * peak.log10() + 6.0).abs() < 0.01, "peak {peak}");
        let quiet = synth(&Piece {
            gain_db: -30.0,
            ..p
        });
        let q = quiet.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!((20.0 * q.log10() + 30.0).abs() < 0.01);
    }
}
