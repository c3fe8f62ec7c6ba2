//! The document formats the Cortex API accepts, and the plain text recall works on.
//!
//! Each format is reduced to text the chunker can split on blank lines: prose formats stay as
//! written, HTML loses its markup, JSON and CSV become one `name: value` line per value or row
//! (so a recall hit quotes the field it matched), and PDFs are read page by page so chunks can
//! name their page. Errors are sentences meant for the client, since they end up in the upload's
//! error response.

use std::panic::{self, UnwindSafe};

use html2text::render::TrivialDecorator;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Text,
    Markdown,
    Html,
    Json,
    Csv,
    Pdf,
}

/// The accepted formats, as named in "unsupported format" errors.
pub(crate) const SUPPORTED: &str = "txt, md, html, json, csv, pdf";

/// HTML is rendered this wide so that html2text never wraps a line: line breaks then come only
/// from the document's structure, which is what the chunker splits on.
const HTML_WIDTH: usize = 10_000;

/// Put between PDF pages: a blank line, so a page break is also a paragraph break and no chunk
/// starts on one page without the chunker being able to cut there.
const PAGE_BREAK: &str = "\n\n";

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

impl Format {
    /// From the file name's extension first (txt, text, log, md, markdown, html, htm, json, csv,
    /// pdf; case-insensitive), else from the part's content type (text/plain, text/markdown,
    /// text/html, application/json, text/csv, application/pdf; parameters like
    /// `; charset=utf-8` ignored). None = unsupported.
    pub(crate) fn detect(filename: &str, content_type: Option<&str>) -> Option<Format> {
        extension(filename)
            .and_then(Self::from_extension)
            .or_else(|| content_type.and_then(Self::from_content_type))
    }

    /// The content type reported back for the format.
    pub(crate) fn mime(self) -> &'static str {
        match self {
            Format::Text => "text/plain",
            Format::Markdown => "text/markdown",
            Format::Html => "text/html",
            Format::Json => "application/json",
            Format::Csv => "text/csv",
            Format::Pdf => "application/pdf",
        }
    }

    /// Whether the original bytes are binary (only Pdf), so fetch returns them base64.
    pub(crate) fn is_binary(self) -> bool {
        self == Format::Pdf
    }

    /// Short name for listings.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Pdf => "pdf",
        }
    }

    fn from_extension(extension: &str) -> Option<Format> {
        match extension.to_ascii_lowercase().as_str() {
            "txt" | "text" | "log" => Some(Format::Text),
            "md" | "markdown" => Some(Format::Markdown),
            "html" | "htm" => Some(Format::Html),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    fn from_content_type(content_type: &str) -> Option<Format> {
        let essence = content_type
            .split_once(';')
            .map_or(content_type, |(essence, _)| essence);
        match essence.trim().to_ascii_lowercase().as_str() {
            "text/plain" => Some(Format::Text),
            "text/markdown" => Some(Format::Markdown),
            "text/html" => Some(Format::Html),
            "application/json" => Some(Format::Json),
            "text/csv" => Some(Format::Csv),
            "application/pdf" => Some(Format::Pdf),
            _ => None,
        }
    }
}

/// The extension of the last path component, if it has one ("a/b.tar.gz" gives "gz").
fn extension(filename: &str) -> Option<&str> {
    let base = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
    base.rsplit_once('.')
        .map(|(_, extension)| extension)
        .filter(|extension| !extension.is_empty())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Extracted {
    pub text: String,
    /// byte offsets in `text` where each page starts (PDF only; empty otherwise)
    pub pages: Vec<usize>,
}

/// The text of a document. Err is a sentence for the client, e.g. "the file is not valid UTF-8
/// text" or "the PDF could not be read: <reason>".
pub(crate) fn extract(format: Format, bytes: &[u8]) -> Result<Extracted, String> {
    let text = match format {
        Format::Text | Format::Markdown => utf8_text(bytes)?.to_owned(),
        Format::Html => html_text(utf8_text(bytes)?)?,
        Format::Json => json_text(utf8_text(bytes)?)?,
        Format::Csv => csv_text(utf8_text(bytes)?)?,
        Format::Pdf => return pdf_text(bytes),
    };
    Ok(Extracted {
        text,
        pages: Vec::new(),
    })
}

/// The bytes as UTF-8, without the byte order mark some editors write (it would otherwise end
/// up in the first chunk and in the first CSV header).
fn utf8_text(bytes: &[u8]) -> Result<&str, String> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|_| "the file is not valid UTF-8 text".to_owned())
}

/// Runs a third-party parser, turning a panic into None: pdf-extract (and, on odd input,
/// html2text) can panic instead of returning an error, and one bad upload must not take the
/// request handler down with it.
fn guarded<T>(parse: impl FnOnce() -> T + UnwindSafe) -> Option<T> {
    panic::catch_unwind(parse).ok()
}

/// HTML as plain text: the trivial decorator drops markup entirely (no `#` before headings, no
/// `*` before list items, no `[...]` around links), which is what search should see.
fn html_text(html: &str) -> Result<String, String> {
    let rendered = guarded(|| {
        html2text::config::with_decorator(TrivialDecorator::new())
            .no_table_borders()
            .allow_width_overflow()
            .string_from_read(html.as_bytes(), HTML_WIDTH)
    })
    .ok_or_else(|| "the HTML could not be read".to_owned())?
    .map_err(|e| format!("the HTML could not be read: {e}"))?;
    let lines: Vec<&str> = rendered.lines().map(str::trim_end).collect();
    Ok(lines.join("\n").trim_matches('\n').to_owned())
}

/// JSON as one `path: value` line per scalar, in document order (serde_json keeps key order).
fn json_text(source: &str) -> Result<String, String> {
    let value: Value =
        serde_json::from_str(source).map_err(|e| format!("the file is not valid JSON: {e}"))?;
    let mut lines = Vec::new();
    flatten_json(&value, &mut String::new(), &mut lines);
    Ok(lines.join("\n"))
}

/// Appends a line for every scalar under `value`; `path` is the dotted path to `value` (with
/// `[i]` for array items) and is restored before returning. Empty objects and arrays get a line
/// of their own (`tags: []`) so that the key still shows up in the text.
fn flatten_json(value: &Value, path: &mut String, lines: &mut Vec<String>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                let parent_len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                flatten_json(child, path, lines);
                path.truncate(parent_len);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                let parent_len = path.len();
                path.push_str(&format!("[{i}]"));
                flatten_json(item, path, lines);
                path.truncate(parent_len);
            }
        }
        leaf => lines.push(json_line(path, leaf)),
    }
}

fn json_line(path: &str, leaf: &Value) -> String {
    let rendered = match leaf {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if path.is_empty() {
        rendered
    } else {
        format!("{path}: {rendered}")
    }
}

/// CSV as one `header: value, header: value` line per row. Rows may be longer than the header
/// row (`flexible`): their extra cells are named by column number instead of being an error.
fn csv_text(source: &str) -> Result<String, String> {
    let invalid = |e: csv::Error| format!("the file is not valid CSV: {e}");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(source.as_bytes());
    let headers = reader.headers().map_err(invalid)?.clone();
    let mut lines = Vec::new();
    for record in reader.records() {
        let line = csv_line(&headers, &record.map_err(invalid)?);
        if !line.is_empty() {
            lines.push(line);
        }
    }
    Ok(lines.join("\n"))
}

fn csv_line(headers: &csv::StringRecord, row: &csv::StringRecord) -> String {
    let cells: Vec<String> = row
        .iter()
        .enumerate()
        .filter(|(_, cell)| !cell.is_empty())
        .map(
            |(i, cell)| match headers.get(i).filter(|header| !header.is_empty()) {
                Some(header) => format!("{header}: {cell}"),
                None => format!("column {}: {cell}", i + 1),
            },
        )
        .collect();
    cells.join(", ")
}

/// PDF text page by page, pages separated by [`PAGE_BREAK`] and their start offsets recorded.
fn pdf_text(bytes: &[u8]) -> Result<Extracted, String> {
    let pages = guarded(|| pdf_extract::extract_text_from_mem_by_pages(bytes))
        .ok_or_else(|| "the PDF could not be read".to_owned())?
        .map_err(|e| format!("the PDF could not be read: {e}"))?;
    Ok(join_pages(
        pages.iter().map(String::as_str).map(normalise_pdf_page),
    ))
}

fn join_pages(pages: impl IntoIterator<Item = String>) -> Extracted {
    let mut text = String::new();
    let mut starts = Vec::new();
    for (i, page) in pages.into_iter().enumerate() {
        if i > 0 {
            text.push_str(PAGE_BREAK);
        }
        starts.push(text.len());
        text.push_str(&page);
    }
    Extracted {
        text,
        pages: starts,
    }
}

/// pdf-extract places words by their position on the page, which leaves runs of spaces, blank
/// lines above the first line of text and several blank lines between blocks; only one blank
/// line between blocks is kept, as a paragraph break for the chunker.
fn normalise_pdf_page(page: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in page.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        let after_blank_or_start = lines.last().is_none_or(|last| last.is_empty());
        if line.is_empty() && after_blank_or_start {
            continue;
        }
        lines.push(line);
    }
    while lines.last().is_some_and(|last| last.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid one-page PDF showing `text` (plain ASCII, no parentheses or backslashes) in
    /// Helvetica, with the xref table's byte offsets computed as the objects are written.
    fn minimal_pdf(text: &str) -> Vec<u8> {
        let content = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
            "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> \
             /MediaBox [0 0 612 792] /Contents 4 0 R >>"
                .to_owned(),
            format!(
                "<< /Length {} >>\nstream\n{content}\nendstream",
                content.len()
            ),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        ];
        let mut pdf = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(pdf.len());
            pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
        }
        let xref_offset = pdf.len();
        let size = objects.len() + 1;
        let mut xref = format!("xref\n0 {size}\n0000000000 65535 f \n");
        for offset in offsets {
            xref.push_str(&format!("{offset:010} 00000 n \n"));
        }
        xref.push_str(&format!(
            "trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref_offset}\n%%EOF\n"
        ));
        pdf.extend_from_slice(xref.as_bytes());
        pdf
    }

    fn text_of(format: Format, source: &str) -> String {
        extract(format, source.as_bytes()).unwrap().text
    }

    #[test]
    fn detects_by_extension_case_insensitively() {
        let cases = [
            ("notes.TXT", Format::Text),
            ("server.log", Format::Text),
            ("a.text", Format::Text),
            ("README.md", Format::Markdown),
            ("guide.Markdown", Format::Markdown),
            ("site/index.htm", Format::Html),
            ("page.html", Format::Html),
            ("data.json", Format::Json),
            ("C:\\exports\\rows.CSV", Format::Csv),
            ("report.v2.pdf", Format::Pdf),
        ];
        for (filename, format) in cases {
            assert_eq!(Format::detect(filename, None), Some(format), "{filename}");
        }
    }

    #[test]
    fn extension_wins_over_content_type() {
        assert_eq!(
            Format::detect("a.md", Some("text/plain")),
            Some(Format::Markdown)
        );
    }

    #[test]
    fn detects_by_content_type_when_the_extension_says_nothing() {
        let html = Some("Text/HTML; charset=utf-8");
        assert_eq!(Format::detect("upload", html), Some(Format::Html));
        assert_eq!(
            Format::detect("blob.bin", Some("text/csv")),
            Some(Format::Csv)
        );
        assert_eq!(
            Format::detect("x", Some("application/pdf")),
            Some(Format::Pdf)
        );
        assert_eq!(
            Format::detect("x.", Some(" application/json ")),
            Some(Format::Json)
        );
        assert_eq!(
            Format::detect("x", Some("text/markdown")),
            Some(Format::Markdown)
        );
        assert_eq!(
            Format::detect("x", Some("text/plain;format=flowed")),
            Some(Format::Text)
        );
    }

    #[test]
    fn unsupported_formats_are_none() {
        assert_eq!(Format::detect("letter.docx", None), None);
        assert_eq!(
            Format::detect("letter.docx", Some("application/msword")),
            None
        );
        assert_eq!(Format::detect("noextension", None), None);
        assert_eq!(Format::detect("dir.md/file", None), None);
    }

    #[test]
    fn format_names_and_content_types() {
        assert_eq!(Format::Markdown.mime(), "text/markdown");
        assert_eq!(Format::Pdf.mime(), "application/pdf");
        assert_eq!(Format::Csv.name(), "csv");
        assert!(Format::Pdf.is_binary());
        assert!(!Format::Json.is_binary());
        for format in [
            Format::Text,
            Format::Markdown,
            Format::Html,
            Format::Json,
            Format::Csv,
        ] {
            assert_eq!(Format::detect("x", Some(format.mime())), Some(format));
        }
    }

    #[test]
    fn every_extension_named_as_supported_is_detected() {
        for extension in SUPPORTED.split(", ") {
            let filename = format!("file.{extension}");
            assert!(Format::detect(&filename, None).is_some(), "{filename}");
        }
    }

    #[test]
    fn text_is_kept_as_is_without_a_bom() {
        let extracted = extract(Format::Text, b"\xEF\xBB\xBFhello\r\n  world  \n").unwrap();
        assert_eq!(extracted.text, "hello\r\n  world  \n");
        assert!(extracted.pages.is_empty());
    }

    #[test]
    fn markdown_is_verbatim() {
        let source = "# Title\n\n* item **bold**\n\n```\ncode\n```\n";
        assert_eq!(text_of(Format::Markdown, source), source);
    }

    #[test]
    fn non_utf8_text_is_refused() {
        for format in [
            Format::Text,
            Format::Markdown,
            Format::Html,
            Format::Json,
            Format::Csv,
        ] {
            assert_eq!(
                extract(format, b"caf\xE9").unwrap_err(),
                "the file is not valid UTF-8 text"
            );
        }
    }

    #[test]
    fn html_loses_its_markup_and_keeps_long_lines() {
        let long = "word ".repeat(60);
        let html = format!(
            "<html><head><title>T</title></head><body><h1>Title</h1>\
             <p>Hello <b>bold</b> and <a href='https://example.com/'>a link</a>.</p>\
             <ul><li>One</li><li>Two</li></ul><p>{long}</p></body></html>"
        );
        let text = text_of(Format::Html, &html);
        let lines: Vec<&str> = text.lines().collect();
        for expected in [
            "Title",
            "Hello bold and a link.",
            "One",
            "Two",
            long.trim_end(),
        ] {
            assert!(
                lines.contains(&expected),
                "{expected:?} missing from {text:?}"
            );
        }
        assert!(!text.contains(['#', '*', '[', '<']), "{text:?}");
        assert!(lines.iter().all(|line| !line.ends_with(' ')));
        assert!(!text.starts_with('\n') && !text.ends_with('\n'));
    }

    #[test]
    fn json_is_flattened_to_path_lines() {
        let source = r#"{"title": "Catalog", "items": [{"name": "Widget", "price": 9.5,
            "tags": ["a", "b"]}], "active": true, "none": null, "empty": []}"#;
        assert_eq!(
            text_of(Format::Json, source),
            "title: Catalog\n\
             items[0].name: Widget\n\
             items[0].price: 9.5\n\
             items[0].tags[0]: a\n\
             items[0].tags[1]: b\n\
             active: true\n\
             none: null\n\
             empty: []"
        );
        assert_eq!(text_of(Format::Json, "[1, \"two\"]"), "[0]: 1\n[1]: two");
        assert_eq!(text_of(Format::Json, "\"just text\""), "just text");
    }

    #[test]
    fn invalid_json_is_refused_with_the_reason() {
        let error = extract(Format::Json, b"{\"a\": }").unwrap_err();
        assert!(error.starts_with("the file is not valid JSON: "), "{error}");
        assert!(error.contains("line 1"), "{error}");
    }

    #[test]
    fn csv_rows_become_header_value_lines() {
        let source =
            "\u{FEFF}name,price,note\nWidget,9.5,\n\"Big, red\", 12 ,shiny\n,,\nLone,1,x,extra\n";
        assert_eq!(
            text_of(Format::Csv, source),
            "name: Widget, price: 9.5\n\
             name: Big, red, price: 12, note: shiny\n\
             name: Lone, price: 1, note: x, column 4: extra"
        );
        assert_eq!(text_of(Format::Csv, "only,headers\n"), "");
    }

    #[test]
    fn pdf_text_comes_back_with_its_page() {
        let extracted = extract(Format::Pdf, &minimal_pdf("Hello PDF world")).unwrap();
        assert!(
            extracted.text.contains("Hello PDF world"),
            "{:?}",
            extracted.text
        );
        assert_eq!(extracted.pages, [0]);
        assert_eq!(extracted.text, extracted.text.trim());
    }

    #[test]
    fn unreadable_pdf_is_refused() {
        let error = extract(Format::Pdf, b"%PDF-1.4\nnot really").unwrap_err();
        assert!(error.starts_with("the PDF could not be read"), "{error}");
        let truncated = &minimal_pdf("Hello")[..40];
        assert!(extract(Format::Pdf, truncated).is_err());
    }

    #[test]
    fn pdf_pages_are_joined_with_their_offsets() {
        let extracted = join_pages(["one".to_owned(), String::new(), "three".to_owned()]);
        assert_eq!(extracted.text, "one\n\n\n\nthree");
        assert_eq!(extracted.pages, [0, 5, 7]);
    }

    #[test]
    fn pdf_page_text_is_normalised() {
        let page = "\n\n   Hello    world \t \n\n\n\n  second   line \n \n\n";
        assert_eq!(normalise_pdf_page(page), "Hello world\n\nsecond line");
        assert_eq!(normalise_pdf_page(" \n \n"), "");
    }
}
