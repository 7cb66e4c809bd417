//! Colours, type sizes and spacing in one place, so every screen looks like the same app.

use iced::theme::Palette;
use iced::widget::{button, container, text, text_input};
use iced::{border, color, Background, Border, Color, Shadow, Theme};

use crate::mood::Quadrant;

/// Spacing scale (px).
pub const SPACE_XS: f32 = 4.0;
pub const SPACE_S: f32 = 8.0;
pub const SPACE_M: f32 = 12.0;
pub const SPACE_L: f32 = 20.0;

/// Type scale (px).
pub const TEXT_SMALL: f32 = 12.0;
pub const TEXT_BODY: f32 = 14.0;
pub const TEXT_TITLE: f32 = 18.0;
pub const TEXT_DISPLAY: f32 = 26.0;

pub const RADIUS: f32 = 6.0;

/// Okabe-Ito colours, safe for the common colour-vision deficiencies; every badge also
/// carries its quadrant's letter so colour is never the only cue.
pub const Q1: Color = color!(0xE69F00); // orange: happy / excited
pub const Q2: Color = color!(0xD55E00); // vermillion: angry / tense
pub const Q3: Color = color!(0x0072B2); // blue: sad
pub const Q4: Color = color!(0x009E73); // bluish green: calm / relaxed

pub fn quadrant_color(q: Quadrant) -> Color {
    match q {
        Quadrant::Q1 => Q1,
        Quadrant::Q2 => Q2,
        Quadrant::Q3 => Q3,
        Quadrant::Q4 => Q4,
    }
}

/// Text colour that stays readable on a quadrant colour.
pub fn on_quadrant(q: Quadrant) -> Color {
    match q {
        // Orange and green are light enough for black text; blue and vermillion take white.
        Quadrant::Q1 | Quadrant::Q4 => Color::BLACK,
        Quadrant::Q2 | Quadrant::Q3 => Color::WHITE,
    }
}

/// Theme scene colours: Kelly's 22 colours of maximum contrast (1965) without white, black
/// and grey. Scenes take them largest first; past 19 scenes they repeat (the legend and the
/// names still tell them apart).
pub const SCENE_COLORS: [Color; 19] = [
    color!(0xF3C300),
    color!(0x875692),
    color!(0xF38400),
    color!(0xA1CAF1),
    color!(0xBE0032),
    color!(0xC2B280),
    color!(0x008856),
    color!(0xE68FAC),
    color!(0x0067A5),
    color!(0xF99379),
    color!(0x604E97),
    color!(0xF6A600),
    color!(0xB3446C),
    color!(0xDCD300),
    color!(0x882D17),
    color!(0x8DB600),
    color!(0x654522),
    color!(0xE25822),
    color!(0x2B3D26),
];

/// Tracks without a scene.
pub const NO_SCENE: Color = color!(0x848482);

/// The colour of the scene in place `slot` (largest first).
pub fn scene_color(slot: usize) -> Color {
    SCENE_COLORS[slot % SCENE_COLORS.len()]
}

/// A round dot of colour `c`, `size` px across (a legend's or a card's swatch).
pub fn swatch<'a, M: 'a>(c: Color, size: f32) -> iced::Element<'a, M> {
    iced::widget::container(iced::widget::space())
        .width(iced::Length::Fixed(size))
        .height(iced::Length::Fixed(size))
        .style(move |_: &Theme| container::Style {
            background: Some(c.into()),
            border: border::rounded(size / 2.0),
            ..container::Style::default()
        })
        .into()
}

/// Black or white, whichever reads better on `c` (relative luminance past 0.4: black).
pub fn on_color(c: Color) -> Color {
    let lin = |x: f32| {
        if x <= 0.04045 {
            x / 12.92
        } else {
            ((x + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
    if l > 0.4 {
        Color::BLACK
    } else {
        Color::WHITE
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Dark,
    Light,
}

impl Mode {
    pub fn toggled(self) -> Self {
        match self {
            Mode::Dark => Mode::Light,
            Mode::Light => Mode::Dark,
        }
    }

    pub fn theme(self) -> Theme {
        match self {
            Mode::Dark => Theme::custom(
                "Valence dark",
                Palette {
                    background: color!(0x17181c),
                    text: color!(0xe6e6ea),
                    primary: color!(0x56b4e9),
                    success: Q4,
                    warning: Q1,
                    danger: color!(0xe5534b),
                },
            ),
            Mode::Light => Theme::custom(
                "Valence light",
                Palette {
                    background: color!(0xfafafa),
                    text: color!(0x1d1e22),
                    primary: color!(0x0b6bb0),
                    success: Q4,
                    warning: color!(0xa86f00),
                    danger: color!(0xc0392b),
                },
            ),
        }
    }
}

/// Muted text (secondary information).
pub fn muted(theme: &Theme) -> Color {
    let p = theme.extended_palette();
    let mut c = p.background.base.text;
    c.a = 0.62;
    c
}

/// Panels (top bar, player bar, detail pane): one step off the window background.
pub fn panel(theme: &Theme) -> container::Style {
    let p = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(p.background.weak.color)),
        text_color: Some(p.background.weak.text),
        ..container::Style::default()
    }
}

/// A card inside a panel.
pub fn card(theme: &Theme) -> container::Style {
    let p = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(p.background.base.color)),
        border: Border {
            color: p.background.strong.color,
            width: 1.0,
            radius: RADIUS.into(),
        },
        ..container::Style::default()
    }
}

pub fn header_row(theme: &Theme) -> container::Style {
    let p = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(p.background.weak.color)),
        border: Border {
            color: p.background.strong.color,
            width: 0.0,
            radius: 0.0.into(),
        },
        ..container::Style::default()
    }
}

/// Table rows: zebra stripes, the selected row in the primary colour.
pub fn table_row(
    selected: bool,
    odd: bool,
    hovered: bool,
) -> impl Fn(&Theme, button::Status) -> button::Style {
    move |theme, status| {
        let p = theme.extended_palette();
        let bg = if selected {
            p.primary.weak.color
        } else if hovered || matches!(status, button::Status::Hovered) {
            p.background.weak.color
        } else if odd {
            let mut c = p.background.weakest.color;
            c.a = 0.55;
            c
        } else {
            p.background.base.color
        };
        button::Style {
            background: Some(Background::Color(bg)),
            text_color: if selected {
                p.primary.weak.text
            } else {
                p.background.base.text
            },
            border: Border::default(),
            shadow: Shadow::default(),
            snap: true,
        }
    }
}

/// Flat buttons (header cells, icon buttons).
pub fn flat(theme: &Theme, status: button::Status) -> button::Style {
    let p = theme.extended_palette();
    let bg = match status {
        button::Status::Hovered | button::Status::Pressed => Some(p.background.strong.color),
        _ => None,
    };
    button::Style {
        background: bg.map(Background::Color),
        text_color: p.background.base.text,
        border: border::rounded(RADIUS),
        shadow: Shadow::default(),
        snap: true,
    }
}

/// A mood filter chip: filled in the quadrant's colour when on, outlined when off.
pub fn chip(q: Quadrant, on: bool) -> impl Fn(&Theme, button::Status) -> button::Style {
    color_chip(quadrant_color(q), on_quadrant(q), on)
}

/// A filter chip in colour `c` (text `ink` on it when on).
pub fn color_chip(
    c: Color,
    ink: Color,
    on: bool,
) -> impl Fn(&Theme, button::Status) -> button::Style {
    move |theme, status| {
        let p = theme.extended_palette();
        let hovered = matches!(status, button::Status::Hovered);
        button::Style {
            background: if on {
                Some(Background::Color(c))
            } else if hovered {
                Some(Background::Color(p.background.strong.color))
            } else {
                None
            },
            text_color: if on { ink } else { p.background.base.text },
            border: Border {
                color: c,
                width: 1.5,
                radius: 14.0.into(),
            },
            shadow: Shadow::default(),
            snap: true,
        }
    }
}

pub fn search_input(theme: &Theme, status: text_input::Status) -> text_input::Style {
    let mut s = text_input::default(theme, status);
    s.border.radius = RADIUS.into();
    s
}

/// Text that says something failed (a failed row, a form's error line).
pub fn danger_text(theme: &Theme) -> text::Style {
    text::Style {
        color: Some(theme.extended_palette().danger.base.color),
    }
}

/// Banner for errors the user should see (no audio device, scan failure).
pub fn error_banner(theme: &Theme) -> container::Style {
    let p = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(p.danger.weak.color)),
        text_color: Some(p.danger.weak.text),
        border: border::rounded(RADIUS),
        ..container::Style::default()
    }
}
