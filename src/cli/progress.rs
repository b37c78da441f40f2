//! Progress of an apply while it runs: every 10 s, a line for each change still in flight
//! (Terraform's `services "a": Still creating... [10s elapsed]`, on stdout, terminal or
//! not), and, on a terminal, a live count on stderr (`Applying 12/40 changes [00:05]`,
//! drawn with `indicatif`). Every byte of the bar passes through the scrubber; other output
//! is written with the bar out of the way ([`hidden`]).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use tokio::time::Instant;

/// How often a change still in flight is reported.
pub const REPORT_EVERY: Duration = Duration::from_secs(10);

/// The bar drawn now, if any.
fn active() -> &'static Mutex<Option<ProgressBar>> {
    static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);
    &ACTIVE
}

/// Runs `f` (which writes to stdout or stderr) with the bar, if one is drawn, cleared first
/// and drawn again after.
pub fn hidden<R>(f: impl FnOnce() -> R) -> R {
    let bar = active().lock().ok().and_then(|b| b.clone());
    match bar {
        Some(bar) => bar.suspend(f),
        None => f(),
    }
}

/// One change in flight.
struct InFlight {
    /// `services "a"`.
    address: String,
    /// `creating`, `modifying`, `destroying`.
    verb: &'static str,
    started: Instant,
    /// Whole multiples of [`REPORT_EVERY`] already reported.
    reported: u32,
}

/// Where "still ..." lines go.
pub type Sink = Arc<dyn Fn(&str) + Send + Sync>;

struct State {
    in_flight: BTreeMap<usize, InFlight>,
    bar: Option<ProgressBar>,
    sink: Sink,
}

/// The progress of one apply; stops when dropped.
pub struct Progress {
    state: Arc<Mutex<State>>,
    ticker: tokio::task::JoinHandle<()>,
}

impl Progress {
    /// Starts reporting an apply of `total` steps: lines go to `sink`; a live count is drawn
    /// on stderr when `bar` and stderr is a terminal. Needs a tokio runtime.
    pub fn start(total: usize, sink: Sink, bar: bool) -> Progress {
        let bar = (bar && std::io::stderr().is_terminal()).then(|| live_count(total));
        if let (Some(b), Ok(mut a)) = (&bar, active().lock()) {
            *a = Some(b.clone());
        }
        let state = Arc::new(Mutex::new(State { in_flight: BTreeMap::new(), bar, sink }));
        let ticker = tokio::spawn(tick(state.clone()));
        Progress { state, ticker }
    }

    /// Step `step` (`address`, `verb` as Terraform says it: `creating`) was sent.
    pub fn started(&self, step: usize, address: String, verb: &'static str) {
        if let Ok(mut s) = self.state.lock() {
            s.in_flight.insert(step, InFlight { address, verb, started: Instant::now(), reported: 0 });
            refresh(&s);
        }
    }

    /// Step `step` ended (applied or failed).
    pub fn finished(&self, step: usize) {
        if let Ok(mut s) = self.state.lock() {
            s.in_flight.remove(&step);
            if let Some(b) = &s.bar {
                b.inc(1);
            }
            refresh(&s);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.ticker.abort();
        if let Ok(mut a) = active().lock() {
            *a = None;
        }
        if let Ok(s) = self.state.lock()
            && let Some(b) = &s.bar
        {
            b.finish_and_clear();
        }
    }
}

/// Every second: a line for each change in flight that passed another [`REPORT_EVERY`].
async fn tick(state: Arc<Mutex<State>>) {
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let (lines, sink) = {
            let Ok(mut s) = state.lock() else { return };
            let now = Instant::now();
            let mut lines = Vec::new();
            for f in s.in_flight.values_mut() {
                let periods = (now.duration_since(f.started).as_secs() / REPORT_EVERY.as_secs()) as u32;
                if periods > f.reported {
                    f.reported = periods;
                    let elapsed = u64::from(periods) * REPORT_EVERY.as_secs();
                    lines.push(crate::render::apply::still(&f.address, f.verb, elapsed));
                }
            }
            (lines, s.sink.clone())
        };
        for line in lines {
            sink(&line);
        }
    }
}

/// The bar's message: the oldest change in flight.
fn refresh(s: &State) {
    if let Some(b) = &s.bar {
        let oldest = s.in_flight.values().min_by_key(|f| f.started).map(|f| f.address.clone()).unwrap_or_default();
        b.set_message(oldest);
    }
}

fn live_count(total: usize) -> ProgressBar {
    let target = ProgressDrawTarget::term_like(Box::new(ScrubbedStderr(console_width())));
    let bar = ProgressBar::with_draw_target(Some(total as u64), target);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} Applying {pos}/{len} changes [{elapsed_precise}] {wide_msg}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

/// The terminal's width, from `COLUMNS`, else 80.
fn console_width() -> u16 {
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).filter(|w| *w > 20).unwrap_or(80)
}

/// stderr as indicatif draws on it, every string scrubbed first.
#[derive(Debug)]
struct ScrubbedStderr(u16);

impl ScrubbedStderr {
    fn put(&self, s: &str) -> std::io::Result<()> {
        use std::io::Write;
        std::io::stderr().lock().write_all(super::output::scrub(s).as_bytes())
    }
}

impl TermLike for ScrubbedStderr {
    fn width(&self) -> u16 {
        self.0
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        if n > 0 { self.put(&format!("\u{1b}[{n}A")) } else { Ok(()) }
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        if n > 0 { self.put(&format!("\u{1b}[{n}B")) } else { Ok(()) }
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        if n > 0 { self.put(&format!("\u{1b}[{n}C")) } else { Ok(()) }
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        if n > 0 { self.put(&format!("\u{1b}[{n}D")) } else { Ok(()) }
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.put(&format!("{s}\n"))
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.put(s)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.put("\r\u{1b}[2K")
    }

    fn flush(&self) -> std::io::Result<()> {
        use std::io::Write;
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collecting() -> (Sink, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l = lines.clone();
        (Arc::new(move |s: &str| l.lock().unwrap().push(s.to_owned())), lines)
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_in_flight_is_reported_every_ten_seconds_until_it_ends() {
        let (sink, lines) = collecting();
        let p = Progress::start(2, sink, false);
        p.started(0, "services \"slow\"".into(), "creating");
        p.started(1, "routes \"quick\"".into(), "creating");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        p.finished(1);
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(
            *lines.lock().unwrap(),
            [
                "services \"slow\": Still creating... [10s elapsed]",
                "services \"slow\": Still creating... [20s elapsed]"
            ]
        );
        p.finished(0);
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(lines.lock().unwrap().len(), 2, "nothing once every change ended");
    }
}
