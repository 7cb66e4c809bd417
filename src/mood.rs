//! The one vocabulary of moods, used by the model, the store, the CLI and the window: a
//! point on Russell's valence-arousal plane and the quadrant it lies in.
//!
//! The emotion model predicts the point; everything else is derived from it, so the badge
//! can never contradict the numbers beside it:
//! - the quadrant is the quadrant of the point (`Quadrant::of_point`, an axis value of 0
//!   counts as positive);
//! - the quadrant probabilities treat each axis' sign as a logistic function of the point's
//!   coordinate, `P(v > 0) = sigmoid(v / T_v)`, with a temperature per axis fitted on
//!   held-out data (`Calibration`), and `P(Q1) = P(v > 0) P(a > 0)` and so on. Their argmax
//!   is therefore the point's quadrant, and a point near an axis gets a low top probability:
//!   the window shows such a mood as uncertain (`Mood::is_uncertain`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// One of Russell's four valence/arousal quadrants. Index 0..3 = Q1..Q4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Quadrant {
    /// Happy/excited: valence +, arousal +.
    Q1,
    /// Tense/angry: valence -, arousal +.
    Q2,
    /// Sad: valence -, arousal -.
    Q3,
    /// Calm/relaxed: valence +, arousal -.
    Q4,
}

impl Quadrant {
    /// All quadrants in index order.
    pub const ALL: [Quadrant; 4] = [Quadrant::Q1, Quadrant::Q2, Quadrant::Q3, Quadrant::Q4];

    /// Class index, 0..=3.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The quadrant with class index `i`, or `None` when `i > 3`.
    pub fn from_index(i: usize) -> Option<Quadrant> {
        Quadrant::ALL.get(i).copied()
    }

    /// The quadrant's number, 1..=4 (as stored in the database).
    pub fn number(self) -> u8 {
        self as u8 + 1
    }

    /// The quadrant numbered `n` (1..=4).
    pub fn from_number(n: u8) -> Option<Quadrant> {
        (n as usize).checked_sub(1).and_then(Quadrant::from_index)
    }

    /// The quadrant a valence/arousal point lies in; 0 counts as positive on both axes.
    pub fn of_point(valence: f32, arousal: f32) -> Quadrant {
        match (valence >= 0.0, arousal >= 0.0) {
            (true, true) => Quadrant::Q1,
            (false, true) => Quadrant::Q2,
            (false, false) => Quadrant::Q3,
            (true, false) => Quadrant::Q4,
        }
    }

    /// `"Q1"`..`"Q4"`.
    pub fn name(self) -> &'static str {
        ["Q1", "Q2", "Q3", "Q4"][self.index()]
    }

    /// One word, used on badges, chips and tables: Happy, Tense, Sad, Calm.
    pub fn label(self) -> &'static str {
        ["Happy", "Tense", "Sad", "Calm"][self.index()]
    }

    /// The longer description: "happy / excited", "tense / angry", "sad / depressed",
    /// "calm / relaxed".
    pub fn description(self) -> &'static str {
        [
            "happy / excited",
            "tense / angry",
            "sad / depressed",
            "calm / relaxed",
        ][self.index()]
    }

    /// +1 for positive valence (Q1, Q4), -1 otherwise.
    pub fn valence_sign(self) -> i8 {
        match self {
            Quadrant::Q1 | Quadrant::Q4 => 1,
            Quadrant::Q2 | Quadrant::Q3 => -1,
        }
    }

    /// +1 for high arousal (Q1, Q2), -1 otherwise.
    pub fn arousal_sign(self) -> i8 {
        match self {
            Quadrant::Q1 | Quadrant::Q2 => 1,
            Quadrant::Q3 | Quadrant::Q4 => -1,
        }
    }

    /// Parses `Q1`..`Q4` or `1`..`4`, case-insensitive, ignoring surrounding whitespace.
    pub fn parse(s: &str) -> Option<Quadrant> {
        let s = s.trim();
        let digits = s.strip_prefix(['q', 'Q']).unwrap_or(s);
        match digits {
            "1" => Some(Quadrant::Q1),
            "2" => Some(Quadrant::Q2),
            "3" => Some(Quadrant::Q3),
            "4" => Some(Quadrant::Q4),
            _ => None,
        }
    }
}

impl fmt::Display for Quadrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Per-axis temperatures turning a point into quadrant probabilities (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub valence_temp: f32,
    pub arousal_temp: f32,
}

impl Default for Calibration {
    /// What training uses before a temperature is fitted.
    fn default() -> Self {
        Self {
            valence_temp: 0.1,
            arousal_temp: 0.1,
        }
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Calibration {
    /// Quadrant probabilities Q1..Q4 of a point. Their argmax is `Quadrant::of_point`
    /// (up to ties exactly on an axis).
    pub fn probs(&self, valence: f32, arousal: f32) -> [f32; 4] {
        let pv = sigmoid(valence / self.valence_temp.max(1e-4));
        let pa = sigmoid(arousal / self.arousal_temp.max(1e-4));
        [
            pv * pa,
            (1.0 - pv) * pa,
            (1.0 - pv) * (1.0 - pa),
            pv * (1.0 - pa),
        ]
    }
}

/// Below this top probability a mood is shown as uncertain (faded, with the runner-up). Not
/// 0.5: a point on one axis is a coin toss between two quadrants yet has a top probability of
/// about 0.5 (the other axis being sure), and users should see that as uncertain too.
pub const UNCERTAIN_BELOW: f32 = 0.6;

/// A mood as every consumer sees it: the point, its quadrant and the quadrant probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Mood {
    pub quadrant: Quadrant,
    pub valence: f32,
    pub arousal: f32,
    /// Quadrant probabilities Q1..Q4.
    pub probs: [f32; 4],
}

impl Mood {
    /// A point with its quadrant probabilities (as the model produced and the store keeps).
    pub fn new(valence: f32, arousal: f32, probs: [f32; 4]) -> Self {
        Self {
            quadrant: Quadrant::of_point(valence, arousal),
            valence,
            arousal,
            probs,
        }
    }

    /// The mood of a point under a calibration.
    pub fn from_point(valence: f32, arousal: f32, cal: &Calibration) -> Self {
        Self::new(valence, arousal, cal.probs(valence, arousal))
    }

    /// The probability of the shown quadrant.
    pub fn confidence(&self) -> f32 {
        self.probs[self.quadrant.index()]
    }

    /// The most probable quadrant other than the shown one.
    pub fn runner_up(&self) -> Quadrant {
        let mut best: Option<Quadrant> = None;
        for q in Quadrant::ALL {
            if q != self.quadrant
                && best.is_none_or(|b| self.probs[q.index()] > self.probs[b.index()])
            {
                best = Some(q);
            }
        }
        best.unwrap_or(self.quadrant)
    }

    /// True when the shown quadrant's probability is below `UNCERTAIN_BELOW` (the point is near
    /// an axis).
    pub fn is_uncertain(&self) -> bool {
        self.confidence() < UNCERTAIN_BELOW
    }

    /// "Q1 Happy", with "(uncertain; or Q4 Calm)" when the mood is uncertain.
    pub fn text(&self) -> String {
        let q = self.quadrant;
        let sure = format!("{q} {}", q.label());
        if self.is_uncertain() {
            let r = self.runner_up();
            format!("{sure} (uncertain; or {r} {})", r.label())
        } else {
            sure
        }
    }
}

/// Index of the largest value (the first on ties).
pub fn argmax(p: &[f32]) -> usize {
    p.iter()
        .enumerate()
        .fold(
            (0, f32::NEG_INFINITY),
            |a, (i, &v)| if v > a.1 { (i, v) } else { a },
        )
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quadrant_is_the_argmax_of_the_point_probabilities() {
        let cal = Calibration {
            valence_temp: 0.2,
            arousal_temp: 0.07,
        };
        let steps: Vec<f32> = (-20..=20).map(|i| i as f32 * 0.05 + 0.013).collect();
        for &v in &steps {
            for &a in &steps {
                let m = Mood::from_point(v, a, &cal);
                assert_eq!(Quadrant::from_index(argmax(&m.probs)), Some(m.quadrant));
                assert!((m.probs.iter().sum::<f32>() - 1.0).abs() < 1e-5);
                assert_ne!(m.runner_up(), m.quadrant);
            }
        }
        // Near the origin the top probability is below 0.5; near one axis only it is a coin
        // toss between two quadrants (just above 0.5): both are uncertain. Far from both
        // axes the mood is sure.
        let near = Mood::from_point(0.02, 0.02, &cal);
        assert!(near.is_uncertain() && near.confidence() < 0.5, "{near:?}");
        assert_eq!(near.runner_up(), Quadrant::Q2);
        let edge = Mood::from_point(0.01, 0.6, &cal);
        assert!(edge.is_uncertain() && edge.confidence() < 0.52, "{edge:?}");
        assert_eq!(edge.runner_up(), Quadrant::Q2);
        let sure = Mood::from_point(0.7, 0.6, &cal);
        assert!(!sure.is_uncertain() && sure.confidence() > 0.95);
        assert_eq!(sure.text(), "Q1 Happy");
        assert_eq!(edge.text(), "Q1 Happy (uncertain; or Q2 Tense)");
    }

    #[test]
    fn names_numbers_and_parsing_round_trip() {
        for q in Quadrant::ALL {
            assert_eq!(Quadrant::from_number(q.number()), Some(q));
            assert_eq!(Quadrant::parse(q.name()), Some(q));
            assert_eq!(
                Quadrant::of_point(q.valence_sign() as f32, q.arousal_sign() as f32),
                q
            );
        }
        assert_eq!(Quadrant::from_number(0), None);
        assert_eq!(Quadrant::from_number(5), None);
        assert_eq!(Quadrant::parse(" q3 "), Some(Quadrant::Q3));
        assert_eq!(Quadrant::parse("5"), None);
    }
}
