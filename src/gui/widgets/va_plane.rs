//! The valence-arousal plane with its four quadrants labelled, the track's point, and the
//! path its timeline takes.

use iced::mouse;
use iced::widget::canvas::{self, Frame, Geometry, Path, Stroke, Text};
use iced::{alignment, Point, Rectangle, Renderer, Size, Theme};

use crate::gui::theme;
use crate::library::TimelinePoint;
use crate::mood::Quadrant;

pub struct VaPlane<'a> {
    pub valence: f32,
    pub arousal: f32,
    pub quadrant: Quadrant,
    pub timeline: &'a [TimelinePoint],
}

impl<M> canvas::Program<M> for VaPlane<'_> {
    type State = ();

    fn draw(
        &self,
        _state: &(),
        renderer: &Renderer,
        theme: &Theme,
        bounds: Rectangle,
        _cursor: mouse::Cursor,
    ) -> Vec<Geometry> {
        let mut frame = Frame::new(renderer, bounds.size());
        let pal = theme.extended_palette();
        let side = bounds.width.min(bounds.height);
        let ox = (bounds.width - side) / 2.0;
        let oy = (bounds.height - side) / 2.0;
        let half = side / 2.0;
        let center = Point::new(ox + half, oy + half);
        // Quadrants: Q1 top right (v+, a+), Q2 top left, Q3 bottom left, Q4 bottom right.
        let cells = [
            (Quadrant::Q1, Point::new(center.x, oy)),
            (Quadrant::Q2, Point::new(ox, oy)),
            (Quadrant::Q3, Point::new(ox, center.y)),
            (Quadrant::Q4, Point::new(center.x, center.y)),
        ];
        for (q, at) in cells {
            let mut c = theme::quadrant_color(q);
            c.a = if q == self.quadrant { 0.30 } else { 0.14 };
            frame.fill_rectangle(at, Size::new(half, half), c);
            let (ax, tx) = if q.valence_sign() > 0 {
                (iced::widget::text::Alignment::Right, at.x + half - 6.0)
            } else {
                (iced::widget::text::Alignment::Left, at.x + 6.0)
            };
            let ty = if q.arousal_sign() > 0 {
                at.y + 10.0
            } else {
                at.y + half - 10.0
            };
            frame.fill_text(Text {
                content: format!("{q} {}", q.label()),
                position: Point::new(tx, ty),
                color: pal.background.base.text,
                size: 11.0.into(),
                align_x: ax,
                align_y: alignment::Vertical::Center,
                ..Text::default()
            });
        }
        let axis = Stroke::default()
            .with_color(pal.background.strong.color)
            .with_width(1.0);
        frame.stroke(
            &Path::line(Point::new(ox, center.y), Point::new(ox + side, center.y)),
            axis,
        );
        frame.stroke(
            &Path::line(Point::new(center.x, oy), Point::new(center.x, oy + side)),
            axis,
        );
        frame.stroke(
            &Path::rectangle(Point::new(ox, oy), Size::new(side, side)),
            Stroke::default()
                .with_color(pal.background.strong.color)
                .with_width(1.0),
        );
        let muted = theme::muted(theme);
        frame.fill_text(Text {
            content: "valence →".into(),
            position: Point::new(ox + side - 4.0, center.y - 8.0),
            color: muted,
            size: 10.0.into(),
            align_x: iced::widget::text::Alignment::Right,
            align_y: alignment::Vertical::Center,
            ..Text::default()
        });
        frame.fill_text(Text {
            content: "arousal ↑".into(),
            position: Point::new(center.x + 4.0, oy + side * 0.25),
            color: muted,
            size: 10.0.into(),
            align_x: iced::widget::text::Alignment::Left,
            align_y: alignment::Vertical::Center,
            ..Text::default()
        });
        let to_px = |v: f32, a: f32| {
            Point::new(
                center.x + v.clamp(-1.0, 1.0) * half,
                center.y - a.clamp(-1.0, 1.0) * half,
            )
        };
        // The path through the song, faint, so the track's spread is visible.
        if self.timeline.len() > 1 {
            let path = Path::new(|b| {
                for (i, p) in self.timeline.iter().enumerate() {
                    let pt = to_px(p.valence, p.arousal);
                    if i == 0 {
                        b.move_to(pt);
                    } else {
                        b.line_to(pt);
                    }
                }
            });
            let mut c = pal.background.base.text;
            c.a = 0.35;
            frame.stroke(&path, Stroke::default().with_color(c).with_width(1.0));
        }
        let p = to_px(self.valence, self.arousal);
        frame.fill(&Path::circle(p, 7.0), pal.background.base.text);
        frame.fill(&Path::circle(p, 5.0), theme::quadrant_color(self.quadrant));
        vec![frame.into_geometry()]
    }
}
