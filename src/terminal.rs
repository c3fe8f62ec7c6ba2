//! What `serve` prints: the ready banner and one line per run with the handler's output under it.

use std::io::Write;

use crate::store::{format_micros, Activation};

/// One line per run: time, tool@version, runtime, status code, duration, cost; then the output.
pub fn run_line(a: &Activation, tool_name: &str) {
    let time = chrono::Local::now().format("%H:%M:%S");
    let mut out = format!(
        "{time} {tool_name}@{} {} {} {} {:.1} ms cost {}\n",
        a.version,
        a.runtime,
        a.status_code,
        a.status,
        a.duration_ms,
        format_micros(a.cost_micros)
    );
    for line in a.logs.lines().take(50) {
        out.push_str("    ");
        out.push_str(line);
        out.push('\n');
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

/// One line per reload (or reload problem).
pub fn reload_line(text: &str) {
    let time = chrono::Local::now().format("%H:%M:%S");
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{time} {text}");
    let _ = stdout.flush();
}
