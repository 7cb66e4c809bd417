//! The seed systems' networks (issue 19) on the CPU: one training step (forward, backward,
//! Adam) on a batch of 32 full-size 30-s clips, and inference on one clip, per architecture.
//!
//! `cargo bench --bench seeds`. Inputs are random (the cost does not depend on the values).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};
use valence::model::seeds::{build, SeedArch};

/// Random standardised inputs of `arch` for `batch` clips.
fn inputs(arch: SeedArch, batch: i64) -> Vec<Tensor> {
    arch.parts()
        .iter()
        .map(|p| {
            let mut shape = vec![batch];
            shape.extend(p.shape.iter().map(|&d| d as i64));
            Tensor::randn(shape.as_slice(), (Kind::Float, Device::Cpu))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    tch::manual_seed(0);
    let mut group = c.benchmark_group("seed_networks_cpu");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    for arch in SeedArch::ALL {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = build(arch, &vs.root());
        let mut opt = match nn::Adam::default().build(&vs, 1e-3) {
            Ok(o) => o,
            Err(e) => panic!("optimiser: {e}"),
        };
        let batch = inputs(arch, 32);
        let target = Tensor::zeros([32, 2], (Kind::Float, Device::Cpu));
        group.throughput(Throughput::Elements(32));
        group.bench_function(format!("{}_train_step_32", arch.name()), |b| {
            b.iter(|| {
                let out = net.forward_t(&batch, true);
                opt.backward_step(&out.va.mse_loss(&target, tch::Reduction::Mean));
            })
        });
        let one = inputs(arch, 1);
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("{}_infer_1", arch.name()), |b| {
            b.iter(|| tch::no_grad(|| black_box(net.forward_t(black_box(&one), false).va)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
