//! The "your mood now" card: the listener's mood read from the history (this week's
//! most-played tracks, seed 000; or the last 10 plays, seed 001), its point on the
//! valence-arousal plane, the tracks it came from, and "Make a playlist" for it.

use iced::widget::{button, canvas, column, container, row, text};
use iced::{alignment, Element, Length};

use super::backend::MoodData;
use super::detail::muted_text;
use super::theme;
use super::widgets::va_plane::VaPlane;
use crate::playlists::{MoodMethod, MoodReading};

#[derive(Debug, Clone)]
pub enum Message {
    Method(MoodMethod),
    /// A playlist for the mood now.
    MakePlaylist,
}

/// Source tracks listed on the card (the rest are counted).
const LISTED: usize = 4;

pub fn view(data: Option<&MoodData>, method: MoodMethod) -> Element<'_, Message> {
    let tab = |m: MoodMethod, label: &'static str| {
        button(text(label).size(theme::TEXT_SMALL))
            .padding([2.0, 8.0])
            .style(if m == method {
                button::secondary
            } else {
                theme::flat
            })
            .on_press(Message::Method(m))
    };
    let mut col = column![
        text("Your mood now")
            .size(theme::TEXT_BODY)
            .font(iced::Font {
                weight: iced::font::Weight::Semibold,
                ..iced::Font::with_name(super::FONT_NAME)
            }),
        row![
            tab(MoodMethod::Week, "This week"),
            tab(MoodMethod::Recent, "Right now")
        ]
        .spacing(theme::SPACE_XS),
    ]
    .spacing(theme::SPACE_S);
    match data.map(|d| d.reading(method)) {
        None => {
            col = col.push(
                text("Reading your history…")
                    .size(theme::TEXT_SMALL)
                    .style(muted_text),
            )
        }
        Some(MoodReading::NotEnough { plays, needed }) => {
            col = col.push(
                text(format!(
                    "Not enough listening yet: {plays} of {needed} counted plays of analysed tracks {}.",
                    match method {
                        MoodMethod::Week => "this week",
                        MoodMethod::Recent => "so far",
                    }
                ))
                .size(theme::TEXT_SMALL)
                .style(muted_text),
            );
        }
        Some(MoodReading::Mood(m)) => {
            let q = m.mood.quadrant;
            col = col.push(
                row![
                    super::widgets::badge(Some(&m.mood)),
                    text(format!(
                        "v {:+.2} · a {:+.2}",
                        m.mood.valence, m.mood.arousal
                    ))
                    .size(theme::TEXT_SMALL)
                    .style(muted_text),
                ]
                .spacing(theme::SPACE_S)
                .align_y(alignment::Vertical::Center),
            );
            col = col.push(
                canvas(VaPlane {
                    valence: m.mood.valence,
                    arousal: m.mood.arousal,
                    quadrant: q,
                    timeline: &[],
                })
                .width(Length::Fill)
                .height(Length::Fixed(150.0)),
            );
            col = col.push(
                text(format!("From {}:", method.describe()))
                    .size(theme::TEXT_SMALL)
                    .style(muted_text),
            );
            for s in m.sources.iter().take(LISTED) {
                col = col.push(
                    text(format!(
                        "{:.0} % · {} — {}",
                        100.0 * s.weight,
                        s.title,
                        s.artist
                    ))
                    .size(theme::TEXT_SMALL)
                    .wrapping(text::Wrapping::None),
                );
            }
            if m.sources.len() > LISTED {
                col = col.push(
                    text(format!("and {} more", m.sources.len() - LISTED))
                        .size(theme::TEXT_SMALL)
                        .style(muted_text),
                );
            }
            col = col.push(
                button(text("Make a playlist").size(theme::TEXT_SMALL))
                    .style(button::primary)
                    .padding([4.0, 10.0])
                    .on_press(Message::MakePlaylist),
            );
        }
    }
    container(col.clip(true))
        .padding(theme::SPACE_M)
        .width(Length::Fill)
        .style(theme::card)
        .into()
}
