//! Views: how plans, progress and reports look, for people (text, colour on a
//! terminal, progress bars) and for scripts (JSON, built by the commands). Nothing here
//! decides anything; the engine reports, the views show.

pub mod plan;
pub mod progress;

/// Whether stderr/stdout should get colour: a terminal, and NO_COLOR unset.
pub fn colour_for(stream_is_terminal: bool) -> bool {
    stream_is_terminal && crate::env::var(crate::env::NO_COLOR).is_none()
}

pub(crate) struct Paint {
    pub on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    pub fn green(&self, t: &str) -> String {
        self.wrap("32", t)
    }
    pub fn yellow(&self, t: &str) -> String {
        self.wrap("33", t)
    }
    pub fn red(&self, t: &str) -> String {
        self.wrap("31", t)
    }
    pub fn bold(&self, t: &str) -> String {
        self.wrap("1", t)
    }
    pub fn dim(&self, t: &str) -> String {
        self.wrap("2", t)
    }
}
