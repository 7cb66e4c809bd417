//! The History screen: the newest plays, with how much was heard, how each ended and
//! whether it counted (longer than 30 s, heard for half its length or 4 minutes).

use iced::widget::{column, container, row, scrollable, text};
use iced::{alignment, Element, Length};

use super::detail::muted_text;
use super::theme;
use crate::playlists::history::fmt_utc;
use crate::playlists::{Play, PlayEnd};

/// Plays shown.
pub const LIMIT: usize = 200;

#[derive(Debug, Clone, Default)]
pub struct State {
    plays: Vec<Play>,
    error: Option<String>,
}

impl State {
    pub fn plays(&self) -> &[Play] {
        &self.plays
    }

    pub fn set(&mut self, r: Result<Vec<Play>, String>) {
        match r {
            Ok(p) => {
                self.plays = p;
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    pub fn view<'a, M: 'a>(&'a self) -> Element<'a, M> {
        let mut col = column![super::playlists::section("Recently played")].spacing(theme::SPACE_S);
        if let Some(e) = &self.error {
            col = col.push(super::detail::error_box(
                "Could not read the history",
                e.clone(),
            ));
        }
        if self.plays.is_empty() {
            col = col.push(
                text("Nothing played yet. Plays appear here as you listen; `valence history import` brings in a ListenBrainz or Last.fm history.")
                    .size(theme::TEXT_BODY)
                    .style(muted_text),
            );
        }
        let rows: Vec<Element<'a, M>> = self
            .plays
            .iter()
            .map(|p| {
                let ended = match p.ended {
                    Some(PlayEnd::Finished) => "finished",
                    Some(PlayEnd::Skipped) => "skipped",
                    Some(PlayEnd::Stopped) => "stopped",
                    None => "imported",
                };
                let heard = match p.duration_secs {
                    Some(d) => format!(
                        "{} of {}",
                        super::fmt_time(p.heard_secs),
                        super::fmt_time(d)
                    ),
                    None => super::fmt_time(p.heard_secs),
                };
                row![
                    text(format!("{} UTC", fmt_utc(p.started_at)))
                        .size(theme::TEXT_SMALL)
                        .style(muted_text)
                        .width(Length::Fixed(140.0)),
                    text(p.title.clone())
                        .size(theme::TEXT_BODY)
                        .wrapping(text::Wrapping::None)
                        .width(Length::FillPortion(3)),
                    text(p.artist.clone())
                        .size(theme::TEXT_SMALL)
                        .wrapping(text::Wrapping::None)
                        .style(muted_text)
                        .width(Length::FillPortion(2)),
                    text(heard)
                        .size(theme::TEXT_SMALL)
                        .width(Length::Fixed(100.0)),
                    text(ended)
                        .size(theme::TEXT_SMALL)
                        .width(Length::Fixed(70.0)),
                    text(if p.counts { "counted" } else { "" })
                        .size(theme::TEXT_SMALL)
                        .style(muted_text)
                        .width(Length::Fixed(60.0)),
                ]
                .spacing(theme::SPACE_S)
                .align_y(alignment::Vertical::Center)
                .into()
            })
            .collect();
        col = col.push(
            scrollable(
                column(rows)
                    .spacing(4)
                    .padding(super::playlists::SCROLLBAR_GUTTER),
            )
            .height(Length::Fill),
        );
        container(col)
            .padding(theme::SPACE_M)
            .width(Length::Fill)
            .height(Length::Fill)
            .into()
    }
}
