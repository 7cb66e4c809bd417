//! Golden tests of `valence::features` against librosa 0.11 (files written by
//! `tests/reference/make_features_golden.py`; see `tests/reference/README.md`).
//!
//! Tolerance convention: `|rust - ref| <= atol + rtol * |ref|` element-wise.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::Value;
use valence::features::{self, musicnn_input, FeatureError, Frames, StftOptions, Window};

struct Golden {
    params: Value,
    arrays: HashMap<String, (Vec<usize>, Vec<f32>)>,
}

impl Golden {
    fn arr(&self, name: &str) -> &[f32] {
        &self
            .arrays
            .get(name)
            .unwrap_or_else(|| panic!("array {name} missing"))
            .1
    }
    fn shape(&self, name: &str) -> &[usize] {
        &self.arrays[name].0
    }
    fn f64s(&self, name: &str) -> Vec<f64> {
        self.arr(name).iter().map(|&v| v as f64).collect()
    }
}

fn golden_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/features");
    if manifest.is_dir() {
        return manifest;
    }
    PathBuf::from(file!())
        .parent()
        .expect("test file has a parent")
        .join("golden/features")
}

fn load(name: &str) -> Golden {
    let path = golden_dir().join(format!("{name}.vgf"));
    let b = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&b[..4], b"VGF1");
    let hl = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    let header: Value = serde_json::from_slice(&b[8..8 + hl]).expect("header json");
    let data = &b[8 + hl..];
    let mut arrays = HashMap::new();
    for (k, v) in header["arrays"].as_object().expect("arrays") {
        let off = v["offset"].as_u64().expect("offset") as usize;
        let shape: Vec<usize> = v["shape"]
            .as_array()
            .expect("shape")
            .iter()
            .map(|x| x.as_u64().expect("dim") as usize)
            .collect();
        let n: usize = shape.iter().product();
        let vals = data[off * 4..(off + n) * 4]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        arrays.insert(k.clone(), (shape, vals));
    }
    Golden {
        params: header["params"].clone(),
        arrays,
    }
}

/// Asserts element-wise closeness; returns the worst relative excess for reporting.
fn assert_close(what: &str, actual: &[f64], expected: &[f64], rtol: f64, atol: f64) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    let mut worst = 0.0f64;
    let mut worst_i = 0;
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let err = (a - e).abs();
        let tol = atol + rtol * e.abs();
        let r = err / tol;
        if r > worst || !a.is_finite() {
            worst = if a.is_finite() { r } else { f64::INFINITY };
            worst_i = i;
        }
    }
    eprintln!(
        "{what}: worst error / tolerance = {worst:.3e} at {worst_i} (rtol {rtol:e}, atol {atol:e})"
    );
    assert!(
        worst <= 1.0,
        "{what}: element {worst_i}: got {}, want {} (rtol {rtol}, atol {atol})",
        actual[worst_i],
        expected[worst_i]
    );
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn window(name: &str) -> Window {
    match name {
        "hann" => Window::Hann,
        "hamming" => Window::Hamming,
        "blackmanharris" => Window::BlackmanHarris,
        other => panic!("window {other}"),
    }
}

#[test]
fn version_is_one() {
    assert_eq!(features::FEATURES_VERSION, 1);
}

#[test]
fn stft_power_matches_librosa() {
    let g = load("stft_power");
    let sig = g.arr("signal");
    for (i, c) in g.params["configs"]
        .as_array()
        .expect("configs")
        .iter()
        .enumerate()
    {
        let n = c["n"].as_u64().expect("n") as usize;
        let opts = StftOptions {
            n_fft: c["n_fft"].as_u64().expect("n_fft") as usize,
            hop: c["hop"].as_u64().expect("hop") as usize,
            window: window(c["window"].as_str().expect("window")),
            center: true,
        };
        let p = features::power_spectrogram(&sig[..n], &opts).expect("stft");
        let want = g.f64s(&format!("power{i}"));
        assert_eq!(
            [p.n_frames, p.dim],
            [
                g.shape(&format!("power{i}"))[0],
                g.shape(&format!("power{i}"))[1]
            ]
        );
        let atol = 1e-8 * max_abs(&want);
        assert_close(&format!("power {c}"), &p.data, &want, 1e-4, atol);
    }
}

#[test]
fn mel_filterbanks_match_librosa() {
    let g = load("mel_filterbank");
    for (i, c) in g.params["configs"]
        .as_array()
        .expect("configs")
        .iter()
        .enumerate()
    {
        let sr = c["sr"].as_u64().expect("sr") as u32;
        let n_fft = c["n_fft"].as_u64().expect("n_fft") as usize;
        let opts = features::MelOptions {
            n_mels: c["n_mels"].as_u64().expect("n_mels") as usize,
            fmin: c["fmin"].as_f64().expect("fmin"),
            fmax: c["fmax"].as_f64(),
            scale: if c["htk"].as_bool() == Some(true) {
                features::MelScale::Htk
            } else {
                features::MelScale::Slaney
            },
            norm: if c["norm"].is_null() {
                features::MelNorm::None
            } else {
                features::MelNorm::Slaney
            },
        };
        let fb = features::mel_filterbank(sr, n_fft, &opts).expect("fb");
        let want = g.f64s(&format!("fb{i}"));
        assert_close(
            &format!("mel fb {c}"),
            &fb.dense(),
            &want,
            1e-4,
            1e-9 * max_abs(&want),
        );
    }
}

#[test]
fn mel_logmel_mfcc_match_librosa() {
    let g = load("mel_mfcc_chroma");
    let sig = g.arr("signal");
    let stft = StftOptions::default();
    let mo = features::MelOptions::default();
    let mel = features::melspectrogram(sig, 22050, &stft, &mo).expect("mel");
    let want = g.f64s("mel");
    assert_close(
        "melspectrogram",
        &mel.data,
        &want,
        1e-4,
        1e-8 * max_abs(&want),
    );
    let lm = features::log_mel_db(sig, 22050, &stft, &mo).expect("logmel");
    assert_close("log-mel dB", &lm.data, &g.f64s("logmel_db"), 1e-4, 1e-4);
    let mf = features::mfcc(sig, 22050, 20, &stft, &mo).expect("mfcc");
    let want = g.f64s("mfcc");
    assert_close("mfcc", &mf.data, &want, 1e-4, 1e-6 * max_abs(&want));
}

#[test]
fn chroma_matches_librosa_and_pitch_classes() {
    let g = load("mel_mfcc_chroma");
    let copts = features::ChromaOptions::default();
    let fb = features::chroma_filterbank(22050, 2048, &copts).expect("fb");
    assert_close("chroma filterbank", &fb, &g.f64s("chroma_fb"), 1e-4, 1e-9);
    let ch = features::chroma_stft(g.arr("signal"), 22050, &StftOptions::default(), &copts)
        .expect("chroma");
    assert_close(
        "chroma (C major chord)",
        &ch.data,
        &g.f64s("chroma"),
        1e-4,
        1e-6,
    );
    // every frame's maximum is C, E or G; the three largest mean values are C, E, G
    for t in 0..ch.n_frames {
        let a = argmax(ch.row(t));
        assert!([0, 4, 7].contains(&a), "frame {t}: argmax {a}");
    }
    let mean: Vec<f64> = (0..12).map(|k| ch.column(k).iter().sum::<f64>()).collect();
    let mut idx: Vec<usize> = (0..12).collect();
    idx.sort_by(|&a, &b| mean[b].total_cmp(&mean[a]));
    let mut top3 = idx[..3].to_vec();
    top3.sort_unstable();
    assert_eq!(top3, vec![0, 4, 7]);
    let cha = features::chroma_stft(g.arr("a440"), 22050, &StftOptions::default(), &copts)
        .expect("chroma a");
    assert_close(
        "chroma (A440)",
        &cha.data,
        &g.f64s("chroma_a440"),
        1e-4,
        1e-6,
    );
    for t in 0..cha.n_frames {
        assert_eq!(argmax(cha.row(t)), 9, "A440 frame {t}");
    }
}

fn argmax(v: &[f64]) -> usize {
    let mut b = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[b] {
            b = i;
        }
    }
    b
}

#[test]
fn spectral_features_match_librosa() {
    let g = load("spectral");
    let sig = g.arr("signal");
    let sr = 22050;
    let st = StftOptions::default();
    let c = features::spectral_centroid(sig, sr, &st).expect("centroid");
    assert_close("centroid", &c, &g.f64s("centroid"), 1e-4, 1e-3);
    let b = features::spectral_bandwidth(sig, sr, &st).expect("bandwidth");
    assert_close("bandwidth", &b, &g.f64s("bandwidth"), 1e-4, 1e-3);
    // roll-off is a bin frequency: allow one bin on at most 2 % of frames
    let r = features::spectral_rolloff(sig, sr, &st, 0.85).expect("rolloff");
    let want = g.f64s("rolloff");
    let bin = sr as f64 / 2048.0;
    let mut off = 0;
    for (a, e) in r.iter().zip(&want) {
        let d = (a - e).abs();
        assert!(d <= bin * 1.001 + 1e-3, "rolloff {a} vs {e}");
        if d > 1e-3 {
            off += 1;
        }
    }
    assert!(off * 50 <= r.len(), "rolloff: {off} frames off by one bin");
    let f = features::spectral_flatness(sig, &st).expect("flatness");
    assert_close("flatness", &f, &g.f64s("flatness"), 1e-4, 1e-7);
    let c6 = features::spectral_contrast(sig, sr, &st, 6, 200.0, 0.02).expect("contrast6");
    assert_close(
        "contrast n_bands=6",
        &c6.data,
        &g.f64s("contrast6"),
        1e-4,
        1e-4,
    );
    let c5 = features::spectral_contrast(sig, sr, &st, 5, 200.0, 0.02).expect("contrast5");
    assert_close(
        "contrast n_bands=5",
        &c5.data,
        &g.f64s("contrast5"),
        1e-4,
        1e-4,
    );
    let z = features::zero_crossing_rate(sig, 2048, 512).expect("zcr");
    assert_close("zcr", &z, &g.f64s("zcr"), 0.0, 1e-7);
    let rm = features::rms(sig, 2048, 512).expect("rms");
    assert_close("rms", &rm, &g.f64s("rms"), 1e-4, 1e-7);
    let o = features::onset_strength(sig, sr, &features::OnsetOptions::default()).expect("onset");
    assert_close("onset strength", &o, &g.f64s("onset"), 1e-4, 1e-4);
    let fl = features::spectral_flux(sig, &st).expect("flux");
    assert_close("flux", &fl, &g.f64s("flux"), 1e-4, 1e-7);
}

#[test]
fn musicnn_log_mel_matches_reference() {
    let g = load("musicnn_logmel");
    let sig = g.arr("signal");
    let lm = musicnn_input::log_mel(sig).expect("log mel");
    assert_eq!(
        lm.n_frames,
        g.params["n_frames"].as_u64().expect("n") as usize
    );
    assert_eq!(lm.data.len(), lm.n_frames * musicnn_input::N_MELS);
    // The clip is loud enough that musicnn's float16 cast would overflow (mel power
    // above ~6.5); the float32 representation stays finite.
    assert!(g.params["max_mel_power"].as_f64().expect("max") > 6.55);
    assert!(lm.data.iter().all(|v| v.is_finite()));
    let got: Vec<f64> = lm.data.iter().map(|&v| v as f64).collect();
    assert_close("musicnn log-mel", &got, &g.f64s("logmel"), 1e-4, 1e-4);
    let p = musicnn_input::patches(&lm, musicnn_input::PATCH_FRAMES);
    assert_eq!(
        p.len(),
        g.params["n_patches_hop187"].as_u64().expect("np") as usize
    );
    assert_eq!(p[0].len(), 187 * 96);
    assert_eq!(&p[0][..], &lm.data[..187 * 96]);
    // overlapping patches: starts 0, 50 (fits: 50 + 187 <= 251), 100 does not
    let p2 = musicnn_input::patches(&lm, 50);
    assert_eq!(p2.len(), 2);
    assert_eq!(&p2[1][..], &lm.data[50 * 96..237 * 96]);
}

/// Same formula as click_track() in make_features_golden.py.
fn click_track(sr: u32, dur: f64, bpm: f64) -> Vec<f32> {
    let n = (sr as f64 * dur).round() as usize;
    let mut y = vec![0.0f64; n];
    let period = 60.0 / bpm;
    let clen = (0.02 * sr as f64) as usize;
    let mut i = 0usize;
    loop {
        let s = (i as f64 * period * sr as f64).round() as usize;
        if s >= n {
            break;
        }
        for k in 0..clen.min(n - s) {
            let kf = k as f64;
            y[s + k] += (2.0 * std::f64::consts::PI * 1000.0 * kf / sr as f64).sin()
                * (-kf / (0.004 * sr as f64)).exp();
        }
        i += 1;
    }
    y.iter().map(|v| (0.8 * v) as f32).collect()
}

#[test]
fn tempo_on_click_tracks_within_2_bpm() {
    let g = load("tempo");
    for t in g.params["tracks"].as_array().expect("tracks") {
        let bpm = t["bpm"].as_f64().expect("bpm");
        let y = click_track(22050, 12.0, bpm);
        let est = features::tempo(&y, 22050, &features::TempoOptions::default()).expect("tempo");
        eprintln!(
            "click {bpm} BPM: valence {est:.2}, librosa {:.2}",
            t["librosa_tempo"].as_f64().unwrap_or(f64::NAN)
        );
        assert!((est - bpm).abs() <= 2.0, "tempo {est} for {bpm} BPM");
    }
}

#[test]
fn lpc_residual_phase_matches_scipy() {
    let g = load("lpc_rp");
    let sig = g.arr("signal");
    let x: Vec<f64> = sig.iter().map(|&v| v as f64).collect();
    let a = features::lpc_autocorrelation(&x, 12).expect("lpc");
    assert_close("lpc coefficients", &a, &g.f64s("lpc"), 1e-4, 1e-6);
    let e = features::lpc_residual(&x, &a);
    let want_e = g.f64s("residual");
    assert_close("lpc residual", &e, &want_e, 1e-4, 1e-6 * max_abs(&want_e));
    let rp = features::residual_phase(sig, 12).expect("rp");
    assert_close("residual phase", &rp, &g.f64s("rp"), 1e-4, 1e-4);
    assert!(rp.iter().all(|v| (-1.0..=1.0).contains(v)));
    let fr = features::residual_phase_frames(sig, 1024, 512, 12).expect("rp frames");
    assert_eq!((fr.n_frames, fr.dim), (3, 1024));
    assert!(fr.data.iter().all(|v| v.is_finite() && v.abs() <= 1.0));
}

// ---------------------------------------------------------------------------------------
// Segment descriptor, spectrogram picture

#[test]
fn segment_descriptors_shape_and_beat() {
    let y = click_track(22050, 7.0, 120.0);
    let d = features::segment_descriptors(&y, 22050).expect("desc");
    assert_eq!(d.len(), 2, "7 s -> two full 3-s segments, tail dropped");
    for seg in &d {
        assert!(seg.iter().all(|v| v.is_finite()));
        // strongest beat-histogram peak at 120 BPM (bins 40..200)
        assert!((seg[54] - 120.0).abs() <= 3.0, "peak tempo {}", seg[54]);
        assert!(seg[50] > 0.3);
    }
    assert!(matches!(
        features::segment_descriptors(&y, 44100),
        Err(FeatureError::UnsupportedSampleRate(_))
    ));
}

#[test]
fn spectrogram_png_has_extent_and_low_freqs_at_bottom() {
    let sr = 22050;
    let y: Vec<f32> = (0..sr)
        .map(|i| (2.0 * std::f32::consts::PI * 300.0 * i as f32 / sr as f32).sin())
        .collect();
    let opts = features::SpectrogramOptions::default();
    let (img, ext) = features::spectrogram_image(&y, sr, &opts).expect("image");
    assert_eq!((img.width(), img.height()), (44, 128));
    assert!((ext.duration_s - 1.0).abs() < 1e-9);
    assert_eq!((ext.min_hz, ext.max_hz), (0.0, 11025.0));
    // the brightest row (300 Hz) is in the bottom quarter
    let col = 20;
    let mut best = (0, 0u32);
    for row in 0..img.height() {
        let p = img.get_pixel(col, row).0;
        let s = p[0] as u32 + p[1] as u32 + p[2] as u32;
        if s > best.1 {
            best = (row, s);
        }
    }
    assert!(best.0 > 96, "brightest row {}", best.0);
    let path = std::env::temp_dir().join(format!("valence_feat_test_{}.png", std::process::id()));
    let ext2 = features::save_png_with_extent(&img, &ext, &path).expect("save");
    assert_eq!(ext2, ext);
    let bytes = std::fs::read(&path).expect("read png");
    let _ = std::fs::remove_file(&path);
    let back = image::load_from_memory(&bytes).expect("decodes").to_rgb8();
    assert_eq!(back, img);
    // walk the chunks: tEXt present with valid CRCs
    let mut pos = 8;
    let mut texts = Vec::new();
    while pos + 12 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().expect("len")) as usize;
        let body = &bytes[pos + 4..pos + 8 + len];
        let crc = u32::from_be_bytes(
            bytes[pos + 8 + len..pos + 12 + len]
                .try_into()
                .expect("crc"),
        );
        assert_eq!(crc, features::spectrogram_image::crc32(body), "chunk CRC");
        if &body[..4] == b"tEXt" {
            texts.push(String::from_utf8_lossy(&body[4..]).replace('\0', "="));
        }
        pos += 12 + len;
    }
    assert!(
        texts.contains(&"valence:duration_s=1".to_string()),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"valence:max_hz=11025".to_string()),
        "{texts:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Bad input

fn check_bad(samples: &[f32], want: fn(&FeatureError) -> bool) {
    let st = StftOptions::default();
    let mo = features::MelOptions::default();
    let results: Vec<(&str, Result<(), FeatureError>)> = vec![
        (
            "power",
            features::power_spectrogram(samples, &st).map(|_| ()),
        ),
        (
            "mel",
            features::melspectrogram(samples, 22050, &st, &mo).map(|_| ()),
        ),
        (
            "mfcc",
            features::mfcc(samples, 22050, 20, &st, &mo).map(|_| ()),
        ),
        (
            "chroma",
            features::chroma_stft(samples, 22050, &st, &Default::default()).map(|_| ()),
        ),
        (
            "centroid",
            features::spectral_centroid(samples, 22050, &st).map(|_| ()),
        ),
        (
            "flatness",
            features::spectral_flatness(samples, &st).map(|_| ()),
        ),
        (
            "zcr",
            features::zero_crossing_rate(samples, 2048, 512).map(|_| ()),
        ),
        ("rms", features::rms(samples, 2048, 512).map(|_| ())),
        (
            "onset",
            features::onset_strength(samples, 22050, &Default::default()).map(|_| ()),
        ),
        (
            "tempo",
            features::tempo(samples, 22050, &Default::default()).map(|_| ()),
        ),
        ("rp", features::residual_phase(samples, 4).map(|_| ())),
        ("musicnn", musicnn_input::log_mel(samples).map(|_| ())),
        (
            "descriptor",
            features::segment_descriptors(samples, 22050).map(|_| ()),
        ),
        (
            "image",
            features::spectrogram_image(samples, 22050, &Default::default()).map(|_| ()),
        ),
    ];
    for (name, r) in results {
        match r {
            Err(e) => assert!(want(&e), "{name}: unexpected error {e:?}"),
            Ok(()) => panic!("{name}: accepted bad input"),
        }
    }
}

#[test]
fn empty_input_is_an_error() {
    check_bad(&[], |e| matches!(e, FeatureError::EmptyInput(_)));
}

#[test]
fn nan_and_inf_are_errors() {
    let mut y = vec![0.1f32; 5000];
    y[1234] = f32::NAN;
    check_bad(&y, |e| matches!(e, FeatureError::NonFinite(_)));
    y[1234] = f32::INFINITY;
    check_bad(&y, |e| matches!(e, FeatureError::NonFinite(_)));
    y[1234] = f32::NEG_INFINITY;
    check_bad(&y, |e| matches!(e, FeatureError::NonFinite(_)));
}

#[test]
fn silence_gives_defined_values() {
    let y = vec![0.0f32; 22050];
    let st = StftOptions::default();
    let c = features::spectral_centroid(&y, 22050, &st).expect("centroid");
    assert!(c.iter().all(|&v| v == 0.0));
    let f = features::spectral_flatness(&y, &st).expect("flatness");
    assert!(f.iter().all(|&v| (v - 1.0).abs() < 1e-12));
    let lm = features::log_mel_db(&y, 22050, &st, &Default::default()).expect("logmel");
    assert!(lm.data.iter().all(|&v| (v + 100.0).abs() < 1e-9));
    let m = features::mfcc(&y, 22050, 20, &st, &Default::default()).expect("mfcc");
    assert!(m.data.iter().all(|v| v.is_finite()));
    let ch = features::chroma_stft(&y, 22050, &st, &Default::default()).expect("chroma");
    assert!(ch.data.iter().all(|&v| v == 0.0));
    assert_eq!(
        features::tempo(&y, 22050, &Default::default()).expect("tempo"),
        0.0
    );
    let rp = features::residual_phase(&y, 12).expect("rp");
    assert!(rp.iter().all(|&v| v == 0.0));
    let mm = musicnn_input::log_mel(&y[..16000]).expect("musicnn");
    assert!(mm.data.iter().all(|&v| v == 0.0));
    let d = features::segment_descriptors(&vec![0.0; 70000], 22050).expect("desc");
    assert_eq!(d.len(), 1);
    assert!(d[0].iter().all(|v| v.is_finite()));
    assert_eq!(d[0][24], 1.0); // flatness of silence
    assert!(d[0][50..].iter().all(|&v| v == 0.0)); // no beat
    let (img, _) = features::spectrogram_image(&y, 22050, &Default::default()).expect("img");
    let bottom = features::Colormap::Magma.color(0.0);
    assert!(img.pixels().all(|p| p.0 == bottom));
}

#[test]
fn one_sample_and_short_signals() {
    let st = StftOptions::default();
    for n in [1usize, 2, 3, 100, 1000] {
        let y: Vec<f32> = (0..n)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) / 10.0)
            .collect();
        let p = features::power_spectrogram(&y, &st).expect("power");
        assert_eq!(p.n_frames, 1 + n / 512);
        let m = features::mfcc(&y, 22050, 20, &st, &Default::default()).expect("mfcc");
        assert!(m.data.iter().all(|v| v.is_finite()));
        let ch = features::chroma_stft(&y, 22050, &st, &Default::default()).expect("chroma");
        assert!(ch.data.iter().all(|v| v.is_finite()));
        let c = features::spectral_contrast(&y, 22050, &st, 6, 200.0, 0.02).expect("contrast");
        assert!(c.data.iter().all(|v| v.is_finite()));
        assert!(features::tempo(&y, 22050, &Default::default())
            .expect("tempo")
            .is_finite());
        let mm = musicnn_input::log_mel(&y).expect("musicnn");
        assert_eq!(mm.n_frames, 1 + n / 256);
        let pt = musicnn_input::patches(&mm, 187);
        assert_eq!(pt.len(), 1, "short clip -> one zero-padded patch");
        assert_eq!(pt[0].len(), 187 * 96);
        assert!(pt[0][mm.n_frames * 96..].iter().all(|&v| v == 0.0));
        let d = features::segment_descriptors(&y, 22050).expect("desc");
        assert_eq!(d.len(), 1);
        assert!(d[0].iter().all(|v| v.is_finite()));
        let (img, ext) =
            features::spectrogram_image(&y, 22050, &Default::default()).expect("image");
        assert_eq!(img.width() as usize, 1 + n / 512);
        assert!(ext.duration_s > 0.0);
        // LPC order must be below the length
        let rp = features::residual_phase(&y, 4);
        if n <= 4 {
            assert!(matches!(rp, Err(FeatureError::InvalidParameter(_))));
        } else {
            assert!(rp.expect("rp").iter().all(|v| v.is_finite()));
        }
    }
}

#[test]
fn invalid_parameters_are_errors() {
    let y = vec![0.1f32; 4096];
    let bad_stft = [
        StftOptions {
            n_fft: 1,
            ..Default::default()
        },
        StftOptions {
            hop: 0,
            ..Default::default()
        },
    ];
    for st in bad_stft {
        assert!(matches!(
            features::power_spectrogram(&y, &st),
            Err(FeatureError::InvalidParameter(_))
        ));
    }
    let no_center = StftOptions {
        center: false,
        n_fft: 8192,
        ..Default::default()
    };
    assert!(features::power_spectrogram(&y, &no_center).is_err());
    assert!(features::spectral_centroid(&y, 0, &StftOptions::default()).is_err());
    let mo = features::MelOptions {
        fmax: Some(20000.0),
        fmin: 30000.0,
        ..Default::default()
    };
    assert!(features::melspectrogram(&y, 22050, &StftOptions::default(), &mo).is_err());
    assert!(
        features::spectral_contrast(&y, 22050, &StftOptions::default(), 7, 200.0, 0.02).is_err()
    );
    assert!(features::spectral_rolloff(&y, 22050, &StftOptions::default(), 1.5).is_err());
    assert!(features::mfcc(&y, 22050, 0, &StftOptions::default(), &Default::default()).is_err());
    let f = Frames::zeros(1, 4);
    assert!(features::mfcc_from_log_mel(&f, 5).is_err());
}
