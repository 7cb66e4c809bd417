//! The shipped emotion model loads with no path argument and reads synthesised audio into
//! valid probabilities, valence/arousal and a timeline covering the whole file.

mod common;

use valence::analysis::route::FileAnalyzer;

#[test]
fn shipped_model_analyses_a_file() {
    let mut analyzer = FileAnalyzer::load_default(tch::Device::Cpu, 1).expect("shipped models");
    let dir = tempfile::tempdir().unwrap();
    let f = common::sine_file(dir.path(), "tone", 2, 440.0, 14.0, 44100, None);
    let e = analyzer.analyze(&f).unwrap();
    let sum: f32 = e.probs.iter().sum();
    assert!((sum - 1.0).abs() < 1e-4, "{:?}", e.probs);
    // One output: the most probable quadrant is the quadrant of the point, for the track
    // and for every timeline point.
    let argmax = |p: &[f32; 4]| valence::mood::argmax(p);
    assert_eq!(argmax(&e.probs), e.quadrant().index());
    for s in &e.segments {
        let q = valence::mood::Quadrant::of_point(s.valence, s.arousal);
        assert_eq!(argmax(&s.probs), q.index(), "{s:?}");
    }
    assert!((-1.0..=1.0).contains(&e.valence) && (-1.0..=1.0).contains(&e.arousal));
    // 14 s at 2.992 s per segment: 4 whole segments.
    assert_eq!(e.segments.len(), 4);
    assert!(e.segments.windows(2).all(|w| w[1].start_s > w[0].start_s));
    assert_eq!(e.embedding.len(), 200);
    assert_eq!(e.model_version, analyzer.model_version().to_string());
    // The same file twice gives the same answer (eval mode: no dropout).
    assert_eq!(analyzer.analyze(&f).unwrap(), e);
}
