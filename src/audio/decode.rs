//! Streaming decode of any supported file to f32, optionally mixed to mono and resampled.

use std::fs::File;
use std::io::ErrorKind;
use std::path::Path;

use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, SeekMode, SeekTo, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::units::Time;

use super::gain::{Loudness, LoudnessMeter};
use super::{AudioError, MonoResampler};

/// Analysis never needs more than this; longer files are refused instead of filling memory.
pub const MAX_DECODE_SECONDS: u32 = 4 * 3600;

/// A run of undecodable packets this long means the file is broken, not just glitchy.
const MAX_CONSECUTIVE_ERRORS: u32 = 64;

/// What the container says about the audio track.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    pub sample_rate: u32,
    pub channels: u16,
    /// From the container header; `None` when it does not say.
    pub duration_secs: Option<f64>,
    pub codec: String,
}

pub(crate) fn sym_err(e: SymError) -> AudioError {
    match e {
        SymError::IoError(io) if io.kind() == ErrorKind::UnexpectedEof => {
            AudioError::Decode("file is truncated".into())
        }
        SymError::IoError(io) => AudioError::Open(io.to_string()),
        SymError::Unsupported(what) => AudioError::Unsupported(what.to_string()),
        SymError::DecodeError(what) => AudioError::Decode(what.to_string()),
        SymError::LimitError(what) => AudioError::Decode(format!("limit reached: {what}")),
        other => AudioError::Decode(other.to_string()),
    }
}

/// Runs `f`, which drives Symphonia over a file's bytes. A panic in it (a bug that a damaged
/// file trips; the fuzzer finds such files) becomes an error for this file, so the scan,
/// the analysis or playback goes on with the next one.
pub(crate) fn contain<T>(
    what: &str,
    f: impl FnOnce() -> Result<T, AudioError>,
) -> Result<T, AudioError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let text = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        Err(AudioError::Decode(format!(
            "the {what} failed on this file ({text})"
        )))
    })
}

/// Opens the container and probes its format. Shared by the decoder and the tag reader.
pub(crate) fn probe(path: &Path) -> Result<Box<dyn FormatReader + 'static>, AudioError> {
    contain("format reader", || probe_inner(path))
}

fn probe_inner(path: &Path) -> Result<Box<dyn FormatReader + 'static>, AudioError> {
    let mut file = File::open(path).map_err(|e| AudioError::Open(e.to_string()))?;
    let len = file
        .metadata()
        .map_err(|e| AudioError::Open(e.to_string()))?
        .len();
    // WAV headers and truncated MP4s damaged the way other players read through (see
    // `lenient`).
    let mut fixes = super::lenient::riff_repairs(&mut file, len).map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidData {
            AudioError::Unsupported(e.to_string())
        } else {
            AudioError::Open(e.to_string())
        }
    })?;
    if fixes.is_empty() {
        fixes = super::lenient::mp4_repairs(&mut file, len)
            .map_err(|e| AudioError::Open(e.to_string()))?;
    }
    let source: Box<dyn symphonia::core::io::MediaSource> = if fixes.is_empty() {
        Box::new(file)
    } else {
        Box::new(super::lenient::Repaired::new(file, len, &fixes))
    };
    let mss = MediaSourceStream::new(source, Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(&ext.to_ascii_lowercase());
    }
    symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| match e {
            // A probe that finds no known container says so with Unsupported.
            SymError::Unsupported(_) => {
                AudioError::Unsupported("not a recognised audio container".into())
            }
            other => sym_err(other),
        })
}

/// Codec parameters of audio track `track_id`.
pub(crate) fn audio_params(
    format: &dyn FormatReader,
    track_id: u32,
) -> Result<AudioCodecParameters, AudioError> {
    format
        .tracks()
        .iter()
        .find(|t| t.id == track_id)
        .and_then(|t| t.codec_params.as_ref())
        .and_then(|p| p.audio())
        .cloned()
        .ok_or(AudioError::NoAudioTrack)
}

/// The sample rates a file may declare (8 kHz telephone audio down to 1 kHz, up to 768 kHz DXD).
pub const MIN_SAMPLE_RATE: u32 = 1_000;
pub const MAX_SAMPLE_RATE: u32 = 768_000;

/// Stream info of the default audio track of an opened container.
pub(crate) fn track_info(format: &dyn FormatReader) -> Result<(u32, StreamInfo), AudioError> {
    let track = format
        .default_track(TrackType::Audio)
        .ok_or(AudioError::NoAudioTrack)?;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or(AudioError::NoAudioTrack)?;
    let sample_rate = params
        .sample_rate
        .filter(|r| *r > 0)
        .ok_or_else(|| AudioError::Unsupported("unknown sample rate".into()))?;
    // A damaged header can declare any rate; resampling from 1 GHz (found by the fuzzer)
    // takes hours. Real audio lies between telephone and DXD rates.
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
        return Err(AudioError::Unsupported(format!(
            "sample rate {sample_rate} Hz (a damaged header? {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz are supported)"
        )));
    }
    let channels = params
        .channels
        .as_ref()
        .map(|c| c.count())
        .unwrap_or(1)
        .max(1) as u16;
    let duration_secs = match (track.num_frames, track.time_base, track.duration) {
        (Some(n), _, _) => Some(n as f64 / sample_rate as f64),
        (None, Some(tb), Some(d)) => tb
            .calc_time(symphonia::core::units::Timestamp::new(d.get() as i64))
            .map(|t| t.as_secs_f64()),
        _ => None,
    }
    // A fragmented MP4 declares 0 in its empty `moov`: unknown, not zero.
    .filter(|d| *d > 0.0 && d.is_finite());
    let codec = symphonia::default::get_codecs()
        .get_audio_decoder(params.codec)
        .map(|d| d.codec.info.short_name.to_string())
        .unwrap_or_else(|| format!("{:?}", params.codec));
    Ok((
        track.id,
        StreamInfo {
            sample_rate,
            channels,
            duration_secs,
            codec,
        },
    ))
}

/// A file being decoded, chunk by chunk (one container packet at a time), so memory stays
/// bounded whatever the file's length.
pub struct AudioStream {
    format: Box<dyn FormatReader + 'static>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    info: StreamInfo,
    mono: bool,
    resampler: Option<MonoResampler>,
    out_rate: u32,
    finished: bool,
    consecutive_errors: u32,
    frames_decoded: u64,
    scratch: Vec<f32>,
    /// Measures loudness on the file's own channels, before any downmix or resampling
    /// ([`AudioStream::measure_loudness`]); dropped if the stream's layout changes midway.
    meter: Option<LoudnessMeter>,
}

impl AudioStream {
    /// Native rate and channels, interleaved: what playback wants.
    pub fn open(path: &Path) -> Result<Self, AudioError> {
        Self::open_inner(path, false, None)
    }

    /// Mono (channel mean) at `rate` Hz (`None`: the file's rate): what analysis wants.
    pub fn open_mono(path: &Path, rate: Option<u32>) -> Result<Self, AudioError> {
        Self::open_inner(path, true, rate)
    }

    fn open_inner(path: &Path, mono: bool, rate: Option<u32>) -> Result<Self, AudioError> {
        contain("decoder", || Self::open_unguarded(path, mono, rate))
    }

    fn open_unguarded(path: &Path, mono: bool, rate: Option<u32>) -> Result<Self, AudioError> {
        let format = probe(path)?;
        let (track_id, info) = track_info(format.as_ref())?;
        let params = audio_params(format.as_ref(), track_id)?;
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(&params, &AudioDecoderOptions::default())
            .map_err(|e| match e {
                SymError::Unsupported(w) => AudioError::Unsupported(format!("codec: {w}")),
                other => sym_err(other),
            })?;
        let out_rate = rate.unwrap_or(info.sample_rate);
        if out_rate == 0 {
            return Err(AudioError::Resample("target rate must be > 0".into()));
        }
        let resampler = if out_rate != info.sample_rate {
            if !mono {
                return Err(AudioError::Resample(
                    "resampling is only offered for mono output".into(),
                ));
            }
            Some(MonoResampler::new(info.sample_rate, out_rate)?)
        } else {
            None
        };
        Ok(Self {
            format,
            decoder,
            track_id,
            info,
            mono,
            resampler,
            out_rate,
            finished: false,
            consecutive_errors: 0,
            frames_decoded: 0,
            scratch: Vec::new(),
            meter: None,
        })
    }

    pub fn info(&self) -> &StreamInfo {
        &self.info
    }

    /// Rate of the samples `next_chunk` returns.
    pub fn output_rate(&self) -> u32 {
        self.out_rate
    }

    /// Channels of the samples `next_chunk` returns (interleaved when > 1).
    pub fn output_channels(&self) -> u16 {
        if self.mono {
            1
        } else {
            self.info.channels
        }
    }

    /// Measures the loudness (EBU R128) of everything decoded from now on, on the file's own
    /// channels and rate. An error only when the meter cannot take this layout.
    pub fn measure_loudness(&mut self) -> Result<(), AudioError> {
        let meter = LoudnessMeter::new(self.info.channels, self.info.sample_rate)
            .map_err(|e| AudioError::Unsupported(e.to_string()))?;
        self.meter = Some(meter);
        Ok(())
    }

    /// The loudness of what was decoded, once the stream has ended; `None` if it was not
    /// measured, or the audio is silent or under 400 ms.
    pub fn loudness(&self) -> Option<Loudness> {
        self.meter.as_ref().and_then(LoudnessMeter::finish)
    }

    /// Seconds of source audio decoded so far.
    pub fn position_secs(&self) -> f64 {
        self.frames_decoded as f64 / self.info.sample_rate as f64
    }

    /// The next piece of audio, or `None` at the end. A truncated file ends early rather than
    /// failing; a file with no decodable audio at all is an error.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<f32>>, AudioError> {
        let result = contain("decoder", || self.next_chunk_unguarded());
        if result.is_err() {
            // Whatever state a panic left the decoder in is not read again.
            self.finished = true;
        }
        result
    }

    fn next_chunk_unguarded(&mut self) -> Result<Option<Vec<f32>>, AudioError> {
        loop {
            if self.finished {
                return Ok(None);
            }
            let packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => return self.finish(),
                Err(SymError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                    return self.finish()
                }
                Err(SymError::ResetRequired) => return self.finish(),
                Err(SymError::DecodeError(_)) => {
                    self.note_error()?;
                    continue;
                }
                Err(e) => return Err(sym_err(e)),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let (frames, channels) = match self.decoder.decode(&packet) {
                Ok(buf) => {
                    let frames = buf.frames();
                    let channels = buf.spec().channels().count().max(1);
                    buf.copy_to_vec_interleaved::<f32>(&mut self.scratch);
                    (frames, channels)
                }
                Err(SymError::DecodeError(_)) | Err(SymError::IoError(_)) => {
                    self.note_error()?;
                    continue;
                }
                Err(e) => return Err(sym_err(e)),
            };
            self.consecutive_errors = 0;
            if frames == 0 {
                continue;
            }
            self.frames_decoded += frames as u64;
            if self.frames_decoded > MAX_DECODE_SECONDS as u64 * self.info.sample_rate as u64 {
                return Err(AudioError::TooLong(MAX_DECODE_SECONDS));
            }
            // One pass makes the output and silences non-finite values, which decoders can
            // emit on corrupt frames, so DSP stays sane. A non-finite sample makes its
            // frame's mix non-finite, so `finite` also tells whether the meter may read the
            // decoded samples.
            let mut finite = true;
            let mut clean = |x: f32| {
                if x.is_finite() {
                    x
                } else {
                    finite = false;
                    0.0
                }
            };
            let downmix = self.mono && channels > 1;
            let chunk: Vec<f32> = if downmix {
                let scale = 1.0 / channels as f32;
                self.scratch
                    .chunks_exact(channels)
                    .map(|f| clean(f.iter().sum::<f32>() * scale))
                    .collect()
            } else {
                let mut own = std::mem::take(&mut self.scratch);
                for s in own.iter_mut() {
                    *s = clean(*s);
                }
                own
            };
            if let Some(m) = &mut self.meter {
                let decoded = if downmix { &self.scratch } else { &chunk };
                let ok = finite && m.channels() == channels && m.add(decoded).is_ok();
                if !ok {
                    // A layout change or corrupt (non-finite) samples: no trustworthy figure.
                    self.meter = None;
                }
            }
            match self.resampler.as_mut() {
                None => return Ok(Some(chunk)),
                Some(r) => {
                    let mut out = Vec::with_capacity(chunk.len() * 2);
                    r.push(&chunk, &mut out)?;
                    if !out.is_empty() {
                        return Ok(Some(out));
                    }
                }
            }
        }
    }

    fn note_error(&mut self) -> Result<(), AudioError> {
        self.consecutive_errors += 1;
        if self.consecutive_errors > MAX_CONSECUTIVE_ERRORS {
            return Err(AudioError::Decode(format!(
                "{MAX_CONSECUTIVE_ERRORS} consecutive undecodable packets"
            )));
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Option<Vec<f32>>, AudioError> {
        self.finished = true;
        if self.frames_decoded == 0 {
            return Err(AudioError::Empty);
        }
        if let Some(r) = self.resampler.as_mut() {
            let mut out = Vec::new();
            r.finish(&mut out)?;
            if !out.is_empty() {
                return Ok(Some(out));
            }
        }
        Ok(None)
    }

    /// Jump to `secs` (playback only: not offered once resampling state is involved).
    pub fn seek(&mut self, secs: f64) -> Result<f64, AudioError> {
        contain("decoder", || self.seek_unguarded(secs))
    }

    fn seek_unguarded(&mut self, secs: f64) -> Result<f64, AudioError> {
        if self.resampler.is_some() {
            return Err(AudioError::Resample(
                "cannot seek a resampled stream".into(),
            ));
        }
        let time = Time::try_from_secs_f64(secs.max(0.0))
            .ok_or_else(|| AudioError::Decode("bad seek time".into()))?;
        let seeked = self
            .format
            .seek(
                SeekMode::Coarse,
                SeekTo::Time {
                    time,
                    track_id: Some(self.track_id),
                },
            )
            .map_err(sym_err)?;
        self.decoder.reset();
        self.finished = false;
        // A jump makes the measurement cover part of the file only.
        self.meter = None;
        let frames = seeked.actual_ts.get().max(0) as u64;
        self.frames_decoded = frames;
        Ok(frames as f64 / self.info.sample_rate as f64)
    }
}

/// A whole file decoded to mono.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
    pub info: StreamInfo,
}

impl Decoded {
    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64 / self.sample_rate as f64
    }
}

/// Decodes up to `max_secs` seconds (all when `None`) of a file to mono at `rate`.
pub fn decode_mono(
    path: &Path,
    rate: Option<u32>,
    max_secs: Option<f64>,
) -> Result<Decoded, AudioError> {
    let mut stream = AudioStream::open_mono(path, rate)?;
    let out_rate = stream.output_rate();
    let cap = max_secs.map(|s| (s * out_rate as f64).ceil() as usize);
    let mut samples = Vec::new();
    while let Some(chunk) = stream.next_chunk()? {
        samples.extend_from_slice(&chunk);
        if let Some(cap) = cap {
            if samples.len() >= cap {
                samples.truncate(cap);
                break;
            }
        }
    }
    Ok(Decoded {
        samples,
        sample_rate: out_rate,
        info: stream.info().clone(),
    })
}
