//! The desktop integration files under `packaging/` (issue 18): the desktop file and the
//! AppStream metainfo pass their validators, and one application ID (`valence::APP_ID`)
//! names everything a desktop matches up: the desktop file, the metainfo id and launchable,
//! the icons, and the window's WM_CLASS.

use std::path::{Path, PathBuf};
use std::process::Command;

use valence::APP_ID;

fn packaging() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// Runs a validator, failing with the package to install when it is missing.
fn validate(tool: &str, apt_package: &str, args: &[&str], file: &Path) -> String {
    let out = match Command::new(tool).args(args).arg(file).output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "{tool} is not installed: `apt-get install {apt_package}` \
             (or `libtorch-setup/setup.sh --with-test-deps`)"
        ),
        Err(e) => panic!("cannot run {tool}: {e}"),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{tool} rejects {}:\n{text}",
        file.display()
    );
    text
}

/// The value of `key=` in the desktop file's main group.
fn desktop_value<'a>(desktop: &'a str, key: &str) -> Option<&'a str> {
    desktop
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

/// The text of every `<tag ...>text</tag>` in `xml` (enough for the flat metainfo).
fn xml_texts<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        // `<id>` must not match `<idx>`: the tag name ends at '>' or a space.
        if !rest.starts_with(['>', ' ']) {
            continue;
        }
        let Some(gt) = rest.find('>') else { break };
        let Some(end) = rest.find(&close) else { break };
        out.push(rest[gt + 1..end].trim());
        rest = &rest[end..];
    }
    out
}

fn desktop_file() -> PathBuf {
    packaging().join(format!("{APP_ID}.desktop"))
}

fn metainfo_file() -> PathBuf {
    packaging().join(format!("{APP_ID}.metainfo.xml"))
}

#[test]
fn desktop_file_passes_desktop_file_validate() {
    let out = validate(
        "desktop-file-validate",
        "desktop-file-utils",
        &[],
        &desktop_file(),
    );
    // It exits 0 on hints too; warnings and errors are what a desktop would trip on.
    assert!(
        !out.contains("error:") && !out.contains("warning:"),
        "{out}"
    );
}

#[test]
fn metainfo_passes_appstreamcli_validate() {
    // --no-net: the screenshot URLs point where the repository publishes them; the test must
    // not depend on the network.
    let out = validate(
        "appstreamcli",
        "appstream",
        &["validate", "--no-net"],
        &metainfo_file(),
    );
    assert!(out.contains("Validation was successful"), "{out}");
}

#[test]
fn one_app_id_names_the_desktop_file_metainfo_icons_and_window() {
    // Exactly one desktop file and one metainfo, both named by the ID.
    let names: Vec<String> = std::fs::read_dir(packaging())
        .expect("list packaging/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let desktops: Vec<&String> = names.iter().filter(|n| n.ends_with(".desktop")).collect();
    assert_eq!(desktops, [&format!("{APP_ID}.desktop")], "{names:?}");
    let metainfos: Vec<&String> = names
        .iter()
        .filter(|n| n.ends_with(".metainfo.xml"))
        .collect();
    assert_eq!(metainfos, [&format!("{APP_ID}.metainfo.xml")], "{names:?}");

    let desktop = read(&desktop_file());
    assert_eq!(desktop_value(&desktop, "Icon"), Some(APP_ID));
    // The window's WM_CLASS is APP_ID (`valence::desktop::window_settings`).
    assert_eq!(desktop_value(&desktop, "StartupWMClass"), Some(APP_ID));
    assert_eq!(
        valence::desktop::window_settings()
            .platform_specific
            .application_id,
        APP_ID
    );

    let meta = read(&metainfo_file());
    assert_eq!(xml_texts(&meta, "id"), [APP_ID]);
    let desktop_id = format!("{APP_ID}.desktop");
    assert_eq!(xml_texts(&meta, "launchable"), [desktop_id.as_str()]);
    assert!(!xml_texts(&meta, "release").is_empty(), "no <release>");
    assert!(
        xml_texts(&meta, "image")
            .iter()
            .all(|u| u.starts_with("https://")),
        "screenshot URLs must be https"
    );
}

#[test]
fn icons_exist_in_every_size_named_by_the_app_id() {
    let hicolor = packaging().join("icons/hicolor");
    let svg = hicolor.join(format!("scalable/apps/{APP_ID}.svg"));
    assert!(read(&svg).contains("<svg"), "{}", svg.display());
    for n in [16u32, 22, 24, 32, 48, 64, 128, 256, 512] {
        let png = hicolor.join(format!("{n}x{n}/apps/{APP_ID}.png"));
        let dims = image::image_dimensions(&png)
            .unwrap_or_else(|e| panic!("{}: {e} (run packaging/icons/render.sh)", png.display()));
        assert_eq!(dims, (n, n), "{}", png.display());
    }
    // No icon under another name (a renamed ID would leave stale ones behind).
    for size in std::fs::read_dir(&hicolor).expect("list hicolor") {
        let apps = size.expect("entry").path().join("apps");
        for f in std::fs::read_dir(&apps).expect("list apps") {
            let name = f.expect("entry").file_name();
            let name = name.to_string_lossy();
            assert!(
                name.starts_with(&format!("{APP_ID}.")),
                "{name} in {apps:?}"
            );
        }
    }
}

#[test]
fn desktop_file_lists_a_mime_type_for_every_supported_extension() {
    // shared-mime-info's types for our extensions (the canonical name first).
    let mime_of = |ext: &str| -> &'static [&'static str] {
        match ext {
            "mp3" => &["audio/mpeg"],
            "flac" => &["audio/flac", "audio/x-flac"],
            "ogg" | "oga" => &["audio/ogg", "audio/x-vorbis+ogg"],
            "wav" => &["audio/x-wav", "audio/wav"],
            "m4a" => &["audio/mp4", "audio/x-m4a"],
            // Audio-only MP4s: video/mp4 would offer Valence for every video too.
            "mp4" => &["audio/mp4"],
            other => panic!("no MIME type known for .{other}: add it here and to the desktop file"),
        }
    };
    let desktop = read(&desktop_file());
    let listed: Vec<&str> = desktop_value(&desktop, "MimeType")
        .expect("MimeType=")
        .split(';')
        .filter(|s| !s.is_empty())
        .collect();
    for ext in valence::audio::SUPPORTED_EXTENSIONS {
        for m in mime_of(ext) {
            assert!(listed.contains(m), ".{ext}: {m} missing from {listed:?}");
        }
    }
    // What the metainfo says it provides is what the desktop file opens.
    let meta = read(&metainfo_file());
    for m in xml_texts(&meta, "mediatype") {
        assert!(
            listed.contains(&m),
            "metainfo mediatype {m} not in the desktop file"
        );
    }
}
