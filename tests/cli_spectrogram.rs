//! `valence spectrogram FILE -o out.png`: a picture with the sine's band lit and the extent
//! printed.

mod common;

use std::process::Command;

#[test]
fn spectrogram_png_of_a_sine() {
    let dir = tempfile::tempdir().unwrap();
    let src = common::sine_file(dir.path(), "tone", 1, 2000.0, 3.0, 44100, None);
    let png = dir.path().join("out.png");
    let o = Command::new(env!("CARGO_BIN_EXE_valence"))
        .args(["spectrogram"])
        .arg(&src)
        .arg("-o")
        .arg(&png)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("0-11025 Hz"), "{text}");
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!(img.height(), 128);
    assert!(
        (125..=135).contains(&img.width()),
        "3 s at hop 512 / 22050 Hz: {}",
        img.width()
    );
    // The brightest row (mean over time) is the 2 kHz band, not the bottom or top.
    let col = img.width() / 2;
    let bright = (0..img.height())
        .max_by_key(|&y| {
            img.get_pixel(col, y)
                .0
                .iter()
                .map(|&c| c as u32)
                .sum::<u32>()
        })
        .unwrap();
    let from_bottom = img.height() - 1 - bright;
    let mel = |f: f64| 2595.0 * (1.0 + f / 700.0).log10();
    // Slaney mel is close to HTK mel at 2 kHz: roughly 45-60 % of the mel range.
    let expect = mel(2000.0) / mel(11025.0) * 128.0;
    assert!(
        (from_bottom as f64 - expect).abs() < 12.0,
        "2 kHz lit at row {from_bottom} from the bottom, expected about {expect:.0}"
    );

    // A missing file is an error with a message, not a panic.
    let o = Command::new(env!("CARGO_BIN_EXE_valence"))
        .args(["spectrogram", "/nonexistent.mp3", "-o"])
        .arg(&png)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("error"));
}
