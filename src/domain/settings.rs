//! Settings in a `tool.toml` that parse but cannot work as written: an organization that does
//! not exist (every key would get 404), a secret `emulator.toml` does not define (the handler
//! would never see it). The tool still loads
//! (the platform would accept the file); each is a warning with the file, line and a hint,
//! shown where the user is looking: the terminal on start and reload, and `cortex-emu test`.

use crate::domain::app::App;
use crate::registry::Tool;

/// One warning per unworkable setting, worded `tool.toml:LINE: ...` with a hint line.
pub fn warnings(app: &App, tool: &Tool) -> Vec<String> {
    let text = std::fs::read_to_string(tool.folder.join("tool.toml")).unwrap_or_default();
    let line_of = |key: &str| {
        text.lines()
            .position(|l| {
                l.trim_start()
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .map(|i| i + 1)
            .unwrap_or(1)
    };
    let mut out = Vec::new();
    if app.store.org_by_slug(&tool.organization).is_none() {
        let known: Vec<String> = app
            .store
            .organizations()
            .into_iter()
            .map(|o| o.slug)
            .collect();
        out.push(format!(
            "tool.toml:{}: organization = {:?} is not an organization of this emulator, so every key gets 404 for this tool\n  hint: use one of {} (or add it under [[organizations]] in emulator.toml)",
            line_of("organization"),
            tool.organization,
            known.join(", ")
        ));
    }
    for name in &tool.secrets {
        if !app.config.secrets.contains_key(name) {
            let defined: Vec<&String> = app.config.secrets.keys().collect();
            out.push(format!(
                "tool.toml:{}: secret {name:?} is not defined in emulator.toml, so the handler never sees it\n  hint: add `{name} = {{ env = \"{name}\" }}` under [secrets]{}",
                line_of("secrets"),
                if defined.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (defined: {})",
                        defined
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ));
        }
    }
    out
}

/// Prints a tool's warnings on the terminal, as `warning in FOLDER/tool.toml:LINE: ...`.
pub fn announce(app: &App, tool: &Tool) {
    let label = crate::registry::folder_label(&tool.folder);
    for w in warnings(app, tool) {
        app.say(&format!("warning in {label}/{w}"));
    }
}
