//! Audio in: one decoder for the whole product (symphonia 0.6), a resampler (rubato), and a
//! rodio `Source` so playback uses the same decoder as analysis.

mod decode;
pub mod gain;
mod lenient;
mod playback;
pub mod player;
mod resample;
mod wav;

pub(crate) use decode::{audio_params, contain, probe, sym_err, track_info};
pub use decode::{decode_mono, AudioStream, Decoded, StreamInfo, MAX_DECODE_SECONDS};
pub use gain::ReplayGainMode;
pub use playback::{GainHandle, StreamSource};
pub use resample::MonoResampler;
pub use wav::{write_wav_f32, write_wav_pcm16};

/// Why audio could not be read. `Clone` + strings so it can travel to the GUI and the database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudioError {
    #[error("cannot open file: {0}")]
    Open(String),
    #[error("unsupported format: {0}")]
    Unsupported(String),
    #[error("no audio track in file")]
    NoAudioTrack,
    #[error("decode error: {0}")]
    Decode(String),
    #[error("file holds no audio samples")]
    Empty,
    #[error("resampler error: {0}")]
    Resample(String),
    #[error("file is longer than the {0} s limit")]
    TooLong(u32),
}

/// File extensions Valence decodes. Anything else with an audio-looking extension is
/// recorded as unsupported by the scanner rather than opened.
pub const SUPPORTED_EXTENSIONS: &[&str] = &["mp3", "flac", "ogg", "oga", "wav", "m4a", "mp4"];

/// Audio extensions we recognise but cannot decode (reported, never opened).
pub const UNSUPPORTED_AUDIO_EXTENSIONS: &[&str] = &[
    "opus", "wma", "ape", "aiff", "aif", "wv", "mpc", "ac3", "dsf", "dff", "amr", "mka", "tta",
    "ra", "mid", "midi", "aac", "alac", "au", "spx",
];
