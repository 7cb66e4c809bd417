//! MSD-musicnn (Pons & Serra, ISMIR LBD 2019), ported from the pretrained
//! TensorFlow checkpoint shipped in the `musicnn` 0.1.0 package (ISC licence,
//! Music Technology Group, Universitat Pompeu Fabra; see
//! `assets/models/MSD_MUSICNN_LICENSE.txt`).
//!
//! Eval-mode inference only, written with plain tensor ops on weights read
//! from `assets/models/msd_musicnn.safetensors` (produced by
//! `tools/musicnn/convert_musicnn.py`, which documents the tensor layout).
//!
//! Input: log-mel patches `(N, 187, 96)` = `[patch][time frame][mel band]`,
//! 16 kHz, n_fft 512, hop 256, 96 Slaney mel bands, `log10(1 + 10000 * mel_power)`.
//!
//! Architecture (shapes for one patch; `BN` = batch norm with the moving
//! statistics, epsilon 0.001, always applied AFTER the ReLU):
//!
//! ```text
//! input (187, 96) -> BN (1 channel, scalar)
//! front end, on the normalised input x:
//!   timbral_74:  pad time 3+3 -> conv2d 204 x (7 x 38) valid -> ReLU -> BN -> max over freq (59) -> (204, 187)
//!   timbral_77:  pad time 3+3 -> conv2d 204 x (7 x 67) valid -> ReLU -> BN -> max over freq (30) -> (204, 187)
//!   temporal_128: conv2d 51 x (128 x 1) TF-'same' (pad time 63+64) -> ReLU -> BN -> max over freq (96) -> (51, 187)
//!   temporal_64:  conv2d 51 x (64 x 1)  TF-'same' (pad time 31+32) -> ReLU -> BN -> max over freq (96) -> (51, 187)
//!   temporal_32:  conv2d 51 x (32 x 1)  TF-'same' (pad time 15+16) -> ReLU -> BN -> max over freq (96) -> (51, 187)
//!   concat [74, 77, 128, 64, 32] -> f (561, 187)
//! mid end (1-D convs over time, zero pad 3+3):
//!   c1 = BN(ReLU(conv1d 64 x (561, 7)(f)))
//!   c2 = BN(ReLU(conv1d 64 x (64, 7)(c1))) + c1
//!   c3 = BN(ReLU(conv1d 64 x (64, 7)(c2))) + c2
//!   concat [f, c1, c2, c3] -> (753, 187)
//! back end:
//!   max over time (753), mean over time (753) -> interleaved (1506): [max_0, mean_0, max_1, mean_1, ...]
//!   BN(1506) -> dropout (identity) -> dense 1506->200 -> ReLU -> BN(200) = embedding ("penultimate")
//!   -> dropout (identity) -> dense 200->50 -> sigmoid = taggram
//! ```

use std::collections::HashMap;
use std::path::Path;

use tch::{Device, Kind, TchError, Tensor};

/// Frames (time) per input patch (3 s at 16 kHz / hop 256).
pub const N_FRAMES: usize = 187;
/// Mel bands per frame.
pub const N_MELS: usize = 96;
/// Number of output tags.
pub const N_TAGS: usize = 50;
/// Size of the penultimate embedding.
pub const EMBEDDING_DIM: usize = 200;
/// Width of [`MusicnnOutput::pooled`].
pub const POOLED_DIM: usize = 1506;
/// Per patch: the taggram row and the embedding ([`Musicnn::run_patches`]).
pub type PatchOutputs = (Vec<[f32; N_TAGS]>, Vec<[f32; EMBEDDING_DIM]>);

/// Patches per forward pass in [`Musicnn::run_patches`] (bounds peak memory:
/// the timbral feature maps take ~9 MB per patch).
pub const RUN_BATCH: usize = 32;

/// `tf.compat.v1.layers.batch_normalization` default epsilon (checked in the graph).
const BN_EPSILON: f64 = 1e-3;
/// The `format` metadata value written by the converter.
const FORMAT: &str = "valence-musicnn-v1";

/// Errors from loading or running the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MusicnnError {
    /// The weights file could not be read.
    #[error("cannot read musicnn weights {path}: {reason}")]
    Io { path: String, reason: String },
    /// The weights file is not a valid musicnn safetensors file.
    #[error("corrupt musicnn weights file {path}: {reason}")]
    Corrupt { path: String, reason: String },
    /// A tensor the model needs is absent from the weights file.
    #[error("musicnn weights {path}: missing tensor `{name}`")]
    MissingTensor { path: String, name: String },
    /// A tensor has the wrong shape or dtype.
    #[error("musicnn weights {path}: tensor `{name}` is {actual}, expected {expected}")]
    BadTensor {
        path: String,
        name: String,
        actual: String,
        expected: String,
    },
    /// The input patches are malformed.
    #[error("invalid musicnn input: {0}")]
    BadInput(String),
    /// libtorch reported an error.
    #[error("libtorch error in musicnn: {0}")]
    Torch(String),
}

impl From<TchError> for MusicnnError {
    fn from(e: TchError) -> Self {
        MusicnnError::Torch(e.to_string())
    }
}

/// Output of [`Musicnn::forward`].
#[derive(Debug)]
pub struct MusicnnOutput {
    /// Tag probabilities, `(N, 50)` f32, in the order of [`Musicnn::tag_names`].
    pub taggram: Tensor,
    /// Penultimate-layer embedding (after its batch norm), `(N, 200)` f32.
    pub embedding: Tensor,
    /// The mid-end's max- and mean-pooled features after their batch norm, `(N, 1506)` f32:
    /// a richer, less tag-specific view than the embedding, computed on the way to it.
    pub pooled: Tensor,
}

/// Eval-mode batch norm folded to `y = x * scale + shift`, per channel.
#[derive(Debug)]
pub(super) struct BatchNorm {
    scale: Tensor,
    shift: Tensor,
}

impl BatchNorm {
    /// Applies the batch norm along dimension 1 of `x` (the channel axis).
    pub(super) fn apply(&self, x: &Tensor) -> Result<Tensor, TchError> {
        let dims = x.dim();
        let mut shape = vec![1i64; dims];
        if dims >= 2 {
            shape[1] = -1;
        }
        let scale = self.scale.f_view(shape.as_slice())?;
        let shift = self.shift.f_view(shape.as_slice())?;
        x.f_mul(&scale)?.f_add(&shift)
    }
}

#[derive(Debug)]
pub(super) struct Conv {
    pub(super) weight: Tensor,
    pub(super) bias: Tensor,
}

/// A front-end branch: conv2d -> ReLU -> BN -> max over the frequency axis.
///
/// Evaluated as conv2d -> max over frequency -> ReLU -> BN, which gives the
/// same values with far less work on the large `(N, C, 187, F)` feature map:
/// ReLU and the per-channel affine BN (`x * scale + shift`, each rounding step
/// monotone) commute with the max when `scale >= 0`; for a channel with
/// `scale < 0` the max of the BN output is taken at the MIN of the conv
/// output, so that channel's conv weights and bias are negated at load time
/// (`sign = -1`): `max(-y) = -min(y)` exactly, and `sign * max(-y)` recovers
/// `min(y)` before the ReLU.
#[derive(Debug)]
struct FrontBranch {
    /// Conv weights and bias, multiplied per output channel by `sign`.
    conv: Conv,
    /// `+1` or `-1` per channel: the sign of the BN scale.
    sign: Tensor,
    bn: BatchNorm,
    /// Zero padding of the time axis (before, after).
    pad_time: (i64, i64),
}

impl FrontBranch {
    fn new(conv: Conv, bn: BatchNorm, pad_time: (i64, i64)) -> Result<Self, TchError> {
        let ones = bn.scale.f_ones_like()?;
        let sign = ones.f_where_self(&bn.scale.f_ge(0.0)?, &ones.f_neg()?)?;
        // Stored as (C, 1, freq, time), for the transposed input (see `apply`).
        let conv = Conv {
            weight: conv
                .weight
                .f_mul(&sign.f_view([-1, 1, 1, 1])?)?
                .f_transpose(2, 3)?
                .f_contiguous()?,
            bias: conv.bias.f_mul(&sign)?,
        };
        Ok(FrontBranch {
            conv,
            sign,
            bn,
            pad_time,
        })
    }

    /// `xt`: the normalised input transposed, `(N, 1, 96, 187)` (mel, then time) ->
    /// `(N, C, 187)`.
    ///
    /// Why transposed: the conv output is then `(N, C, F, 187)`, and the max over the
    /// frequency axis reduces a middle dimension with time contiguous inside it, which
    /// libtorch vectorises; over an innermost axis of 30-96 values it was about a tenth of
    /// the network's time in a profile (a patch is ~4 % faster now). The sums are the same,
    /// in another order (differences ~1e-6, within the TensorFlow golden test's bounds).
    fn apply(&self, xt: &Tensor) -> Result<Tensor, TchError> {
        let padded = xt.f_constant_pad_nd([self.pad_time.0, self.pad_time.1])?;
        let y = padded.f_conv2d(
            &self.conv.weight,
            Some(&self.conv.bias),
            [1, 1],
            [0, 0],
            [1, 1],
            1,
        )?;
        let pooled = y
            .f_amax([2], false)?
            .f_mul(&self.sign.f_view([1, -1, 1])?)?;
        self.bn.apply(&pooled.f_relu()?)
    }
}

/// The pretrained MSD-musicnn tagger.
#[derive(Debug)]
pub struct Musicnn {
    device: Device,
    tags: Vec<String>,
    bn_input: BatchNorm,
    front: Vec<FrontBranch>,
    mid: Vec<(Conv, BatchNorm)>,
    bn_pool: BatchNorm,
    dense: Conv,
    bn_dense: BatchNorm,
    output: Conv,
}

/// Reads and validates the safetensors header (the `safetensors` crate checks the length,
/// the JSON and every tensor's offsets against the file) of a weights file in `format`
/// (musicnn's, or the VGG models' of the same package); returns the tag names and the
/// whole metadata.
pub(super) fn read_header(
    path: &Path,
    format: &str,
) -> Result<(Vec<String>, HashMap<String, String>), MusicnnError> {
    let p = path.display().to_string();
    let corrupt = |reason: String| MusicnnError::Corrupt {
        path: p.clone(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| MusicnnError::Io {
        path: p.clone(),
        reason: e.to_string(),
    })?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| corrupt(format!("not a valid safetensors file: {e:?}")))?;
    let meta = header
        .metadata()
        .as_ref()
        .ok_or_else(|| corrupt("no __metadata__ in the header".into()))?;
    let found = meta.get("format").map(String::as_str).unwrap_or("");
    if found != format {
        return Err(corrupt(format!(
            "metadata format is `{found}`, expected `{format}`"
        )));
    }
    let tags_json = meta
        .get("tags")
        .ok_or_else(|| corrupt("no `tags` in the metadata".into()))?;
    let tags: Vec<String> = serde_json::from_str(tags_json).map_err(|e| {
        corrupt(format!(
            "`tags` metadata is not a JSON list of strings: {e}"
        ))
    })?;
    if tags.len() != N_TAGS {
        return Err(corrupt(format!(
            "{} tag names in the metadata, expected {N_TAGS}",
            tags.len()
        )));
    }
    Ok((tags, meta.clone()))
}

/// The 50 tag names of a musicnn weights file (from its metadata), without loading the
/// network: e.g. to name scenes after stored tag vectors.
pub fn read_tag_names(path: &Path) -> Result<Vec<String>, MusicnnError> {
    Ok(read_header(path, FORMAT)?.0)
}

/// Tensors of the weights file, fetched by name with shape checks.
pub(super) struct Weights {
    path: String,
    tensors: HashMap<String, Tensor>,
    device: Device,
}

impl Weights {
    /// Reads every tensor of `path` (whose header [`read_header`] has checked).
    pub(super) fn read(path: &Path, device: Device) -> Result<Self, MusicnnError> {
        let p = path.display().to_string();
        let tensors = Tensor::read_safetensors(path).map_err(|e| MusicnnError::Corrupt {
            path: p.clone(),
            reason: e.to_string(),
        })?;
        Ok(Weights {
            path: p,
            tensors: tensors.into_iter().collect(),
            device,
        })
    }

    pub(super) fn get(&mut self, name: &str, shape: &[i64]) -> Result<Tensor, MusicnnError> {
        let t = self
            .tensors
            .remove(name)
            .ok_or_else(|| MusicnnError::MissingTensor {
                path: self.path.clone(),
                name: name.to_string(),
            })?;
        if t.kind() != Kind::Float || t.size() != shape {
            return Err(MusicnnError::BadTensor {
                path: self.path.clone(),
                name: name.to_string(),
                actual: format!("{:?} {:?}", t.kind(), t.size()),
                expected: format!("Float {shape:?}"),
            });
        }
        let t = t.f_to_device(self.device)?;
        // Non-finite weights mean a damaged file.
        let finite = t.f_isfinite()?.f_all()?.f_int64_value(&[])?;
        if finite == 0 {
            return Err(MusicnnError::BadTensor {
                path: self.path.clone(),
                name: name.to_string(),
                actual: "a tensor with non-finite values".into(),
                expected: "finite values".into(),
            });
        }
        Ok(t)
    }

    pub(super) fn conv(
        &mut self,
        prefix: &str,
        weight_shape: &[i64],
    ) -> Result<Conv, MusicnnError> {
        Ok(Conv {
            weight: self.get(&format!("{prefix}.weight"), weight_shape)?,
            bias: self.get(&format!("{prefix}.bias"), &weight_shape[..1])?,
        })
    }

    pub(super) fn bn(&mut self, prefix: &str, channels: i64) -> Result<BatchNorm, MusicnnError> {
        let gamma = self.get(&format!("{prefix}.gamma"), &[channels])?;
        let beta = self.get(&format!("{prefix}.beta"), &[channels])?;
        let mean = self.get(&format!("{prefix}.moving_mean"), &[channels])?;
        let var = self.get(&format!("{prefix}.moving_variance"), &[channels])?;
        // Same arithmetic as TF's inference batch norm:
        // scale = gamma * rsqrt(var + eps); shift = beta - mean * scale.
        let scale = var.f_add_scalar(BN_EPSILON)?.f_rsqrt()?.f_mul(&gamma)?;
        let shift = beta.f_sub(&mean.f_mul(&scale)?)?;
        Ok(BatchNorm { scale, shift })
    }
}

impl Musicnn {
    /// Loads the converted weights (`assets/models/msd_musicnn.safetensors`)
    /// onto `device`.
    pub fn load(path: &Path, device: Device) -> Result<Self, MusicnnError> {
        let (tags, _) = read_header(path, FORMAT)?;
        let mut w = Weights::read(path, device)?;
        let _guard = tch::no_grad_guard();
        let nf = N_MELS as i64;
        let branch = |w: &mut Weights,
                      name: &str,
                      filters: i64,
                      kernel: [i64; 2],
                      pad_time: (i64, i64)|
         -> Result<FrontBranch, MusicnnError> {
            let conv = w.conv(
                &format!("frontend.{name}.conv"),
                &[filters, 1, kernel[0], kernel[1]],
            )?;
            let bn = w.bn(&format!("frontend.{name}.bn"), filters)?;
            Ok(FrontBranch::new(conv, bn, pad_time)?)
        };
        let bn_input = w.bn("frontend.bn_input", 1)?;
        // Timbral kernels span int(0.4 * 96) = 38 and int(0.7 * 96) = 67 mel bands.
        let front = vec![
            branch(&mut w, "timbral_74", 204, [7, nf * 4 / 10], (3, 3))?,
            branch(&mut w, "timbral_77", 204, [7, nf * 7 / 10], (3, 3))?,
            // TF 'same' for stride 1: total pad k - 1, the extra one after.
            branch(&mut w, "temporal_128", 51, [128, 1], (63, 64))?,
            branch(&mut w, "temporal_64", 51, [64, 1], (31, 32))?,
            branch(&mut w, "temporal_32", 51, [32, 1], (15, 16))?,
        ];
        let mid = vec![
            (
                w.conv("midend.conv1", &[64, 561, 7])?,
                w.bn("midend.bn1", 64)?,
            ),
            (
                w.conv("midend.conv2", &[64, 64, 7])?,
                w.bn("midend.bn2", 64)?,
            ),
            (
                w.conv("midend.conv3", &[64, 64, 7])?,
                w.bn("midend.bn3", 64)?,
            ),
        ];
        let bn_pool = w.bn("backend.bn_pool", 1506)?;
        let dense = w.conv("backend.dense", &[EMBEDDING_DIM as i64, 1506])?;
        let bn_dense = w.bn("backend.bn_dense", EMBEDDING_DIM as i64)?;
        let output = w.conv("backend.output", &[N_TAGS as i64, EMBEDDING_DIM as i64])?;
        Ok(Musicnn {
            device,
            tags,
            bn_input,
            front,
            mid,
            bn_pool,
            dense,
            bn_dense,
            output,
        })
    }

    /// The 50 MSD tag names, in taggram column order.
    pub fn tag_names(&self) -> &[String] {
        &self.tags
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Runs the network on `(N, 187, 96)` f32 patches (any device; moved to the
    /// model's). Outputs are on the model's device.
    ///
    /// # Panics
    /// If `patches` does not have shape `(N, 187, 96)` with `N >= 1`, or libtorch
    /// fails; use [`Musicnn::try_forward`] to get an error instead.
    pub fn forward(&self, patches: &Tensor) -> MusicnnOutput {
        match self.try_forward(patches) {
            Ok(out) => out,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`Musicnn::forward`], returning an error for malformed input.
    pub fn try_forward(&self, patches: &Tensor) -> Result<MusicnnOutput, MusicnnError> {
        check_patches(patches)?;
        tch::no_grad(|| self.forward_impl(patches)).map_err(MusicnnError::from)
    }

    fn forward_impl(&self, patches: &Tensor) -> Result<MusicnnOutput, TchError> {
        let n = patches.size()[0];
        let x = patches.f_to_kind(Kind::Float)?.f_to_device(self.device)?;
        // (N, 1, T, F): NCHW with H = time, W = mel.
        let x = self.bn_input.apply(&x.f_unsqueeze(1)?)?;
        let xt = x.f_transpose(2, 3)?.f_contiguous()?;

        let fronts = self
            .front
            .iter()
            .map(|b| b.apply(&xt))
            .collect::<Result<Vec<_>, _>>()?;
        let f = Tensor::f_cat(&fronts, 1)?; // (N, 561, T)

        let mut feats = vec![f];
        for (i, (conv, bn)) in self.mid.iter().enumerate() {
            let prev = &feats[feats.len() - 1];
            let y = prev
                .f_conv1d(&conv.weight, Some(&conv.bias), [1], [3], [1], 1)?
                .f_relu()?;
            let y = bn.apply(&y)?;
            let y = if i == 0 { y } else { y.f_add(prev)? };
            feats.push(y);
        }
        let m = Tensor::f_cat(&feats, 1)?; // (N, 753, T)

        let max_pool = m.f_amax([2], false)?;
        let mean_pool = m.f_mean_dim(&[2i64][..], false, Kind::Float)?;
        // TF concatenates (N, 753, 1) max and mean on the last axis and flattens:
        // the features interleave as [max_0, mean_0, max_1, mean_1, ...].
        let pooled = Tensor::f_stack(&[max_pool, mean_pool], 2)?.f_reshape([n, -1])?;
        let pooled = self.bn_pool.apply(&pooled)?;
        let dense = pooled
            .f_linear(&self.dense.weight, Some(&self.dense.bias))?
            .f_relu()?;
        let embedding = self.bn_dense.apply(&dense)?;
        let taggram = embedding
            .f_linear(&self.output.weight, Some(&self.output.bias))?
            .f_sigmoid()?;
        Ok(MusicnnOutput {
            taggram,
            embedding,
            pooled,
        })
    }

    /// Convenience wrapper: each patch is `187 * 96` f32 values, `[time][mel]`
    /// row-major. Runs in batches of [`RUN_BATCH`]; returns one taggram row and
    /// one embedding per patch.
    pub fn run_patches(&self, patches: &[Vec<f32>]) -> Result<PatchOutputs, MusicnnError> {
        let per_patch = N_FRAMES * N_MELS;
        if let Some((i, p)) = patches
            .iter()
            .enumerate()
            .find(|(_, p)| p.len() != per_patch)
        {
            return Err(MusicnnError::BadInput(format!(
                "patch {i} has {} values, expected {per_patch} ({N_FRAMES} x {N_MELS})",
                p.len()
            )));
        }
        let mut tags = Vec::with_capacity(patches.len());
        let mut embeddings = Vec::with_capacity(patches.len());
        for chunk in patches.chunks(RUN_BATCH) {
            let flat: Vec<f32> = chunk.iter().flatten().copied().collect();
            let x = Tensor::f_from_slice(&flat)?.f_reshape([
                chunk.len() as i64,
                N_FRAMES as i64,
                N_MELS as i64,
            ])?;
            let out = self.try_forward(&x)?;
            tags.extend(rows::<N_TAGS>(&out.taggram)?);
            embeddings.extend(rows::<EMBEDDING_DIM>(&out.embedding)?);
        }
        Ok((tags, embeddings))
    }
}

/// The input every patch network takes: `(N >= 1, 187, 96)` log-mel patches.
pub(super) fn check_patches(patches: &Tensor) -> Result<(), MusicnnError> {
    let size = patches.size();
    if size.len() != 3 || size[1] != N_FRAMES as i64 || size[2] != N_MELS as i64 || size[0] < 1 {
        return Err(MusicnnError::BadInput(format!(
            "patches have shape {size:?}, expected (N >= 1, {N_FRAMES}, {N_MELS})"
        )));
    }
    Ok(())
}

/// Copies an `(N, D)` f32 tensor into fixed-size rows.
fn rows<const D: usize>(t: &Tensor) -> Result<Vec<[f32; D]>, MusicnnError> {
    let flat: Vec<f32> =
        Vec::<f32>::try_from(t.f_to_device(Device::Cpu)?.f_contiguous()?.f_view([-1])?)?;
    if !flat.len().is_multiple_of(D) {
        return Err(MusicnnError::Torch(format!(
            "output of {} values is not a multiple of {D}",
            flat.len()
        )));
    }
    Ok(flat
        .chunks_exact(D)
        .map(|c| {
            let mut row = [0f32; D];
            row.copy_from_slice(c);
            row
        })
        .collect())
}
