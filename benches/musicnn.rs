//! MSD-musicnn CPU throughput (patches/s) at batch 1 and batch 32, and the same for the
//! distilled student (`model::student`, random weights: the cost does not depend on them)
//! and the VGG tagger (`model::vgg`).
//!
//! `cargo bench --bench musicnn` (set `VALENCE_REPO` to find the weights from
//! another crate root). Each patch is 3 s of audio (187 frames x 96 mels).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tch::{Device, Kind, Tensor};
use valence::model::musicnn::{Musicnn, N_FRAMES, N_MELS};

fn weights_path() -> PathBuf {
    std::env::var_os("VALENCE_REPO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("assets/models/msd_musicnn.safetensors")
}

fn bench(c: &mut Criterion) {
    let path = weights_path();
    let model = match Musicnn::load(&path, Device::Cpu) {
        Ok(m) => m,
        Err(e) => panic!("cannot load {}: {e}", path.display()),
    };
    tch::manual_seed(0);
    let mut group = c.benchmark_group("musicnn_cpu");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(20));
    for batch in [1i64, 32] {
        // Plausible log-mel values (0..~4).
        let x = Tensor::rand(
            [batch, N_FRAMES as i64, N_MELS as i64],
            (Kind::Float, Device::Cpu),
        ) * 3.0;
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(format!("batch_{batch}"), |b| {
            b.iter(|| black_box(model.forward(black_box(&x))))
        });
    }
    group.finish();

    let vs = tch::nn::VarStore::new(Device::Cpu);
    let student = valence::model::student::StudentNet::new(&vs.root());
    let vgg_path = path.with_file_name("mtt_vgg.safetensors");
    let vgg = valence::model::vgg::Vgg::load(&vgg_path, Device::Cpu)
        .unwrap_or_else(|e| panic!("cannot load {}: {e}", vgg_path.display()));
    // One thread, as each analysis worker runs (`analysis::engine`).
    tch::set_num_threads(1);
    let mut group = c.benchmark_group("other_patch_nets_cpu_1_thread");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    let x = Tensor::rand(
        [1, N_FRAMES as i64, N_MELS as i64],
        (Kind::Float, Device::Cpu),
    ) * 3.0;
    group.throughput(Throughput::Elements(1));
    group.bench_function("musicnn_batch_1", |b| {
        b.iter(|| black_box(model.forward(black_box(&x))))
    });
    group.bench_function("student_batch_1", |b| {
        b.iter(|| black_box(tch::no_grad(|| student.outputs(black_box(&x)))))
    });
    group.bench_function("vgg_batch_1", |b| {
        b.iter(|| black_box(vgg.try_forward(black_box(&x))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
