//! What `serve` prints: the ready banner and one line per run with the handler's output under it.

use std::io::Write;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crate::store::{format_micros, Activation};

/// Terminal output waiting for the printer thread.
static PENDING: Mutex<String> = Mutex::new(String::new());
static WAITING: Condvar = Condvar::new();
/// How long a line may wait so that the lines of a burst go out in one write.
const BATCH: Duration = Duration::from_millis(5);

/// Queues `text` for stdout. A run's line is written by a printer thread, a few at a time
/// (issue 15: one write and flush per run on the request's task was 4 % of the server's CPU
/// under load); the first line of a burst wakes it, later ones cost a push. Every line goes
/// this way, so the order on the terminal is the order of the calls.
fn emit(text: String) {
    static PRINTER: std::sync::Once = std::sync::Once::new();
    PRINTER.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("terminal".into())
            .spawn(|| loop {
                {
                    let mut pending = PENDING.lock().unwrap();
                    while pending.is_empty() {
                        pending = WAITING.wait(pending).unwrap();
                    }
                }
                std::thread::sleep(BATCH);
                flush();
            });
    });
    let mut pending = PENDING.lock().unwrap();
    let was_empty = pending.is_empty();
    pending.push_str(&text);
    let backlog = pending.len();
    if was_empty {
        WAITING.notify_one();
    }
    drop(pending);
    // A terminal that stopped reading holds runs up again, as a direct write did, rather than
    // letting the backlog grow without bound.
    if backlog > MAX_BACKLOG {
        flush();
    }
}

/// Bytes of terminal output that may wait for the printer.
const MAX_BACKLOG: usize = 4 << 20;

/// Writes what is queued now (the printer does it within a few milliseconds; shutdown calls
/// it so nothing queued is lost).
pub fn flush() {
    // Taken under the stdout lock, so two flushes cannot write their parts out of order.
    let mut stdout = std::io::stdout().lock();
    let text = std::mem::take(&mut *PENDING.lock().unwrap());
    if !text.is_empty() {
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }
}

/// Colours only on a terminal, and never when `NO_COLOR` is set (no-color.org).
fn colours() -> bool {
    use std::io::IsTerminal;
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none())
}

fn paint(text: &str, code: &str) -> String {
    if colours() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// One line per run: time, tool@version, runtime, status code, duration, cost; then the output.
/// The tool is named by its id, as every CLI command names it; the time is the run's start on
/// the emulator's clock (the test clock when it is set), shown in local time.
pub fn run_line(a: &Activation) {
    let time = chrono::DateTime::parse_from_rfc3339(&a.started_at)
        .map(|t| t.with_timezone(&chrono::Local))
        .unwrap_or_else(|_| chrono::Local::now())
        .format("%H:%M:%S");
    let colour = match a.status_code {
        200..=299 if a.status == "success" => "32",
        400..=499 if a.status != "timeout" => "33",
        _ => "31",
    };
    let mut out = format!(
        "{} {}@{} {} {} {:.1} ms cost {}\n",
        paint(&time.to_string(), "2"),
        paint(&a.tool_id, "1"),
        a.version,
        a.runtime,
        paint(&format!("{} {}", a.status_code, a.status), colour),
        a.duration_ms,
        format_micros(a.cost_micros)
    );
    for line in a.logs.lines().take(50) {
        out.push_str("    ");
        out.push_str(&paint(line, "2"));
        out.push('\n');
    }
    emit(out);
}

/// One line per fold function run, in the tools' style: time, org/name@version, `fold`, the
/// response status (or `error` / `timeout`), duration; then the output.
pub fn fold_run_line(
    triggered_at: &str,
    label: &str,
    version: i64,
    outcome: &str,
    failed: bool,
    duration_ms: f64,
    logs: &str,
) {
    let time = chrono::DateTime::parse_from_rfc3339(triggered_at)
        .map(|t| t.with_timezone(&chrono::Local))
        .unwrap_or_else(|_| chrono::Local::now())
        .format("%H:%M:%S");
    let colour = if failed { "31" } else { "32" };
    let mut out = format!(
        "{} {}@{version} fold {} {duration_ms:.1} ms\n",
        paint(&time.to_string(), "2"),
        paint(label, "1"),
        paint(outcome, colour),
    );
    for line in logs.lines().take(50) {
        out.push_str("    ");
        out.push_str(&paint(line, "2"));
        out.push('\n');
    }
    emit(out);
}

/// `1 tool`, `2 tools`: a count with its noun.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// One line per reload (or reload problem).
pub fn reload_line(text: &str) {
    let time = chrono::Local::now().format("%H:%M:%S");
    emit(format!("{time} {text}\n"));
}
