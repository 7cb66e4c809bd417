//! Training manifests: a CSV listing audio files and their emotion quadrant.
//!
//! Columns are found by header name (case-insensitive, any order; extra columns are ignored):
//!
//! - `path` (required): the audio file; relative paths resolve against the manifest's folder.
//! - `quadrant` (required): `Q1`..`Q4` or `1`..`4`, case-insensitive, surrounding spaces allowed.
//! - `artist` (optional, needed for artist-grouped folds): a missing or empty artist makes the
//!   row its own group, named after its path, and adds a warning.
//! - `title` (optional).
//! - `valence`, `arousal` (optional): floats in [-1, 1]; an empty cell means "not given".
//! - `tag_agreement` or `confidence` (optional): the label's confidence in [0, 1].
//!
//! Rows that cannot be used (missing path, unknown quadrant, bad number, duplicate path, file
//! missing when `check_files` is set, unreadable CSV record) are collected in [`Manifest::bad`]
//! with their 1-based line number and are not fatal. Fatal errors are an unreadable file, a
//! missing required column, and a manifest with no usable row.

use std::collections::HashMap;

use std::path::{Path, PathBuf};

use crate::mood::Quadrant;

/// One usable manifest row.
#[derive(Clone, Debug, PartialEq)]
pub struct ManifestRow {
    /// The audio file, resolved against the manifest's folder when relative.
    pub path: PathBuf,
    pub quadrant: Quadrant,
    /// The artist as written (trimmed). When the manifest gives none, this is
    /// `"(no artist) <path as written>"`, so the row is a group of its own.
    pub artist: String,
    pub title: Option<String>,
    pub valence: Option<f32>,
    pub arousal: Option<f32>,
    /// Label confidence in [0, 1] (the 4Q data's share of a clip's mood tags that fall in its
    /// quadrant); training can weight rows by it.
    pub confidence: Option<f32>,
    /// 1-based line of the CSV file where the record starts (the header is line 1).
    pub line: usize,
}

impl ManifestRow {
    /// The grouping key for artist-grouped folds: the artist lower-cased with runs of
    /// whitespace collapsed, so `"Gipsy  Kings"` and `"gipsy kings"` are one group.
    pub fn group_key(&self) -> String {
        self.artist
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    }
}

/// A rejected row: its 1-based line and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRow {
    pub line: usize,
    pub reason: String,
}

/// A parsed manifest.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Manifest {
    pub rows: Vec<ManifestRow>,
    pub bad: Vec<BadRow>,
    pub warnings: Vec<String>,
}

impl Manifest {
    /// Group keys ([`ManifestRow::group_key`]) in row order, for [`super::folds::grouped_folds`].
    pub fn groups(&self) -> Vec<String> {
        self.rows.iter().map(ManifestRow::group_key).collect()
    }

    /// Class indices (0..=3) in row order.
    pub fn labels(&self) -> Vec<usize> {
        self.rows.iter().map(|r| r.quadrant.index()).collect()
    }

    /// Number of usable rows per class, Q1..Q4.
    pub fn class_counts(&self) -> [usize; 4] {
        let mut counts = [0; 4];
        for r in &self.rows {
            counts[r.quadrant.index()] += 1;
        }
        counts
    }
}

/// Fatal manifest errors.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read manifest {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("manifest {path} has no `{column}` column (header: {header})")]
    MissingColumn {
        path: String,
        column: String,
        header: String,
    },
    #[error("manifest {path} has no usable rows: {detail}")]
    NoUsableRows { path: String, detail: String },
}

struct Columns {
    path: usize,
    quadrant: usize,
    artist: Option<usize>,
    title: Option<usize>,
    valence: Option<usize>,
    arousal: Option<usize>,
    confidence: Option<usize>,
}

/// Reads a manifest. With `check_files`, rows whose file does not exist are rejected.
pub fn read_manifest(path: &Path, check_files: bool) -> Result<Manifest, ManifestError> {
    let shown = path.display().to_string();
    let unreadable = |reason: String| ManifestError::Unreadable {
        path: shown.clone(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    let base = path.parent().unwrap_or(Path::new(""));

    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let header = reader
        .headers()
        .map_err(|e| unreadable(format!("bad header: {e}")))?
        .clone();
    let names: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    let find = |name: &str| names.iter().position(|n| n == name);
    let header_text = header.iter().collect::<Vec<_>>().join(",");
    let required = |name: &str| {
        find(name).ok_or_else(|| ManifestError::MissingColumn {
            path: shown.clone(),
            column: name.to_string(),
            header: header_text.clone(),
        })
    };
    let cols = Columns {
        path: required("path")?,
        quadrant: required("quadrant")?,
        artist: find("artist"),
        title: find("title"),
        valence: find("valence"),
        arousal: find("arousal"),
        confidence: find("tag_agreement").or_else(|| find("confidence")),
    };

    let mut out = Manifest::default();
    if cols.artist.is_none() {
        out.warnings.push(
            "no `artist` column: every row is its own group, so folds cannot keep an \
             artist's songs together"
                .to_string(),
        );
    }
    let mut seen: HashMap<PathBuf, usize> = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line() as usize);
                match parse_row(&record, &cols, base, line, check_files) {
                    Ok((row, warning)) => {
                        if let Some(&first) = seen.get(&row.path) {
                            out.bad.push(BadRow {
                                line,
                                reason: format!(
                                    "duplicate path {} (first at line {first})",
                                    row.path.display()
                                ),
                            });
                            continue;
                        }
                        seen.insert(row.path.clone(), line);
                        if let Some(w) = warning {
                            out.warnings.push(w);
                        }
                        out.rows.push(row);
                    }
                    Err(reason) => out.bad.push(BadRow { line, reason }),
                }
            }
            Err(e) => match e.kind() {
                csv::ErrorKind::Utf8 { pos, .. } => out.bad.push(BadRow {
                    line: pos.as_ref().map_or(0, |p| p.line() as usize),
                    reason: format!("unreadable record: {e}"),
                }),
                _ => return Err(unreadable(e.to_string())),
            },
        }
    }

    if out.rows.is_empty() {
        let detail = match out.bad.first() {
            None => "no data rows".to_string(),
            Some(b) => format!(
                "{} row(s) rejected, first at line {}: {}",
                out.bad.len(),
                b.line,
                b.reason
            ),
        };
        return Err(ManifestError::NoUsableRows {
            path: shown,
            detail,
        });
    }
    Ok(out)
}

fn cell(record: &csv::StringRecord, col: Option<usize>) -> Option<&str> {
    col.and_then(|c| record.get(c))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn parse_unit(
    record: &csv::StringRecord,
    col: Option<usize>,
    name: &str,
) -> Result<Option<f32>, String> {
    let Some(text) = cell(record, col) else {
        return Ok(None);
    };
    let v: f32 = text
        .parse()
        .map_err(|_| format!("{name} {text:?} is not a number"))?;
    if !v.is_finite() || !(-1.0..=1.0).contains(&v) {
        return Err(format!("{name} {text} is outside [-1, 1]"));
    }
    Ok(Some(v))
}

fn parse_row(
    record: &csv::StringRecord,
    cols: &Columns,
    base: &Path,
    line: usize,
    check_files: bool,
) -> Result<(ManifestRow, Option<String>), String> {
    let raw_path = cell(record, Some(cols.path)).ok_or("missing path")?;
    let raw_quadrant = cell(record, Some(cols.quadrant)).unwrap_or("");
    let quadrant = Quadrant::parse(raw_quadrant).ok_or_else(|| {
        if raw_quadrant.is_empty() {
            "missing quadrant".to_string()
        } else {
            format!("unknown quadrant {raw_quadrant:?} (expected Q1..Q4 or 1..4)")
        }
    })?;
    let valence = parse_unit(record, cols.valence, "valence")?;
    let arousal = parse_unit(record, cols.arousal, "arousal")?;
    let confidence = parse_unit(record, cols.confidence, "tag_agreement")?;
    if confidence.is_some_and(|c| c < 0.0) {
        return Err("tag_agreement is below 0".to_string());
    }
    let as_written = PathBuf::from(raw_path);
    let path = if as_written.is_absolute() {
        as_written
    } else {
        base.join(as_written)
    };
    if check_files && !path.is_file() {
        return Err(format!("file not found: {}", path.display()));
    }
    let (artist, warning) = match cell(record, cols.artist) {
        Some(a) => (a.to_string(), None),
        None if cols.artist.is_none() => (format!("(no artist) {raw_path}"), None),
        None => (
            format!("(no artist) {raw_path}"),
            Some(format!(
                "line {line}: no artist for {raw_path}; it is its own group"
            )),
        ),
    };
    Ok((
        ManifestRow {
            path,
            quadrant,
            artist,
            title: cell(record, cols.title).map(str::to_string),
            valence,
            arousal,
            confidence,
            line,
        },
        warning,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn quadrant_basics() {
        for (i, q) in Quadrant::ALL.iter().enumerate() {
            assert_eq!(q.index(), i);
            assert_eq!(Quadrant::from_index(i), Some(*q));
            assert_eq!(Quadrant::parse(q.name()), Some(*q));
        }
        assert_eq!(Quadrant::from_index(4), None);
        assert_eq!(Quadrant::parse(" q3 "), Some(Quadrant::Q3));
        assert_eq!(Quadrant::parse("4"), Some(Quadrant::Q4));
        assert_eq!(Quadrant::parse("Q5"), None);
        assert_eq!(Quadrant::parse("0"), None);
        assert_eq!(Quadrant::parse(""), None);
        assert_eq!(Quadrant::parse("QQ1"), None);
        assert_eq!(Quadrant::Q1.label(), "Happy");
        assert_eq!(Quadrant::Q4.label(), "Calm");
        assert_eq!(
            Quadrant::ALL.map(|q| (q.valence_sign(), q.arousal_sign())),
            [(1, 1), (-1, 1), (-1, -1), (1, -1)]
        );
        assert_eq!(Quadrant::Q2.to_string(), "Q2");
    }

    #[test]
    fn good_rows_and_quoted_commas() {
        let dir = tempfile::tempdir().unwrap();
        let m = write(
            dir.path(),
            "m.csv",
            "path,quadrant,artist,title,duration_s\n\
             Q1/MT0000040632.ogg,Q1,Gipsy Kings,Flamencos en el Aire,30.06\n\
             Q2/a.ogg, q2 ,\"Earth, Wind & Fire\",\"September, live\",30\n\
             Q3/b.ogg,3,Adele,,30\n\
             /abs/c.ogg,Q4,Norah Jones,Come Away,30\n",
        );
        let man = read_manifest(&m, false).unwrap();
        assert!(man.bad.is_empty(), "{:?}", man.bad);
        assert!(man.warnings.is_empty());
        assert_eq!(man.rows.len(), 4);
        let r = &man.rows[0];
        assert_eq!(r.path, dir.path().join("Q1/MT0000040632.ogg"));
        assert_eq!(r.quadrant, Quadrant::Q1);
        assert_eq!(r.artist, "Gipsy Kings");
        assert_eq!(r.title.as_deref(), Some("Flamencos en el Aire"));
        assert_eq!(r.line, 2);
        assert_eq!(man.rows[1].artist, "Earth, Wind & Fire");
        assert_eq!(man.rows[1].title.as_deref(), Some("September, live"));
        assert_eq!(man.rows[1].quadrant, Quadrant::Q2);
        assert_eq!(man.rows[2].title, None);
        assert_eq!(man.rows[2].quadrant, Quadrant::Q3);
        assert_eq!(man.rows[3].path, PathBuf::from("/abs/c.ogg"));
        assert_eq!(man.labels(), vec![0, 1, 2, 3]);
        assert_eq!(man.class_counts(), [1, 1, 1, 1]);
        assert_eq!(man.groups()[0], "gipsy kings");
    }

    #[test]
    fn columns_any_order_case_and_bom() {
        let dir = tempfile::tempdir().unwrap();
        let m = write(
            dir.path(),
            "m.csv",
            "\u{feff}Quadrant, Arousal ,extra,PATH,Valence\nq4,-0.5,x,a.ogg,0.25\n",
        );
        let man = read_manifest(&m, false).unwrap();
        assert!(man.bad.is_empty(), "{:?}", man.bad);
        let r = &man.rows[0];
        assert_eq!(r.quadrant, Quadrant::Q4);
        assert_eq!(r.valence, Some(0.25));
        assert_eq!(r.arousal, Some(-0.5));
        assert_eq!(r.path, dir.path().join("a.ogg"));
        // No artist column: one warning, each row its own group.
        assert_eq!(man.warnings.len(), 1);
        assert_eq!(r.artist, "(no artist) a.ogg");
    }

    #[test]
    fn each_kind_of_bad_row() {
        let dir = tempfile::tempdir().unwrap();
        let m = write(
            dir.path(),
            "m.csv",
            "path,quadrant,artist,valence,arousal\n\
             ok.ogg,Q1,A,0.5,0.5\n\
             ,Q1,A,,\n\
             x.ogg,Q7,A,,\n\
             y.ogg,,A,,\n\
             z.ogg,Q2,A,abc,\n\
             w.ogg,Q2,A,,1.5\n\
             v.ogg,Q2,A,NaN,\n\
             ok.ogg,Q3,B,,\n\
             u.ogg,Q3,,,\n\
             short.ogg\n",
        );
        let man = read_manifest(&m, false).unwrap();
        assert_eq!(man.rows.len(), 2);
        assert_eq!(man.rows[1].artist, "(no artist) u.ogg");
        assert_eq!(man.rows[1].line, 10);
        assert_eq!(man.warnings.len(), 1);
        assert!(man.warnings[0].contains("line 10"), "{:?}", man.warnings);
        let lines: Vec<usize> = man.bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 7, 8, 9, 11]);
        let reasons: Vec<&str> = man.bad.iter().map(|b| b.reason.as_str()).collect();
        assert_eq!(reasons[0], "missing path");
        assert!(
            reasons[1].contains("unknown quadrant \"Q7\""),
            "{}",
            reasons[1]
        );
        assert_eq!(reasons[2], "missing quadrant");
        assert!(
            reasons[3].contains("valence \"abc\" is not a number"),
            "{}",
            reasons[3]
        );
        assert!(
            reasons[4].contains("arousal 1.5 is outside [-1, 1]"),
            "{}",
            reasons[4]
        );
        assert!(
            reasons[5].contains("valence NaN is outside"),
            "{}",
            reasons[5]
        );
        assert!(reasons[6].contains("duplicate path") && reasons[6].contains("line 2"));
        assert_eq!(reasons[7], "missing quadrant");
    }

    #[test]
    fn missing_files_checked() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("Q1")).unwrap();
        fs::write(dir.path().join("Q1/here.ogg"), b"x").unwrap();
        let m = write(
            dir.path(),
            "m.csv",
            "path,quadrant,artist\nQ1/here.ogg,Q1,A\nQ1/gone.ogg,Q1,B\n",
        );
        let man = read_manifest(&m, true).unwrap();
        assert_eq!(man.rows.len(), 1);
        assert_eq!(man.rows[0].path, dir.path().join("Q1/here.ogg"));
        assert_eq!(man.bad.len(), 1);
        assert_eq!(man.bad[0].line, 3);
        assert!(man.bad[0].reason.starts_with("file not found"));
        // Without the check both rows are kept.
        assert_eq!(read_manifest(&m, false).unwrap().rows.len(), 2);
    }

    #[test]
    fn relative_paths_resolve_against_manifest_folder() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("data/sets");
        fs::create_dir_all(&sub).unwrap();
        let m = write(&sub, "m.csv", "path,quadrant,artist\n../audio/a.ogg,1,A\n");
        let man = read_manifest(&m, false).unwrap();
        assert_eq!(man.rows[0].path, sub.join("../audio/a.ogg"));
    }

    #[test]
    fn fatal_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.csv");
        assert!(matches!(
            read_manifest(&missing, false),
            Err(ManifestError::Unreadable { .. })
        ));

        let m = write(dir.path(), "a.csv", "path,artist\na.ogg,A\n");
        match read_manifest(&m, false) {
            Err(ManifestError::MissingColumn { column, .. }) => assert_eq!(column, "quadrant"),
            other => panic!("{other:?}"),
        }
        let m = write(dir.path(), "b.csv", "file,quadrant\na.ogg,Q1\n");
        match read_manifest(&m, false) {
            Err(e @ ManifestError::MissingColumn { .. }) => {
                assert!(e.to_string().contains("`path`"), "{e}")
            }
            other => panic!("{other:?}"),
        }

        let m = write(dir.path(), "c.csv", "path,quadrant\n");
        assert!(matches!(
            read_manifest(&m, false),
            Err(ManifestError::NoUsableRows { .. })
        ));
        let m = write(dir.path(), "d.csv", "path,quadrant\na.ogg,Q9\n");
        match read_manifest(&m, false) {
            Err(e @ ManifestError::NoUsableRows { .. }) => {
                assert!(e.to_string().contains("line 2"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        let m = write(dir.path(), "e.csv", "");
        assert!(read_manifest(&m, false).is_err());
    }

    #[test]
    fn invalid_utf8_row_is_bad_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.csv");
        let mut bytes = b"path,quadrant,artist\na.ogg,Q1,A\nb.ogg,Q2,".to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
        bytes.extend_from_slice(b"c.ogg,Q3,C\n");
        fs::write(&p, bytes).unwrap();
        let man = read_manifest(&p, false).unwrap();
        assert_eq!(man.rows.len(), 2);
        assert_eq!(man.bad.len(), 1);
        assert_eq!(man.bad[0].line, 3);
    }
}
