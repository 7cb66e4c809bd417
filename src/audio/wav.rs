//! The one WAV writer (interleaved 16-bit PCM or 32-bit float): for synthesised test pieces,
//! benchmarks and the sanity suite. Valence itself only reads audio.

use std::path::Path;

/// Writes `samples` (interleaved when `channels > 1`) as a canonical 44-byte-header WAV file.
pub fn write_wav_pcm16(
    path: &Path,
    samples: &[i16],
    rate: u32,
    channels: u16,
) -> std::io::Result<()> {
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    write_wav(path, 1, 16, &data, rate, channels)
}

/// Like [`write_wav_pcm16`] with 32-bit float samples (WAVE format 3), written as they are:
/// tests use it for corrupt (non-finite) audio.
pub fn write_wav_f32(
    path: &Path,
    samples: &[f32],
    rate: u32,
    channels: u16,
) -> std::io::Result<()> {
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    write_wav(path, 3, 32, &data, rate, channels)
}

fn write_wav(
    path: &Path,
    format: u16,
    bits: u16,
    data: &[u8],
    rate: u32,
    channels: u16,
) -> std::io::Result<()> {
    let data_len = data.len() as u32;
    let block = channels * bits / 8;
    let mut b = Vec::with_capacity(44 + data.len());
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&format.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    b.extend_from_slice(&block.to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    b.extend_from_slice(data);
    std::fs::write(path, b)
}
