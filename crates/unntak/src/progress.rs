//! Progress on long work (`seed`, `project --rebuild`, `verify`, `bench`, the demo), drawn
//! on stderr only when stderr is a terminal. Piped into a file, a test or a CI log, nothing
//! is drawn; stdout, where the results go, is never touched. Log lines pass above the bars
//! (`LogWriter`), so neither garbles the other.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::sync::LazyLock;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Every bar of the process, drawn together.
static BARS: LazyLock<MultiProgress> = LazyLock::new(|| MultiProgress::with_draw_target(target()));

fn target() -> ProgressDrawTarget {
    if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// A bar of `total` steps: what, how far, how long so far and about how long to go.
pub fn bar(total: u64, message: &str) -> ProgressBar {
    let bar = BARS.add(ProgressBar::new(total));
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {human_pos}/{human_len} ({elapsed}, about {eta} to go)",
        )
        .expect("a valid progress template")
        .progress_chars("=> "),
    );
    bar.set_message(message.to_string());
    bar
}

/// A bar over `duration` of measuring (a benchmark runs for a set time), ticking by itself.
pub fn timed(duration: Duration, message: &str) -> ProgressBar {
    let bar = BARS.add(ProgressBar::new(duration.as_secs().max(1)));
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} s")
            .expect("a valid progress template")
            .progress_chars("=> "),
    );
    bar.set_message(message.to_string());
    let ticking = bar.clone();
    tokio::spawn(async move {
        let mut second = tokio::time::interval(Duration::from_secs(1));
        second.tick().await;
        while !ticking.is_finished() {
            second.tick().await;
            ticking.inc(1);
        }
    });
    bar
}

/// Runs `work` under a spinner that says what is being done and for how long so far: for
/// work whose size is not known ahead.
pub async fn spinning<T>(message: &str, work: impl Future<Output = T>) -> T {
    let spinner = BARS.add(ProgressBar::no_length());
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .expect("a valid progress template"),
    );
    spinner.set_message(message.to_string());
    spinner.enable_steady_tick(Duration::from_millis(200));
    let done = work.await;
    spinner.finish_and_clear();
    done
}

/// Where log lines go: stderr, with the bars lifted out of the way while a line is written.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        BARS.suspend(|| std::io::stderr().write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
