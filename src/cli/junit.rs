//! JUnit XML for `cortex-emu test --junit FILE` (the shape CI systems read: `testsuites` →
//! `testsuite` per tool → `testcase` per case, with `failure` elements). A handful of elements
//! with escaped text: simpler to write directly than to drive an XML library.

use std::collections::BTreeMap;

use crate::domain::cases::CaseOutcome;

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even when escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

pub fn render(outcomes: &[CaseOutcome], problems: &[(String, String)]) -> String {
    let mut suites: BTreeMap<&str, Vec<&CaseOutcome>> = BTreeMap::new();
    for o in outcomes {
        suites.entry(o.tool.as_str()).or_default().push(o);
    }
    let failures = outcomes.iter().filter(|o| !o.passed).count() + problems.len();
    // A fold from 0.0, not `sum()`: an empty f64 sum is -0.0, which would print `-0.000`.
    let total_time: f64 = outcomes
        .iter()
        .fold(0.0, |t, o| t + o.duration.as_secs_f64());
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites name=\"cortex-emu\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{total_time:.3}\">\n",
        outcomes.len() + problems.len()
    ));
    for (tool, cases) in &suites {
        let fails = cases.iter().filter(|c| !c.passed).count();
        let time: f64 = cases.iter().fold(0.0, |t, c| t + c.duration.as_secs_f64());
        x.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{fails}\" errors=\"0\" skipped=\"0\" time=\"{time:.3}\">\n",
            escape(tool),
            cases.len()
        ));
        for c in cases {
            x.push_str(&format!(
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
                escape(&c.case),
                escape(tool),
                c.duration.as_secs_f64()
            ));
            if c.passed {
                x.push_str("/>\n");
            } else {
                let first = c.diff.first().cloned().unwrap_or_default();
                x.push_str(&format!(
                    ">\n      <failure message=\"{}\" type=\"mismatch\">{}</failure>\n",
                    escape(&first),
                    escape(&c.diff.join("\n"))
                ));
                if !c.logs.is_empty() {
                    x.push_str(&format!(
                        "      <system-out>{}</system-out>\n",
                        escape(&c.logs)
                    ));
                }
                x.push_str("    </testcase>\n");
            }
        }
        x.push_str("  </testsuite>\n");
    }
    for (folder, message) in problems {
        x.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"1\" failures=\"1\" errors=\"0\" skipped=\"0\" time=\"0\">\n    <testcase name=\"load\" classname=\"{}\" time=\"0\">\n      <failure message=\"{}\" type=\"load\"/>\n    </testcase>\n  </testsuite>\n",
            escape(folder),
            escape(folder),
            escape(message)
        ));
    }
    x.push_str("</testsuites>\n");
    x
}
