//! Small reusable pieces: the mood badge, the spectrogram picture, and the canvases
//! (emotion timeline seek bar and chart, valence-arousal plane).

pub mod map_canvas;
pub mod timeline;
pub mod va_plane;

use iced::widget::{container, image, text};
use iced::{border, Background, Element, Length};

use crate::features::Colormap;
use crate::library::{Mood, Thumbnail};

use super::theme;

/// The mood of a track as a coloured pill with its label ("Q1 Happy"), so it reads without
/// colour too. An uncertain mood (top probability below 0.6: the point is near an axis) is
/// drawn outlined and faded, with a question mark and the runner-up ("Q1 Happy? · Q4").
pub fn badge<'a, M: 'a>(mood: Option<&Mood>) -> Element<'a, M> {
    match mood {
        Some(m) => {
            let q = m.quadrant;
            let uncertain = m.is_uncertain();
            let label = if uncertain {
                format!("{q} {}? · {}", q.label(), m.runner_up())
            } else {
                format!("{q} {}", q.label())
            };
            container(
                text(label)
                    .size(theme::TEXT_SMALL)
                    .style(move |t: &iced::Theme| text::Style {
                        color: Some(if uncertain {
                            t.palette().text
                        } else {
                            theme::on_quadrant(q)
                        }),
                    }),
            )
            .padding([1.0, 8.0])
            .style(move |_| {
                let c = theme::quadrant_color(q);
                let (fill, border) = if uncertain {
                    (
                        iced::Color { a: 0.22, ..c },
                        iced::Border {
                            color: c,
                            width: 1.5,
                            radius: 10.0.into(),
                        },
                    )
                } else {
                    (c, border::rounded(10.0))
                };
                container::Style {
                    background: Some(Background::Color(fill)),
                    border,
                    ..container::Style::default()
                }
            })
            .into()
        }
        None => text("—")
            .size(theme::TEXT_SMALL)
            .style(|t: &iced::Theme| text::Style {
                color: Some(theme::muted(t)),
            })
            .into(),
    }
}

/// Turns the stored log-mel thumbnail into an RGBA picture (magma), flipped so the lowest
/// band is at the bottom. Runs off the UI thread (with the detail load).
pub fn spectrogram_handle(t: &Thumbnail) -> Option<image::Handle> {
    let (w, h) = (t.width, t.height);
    if w == 0 || h == 0 || t.pixels.len() < (w as usize) * (h as usize) {
        return None;
    }
    // 256-entry lookup: the thumbnail is already quantised to u8.
    let lut: Vec<[u8; 3]> = (0..256)
        .map(|i| Colormap::Magma.color(i as f64 / 255.0))
        .collect();
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        let row = h - 1 - y;
        for x in 0..w {
            let [r, g, b] = lut[t.get(x, row) as usize];
            rgba.extend_from_slice(&[r, g, b, 255]);
        }
    }
    Some(image::Handle::from_rgba(w, h, rgba))
}

/// The spectrogram picture, stretched to the pane's width.
pub fn spectrogram<'a, M: 'a>(handle: &image::Handle, height: f32) -> Element<'a, M> {
    container(
        image(handle.clone())
            .width(Length::Fill)
            .height(Length::Fixed(height))
            .content_fit(iced::ContentFit::Fill)
            .filter_method(image::FilterMethod::Linear),
    )
    .style(|t: &iced::Theme| container::Style {
        border: iced::Border {
            color: t.extended_palette().background.strong.color,
            width: 1.0,
            radius: 4.0.into(),
        },
        ..container::Style::default()
    })
    .into()
}
