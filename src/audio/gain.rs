//! ReplayGain: which gain playback applies. The loudness itself is measured during analysis
//! (EBU R128) or read from a file's ReplayGain tags.

use serde::{Deserialize, Serialize};

/// Which gain playback applies to a track: none, the track's own, or its album's (so the
/// loudness steps between an album's songs stay as mastered). Kept in the settings file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplayGainMode {
    Off,
    #[default]
    Track,
    Album,
}

impl ReplayGainMode {
    pub const ALL: [ReplayGainMode; 3] = [Self::Off, Self::Track, Self::Album];

    /// The word shown in the window and the settings file.
    pub fn label(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Track => "track",
            Self::Album => "album",
        }
    }
}

impl std::fmt::Display for ReplayGainMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// ReplayGain 2.0's reference: a track at -18 LUFS plays at gain 0 dB.
pub const REFERENCE_LUFS: f64 = -18.0;

/// Loudness histograms: gating-block loudness in 0.1 LU bins from -70 LUFS (the absolute
/// gate) up to +10 LUFS.
const HIST_FLOOR: f64 = -70.0;
const HIST_STEP: f64 = 0.1;
const HIST_BINS: usize = 800;

/// One bin of a gating-block histogram: how many blocks fell in it and the mean of their
/// energies (as LUFS), so sums over bins are exact and only the gate's own bin is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BlockBin {
    pub bin: u16,
    pub count: u32,
    pub mean_lufs: f32,
}

/// What analysis measured of a track's loudness (EBU R128 / ITU-R BS.1770).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Loudness {
    /// Integrated (programme) loudness, LUFS.
    pub integrated_lufs: f64,
    /// Largest absolute sample value over all channels (1.0 = full scale).
    pub sample_peak: f64,
    /// The loudness of every 400-ms gating block above the absolute gate, as a sparse
    /// histogram of 0.1-LU bins: with the other tracks' it gives the album's integrated
    /// loudness as one meter over the whole album would. Stored, not printed.
    #[serde(skip_serializing, default)]
    pub blocks: Vec<BlockBin>,
}

impl Loudness {
    /// ReplayGain track gain in dB: what brings the track to the reference.
    pub fn gain_db(&self) -> f64 {
        REFERENCE_LUFS - self.integrated_lufs
    }

    /// The histogram as bytes for the store (little-endian u16 bin, u32 count, f32 mean).
    pub fn blocks_blob(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.blocks.len() * 10);
        for b in &self.blocks {
            out.extend_from_slice(&b.bin.to_le_bytes());
            out.extend_from_slice(&b.count.to_le_bytes());
            out.extend_from_slice(&b.mean_lufs.to_le_bytes());
        }
        out
    }

    /// Reads [`Loudness::blocks_blob`]'s bytes; bins out of range are dropped.
    pub fn blocks_from_blob(b: &[u8]) -> Vec<BlockBin> {
        b.chunks_exact(10)
            .map(|c| BlockBin {
                bin: u16::from_le_bytes([c[0], c[1]]),
                count: u32::from_le_bytes([c[2], c[3], c[4], c[5]]),
                mean_lufs: f32::from_le_bytes([c[6], c[7], c[8], c[9]]),
            })
            .filter(|b| (b.bin as usize) < HIST_BINS && b.mean_lufs.is_finite())
            .collect()
    }
}

fn energy(lufs: f64) -> f64 {
    10f64.powf(lufs / 10.0)
}

/// The integrated loudness of several tracks played one after another (an album), from
/// their gating-block histograms: BS.1770's two gates applied to all the blocks together.
/// Bins above the relative gate count exactly; the bin the gate falls in counts in
/// proportion to the part of it above the gate. `None` when no block is above the absolute
/// gate (silence).
pub fn album_loudness<'a>(tracks: impl IntoIterator<Item = &'a [BlockBin]>) -> Option<f64> {
    let mut count = vec![0f64; HIST_BINS];
    let mut sum = vec![0f64; HIST_BINS];
    for blocks in tracks {
        for b in blocks {
            if let (Some(c), Some(e)) = (count.get_mut(b.bin as usize), sum.get_mut(b.bin as usize))
            {
                *c += f64::from(b.count);
                *e += f64::from(b.count) * energy(f64::from(b.mean_lufs));
            }
        }
    }
    let all: f64 = count.iter().sum();
    if all <= 0.0 {
        return None;
    }
    let gate = 10.0 * (sum.iter().sum::<f64>() / all).log10() - 10.0;
    let (mut n, mut e) = (0.0, 0.0);
    for bin in 0..HIST_BINS {
        let lo = HIST_FLOOR + bin as f64 * HIST_STEP;
        let share = ((lo + HIST_STEP - gate) / HIST_STEP).clamp(0.0, 1.0);
        n += share * count[bin];
        e += share * sum[bin];
    }
    (n > 0.0).then(|| 10.0 * (e / n).log10())
}

/// Why loudness could not be measured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("loudness meter: {0}")]
pub struct MeterError(String);

/// The most channels the meter takes (as libebur128).
const MAX_CHANNELS: u16 = 64;

/// ITU-R BS.1770-4 / EBU R128 integrated loudness, fed with a track's interleaved samples as
/// they are decoded. Written out rather than taken from the `ebur128` crate because analysis
/// needs each gating block's loudness (for album gain) and the crate only gives the last
/// 400 ms window, recomputed per call: that doubled the decoder's time. The filter and
/// channel weights are libebur128's; tests hold it to the crate and to ffmpeg.
pub struct LoudnessMeter {
    channels: usize,
    /// K-weighting as one 4th-order IIR: the high-shelf and high-pass biquads convolved.
    b: [f64; 5],
    a: [f64; 5],
    /// Filter state per channel (direct form II).
    state: Vec<[f64; 4]>,
    /// BS.1770 channel weights (1 for L, R, C; 0 for LFE; 1.41 for surrounds).
    weight: Vec<f64>,
    /// Frames per 100 ms: gating blocks (400 ms) start every hop.
    hop: usize,
    in_hop: usize,
    /// Weighted sum of squares of the current hop, and of the last three finished hops.
    hop_sum: f64,
    last_hops: [f64; 3],
    hops_done: u64,
    /// Every gating block's mean square (energy), in order.
    blocks: Vec<f64>,
    peak: f32,
}

impl LoudnessMeter {
    pub fn new(channels: u16, rate: u32) -> Result<Self, MeterError> {
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(MeterError(format!("{channels} channels")));
        }
        if !(crate::audio::decode::MIN_SAMPLE_RATE..=crate::audio::decode::MAX_SAMPLE_RATE)
            .contains(&rate)
        {
            return Err(MeterError(format!("sample rate {rate} Hz")));
        }
        let (b, a) = k_weighting(f64::from(rate));
        let weight = (0..channels)
            .map(|c| match c {
                3 => 0.0,
                4 | 5 => 1.41,
                6.. => 0.0,
                _ => 1.0,
            })
            .collect();
        Ok(Self {
            channels: usize::from(channels),
            b,
            a,
            state: vec![[0.0; 4]; usize::from(channels)],
            weight,
            hop: ((rate as usize + 5) / 10).max(1),
            in_hop: 0,
            hop_sum: 0.0,
            last_hops: [0.0; 3],
            hops_done: 0,
            blocks: Vec::new(),
            peak: 0.0,
        })
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Adds interleaved frames (a trailing partial frame is ignored).
    pub fn add(&mut self, samples: &[f32]) -> Result<(), MeterError> {
        // Mono and stereo (nearly all music) get a loop the compiler keeps in registers.
        match self.channels {
            1 => self.add_fixed::<1>(samples),
            2 => self.add_fixed::<2>(samples),
            _ => self.add_any(samples),
        }
        // Denormals in a long silence would slow the filter down a hundredfold.
        for v in &mut self.state {
            for s in v.iter_mut() {
                if s.abs() < 1e-30 {
                    *s = 0.0;
                }
            }
        }
        Ok(())
    }

    /// One filter step: the sample's K-weighted square, with `v` the channel's state.
    #[inline(always)]
    fn step(b: &[f64; 5], a: &[f64; 5], v: &mut [f64; 4], x: f32) -> f64 {
        // The newest state last: the sum of the older terms does not wait for it, so the
        // recursion's critical path is one multiply-subtract per sample.
        let older = f64::from(x) - a[4] * v[3] - a[3] * v[2] - a[2] * v[1];
        let v0 = older - a[1] * v[0];
        let y = b[4] * v[3] + b[3] * v[2] + b[2] * v[1] + b[1] * v[0] + b[0] * v0;
        *v = [v0, v[0], v[1], v[2]];
        y * y
    }

    /// `C` channels, all weighted 1 (mono, stereo).
    fn add_fixed<const C: usize>(&mut self, samples: &[f32]) {
        let (b, a) = (self.b, self.a);
        let mut st = [[0.0; 4]; C];
        st.copy_from_slice(&self.state[..C]);
        let mut peak = self.peak;
        let mut rest = samples;
        while rest.len() >= C {
            // Up to the end of the current hop, in one tight loop.
            let frames = (self.hop - self.in_hop).min(rest.len() / C);
            let (now, later) = rest.split_at(frames * C);
            let mut sum = 0.0;
            for frame in now.chunks_exact(C) {
                for c in 0..C {
                    peak = peak.max(frame[c].abs());
                    sum += Self::step(&b, &a, &mut st[c], frame[c]);
                }
            }
            self.hop_sum += sum;
            self.in_hop += frames;
            if self.in_hop == self.hop {
                self.end_hop();
            }
            rest = later;
        }
        self.state[..C].copy_from_slice(&st);
        self.peak = peak;
    }

    /// Any layout, with BS.1770's channel weights.
    fn add_any(&mut self, samples: &[f32]) {
        let (b, a) = (self.b, self.a);
        for frame in samples.chunks_exact(self.channels) {
            let mut sum = 0.0;
            for (c, &x) in frame.iter().enumerate() {
                self.peak = self.peak.max(x.abs());
                let w = self.weight[c];
                if w != 0.0 {
                    sum += w * Self::step(&b, &a, &mut self.state[c], x);
                }
            }
            self.hop_sum += sum;
            self.in_hop += 1;
            if self.in_hop == self.hop {
                self.end_hop();
            }
        }
    }

    fn end_hop(&mut self) {
        let h = self.hop_sum;
        self.hops_done += 1;
        if self.hops_done >= 4 {
            let sum: f64 = self.last_hops.iter().sum::<f64>() + h;
            self.blocks.push(sum / (4 * self.hop) as f64);
        }
        self.last_hops = [self.last_hops[1], self.last_hops[2], h];
        self.hop_sum = 0.0;
        self.in_hop = 0;
    }

    /// The measurement, or `None` for a track too short or too quiet to have one (under
    /// 400 ms, or silence).
    pub fn finish(&self) -> Option<Loudness> {
        let mut hist = vec![(0u32, 0f64); HIST_BINS];
        let (mut n, mut sum) = (0usize, 0.0);
        for &e in &self.blocks {
            let l = block_lufs(e);
            if l > HIST_FLOOR {
                let bin = ((l - HIST_FLOOR) / HIST_STEP) as usize;
                let h = &mut hist[bin.min(HIST_BINS - 1)];
                h.0 += 1;
                h.1 += e;
                n += 1;
                sum += e;
            }
        }
        if n == 0 {
            return None;
        }
        let gate = block_lufs(sum / n as f64) - 10.0;
        let kept: Vec<f64> = self
            .blocks
            .iter()
            .copied()
            .filter(|&e| block_lufs(e) > HIST_FLOOR && block_lufs(e) > gate)
            .collect();
        if kept.is_empty() {
            return None;
        }
        let integrated_lufs = block_lufs(kept.iter().sum::<f64>() / kept.len() as f64);
        let blocks = hist
            .iter()
            .enumerate()
            .filter(|(_, (n, _))| *n > 0)
            .map(|(bin, (n, e))| BlockBin {
                bin: bin as u16,
                count: *n,
                mean_lufs: block_lufs(e / f64::from(*n)) as f32,
            })
            .collect();
        Some(Loudness {
            integrated_lufs,
            sample_peak: f64::from(self.peak),
            blocks,
        })
    }
}

/// A gating block's loudness from its weighted mean square (BS.1770's -0.691 dB offset).
fn block_lufs(energy: f64) -> f64 {
    -0.691 + 10.0 * energy.log10()
}

/// BS.1770's K-weighting at `rate` Hz as one 4th-order IIR (b, a): libebur128's
/// pre-filter (high shelf) and RLB high-pass, convolved.
fn k_weighting(rate: f64) -> ([f64; 5], [f64; 5]) {
    use std::f64::consts::PI;
    let (f0, g, q) = (1681.974450955533, 3.999843853973347, 0.7071752369554196);
    let k = (PI * f0 / rate).tan();
    let vh = 10f64.powf(g / 20.0);
    let vb = vh.powf(0.4996667741545416);
    let a0 = 1.0 + k / q + k * k;
    let pb = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
    ];
    let pa = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0];
    let (f0, q) = (38.13547087602444, 0.5003270373238773);
    let k = (PI * f0 / rate).tan();
    let rb = [1.0, -2.0, 1.0];
    let d = 1.0 + k / q + k * k;
    let ra = [1.0, 2.0 * (k * k - 1.0) / d, (1.0 - k / q + k * k) / d];
    let conv = |x: [f64; 3], y: [f64; 3]| {
        [
            x[0] * y[0],
            x[0] * y[1] + x[1] * y[0],
            x[0] * y[2] + x[1] * y[1] + x[2] * y[0],
            x[1] * y[2] + x[2] * y[1],
            x[2] * y[2],
        ]
    };
    (conv(pb, rb), conv(pa, ra))
}

/// One ReplayGain value: the gain in dB and the peak it was measured with (linear, 1.0 =
/// full scale), from a file's tags or from analysis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Gain {
    pub db: f32,
    pub peak: Option<f32>,
}

/// The ReplayGain values known for a track.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackGain {
    pub track: Option<Gain>,
    pub album: Option<Gain>,
}

impl TrackGain {
    /// The linear factor playback applies in `mode`: album mode falls back to the track's
    /// gain when the album's is not known. Peak protection: the factor never lifts the
    /// track's peak above full scale, so a gain never clips.
    pub fn factor(&self, mode: ReplayGainMode) -> f32 {
        let gain = match mode {
            ReplayGainMode::Off => None,
            ReplayGainMode::Track => self.track,
            ReplayGainMode::Album => self.album.or(self.track),
        };
        let Some(g) = gain else { return 1.0 };
        if !g.db.is_finite() {
            return 1.0;
        }
        let mut factor = 10f32.powf(g.db / 20.0);
        if let Some(peak) = g.peak.filter(|p| p.is_finite() && *p > 0.0) {
            factor = factor.min(1.0 / peak);
        }
        factor
    }
}

/// Parses a ReplayGain gain tag ("-6.48 dB", "+1.2 dB", "-6.48").
pub fn parse_gain_tag(s: &str) -> Option<f32> {
    let t = s.trim();
    let t = t
        .strip_suffix("dB")
        .or_else(|| t.strip_suffix("db"))
        .or_else(|| t.strip_suffix("DB"))
        .unwrap_or(t)
        .trim();
    let v: f32 = t.strip_prefix('+').unwrap_or(t).parse().ok()?;
    // Real gains stay within a few tens of dB; anything else is a broken tag.
    (v.is_finite() && v.abs() <= 60.0).then_some(v)
}

/// Parses a ReplayGain peak tag ("0.988547", linear, 1.0 = full scale).
pub fn parse_peak_tag(s: &str) -> Option<f32> {
    let v: f32 = s.trim().parse().ok()?;
    (v.is_finite() && v > 0.0 && v <= 100.0).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, secs: f64, amp: f32, channels: usize) -> Vec<f32> {
        let n = (rate as f64 * secs) as usize;
        (0..n)
            .flat_map(|i| {
                let s = amp * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / rate as f32).sin();
                std::iter::repeat_n(s, channels)
            })
            .collect()
    }

    fn measure(samples: &[f32], channels: u16, piece: usize) -> Loudness {
        let mut m = LoudnessMeter::new(channels, 48_000).unwrap();
        for c in samples.chunks(piece * channels as usize) {
            m.add(c).unwrap();
        }
        m.finish().unwrap()
    }

    #[test]
    fn a_sine_at_minus_20_dbfs_in_both_channels_is_minus_20_lufs() {
        // EBU Tech 3341: a 1 kHz stereo sine at -23 dBFS reads -23 LUFS; same shift here.
        let l = measure(&sine(48_000, 10.0, 0.1, 2), 2, 1152);
        assert!(
            (l.integrated_lufs + 20.0).abs() < 0.1,
            "{}",
            l.integrated_lufs
        );
        assert!((l.sample_peak - 0.1).abs() < 1e-3);
        assert!((l.gain_db() - 2.0).abs() < 0.1);
    }

    #[test]
    fn the_histogram_gives_the_integrated_loudness_whatever_the_piece_sizes() {
        let mut x = sine(48_000, 6.0, 0.3, 2);
        x.extend(sine(48_000, 6.0, 0.03, 2));
        for piece in [1, 333, 4096] {
            let l = measure(&x, 2, piece);
            let from_hist = album_loudness([l.blocks.as_slice()]).unwrap();
            assert!(
                (from_hist - l.integrated_lufs).abs() < 0.01,
                "piece {piece}: {from_hist} vs {}",
                l.integrated_lufs
            );
        }
    }

    /// A 1 kHz sine whose level swings by ±`swing` dB around `db` dBFS, once a second.
    fn swinging(db: f32, swing: f32, secs: f64) -> Vec<f32> {
        let rate = 48_000.0;
        (0..(rate * secs) as usize)
            .flat_map(|i| {
                let t = i as f32 / rate as f32;
                let level = db + swing * (2.0 * std::f32::consts::PI * t).sin();
                let s = 10f32.powf(level / 20.0) * (2.0 * std::f32::consts::PI * 1000.0 * t).sin();
                [s, s]
            })
            .collect()
    }

    #[test]
    fn album_loudness_is_libebur128s_loudness_over_all_the_tracks() {
        // libebur128's loudness of several meters (what album-gain taggers compute): the
        // blocks of all tracks gated together. Levels chosen so the relative gate falls
        // inside the quiet track's blocks.
        let tracks = [swinging(-6.0, 3.0, 8.0), swinging(-17.0, 6.0, 8.0)];
        let feed = |x: &[f32]| {
            let mut ours = LoudnessMeter::new(2, 48_000).unwrap();
            let mut theirs = ebur128::EbuR128::new(2, 48_000, ebur128::Mode::I).unwrap();
            for c in x.chunks(4800 * 2) {
                ours.add(c).unwrap();
                theirs.add_frames_f32(c).unwrap();
            }
            (ours.finish().unwrap(), theirs)
        };
        let (measured, refs): (Vec<Loudness>, Vec<ebur128::EbuR128>) =
            tracks.iter().map(|x| feed(x)).unzip();
        let reference = ebur128::EbuR128::loudness_global_multiple(refs.iter()).unwrap();
        let album = album_loudness(measured.iter().map(|l| l.blocks.as_slice())).unwrap();
        assert!((album - reference).abs() < 0.01, "{album} vs {reference}");
        let blob = measured[1].blocks_blob();
        assert_eq!(Loudness::blocks_from_blob(&blob), measured[1].blocks);
    }

    #[test]
    fn integrated_loudness_is_libebur128s_at_every_rate_and_layout() {
        for (rate, channels) in [
            (44_100, 2u16),
            (48_000, 1),
            (22_050, 2),
            (96_000, 6),
            (8_000, 2),
        ] {
            // Noise-like music: sines of several frequencies, with a level that moves.
            let n = rate as usize * 5;
            let x: Vec<f32> = (0..n)
                .flat_map(|i| {
                    let t = i as f32 / rate as f32;
                    let env = 0.3 * (1.0 + 0.8 * (2.0 * std::f32::consts::PI * 0.7 * t).sin());
                    (0..channels).map(move |c| {
                        let f = 60.0 * (c as f32 + 1.0);
                        env * ((2.0 * std::f32::consts::PI * f * t).sin()
                            + 0.5 * (2.0 * std::f32::consts::PI * 2500.0 * t).sin())
                    })
                })
                .collect();
            let mut ours = LoudnessMeter::new(channels, rate).unwrap();
            let mut theirs = ebur128::EbuR128::new(
                u32::from(channels),
                rate,
                ebur128::Mode::I | ebur128::Mode::SAMPLE_PEAK,
            )
            .unwrap();
            for c in x.chunks(1000 * channels as usize) {
                ours.add(c).unwrap();
                theirs.add_frames_f32(c).unwrap();
            }
            let ours = ours.finish().unwrap();
            let want = theirs.loudness_global().unwrap();
            assert!(
                (ours.integrated_lufs - want).abs() < 0.01,
                "{rate} Hz x{channels}: {} vs libebur128 {want}",
                ours.integrated_lufs
            );
            let peak = (0..u32::from(channels))
                .map(|c| theirs.sample_peak(c).unwrap())
                .fold(0.0f64, f64::max);
            assert!((ours.sample_peak - peak).abs() < 1e-6);
        }
    }

    #[test]
    fn silence_and_tiny_files_have_no_loudness() {
        let mut m = LoudnessMeter::new(2, 48_000).unwrap();
        m.add(&vec![0.0; 48_000 * 2]).unwrap();
        assert_eq!(m.finish(), None);
        let mut m = LoudnessMeter::new(1, 48_000).unwrap();
        m.add(&sine(48_000, 0.2, 0.5, 1)).unwrap();
        assert_eq!(m.finish(), None);
    }

    #[test]
    fn factor_applies_the_mode_and_never_clips() {
        let g = TrackGain {
            track: Some(Gain {
                db: -6.0,
                peak: Some(0.9),
            }),
            album: Some(Gain {
                db: 6.0,
                peak: Some(0.8),
            }),
        };
        assert_eq!(g.factor(ReplayGainMode::Off), 1.0);
        assert!((g.factor(ReplayGainMode::Track) - 0.501).abs() < 1e-3);
        // +6 dB would lift the 0.8 peak to 1.6: held at 1 / 0.8.
        assert!((g.factor(ReplayGainMode::Album) - 1.25).abs() < 1e-6);
        let only_track = TrackGain { album: None, ..g };
        assert_eq!(
            only_track.factor(ReplayGainMode::Album),
            only_track.factor(ReplayGainMode::Track)
        );
        assert_eq!(TrackGain::default().factor(ReplayGainMode::Track), 1.0);
    }

    #[test]
    fn tags_parse() {
        assert_eq!(parse_gain_tag("-6.48 dB"), Some(-6.48));
        assert_eq!(parse_gain_tag("+1.50 dB"), Some(1.5));
        assert_eq!(parse_gain_tag(" -3 "), Some(-3.0));
        assert_eq!(parse_gain_tag("loud"), None);
        assert_eq!(parse_gain_tag("-900 dB"), None);
        assert_eq!(parse_peak_tag("0.988547"), Some(0.988547));
        assert_eq!(parse_peak_tag("-1"), None);
    }
}
