//! The library file is damaged (not a database, truncated, corrupt, another program's):
//! say so, and offer to restore the newest good backup or to start a new library. Either
//! way the damaged file is renamed aside, never overwritten or deleted
//! (`library::backup`); nothing happens until the user chooses.

use iced::widget::{button, column, container, row, space, text};
use iced::{alignment, Element, Length};

use super::theme;
use crate::library::backup::BackupInfo;

#[derive(Debug, Clone)]
pub struct State {
    /// Why the library cannot be opened.
    reason: String,
    /// `None` while the backups are being checked; then the newest good one, if any.
    backup: Option<Option<BackupInfo>>,
    /// A choice is being carried out.
    busy: bool,
    error: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    /// The newest good backup, once checked.
    Found(Option<BackupInfo>),
    Restore,
    StartNew,
    /// The choice failed (the text says why).
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Restore,
    StartNew,
}

impl State {
    pub fn new(reason: String) -> Self {
        Self {
            reason,
            backup: None,
            busy: false,
            error: None,
        }
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Found(b) => {
                self.backup = Some(b);
                None
            }
            Message::Restore if !self.busy => {
                self.busy = true;
                self.error = None;
                Some(Event::Restore)
            }
            Message::StartNew if !self.busy => {
                self.busy = true;
                self.error = None;
                Some(Event::StartNew)
            }
            Message::Restore | Message::StartNew => None,
            Message::Failed(e) => {
                self.busy = false;
                self.error = Some(e);
                None
            }
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let muted = super::detail::muted_text;
        let backup_line = match &self.backup {
            None => "Looking for backups…".to_string(),
            Some(Some(b)) => format!(
                "The newest good backup is from {} (UTC). Restoring it brings back the library as it was then; later changes are lost.",
                b.date
            ),
            Some(None) => "There is no good backup of this library.".to_string(),
        };
        let restore = self
            .backup
            .as_ref()
            .and_then(|b| b.as_ref())
            .map(|b| format!("Restore the backup of {}", b.date));
        let idle = !self.busy;
        let mut buttons = row![space::horizontal()].spacing(theme::SPACE_S);
        buttons = buttons.push(
            button(text("Start a new library").size(theme::TEXT_BODY))
                .padding([10.0, 16.0])
                .style(if restore.is_some() {
                    button::secondary
                } else {
                    button::primary
                })
                .on_press_maybe(idle.then_some(Message::StartNew)),
        );
        if let Some(label) = restore {
            buttons = buttons.push(
                button(text(label).size(theme::TEXT_BODY))
                    .padding([10.0, 16.0])
                    .style(button::primary)
                    .on_press_maybe(idle.then_some(Message::Restore)),
            );
        }
        let mut col = column![
            text("The library cannot be opened").size(theme::TEXT_DISPLAY),
            text(self.reason.clone()).size(theme::TEXT_BODY),
            text(backup_line).size(theme::TEXT_BODY).style(muted),
            text("Either way the damaged file is kept beside the library, renamed with “.damaged-” and the time, so nothing is deleted.")
                .size(theme::TEXT_SMALL)
                .style(muted),
            space().height(theme::SPACE_S),
            buttons.align_y(alignment::Vertical::Center),
        ]
        .spacing(theme::SPACE_M)
        .max_width(680);
        if let Some(e) = &self.error {
            col = col.push(
                text(e.clone())
                    .size(theme::TEXT_SMALL)
                    .style(theme::danger_text),
            );
        }
        container(col)
            .center(Length::Fill)
            .padding(theme::SPACE_L)
            .into()
    }
}
