//! V8's wording for the errors Boa raises.
//!
//! The platform runs JavaScript handlers on V8 and reports an uncaught error's `name` and
//! `message` verbatim (PLATFORM.md §2.3); users assert on that text. The emulator runs handlers on
//! Boa 0.22, which words the same mistakes differently and often leaves out what V8 prints (the
//! property name, the callee, the JSON text). The V8 wording here is Node 20's (V8 11.3), the Node
//! on the development machine; Node 22 appends ` (line L column C)` to the JSON messages that end
//! in `in JSON at position N`.
//!
//! - [`to_v8`] works from Boa's message alone.
//! - [`to_v8_in`] also reads the handler's source at the error's position (from the backtrace, see
//!   [`error_position`]; syntax errors carry their own) to recover what Boa's message leaves out.
//!   It only uses what it reads when the reading cannot be another error's, and otherwise falls back
//!   to [`to_v8`]'s answer. The positions it relies on are Boa 0.22's source map: a property read
//!   `a.b` is reported at `b`, a call `f(x)` at its `(`, `new F()` at `new`, an assignment at the
//!   start of its target; reads with no position of their own (the callee of a call, optional
//!   chains) take the enclosing one, which is why those shapes are refused.
//! - [`json_parse_error`] gives V8's exact `JSON.parse` message for a text, for a host-side
//!   `JSON.parse` wrapper: Boa's own message is serde_json's and does not contain the input.
//!
//! [`TABLE`] lists the rewrites, for the README's fidelity notes.
#![allow(dead_code)] // the host wires these in one at a time

use std::sync::LazyLock;

use regex::Regex;

/// (kind, Boa 0.22's message, V8's message). `{x}` marks a part taken from the message; a note
/// after ` — ` says what Boa's message lacks and what is printed instead.
pub(crate) const TABLE: &[(&str, &str, &str)] = &[
    (
        "TypeError",
        "cannot convert 'null' or 'undefined' to object",
        "Cannot read properties of undefined (reading 'y') | Cannot set properties of undefined (setting 'y') | Cannot convert undefined or null to object — Boa says neither null nor undefined, nor read, write or builtin (`Object.keys(null)`), nor the property, and says the same for `for (x of undefined)` (V8: `u is not iterable`). `to_v8`: `Cannot read properties of undefined`; `to_v8_in` reads the property, read or write, and `Object.*(…)` calls from the source. null is always reported as undefined",
    ),
    (
        "TypeError",
        "cannot convert null or undefined to Object",
        "Cannot convert undefined or null to object — V8 names the method for `String.prototype.*` on null (`String.prototype.trim called on null or undefined`)",
    ),
    (
        "TypeError",
        "not a callable function",
        "x is not a function | obj.f is not a function | a.b(...).c is not a function — Boa omits the callee: `(intermediate value) is not a function` (V8's own word for an unprintable callee); `to_v8_in` rebuilds it from the source",
    ),
    (
        "TypeError",
        "not a constructor",
        "x is not a constructor — Boa omits the callee: `(intermediate value) is not a constructor`; `to_v8_in` reads it after `new`",
    ),
    (
        "TypeError",
        "cannot mutate an immutable binding '{x}'",
        "Assignment to constant variable.",
    ),
    (
        "TypeError",
        "cannot mix BigInt and other types, use explicit conversions",
        "Cannot mix BigInt and other types, use explicit conversions",
    ),
    (
        "TypeError",
        "value with type `{type}` is not iterable",
        "{type} is not iterable (cannot read property Symbol(Symbol.iterator)) — V8 prints the expression in for-of, spread and destructuring (`event.items is not iterable`) and the value for primitives (`number 5 is not iterable …`); Boa has only the type",
    ),
    (
        "TypeError",
        "Cannot destructure 'undefined' value",
        "Cannot destructure 'undefined' as it is undefined. — V8 names the property and the source when there is one (`Cannot destructure property 'a' of 'u' as it is undefined.`); Boa has neither",
    ),
    (
        "TypeError",
        "Cannot destructure 'null' value",
        "Cannot destructure 'null' as it is null. — as above",
    ),
    (
        "TypeError",
        "can't convert symbol to string",
        "Cannot convert a Symbol value to a string",
    ),
    (
        "TypeError",
        "argument must not be a symbol",
        "Cannot convert a Symbol value to a number",
    ),
    (
        "TypeError",
        "argument must not be a bigint",
        "Cannot convert a BigInt value to a number",
    ),
    (
        "TypeError",
        "cannot convert object to primitive value",
        "Cannot convert object to primitive value",
    ),
    (
        "TypeError",
        "right-hand side of 'instanceof' should be an object, got `{type}`",
        "Right-hand side of 'instanceof' is not an object",
    ),
    (
        "TypeError",
        "right-hand side of 'instanceof' is not callable",
        "Right-hand side of 'instanceof' is not callable",
    ),
    (
        "TypeError",
        "cannot set non-writable property: {p}",
        "Cannot assign to read only property '{p}' of object '#<Object>' — Boa omits the object; `#<Object>` is V8's text for a plain object (for an array it is `[object Array]`)",
    ),
    (
        "TypeError",
        "cannot redefine property: {p}",
        "Cannot redefine property: {p}",
    ),
    (
        "TypeError",
        "cyclic object value",
        "Converting circular structure to JSON — V8 goes on with lines naming the constructor and the property that closes the circle",
    ),
    (
        "TypeError",
        "cannot serialize bigint to JSON",
        "Do not know how to serialize a BigInt",
    ),
    (
        "TypeError",
        "Array.prototype.reduce: called on an empty array and with no initial value",
        "Reduce of empty array with no initial value (also for reduceRight)",
    ),
    (
        "TypeError",
        "class constructor cannot be invoked without 'new'",
        "Class constructor A cannot be invoked without 'new' — Boa omits the class name: `Class constructor cannot be invoked without 'new'`",
    ),
    (
        "TypeError",
        "cannot convert {null|undefined} to a BigInt",
        "Cannot convert {null|undefined} to a BigInt",
    ),
    (
        "ReferenceError",
        "{x} is not defined",
        "{x} is not defined — same text; Boa also says it when a let/const/class is read before its declaration ran, where V8 says `Cannot access 'x' before initialization`",
    ),
    (
        "ReferenceError",
        "access of uninitialized binding",
        "Cannot access 'x' before initialization — Boa omits the name: `Cannot access variable before initialization`",
    ),
    (
        "ReferenceError",
        "cannot assign to uninitialized binding `{x}`",
        "Cannot access '{x}' before initialization",
    ),
    (
        "ReferenceError",
        "cannot assign to uninitialized global property `{x}`",
        "{x} is not defined (strict-mode assignment to an undeclared name)",
    ),
    (
        "RangeError",
        "reached the maximum number of recursive calls on this execution",
        "Maximum call stack size exceeded — also for `reached the maximum stack size on this execution`. Boa raises both as an engine error (RuntimeLimitError) that JavaScript cannot catch, so a handler's try/catch does not see it as it would on V8",
    ),
    (
        "RangeError",
        "invalid array length",
        "Invalid array length (also for `bad length for array` and `array exceeded max size`)",
    ),
    (
        "RangeError",
        "toFixed() digits argument must be between 0 and 100",
        "toFixed() digits argument must be between 0 and 100 — already V8's text (as is toExponential's)",
    ),
    (
        "RangeError",
        "precision must be an integer at least 1 and no greater than 100",
        "toPrecision() argument must be between 1 and 100",
    ),
    (
        "RangeError",
        "radix must be an integer at least 2 and no greater than 36",
        "toString() radix argument must be between 2 and 36",
    ),
    ("RangeError", "BigInt division by zero", "Division by zero"),
    (
        "RangeError",
        "cannot convert {n} to a BigInt",
        "The number {n} cannot be converted to a BigInt because it is not an integer",
    ),
    (
        "RangeError",
        "String.prototype.repeat: count must be non-negative",
        "Invalid count value: -1 — Boa omits the count: `Invalid count value`",
    ),
    (
        "RangeError",
        "String.prototype.repeat: count must be less than infinity",
        "Invalid count value: Infinity",
    ),
    (
        "RangeError",
        "cannot create a string longer than the maximum allowed length ({n})",
        "Invalid string length",
    ),
    (
        "SyntaxError",
        "EOF while parsing a value at line 1 column 0",
        "Unexpected end of JSON input (JSON.parse; Boa's JSON.parse messages are serde_json's, also for `EOF while parsing a list/an object`, where V8 may name the missing token instead)",
    ),
    (
        "SyntaxError",
        "expected value at line 1 column 1",
        "Unexpected token 'a', \"abc\" is not valid JSON — Boa has neither the token nor the text: `Unexpected token in JSON at position 0`; `json_parse_error` gives the exact text. Positions are only known for one-line input",
    ),
    (
        "SyntaxError",
        "trailing characters at line 1 column 3",
        "Unexpected non-whitespace character after JSON at position 2",
    ),
    (
        "SyntaxError",
        "key must be a string at line 1 column 2",
        "Expected property name or '}' in JSON at position 1",
    ),
    (
        "SyntaxError",
        "expected `:` at line 1 column 6",
        "Expected ':' after property name in JSON at position 5",
    ),
    (
        "SyntaxError",
        "expected `,` or `]` at line 1 column 4",
        "Expected ',' or ']' after array element in JSON at position 3",
    ),
    (
        "SyntaxError",
        "expected `,` or `}` at line 1 column 8",
        "Expected ',' or '}' after property value in JSON at position 7",
    ),
    (
        "SyntaxError",
        "trailing comma at line 1 column 8",
        "Expected double-quoted property name in JSON at position 7 — V8's text for `{\"a\":1,}`; for `[1,]` V8 says `Unexpected token ']', \"[1,]\" is not valid JSON`, which Boa's message cannot tell apart",
    ),
    (
        "SyntaxError",
        "EOF while parsing a string at line 1 column 4",
        "Unterminated string in JSON at position 4",
    ),
    (
        "SyntaxError",
        "control character (\\u0000-\\u001F) found while parsing a string at line 1 column 3",
        "Bad control character in string literal in JSON at position 2",
    ),
    (
        "SyntaxError",
        "invalid escape at line 1 column 3",
        "Bad escaped character in JSON at position 2",
    ),
    (
        "SyntaxError",
        "recursion limit exceeded at line 1 column 129",
        "(unchanged) — serde_json refuses JSON nested deeper than 128 levels; V8 parses it",
    ),
    ("SyntaxError", "abrupt end", "Unexpected end of input"),
    (
        "SyntaxError",
        "expected token ';', got '{tok}' in {context} at line {l}, col {c}",
        "Unexpected identifier '{tok}' | Unexpected token '{tok}' | Unexpected number | Unexpected string | Unexpected template string | Unexpected end of input — by the kind of token; Boa prints a string literal's content without its quotes, so `to_v8` takes an identifier-shaped one for an identifier and `to_v8_in` looks at the source",
    ),
    (
        "SyntaxError",
        "unexpected token '{tok}', {context} at line {l}, col {c}",
        "as above",
    ),
    (
        "SyntaxError",
        "expected one of ',' or ')', got '{tok}' in argument list at line {l}, col {c}",
        "missing ) after argument list",
    ),
    (
        "SyntaxError",
        "unexpected token 'return', statement at line {l}, col {c}",
        "Illegal return statement",
    ),
    (
        "SyntaxError",
        "unterminated string literal",
        "Invalid or unexpected token (also for a bad character, `unexpected '@' at …`, and malformed numbers)",
    ),
    (
        "SyntaxError",
        "unterminated template literal",
        "Unexpected end of input",
    ),
    (
        "SyntaxError",
        "abrupt end on regular expression at line {l}, col {c}",
        "Invalid regular expression: missing /",
    ),
    (
        "SyntaxError",
        "lexical name declared multiple times at line {l}, col {c}",
        "Identifier 'x' has already been declared — Boa omits the name (it has it only in modules: ``lexical name `x` declared multiple times``): `Identifier has already been declared`",
    ),
    (
        "SyntaxError",
        "Expected initializer for const declaration at line {l}, col {c}",
        "Missing initializer in const declaration",
    ),
    (
        "SyntaxError",
        "Invalid left-hand side in assignment at line {l}, col {c}",
        "Invalid left-hand side in assignment",
    ),
    (
        "SyntaxError",
        "illegal break statement at line 1, col 1",
        "Illegal break statement (`illegal continue statement`: `Illegal continue statement: no surrounding iteration statement`)",
    ),
    (
        "SyntaxError",
        "undefined break target: {label} at line 1, col 1",
        "Undefined label '{label}' (also `undefined continue target`; `duplicate label: x` is `Label 'x' has already been declared`)",
    ),
    (
        "SyntaxError",
        "more than one switch default at line {l}, col {c}",
        "More than one default clause in switch statement",
    ),
];

/// Rewrites a Boa error message into V8's wording for the same error, when the message is one of
/// the common ones; otherwise returns it unchanged. `kind` is the error type name ("TypeError",
/// "ReferenceError", "RangeError", "SyntaxError").
pub(crate) fn to_v8(kind: &str, message: &str) -> String {
    translate(kind, message, None)
}

/// [`to_v8`], reading `source` (the handler's file) where the error was raised to recover what
/// Boa's message leaves out. `at` is the 1-based (line, column) of the innermost frame in that file
/// ([`error_position`]); syntax errors carry their position in the message and ignore it.
pub(crate) fn to_v8_in(
    kind: &str,
    message: &str,
    source: &str,
    at: Option<(usize, usize)>,
) -> String {
    translate(kind, message, Some(Place { source, at }))
}

/// The 1-based (line, column) of the innermost JavaScript frame of an error's display text
/// (`JsError`'s `Display`, whose frames read `    at name (file:line:column)`, innermost first),
/// when that frame is in `file`. Native frames are skipped; an innermost frame elsewhere or without
/// a position gives `None` rather than an outer frame's position.
pub(crate) fn error_position(trace: &str, file: &str) -> Option<(usize, usize)> {
    static FRAME: LazyLock<Regex> =
        LazyLock::new(|| re(r"^\s*at .*\((?P<path>.*):(?P<line>\d+|\?):(?P<col>\d+|\?)\)\s*$"));
    for line in trace.lines() {
        if !line.trim_start().starts_with("at ") || line.contains("(native") {
            continue;
        }
        let c = FRAME.captures(line)?;
        if &c["path"] != file {
            return None;
        }
        return Some((c["line"].parse().ok()?, c["col"].parse().ok()?));
    }
    None
}

/// V8's (Node 20) message for `JSON.parse(text)`, or `None` when V8 accepts the text.
pub(crate) fn json_parse_error(text: &str) -> Option<String> {
    let units: Vec<u16> = text.encode_utf16().collect();
    scan_json(&units).err().map(|fault| fault.message(&units))
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid pattern")
}

/// V8's word for an expression it cannot print.
const UNKNOWN: &str = "(intermediate value)";

#[derive(Clone, Copy)]
struct Place<'a> {
    source: &'a str,
    at: Option<(usize, usize)>,
}

fn translate(kind: &str, message: &str, place: Option<Place<'_>>) -> String {
    // Boa's runtime limits are engine errors whatever the caller names them.
    if message.contains("reached the maximum number of recursive calls")
        || message.contains("reached the maximum stack size")
    {
        return "Maximum call stack size exceeded".to_string();
    }
    let v8 = match kind {
        "TypeError" => type_error(message, place),
        "ReferenceError" => reference_error(message),
        "RangeError" => range_error(message),
        "SyntaxError" => syntax_error(message, place.map(|p| p.source)),
        _ => None,
    };
    v8.unwrap_or_else(|| message.to_string())
}

// ---------------------------------------------------------------------------------------------
// TypeError, ReferenceError, RangeError

fn type_error(message: &str, place: Option<Place<'_>>) -> Option<String> {
    static IMMUTABLE: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?s)^cannot mutate an immutable binding '.+'$"));
    static NOT_ITERABLE: LazyLock<Regex> =
        LazyLock::new(|| re(r"^value with type `(\w+)` is not iterable$"));
    static INSTANCEOF: LazyLock<Regex> =
        LazyLock::new(|| re(r"^right-hand side of 'instanceof' should be an object, got `\w+`$"));
    static READ_ONLY: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?s)^cannot set non-writable property: (.+)$"));
    static REDEFINE: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?s)^cannot redefine property: (.+)$"));
    static TO_BIGINT: LazyLock<Regex> =
        LazyLock::new(|| re(r"^cannot convert (null|undefined) to a BigInt$"));

    match message {
        "cannot convert 'null' or 'undefined' to object" => {
            return Some(
                place
                    .and_then(nullish_at)
                    .or_else(|| place.and_then(sole_method_call))
                    .unwrap_or_else(|| "Cannot read properties of undefined".to_string()),
            );
        }
        "not a callable function" => {
            let callee = place
                .and_then(callee_at)
                .unwrap_or_else(|| UNKNOWN.to_string());
            return Some(format!("{callee} is not a function"));
        }
        "not a constructor" => {
            let callee = place
                .and_then(constructed_at)
                .unwrap_or_else(|| UNKNOWN.to_string());
            return Some(format!("{callee} is not a constructor"));
        }
        _ => {}
    }
    let fixed = match message {
        "cannot convert null or undefined to Object" => {
            Some("Cannot convert undefined or null to object")
        }
        "cannot mix BigInt and other types, use explicit conversions" => {
            Some("Cannot mix BigInt and other types, use explicit conversions")
        }
        "Cannot destructure 'undefined' value" => {
            Some("Cannot destructure 'undefined' as it is undefined.")
        }
        "Cannot destructure 'null' value" => Some("Cannot destructure 'null' as it is null."),
        "can't convert symbol to string" => Some("Cannot convert a Symbol value to a string"),
        "argument must not be a symbol" => Some("Cannot convert a Symbol value to a number"),
        "argument must not be a bigint" => Some("Cannot convert a BigInt value to a number"),
        "cannot convert object to primitive value" => {
            Some("Cannot convert object to primitive value")
        }
        "right-hand side of 'instanceof' is not callable" => {
            Some("Right-hand side of 'instanceof' is not callable")
        }
        "cyclic object value" => Some("Converting circular structure to JSON"),
        "cannot serialize bigint to JSON" => Some("Do not know how to serialize a BigInt"),
        "Array.prototype.reduce: called on an empty array and with no initial value"
        | "Array.prototype.reduceRight: called on an empty array and with no initial value" => {
            Some("Reduce of empty array with no initial value")
        }
        "class constructor cannot be invoked without 'new'" => {
            Some("Class constructor cannot be invoked without 'new'")
        }
        _ => None,
    };
    if let Some(v8) = fixed {
        return Some(v8.to_string());
    }
    if IMMUTABLE.is_match(message) {
        return Some("Assignment to constant variable.".to_string());
    }
    if let Some(c) = NOT_ITERABLE.captures(message) {
        return Some(format!(
            "{} is not iterable (cannot read property Symbol(Symbol.iterator))",
            &c[1]
        ));
    }
    if INSTANCEOF.is_match(message) {
        return Some("Right-hand side of 'instanceof' is not an object".to_string());
    }
    if let Some(c) = READ_ONLY.captures(message) {
        return Some(format!(
            "Cannot assign to read only property '{}' of object '#<Object>'",
            &c[1]
        ));
    }
    if let Some(c) = REDEFINE.captures(message) {
        return Some(format!("Cannot redefine property: {}", &c[1]));
    }
    if let Some(c) = TO_BIGINT.captures(message) {
        return Some(format!("Cannot convert {} to a BigInt", &c[1]));
    }
    None
}

fn reference_error(message: &str) -> Option<String> {
    static ASSIGN_TDZ: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?s)^cannot assign to uninitialized binding `(.+)`$"));
    static ASSIGN_UNDECLARED: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?s)^cannot assign to uninitialized (?:global )?property `(.+)`$"));
    if message == "access of uninitialized binding" {
        return Some("Cannot access variable before initialization".to_string());
    }
    if let Some(c) = ASSIGN_TDZ.captures(message) {
        return Some(format!("Cannot access '{}' before initialization", &c[1]));
    }
    if let Some(c) = ASSIGN_UNDECLARED.captures(message) {
        return Some(format!("{} is not defined", &c[1]));
    }
    None
}

fn range_error(message: &str) -> Option<String> {
    static TO_BIGINT: LazyLock<Regex> = LazyLock::new(|| re(r"^cannot convert (\S+) to a BigInt$"));
    let fixed = match message {
        "invalid array length" | "bad length for array" | "array exceeded max size" => {
            Some("Invalid array length")
        }
        "precision must be an integer at least 1 and no greater than 100" => {
            Some("toPrecision() argument must be between 1 and 100")
        }
        "radix must be an integer at least 2 and no greater than 36" => {
            Some("toString() radix argument must be between 2 and 36")
        }
        "BigInt division by zero" => Some("Division by zero"),
        "String.prototype.repeat: count must be non-negative" => Some("Invalid count value"),
        "String.prototype.repeat: count must be less than infinity" => {
            Some("Invalid count value: Infinity")
        }
        _ => None,
    };
    if let Some(v8) = fixed {
        return Some(v8.to_string());
    }
    if message.starts_with("cannot create a string longer than the maximum allowed length") {
        return Some("Invalid string length".to_string());
    }
    if let Some(c) = TO_BIGINT.captures(message) {
        // Boa prints the number with Rust's formatting.
        let number = match &c[1] {
            "inf" => "Infinity",
            "-inf" => "-Infinity",
            other => other,
        };
        return Some(format!(
            "The number {number} cannot be converted to a BigInt because it is not an integer"
        ));
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Reading the source at an error's position

/// The source split into lines the way Boa counts them (`\n`, `\r\n`, `\r`, U+2028, U+2029), as
/// code points: Boa's columns count code points from 1.
fn split_lines(source: &str) -> Vec<Vec<char>> {
    let mut lines = vec![Vec::new()];
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(Vec::new());
            }
            '\n' | '\u{2028}' | '\u{2029}' => lines.push(Vec::new()),
            _ => {
                if let Some(line) = lines.last_mut() {
                    line.push(c);
                }
            }
        }
    }
    lines
}

/// A position in the source: `lines[line][col]` exists.
struct Spot {
    lines: Vec<Vec<char>>,
    line: usize,
    col: usize,
}

impl Spot {
    fn new(source: &str, at: (usize, usize)) -> Option<Spot> {
        let lines = split_lines(source);
        let line = at.0.checked_sub(1)?;
        let col = at.1.checked_sub(1)?;
        lines.get(line)?.get(col)?;
        Some(Spot { lines, line, col })
    }

    fn text(&self) -> &[char] {
        &self.lines[self.line]
    }

    /// The last non-space character before `end` on this line, or else at the end of the nearest
    /// earlier line that has one.
    fn char_before(&self, end: usize) -> Option<char> {
        let t = self.text();
        let j = skip_back(t, end);
        if j > 0 {
            return Some(t[j - 1]);
        }
        self.lines[..self.line].iter().rev().find_map(|l| {
            let j = skip_back(l, l.len());
            (j > 0).then(|| l[j - 1])
        })
    }
}

fn is_id_start(c: char) -> bool {
    c == '$' || c == '_' || c.is_alphabetic()
}

fn is_id_part(c: char) -> bool {
    is_id_start(c) || c.is_alphanumeric() || c == '\u{200c}' || c == '\u{200d}'
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_id_start) && chars.all(is_id_part)
}

/// The first non-space index at or after `i`.
fn skip_fwd(t: &[char], mut i: usize) -> usize {
    while i < t.len() && t[i].is_whitespace() {
        i += 1;
    }
    i
}

/// The index just past the last non-space character before `i` (0 if there is none).
fn skip_back(t: &[char], mut i: usize) -> usize {
    while i > 0 && t[i - 1].is_whitespace() {
        i -= 1;
    }
    i
}

/// The end of the identifier starting at `i` (`i` itself if none starts there).
fn ident_end(t: &[char], i: usize) -> usize {
    let mut j = i;
    if j < t.len() && is_id_start(t[j]) {
        j += 1;
        while j < t.len() && is_id_part(t[j]) {
            j += 1;
        }
    }
    j
}

fn text_of(t: &[char], from: usize, to: usize) -> String {
    t[from..to].iter().collect()
}

/// A string literal without escapes starting at `t[i]`: its content and the index after it.
fn string_literal(t: &[char], i: usize) -> Option<(String, usize)> {
    let quote = *t.get(i)?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let mut j = i + 1;
    while let Some(&c) = t.get(j) {
        if c == quote {
            return Some((text_of(t, i + 1, j), j + 1));
        }
        if c == '\\' {
            return None;
        }
        j += 1;
    }
    None
}

/// An integer literal (`0`, `12`, `-1`) starting at `t[i]`: its text and the index after it.
fn integer_literal(t: &[char], i: usize) -> Option<(String, usize)> {
    let mut j = i;
    if t.get(j) == Some(&'-') {
        j += 1;
    }
    let digits = j;
    while j < t.len() && t[j].is_ascii_digit() {
        j += 1;
    }
    let count = j - digits;
    if count == 0 || (count > 1 && t[digits] == '0') {
        return None;
    }
    if t.get(j).is_some_and(|&c| c == '.' || is_id_part(c)) {
        return None;
    }
    Some((text_of(t, i, j), j))
}

/// A computed member's key.
enum Key {
    /// `['x']`: V8 prints `.x`.
    Str(String),
    /// `[0]`
    Int(String),
    /// `[k]`, `[true]`
    Name(String),
}

impl Key {
    /// The property name V8 prints in `(reading '…')`, when the source gives it.
    fn property(&self) -> Option<String> {
        match self {
            Key::Str(s) | Key::Int(s) => Some(s.clone()),
            Key::Name(n) if matches!(n.as_str(), "true" | "false" | "null") => Some(n.clone()),
            Key::Name(_) => None,
        }
    }

    /// How V8 prints the member in a callee.
    fn rendered(&self) -> String {
        match self {
            Key::Str(s) => format!(".{s}"),
            Key::Int(s) | Key::Name(s) => format!("[{s}]"),
        }
    }
}

/// `[key]` with `t[i] == '['`: the key and the index after `]`. Only literal and name keys.
fn bracket(t: &[char], i: usize) -> Option<(Key, usize)> {
    let j = skip_fwd(t, i + 1);
    let c = *t.get(j)?;
    let (key, end) = if c == '"' || c == '\'' {
        let (s, e) = string_literal(t, j)?;
        (Key::Str(s), e)
    } else if c.is_ascii_digit() || c == '-' {
        let (n, e) = integer_literal(t, j)?;
        (Key::Int(n), e)
    } else if is_id_start(c) {
        let e = ident_end(t, j);
        (Key::Name(text_of(t, j, e)), e)
    } else {
        return None;
    };
    let k = skip_fwd(t, end);
    (t.get(k) == Some(&']')).then_some((key, k + 1))
}

/// Words that cannot start a callee or a member chain.
const NOT_A_BASE: &[&str] = &[
    "return",
    "typeof",
    "void",
    "delete",
    "await",
    "yield",
    "in",
    "of",
    "new",
    "case",
    "else",
    "do",
    "instanceof",
    "throw",
    "function",
    "class",
    "if",
    "while",
    "for",
    "switch",
    "catch",
    "super",
    "let",
    "const",
    "var",
];

/// A member chain `name(.name | [key])*` starting at `t[i]`.
struct Chain {
    rendered: String,
    /// The last member's property name, when the source gives it.
    last: Option<String>,
    members: usize,
    end: usize,
}

/// The member chain starting at `t[i]`, ending before anything that is not a member (a call, an
/// operator). `None` for optional chains, which short-circuit instead of failing.
fn chain_at(t: &[char], i: usize) -> Option<Chain> {
    if !t.get(i).is_some_and(|&c| is_id_start(c)) {
        return None;
    }
    let e = ident_end(t, i);
    let base = text_of(t, i, e);
    if NOT_A_BASE.contains(&base.as_str()) {
        return None;
    }
    let mut chain = Chain {
        rendered: base,
        last: None,
        members: 0,
        end: e,
    };
    loop {
        let j = skip_fwd(t, chain.end);
        match t.get(j) {
            Some('.') => {
                let k = skip_fwd(t, j + 1);
                if !t.get(k).is_some_and(|&c| is_id_start(c)) {
                    return None;
                }
                let e = ident_end(t, k);
                let name = text_of(t, k, e);
                chain.rendered.push('.');
                chain.rendered.push_str(&name);
                chain.last = Some(name);
                chain.end = e;
            }
            Some('[') => {
                let (key, e) = bracket(t, j)?;
                chain.rendered.push_str(&key.rendered());
                chain.last = key.property();
                chain.end = e;
            }
            Some('?') if t.get(j + 1) == Some(&'.') => return None,
            _ => return Some(chain),
        }
        chain.members += 1;
    }
}

/// The index of the bracket opening the group closed at `t[close]`, on the same line, skipping
/// string literals; gives up on templates.
fn opening_of(t: &[char], close: usize) -> Option<usize> {
    let (open, shut) = match t[close] {
        ')' => ('(', ')'),
        ']' => ('[', ']'),
        _ => return None,
    };
    let mut depth = 0usize;
    let mut k = close;
    loop {
        match t[k] {
            '`' => return None,
            q @ ('"' | '\'') => {
                // Back to the opening quote (escaped quotes are not handled).
                loop {
                    k = k.checked_sub(1)?;
                    if t[k] == q {
                        break;
                    }
                }
            }
            c if c == shut => depth += 1,
            c if c == open => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
        k = k.checked_sub(1)?;
    }
}

/// The index of the bracket closing the group opened at `t[open]`, on the same line, skipping
/// string literals.
fn closing_of(t: &[char], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut k = open;
    while k < t.len() {
        match t[k] {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(k);
                }
            }
            '"' | '\'' => k = string_literal(t, k)?.1 - 1,
            '`' => return None,
            _ => {}
        }
        k += 1;
    }
    None
}

/// The text between the parenthesis at the spot and its match, across lines. `None` when it does
/// not close or holds a template literal.
fn arguments_at(spot: &Spot) -> Option<String> {
    let mut depth = 0usize;
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut first = true;
    for (n, line) in spot.lines.iter().enumerate().skip(spot.line) {
        let from = if n == spot.line { spot.col } else { 0 };
        if !first {
            out.push('\n');
        }
        first = false;
        for &c in &line[from..] {
            if let Some(q) = quote {
                if c == q {
                    quote = None;
                }
                out.push(c);
                continue;
            }
            match c {
                '"' | '\'' => quote = Some(c),
                '`' => return None,
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        // Drop the opening parenthesis.
                        return Some(out.chars().skip(1).collect());
                    }
                }
                _ => {}
            }
            out.push(c);
        }
        // A string does not run past its line.
        quote = None;
        if out.len() > 20_000 {
            return None;
        }
    }
    None
}

/// Whether arguments hold an operation that fails without a position of its own (a call's callee,
/// an optional chain, a spread), so an error reported at the call may be theirs.
fn has_unplaced(arguments: &str) -> bool {
    arguments.contains('(') || arguments.contains("?.") || arguments.contains("...")
}

/// The start of the callee ending just before `t[end]`, on this line.
fn callee_start(t: &[char], end: usize) -> Option<usize> {
    let mut j = skip_back(t, end);
    loop {
        let c = *t.get(j.checked_sub(1)?)?;
        let piece = if is_id_part(c) {
            let mut k = j;
            while k > 0 && is_id_part(t[k - 1]) {
                k -= 1;
            }
            k
        } else if c == ']' || c == ')' {
            // A member or a call: something must come before it.
            let open = opening_of(t, j - 1)?;
            let before = skip_back(t, open);
            let p = *t.get(before.checked_sub(1)?)?;
            if !(is_id_part(p) || p == ']' || p == ')') {
                return None;
            }
            j = before;
            continue;
        } else if c == '"' || c == '\'' {
            let mut k = j - 1;
            loop {
                k = k.checked_sub(1)?;
                if t[k] == c {
                    break;
                }
            }
            k
        } else {
            return None;
        };
        let before = skip_back(t, piece);
        if before > 0 && t[before - 1] == '.' {
            if before >= 2 && t[before - 2] == '.' {
                return None;
            }
            j = if before >= 2 && t[before - 2] == '?' {
                skip_back(t, before - 2)
            } else {
                skip_back(t, before - 1)
            };
            continue;
        }
        return Some(piece);
    }
}

/// The callee in `t[start..end]` printed the way V8 prints it: `a.b`, `a?.b`, `a[0]`, `a.x` for
/// `a['x']`, `f(...)` for a call, `"s".f` for a string literal.
fn render_callee(t: &[char], start: usize, end: usize) -> Option<String> {
    let c = *t.get(start)?;
    let (mut out, mut i) = if c == '"' || c == '\'' {
        let (s, e) = string_literal(t, start)?;
        (format!("\"{s}\""), e)
    } else if c.is_ascii_digit() {
        integer_literal(t, start)?
    } else if is_id_start(c) {
        let e = ident_end(t, start);
        let word = text_of(t, start, e);
        if NOT_A_BASE.contains(&word.as_str()) {
            return None;
        }
        (word, e)
    } else {
        return None;
    };
    loop {
        let j = skip_fwd(t, i);
        if j >= end {
            return (j == end).then_some(out);
        }
        match t[j] {
            '.' => {
                let k = skip_fwd(t, j + 1);
                let e = ident_end(t, k);
                if e == k {
                    return None;
                }
                out.push('.');
                out.push_str(&text_of(t, k, e));
                i = e;
            }
            '?' if t.get(j + 1) == Some(&'.') => {
                let k = skip_fwd(t, j + 2);
                let e = ident_end(t, k);
                if e == k {
                    return None;
                }
                out.push_str("?.");
                out.push_str(&text_of(t, k, e));
                i = e;
            }
            '[' => {
                let (key, e) = bracket(t, j)?;
                out.push_str(&key.rendered());
                i = e;
            }
            '(' => {
                out.push_str("(...)");
                i = closing_of(t, j)? + 1;
            }
            _ => return None,
        }
        if i > end {
            return None;
        }
    }
}

/// The callee of the call whose `(` is at the spot (Boa reports a failed call there).
fn callee_at(place: Place<'_>) -> Option<String> {
    let spot = Spot::new(place.source, place.at?)?;
    let t = spot.text();
    if t[spot.col] != '(' || has_unplaced(&arguments_at(&spot)?) {
        return None;
    }
    let start = callee_start(t, spot.col)?;
    render_callee(t, start, spot.col)
}

/// What follows `new` at the spot (Boa reports a failed `new` at the keyword).
fn constructed_at(place: Place<'_>) -> Option<String> {
    let spot = Spot::new(place.source, place.at?)?;
    let t = spot.text();
    let i = spot.col;
    if ident_end(t, i) != i + 3 || text_of(t, i, i + 3) != "new" {
        return None;
    }
    let chain = chain_at(t, skip_fwd(t, i + 3))?;
    let next = t.get(skip_fwd(t, chain.end)).copied();
    matches!(next, None | Some('(' | ';' | ')' | ',' | '}' | ']')).then_some(chain.rendered)
}

/// Whether the target of the member access whose `.` is at `dot` is, as far as the source
/// shows, `null` rather than `undefined` (Boa's message does not tell them apart): the literal
/// `null`, or a plain identifier whose last assignment above the access, in the handler's own
/// text, is `= null`. Anything less clear is reported as undefined, V8's more common case.
fn null_target(spot: &Spot, dot: usize) -> bool {
    let t = spot.text();
    let end = skip_back(t, dot);
    let mut start = end;
    while start > 0 && is_id_part(t[start - 1]) {
        start -= 1;
    }
    if start == end || (start > 0 && matches!(t[start - 1], '.' | ']' | ')')) {
        return false;
    }
    let name = text_of(t, start, end);
    if name == "null" {
        return true;
    }
    let above: String = spot.lines[..spot.line]
        .iter()
        .map(|l| l.iter().collect::<String>())
        .chain(std::iter::once(t[..start].iter().collect()))
        .collect::<Vec<_>>()
        .join("\n");
    let assignment = Regex::new(&format!(
        r"(?:^|[^\w$.]){}\s*=([^=][^;\n]*)",
        regex::escape(&name)
    ));
    let Ok(assignment) = assignment else {
        return false;
    };
    assignment
        .captures_iter(&above)
        .last()
        .is_some_and(|c| c[1].trim().trim_end_matches(';') == "null")
}

/// Boa places a method call on `undefined` (`e.items.reduce(...)`) at the start of its
/// statement, or at the `{` of the function body when it is the first statement, not at the
/// method. When that statement calls exactly one method, that is the property V8 names.
fn sole_method_call(place: Place<'_>) -> Option<String> {
    static CALL: LazyLock<Regex> = LazyLock::new(|| re(r"(\?)?\.\s*([A-Za-z_$][\w$]*)\s*\("));
    let (line, col) = place.at?;
    let text = place.source.lines().nth(line.checked_sub(1)?)?;
    let start: String = text.chars().skip(col.checked_sub(1)?).collect();
    let mut rest = start.trim_start();
    if let Some(after) = rest.strip_prefix('{') {
        // The body's first statement: on this line, or the next non-empty one.
        rest = after.trim_start();
        if rest.is_empty() {
            rest = place
                .source
                .lines()
                .skip(line)
                .map(str::trim)
                .find(|l| !l.is_empty())?;
        }
    }
    // The statement: up to its `;` (or the end of the line).
    let statement = rest.split(';').next()?;
    // A write to a member (`a.b = c.d()`) may be the failure too (`setting 'b'`): not guessed.
    let bytes = statement.as_bytes();
    let assignment = (0..bytes.len()).find(|&i| {
        bytes[i] == b'='
            && !matches!(bytes.get(i + 1), Some(b'=' | b'>'))
            && !matches!(
                i.checked_sub(1).map(|j| bytes[j]),
                Some(b'=' | b'!' | b'<' | b'>')
            )
    });
    if let Some(i) = assignment {
        let target = statement[..i].trim_end_matches(|c: char| "+-*/%&|^?".contains(c));
        if target.contains('.') || target.contains('[') {
            return None;
        }
    }
    let calls: Vec<_> = CALL.captures_iter(statement).collect();
    match calls.as_slice() {
        [c] if c.get(1).is_none() => Some(reading(&c[2])),
        _ => None,
    }
}

fn reading(name: &str) -> String {
    format!("Cannot read properties of undefined (reading '{name}')")
}

fn setting(name: &str) -> String {
    format!("Cannot set properties of undefined (setting '{name}')")
}

/// V8's message for Boa's "cannot convert 'null' or 'undefined' to object" at the spot.
fn nullish_at(place: Place<'_>) -> Option<String> {
    let spot = Spot::new(place.source, place.at?)?;
    let t = spot.text();
    let i = spot.col;
    let c = t[i];

    // A call: a builtin it called failed (reads in its arguments carry their own positions).
    if c == '(' {
        if has_unplaced(&arguments_at(&spot)?) {
            return None;
        }
        let callee = render_callee(t, callee_start(t, i)?, i)?;
        return callee
            .starts_with("Object.")
            .then(|| "Cannot convert undefined or null to object".to_string());
    }

    let before = skip_back(t, i);
    match spot.char_before(i) {
        // `target.name`: reported at `name`.
        Some('.') => {
            if !is_id_start(c) {
                return None;
            }
            let dot = if before > 0 { before - 1 } else { return None };
            if dot > 0 && matches!(t[dot - 1], '?' | '.') {
                return None;
            }
            // A target ending in a call may hold an unplaced read (its callee) that failed.
            let target = spot.char_before(dot)?;
            if !(is_id_part(target) || target == ']') {
                return None;
            }
            let name = text_of(t, i, ident_end(t, i));
            if null_target(&spot, dot) {
                return Some(reading(&name).replacen("undefined", "null", 1));
            }
            return Some(reading(&name));
        }
        // `target[key]`: reported at the key.
        Some('[') => {
            let open = before.checked_sub(1)?;
            let (key, _) = bracket(t, open)?;
            if !matches!(key, Key::Str(_) | Key::Int(_)) {
                return None;
            }
            let target = spot.char_before(open)?;
            if !(is_id_part(target) || target == ']') {
                return None;
            }
            return key.property().map(|name| reading(&name));
        }
        _ => {}
    }

    // An assignment or an update of `chain`, reported at its start.
    let prefix = (c == '+' || c == '-') && t.get(i + 1) == Some(&c);
    let from = if prefix { skip_fwd(t, i + 2) } else { i };
    let chain = chain_at(t, from)?;
    if chain.members == 0 {
        return None;
    }
    let name = chain.last.clone()?;
    if prefix {
        return Some(reading(&name));
    }
    let j = skip_fwd(t, chain.end);
    let rest: String = t[j..].iter().collect();
    if rest.starts_with("++") || rest.starts_with("--") {
        return Some(reading(&name));
    }
    const COMPOUND: &[&str] = &[
        ">>>=", "**=", "<<=", ">>=", "&&=", "||=", "??=", "+=", "-=", "*=", "/=", "%=", "&=", "|=",
        "^=",
    ];
    let (len, set) = if let Some(op) = COMPOUND.iter().find(|op| rest.starts_with(**op)) {
        (op.chars().count(), false)
    } else if rest.starts_with('=') && !rest.starts_with("==") && !rest.starts_with("=>") {
        (1, true)
    } else {
        return None;
    };
    if !simple_rhs(&spot, j + len) {
        return None;
    }
    Some(if set { setting(&name) } else { reading(&name) })
}

/// Whether the right-hand side from `t[from]` has nothing that could fail without a position of
/// its own: no call, optional chain, template, literal object or array, and it ends on this line.
fn simple_rhs(spot: &Spot, from: usize) -> bool {
    let mut rhs: String = spot.text()[from..].iter().collect();
    if let Some(comment) = rhs.find("//") {
        rhs.truncate(comment);
    }
    let rhs = rhs.trim().trim_end_matches(';').trim_end();
    if rhs.is_empty()
        || rhs.contains(['(', '`', '{', '['])
        || rhs.contains("?.")
        || rhs.ends_with(|c: char| "+-*/%&|^!~?:,=<>.".contains(c))
    {
        return false;
    }
    // A statement carried on by the next line (`.map(…)`, `+ x`).
    let next = spot.lines[spot.line + 1..]
        .iter()
        .map(|l| l.iter().collect::<String>())
        .find(|l| !l.trim().is_empty());
    match next {
        Some(line) => !line
            .trim_start()
            .starts_with(|c: char| ".?([`+-*/%&|^=<>,:".contains(c)),
        None => true,
    }
}

// ---------------------------------------------------------------------------------------------
// SyntaxError

const PUNCTUATORS: &[&str] = &[
    "{", "}", "(", ")", "[", "]", ";", ",", "<", ">", "<=", ">=", "==", "!=", "===", "!==", "+",
    "-", "*", "/", "%", "**", "++", "--", "<<", ">>", ">>>", "&", "|", "^", "!", "~", "&&", "||",
    "??", "?", "?.", ":", "=", "+=", "-=", "*=", "/=", "%=", "**=", "<<=", ">>=", ">>>=", "&=",
    "|=", "^=", "&&=", "||=", "??=", "=>", ".", "...", "#", "@",
];

/// Words V8 reports as `Unexpected token 'word'`.
const KEYWORDS: &[&str] = &[
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "export",
    "extends",
    "finally",
    "for",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "new",
    "return",
    "super",
    "switch",
    "this",
    "throw",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "true",
    "false",
    "null",
];

fn syntax_error(message: &str, source: Option<&str>) -> Option<String> {
    static EXPECTED: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?s)^expected (?:token '.*'|one of .*), got '(?P<found>.*)'(?: in (?P<ctx>.+?))? at line (?P<line>\d+), col (?P<col>\d+)$",
        )
    });
    static UNEXPECTED: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?s)^unexpected token '(?P<found>.*)', (?P<ctx>.+?) at line (?P<line>\d+), col (?P<col>\d+)$",
        )
    });
    static POSITION: LazyLock<Regex> = LazyLock::new(|| re(r"(?: at line \d+, col(?:umn)? \d+)+$"));
    static LEXICAL_NAMED: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?s)^lexical name `(.+)` declared multiple times$"));
    static UNDEFINED_LABEL: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?s)^undefined (?:break|continue) target: (.+)$"));
    static DUPLICATE_LABEL: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)^duplicate label: (.+)$"));

    if let Some(json) = json_from_serde(message) {
        return Some(json);
    }
    let token_char = |line: &str, col: &str| -> Option<char> {
        let spot = Spot::new(source?, (line.parse().ok()?, col.parse().ok()?))?;
        Some(spot.text()[spot.col])
    };
    if let Some(c) = EXPECTED.captures(message) {
        let ctx = c.name("ctx").map(|m| m.as_str());
        if ctx == Some("argument list") {
            return Some("missing ) after argument list".to_string());
        }
        let at = token_char(&c["line"], &c["col"]);
        return Some(unexpected_token(&c["found"], ctx, at));
    }
    if let Some(c) = UNEXPECTED.captures(message) {
        let (found, ctx) = (&c["found"], &c["ctx"]);
        if found == "return" && ctx == "statement" {
            return Some("Illegal return statement".to_string());
        }
        let at = token_char(&c["line"], &c["col"]);
        return Some(unexpected_token(found, Some(ctx), at));
    }

    let bare = POSITION.replace(message, "");
    let bare: &str = &bare;
    let fixed = match bare {
        "abrupt end" | "unterminated template literal" => Some("Unexpected end of input"),
        "unterminated string literal"
        | "unterminated escape sequence in literal"
        | "unterminated multiline comment"
        | "a numeric literal must not be followed by an alphanumeric, $ or _ characters"
        | "expected hexadecimal digit after number base prefix"
        | "expected octal digit after number base prefix"
        | "expected binary digit after number base prefix"
        | "Abrupt end: No exponential value found"
        | "When lexing exponential value found unexpected char"
        | "No digit found after + symbol"
        | "No digit found after - symbol" => Some("Invalid or unexpected token"),
        "abrupt end on regular expression" | "new lines are not allowed in regular expressions" => {
            Some("Invalid regular expression: missing /")
        }
        "lexical name declared multiple times" => Some("Identifier has already been declared"),
        "Expected initializer for const declaration" => {
            Some("Missing initializer in const declaration")
        }
        "Invalid left-hand side in assignment" => Some("Invalid left-hand side in assignment"),
        "illegal break statement" => Some("Illegal break statement"),
        "illegal continue statement" => {
            Some("Illegal continue statement: no surrounding iteration statement")
        }
        "more than one switch default" => Some("More than one default clause in switch statement"),
        "with statement not allowed in strict mode" => {
            Some("Strict mode code may not include a with statement")
        }
        "unexpected identifier 'eval' or 'arguments' in strict mode" => {
            Some("Unexpected eval or arguments in strict mode")
        }
        "leading 0's are not allowed in strict mode" => {
            Some("Decimals with leading zeros are not allowed in strict mode.")
        }
        "implicit octal literals are not allowed in strict mode" => {
            Some("Octal literals are not allowed in strict mode.")
        }
        "octal escape sequences are not allowed in strict mode"
        | "legacy octal escape sequences are not allowed in strict mode" => {
            Some("Octal escape sequences are not allowed in strict mode.")
        }
        "\\8 and \\9 are not allowed in strict mode" => {
            Some("\\8 and \\9 are not allowed in strict mode.")
        }
        "only one underscore is allowed as numeric separator" => {
            Some("Only one underscore is allowed as numeric separator")
        }
        "underscores are not allowed at the end of numeric literals" => {
            Some("Numeric separators are not allowed at the end of numeric literals")
        }
        "'let' is disallowed as a lexically bound name" => {
            Some("let is disallowed as a lexically bound name")
        }
        "invalid Unicode escape sequence" => Some("Invalid Unicode escape sequence"),
        "invalid Hexadecimal escape sequence" => Some("Invalid hexadecimal escape sequence"),
        "in strict mode code, functions can only be declared at the top level or inside a block." => {
            Some("In strict mode code, functions can only be declared at top level or inside a block.")
        }
        "functions can only be declared at the top level or inside a block." => Some(
            "In non-strict mode code, functions can only be declared at top level, inside a block, or as the body of an if statement.",
        ),
        _ => None,
    };
    if let Some(v8) = fixed {
        return Some(v8.to_string());
    }
    // The lexer's bad characters: "unexpected '@'", "unexpected utf-8 char …",
    // "unexpected =, expected valid operator".
    if bare.starts_with("unexpected '") || bare.starts_with("unexpected utf-8 char") {
        return Some("Invalid or unexpected token".to_string());
    }
    if bare.starts_with("unexpected ") && bare.ends_with(", expected valid operator") {
        return Some("Invalid or unexpected token".to_string());
    }
    if let Some(c) = LEXICAL_NAMED.captures(bare) {
        return Some(format!("Identifier '{}' has already been declared", &c[1]));
    }
    if let Some(c) = UNDEFINED_LABEL.captures(bare) {
        return Some(format!("Undefined label '{}'", &c[1]));
    }
    if let Some(c) = DUPLICATE_LABEL.captures(bare) {
        return Some(format!("Label '{}' has already been declared", &c[1]));
    }
    None
}

/// V8's message for an unexpected token Boa printed as `found`; `at` is the source character where
/// the token starts, when known (it tells a string or template from an identifier).
fn unexpected_token(found: &str, ctx: Option<&str>, at: Option<char>) -> String {
    if found == "end of file" {
        return "Unexpected end of input".to_string();
    }
    if found == "line terminator" {
        return if ctx.is_some_and(|c| c.contains("throw")) {
            "Illegal newline after throw"
        } else {
            "Invalid or unexpected token"
        }
        .to_string();
    }
    match at {
        Some('"' | '\'') => return "Unexpected string".to_string(),
        Some('`') => return "Unexpected template string".to_string(),
        Some(c) if c.is_ascii_digit() => return "Unexpected number".to_string(),
        _ => {}
    }
    if PUNCTUATORS.contains(&found) || KEYWORDS.contains(&found) {
        return format!("Unexpected token '{found}'");
    }
    if found == "enum" {
        return "Unexpected reserved word".to_string();
    }
    let mut chars = found.chars();
    let first = chars.next();
    let numeric = first.is_some_and(|c| c.is_ascii_digit())
        || (first == Some('.') && chars.next().is_some_and(|c| c.is_ascii_digit()));
    if numeric && at.is_none_or(|c| c.is_ascii_digit() || c == '.') {
        return "Unexpected number".to_string();
    }
    if is_identifier(found.strip_prefix('#').unwrap_or(found)) && at != Some('/') {
        return format!("Unexpected identifier '{found}'");
    }
    if found.starts_with('/') || at == Some('/') {
        return "Unexpected token '/'".to_string();
    }
    // Anything else is a string literal's content.
    "Unexpected string".to_string()
}

/// V8's wording for Boa's `JSON.parse` errors, which are serde_json's messages
/// (`… at line L column C`, the column counted in bytes). The position is only known on the
/// first line; V8 counts UTF-16 units from the start of the text, the same for ASCII.
fn json_from_serde(message: &str) -> Option<String> {
    static SERDE: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?s)^(?P<what>.+) at line (?P<line>\d+) column (?P<col>\d+)$"));
    let c = SERDE.captures(message)?;
    let line: usize = c["line"].parse().ok()?;
    let col: usize = c["col"].parse().ok()?;
    let place = |pos: Option<usize>| match pos {
        Some(p) => format!(" in JSON at position {p}"),
        None => " in JSON".to_string(),
    };
    // Most errors point one past the offending character; end-of-input ones at the end.
    let char_at = place((line == 1).then(|| col.saturating_sub(1)));
    let end_at = place((line == 1).then_some(col));
    let v8 = match &c["what"] {
        "EOF while parsing a value"
        | "EOF while parsing a list"
        | "EOF while parsing an object" => "Unexpected end of JSON input".to_string(),
        "EOF while parsing a string" => format!("Unterminated string{end_at}"),
        "expected value" | "expected ident" | "invalid number" => {
            format!("Unexpected token{char_at}")
        }
        "trailing characters" => match (line == 1).then(|| col.saturating_sub(1)) {
            Some(p) => format!("Unexpected non-whitespace character after JSON at position {p}"),
            None => "Unexpected non-whitespace character after JSON".to_string(),
        },
        "key must be a string" => format!("Expected property name or '}}'{char_at}"),
        "expected `:`" => format!("Expected ':' after property name{char_at}"),
        "expected `,` or `]`" => format!("Expected ',' or ']' after array element{char_at}"),
        "expected `,` or `}`" => format!("Expected ',' or '}}' after property value{char_at}"),
        "trailing comma" => format!("Expected double-quoted property name{char_at}"),
        "control character (\\u0000-\\u001F) found while parsing a string" => {
            format!("Bad control character in string literal{char_at}")
        }
        "invalid escape" => format!("Bad escaped character{char_at}"),
        "unexpected end of hex escape" => format!("Bad Unicode escape{char_at}"),
        _ => return None,
    };
    Some(v8)
}

// ---------------------------------------------------------------------------------------------
// JSON.parse as V8 reports it (json-parser.cc, V8 11.3)

enum JsonFault {
    /// V8 names what it found: the end, a string, a number, or the character with some context.
    Token(usize),
    /// A message of its own, at a position.
    At(&'static str, usize),
}

impl JsonFault {
    fn message(&self, s: &[u16]) -> String {
        match *self {
            // "… after JSON at position N"; every other message says "… in JSON at position N".
            JsonFault::At(what, pos) if what.ends_with("after JSON") => {
                format!("{what} at position {pos}")
            }
            JsonFault::At(what, pos) => format!("{what} in JSON at position {pos}"),
            JsonFault::Token(pos) => token_fault(s, pos),
        }
    }
}

fn is(s: &[u16], i: usize, c: u8) -> bool {
    s.get(i) == Some(&u16::from(c))
}

fn is_digit(c: u16) -> bool {
    (0x30..=0x39).contains(&c)
}

fn is_hex(c: u16) -> bool {
    is_digit(c) || (0x41..=0x46).contains(&c) || (0x61..=0x66).contains(&c)
}

fn token_fault(s: &[u16], pos: usize) -> String {
    let Some(&c) = s.get(pos) else {
        return "Unexpected end of JSON input".to_string();
    };
    if c == u16::from(b'"') {
        return format!("Unexpected string in JSON at position {pos}");
    }
    if c == u16::from(b'-') || is_digit(c) {
        return format!("Unexpected number in JSON at position {pos}");
    }
    let source = String::from_utf16_lossy(s);
    // What `JSON.parse(undefined)`, `(NaN)`, `(Infinity)` and `({})` parse.
    if matches!(
        source.as_str(),
        "undefined" | "NaN" | "Infinity" | "[object Object]"
    ) {
        return format!("\"{source}\" is not valid JSON");
    }
    let token = String::from_utf16_lossy(&s[pos..pos + 1]);
    const CONTEXT: usize = 10;
    let len = s.len();
    let part = |from: usize, to: usize| String::from_utf16_lossy(&s[from..to]);
    if len <= 2 * CONTEXT {
        format!("Unexpected token '{token}', \"{source}\" is not valid JSON")
    } else if pos < CONTEXT {
        format!(
            "Unexpected token '{token}', \"{}\"... is not valid JSON",
            part(0, pos + CONTEXT)
        )
    } else if pos < len - CONTEXT {
        format!(
            "Unexpected token '{token}', ...\"{}\"... is not valid JSON",
            part(pos - CONTEXT, pos + CONTEXT)
        )
    } else {
        format!(
            "Unexpected token '{token}', ...\"{}\" is not valid JSON",
            part(pos - CONTEXT, len)
        )
    }
}

fn skip_json_space(s: &[u16], mut i: usize) -> usize {
    while s
        .get(i)
        .is_some_and(|&c| c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D)
    {
        i += 1;
    }
    i
}

#[derive(Clone, Copy)]
enum Open {
    Array,
    Object,
}

/// Checks `s` the way V8's parser does, without recursion (nesting is only bounded by memory).
fn scan_json(s: &[u16]) -> Result<(), JsonFault> {
    let mut open: Vec<Open> = Vec::new();
    let mut i = 0;
    loop {
        // A value starts here.
        i = skip_json_space(s, i);
        let Some(&c) = s.get(i) else {
            return Err(JsonFault::Token(i));
        };
        match c {
            0x22 => i = json_string(s, i)?,
            0x2D | 0x30..=0x39 => i = json_number(s, i)?,
            0x74 => i = json_literal(s, i, b"true")?,
            0x66 => i = json_literal(s, i, b"false")?,
            0x6E => i = json_literal(s, i, b"null")?,
            0x5B => {
                let j = skip_json_space(s, i + 1);
                if is(s, j, b']') {
                    i = j + 1;
                } else {
                    open.push(Open::Array);
                    i += 1;
                    continue;
                }
            }
            0x7B => {
                let j = skip_json_space(s, i + 1);
                if is(s, j, b'}') {
                    i = j + 1;
                } else {
                    if !is(s, j, b'"') {
                        return Err(JsonFault::At("Expected property name or '}'", j));
                    }
                    let k = skip_json_space(s, json_string(s, j)?);
                    if !is(s, k, b':') {
                        return Err(JsonFault::At("Expected ':' after property name", k));
                    }
                    open.push(Open::Object);
                    i = k + 1;
                    continue;
                }
            }
            _ => return Err(JsonFault::Token(i)),
        }
        // A value ended at `i`: close what it completes, up to the next value.
        loop {
            let j = skip_json_space(s, i);
            match open.last().copied() {
                None => {
                    return if j < s.len() {
                        Err(JsonFault::At(
                            "Unexpected non-whitespace character after JSON",
                            j,
                        ))
                    } else {
                        Ok(())
                    };
                }
                Some(Open::Array) => {
                    if is(s, j, b',') {
                        i = j + 1;
                        break;
                    }
                    if !is(s, j, b']') {
                        return Err(JsonFault::At("Expected ',' or ']' after array element", j));
                    }
                    open.pop();
                    i = j + 1;
                }
                Some(Open::Object) => {
                    if is(s, j, b',') {
                        let k = skip_json_space(s, j + 1);
                        if !is(s, k, b'"') {
                            return Err(JsonFault::At("Expected double-quoted property name", k));
                        }
                        let m = skip_json_space(s, json_string(s, k)?);
                        // V8 has no message of its own for this colon.
                        if !is(s, m, b':') {
                            return Err(JsonFault::Token(m));
                        }
                        i = m + 1;
                        break;
                    }
                    if !is(s, j, b'}') {
                        return Err(JsonFault::At("Expected ',' or '}' after property value", j));
                    }
                    open.pop();
                    i = j + 1;
                }
            }
        }
    }
}

/// The string starting at `s[start] == '"'`: the index after it.
fn json_string(s: &[u16], start: usize) -> Result<usize, JsonFault> {
    let mut i = start + 1;
    loop {
        let Some(&c) = s.get(i) else {
            return Err(JsonFault::At("Unterminated string", i));
        };
        match c {
            0x22 => return Ok(i + 1),
            0x5C => {
                let Some(&e) = s.get(i + 1) else {
                    return Err(JsonFault::Token(i + 1));
                };
                match e {
                    0x22 | 0x5C | 0x2F | 0x62 | 0x66 | 0x6E | 0x72 | 0x74 => i += 2,
                    0x75 => {
                        for p in i + 2..i + 6 {
                            if !s.get(p).is_some_and(|&h| is_hex(h)) {
                                return Err(JsonFault::At("Bad Unicode escape", p));
                            }
                        }
                        i += 6;
                    }
                    e if e > 0xFF => return Err(JsonFault::Token(i + 1)),
                    _ => return Err(JsonFault::At("Bad escaped character", i + 1)),
                }
            }
            c if c < 0x20 => {
                return Err(JsonFault::At("Bad control character in string literal", i));
            }
            _ => i += 1,
        }
    }
}

fn json_digits(s: &[u16], mut i: usize) -> usize {
    while s.get(i).is_some_and(|&c| is_digit(c)) {
        i += 1;
    }
    i
}

/// The number starting at `s[start]` (`-` or a digit): the index after it.
fn json_number(s: &[u16], start: usize) -> Result<usize, JsonFault> {
    let mut i = start;
    if is(s, i, b'-') {
        i += 1;
    }
    if is(s, i, b'0') {
        i += 1;
        if s.get(i).is_some_and(|&c| is_digit(c)) {
            return Err(JsonFault::Token(i));
        }
    } else if s.get(i).is_some_and(|&c| is_digit(c)) {
        i = json_digits(s, i);
    } else {
        return Err(JsonFault::At("No number after minus sign", i));
    }
    if is(s, i, b'.') {
        i += 1;
        if !s.get(i).is_some_and(|&c| is_digit(c)) {
            return Err(JsonFault::At("Unterminated fractional number", i));
        }
        i = json_digits(s, i);
    }
    if is(s, i, b'e') || is(s, i, b'E') {
        i += 1;
        if is(s, i, b'+') || is(s, i, b'-') {
            i += 1;
        }
        if !s.get(i).is_some_and(|&c| is_digit(c)) {
            return Err(JsonFault::At("Exponent part is missing a number", i));
        }
        i = json_digits(s, i);
    }
    Ok(i)
}

/// `true`, `false` or `null` at `s[start]`, whose first letter matched: the index after it.
fn json_literal(s: &[u16], start: usize, word: &[u8]) -> Result<usize, JsonFault> {
    for (k, &w) in word.iter().enumerate().skip(1) {
        match s.get(start + k) {
            Some(&c) if c == u16::from(w) => {}
            _ => return Err(JsonFault::Token(start + k)),
        }
    }
    Ok(start + word.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn type_error(message: &str) -> String {
        to_v8("TypeError", message)
    }

    fn syntax(message: &str) -> String {
        to_v8("SyntaxError", message)
    }

    /// Issue 14: Boa places `undefined.reduce(...)` at its statement (or at the body's `{`).
    #[test]
    fn a_method_call_on_undefined_placed_at_its_statement_names_the_method() {
        let message = "cannot convert 'null' or 'undefined' to object";
        let first = "function h(e) {\n  const total = e.items.reduce((s, x) => s + x, 0);\n}\n";
        assert_eq!(
            to_v8_in("TypeError", message, first, Some((1, 15))),
            "Cannot read properties of undefined (reading 'reduce')"
        );
        let later = "function h(e) {\n  let t = 0;\n  t = e.items.reduce((s, x) => s + x, 0);\n}\n";
        assert_eq!(
            to_v8_in("TypeError", message, later, Some((3, 3))),
            "Cannot read properties of undefined (reading 'reduce')"
        );
        // Two calls: which one failed cannot be told, so the property is not named.
        let two = "function h(e) {\n  const t = e.a.map(f).filter(g);\n}\n";
        assert_eq!(
            to_v8_in("TypeError", message, two, Some((1, 15))),
            "Cannot read properties of undefined"
        );
    }

    /// The 1-based (line, column) where `needle` first starts in `source`.
    fn pos(source: &str, needle: &str) -> (usize, usize) {
        let idx = source.find(needle).expect("needle in source");
        let before = &source[..idx];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        (line, col)
    }

    fn type_error_in(message: &str, source: &str, needle: &str) -> String {
        to_v8_in("TypeError", message, source, Some(pos(source, needle)))
    }

    const NULLISH: &str = "cannot convert 'null' or 'undefined' to object";

    // --- one test per TABLE row -------------------------------------------------------------

    #[test]
    fn row_nullish_object() {
        assert_eq!(type_error(NULLISH), "Cannot read properties of undefined");
    }

    #[test]
    fn row_require_object_coercible() {
        assert_eq!(
            type_error("cannot convert null or undefined to Object"),
            "Cannot convert undefined or null to object"
        );
    }

    #[test]
    fn row_not_a_function() {
        assert_eq!(
            type_error("not a callable function"),
            "(intermediate value) is not a function"
        );
    }

    #[test]
    fn row_not_a_constructor() {
        assert_eq!(
            type_error("not a constructor"),
            "(intermediate value) is not a constructor"
        );
    }

    #[test]
    fn row_assignment_to_constant() {
        assert_eq!(
            type_error("cannot mutate an immutable binding 'limit'"),
            "Assignment to constant variable."
        );
    }

    #[test]
    fn row_bigint_mix() {
        assert_eq!(
            type_error("cannot mix BigInt and other types, use explicit conversions"),
            "Cannot mix BigInt and other types, use explicit conversions"
        );
    }

    #[test]
    fn row_not_iterable() {
        assert_eq!(
            type_error("value with type `undefined` is not iterable"),
            "undefined is not iterable (cannot read property Symbol(Symbol.iterator))"
        );
        assert_eq!(
            type_error("value with type `object` is not iterable"),
            "object is not iterable (cannot read property Symbol(Symbol.iterator))"
        );
    }

    #[test]
    fn row_destructure_undefined() {
        assert_eq!(
            type_error("Cannot destructure 'undefined' value"),
            "Cannot destructure 'undefined' as it is undefined."
        );
    }

    #[test]
    fn row_destructure_null() {
        assert_eq!(
            type_error("Cannot destructure 'null' value"),
            "Cannot destructure 'null' as it is null."
        );
    }

    #[test]
    fn row_symbol_to_string() {
        assert_eq!(
            type_error("can't convert symbol to string"),
            "Cannot convert a Symbol value to a string"
        );
    }

    #[test]
    fn row_symbol_to_number() {
        assert_eq!(
            type_error("argument must not be a symbol"),
            "Cannot convert a Symbol value to a number"
        );
    }

    #[test]
    fn row_bigint_to_number() {
        assert_eq!(
            type_error("argument must not be a bigint"),
            "Cannot convert a BigInt value to a number"
        );
    }

    #[test]
    fn row_to_primitive() {
        assert_eq!(
            type_error("cannot convert object to primitive value"),
            "Cannot convert object to primitive value"
        );
    }

    #[test]
    fn row_instanceof_not_object() {
        assert_eq!(
            type_error("right-hand side of 'instanceof' should be an object, got `number`"),
            "Right-hand side of 'instanceof' is not an object"
        );
    }

    #[test]
    fn row_instanceof_not_callable() {
        assert_eq!(
            type_error("right-hand side of 'instanceof' is not callable"),
            "Right-hand side of 'instanceof' is not callable"
        );
    }

    #[test]
    fn row_read_only() {
        assert_eq!(
            type_error("cannot set non-writable property: a"),
            "Cannot assign to read only property 'a' of object '#<Object>'"
        );
    }

    #[test]
    fn row_redefine() {
        assert_eq!(
            type_error("cannot redefine property: a"),
            "Cannot redefine property: a"
        );
    }

    #[test]
    fn row_cyclic() {
        assert_eq!(
            type_error("cyclic object value"),
            "Converting circular structure to JSON"
        );
    }

    #[test]
    fn row_stringify_bigint() {
        assert_eq!(
            type_error("cannot serialize bigint to JSON"),
            "Do not know how to serialize a BigInt"
        );
    }

    #[test]
    fn row_reduce_empty() {
        assert_eq!(
            type_error(
                "Array.prototype.reduce: called on an empty array and with no initial value"
            ),
            "Reduce of empty array with no initial value"
        );
        assert_eq!(
            type_error(
                "Array.prototype.reduceRight: called on an empty array and with no initial value"
            ),
            "Reduce of empty array with no initial value"
        );
    }

    #[test]
    fn row_class_without_new() {
        assert_eq!(
            type_error("class constructor cannot be invoked without 'new'"),
            "Class constructor cannot be invoked without 'new'"
        );
    }

    #[test]
    fn row_nullish_to_bigint() {
        assert_eq!(
            type_error("cannot convert null to a BigInt"),
            "Cannot convert null to a BigInt"
        );
        assert_eq!(
            type_error("cannot convert undefined to a BigInt"),
            "Cannot convert undefined to a BigInt"
        );
    }

    #[test]
    fn row_not_defined() {
        assert_eq!(
            to_v8("ReferenceError", "foo is not defined"),
            "foo is not defined"
        );
    }

    #[test]
    fn row_uninitialized_read() {
        assert_eq!(
            to_v8("ReferenceError", "access of uninitialized binding"),
            "Cannot access variable before initialization"
        );
    }

    #[test]
    fn row_uninitialized_write() {
        assert_eq!(
            to_v8(
                "ReferenceError",
                "cannot assign to uninitialized binding `x`"
            ),
            "Cannot access 'x' before initialization"
        );
    }

    #[test]
    fn row_strict_undeclared_write() {
        assert_eq!(
            to_v8(
                "ReferenceError",
                "cannot assign to uninitialized global property `total`"
            ),
            "total is not defined"
        );
    }

    #[test]
    fn row_stack_overflow() {
        assert_eq!(
            to_v8(
                "RangeError",
                "reached the maximum number of recursive calls on this execution"
            ),
            "Maximum call stack size exceeded"
        );
        assert_eq!(
            to_v8(
                "Error",
                "RuntimeLimitError: reached the maximum stack size on this execution"
            ),
            "Maximum call stack size exceeded"
        );
    }

    #[test]
    fn row_invalid_array_length() {
        for boa in [
            "invalid array length",
            "bad length for array",
            "array exceeded max size",
        ] {
            assert_eq!(to_v8("RangeError", boa), "Invalid array length");
        }
    }

    #[test]
    fn row_to_fixed() {
        let m = "toFixed() digits argument must be between 0 and 100";
        assert_eq!(to_v8("RangeError", m), m);
    }

    #[test]
    fn row_to_precision() {
        assert_eq!(
            to_v8(
                "RangeError",
                "precision must be an integer at least 1 and no greater than 100"
            ),
            "toPrecision() argument must be between 1 and 100"
        );
    }

    #[test]
    fn row_radix() {
        assert_eq!(
            to_v8(
                "RangeError",
                "radix must be an integer at least 2 and no greater than 36"
            ),
            "toString() radix argument must be between 2 and 36"
        );
    }

    #[test]
    fn row_bigint_division_by_zero() {
        assert_eq!(
            to_v8("RangeError", "BigInt division by zero"),
            "Division by zero"
        );
    }

    #[test]
    fn row_number_to_bigint() {
        assert_eq!(
            to_v8("RangeError", "cannot convert 1.5 to a BigInt"),
            "The number 1.5 cannot be converted to a BigInt because it is not an integer"
        );
        assert_eq!(
            to_v8("RangeError", "cannot convert inf to a BigInt"),
            "The number Infinity cannot be converted to a BigInt because it is not an integer"
        );
    }

    #[test]
    fn row_repeat_negative() {
        assert_eq!(
            to_v8(
                "RangeError",
                "String.prototype.repeat: count must be non-negative"
            ),
            "Invalid count value"
        );
    }

    #[test]
    fn row_repeat_infinity() {
        assert_eq!(
            to_v8(
                "RangeError",
                "String.prototype.repeat: count must be less than infinity"
            ),
            "Invalid count value: Infinity"
        );
    }

    #[test]
    fn row_string_length() {
        assert_eq!(
            to_v8(
                "RangeError",
                "cannot create a string longer than the maximum allowed length (1073741799)"
            ),
            "Invalid string length"
        );
    }

    #[test]
    fn row_json_eof() {
        assert_eq!(
            syntax("EOF while parsing a value at line 1 column 0"),
            "Unexpected end of JSON input"
        );
    }

    #[test]
    fn row_json_expected_value() {
        assert_eq!(
            syntax("expected value at line 1 column 1"),
            "Unexpected token in JSON at position 0"
        );
        assert_eq!(
            syntax("expected value at line 3 column 5"),
            "Unexpected token in JSON"
        );
    }

    #[test]
    fn row_json_trailing_characters() {
        assert_eq!(
            syntax("trailing characters at line 1 column 3"),
            "Unexpected non-whitespace character after JSON at position 2"
        );
    }

    #[test]
    fn row_json_key_must_be_string() {
        assert_eq!(
            syntax("key must be a string at line 1 column 2"),
            "Expected property name or '}' in JSON at position 1"
        );
    }

    #[test]
    fn row_json_expected_colon() {
        assert_eq!(
            syntax("expected `:` at line 1 column 6"),
            "Expected ':' after property name in JSON at position 5"
        );
    }

    #[test]
    fn row_json_expected_comma_or_bracket() {
        assert_eq!(
            syntax("expected `,` or `]` at line 1 column 4"),
            "Expected ',' or ']' after array element in JSON at position 3"
        );
    }

    #[test]
    fn row_json_expected_comma_or_brace() {
        assert_eq!(
            syntax("expected `,` or `}` at line 1 column 8"),
            "Expected ',' or '}' after property value in JSON at position 7"
        );
    }

    #[test]
    fn row_json_trailing_comma() {
        assert_eq!(
            syntax("trailing comma at line 1 column 8"),
            "Expected double-quoted property name in JSON at position 7"
        );
    }

    #[test]
    fn row_json_unterminated_string() {
        assert_eq!(
            syntax("EOF while parsing a string at line 1 column 4"),
            "Unterminated string in JSON at position 4"
        );
    }

    #[test]
    fn row_json_control_character() {
        assert_eq!(
            syntax(
                "control character (\\u0000-\\u001F) found while parsing a string at line 1 column 3"
            ),
            "Bad control character in string literal in JSON at position 2"
        );
    }

    #[test]
    fn row_json_invalid_escape() {
        assert_eq!(
            syntax("invalid escape at line 1 column 3"),
            "Bad escaped character in JSON at position 2"
        );
    }

    #[test]
    fn row_json_recursion_limit() {
        let m = "recursion limit exceeded at line 1 column 129";
        assert_eq!(syntax(m), m);
    }

    #[test]
    fn row_abrupt_end() {
        assert_eq!(syntax("abrupt end"), "Unexpected end of input");
    }

    #[test]
    fn row_expected_token() {
        assert_eq!(
            syntax("expected token ';', got 'b' in variable declaration at line 1, col 7"),
            "Unexpected identifier 'b'"
        );
        assert_eq!(
            syntax("expected token ')', got '{' in if statement at line 1, col 7"),
            "Unexpected token '{'"
        );
        assert_eq!(
            syntax("expected token ';', got '5' in variable declaration at line 1, col 7"),
            "Unexpected number"
        );
        assert_eq!(
            syntax("expected token '}', got 'end of file' in block at line 3, col 1"),
            "Unexpected end of input"
        );
        assert_eq!(
            syntax(
                "expected token ';', got 'hello world' in expression statement at line 1, col 5"
            ),
            "Unexpected string"
        );
    }

    #[test]
    fn row_unexpected_token() {
        assert_eq!(
            syntax("unexpected token ';', primary expression at line 1, col 9"),
            "Unexpected token ';'"
        );
        assert_eq!(
            syntax("unexpected token 'else', statement at line 1, col 8"),
            "Unexpected token 'else'"
        );
    }

    #[test]
    fn row_argument_list() {
        assert_eq!(
            syntax("expected one of ',' or ')', got '2' in argument list at line 1, col 5"),
            "missing ) after argument list"
        );
    }

    #[test]
    fn row_illegal_return() {
        assert_eq!(
            syntax("unexpected token 'return', statement at line 1, col 1"),
            "Illegal return statement"
        );
    }

    #[test]
    fn row_invalid_token() {
        assert_eq!(
            syntax("unterminated string literal"),
            "Invalid or unexpected token"
        );
        assert_eq!(
            syntax("unexpected '@' at line 1, col 5"),
            "Invalid or unexpected token"
        );
        assert_eq!(
            syntax("a numeric literal must not be followed by an alphanumeric, $ or _ characters at line 1, col 5"),
            "Invalid or unexpected token"
        );
    }

    #[test]
    fn row_unterminated_template() {
        assert_eq!(
            syntax("unterminated template literal"),
            "Unexpected end of input"
        );
    }

    #[test]
    fn row_regex_missing_slash() {
        assert_eq!(
            syntax("abrupt end on regular expression at line 1, col 9"),
            "Invalid regular expression: missing /"
        );
    }

    #[test]
    fn row_redeclaration() {
        assert_eq!(
            syntax("lexical name declared multiple times at line 1, col 1"),
            "Identifier has already been declared"
        );
        assert_eq!(
            syntax("lexical name `x` declared multiple times at line 1, col 1"),
            "Identifier 'x' has already been declared"
        );
    }

    #[test]
    fn row_const_without_initializer() {
        assert_eq!(
            syntax("Expected initializer for const declaration at line 1, col 8"),
            "Missing initializer in const declaration"
        );
    }

    #[test]
    fn row_invalid_assignment_target() {
        assert_eq!(
            syntax("Invalid left-hand side in assignment at line 1, col 1"),
            "Invalid left-hand side in assignment"
        );
    }

    #[test]
    fn row_illegal_break() {
        assert_eq!(
            syntax("illegal break statement at line 1, col 1"),
            "Illegal break statement"
        );
        assert_eq!(
            syntax("illegal continue statement at line 1, col 1"),
            "Illegal continue statement: no surrounding iteration statement"
        );
    }

    #[test]
    fn row_undefined_label() {
        assert_eq!(
            syntax("undefined break target: foo at line 1, col 1"),
            "Undefined label 'foo'"
        );
        assert_eq!(
            syntax("duplicate label: x at line 1, col 1"),
            "Label 'x' has already been declared"
        );
    }

    #[test]
    fn row_switch_defaults() {
        assert_eq!(
            syntax("more than one switch default at line 1, col 20"),
            "More than one default clause in switch statement"
        );
    }

    #[test]
    fn table_rows_have_a_known_kind() {
        for (kind, boa, v8) in TABLE {
            assert!(
                ["TypeError", "ReferenceError", "RangeError", "SyntaxError"].contains(kind),
                "{kind}"
            );
            assert!(!boa.is_empty() && !v8.is_empty());
        }
    }

    // --- other messages pass through ----------------------------------------------------------

    #[test]
    fn unknown_messages_are_unchanged() {
        assert_eq!(type_error("something new"), "something new");
        assert_eq!(to_v8("Error", "boom"), "boom");
        assert_eq!(to_v8("URIError", "invalid URI"), "invalid URI");
    }

    // --- reading the source ---------------------------------------------------------------------

    const HANDLER_READ: &str = "function cortexone_handler(e) {\n  return e.data.items;\n}\n";

    #[test]
    fn property_read_names_the_property() {
        assert_eq!(
            type_error_in(NULLISH, HANDLER_READ, "items;"),
            "Cannot read properties of undefined (reading 'items')"
        );
    }

    #[test]
    fn property_read_on_a_continued_line() {
        let source = "function h(e) {\n  return e\n    .name;\n}";
        assert_eq!(
            type_error_in(NULLISH, source, "name;"),
            "Cannot read properties of undefined (reading 'name')"
        );
    }

    #[test]
    fn property_read_after_a_call_is_not_guessed() {
        let source = "function h(e) {\n  return load(e).name;\n}";
        assert_eq!(
            type_error_in(NULLISH, source, "name;"),
            "Cannot read properties of undefined"
        );
    }

    #[test]
    fn computed_literal_read() {
        let source = "function h(e) {\n  return e.rows[0]['name'];\n}";
        assert_eq!(
            type_error_in(NULLISH, source, "'name'"),
            "Cannot read properties of undefined (reading 'name')"
        );
        assert_eq!(
            type_error_in(NULLISH, source, "0]"),
            "Cannot read properties of undefined (reading '0')"
        );
    }

    #[test]
    fn property_write_names_the_property() {
        let source = "function h(e) {\n  e.data.items = 1;\n  return e;\n}";
        assert_eq!(
            type_error_in(NULLISH, source, "e.data.items ="),
            "Cannot set properties of undefined (setting 'items')"
        );
    }

    #[test]
    fn compound_assignment_reads() {
        let source = "function h(e) {\n  e.stats.count += 1;\n}";
        assert_eq!(
            type_error_in(NULLISH, source, "e.stats.count"),
            "Cannot read properties of undefined (reading 'count')"
        );
    }

    #[test]
    fn write_with_a_call_on_the_right_is_not_guessed() {
        let source = "function h(e) {\n  e.data.items = e.list.map(f);\n}";
        assert_eq!(
            type_error_in(NULLISH, source, "e.data.items ="),
            "Cannot read properties of undefined"
        );
    }

    #[test]
    fn object_builtin_on_undefined() {
        let source = "function h(e) {\n  return Object.keys(e.data);\n}";
        assert_eq!(
            type_error_in(NULLISH, source, "(e.data)"),
            "Cannot convert undefined or null to object"
        );
    }

    #[test]
    fn callee_is_rebuilt() {
        let source =
            "function h(e) {\n  const r = handler(1);\n  return e.list.map(f).join(',');\n}";
        assert_eq!(
            type_error_in("not a callable function", source, "(1)"),
            "handler is not a function"
        );
        assert_eq!(
            type_error_in("not a callable function", source, "(',')"),
            "e.list.map(...).join is not a function"
        );
    }

    #[test]
    fn callee_with_string_key_and_string_base() {
        let source = "obj['run'](x);\n'abc'.foo();";
        assert_eq!(
            type_error_in("not a callable function", source, "(x)"),
            "obj.run is not a function"
        );
        assert_eq!(
            type_error_in("not a callable function", source, "()"),
            "\"abc\".foo is not a function"
        );
    }

    #[test]
    fn callee_with_unplaced_calls_in_its_arguments_is_not_guessed() {
        let source = "log(a?.b());";
        assert_eq!(
            type_error_in("not a callable function", source, "(a?.b"),
            "(intermediate value) is not a function"
        );
    }

    #[test]
    fn constructor_is_read_after_new() {
        let source = "function h(e) {\n  const d = new e.Thing(1);\n}";
        assert_eq!(
            type_error_in("not a constructor", source, "new e"),
            "e.Thing is not a constructor"
        );
    }

    #[test]
    fn no_position_falls_back() {
        assert_eq!(
            to_v8_in("TypeError", NULLISH, HANDLER_READ, None),
            "Cannot read properties of undefined"
        );
        assert_eq!(
            to_v8_in("TypeError", NULLISH, HANDLER_READ, Some((40, 2))),
            "Cannot read properties of undefined"
        );
    }

    #[test]
    fn syntax_error_token_kind_from_the_source() {
        let source = "var a 'str'";
        assert_eq!(
            to_v8_in(
                "SyntaxError",
                "expected token ';', got 'str' in variable declaration at line 1, col 7",
                source,
                None
            ),
            "Unexpected string"
        );
        let source = "var a `t`";
        assert_eq!(
            to_v8_in(
                "SyntaxError",
                "expected token ';', got 't' in variable declaration at line 1, col 7",
                source,
                None
            ),
            "Unexpected template string"
        );
    }

    #[test]
    fn error_position_takes_the_innermost_frame() {
        let trace = "TypeError: cannot convert 'null' or 'undefined' to object (cortexone_function.js:1:1)\n    at cortexone_handler (cortexone_function.js:2:17)\n    at <main> (cortexone_function.js:1:1)";
        assert_eq!(
            error_position(trace, "cortexone_function.js"),
            Some((2, 17))
        );
        let trace =
            "TypeError: x\n    at <anonymous> (native)\n    at f (cortexone_function.js:3:4)";
        assert_eq!(error_position(trace, "cortexone_function.js"), Some((3, 4)));
        let trace = "TypeError: x\n    at f (cortexone_function.js:?:?)\n    at <main> (cortexone_function.js:1:1)";
        assert_eq!(error_position(trace, "cortexone_function.js"), None);
        let trace =
            "TypeError: x\n    at <main> (eval at :1:5)\n    at f (cortexone_function.js:3:4)";
        assert_eq!(error_position(trace, "cortexone_function.js"), None);
    }

    // --- JSON.parse as V8 words it (expected texts taken from Node 20.20) ----------------------

    #[test]
    fn json_parse_errors_match_node_20() {
        let cases: &[(&str, &str)] = &[
            ("abc", "Unexpected token 'a', \"abc\" is not valid JSON"),
            ("", "Unexpected end of JSON input"),
            ("{", "Expected property name or '}' in JSON at position 1"),
            ("[1,]", "Unexpected token ']', \"[1,]\" is not valid JSON"),
            (
                "{\"a\":1,}",
                "Expected double-quoted property name in JSON at position 7",
            ),
            (
                "{\"a\" 1}",
                "Expected ':' after property name in JSON at position 5",
            ),
            (
                "[1 2]",
                "Expected ',' or ']' after array element in JSON at position 3",
            ),
            (
                "{\"a\":1 \"b\":2}",
                "Expected ',' or '}' after property value in JSON at position 7",
            ),
            ("\"abc", "Unterminated string in JSON at position 4"),
            (
                "1 2",
                "Unexpected non-whitespace character after JSON at position 2",
            ),
            ("\"\\x\"", "Bad escaped character in JSON at position 2"),
            (
                "\"a\u{1}\"",
                "Bad control character in string literal in JSON at position 2",
            ),
            ("-", "No number after minus sign in JSON at position 1"),
            ("1.", "Unterminated fractional number in JSON at position 2"),
            (
                "1e",
                "Exponent part is missing a number in JSON at position 2",
            ),
            ("tru", "Unexpected end of JSON input"),
            ("trx", "Unexpected token 'x', \"trx\" is not valid JSON"),
            ("t\"", "Unexpected string in JSON at position 1"),
            ("undefined", "\"undefined\" is not valid JSON"),
            ("NaN", "\"NaN\" is not valid JSON"),
            ("[object Object]", "\"[object Object]\" is not valid JSON"),
            ("01", "Unexpected number in JSON at position 1"),
            (
                "{\"a\":1,\"b\"}",
                "Unexpected token '}', \"{\"a\":1,\"b\"}\" is not valid JSON",
            ),
            ("\"\\u12\"", "Bad Unicode escape in JSON at position 5"),
            (
                "x11111111111111111111",
                "Unexpected token 'x', \"x111111111\"... is not valid JSON",
            ),
            (
                "[1,2,3,4,5,6,7,8,9,10,11,12,x]",
                "Unexpected token 'x', ...\",10,11,12,x]\" is not valid JSON",
            ),
            (
                "{\"name\": \"value\", \"list\": [1, 2, x, 4], \"more\": true}",
                "Unexpected token 'x', ...\"\": [1, 2, x, 4], \"mo\"... is not valid JSON",
            ),
            (
                "[\"é\", x]",
                "Unexpected token 'x', \"[\"é\", x]\" is not valid JSON",
            ),
            (
                "{\"a\":1",
                "Expected ',' or '}' after property value in JSON at position 6",
            ),
            (
                "[1,2,3",
                "Expected ',' or ']' after array element in JSON at position 6",
            ),
            (
                "{\"a\"",
                "Expected ':' after property name in JSON at position 4",
            ),
            ("{\"a\":", "Unexpected end of JSON input"),
            ("[-]", "No number after minus sign in JSON at position 2"),
            ("\"\\", "Unexpected end of JSON input"),
            (
                "{\"a\":1}}",
                "Unexpected non-whitespace character after JSON at position 7",
            ),
            (
                "\u{a0} 1",
                "Unexpected token '\u{a0}', \"\u{a0} 1\" is not valid JSON",
            ),
            (
                "[1,,2]",
                "Unexpected token ',', \"[1,,2]\" is not valid JSON",
            ),
        ];
        for (text, v8) in cases {
            assert_eq!(
                json_parse_error(text).as_deref(),
                Some(*v8),
                "JSON.parse({text:?})"
            );
        }
    }

    #[test]
    fn json_parse_accepts_what_v8_accepts() {
        for text in [
            "  {\"ok\": [1, {\"x\": null}]}  ",
            "\"\u{2028}\"",
            "\"\\ud800\"",
            "-0.5e+10",
            "[]",
            "{ }",
        ] {
            assert_eq!(json_parse_error(text), None, "{text:?}");
        }
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(json_parse_error(&deep), None);
    }
}

#[cfg(test)]
mod null_target_tests {
    use super::*;

    #[test]
    fn null_is_read_from_the_last_assignment() {
        let src = "function f() {\n  let x=null;\n  return x.y;\n}\n";
        let msg = to_v8_in(
            "TypeError",
            "cannot convert 'null' or 'undefined' to object",
            src,
            Some((3, 12)),
        );
        assert_eq!(msg, "Cannot read properties of null (reading 'y')");
        let src = "function f() {\n  let x = null;\n  x = g();\n  return x.y;\n}\n";
        let msg = to_v8_in(
            "TypeError",
            "cannot convert 'null' or 'undefined' to object",
            src,
            Some((4, 12)),
        );
        assert_eq!(msg, "Cannot read properties of undefined (reading 'y')");
    }
}
