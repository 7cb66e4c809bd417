//! The window's desktop identity: the application ID the window manager matches to the
//! launcher, and the window's icon.

use iced::window;

/// The 128 px hicolor icon, embedded so the window has its icon when run from a clone too.
const ICON_PNG: &[u8] =
    include_bytes!("../packaging/icons/hicolor/128x128/apps/io.github.valence_music.Valence.png");

/// The window icon, or `None` if the embedded PNG cannot be decoded (the window then opens
/// with the desktop's default icon rather than not at all).
pub fn window_icon() -> Option<window::Icon> {
    let img = image::load_from_memory_with_format(ICON_PNG, image::ImageFormat::Png).ok()?;
    let rgba = img.to_rgba8();
    let (w, h) = rgba.dimensions();
    window::icon::from_rgba(rgba.into_raw(), w, h).ok()
}

/// Window settings carrying the app ID and icon; callers set the size etc. on top.
pub fn window_settings() -> window::Settings {
    window::Settings {
        icon: window_icon(),
        #[cfg(target_os = "linux")]
        platform_specific: window::settings::PlatformSpecific {
            application_id: crate::APP_ID.to_string(),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_gets_the_icon_and_the_app_id() {
        let s = window_settings();
        let (rgba, size) = s.icon.expect("embedded icon decodes").into_raw();
        assert_eq!((size.width, size.height), (128, 128));
        // Not blank: the icon has opaque pixels and transparent corners.
        assert!(rgba.chunks(4).any(|p| p[3] == 255));
        assert_eq!(rgba[3], 0, "top-left corner should be transparent");
        #[cfg(target_os = "linux")]
        assert_eq!(s.platform_specific.application_id, crate::APP_ID);
    }
}
