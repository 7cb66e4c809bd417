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

/// An EBU R128 meter fed with a track's interleaved samples as they are decoded.
pub struct LoudnessMeter {
    meter: ebur128::EbuR128,
    channels: usize,
    /// Frames per 100 ms: gating blocks start every hop.
    hop: usize,
    /// Frames fed since the start, to find each block's end.
    frames: u64,
    /// Per 0.1-LU bin: blocks and the sum of their energies.
    hist: Vec<(u32, f64)>,
}

impl LoudnessMeter {
    pub fn new(channels: u16, rate: u32) -> Result<Self, MeterError> {
        use ebur128::Mode;
        let meter = ebur128::EbuR128::new(u32::from(channels), rate, Mode::I | Mode::SAMPLE_PEAK)
            .map_err(|e| MeterError(format!("{e:?}")))?;
        Ok(Self {
            meter,
            channels: usize::from(channels.max(1)),
            hop: (rate as usize / 10).max(1),
            frames: 0,
            hist: vec![(0, 0.0); HIST_BINS],
        })
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Adds interleaved frames (`samples.len()` a multiple of the channel count).
    pub fn add(&mut self, samples: &[f32]) -> Result<(), MeterError> {
        let mut rest = samples;
        while !rest.is_empty() {
            // Feed up to the next 100-ms boundary, where a gating block ends.
            let to_boundary = self.hop - (self.frames % self.hop as u64) as usize;
            let take = (to_boundary * self.channels).min(rest.len());
            let (now, later) = rest.split_at(take - take % self.channels);
            if now.is_empty() {
                break;
            }
            self.meter
                .add_frames_f32(now)
                .map_err(|e| MeterError(format!("{e:?}")))?;
            self.frames += (now.len() / self.channels) as u64;
            rest = later;
            // A block is the last 400 ms; the first one ends 400 ms in.
            if self.frames % self.hop as u64 == 0 && self.frames >= 4 * self.hop as u64 {
                if let Ok(l) = self.meter.loudness_momentary() {
                    if l.is_finite() && l > HIST_FLOOR {
                        let bin = ((l - HIST_FLOOR) / HIST_STEP) as usize;
                        let h = &mut self.hist[bin.min(HIST_BINS - 1)];
                        h.0 += 1;
                        h.1 += energy(l);
                    }
                }
            }
        }
        Ok(())
    }

    /// The measurement, or `None` for a track too short or too quiet to have one (under
    /// 400 ms, or silence).
    pub fn finish(&self) -> Option<Loudness> {
        let integrated_lufs = self.meter.loudness_global().ok()?;
        if !integrated_lufs.is_finite() {
            return None;
        }
        let sample_peak = (0..self.channels as u32)
            .filter_map(|c| self.meter.sample_peak(c).ok())
            .fold(0.0f64, f64::max);
        let blocks = self
            .hist
            .iter()
            .enumerate()
            .filter(|(_, (n, _))| *n > 0)
            .map(|(bin, (n, e))| BlockBin {
                bin: bin as u16,
                count: *n,
                mean_lufs: (10.0 * (e / f64::from(*n)).log10()) as f32,
            })
            .collect();
        Some(Loudness {
            integrated_lufs,
            sample_peak,
            blocks,
        })
    }
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
        let meters: Vec<LoudnessMeter> = tracks
            .iter()
            .map(|x| {
                let mut m = LoudnessMeter::new(2, 48_000).unwrap();
                for c in x.chunks(4800 * 2) {
                    m.add(c).unwrap();
                }
                m
            })
            .collect();
        let reference =
            ebur128::EbuR128::loudness_global_multiple(meters.iter().map(|m| &m.meter)).unwrap();
        let measured: Vec<Loudness> = meters.iter().map(|m| m.finish().unwrap()).collect();
        let album = album_loudness(measured.iter().map(|l| l.blocks.as_slice())).unwrap();
        assert!((album - reference).abs() < 0.01, "{album} vs {reference}");
        let blob = measured[1].blocks_blob();
        assert_eq!(Loudness::blocks_from_blob(&blob), measured[1].blocks);
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
