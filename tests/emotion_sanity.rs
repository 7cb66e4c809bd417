//! The shipped model on synthesised solo piano (`valence::analysis::sanity`), through the
//! analyser's route at its default stride: playing the same melody faster or in fuller chords
//! must raise arousal. Loudness is measured and reported (`valence sanity`) but not asserted:
//! the shipped model barely reads level (see assets/models/MODEL_CARD.md).

use valence::analysis::route::FileAnalyzer;
use valence::analysis::{sanity, DEFAULT_STRIDE};

#[test]
fn faster_and_fuller_piano_raises_arousal() {
    let mut fa = FileAnalyzer::load_default(tch::Device::Cpu, DEFAULT_STRIDE).expect("models");
    let dir = tempfile::tempdir().expect("tempdir");
    let r = sanity::run(&mut fa, dir.path()).expect("sanity suite");
    let share = |name: &str| {
        let (_, right, total) = r.pairs.iter().find(|p| p.0 == name).expect("factor");
        *right as f64 / *total as f64
    };
    eprintln!("{:?} -> {:.3} of all pairs", r.pairs, r.share);
    assert!(share("tempo") >= 0.9, "{:?}", r.pairs);
    assert!(share("chord size") >= 0.8, "{:?}", r.pairs);
    // The fast chiptune is not read as calm or sad.
    let chip = r.pieces.last().expect("pieces");
    assert_eq!(chip.0.timbre, sanity::Timbre::Chiptune);
    assert!(chip.2 > 0.0, "chiptune arousal {}", chip.2);
}
