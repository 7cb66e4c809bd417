//! The VGG taggers of the `musicnn` 0.1.0 package (MSD_vgg, MTT_vgg; Pons & Serra,
//! ISMIR LBD 2019; ISC licence, see `assets/models/MSD_MUSICNN_LICENSE.txt`): a second
//! pretrained view of the same input, measured as a lever of the emotion model (issue 11).
//!
//! Eval-mode inference on weights converted by `tools/musicnn/convert_vgg.py`
//! (`assets/models/{msd,mtt}_vgg.safetensors`, format `valence-vgg-v1`).
//!
//! Input: the same log-mel patches as musicnn, `(N, 187, 96)` = `[patch][frame][mel]`.
//!
//! ```text
//! input (187, 96) -> BN (1 channel)
//! 5 x: conv2d 128 x (3 x 3), TF 'same' (zero pad 1 on both axes) -> ReLU -> BN -> max pool
//!   ('valid': the remainder is dropped), kernels and strides from the file's `pools`:
//!   MTT_vgg (as `musicnn/models.py`): (4, 1)/2 -> (92, 48); (2, 2)/2 x 3 -> (11, 6); (4, 4)/4
//!   MSD_vgg (its checkpoint's graph differs): (4, 1)/(4, 1) -> (46, 96); (1, 4)/(1, 4) -> (46, 24);
//!   then as MTT; both end at (2, 1)
//! embedding = pool5 flattened in TF's NHWC order (index h * 128 + c): 256
//! taggram = sigmoid(dense 256 -> 50)
//! ```

use std::collections::HashMap;
use std::path::Path;

use tch::{Device, Kind, TchError, Tensor};

use super::musicnn::{
    check_patches, read_header, BatchNorm, Conv, MusicnnError, Weights, N_FRAMES, N_MELS, N_TAGS,
};

/// Filters per convolution.
const FILTERS: i64 = 128;
/// Width of [`VggOutput::embedding`] (pool5: 2 x 1 x 128).
pub const VGG_EMBEDDING_DIM: usize = 256;
/// The `format` metadata value written by the converter.
const FORMAT: &str = "valence-vgg-v1";
/// A max pool's kernel and stride (time, mel).
type Pool = ([i64; 2], [i64; 2]);

/// The pools of the `pools` metadata (`[[kh, kw, sh, sw], ...]`, one per block), checked to
/// take a patch to pool5's (2, 1).
fn parse_pools(path: &Path, meta: &HashMap<String, String>) -> Result<Vec<Pool>, MusicnnError> {
    let corrupt = |reason: String| MusicnnError::Corrupt {
        path: path.display().to_string(),
        reason,
    };
    let raw = meta
        .get("pools")
        .ok_or_else(|| corrupt("no `pools` in the metadata".into()))?;
    let list: Vec<[i64; 4]> = serde_json::from_str(raw)
        .map_err(|e| corrupt(format!("`pools` is not a list of [kh, kw, sh, sw]: {e}")))?;
    if list.len() != 5 || list.iter().flatten().any(|&v| !(1..=16).contains(&v)) {
        return Err(corrupt(format!(
            "`pools` {raw} is not 5 pools of sizes 1..16"
        )));
    }
    let (mut h, mut w) = (N_FRAMES as i64, N_MELS as i64);
    for [kh, kw, sh, sw] in &list {
        if h < *kh || w < *kw {
            return Err(corrupt(format!("`pools` {raw} pools past the patch")));
        }
        (h, w) = ((h - kh) / sh + 1, (w - kw) / sw + 1);
    }
    if (h, w) != (2, 1) {
        return Err(corrupt(format!(
            "`pools` {raw} ends at ({h}, {w}), expected (2, 1)"
        )));
    }
    Ok(list
        .into_iter()
        .map(|[kh, kw, sh, sw]| ([kh, kw], [sh, sw]))
        .collect())
}

/// Output of [`Vgg::try_forward`], on the model's device.
#[derive(Debug)]
pub struct VggOutput {
    /// Tag probabilities, `(N, 50)`.
    pub taggram: Tensor,
    /// pool5 flattened, `(N, 256)`.
    pub embedding: Tensor,
}

/// A pretrained VGG tagger of the musicnn package.
#[derive(Debug)]
pub struct Vgg {
    device: Device,
    tags: Vec<String>,
    bn_input: BatchNorm,
    blocks: Vec<(Conv, BatchNorm, Pool)>,
    dense: Conv,
}

impl Vgg {
    /// Loads converted weights onto `device`.
    pub fn load(path: &Path, device: Device) -> Result<Self, MusicnnError> {
        let (tags, meta) = read_header(path, FORMAT)?;
        let pools = parse_pools(path, &meta)?;
        let mut w = Weights::read(path, device)?;
        let _guard = tch::no_grad_guard();
        let bn_input = w.bn("bn_input", 1)?;
        let blocks = (1..=5)
            .zip(pools)
            .map(|(k, pool)| {
                let inputs = if k == 1 { 1 } else { FILTERS };
                Ok((
                    w.conv(&format!("conv{k}"), &[FILTERS, inputs, 3, 3])?,
                    w.bn(&format!("bn{k}"), FILTERS)?,
                    pool,
                ))
            })
            .collect::<Result<Vec<_>, MusicnnError>>()?;
        let dense = w.conv("dense", &[N_TAGS as i64, VGG_EMBEDDING_DIM as i64])?;
        Ok(Vgg {
            device,
            tags,
            bn_input,
            blocks,
            dense,
        })
    }

    /// The 50 tag names, in taggram column order.
    pub fn tag_names(&self) -> &[String] {
        &self.tags
    }

    /// Runs the network on `(N >= 1, 187, 96)` patches (any device).
    pub fn try_forward(&self, patches: &Tensor) -> Result<VggOutput, MusicnnError> {
        check_patches(patches)?;
        tch::no_grad(|| self.forward_impl(patches)).map_err(MusicnnError::from)
    }

    fn forward_impl(&self, patches: &Tensor) -> Result<VggOutput, TchError> {
        let n = patches.size()[0];
        let x = patches.f_to_kind(Kind::Float)?.f_to_device(self.device)?;
        // NCHW with H = time, W = mel, as TF's NHWC (N, 187, 96, 1).
        let mut x = self.bn_input.apply(&x.f_unsqueeze(1)?)?;
        for (conv, bn, (kernel, stride)) in &self.blocks {
            let y = x
                .f_conv2d(&conv.weight, Some(&conv.bias), [1, 1], [1, 1], [1, 1], 1)?
                .f_relu()?;
            x = bn
                .apply(&y)?
                .f_max_pool2d(*kernel, *stride, [0, 0], [1, 1], false)?;
        }
        // (N, 128, 2, 1) -> NHWC -> (N, 256): TF's flatten order, which the dense layer reads.
        let embedding = x.f_permute([0, 2, 3, 1])?.f_reshape([n, -1])?;
        let taggram = embedding
            .f_linear(&self.dense.weight, Some(&self.dense.bias))?
            .f_sigmoid()?;
        Ok(VggOutput { taggram, embedding })
    }
}
