//! Decoding every supported format to mono f32 at a requested rate: duration within 1 %
//! and the sine's frequency at the FFT peak after resampling.

mod common;

use std::path::Path;

use valence::audio::{decode_mono, write_wav_f32, AudioError, AudioStream, StreamSource};

#[test]
fn sine_from_every_format_has_right_duration_and_frequency() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (_, _, label)) in common::FORMATS.iter().enumerate() {
        let path = common::sine_file(
            dir.path(),
            &format!("sine-{label}"),
            i,
            440.0,
            5.0,
            44100,
            None,
        );
        for rate in [16000u32, 22050, 44100, 48000] {
            let d = decode_mono(&path, Some(rate), None)
                .unwrap_or_else(|e| panic!("{label} at {rate}: {e}"));
            assert_eq!(d.sample_rate, rate);
            let dur = d.duration_secs();
            assert!(
                (dur - 5.0).abs() <= 0.05,
                "{label} -> {rate} Hz: duration {dur:.4} s, want 5.0 +- 1 %"
            );
            let f = common::peak_frequency(&d.samples, rate);
            let bin = rate as f32 / d.samples.len().next_power_of_two().min(1 << 18) as f32;
            assert!(
                (f - 440.0).abs() <= bin.max(1.0),
                "{label} -> {rate} Hz: peak {f:.2} Hz, want 440 (bin {bin:.2})"
            );
            let peak = d.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
            assert!(
                (0.3..0.8).contains(&peak),
                "{label}: amplitude {peak} (0.5 written)"
            );
        }
    }
}

#[test]
fn streaming_yields_bounded_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::sine_file(dir.path(), "long", 2, 1000.0, 20.0, 44100, None);
    let mut s = AudioStream::open_mono(&path, Some(16000)).unwrap();
    let (mut total, mut largest) = (0usize, 0usize);
    while let Some(c) = s.next_chunk().unwrap() {
        total += c.len();
        largest = largest.max(c.len());
    }
    assert!((total as f64 / 16000.0 - 20.0).abs() < 0.2);
    // One packet at a time: chunks stay tiny relative to the file.
    assert!(largest < 16000, "largest chunk {largest} samples");
}

#[test]
fn rodio_source_plays_native_stereo_and_seeks() {
    use rodio::Source;
    let dir = tempfile::tempdir().unwrap();
    let path = common::sine_file(dir.path(), "play", 2, 440.0, 3.0, 44100, None);
    let mut src = StreamSource::open(&path).unwrap();
    assert_eq!(src.channels().get(), 2);
    assert_eq!(src.sample_rate().get(), 44100);
    let total = src.total_duration().unwrap().as_secs_f64();
    assert!((total - 3.0).abs() < 0.03, "{total}");
    src.try_seek(std::time::Duration::from_secs(2)).unwrap();
    let rest = src.by_ref().count();
    let secs = rest as f64 / 2.0 / 44100.0;
    assert!(
        (0.9..1.2).contains(&secs),
        "after seek to 2 s, {secs} s remain"
    );
    assert!(src.last_error().is_none());
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.mp3");
    std::fs::write(&empty, b"").unwrap();
    let text = dir.path().join("notes.mp3");
    std::fs::write(&text, "this is a shopping list, not music\n".repeat(50)).unwrap();
    let noise = dir.path().join("noise.flac");
    let mut x: u64 = 0x1234_5678;
    let bytes: Vec<u8> = (0..50_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&noise, bytes).unwrap();
    for p in [&empty, &text, &noise, &dir.path().join("missing.wav")] {
        let r = decode_mono(p, Some(16000), None);
        assert!(r.is_err(), "{} decoded?", p.display());
    }
    assert!(matches!(
        decode_mono(Path::new("/nonexistent/x.wav"), None, None),
        Err(AudioError::Open(_))
    ));
}

#[test]
fn truncated_file_decodes_what_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::sine_file(dir.path(), "cut", 1, 440.0, 4.0, 44100, None);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let d = decode_mono(&path, Some(16000), None).unwrap();
    let dur = d.duration_secs();
    assert!((1.5..2.5).contains(&dur), "half an mp3 gave {dur} s");
}

/// Non-finite samples (a corrupt float file) are silenced in the output, frame by frame, and
/// the loudness meter, which must not read them, gives no figure; the same file without them
/// is metered. Stereo downmixed to mono and stereo as it is take the same route.
#[test]
fn non_finite_samples_are_silenced_and_not_metered() {
    let dir = tempfile::tempdir().unwrap();
    let rate = 44100;
    let frames = rate as usize * 2;
    let mut clean = Vec::with_capacity(frames * 2);
    for i in 0..frames {
        let t = i as f32 / rate as f32;
        clean.push(0.3 * (2.0 * std::f32::consts::PI * 440.0 * t).sin());
        clean.push(0.2 * (2.0 * std::f32::consts::PI * 660.0 * t).sin());
    }
    let mut bad = clean.clone();
    let (nan_frame, inf_frame) = (1000, 50_000);
    bad[2 * nan_frame + 1] = f32::NAN;
    bad[2 * inf_frame] = f32::INFINITY;
    let (good_path, bad_path) = (dir.path().join("good.wav"), dir.path().join("bad.wav"));
    write_wav_f32(&good_path, &clean, rate, 2).unwrap();
    write_wav_f32(&bad_path, &bad, rate, 2).unwrap();

    let read = |path: &Path, mono: bool| {
        let mut s = if mono {
            AudioStream::open_mono(path, None).unwrap()
        } else {
            AudioStream::open(path).unwrap()
        };
        s.measure_loudness().unwrap();
        let mut out = Vec::new();
        while let Some(chunk) = s.next_chunk().unwrap() {
            out.extend_from_slice(&chunk);
        }
        (out, s.loudness())
    };
    let (good_mono, good_loud) = read(&good_path, true);
    assert!(good_loud.is_some(), "a clean file is metered");
    let (mono, loud) = read(&bad_path, true);
    assert!(loud.is_none(), "non-finite samples reached the meter");
    assert_eq!(mono.len(), frames);
    for (i, (&m, &g)) in mono.iter().zip(&good_mono).enumerate() {
        if i == nan_frame || i == inf_frame {
            assert_eq!(m, 0.0, "frame {i}");
        } else {
            assert_eq!(m, g, "frame {i}");
        }
    }
    let (stereo, loud) = read(&bad_path, false);
    assert!(loud.is_none());
    assert_eq!(stereo.len(), frames * 2);
    for (i, (&s, &c)) in stereo.iter().zip(&clean).enumerate() {
        let want = if i == 2 * nan_frame + 1 || i == 2 * inf_frame {
            0.0
        } else {
            c
        };
        assert_eq!(s, want, "sample {i}");
    }
}
