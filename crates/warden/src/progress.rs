//! Progress on stderr while a guarded run plans, checks and builds: a
//! spinner that says what is happening, a count while packages are
//! checked. Only on a terminal, and not under `-v` (the log says the same
//! with timings).

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether progress is drawn: on a terminal, when the log is not on.
pub fn shows_progress(stderr_is_terminal: bool, verbose: u8) -> bool {
    stderr_is_terminal && verbose == 0
}

pub struct Progress {
    enabled: bool,
    /// The spinner of the step under way, drawn only when enabled.
    bar: Option<ProgressBar>,
    /// The step under way and when it started, for the `-v` timings.
    step: Option<(String, Instant)>,
    started: Instant,
}

impl Progress {
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            bar: None,
            step: None,
            started: Instant::now(),
        }
    }

    /// Whether anything is on the terminal now.
    #[cfg(test)]
    pub fn is_drawn(&self) -> bool {
        self.bar.as_ref().is_some_and(|b| !b.is_hidden())
    }

    /// A new step: the spinner says it, and the log times the last one.
    pub fn step(&mut self, what: &str) {
        self.end_step();
        tracing::info!("{what} (at {:.2}s)", self.started.elapsed().as_secs_f64());
        self.step = Some((what.to_owned(), Instant::now()));
        if self.enabled {
            let bar = self.bar.take().unwrap_or_else(|| {
                ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
            });
            bar.set_style(
                ProgressStyle::with_template("{spinner} warden: {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(what.to_owned());
            bar.enable_steady_tick(Duration::from_millis(120));
            self.bar = Some(bar);
        }
    }

    /// `done` of `total` packages checked.
    pub fn tick(&mut self, done: usize, total: usize) {
        if let (Some((what, _)), Some(bar)) = (&self.step, &self.bar) {
            bar.set_message(format!("{what}: {done}/{total}"));
        }
    }

    fn end_step(&mut self) {
        if let Some((what, at)) = self.step.take() {
            tracing::info!("{what}: done in {:.2}s", at.elapsed().as_secs_f64());
        }
    }

    /// Clears the line before anything else is written to the terminal.
    pub fn finish(&mut self) {
        self.end_step();
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_drawn_only_on_a_terminal_without_the_log() {
        assert!(shows_progress(true, 0));
        assert!(!shows_progress(false, 0));
        assert!(!shows_progress(true, 1));
        let mut hidden = Progress::new(false);
        hidden.step("planning");
        hidden.tick(1, 2);
        assert!(!hidden.is_drawn());
        hidden.finish();
        assert!(!hidden.is_drawn());
    }
}
