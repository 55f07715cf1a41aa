//! The progress bar long verifications draw on stderr, only for a person at a terminal.
//!
//! It appears once the input exceeds 2,000 receipts or the work has run for half a second, is
//! redrawn at most ten times a second, and is erased when done, so pipes and CI logs never see
//! it.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use heso_core::receipt::report::group;

const BAR_WIDTH: usize = 20;
const LARGE_INPUT: usize = 2_000;
const SLOW_AFTER: Duration = Duration::from_millis(500);
const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// A progress bar on stderr.
#[derive(Debug)]
pub struct ProgressBar {
    enabled: bool,
    label: &'static str,
    unit: &'static str,
    started: Instant,
    last_drawn: Option<Instant>,
    last_done: Option<usize>,
}

impl ProgressBar {
    /// A bar that draws only when stderr is a terminal and `quiet` is off.
    pub fn for_terminal(label: &'static str, unit: &'static str, quiet: bool) -> Self {
        Self::new(label, unit, !quiet && std::io::stderr().is_terminal())
    }

    /// A bar that draws when `enabled`.
    pub fn new(label: &'static str, unit: &'static str, enabled: bool) -> Self {
        Self {
            enabled,
            label,
            unit,
            started: Instant::now(),
            last_drawn: None,
            last_done: None,
        }
    }

    /// Reports `done` of `total`.
    pub fn update(&mut self, done: usize, total: usize) {
        if !self.enabled || total == 0 || self.last_done == Some(done) {
            return;
        }
        let now = Instant::now();
        let due = total > LARGE_INPUT || now.duration_since(self.started) >= SLOW_AFTER;
        let recently = self
            .last_drawn
            .is_some_and(|at| now.duration_since(at) < REDRAW_EVERY);
        if !due || (recently && done < total) {
            return;
        }
        self.last_drawn = Some(now);
        self.last_done = Some(done);
        let line = render(self.label, self.unit, done, total);
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r{line}\u{1b}[K");
        let _ = stderr.flush();
    }

    /// Erases the bar, if it was drawn.
    pub fn finish(&mut self) {
        if self.last_drawn.take().is_some() {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\u{1b}[K");
            let _ = stderr.flush();
        }
    }
}

impl Drop for ProgressBar {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `verifying  52% [##########..........] 627/1,204 receipts`
fn render(label: &str, unit: &str, done: usize, total: usize) -> String {
    let done = done.min(total);
    let percent = done * 100 / total;
    let filled = done * BAR_WIDTH / total;
    let bar = format!("{}{}", "#".repeat(filled), ".".repeat(BAR_WIDTH - filled));
    format!(
        "{label}  {percent:>3}% [{bar}] {}/{} {unit}",
        group(done),
        group(total)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_documented_line() {
        assert_eq!(
            render("verifying", "receipts", 627, 1_204),
            "verifying   52% [##########..........] 627/1,204 receipts"
        );
        assert_eq!(
            render("verifying", "receipts", 5, 5),
            "verifying  100% [####################] 5/5 receipts"
        );
    }
}
