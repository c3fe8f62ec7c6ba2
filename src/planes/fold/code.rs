//! What `POST /deploy` checks of a module before storing it: that it parses as an ES module
//! (Boa's parser, the engine functions run on) and has a default export. Nothing is run here.
//!
//! The parser recurses per nesting level, so a hostile module could overflow the stack of the
//! server: nesting is bounded first by a cheap bracket count, and parsing runs on a thread of
//! its own with a large stack.

use boa_engine::interner::Interner;
use boa_engine::parser::Parser;
use boa_engine::Source;
use serde_json::{json, Value};

/// Deepest bracket nesting accepted (**choice**; real modules stay far below it).
const MAX_NESTING: usize = 1000;
const PARSER_STACK: usize = 64 * 1024 * 1024;

/// `Err(details)` for `CODE_INVALID`: the parser's message and, when it names one, the line
/// and column.
pub(crate) fn check(code: &str) -> Result<(), Value> {
    if nesting(code) > MAX_NESTING {
        return Err(
            json!({"message": format!("the module nests brackets deeper than {MAX_NESTING} levels")}),
        );
    }
    let source = code.to_string();
    let parsed = std::thread::Builder::new()
        .name("fold-parse".into())
        .stack_size(PARSER_STACK)
        .spawn(move || parse(&source))
        .map_err(|e| json!({"message": format!("the parser could not start: {e}")}))?
        .join()
        .unwrap_or_else(|_| Err("the parser failed on this module".into()));
    match parsed {
        Ok(true) => Ok(()),
        Ok(false) => Err(json!({
            "message": "the module has no default export: write export default { async fetch(request, env, ctx) { ... } }"
        })),
        Err(message) => Err(located(&message, code)),
    }
}

/// Whether the module parses and exports `default`; `Err` is the parser's message.
fn parse(code: &str) -> Result<bool, String> {
    let mut interner = Interner::default();
    let scope = boa_engine::ast::scope::Scope::new_global();
    let module = Parser::new(Source::from_bytes(code.as_bytes()))
        .parse_module(&scope, &mut interner)
        .map_err(|e| e.to_string())?;
    Ok(module
        .items()
        .exported_names()
        .into_iter()
        .any(|sym| interner.resolve_expect(sym).to_string() == "default"))
}

/// The message with `line` and `column` pulled out of Boa's `at line L, col C`; Boa's
/// `abrupt end` names no place, and means the end of the module.
fn located(message: &str, code: &str) -> Value {
    if message == "abrupt end" {
        let line = code.lines().count().max(1);
        let column = code.lines().last().map_or(0, |l| l.chars().count()) + 1;
        return json!({"message": "unexpected end of the module", "line": line, "column": column});
    }
    let re = regex::Regex::new(r"at line (\d+), col (\d+)").expect("static pattern");
    match re.captures(message) {
        Some(c) => json!({
            "message": message,
            "line": c[1].parse::<u64>().unwrap_or(0),
            "column": c[2].parse::<u64>().unwrap_or(0),
        }),
        None => json!({"message": message}),
    }
}

/// The deepest nesting of `(`, `[` and `{` (strings and comments counted too: an overestimate
/// only refuses sooner).
fn nesting(code: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for b in code.bytes() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_module_passes() {
        assert!(check(
            "export default { async fetch(request, env, ctx) { return new Response('hi'); } };"
        )
        .is_ok());
        assert!(check("const h = { fetch() {} };\nexport { h as default };").is_ok());
    }

    #[test]
    fn no_default_export_and_syntax_errors_are_refused_with_a_line() {
        let e = check("export const x = 1;").unwrap_err();
        assert!(
            e["message"].as_str().unwrap().contains("no default export"),
            "{e}"
        );
        let e = check("export default {\n  fetch( {\n};").unwrap_err();
        assert!(e["line"].as_u64().unwrap() >= 2, "{e}");
        let e = check("export default {\n  a: 1,").unwrap_err();
        assert_eq!(
            e,
            json!({"message": "unexpected end of the module", "line": 2, "column": 8})
        );
        assert!(check(&"(".repeat(5000)).unwrap_err()["message"]
            .as_str()
            .unwrap()
            .contains("deeper"));
    }
}
