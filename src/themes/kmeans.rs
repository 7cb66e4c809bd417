//! Audio words: spherical k-means over segment embeddings, and the codebook it makes.
//!
//! Method (Dhillon & Modha 2001): rows are L2-normalised (all-zero rows carry no direction and
//! are skipped; a NaN or infinite value is refused), and the distance of a row `x` to a unit
//! centroid `c` is `1 - cos(x, c) = 1 - x.c`. Initial centroids come from k-means++ (Arthur &
//! Vassilvitskii 2007) with that distance (for unit vectors `|x - c|^2 = 2 (1 - x.c)`, so
//! sampling in proportion to `1 - x.c` is exactly k-means++), drawn from a seeded ChaCha8
//! generator. Lloyd iterations follow: assign every row to the centroid of largest cosine
//! (ties to the lower index), then set each centroid to the normalised sum of its rows, until
//! no assignment changes or `max_iter` updates. A cluster left empty is re-seeded with the row
//! farthest from its own centroid (then the next farthest, ties to the lower row), which
//! cannot raise the inertia; a cluster whose rows sum to zero keeps its centroid.
//!
//! The inertia `sum(1 - cos)` over the used rows is measured at every assignment and never
//! rises (up to f32 rounding): each assignment picks the best centroid for each row, and each
//! update picks the best unit vector for each cluster's rows.
//!
//! The result is fully determined by the rows, `k`, `max_iter` and the seed: dot products are
//! summed in a fixed order, and the assignment step, which runs on up to
//! [`ASSIGN_THREADS`] threads for large inputs, computes each row on its own.

use std::path::Path;

use rand::Rng as _;
use serde::{Deserialize, Serialize};

use super::{fnv64, ThemeError};
use crate::train::{seeded, Rng};

/// Audio words in the shipped codebook (see the module doc of `themes` for why 128).
pub const DEFAULT_WORDS: usize = 128;
/// Lloyd updates at most (k-means on embeddings typically settles in 20-60).
pub const DEFAULT_MAX_ITER: usize = 100;
/// k-means runs from independent starts (the one of lowest inertia is kept).
pub const DEFAULT_RESTARTS: usize = 3;
/// Version of the codebook file layout ([`Codebook::to_bytes`]). Not part of the fingerprint:
/// a new layout of the same centroids gives the same words.
pub const CODEBOOK_FORMAT: u32 = 1;
/// First bytes of a codebook file.
pub const CODEBOOK_MAGIC: [u8; 4] = *b"VLCB";
/// Most words a codebook can have (words are `u16`).
pub const MAX_WORDS: usize = 1 << 16;
/// Threads of the assignment step on large inputs (the results do not depend on it).
pub const ASSIGN_THREADS: usize = 2;
/// Two unit rows whose `1 - cos` is below this point the same way (k-means++ will not pick
/// a duplicate as a new centroid).
const SAME_DIRECTION: f64 = 1e-6;
/// A stored centroid whose norm is further than this from 1 is refused on load.
const NORM_TOLERANCE: f64 = 1e-3;

/// What to fit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KMeansConfig {
    /// Number of words (clusters), 1..=[`MAX_WORDS`].
    pub k: usize,
    /// Most Lloyd updates per run (at least 1).
    pub max_iter: usize,
    /// Runs from independent k-means++ starts, the best kept (at least 1).
    pub restarts: usize,
    pub seed: u64,
}

impl Default for KMeansConfig {
    fn default() -> Self {
        Self {
            k: DEFAULT_WORDS,
            max_iter: DEFAULT_MAX_ITER,
            restarts: DEFAULT_RESTARTS,
            seed: 0,
        }
    }
}

/// A fitted codebook, the rows' words, and the trace of the fit.
#[derive(Clone, Debug)]
pub struct KMeansFit {
    pub codebook: Codebook,
    /// The word of each input row, in input order; `None` for a skipped all-zero row.
    pub labels: Vec<Option<u16>>,
    /// `sum(1 - cos)` over the used rows at each assignment: after k-means++ first, then after
    /// each update (`iterations + 1` values).
    pub inertia: Vec<f64>,
    /// Lloyd updates made.
    pub iterations: usize,
    /// Whether the last assignment changed nothing (else `max_iter` was reached).
    pub converged: bool,
    /// All-zero rows, left out of the fit.
    pub skipped_rows: usize,
    /// Empty clusters re-seeded over the kept run.
    pub reseeded: usize,
    /// The final inertia of each restart (the lowest was kept).
    pub restart_inertia: Vec<f64>,
}

/// `K` unit-length centroids of dimension `dim`, row after row, and their fingerprint.
///
/// (De)serialises through serde as `{format, k, dim, fingerprint, provenance, centroids}`; both
/// serde and [`Codebook::from_bytes`] check the shape, the norms and the fingerprint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CodebookRepr", into = "CodebookRepr")]
pub struct Codebook {
    k: usize,
    dim: usize,
    centroids: Vec<f32>,
    fingerprint: u64,
    provenance: String,
}

#[derive(Serialize, Deserialize)]
struct CodebookRepr {
    format: u32,
    k: usize,
    dim: usize,
    fingerprint: u64,
    #[serde(default)]
    provenance: String,
    centroids: Vec<f32>,
}

impl From<Codebook> for CodebookRepr {
    fn from(c: Codebook) -> Self {
        Self {
            format: CODEBOOK_FORMAT,
            k: c.k,
            dim: c.dim,
            fingerprint: c.fingerprint,
            provenance: c.provenance,
            centroids: c.centroids,
        }
    }
}

impl TryFrom<CodebookRepr> for Codebook {
    type Error = ThemeError;
    fn try_from(r: CodebookRepr) -> Result<Self, ThemeError> {
        if r.format > CODEBOOK_FORMAT {
            return Err(ThemeError::Format(format!(
                "format {} is newer than this build's {CODEBOOK_FORMAT}",
                r.format
            )));
        }
        Codebook::checked(r.k, r.dim, r.centroids, Some(r.fingerprint), r.provenance)
    }
}

/// The content fingerprint: FNV-1a 64 over `k`, `dim` (u32 LE) and the centroids (f32 LE).
fn fingerprint_of(k: usize, dim: usize, centroids: &[f32]) -> u64 {
    let head = [(k as u32).to_le_bytes(), (dim as u32).to_le_bytes()].concat();
    let body: Vec<u8> = centroids.iter().flat_map(|v| v.to_le_bytes()).collect();
    fnv64([head.as_slice(), body.as_slice()])
}

impl Codebook {
    /// A codebook from `k` rows of `dim` values (any non-zero length: each is normalised).
    pub fn new(k: usize, dim: usize, mut centroids: Vec<f32>) -> Result<Self, ThemeError> {
        check_shape(centroids.len(), dim)?;
        for (j, row) in centroids.chunks_exact_mut(dim).enumerate() {
            if !normalise(row)? {
                return Err(ThemeError::Parameter(format!("centroid {j} is all zeros")));
            }
        }
        Self::checked(k, dim, centroids, None, String::new())
    }

    /// Validates stored centroids (no re-normalisation: that could change their bits and
    /// the fingerprint) against `fingerprint` when given.
    fn checked(
        k: usize,
        dim: usize,
        centroids: Vec<f32>,
        fingerprint: Option<u64>,
        provenance: String,
    ) -> Result<Self, ThemeError> {
        if k == 0 || k > MAX_WORDS {
            return Err(ThemeError::Parameter(format!(
                "k = {k}, must be 1..={MAX_WORDS}"
            )));
        }
        if dim == 0 || k.checked_mul(dim) != Some(centroids.len()) {
            return Err(ThemeError::Format(format!(
                "{} values for {k} centroids of {dim}",
                centroids.len()
            )));
        }
        for (j, row) in centroids.chunks_exact(dim).enumerate() {
            let norm = row.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
            if !norm.is_finite() || (norm - 1.0).abs() > NORM_TOLERANCE {
                return Err(ThemeError::Format(format!(
                    "centroid {j} has norm {norm}, not 1"
                )));
            }
        }
        let fp = fingerprint_of(k, dim, &centroids);
        if let Some(stored) = fingerprint {
            if stored != fp {
                return Err(ThemeError::Format(format!(
                    "fingerprint {stored:016x} stored, {fp:016x} computed (damaged file?)"
                )));
            }
        }
        Ok(Self {
            k,
            dim,
            centroids,
            fingerprint: fp,
            provenance,
        })
    }

    /// The same codebook with a note on how it was made (e.g. the fitting command). Stored
    /// in the file; not part of the fingerprint.
    pub fn with_provenance(mut self, provenance: impl Into<String>) -> Self {
        self.provenance = provenance.into();
        self
    }

    pub fn k(&self) -> usize {
        self.k
    }
    pub fn dim(&self) -> usize {
        self.dim
    }
    pub fn provenance(&self) -> &str {
        &self.provenance
    }
    /// All centroids, `k * dim` values, row after row, each of unit length.
    pub fn centroids(&self) -> &[f32] {
        &self.centroids
    }
    /// Centroid `j`, or `None` past the last.
    pub fn centroid(&self, j: usize) -> Option<&[f32]> {
        self.centroids.chunks_exact(self.dim).nth(j)
    }
    /// FNV-1a 64 of the shape and the centroids' bits: stored words made with another
    /// fingerprint are stale.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
    /// A short version string for stored results: `cb<format>-<k>x<dim>-<fingerprint hex>`.
    pub fn version(&self) -> String {
        format!(
            "cb{CODEBOOK_FORMAT}-{}x{}-{:016x}",
            self.k, self.dim, self.fingerprint
        )
    }

    /// The word of one row: the centroid of largest cosine (ties to the lower word). `None`
    /// for a row of another width, an all-zero row (no direction) or one with a NaN or
    /// infinite value: no word is better than a wrong one.
    pub fn assign(&self, row: &[f32]) -> Option<u16> {
        if row.len() != self.dim
            || row.iter().any(|v| !v.is_finite())
            || row.iter().all(|&v| v == 0.0)
        {
            return None;
        }
        // The row's norm scales every cosine alike: the argmax needs no normalisation.
        Some(nearest(&self.centroids, self.dim, row).0 as u16)
    }

    /// The words of `n` rows of [`Codebook::dim`] values each (as [`Codebook::assign`]).
    pub fn assign_batch(&self, rows: &[f32]) -> Result<Vec<Option<u16>>, ThemeError> {
        check_shape(rows.len(), self.dim)?;
        Ok(rows
            .chunks_exact(self.dim)
            .map(|r| self.assign(r))
            .collect())
    }

    /// The file layout, little-endian: magic `VLCB`, format u32, k u32, dim u32, fingerprint
    /// u64, provenance length u32 and its UTF-8 bytes, then `k * dim` f32 centroids. 128 x 200
    /// words take 100 KiB.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(28 + self.provenance.len() + 4 * self.centroids.len());
        out.extend_from_slice(&CODEBOOK_MAGIC);
        out.extend_from_slice(&CODEBOOK_FORMAT.to_le_bytes());
        out.extend_from_slice(&(self.k as u32).to_le_bytes());
        out.extend_from_slice(&(self.dim as u32).to_le_bytes());
        out.extend_from_slice(&self.fingerprint.to_le_bytes());
        out.extend_from_slice(&(self.provenance.len() as u32).to_le_bytes());
        out.extend_from_slice(self.provenance.as_bytes());
        for v in &self.centroids {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Reads [`Codebook::to_bytes`]'s layout back, checking every field and the fingerprint.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ThemeError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(4)? != CODEBOOK_MAGIC {
            return Err(ThemeError::Format("not a codebook (bad magic)".into()));
        }
        let format = r.u32()?;
        if format == 0 || format > CODEBOOK_FORMAT {
            return Err(ThemeError::Format(format!(
                "format {format}, this build reads 1..={CODEBOOK_FORMAT}"
            )));
        }
        let k = r.u32()? as usize;
        let dim = r.u32()? as usize;
        let fingerprint = u64::from_le_bytes(r.array()?);
        let plen = r.u32()? as usize;
        let provenance = String::from_utf8(r.take(plen)?.to_vec())
            .map_err(|_| ThemeError::Format("provenance is not UTF-8".into()))?;
        let n = k
            .checked_mul(dim)
            .ok_or_else(|| ThemeError::Format(format!("{k} x {dim} centroids overflow")))?;
        let body = r.take(n.saturating_mul(4))?;
        if r.at != bytes.len() {
            return Err(ThemeError::Format(format!(
                "{} trailing byte(s)",
                bytes.len() - r.at
            )));
        }
        let centroids = body
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Self::checked(k, dim, centroids, Some(fingerprint), provenance)
    }

    /// Writes [`Codebook::to_bytes`] atomically (temp file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<(), ThemeError> {
        crate::playlists::atomic::write_atomic(path, &self.to_bytes()).map_err(|e| ThemeError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })
    }

    /// Reads a file written by [`Codebook::save`].
    pub fn load(path: &Path) -> Result<Self, ThemeError> {
        let bytes = std::fs::read(path).map_err(|source| ThemeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }
}

/// A cursor over a byte slice whose reads past the end are a typed error.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ThemeError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                ThemeError::Format(format!(
                    "truncated: {n} byte(s) wanted at offset {}, {} in all",
                    self.at,
                    self.bytes.len()
                ))
            })?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], ThemeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u32(&mut self) -> Result<u32, ThemeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
}

fn check_shape(len: usize, dim: usize) -> Result<(), ThemeError> {
    if dim == 0 || !len.is_multiple_of(dim) {
        return Err(ThemeError::Shape { len, dim });
    }
    Ok(())
}

/// Scales `row` to unit length in place; `false` (row untouched) for an all-zero row; an
/// error for a non-finite value or a norm that overflows (reported as row 0: callers with a
/// row index map it).
fn normalise(row: &mut [f32]) -> Result<bool, ThemeError> {
    if row.iter().any(|v| !v.is_finite()) {
        return Err(ThemeError::NonFinite { row: 0 });
    }
    let norm = row.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
    if norm == 0.0 {
        return Ok(false);
    }
    for v in row.iter_mut() {
        *v = (*v as f64 / norm) as f32;
    }
    Ok(true)
}

/// Dot product with a fixed summation order (8 lanes, then the tail), so it vectorises and
/// gives the same bits everywhere.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// The centroid of largest dot product with `row` (ties to the lower index) and that dot.
#[inline]
fn nearest(centroids: &[f32], dim: usize, row: &[f32]) -> (usize, f32) {
    let mut best = (0, f32::NEG_INFINITY);
    for (j, c) in centroids.chunks_exact(dim).enumerate() {
        let s = dot(c, row);
        if s > best.1 {
            best = (j, s);
        }
    }
    best
}

/// Rows per unit of work in the assignment step (fixed, so results never depend on threads).
const CHUNK_ROWS: usize = 2048;

/// Assigns every unit row of `x` to its nearest centroid: writes the word and its cosine.
fn assign_all(x: &[f32], dim: usize, centroids: &[f32], labels: &mut [u32], cos: &mut [f32]) {
    let work = |x: &[f32], labels: &mut [u32], cos: &mut [f32]| {
        for ((row, l), c) in x
            .chunks_exact(dim)
            .zip(labels.iter_mut())
            .zip(cos.iter_mut())
        {
            let (j, s) = nearest(centroids, dim, row);
            *l = j as u32;
            *c = s;
        }
    };
    let n = labels.len();
    let k = centroids.len() / dim;
    // Threads only pay off past a few million multiply-adds.
    if n * k * dim < 4_000_000 || n <= CHUNK_ROWS {
        work(x, labels, cos);
        return;
    }
    let chunks: Vec<(&[f32], &mut [u32], &mut [f32])> = x
        .chunks(CHUNK_ROWS * dim)
        .zip(labels.chunks_mut(CHUNK_ROWS))
        .zip(cos.chunks_mut(CHUNK_ROWS))
        .map(|((a, b), c)| (a, b, c))
        .collect();
    let next = std::sync::Mutex::new(chunks.into_iter());
    std::thread::scope(|s| {
        for _ in 0..ASSIGN_THREADS {
            s.spawn(|| loop {
                let item = match next.lock() {
                    Ok(mut it) => it.next(),
                    Err(_) => None,
                };
                match item {
                    Some((a, b, c)) => work(a, b, c),
                    None => break,
                }
            });
        }
    });
}

/// Spherical k-means of `data` (rows of `dim` values, flat). See the module doc.
pub fn fit(data: &[f32], dim: usize, config: &KMeansConfig) -> Result<KMeansFit, ThemeError> {
    check_shape(data.len(), dim)?;
    let k = config.k;
    if k == 0 || k > MAX_WORDS {
        return Err(ThemeError::Parameter(format!(
            "k = {k}, must be 1..={MAX_WORDS}"
        )));
    }
    if config.max_iter == 0 || config.restarts == 0 {
        return Err(ThemeError::Parameter(
            "max_iter and restarts must be at least 1".into(),
        ));
    }

    // Unit rows, and which input row each one is.
    let mut x: Vec<f32> = Vec::with_capacity(data.len());
    let mut source: Vec<usize> = Vec::new();
    for (i, row) in data.chunks_exact(dim).enumerate() {
        let start = x.len();
        x.extend_from_slice(row);
        match normalise(&mut x[start..]) {
            Ok(true) => source.push(i),
            Ok(false) => x.truncate(start),
            Err(_) => return Err(ThemeError::NonFinite { row: i }),
        }
    }
    let n = source.len();
    let skipped_rows = data.len() / dim - n;
    if n < k {
        return Err(ThemeError::TooFewRows { rows: n, k });
    }
    // Restarts from independent initialisations (one generator, drawn in turn); the run of
    // lowest final inertia is kept, the earliest on ties.
    let mut rng = seeded(config.seed);
    let mut best: Option<(Vec<f32>, Lloyd)> = None;
    let mut restart_inertia = Vec::with_capacity(config.restarts);
    for _ in 0..config.restarts {
        let mut centroids = kmeans_pp(&x, dim, k, &mut rng)?;
        let run = lloyd(&x, dim, &mut centroids, config.max_iter);
        let last = run.inertia.last().copied().unwrap_or(f64::INFINITY);
        restart_inertia.push(last);
        let better = match &best {
            Some((_, b)) => last < b.inertia.last().copied().unwrap_or(f64::INFINITY),
            None => true,
        };
        if better {
            best = Some((centroids, run));
        }
    }
    let Some((centroids, run)) = best else {
        return Err(ThemeError::Parameter("restarts must be at least 1".into()));
    };

    let mut out_labels = vec![None; data.len() / dim];
    for (&src, &l) in source.iter().zip(&run.labels) {
        out_labels[src] = Some(l as u16);
    }
    Ok(KMeansFit {
        codebook: Codebook::checked(k, dim, centroids, None, String::new())?,
        labels: out_labels,
        inertia: run.inertia,
        iterations: run.iterations,
        converged: run.converged,
        skipped_rows,
        reseeded: run.reseeded,
        restart_inertia,
    })
}

/// Greedy k-means++ (as scikit-learn's): the first centroid uniformly; each next one is the
/// best of `2 + ln k` candidates, each drawn with probability proportional to a row's
/// distance `1 - cos` to its nearest centroid so far, "best" meaning the lowest total distance
/// once it is added. Plain k-means++ often puts two seeds in one of several well-separated
/// clusters; the greedy choice rarely does.
fn kmeans_pp(x: &[f32], dim: usize, k: usize, rng: &mut Rng) -> Result<Vec<f32>, ThemeError> {
    let n = x.len() / dim;
    let row = |i: usize| &x[i * dim..(i + 1) * dim];
    let far = |d: f32| {
        let d = d as f64;
        if d < SAME_DIRECTION {
            0.0
        } else {
            d
        }
    };
    let candidates = 2 + (k as f64).ln().floor() as usize;
    let mut centroids: Vec<f32> = Vec::with_capacity(k * dim);
    let first = rng.gen_range(0..n);
    centroids.extend_from_slice(row(first));
    let mut dist: Vec<f64> = (0..n).map(|i| far(1.0 - dot(row(i), row(first)))).collect();
    let mut trial = vec![0f64; n];
    let mut kept = vec![0f64; n];
    for j in 1..k {
        let total: f64 = dist.iter().sum();
        if total <= 0.0 {
            return Err(ThemeError::TooFewDistinct { distinct: j, k });
        }
        let mut best: Option<(f64, usize)> = None;
        for _ in 0..candidates {
            let u = rng.gen::<f64>() * total;
            let mut acc = 0.0;
            // The last row with a positive distance catches rounding at the top end.
            let mut pick = dist.iter().rposition(|&d| d > 0.0).unwrap_or(0);
            for (i, &d) in dist.iter().enumerate() {
                acc += d;
                if d > 0.0 && acc > u {
                    pick = i;
                    break;
                }
            }
            let c = row(pick);
            for (i, (t, &d)) in trial.iter_mut().zip(&dist).enumerate() {
                *t = d.min(far(1.0 - dot(row(i), c)));
            }
            let potential: f64 = trial.iter().sum();
            if best.is_none_or(|(p, _)| potential < p) {
                best = Some((potential, pick));
                std::mem::swap(&mut trial, &mut kept);
            }
        }
        let Some((_, pick)) = best else {
            return Err(ThemeError::Parameter("no k-means++ candidate".into()));
        };
        centroids.extend_from_slice(row(pick));
        std::mem::swap(&mut dist, &mut kept);
    }
    Ok(centroids)
}

/// What [`lloyd`] found.
struct Lloyd {
    labels: Vec<u32>,
    inertia: Vec<f64>,
    iterations: usize,
    converged: bool,
    reseeded: usize,
}

/// Lloyd iterations on unit rows `x` from the given centroids (updated in place). The loop
/// always ends on an assignment, so the labels match the centroids.
fn lloyd(x: &[f32], dim: usize, centroids: &mut [f32], max_iter: usize) -> Lloyd {
    let n = x.len() / dim;
    let k = centroids.len() / dim;
    let row = |i: usize| &x[i * dim..(i + 1) * dim];
    let mut labels = vec![u32::MAX; n];
    let mut new_labels = vec![0u32; n];
    let mut cos = vec![0f32; n];
    let mut inertia = Vec::new();
    let mut iterations = 0;
    let mut converged = false;
    let mut reseeded = 0;
    let mut sums = vec![0f64; k * dim];
    let mut counts = vec![0usize; k];
    loop {
        assign_all(x, dim, centroids, &mut new_labels, &mut cos);
        inertia.push(cos.iter().map(|&c| (1.0 - c as f64).max(0.0)).sum());
        let changed = labels
            .iter()
            .zip(&new_labels)
            .filter(|(a, b)| a != b)
            .count();
        std::mem::swap(&mut labels, &mut new_labels);
        if changed == 0 {
            converged = true;
            break;
        }
        if iterations == max_iter {
            break;
        }
        iterations += 1;

        sums.iter_mut().for_each(|s| *s = 0.0);
        counts.iter_mut().for_each(|c| *c = 0);
        for (i, &l) in labels.iter().enumerate() {
            let l = l as usize;
            counts[l] += 1;
            for (s, &v) in sums[l * dim..(l + 1) * dim].iter_mut().zip(row(i)) {
                *s += v as f64;
            }
        }
        let mut empty = Vec::new();
        for j in 0..k {
            if counts[j] == 0 {
                empty.push(j);
                continue;
            }
            let s = &sums[j * dim..(j + 1) * dim];
            let norm = s.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > 0.0 {
                for (c, v) in centroids[j * dim..(j + 1) * dim].iter_mut().zip(s) {
                    *c = (v / norm) as f32;
                }
            }
        }
        if !empty.is_empty() {
            // Farthest rows first (largest 1 - cos to their own centroid), ties to the lower row.
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| cos[a].total_cmp(&cos[b]).then(a.cmp(&b)));
            for (&j, &i) in empty.iter().zip(&order) {
                centroids[j * dim..(j + 1) * dim].copy_from_slice(row(i));
                reseeded += 1;
            }
        }
    }

    Lloyd {
        labels,
        inertia,
        iterations,
        converged,
        reseeded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::themes::synthetic::{adjusted_rand_index, planted_clusters};

    #[test]
    fn dot_matches_a_plain_sum() {
        let a: Vec<f32> = (0..203).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..203).map(|i| (i as f32 * 0.11).cos()).collect();
        let plain: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
        assert!((dot(&a, &b) as f64 - plain).abs() < 1e-4);
    }

    #[test]
    fn inertia_never_rises() {
        // Several seeds and data sets, including overlapping clusters where rows move a lot.
        for (seed, spread) in [(1u64, 0.2f32), (2, 0.6), (3, 1.0), (4, 1.5), (5, 3.0)] {
            let (data, _) = planted_clusters(12, 40, 24, spread, seed);
            let fit = fit(
                &data,
                24,
                &KMeansConfig {
                    k: 16,
                    max_iter: 200,
                    restarts: 1,
                    seed: seed * 7,
                },
            )
            .expect("fit");
            assert!(fit.inertia.len() >= 2, "seed {seed}: {:?}", fit.inertia);
            for w in fit.inertia.windows(2) {
                assert!(
                    w[1] <= w[0] + 1e-5 * (1.0 + w[0]),
                    "seed {seed}: inertia rose {} -> {}",
                    w[0],
                    w[1]
                );
            }
            assert_eq!(fit.inertia.len(), fit.iterations + 1);
            // More restarts from the same seed start with the same run, so never do worse.
            let more = super::fit(
                &data,
                24,
                &KMeansConfig {
                    k: 16,
                    max_iter: 200,
                    restarts: 4,
                    seed: seed * 7,
                },
            )
            .expect("fit");
            assert_eq!(more.restart_inertia[0], fit.restart_inertia[0]);
            assert!(more.inertia.last() <= fit.inertia.last());
        }
    }

    #[test]
    fn planted_clusters_are_recovered() {
        for seed in [11u64, 12, 13] {
            let (data, truth) = planted_clusters(10, 60, 200, 0.35, seed);
            let fit = fit(
                &data,
                200,
                &KMeansConfig {
                    k: 10,
                    max_iter: 100,
                    restarts: DEFAULT_RESTARTS,
                    seed,
                },
            )
            .expect("fit");
            assert!(fit.converged);
            let labels: Vec<usize> = fit
                .labels
                .iter()
                .map(|l| l.expect("word") as usize)
                .collect();
            let ari = adjusted_rand_index(&truth, &labels);
            eprintln!(
                "seed {seed}: ARI {ari:.4}, restarts {:?}",
                fit.restart_inertia
            );
            assert!(ari > 0.95, "seed {seed}: ARI {ari}");
            // The codebook assigns rows as the fit labelled them.
            let words = fit.codebook.assign_batch(&data).expect("assign");
            assert_eq!(words, fit.labels);
        }
    }

    #[test]
    fn fixed_seed_is_deterministic_and_seeds_differ() {
        let (data, _) = planted_clusters(8, 30, 16, 1.2, 5);
        let cfg = |seed| KMeansConfig {
            k: 12,
            max_iter: 50,
            restarts: DEFAULT_RESTARTS,
            seed,
        };
        let a = fit(&data, 16, &cfg(9)).expect("fit");
        let b = fit(&data, 16, &cfg(9)).expect("fit");
        assert_eq!(a.codebook, b.codebook);
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.inertia, b.inertia);
        let c = fit(&data, 16, &cfg(10)).expect("fit");
        assert_ne!(a.codebook.fingerprint(), c.codebook.fingerprint());
    }

    #[test]
    fn threaded_assignment_matches_single_thread() {
        // Large enough for the threaded path (n * k * dim >= 4e6).
        let (data, _) = planted_clusters(20, 300, 40, 0.8, 21);
        let fit = fit(
            &data,
            40,
            &KMeansConfig {
                k: 400,
                max_iter: 3,
                restarts: 1,
                seed: 1,
            },
        )
        .expect("fit");
        let n = data.len() / 40;
        assert!(n * 400 * 40 >= 4_000_000);
        let mut x = data.clone();
        for r in x.chunks_exact_mut(40) {
            normalise(r).expect("finite");
        }
        let mut cos = vec![0f32; n];
        let mut labels = vec![0u32; n];
        let c = fit.codebook.centroids();
        for (i, r) in x.chunks_exact(40).enumerate() {
            let (j, s) = nearest(c, 40, r);
            labels[i] = j as u32;
            cos[i] = s;
        }
        let mut l2 = vec![0u32; n];
        let mut c2 = vec![0f32; n];
        assign_all(&x, 40, c, &mut l2, &mut c2);
        assert_eq!(labels, l2);
        assert_eq!(cos, c2);
    }

    #[test]
    fn degenerate_inputs_are_typed_errors_or_documented() {
        let cfg = |k| KMeansConfig {
            k,
            max_iter: 10,
            restarts: DEFAULT_RESTARTS,
            seed: 0,
        };
        // n < k.
        let data = vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        assert!(matches!(
            fit(&data, 2, &cfg(4)),
            Err(ThemeError::TooFewRows { rows: 3, k: 4 })
        ));
        // Ragged buffer, zero width, k = 0, max_iter = 0.
        assert!(matches!(
            fit(&data, 4, &cfg(1)),
            Err(ThemeError::Shape { .. })
        ));
        assert!(matches!(
            fit(&data, 0, &cfg(1)),
            Err(ThemeError::Shape { .. })
        ));
        assert!(matches!(
            fit(&data, 2, &cfg(0)),
            Err(ThemeError::Parameter(_))
        ));
        let mut zero_iter = cfg(1);
        zero_iter.max_iter = 0;
        assert!(matches!(
            fit(&data, 2, &zero_iter),
            Err(ThemeError::Parameter(_))
        ));
        let mut zero_restarts = cfg(1);
        zero_restarts.restarts = 0;
        assert!(matches!(
            fit(&data, 2, &zero_restarts),
            Err(ThemeError::Parameter(_))
        ));
        // Empty input.
        assert!(matches!(
            fit(&[], 2, &cfg(1)),
            Err(ThemeError::TooFewRows { rows: 0, k: 1 })
        ));
        // A NaN row names the row.
        let nan = vec![1.0, 0.0, f32::NAN, 1.0, 0.0, 1.0];
        assert!(matches!(
            fit(&nan, 2, &cfg(2)),
            Err(ThemeError::NonFinite { row: 1 })
        ));
        // Zero rows are skipped and reported; they get no word.
        let zeros = vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let f = fit(&zeros, 2, &cfg(2)).expect("fit");
        assert_eq!(f.skipped_rows, 2);
        assert_eq!(f.labels[1], None);
        assert_eq!(f.labels[3], None);
        assert!(f.labels[0].is_some() && f.labels[2].is_some());
        assert_ne!(f.labels[0], f.labels[2]);
        // Only zero rows: too few usable rows.
        assert!(matches!(
            fit(&[0.0; 6], 2, &cfg(1)),
            Err(ThemeError::TooFewRows { rows: 0, k: 1 })
        ));
        // Duplicates (and parallel rows): fewer directions than k.
        let dup = vec![1.0, 1.0, 2.0, 2.0, 0.0, 3.0, 0.0, 1.0];
        assert!(matches!(
            fit(&dup, 2, &cfg(3)),
            Err(ThemeError::TooFewDistinct { distinct: 2, k: 3 })
        ));
        // k = n works: every row its own word.
        let f = fit(&data, 2, &cfg(3)).expect("fit");
        let mut w: Vec<_> = f.labels.iter().flatten().collect();
        w.sort();
        w.dedup();
        assert_eq!(w.len(), 3);
    }

    #[test]
    fn empty_clusters_are_reseeded_from_the_farthest_rows() {
        // Two tight groups and one outlier; the third starting centroid points away from all
        // rows, so its cluster is empty after the first assignment and must take the outlier
        // (the row farthest from its centroid).
        let mut x = Vec::new();
        for i in 0..20 {
            let e = i as f32 * 1e-3;
            x.extend_from_slice(&[1.0, e, 0.0]);
            x.extend_from_slice(&[e, 1.0, 0.0]);
        }
        x.extend_from_slice(&[0.0, 0.1, 1.0]);
        for r in x.chunks_exact_mut(3) {
            normalise(r).expect("finite");
        }
        let mut centroids = vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -1.0];
        let run = lloyd(&x, 3, &mut centroids, 20);
        assert_eq!(run.reseeded, 1);
        assert!(run.converged);
        assert_eq!(run.labels[40], 2);
        assert_eq!(run.labels.iter().filter(|&&l| l == 2).count(), 1);
        for w in run.inertia.windows(2) {
            assert!(w[1] <= w[0] + 1e-6);
        }
        assert!(run.inertia.last().copied().unwrap_or(1.0) < 0.01);
    }

    #[test]
    fn assign_refuses_what_has_no_word() {
        let cb = Codebook::new(2, 3, vec![1.0, 0.0, 0.0, 0.0, 2.0, 0.0]).expect("codebook");
        assert_eq!(cb.assign(&[0.9, 0.1, 0.0]), Some(0));
        assert_eq!(cb.assign(&[0.1, 5.0, 3.0]), Some(1));
        assert_eq!(cb.assign(&[0.0, 0.0, 0.0]), None);
        assert_eq!(cb.assign(&[f32::NAN, 1.0, 0.0]), None);
        assert_eq!(cb.assign(&[1.0, 0.0]), None);
        assert!(matches!(
            cb.assign_batch(&[1.0; 4]),
            Err(ThemeError::Shape { .. })
        ));
        assert!(Codebook::new(2, 3, vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0]).is_err());
    }

    #[test]
    fn codebook_round_trips_and_refuses_damage() {
        let (data, _) = planted_clusters(4, 20, 200, 0.5, 3);
        let cb = fit(
            &data,
            200,
            &KMeansConfig {
                k: 6,
                max_iter: 20,
                restarts: DEFAULT_RESTARTS,
                seed: 3,
            },
        )
        .expect("fit")
        .codebook
        .with_provenance("test: planted_clusters(4, 20, 200)");
        let bytes = cb.to_bytes();
        assert_eq!(bytes.len(), 28 + cb.provenance().len() + 6 * 200 * 4);
        let back = Codebook::from_bytes(&bytes).expect("read");
        assert_eq!(back, cb);
        assert!(cb.version().starts_with("cb1-6x200-"));
        // The note travels with the file but does not change the words' fingerprint.
        assert_eq!(
            cb.clone().with_provenance("another note").fingerprint(),
            cb.fingerprint()
        );
        // JSON via serde too, exactly.
        let json = serde_json::to_string(&cb).expect("json");
        let back: Codebook = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, cb);
        // A flipped centroid bit, a truncation, trailing bytes, a bad magic, a newer format.
        let mut bad = bytes.clone();
        let last = bad.len() - 2;
        bad[last] ^= 1;
        assert!(matches!(
            Codebook::from_bytes(&bad),
            Err(ThemeError::Format(_))
        ));
        assert!(matches!(
            Codebook::from_bytes(&bytes[..bytes.len() - 1]),
            Err(ThemeError::Format(_))
        ));
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(
            Codebook::from_bytes(&long),
            Err(ThemeError::Format(_))
        ));
        let mut magic = bytes.clone();
        magic[0] = b'X';
        assert!(matches!(
            Codebook::from_bytes(&magic),
            Err(ThemeError::Format(_))
        ));
        let mut newer = bytes.clone();
        newer[4..8].copy_from_slice(&(CODEBOOK_FORMAT + 1).to_le_bytes());
        assert!(matches!(
            Codebook::from_bytes(&newer),
            Err(ThemeError::Format(_))
        ));
        assert!(matches!(
            Codebook::from_bytes(&[]),
            Err(ThemeError::Format(_))
        ));
        // A huge declared size is a typed error, not an allocation.
        let mut huge = bytes[..28].to_vec();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        huge[24..28].copy_from_slice(&0u32.to_le_bytes());
        assert!(matches!(
            Codebook::from_bytes(&huge),
            Err(ThemeError::Format(_))
        ));
        // A JSON codebook with an edited centroid fails its fingerprint.
        let mut v: serde_json::Value = serde_json::from_str(&json).expect("value");
        v["centroids"][0] = serde_json::json!(0.5);
        assert!(serde_json::from_value::<Codebook>(v).is_err());
        // Files.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("words.vlcb");
        cb.save(&path).expect("save");
        assert_eq!(Codebook::load(&path).expect("load"), cb);
        assert!(matches!(
            Codebook::load(&dir.path().join("missing")),
            Err(ThemeError::Io { .. })
        ));
    }
}
