use super::*;
use crate::themes::synthetic::{draw_more, planted, PlantedSpec};

/// The planted topics of `p` as a model.
fn truth(spec: &PlantedSpec, phi: &[f32]) -> Model {
    Model::from_topic_word(
        spec.topics,
        spec.vocab,
        phi.to_vec(),
        spec.doc_alpha,
        DEFAULT_BETA,
    )
    .expect("planted model")
}

fn mean_matched_distance(old: &Model, new: &Model) -> f64 {
    let m = match_topics(old, new).expect("match");
    m.iter().map(|x| x.expect("matched").distance).sum::<f64>() / m.len() as f64
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold(
            (0, f32::NEG_INFINITY),
            |b, (i, &x)| if x > b.1 { (i, x) } else { b },
        )
        .0
}

#[test]
fn planted_topics_are_recovered() {
    let spec = PlantedSpec::small();
    for seed in [1u64, 2, 3] {
        let p = planted(&spec, seed);
        let fit = fit(&p.docs, spec.vocab, &LdaConfig::new(8).seed(seed + 100)).expect("fit");
        let d = mean_matched_distance(&truth(&spec, &p.phi), &fit.model);
        let worst = match_topics(&truth(&spec, &p.phi), &fit.model)
            .expect("match")
            .iter()
            .map(|m| m.expect("matched").distance)
            .fold(0.0, f64::max);
        eprintln!("seed {seed}: mean matched Hellinger {d:.4}, worst {worst:.4}");
        assert!(d < 0.2, "seed {seed}: mean Hellinger {d}");
        assert!(worst < 0.3, "seed {seed}: worst Hellinger {worst}");
        // Each document's fitted mix is close to the one it was drawn from (after matching).
        let m = match_topics(&truth(&spec, &p.phi), &fit.model).expect("match");
        let mut h = 0.0;
        for d in 0..fit.docs() {
            let fitted = fit.doc_topics(d).expect("doc");
            let mut aligned = vec![0f32; 8];
            for (n, x) in m.iter().enumerate() {
                aligned[x.expect("matched").old] = fitted[n];
            }
            h += hellinger(&aligned, &p.theta[d * 8..(d + 1) * 8]);
        }
        let h = h / fit.docs() as f64;
        eprintln!("seed {seed}: mean theta Hellinger to the planted mixes {h:.4}");
        assert!(h < 0.3, "seed {seed}: theta Hellinger {h}");
    }
}

#[test]
fn estimates_are_distributions_and_the_likelihood_settles() {
    let spec = PlantedSpec::small();
    let p = planted(&spec, 4);
    let fit = fit(&p.docs, spec.vocab, &LdaConfig::new(8).seed(4)).expect("fit");
    for t in 0..8 {
        let s: f64 = fit.model.topic_word(t).iter().map(|&v| v as f64).sum();
        assert!((s - 1.0).abs() < 1e-4, "topic {t} sums to {s}");
    }
    for d in 0..fit.docs() {
        let s: f64 = fit
            .doc_topics(d)
            .expect("doc")
            .iter()
            .map(|&v| v as f64)
            .sum();
        assert!((s - 1.0).abs() < 1e-4, "doc {d} sums to {s}");
    }
    assert!(fit.doc_topics(fit.docs()).is_none());
    assert_eq!(fit.tokens, p.docs.iter().map(Vec::len).sum::<usize>());
    let ll = &fit.log_likelihood;
    assert_eq!(ll.len(), DEFAULT_ITERATIONS);
    let mean = |r: std::ops::Range<usize>| ll[r.clone()].iter().sum::<f64>() / r.len() as f64;
    let (start, mid, end) = (ll[0], mean(90..110), mean(180..200));
    eprintln!(
        "log p(w|z): sweep 1 {start:.0}, sweeps 10 {:.0}, 50 {:.0}, 90-110 {mid:.0}, 180-200 {end:.0}",
        ll[9], ll[49]
    );
    assert!(mid > start);
    // Settled by sweep 100: what is left is sampling noise.
    assert!((end - mid).abs() < 0.002 * mid.abs(), "{mid} -> {end}");
}

#[test]
fn fold_in_agrees_with_the_fit() {
    let spec = PlantedSpec::small();
    for seed in [5u64, 6] {
        let p = planted(&spec, seed);
        let fit = fit(&p.docs, spec.vocab, &LdaConfig::new(8).seed(seed)).expect("fit");
        let (mut h, mut agree) = (0.0, 0usize);
        for (d, doc) in p.docs.iter().enumerate() {
            let folded = fit
                .model
                .fold_in(doc, DEFAULT_FOLD_IN_ITERATIONS, d as u64)
                .expect("fold-in");
            let fitted = fit.doc_topics(d).expect("doc");
            h += hellinger(&folded, fitted);
            agree += usize::from(argmax(&folded) == argmax(fitted));
        }
        let n = p.docs.len() as f64;
        let (h, agree) = (h / n, agree as f64 / n);
        eprintln!(
            "seed {seed}: fold-in vs fit: mean Hellinger {h:.4}, argmax agreement {agree:.4}"
        );
        assert!(h < 0.08, "seed {seed}: mean Hellinger {h}");
        assert!(agree > 0.95, "seed {seed}: argmax agreement {agree}");
    }
}

#[test]
fn fold_in_is_deterministic_and_handles_edges() {
    let spec = PlantedSpec::small();
    let p = planted(&spec, 7);
    let m = fit(&p.docs[..200], spec.vocab, &LdaConfig::new(8).seed(7))
        .expect("fit")
        .model;
    let doc = &p.docs[0];
    let a = m.fold_in(doc, 50, 3).expect("fold-in");
    assert_eq!(a, m.fold_in(doc, 50, 3).expect("fold-in"));
    assert!((a.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    assert_eq!(m.fold_in(&[], 50, 3).expect("empty"), vec![0.125f32; 8]);
    let one = m.fold_in(&[doc[0]], 1, 3).expect("one token, one sweep");
    assert!((one.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    assert!(matches!(
        m.fold_in(&[0, 200], 10, 0),
        Err(ThemeError::WordOutOfRange {
            word: 200,
            vocab: 200,
            ..
        })
    ));
    assert!(matches!(
        m.fold_in(doc, 0, 0),
        Err(ThemeError::Parameter(_))
    ));
}

#[test]
fn fit_is_deterministic_for_a_fixed_seed() {
    let spec = PlantedSpec {
        docs: 300,
        ..PlantedSpec::small()
    };
    let p = planted(&spec, 8);
    let cfg = LdaConfig {
        iterations: 60,
        ..LdaConfig::new(8).seed(42)
    };
    let a = fit(&p.docs, spec.vocab, &cfg).expect("fit");
    let b = fit(&p.docs, spec.vocab, &cfg).expect("fit");
    assert_eq!(a.model, b.model);
    assert_eq!(a.theta(), b.theta());
    assert_eq!(a.log_likelihood, b.log_likelihood);
    assert_eq!(a.model.fingerprint(), b.model.fingerprint());
    let c = fit(&p.docs, spec.vocab, &cfg.clone().seed(43)).expect("fit");
    assert_ne!(a.model, c.model);
    assert_ne!(a.model.fingerprint(), c.model.fingerprint());
    assert_eq!(
        a.model.perplexity(&p.docs[..50], 1).expect("perplexity"),
        b.model.perplexity(&p.docs[..50], 1).expect("perplexity")
    );
}

#[test]
fn heldout_perplexity_is_well_below_unigram() {
    let spec = PlantedSpec::small();
    let p = planted(&spec, 9);
    let held = draw_more(
        &p.phi,
        &PlantedSpec {
            docs: 300,
            ..spec.clone()
        },
        99,
    );
    let fit = fit(&p.docs, spec.vocab, &LdaConfig::new(8).seed(9)).expect("fit");
    let lda = fit.model.perplexity(&held.docs, 1).expect("lda");
    let unigram = Unigram::fit(&p.docs, spec.vocab)
        .expect("unigram")
        .perplexity(&held.docs)
        .expect("unigram perplexity");
    let oracle = truth(&spec, &p.phi)
        .perplexity(&held.docs, 1)
        .expect("oracle");
    eprintln!(
        "held-out perplexity: LDA {lda:.2}, planted topics {oracle:.2}, unigram {unigram:.2}"
    );
    assert!(lda < 0.6 * unigram, "LDA {lda} vs unigram {unigram}");
    // Close to what the true topics achieve.
    assert!(lda < 1.05 * oracle, "LDA {lda} vs planted {oracle}");
    // More topics than planted should not help much; one topic is about the unigram model.
    let one = super::fit(&p.docs, spec.vocab, &LdaConfig::new(1).seed(9)).expect("fit");
    let one = one.model.perplexity(&held.docs, 1).expect("T = 1");
    eprintln!("held-out perplexity with T = 1: {one:.2}");
    assert!(
        (one / unigram - 1.0).abs() < 0.05,
        "T=1 {one} vs unigram {unigram}"
    );
}

#[test]
fn match_topics_recovers_a_permutation_and_refits_keep_identities() {
    let spec = PlantedSpec::small();
    let p = planted(&spec, 10);
    let old = fit(&p.docs, spec.vocab, &LdaConfig::new(8).seed(1))
        .expect("fit")
        .model;
    // A known permutation of the same topics.
    let perm = [3usize, 7, 0, 5, 1, 6, 2, 4];
    let mut phi = Vec::new();
    for &o in &perm {
        phi.extend_from_slice(old.topic_word(o));
    }
    let permuted =
        Model::from_topic_word(8, spec.vocab, phi, old.alpha(), old.beta()).expect("model");
    let m = match_topics(&old, &permuted).expect("match");
    for (n, x) in m.iter().enumerate() {
        let x = x.expect("matched");
        assert_eq!(x.old, perm[n]);
        assert!(x.distance < 1e-3);
    }
    // A refit with another seed: a permutation with small distances.
    let new = fit(&p.docs, spec.vocab, &LdaConfig::new(8).seed(2))
        .expect("fit")
        .model;
    let m = match_topics(&old, &new).expect("match");
    let mut olds: Vec<usize> = m.iter().map(|x| x.expect("matched").old).collect();
    let d = mean_matched_distance(&old, &new);
    eprintln!("refit with another seed: mean matched Hellinger {d:.4}");
    assert!(d < 0.15, "refit distance {d}");
    olds.sort();
    assert_eq!(olds, (0..8).collect::<Vec<_>>());
    // More topics in the refit: the extra ones are new scenes; fewer: each continues one.
    let more = fit(&p.docs, spec.vocab, &LdaConfig::new(10).seed(3))
        .expect("fit")
        .model;
    let m = match_topics(&old, &more).expect("match");
    assert_eq!(m.iter().filter(|x| x.is_none()).count(), 2);
    let m = match_topics(&more, &old).expect("match");
    let mut olds: Vec<usize> = m.iter().map(|x| x.expect("matched").old).collect();
    olds.sort();
    olds.dedup();
    assert_eq!(olds.len(), 8);
    // Another vocabulary cannot be matched.
    let other = Model::from_topic_word(1, 5, vec![1.0; 5], 1.0, 0.1).expect("model");
    assert!(matches!(
        match_topics(&old, &other),
        Err(ThemeError::VocabMismatch { .. })
    ));
}

#[test]
fn hungarian_is_optimal_on_small_matrices() {
    fn best(cost: &[f64], rows: usize, cols: usize) -> f64 {
        // Brute force over injective maps rows -> cols.
        fn go(r: usize, rows: usize, cols: usize, used: &mut Vec<bool>, cost: &[f64]) -> f64 {
            if r == rows {
                return 0.0;
            }
            let mut b = f64::INFINITY;
            for c in 0..cols {
                if !used[c] {
                    used[c] = true;
                    b = b.min(cost[r * cols + c] + go(r + 1, rows, cols, used, cost));
                    used[c] = false;
                }
            }
            b
        }
        go(0, rows, cols, &mut vec![false; cols], cost)
    }
    let mut rng = seeded(11);
    for (rows, cols) in [(1, 1), (3, 3), (5, 5), (6, 6), (3, 6), (4, 7)] {
        for _ in 0..20 {
            let cost: Vec<f64> = (0..rows * cols).map(|_| rng.gen::<f64>()).collect();
            let a = hungarian(&cost, rows, cols);
            let mut seen = a.clone();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), rows);
            let total: f64 = a.iter().enumerate().map(|(r, &c)| cost[r * cols + c]).sum();
            assert!((total - best(&cost, rows, cols)).abs() < 1e-9);
        }
    }
}

#[test]
fn hellinger_is_a_bounded_symmetric_distance() {
    assert_eq!(hellinger(&[0.5, 0.5], &[0.5, 0.5]), 0.0);
    assert!((hellinger(&[1.0, 0.0], &[0.0, 1.0]) - 1.0).abs() < 1e-12);
    let (p, q) = ([0.2f32, 0.3, 0.5], [0.6f32, 0.1, 0.3]);
    let h = hellinger(&p, &q);
    assert!(h > 0.0 && h < 1.0);
    assert!((h - hellinger(&q, &p)).abs() < 1e-12);
    // Counts are normalised; a zero or negative-only side is at distance 1.
    assert!((hellinger(&[2.0, 3.0, 5.0], &q) - h).abs() < 1e-7);
    assert_eq!(hellinger(&[0.0, 0.0], &[0.5, 0.5]), 1.0);
    assert_eq!(hellinger(&[], &[]), 1.0);
}

#[test]
fn ln_gamma_matches_known_values() {
    let pi = std::f64::consts::PI;
    for (x, want) in [
        (1.0, 0.0),
        (2.0, 0.0),
        (0.5, 0.5 * pi.ln()),
        (10.0, 362_880f64.ln()),
        (0.1, 2.252_712_651_734_206),
        (0.01, 4.599_479_878_042_022),
        (1000.5, 5_908.674_175_848_678),
    ] {
        let got = ln_gamma(x);
        assert!(
            (got - want).abs() < 1e-9 * want.abs().max(1.0),
            "lnΓ({x}) = {got}, want {want}"
        );
    }
}

#[test]
fn tiny_and_degenerate_corpora() {
    // Three documents, more topics than documents, an empty document, one-token documents.
    let docs: Vec<Vec<u16>> = vec![vec![0, 1, 1, 2], vec![], vec![3], vec![4, 4, 0]];
    let f = fit(&docs, 5, &LdaConfig::new(6).seed(1)).expect("tiny fit");
    assert_eq!(f.docs(), 4);
    assert_eq!(f.doc_topics(1).expect("empty doc"), &[1.0f32 / 6.0; 6][..]);
    for d in 0..4 {
        let s: f32 = f.doc_topics(d).expect("doc").iter().sum();
        assert!((s - 1.0).abs() < 1e-4);
    }
    let f = fit(
        &docs[..3],
        5,
        &LdaConfig {
            iterations: 1,
            ..LdaConfig::new(2)
        },
    )
    .expect("1 sweep");
    assert_eq!(f.log_likelihood.len(), 1);
    // Perplexity of documents too short to split is an error, not NaN.
    assert!(matches!(
        f.model.perplexity(&[vec![1u16], vec![]], 0),
        Err(ThemeError::NoTokens(_))
    ));
    assert!(f
        .model
        .perplexity(&docs, 0)
        .expect("perplexity")
        .is_finite());
    // Errors.
    let none: Vec<Vec<u16>> = vec![vec![], vec![]];
    assert!(matches!(
        fit(&none, 5, &LdaConfig::new(2)),
        Err(ThemeError::NoTokens(_))
    ));
    assert!(matches!(
        fit::<Vec<u16>>(&[], 5, &LdaConfig::new(2)),
        Err(ThemeError::NoTokens(_))
    ));
    assert!(matches!(
        fit(&docs, 4, &LdaConfig::new(2)),
        Err(ThemeError::WordOutOfRange {
            doc: 3,
            word: 4,
            vocab: 4
        })
    ));
    for bad in [
        LdaConfig::new(0),
        LdaConfig::new(MAX_TOPICS + 1),
        LdaConfig {
            alpha: 0.0,
            ..LdaConfig::new(2)
        },
        LdaConfig {
            beta: f64::NAN,
            ..LdaConfig::new(2)
        },
        LdaConfig {
            iterations: 0,
            ..LdaConfig::new(2)
        },
    ] {
        assert!(
            matches!(fit(&docs, 5, &bad), Err(ThemeError::Parameter(_))),
            "{bad:?}"
        );
    }
    assert!(matches!(
        fit(&docs, 0, &LdaConfig::new(2)),
        Err(ThemeError::Parameter(_))
    ));
    assert!(matches!(
        Unigram::fit(&docs, 0),
        Err(ThemeError::Parameter(_))
    ));
    assert!(matches!(
        Model::from_topic_word(2, 2, vec![1.0, 0.0, 0.0, 0.0], 1.0, 0.1),
        Err(ThemeError::Parameter(_))
    ));
}

#[test]
fn model_round_trips_through_serde() {
    let spec = PlantedSpec {
        docs: 100,
        ..PlantedSpec::small()
    };
    let p = planted(&spec, 12);
    let cfg = LdaConfig {
        iterations: 20,
        ..LdaConfig::new(4)
    };
    let m = fit(&p.docs, spec.vocab, &cfg).expect("fit").model;
    let json = serde_json::to_string(&m).expect("json");
    let back: Model = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, m);
    assert_eq!(back.fingerprint(), m.fingerprint());
    assert_eq!(
        back.fold_in(&p.docs[0], 20, 1).expect("fold"),
        m.fold_in(&p.docs[0], 20, 1).expect("fold")
    );
    let mut v: serde_json::Value = serde_json::from_str(&json).expect("value");
    v["phi"][0] = serde_json::json!(5.0);
    assert!(serde_json::from_value::<Model>(v.clone()).is_err());
    v["phi"] = serde_json::json!([1.0]);
    assert!(serde_json::from_value::<Model>(v).is_err());
}

#[test]
fn sharded_sampling_recovers_topics_and_is_deterministic() {
    let spec = PlantedSpec::small();
    let p = planted(&spec, 13);
    let cfg = LdaConfig {
        shards: Some(2),
        ..LdaConfig::new(8).seed(13)
    };
    let a = fit(&p.docs, spec.vocab, &cfg).expect("fit");
    let b = fit(&p.docs, spec.vocab, &cfg).expect("fit");
    assert_eq!(a.model, b.model);
    assert_eq!(a.theta(), b.theta());
    let d2 = mean_matched_distance(&truth(&spec, &p.phi), &a.model);
    let seq = fit(
        &p.docs,
        spec.vocab,
        &LdaConfig {
            shards: Some(1),
            ..cfg.clone()
        },
    )
    .expect("fit");
    let d1 = mean_matched_distance(&truth(&spec, &p.phi), &seq.model);
    let four = fit(
        &p.docs,
        spec.vocab,
        &LdaConfig {
            shards: Some(4),
            ..cfg.clone()
        },
    )
    .expect("fit");
    let d4 = mean_matched_distance(&truth(&spec, &p.phi), &four.model);
    eprintln!("mean matched Hellinger: 1 shard {d1:.4}, 2 shards {d2:.4}, 4 shards {d4:.4}");
    assert!(d2 < 0.2 && d4 < 0.2, "{d2} {d4}");
    assert!(
        (d2 - d1).abs() < 0.03 && (d4 - d1).abs() < 0.03,
        "{d1} {d2} {d4}"
    );
    // The counts stay consistent: every token is counted once (phi rows sum to 1 is checked
    // elsewhere; here the token total survives the merges).
    assert_eq!(a.tokens, seq.tokens);
    // More shards than documents, and the auto rule on a small corpus (sequential).
    let docs: Vec<Vec<u16>> = vec![vec![0, 1], vec![2]];
    let f = fit(
        &docs,
        3,
        &LdaConfig {
            shards: Some(8),
            ..LdaConfig::new(2)
        },
    )
    .expect("fit");
    assert_eq!(f.docs(), 2);
    assert!(matches!(
        fit(
            &docs,
            3,
            &LdaConfig {
                shards: Some(0),
                ..LdaConfig::new(2)
            }
        ),
        Err(ThemeError::Parameter(_))
    ));
    let auto = fit(&p.docs, spec.vocab, &LdaConfig::new(8).seed(13)).expect("fit");
    assert_eq!(auto.model, seq.model);
}
