//! The simple baseline every emotion model must beat, in the same folds: multinomial
//! logistic regression on a track's mean- and max-pooled musicnn embedding and seed-000
//! descriptor (2 x (200 + 66) = 532 numbers), standardised on the training set, with its L2
//! strength chosen by artist-grouped inner cross-validation.

use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

use super::folds::grouped_folds;
use super::metrics::Confusion;
use super::{Dataset, Scored, TrainError};
use crate::model::segments::SegmentFeatures;
use crate::mood::argmax;

/// L2 strengths tried on the inner folds.
pub const L2_GRID: [f64; 4] = [1e-4, 1e-3, 1e-2, 1e-1];
const STEPS: usize = 300;

/// Mean and max over segments of the embedding and the descriptor.
pub fn pooled(f: &SegmentFeatures) -> Vec<f32> {
    let n = f.len();
    let pool = |rows: &[Vec<f32>]| -> Vec<f32> {
        let d = rows.first().map(|r| r.len()).unwrap_or(0);
        let (mut mean, mut max) = (vec![0f32; d], vec![f32::NEG_INFINITY; d]);
        for r in rows.iter().take(n) {
            for j in 0..d {
                mean[j] += r[j] / n.max(1) as f32;
                max[j] = max[j].max(r[j]);
            }
        }
        mean.extend(max.into_iter().map(|m| if m.is_finite() { m } else { 0.0 }));
        mean
    };
    let mut v = pool(&f.emb);
    v.extend(pool(&f.desc));
    v
}

struct Fitted {
    w: Tensor,
    b: Tensor,
    mean: Tensor,
    std: Tensor,
}

fn matrix(ds: &Dataset, idx: &[usize], device: Device) -> Tensor {
    let rows: Vec<Vec<f32>> = idx.iter().map(|&i| pooled(&ds.feats[i])).collect();
    let d = rows.first().map(|r| r.len()).unwrap_or(0);
    let flat: Vec<f32> = rows.into_iter().flatten().collect();
    Tensor::from_slice(&flat)
        .view([idx.len() as i64, d as i64])
        .to_device(device)
}

fn fit(
    ds: &Dataset,
    idx: &[usize],
    l2: f64,
    device: Device,
    seed: u64,
) -> Result<Fitted, TrainError> {
    tch::manual_seed(seed as i64);
    let x = matrix(ds, idx, device);
    let mean = x.mean_dim(0, true, Kind::Float);
    let std = x.std_dim(0, false, true).clamp_min(1e-4);
    let x = (x - &mean) / &std;
    let y: Vec<i64> = idx.iter().map(|&i| ds.labels[i] as i64).collect();
    let y = Tensor::from_slice(&y).to_device(device);
    let vs = nn::VarStore::new(device);
    let d = x.size()[1];
    let lin = nn::linear(vs.root() / "lr", d, 4, Default::default());
    let mut opt = nn::Adam::default()
        .build(&vs, 0.01)
        .map_err(crate::model::emotion::EmotionError::from)?;
    for _ in 0..STEPS {
        let logits = x.apply(&lin);
        let loss = logits.cross_entropy_for_logits(&y) + lin.ws.square().sum(Kind::Float) * l2;
        opt.backward_step(&loss);
    }
    let bs = lin
        .bs
        .as_ref()
        .map(|b| b.detach())
        .unwrap_or_else(|| Tensor::zeros([4], (Kind::Float, device)));
    Ok(Fitted {
        w: lin.ws.detach(),
        b: bs,
        mean,
        std,
    })
}

fn probs(m: &Fitted, ds: &Dataset, idx: &[usize], device: Device) -> Vec<[f32; 4]> {
    let x = (matrix(ds, idx, device) - &m.mean) / &m.std;
    let p = tch::no_grad(|| (x.matmul(&m.w.tr()) + &m.b).softmax(-1, Kind::Float));
    let v =
        Vec::<f32>::try_from(p.to_device(Device::Cpu).contiguous().view([-1])).unwrap_or_default();
    v.chunks_exact(4)
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect()
}

fn macro_f1(ds: &Dataset, idx: &[usize], p: &[[f32; 4]]) -> f64 {
    let truth: Vec<usize> = idx.iter().map(|&i| ds.labels[i]).collect();
    let pred: Vec<usize> = p.iter().map(|x| argmax(x)).collect();
    Confusion::from_pairs(&truth, &pred).macro_f1()
}

/// Chooses the L2 strength on artist-grouped inner folds of `train`, fits on all of `train`
/// and scores `test`. The baseline has no valence/arousal output of its own; its "point" for
/// the regression figures is P(axis > 0) - P(axis < 0) from its quadrant probabilities.
pub fn fit_and_score(
    ds: &Dataset,
    train: &[usize],
    test: &[usize],
    device: Device,
    seed: u64,
) -> Result<(Scored, f64), TrainError> {
    let groups: Vec<String> = train.iter().map(|&i| ds.groups[i].clone()).collect();
    let labels: Vec<usize> = train.iter().map(|&i| ds.labels[i]).collect();
    let inner = grouped_folds(&groups, &labels, 4, seed)?;
    let mut best = (f64::NEG_INFINITY, L2_GRID[0]);
    for &l2 in &L2_GRID {
        let mut f1 = 0.0;
        for f in &inner {
            let tr: Vec<usize> = f.train.iter().map(|&j| train[j]).collect();
            let te: Vec<usize> = f.test.iter().map(|&j| train[j]).collect();
            let m = fit(ds, &tr, l2, device, seed)?;
            f1 += macro_f1(ds, &te, &probs(&m, ds, &te, device));
        }
        if f1 > best.0 {
            best = (f1, l2);
        }
    }
    let m = fit(ds, train, best.1, device, seed)?;
    let p = probs(&m, ds, test, device);
    let pred: Vec<usize> = p.iter().map(|x| argmax(x)).collect();
    let confidences: Vec<(f64, bool)> = p
        .iter()
        .zip(test)
        .map(|(x, &i)| (x[argmax(x)] as f64, argmax(x) == ds.labels[i]))
        .collect();
    let pts: Vec<[f64; 2]> = p
        .iter()
        .map(|x| {
            [
                (x[0] + x[3] - x[1] - x[2]) as f64,
                (x[0] + x[1] - x[2] - x[3]) as f64,
            ]
        })
        .collect();
    Ok((Scored::new(0, ds, test, &pred, &pts, confidences), best.1))
}
