//! rodio `Source` fed by our own decoder, so the product carries one decoder (symphonia 0.6)
//! rather than also rodio's symphonia 0.5.

use std::num::NonZero;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rodio::source::SeekError;
use rodio::{ChannelCount, SampleRate, Source};

use super::{AudioError, AudioStream};

/// Plays a file through rodio. Decode errors mid-stream end playback instead of panicking;
/// the last error is kept for the UI to show.
pub struct StreamSource {
    stream: AudioStream,
    buf: Vec<f32>,
    pos: usize,
    channels: ChannelCount,
    rate: SampleRate,
    total: Option<Duration>,
    last_error: Option<AudioError>,
    /// ReplayGain factor (f32 bits), shared with the output so a change of mode applies at
    /// once; read once per decoded chunk.
    gain: Arc<AtomicU32>,
    chunk_gain: f32,
}

/// A playing source's gain, to change while it plays.
#[derive(Debug, Clone)]
pub struct GainHandle(Arc<AtomicU32>);

impl GainHandle {
    pub fn set(&self, factor: f32) {
        let f = if factor.is_finite() {
            factor.max(0.0)
        } else {
            1.0
        };
        self.0.store(f.to_bits(), Ordering::Relaxed);
    }

    pub fn get(&self) -> f32 {
        f32::from_bits(self.0.load(Ordering::Relaxed))
    }
}

impl StreamSource {
    pub fn open(path: &Path) -> Result<Self, AudioError> {
        let stream = AudioStream::open(path)?;
        let channels = NonZero::new(stream.output_channels()).unwrap_or(NonZero::<u16>::MIN);
        let rate = NonZero::new(stream.output_rate())
            .ok_or_else(|| AudioError::Unsupported("sample rate 0".into()))?;
        let total = stream.info().duration_secs.map(Duration::from_secs_f64);
        Ok(Self {
            stream,
            buf: Vec::new(),
            pos: 0,
            channels,
            rate,
            total,
            last_error: None,
            gain: Arc::new(AtomicU32::new(1f32.to_bits())),
            chunk_gain: 1.0,
        })
    }

    /// The handle that sets this source's gain (linear factor, 1.0 = unchanged).
    pub fn gain(&self) -> GainHandle {
        GainHandle(self.gain.clone())
    }

    pub fn last_error(&self) -> Option<&AudioError> {
        self.last_error.as_ref()
    }

    fn refill(&mut self) -> bool {
        loop {
            match self.stream.next_chunk() {
                Ok(Some(chunk)) if chunk.is_empty() => continue,
                Ok(Some(chunk)) => {
                    self.buf = chunk;
                    self.pos = 0;
                    self.chunk_gain = f32::from_bits(self.gain.load(Ordering::Relaxed));
                    return true;
                }
                Ok(None) => return false,
                Err(e) => {
                    self.last_error = Some(e);
                    return false;
                }
            }
        }
    }
}

impl Iterator for StreamSource {
    type Item = f32;

    fn next(&mut self) -> Option<f32> {
        if self.pos >= self.buf.len() && !self.refill() {
            return None;
        }
        let s = self.buf.get(self.pos).copied();
        self.pos += 1;
        s.map(|s| s * self.chunk_gain)
    }
}

impl Source for StreamSource {
    fn current_span_len(&self) -> Option<usize> {
        // Channel count and rate never change within a file we play.
        None
    }

    fn channels(&self) -> ChannelCount {
        self.channels
    }

    fn sample_rate(&self) -> SampleRate {
        self.rate
    }

    fn total_duration(&self) -> Option<Duration> {
        self.total
    }

    fn try_seek(&mut self, pos: Duration) -> Result<(), SeekError> {
        match self.stream.seek(pos.as_secs_f64()) {
            Ok(_) => {
                self.buf.clear();
                self.pos = 0;
                Ok(())
            }
            Err(e) => {
                self.last_error = Some(e.clone());
                Err(SeekError::Other(Arc::new(e)))
            }
        }
    }
}
