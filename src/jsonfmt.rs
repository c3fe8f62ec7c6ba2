//! JSON text in the two styles the platform's output shows.
//!
//! `serde_json` writes compact JSON with raw UTF-8; the platform's documented bodies are written the
//! way Python's `json.dumps` writes them by default (`", "` / `": "` separators, non-ASCII escaped
//! as `\uXXXX`, floats as Python's `repr`), and the Lua runtime's `json.encode` writes the way Go's
//! `encoding/json` does (compact, HTML characters escaped, keys sorted). No crate emits either style
//! byte for byte, so the few lines that matter are written here.

use serde_json::{Map, Number, Value};

/// Output style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Python `json.dumps(value)` with its defaults.
    Python,
    /// Go `json.Marshal(value)`, as GopherLua's `json.encode` produces it.
    Go,
}

/// Serializes `value` in `style`.
pub fn to_string(value: &Value, style: Style) -> String {
    let mut out = String::with_capacity(64);
    write_value(&mut out, value, style);
    out
}

/// Serializes a string as a JSON string literal in the Python style.
pub fn python_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_str(&mut out, s, Style::Python);
    out
}

fn write_value(out: &mut String, value: &Value, style: Style) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n, style),
        Value::String(s) => write_str(out, s, style),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(if style == Style::Python { ", " } else { "," });
                }
                write_value(out, item, style);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map, style),
    }
}

fn write_object(out: &mut String, map: &Map<String, Value>, style: Style) {
    out.push('{');
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    if style == Style::Go {
        entries.sort_by(|a, b| a.0.cmp(b.0));
    }
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push_str(if style == Style::Python { ", " } else { "," });
        }
        write_str(out, k, style);
        out.push_str(if style == Style::Python { ": " } else { ":" });
        write_value(out, v, style);
    }
    out.push('}');
}

fn write_number(out: &mut String, n: &Number, style: Style) {
    if let Some(i) = n.as_i64() {
        out.push_str(&i.to_string());
    } else if let Some(u) = n.as_u64() {
        out.push_str(&u.to_string());
    } else if let Some(f) = n.as_f64() {
        match style {
            Style::Python => out.push_str(&python_float_repr(f)),
            Style::Go => out.push_str(&go_float(f)),
        }
    }
}

/// Splits a finite, non-zero float into its shortest round-trip digits and decimal exponent, so
/// that `f = 0.d1d2d3... * 10^(exp+1)`, i.e. `d1.d2d3... * 10^exp`.
fn shortest_digits(f: f64) -> (String, i32) {
    // `{:e}` prints the shortest representation that round-trips, e.g. `1.2345e-5`.
    let s = format!("{:e}", f.abs());
    let (mantissa, exp) = s.split_once('e').expect("LowerExp always has an exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    (digits, exp.parse().expect("exponent is an integer"))
}

/// Python's `repr(float)`: fixed notation for exponents in [-4, 16), scientific otherwise.
pub fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let sign = if f < 0.0 { "-" } else { "" };
    let (digits, exp) = shortest_digits(f);
    if (-4..16).contains(&exp) {
        format!("{sign}{}", fixed_notation(&digits, exp, true))
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exp.abs())
    }
}

/// Go's `strconv.FormatFloat(f, 'f' or 'e', -1, 64)` as `encoding/json` picks it.
fn go_float(f: f64) -> String {
    if !f.is_finite() {
        return "null".into();
    }
    if f == 0.0 {
        return "0".into();
    }
    let sign = if f < 0.0 { "-" } else { "" };
    let abs = f.abs();
    let (digits, exp) = shortest_digits(f);
    if !(1e-6..1e21).contains(&abs) {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        // encoding/json trims "e-07" to "e-7".
        format!("{sign}{mantissa}e{exp_sign}{}", exp.abs())
    } else {
        format!("{sign}{}", fixed_notation(&digits, exp, false))
    }
}

fn fixed_notation(digits: &str, exp: i32, force_point: bool) -> String {
    let n = digits.len() as i32;
    if exp < 0 {
        format!("0.{}{}", "0".repeat((-exp - 1) as usize), digits)
    } else if exp + 1 >= n {
        let zeros = "0".repeat((exp + 1 - n) as usize);
        if force_point {
            format!("{digits}{zeros}.0")
        } else {
            format!("{digits}{zeros}")
        }
    } else {
        let (int, frac) = digits.split_at((exp + 1) as usize);
        format!("{int}.{frac}")
    }
}

fn write_str(out: &mut String, s: &str, style: Style) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' if style == Style::Python => out.push_str("\\b"),
            '\u{c}' if style == Style::Python => out.push_str("\\f"),
            '<' | '>' | '&' if style == Style::Go => push_u(out, c as u32),
            '\u{2028}' | '\u{2029}' if style == Style::Go => push_u(out, c as u32),
            c if (c as u32) < 0x20 => push_u(out, c as u32),
            c if (c as u32) > 0x7e && style == Style::Python => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    push_u(out, *unit as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_u(out: &mut String, unit: u32) {
    out.push_str(&format!("\\u{unit:04x}"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_style_matches_json_dumps() {
        let v = json!({"a": 1, "b": [1.5, "é", null, true], "c": {"x": "q\"\n"}});
        assert_eq!(
            to_string(&v, Style::Python),
            r#"{"a": 1, "b": [1.5, "\u00e9", null, true], "c": {"x": "q\"\n"}}"#
        );
        assert_eq!(to_string(&json!("😀"), Style::Python), r#""\ud83d\ude00""#);
    }

    #[test]
    fn python_float_repr_cases() {
        for (f, s) in [
            (5.0, "5.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e15, "1000000000000000.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (123.456, "123.456"),
            (-2.5e-7, "-2.5e-07"),
        ] {
            assert_eq!(python_float_repr(f), s, "{f}");
        }
    }

    #[test]
    fn go_style_sorts_and_escapes() {
        let v = json!({"b": 1, "a": "<é>", "c": 0.5});
        assert_eq!(
            to_string(&v, Style::Go),
            r#"{"a":"\u003cé\u003e","b":1,"c":0.5}"#
        );
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(1e-7), "1e-7");
        assert_eq!(go_float(123456.0), "123456");
    }
}
