//! The window driven like a person would, for the tests on a real library database
//! (`gui_playlists`, `gui_map`): tasks run for real (`run` drives each task's stream to its
//! end and feeds its messages back into `App::update`, as iced's runtime would); clicks and
//! lookups go through iced_test's simulator at the test's window size.

use iced::futures::executor::block_on;
use iced::futures::StreamExt;
use iced::{Settings, Size, Task};
use iced_test::runtime::{task, Action};
use iced_test::simulator::Simulator;
use valence::gui::{App, Message};

/// Runs `task` to its end, feeding every message it produces back into the app.
pub fn run(app: &mut App, task: Task<Message>) {
    let mut queue = vec![task];
    while let Some(t) = queue.pop() {
        let Some(stream) = task::into_stream(t) else {
            continue;
        };
        for action in block_on(stream.collect::<Vec<_>>()) {
            if let Action::Output(m) = action {
                queue.push(app.update(m));
            }
        }
    }
}

/// Sends `m` and runs what it starts.
pub fn send(app: &mut App, m: Message) {
    let t = app.update(m);
    run(app, t);
}

pub fn sim(app: &App, size: Size) -> Simulator<'_, Message> {
    Simulator::with_size(Settings::default(), size, app.view())
}

pub fn shows(app: &App, size: Size, label: &str) -> bool {
    sim(app, size).find(label).is_ok()
}

/// Clicks the widget showing `label`; it must do something.
pub fn click(app: &mut App, size: Size, label: &str) {
    let messages: Vec<Message> = {
        let mut ui = sim(app, size);
        ui.click(label)
            .unwrap_or_else(|e| panic!("cannot click {label:?}: {e}"));
        ui.into_messages().collect()
    };
    assert!(!messages.is_empty(), "clicking {label:?} did nothing");
    for m in messages {
        send(app, m);
    }
}
