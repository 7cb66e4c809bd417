//! Decode and features for one track, in one streaming pass: a single decode at the file's
//! own rate feeds a 16 kHz branch (musicnn log-mel of the whole track, for the analysed
//! patches and the thumbnail) and a 22.05 kHz branch (descriptors of the analysed segments
//! only). Memory is bounded by the analysed patches, not by the track's length.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::audio::{AudioError, AudioStream, MonoResampler};
use crate::features::musicnn_input::{self, Extractor, HOP, N_MELS, PATCH_FRAMES};
use crate::features::{DescriptorExtractor, FeatureError, DESCRIPTOR_SAMPLE_RATE, SEGMENT_SAMPLES};
use crate::library::Thumbnail;

/// Thumbnail: mel bands are pooled in pairs (96 -> 48 rows) ...
pub const THUMB_ROWS: usize = N_MELS / 2;
/// ... and frames in columns of 16 (~0.26 s), then averaged down to at most this width.
pub const THUMB_MAX_COLS: usize = 400;
const THUMB_FRAMES_PER_COL: usize = 16;
/// Log-mel frames are computed in blocks of at least this many (fewer calls, same values).
const MEL_BLOCK: usize = 64;

#[derive(Debug, Clone, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Features(#[from] FeatureError),
    #[error("the file holds no audio")]
    Empty,
    #[error("cancelled")]
    Cancelled,
}

/// Which musicnn patches (3-s, non-overlapping) are analysed: patch `i` when
/// `i % stride == stride / 2`, the middle patch of each `stride`-patch window. A track too
/// short to reach one falls back to its last whole patch (or its zero-padded start).
///
/// `shifted`: the grid starts half a patch (1.496 s) into the audio, so its patches
/// overlap the unshifted grid's by half. Training uses it to measure overlapping patches
/// at test time (the unshifted and shifted patches together); the analyser does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchPlan {
    pub stride: usize,
    pub shifted: bool,
}

/// Half a patch at 16 kHz (187 x 256 / 2 samples), and the same time at 22.05 kHz.
const SHIFT_16K: usize = PATCH_FRAMES * HOP / 2;
const SHIFT_22K: usize = SHIFT_16K * DESCRIPTOR_SAMPLE_RATE as usize / 16_000;

impl PatchPlan {
    pub fn new(stride: usize) -> Self {
        Self {
            stride: stride.max(1),
            shifted: false,
        }
    }
    /// The same plan on the grid shifted by half a patch.
    pub fn shifted(self) -> Self {
        Self {
            shifted: true,
            ..self
        }
    }
    pub fn offset(&self) -> usize {
        self.stride / 2
    }
    pub fn selects(&self, i: usize) -> bool {
        i % self.stride == self.offset()
    }
}

/// What the network stage needs for one track.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Decoded duration in seconds.
    pub duration_s: f64,
    /// Indices of the analysed patches (ascending).
    pub patch_index: Vec<usize>,
    /// The analysed patches, `patch_index.len() * 187 * 96` values, `[patch][frame][mel]`.
    pub patches: Vec<f32>,
    /// One seed-000 descriptor per analysed patch (its 3-s segment at 22.05 kHz).
    pub desc: Vec<[f32; 66]>,
    pub thumbnail: Thumbnail,
    /// EBU R128 loudness on the file's own channels (`None`: silent, under 400 ms, or
    /// corrupt samples).
    pub loudness: Option<crate::audio::gain::Loudness>,
    /// CPU seconds spent decoding and resampling (and metering loudness).
    pub decode_s: f64,
    /// CPU seconds spent on log-mel, descriptors and the thumbnail.
    pub features_s: f64,
}

/// Reusable per-worker state (FFT plans, filterbanks).
pub struct Preparer {
    mel: Extractor,
    desc: DescriptorExtractor,
}

impl Preparer {
    pub fn new() -> Result<Self, PrepareError> {
        Ok(Self {
            mel: Extractor::new()?,
            desc: DescriptorExtractor::new()?,
        })
    }

    /// Decodes `path` once and computes everything the network stage needs.
    pub fn prepare(
        &mut self,
        path: &std::path::Path,
        plan: PatchPlan,
        cancel: &AtomicBool,
    ) -> Result<Prepared, PrepareError> {
        let mut t = super::thread_cpu_secs();
        let mut stream = AudioStream::open_mono(path, None)?;
        // A layout the meter cannot take leaves the track without a gain, not unanalysed.
        let _ = stream.measure_loudness();
        let rate = stream.output_rate();
        let mut rs16 = resampler(rate, musicnn_input::SAMPLE_RATE)?;
        let mut rs22 = resampler(rate, DESCRIPTOR_SAMPLE_RATE)?;
        let mut state = State::new(plan);
        let (mut skip16, mut skip22) = if plan.shifted {
            (SHIFT_16K, SHIFT_22K)
        } else {
            (0, 0)
        };
        let mut decode_s = 0.0;
        let mut features_s = 0.0;
        let (mut o16, mut o22) = (Vec::new(), Vec::new());
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(PrepareError::Cancelled);
            }
            let Some(chunk) = stream.next_chunk()? else {
                break;
            };
            o16.clear();
            o22.clear();
            let c16 = skip(branch(&mut rs16, &chunk, &mut o16)?, &mut skip16);
            let c22 = skip(branch(&mut rs22, &chunk, &mut o22)?, &mut skip22);
            decode_s += lap(&mut t);
            state.push16(c16, &mut self.mel)?;
            state.push22(c22, &mut self.desc)?;
            features_s += lap(&mut t);
        }
        o16.clear();
        o22.clear();
        if let Some(r) = rs16.as_mut() {
            r.finish(&mut o16)?;
        }
        if let Some(r) = rs22.as_mut() {
            r.finish(&mut o22)?;
        }
        decode_s += lap(&mut t);
        state.push16(skip(&o16, &mut skip16), &mut self.mel)?;
        state.push22(skip(&o22, &mut skip22), &mut self.desc)?;
        let out = state.finish(&mut self.mel, &mut self.desc, decode_s)?;
        features_s += lap(&mut t);
        Ok(Prepared {
            features_s,
            loudness: stream.loudness(),
            ..out
        })
    }
}

fn lap(t: &mut f64) -> f64 {
    let now = super::thread_cpu_secs();
    let d = now - *t;
    *t = now;
    d
}

/// `x` without its first `*left` samples (counting down across chunks).
fn skip<'a>(x: &'a [f32], left: &mut usize) -> &'a [f32] {
    let k = (*left).min(x.len());
    *left -= k;
    &x[k..]
}

fn resampler(from: u32, to: u32) -> Result<Option<MonoResampler>, AudioError> {
    if from == to {
        Ok(None)
    } else {
        MonoResampler::new(from, to).map(Some)
    }
}

fn branch<'a>(
    rs: &mut Option<MonoResampler>,
    chunk: &'a [f32],
    out: &'a mut Vec<f32>,
) -> Result<&'a [f32], AudioError> {
    match rs {
        None => Ok(chunk),
        Some(r) => {
            r.push(chunk, out)?;
            Ok(out.as_slice())
        }
    }
}

/// Streaming state of one track.
struct State {
    plan: PatchPlan,
    // 16 kHz branch: samples not yet consumed by the log-mel, from global index `s16_start`.
    s16: Vec<f32>,
    s16_start: usize,
    n16: usize,
    next_frame: usize,
    // Patch assembly.
    cur: Vec<f32>,
    selected: Vec<(usize, Vec<f32>)>,
    last_whole: Option<(usize, Vec<f32>)>,
    // Thumbnail columns (THUMB_ROWS values each) and frames per column so far.
    thumb: Vec<f32>,
    thumb_frames: usize,
    // 22.05 kHz branch.
    s22: Vec<f32>,
    s22_start: usize,
    next_desc: usize,
    desc: Vec<(usize, [f32; 66])>,
}

impl State {
    fn new(plan: PatchPlan) -> Self {
        Self {
            plan,
            s16: Vec::new(),
            s16_start: 0,
            n16: 0,
            next_frame: 0,
            cur: Vec::with_capacity(PATCH_FRAMES * N_MELS),
            selected: Vec::new(),
            last_whole: None,
            thumb: Vec::new(),
            thumb_frames: 0,
            s22: Vec::new(),
            s22_start: 0,
            next_desc: plan.offset(),
            desc: Vec::new(),
        }
    }

    fn push16(&mut self, x: &[f32], mel: &mut Extractor) -> Result<(), PrepareError> {
        self.s16.extend_from_slice(x);
        self.n16 += x.len();
        // Frame t is centred on sample t*HOP and reads [t*HOP - HOP, t*HOP + HOP) (n_fft =
        // 2 hops): it is final once that window has arrived.
        let have = self.n16;
        if have < HOP {
            return Ok(());
        }
        let f_end = (have - HOP) / HOP + 1;
        if f_end >= self.next_frame + MEL_BLOCK {
            self.frames(f_end, mel)?;
        }
        Ok(())
    }

    /// Computes frames `next_frame..f_end` (all of them at the end of the stream when
    /// `f_end` is `None`), exactly as a whole-signal log-mel would.
    fn frames_upto(
        &mut self,
        f_end: Option<usize>,
        mel: &mut Extractor,
    ) -> Result<(), PrepareError> {
        let t0 = self.next_frame;
        // The slice starts one hop before frame t0, so its frame j is global frame t0-1+j.
        let lead = if t0 == 0 { 0 } else { 1 };
        let from = (t0 - lead) * HOP;
        let to = match f_end {
            Some(f) => (f * HOP).min(self.n16),
            None => self.n16,
        };
        let slice = &self.s16[from - self.s16_start..to - self.s16_start];
        if slice.is_empty() {
            return Ok(());
        }
        let m = mel.log_mel(slice)?;
        let last = match f_end {
            Some(f) => f,
            None => 1 + self.n16 / HOP,
        };
        for g in t0..last {
            let j = g + lead - t0;
            if j >= m.n_frames {
                break;
            }
            let mut frame = [0f32; N_MELS];
            frame.copy_from_slice(&m.data[j * N_MELS..(j + 1) * N_MELS]);
            self.frame(g, &frame);
        }
        self.next_frame = last;
        // Frames from next_frame on need samples from (next_frame - 1) * HOP.
        let keep_from = self.next_frame.saturating_sub(1) * HOP;
        if keep_from > self.s16_start + 65_536 {
            self.s16.drain(..keep_from - self.s16_start);
            self.s16_start = keep_from;
        }
        Ok(())
    }

    fn frames(&mut self, f_end: usize, mel: &mut Extractor) -> Result<(), PrepareError> {
        self.frames_upto(Some(f_end), mel)
    }

    fn frame(&mut self, g: usize, f: &[f32; N_MELS]) {
        // Thumbnail: pool mel pairs, sum frames of the column.
        if g.is_multiple_of(THUMB_FRAMES_PER_COL) {
            self.thumb.extend(std::iter::repeat_n(0.0, THUMB_ROWS));
            self.thumb_frames = 0;
        }
        let col = self.thumb.len() - THUMB_ROWS;
        for r in 0..THUMB_ROWS {
            self.thumb[col + r] += f[2 * r] + f[2 * r + 1];
        }
        self.thumb_frames += 1;
        // Patches.
        self.cur.extend_from_slice(f);
        if self.cur.len() == PATCH_FRAMES * N_MELS {
            let i = g / PATCH_FRAMES;
            let patch = std::mem::replace(&mut self.cur, Vec::with_capacity(PATCH_FRAMES * N_MELS));
            if self.plan.selects(i) {
                self.selected.push((i, patch));
            } else if self.selected.is_empty() {
                self.last_whole = Some((i, patch));
            }
        }
    }

    fn push22(&mut self, x: &[f32], desc: &mut DescriptorExtractor) -> Result<(), PrepareError> {
        self.s22.extend_from_slice(x);
        let have = self.s22_start + self.s22.len();
        while have >= (self.next_desc + 1) * SEGMENT_SAMPLES {
            let a = self.next_desc * SEGMENT_SAMPLES - self.s22_start;
            let d = desc.segment(&self.s22[a..a + SEGMENT_SAMPLES])?;
            self.desc.push((self.next_desc, d));
            self.next_desc += self.plan.stride;
        }
        // Until one segment is analysed every sample may serve the fallback; after that only
        // the next analysed segment's samples are needed.
        if !self.desc.is_empty() {
            let keep_from = self.next_desc * SEGMENT_SAMPLES;
            if keep_from > self.s22_start + SEGMENT_SAMPLES {
                let cut = (keep_from - self.s22_start).min(self.s22.len());
                self.s22.drain(..cut);
                self.s22_start += cut;
            }
        }
        Ok(())
    }

    /// Descriptor of segment `i` from what is buffered, zero-padded past the end.
    fn desc_for(
        &self,
        i: usize,
        desc: &mut DescriptorExtractor,
    ) -> Result<[f32; 66], PrepareError> {
        if let Some((_, d)) = self.desc.iter().find(|(j, _)| *j == i) {
            return Ok(*d);
        }
        let end = self.s22_start + self.s22.len();
        let a = (i * SEGMENT_SAMPLES).clamp(self.s22_start, end) - self.s22_start;
        let b = ((i + 1) * SEGMENT_SAMPLES).min(end).max(self.s22_start) - self.s22_start;
        let seg = if b > a { &self.s22[a..b] } else { &[][..] };
        if seg.is_empty() {
            // Nothing left of it (resampler rounding at the very end): silence.
            return Ok(desc.segment(&[0.0])?);
        }
        Ok(desc.segment(seg)?)
    }

    fn finish(
        mut self,
        mel: &mut Extractor,
        desc: &mut DescriptorExtractor,
        decode_s: f64,
    ) -> Result<Prepared, PrepareError> {
        if self.n16 == 0 {
            return Err(PrepareError::Empty);
        }
        self.frames_upto(None, mel)?;
        if self.selected.is_empty() {
            // Short track: its last whole patch, else its zero-padded start.
            let fallback = match self.last_whole.take() {
                Some(p) => p,
                None => {
                    let mut p = std::mem::take(&mut self.cur);
                    p.resize(PATCH_FRAMES * N_MELS, 0.0);
                    (0, p)
                }
            };
            self.selected.push(fallback);
        }
        let mut patch_index = Vec::with_capacity(self.selected.len());
        let mut patches = Vec::with_capacity(self.selected.len() * PATCH_FRAMES * N_MELS);
        let mut descs = Vec::with_capacity(self.selected.len());
        for (i, p) in &self.selected {
            patch_index.push(*i);
            patches.extend_from_slice(p);
            descs.push(self.desc_for(*i, desc)?);
        }
        let thumbnail = self.thumbnail();
        Ok(Prepared {
            duration_s: self.n16 as f64 / musicnn_input::SAMPLE_RATE as f64,
            patch_index,
            patches,
            desc: descs,
            thumbnail,
            loudness: None,
            decode_s,
            features_s: 0.0,
        })
    }

    fn thumbnail(&self) -> Thumbnail {
        let cols = self.thumb.len() / THUMB_ROWS;
        if cols == 0 {
            return Thumbnail {
                width: 0,
                height: 0,
                pixels: Vec::new(),
            };
        }
        // Mean per column (the last column may hold fewer frames).
        let mut means: Vec<f32> = self.thumb.clone();
        for c in 0..cols {
            let n = if c + 1 == cols {
                self.thumb_frames.max(1)
            } else {
                THUMB_FRAMES_PER_COL
            };
            for v in &mut means[c * THUMB_ROWS..(c + 1) * THUMB_ROWS] {
                *v /= 2.0 * n as f32;
            }
        }
        let width = cols.min(THUMB_MAX_COLS);
        let mut out = vec![0f32; width * THUMB_ROWS];
        let mut count = vec![0u32; width];
        for c in 0..cols {
            let w = c * width / cols;
            count[w] += 1;
            for r in 0..THUMB_ROWS {
                out[w * THUMB_ROWS + r] += means[c * THUMB_ROWS + r];
            }
        }
        let max = out
            .chunks(THUMB_ROWS)
            .zip(&count)
            .flat_map(|(col, &n)| col.iter().map(move |v| v / n.max(1) as f32))
            .fold(0f32, f32::max)
            .max(1e-3);
        // Row-major with row 0 = lowest band; scaled to the track's loudest cell.
        let mut pixels = vec![0u8; width * THUMB_ROWS];
        for w in 0..width {
            for r in 0..THUMB_ROWS {
                let v = out[w * THUMB_ROWS + r] / count[w].max(1) as f32 / max;
                pixels[r * width + w] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
        Thumbnail {
            width: width as u32,
            height: THUMB_ROWS as u32,
            pixels,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let t = i as f32 / 16000.0;
                0.3 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
                    + 0.1 * (2.0 * std::f32::consts::PI * 3100.0 * t * (1.0 + t)).sin()
            })
            .collect()
    }

    /// The streamed log-mel frames equal the whole-signal log-mel exactly, whatever the
    /// chunking, and patches/thumbnail come out of them.
    #[test]
    fn streaming_log_mel_matches_whole_signal() {
        for (n, chunk) in [
            (16000 * 20 + 77, 4410),
            (16000 * 7, 1000),
            (300, 64),
            (16000 * 3 + 5, 16000),
        ] {
            let x = signal(n);
            let whole = musicnn_input::log_mel(&x).unwrap();
            let mut st = State::new(PatchPlan::new(1));
            let mut mel = Extractor::new().unwrap();
            let mut frames: Vec<f32> = Vec::new();
            // Re-derive frames from selected patches: with stride 1 every whole patch is kept.
            for c in x.chunks(chunk) {
                st.push16(c, &mut mel).unwrap();
            }
            st.frames_upto(None, &mut mel).unwrap();
            assert_eq!(st.next_frame, whole.n_frames, "n={n}");
            for (_, p) in &st.selected {
                frames.extend_from_slice(p);
            }
            let whole_patches = musicnn_input::patches(&whole, PATCH_FRAMES);
            if whole.n_frames >= PATCH_FRAMES {
                let flat: Vec<f32> = whole_patches.concat();
                assert_eq!(frames.len(), flat.len(), "n={n}");
                assert!(frames.iter().zip(&flat).all(|(a, b)| a == b), "n={n}");
            }
            assert_eq!(
                st.thumb.len() / THUMB_ROWS,
                whole.n_frames.div_ceil(THUMB_FRAMES_PER_COL)
            );
        }
    }

    /// The shifted grid's patches are those of the audio half a patch in: they start 1.496 s
    /// after the unshifted ones.
    #[test]
    fn shifted_plan_reads_the_audio_half_a_patch_later() {
        let x = signal(16000 * 10);
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("a.wav");
        let pcm: Vec<i16> = x.iter().map(|v| (v * 32767.0) as i16).collect();
        crate::audio::write_wav_pcm16(&wav, &pcm, 16000, 1).unwrap();
        let read: Vec<f32> = pcm.iter().map(|&v| v as f32 / 32768.0).collect();
        let mut prep = Preparer::new().unwrap();
        let cancel = AtomicBool::new(false);
        let plain = prep.prepare(&wav, PatchPlan::new(1), &cancel).unwrap();
        let shifted = prep
            .prepare(&wav, PatchPlan::new(1).shifted(), &cancel)
            .unwrap();
        let expect = musicnn_input::patches(
            &musicnn_input::log_mel(&read[SHIFT_16K..]).unwrap(),
            PATCH_FRAMES,
        )
        .concat();
        assert_eq!(shifted.patches.len(), expect.len());
        let worst = shifted
            .patches
            .iter()
            .zip(&expect)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-4, "{worst}");
        // 10 s: 3 whole patches from 0 s, 2 from 1.5 s; both grids carry descriptors.
        assert_eq!((plain.patch_index.len(), shifted.patch_index.len()), (3, 2));
        assert_eq!(shifted.desc.len(), 2);
        assert_ne!(shifted.desc[0], plain.desc[0]);
    }

    #[test]
    fn plan_picks_middle_patches() {
        let p = PatchPlan::new(5);
        let picked: Vec<usize> = (0..16).filter(|&i| p.selects(i)).collect();
        assert_eq!(picked, vec![2, 7, 12]);
        let p = PatchPlan::new(1);
        assert!((0..5).all(|i| p.selects(i)));
        assert_eq!(PatchPlan::new(0).stride, 1);
    }
}
