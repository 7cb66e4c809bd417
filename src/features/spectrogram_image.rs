//! Spectrogram pictures: log-mel or log-STFT in dB mapped through a perceptual colour map
//! (magma or viridis), one pixel column per frame, one row per band/bin, low frequencies at
//! the bottom; PNG output with the time/frequency extent in `tEXt` chunks.

use std::path::Path;

use image::{ImageEncoder, RgbImage};
use serde::{Deserialize, Serialize};

use super::colormap::{MAGMA, VIRIDIS};
use super::mel::{mel_filterbank, MelOptions};
use super::spectral::power_to_db;
use super::stft::{checked_power, StftOptions};
use super::{FeatureError, FEATURES_VERSION};

/// Frequency axis of the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpectrogramKind {
    /// Mel bands (Slaney scale and norm), one row per band.
    LogMel {
        /// Number of mel bands (= image height).
        n_mels: usize,
    },
    /// Linear STFT bins, one row per bin (height `n_fft / 2 + 1`).
    LogStft,
}

/// Colour map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Colormap {
    /// matplotlib magma (default).
    #[default]
    Magma,
    /// matplotlib viridis.
    Viridis,
}

impl Colormap {
    /// RGB colour for `x` in [0, 1] (clamped; NaN maps to 0).
    pub fn color(self, x: f64) -> [u8; 3] {
        let lut = match self {
            Colormap::Magma => &MAGMA,
            Colormap::Viridis => &VIRIDIS,
        };
        let x = if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) };
        lut[(x * 255.0).round() as usize]
    }
}

/// Picture parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpectrogramOptions {
    /// Frequency axis (default: 128 mel bands).
    pub kind: SpectrogramKind,
    /// STFT size (2048).
    pub n_fft: usize,
    /// Hop = samples per pixel column (512).
    pub hop: usize,
    /// Lowest frequency for mel (0 Hz; ignored for LogStft).
    pub fmin: f64,
    /// Highest frequency for mel (`None` = Nyquist; ignored for LogStft).
    pub fmax: Option<f64>,
    /// Dynamic range in dB: the loudest value maps to the top colour, `max - top_db` and
    /// below to the bottom colour (80).
    pub top_db: f64,
    /// Colour map (magma).
    pub colormap: Colormap,
}

impl Default for SpectrogramOptions {
    fn default() -> Self {
        SpectrogramOptions {
            kind: SpectrogramKind::LogMel { n_mels: 128 },
            n_fft: 2048,
            hop: 512,
            fmin: 0.0,
            fmax: None,
            top_db: 80.0,
            colormap: Colormap::Magma,
        }
    }
}

/// What the picture covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpectrogramExtent {
    /// Audio duration in seconds (`len / sr`); the picture spans 0 to this left to right
    /// (column `t` is centred at `t * hop / sr` s).
    pub duration_s: f64,
    /// Frequency at the bottom edge (Hz).
    pub min_hz: f64,
    /// Frequency at the top edge (Hz).
    pub max_hz: f64,
    /// `"mel"` or `"linear"`.
    pub frequency_scale: String,
    /// Image width in pixels (frames).
    pub width: u32,
    /// Image height in pixels (bands or bins).
    pub height: u32,
}

/// Renders the spectrogram picture. Errors: bad samples or parameters. Silence renders in
/// the bottom colour.
pub fn spectrogram_image(
    samples: &[f32],
    sr: u32,
    opts: &SpectrogramOptions,
) -> Result<(RgbImage, SpectrogramExtent), FeatureError> {
    if opts.top_db.is_nan() || opts.top_db <= 0.0 {
        return Err(FeatureError::InvalidParameter("top_db must be > 0".into()));
    }
    let stft = StftOptions {
        n_fft: opts.n_fft,
        hop: opts.hop,
        ..StftOptions::default()
    };
    let p = checked_power(samples, sr, &stft)?;
    let (mut m, min_hz, max_hz, scale) = match opts.kind {
        SpectrogramKind::LogMel { n_mels } => {
            let mo = MelOptions {
                n_mels,
                fmin: opts.fmin,
                fmax: opts.fmax,
                ..MelOptions::default()
            };
            let fb = mel_filterbank(sr, opts.n_fft, &mo)?;
            (
                fb.apply_frames(&p),
                opts.fmin,
                opts.fmax.unwrap_or(sr as f64 / 2.0),
                "mel",
            )
        }
        SpectrogramKind::LogStft => (p, 0.0, sr as f64 / 2.0, "linear"),
    };
    power_to_db(&mut m.data, 1.0, 1e-10, None);
    let max = m.data.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = m.data.iter().copied().fold(f64::INFINITY, f64::min);
    let floor = max - opts.top_db;
    let (w, h) = (m.n_frames, m.dim);
    let (wu, hu) = (
        u32::try_from(w).map_err(|_| FeatureError::InvalidParameter("image too wide".into()))?,
        u32::try_from(h).map_err(|_| FeatureError::InvalidParameter("image too tall".into()))?,
    );
    let mut img = RgbImage::new(wu, hu);
    for t in 0..w {
        let row = m.row(t);
        for (k, &v) in row.iter().enumerate() {
            let x = if max > min {
                (v - floor) / opts.top_db
            } else {
                0.0
            };
            let c = opts.colormap.color(x);
            img.put_pixel(t as u32, (h - 1 - k) as u32, image::Rgb(c));
        }
    }
    let extent = SpectrogramExtent {
        duration_s: samples.len() as f64 / sr as f64,
        min_hz,
        max_hz,
        frequency_scale: scale.to_string(),
        width: wu,
        height: hu,
    };
    Ok((img, extent))
}

/// CRC-32 (IEEE, as PNG uses) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn text_chunk(key: &str, value: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(4 + key.len() + 1 + value.len());
    body.extend_from_slice(b"tEXt");
    body.extend_from_slice(key.as_bytes());
    body.push(0);
    body.extend(value.bytes().filter(|b| b.is_ascii() && *b != 0));
    let len = (body.len() - 4) as u32;
    let mut chunk = Vec::with_capacity(body.len() + 8);
    chunk.extend_from_slice(&len.to_be_bytes());
    chunk.extend_from_slice(&body);
    chunk.extend_from_slice(&crc32(&body).to_be_bytes());
    chunk
}

/// The `tEXt` entries written by [`png_bytes_with_extent`].
pub fn extent_text_entries(extent: &SpectrogramExtent) -> Vec<(String, String)> {
    vec![
        (
            "Software".into(),
            format!("valence features v{FEATURES_VERSION}"),
        ),
        (
            "valence:duration_s".into(),
            format!("{}", extent.duration_s),
        ),
        ("valence:min_hz".into(), format!("{}", extent.min_hz)),
        ("valence:max_hz".into(), format!("{}", extent.max_hz)),
        (
            "valence:frequency_scale".into(),
            extent.frequency_scale.clone(),
        ),
    ]
}

/// Encodes the picture as PNG and inserts `tEXt` chunks (see [`extent_text_entries`])
/// right after `IHDR`.
pub fn png_bytes_with_extent(
    img: &RgbImage,
    extent: &SpectrogramExtent,
) -> Result<Vec<u8>, FeatureError> {
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| FeatureError::Image(e.to_string()))?;
    // 8-byte signature, then IHDR: 4 length + 4 type + 13 data + 4 CRC
    const IHDR_END: usize = 8 + 4 + 4 + 13 + 4;
    if png.len() < IHDR_END || &png[12..16] != b"IHDR" {
        return Err(FeatureError::Image(
            "unexpected PNG layout from encoder".into(),
        ));
    }
    let mut out = Vec::with_capacity(png.len() + 256);
    out.extend_from_slice(&png[..IHDR_END]);
    for (k, v) in extent_text_entries(extent) {
        out.extend(text_chunk(&k, &v));
    }
    out.extend_from_slice(&png[IHDR_END..]);
    Ok(out)
}

/// Writes the picture as a PNG file with the extent in `tEXt` chunks and returns the
/// extent (for the CLI to print).
pub fn save_png_with_extent(
    img: &RgbImage,
    extent: &SpectrogramExtent,
    path: &Path,
) -> Result<SpectrogramExtent, FeatureError> {
    let bytes = png_bytes_with_extent(img, extent)?;
    std::fs::write(path, bytes)
        .map_err(|e| FeatureError::Io(format!("{}: {e}", path.display())))?;
    Ok(extent.clone())
}

/// Renders and saves in one call; returns the extent.
pub fn render_png(
    samples: &[f32],
    sr: u32,
    opts: &SpectrogramOptions,
    path: &Path,
) -> Result<SpectrogramExtent, FeatureError> {
    let (img, ext) = spectrogram_image(samples, sr, opts)?;
    save_png_with_extent(&img, &ext, path)
}

#[cfg(test)]
mod tests {
    use super::crc32;

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }
}
