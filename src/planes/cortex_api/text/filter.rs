//! A small subset of Milvus boolean filter expressions, for `filter_expr` on raw-embedding
//! search.
//!
//! The real service hands `filter_expr` to Milvus; the emulator keeps its chunks in SQLite, so it
//! parses the subset clients actually send and evaluates it per chunk instead:
//!
//! ```text
//! or         := and (("or" | "||") and)*
//! and        := unary (("and" | "&&") unary)*
//! unary      := ("not" | "!") unary | "(" or ")" | comparison
//! comparison := field op value | field ["not"] "in" "[" value ("," value)* "]"
//! op         := == | != | > | >= | < | <=
//! field      := source_id | chunk_id | metadata["key"]["nested"]... | key
//! value      := "string" | 'string' | number | true | false
//! ```
//!
//! Keywords are case-insensitive. A field that is missing (or JSON null) makes every comparison
//! false except `not in`; numbers compare numerically whether stored as integers or floats,
//! strings lexicographically, and values of different types are never equal or ordered.

use std::cmp::Ordering;

use serde_json::Value as Json;

/// Parentheses and `not` nest at most this deep, so that a hostile expression cannot overflow
/// the stack of the request handler; `and`/`or` chains are flat lists and do not nest.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// At least two terms, any of which must hold.
    Or(Vec<Expr>),
    /// At least two terms, all of which must hold.
    And(Vec<Expr>),
    Not(Box<Expr>),
    Compare {
        field: Field,
        op: CmpOp,
        value: Literal,
    },
    In {
        field: Field,
        values: Vec<Literal>,
        negated: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field {
    SourceId,
    ChunkId,
    /// The path of keys into the chunk's metadata object.
    Metadata(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Equal,
    NotEqual,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
}

/// Parses a filter expression. Err is a sentence naming the position and what was expected,
/// e.g. "filter_expr: expected a value after == at column 12".
pub(crate) fn parse(src: &str) -> Result<Expr, String> {
    let tokens = lex(src)?;
    if tokens.is_empty() {
        return Err("filter_expr: the expression is empty".to_owned());
    }
    let mut parser = Parser {
        tokens,
        position: 0,
        end_column: src.chars().count() + 1,
        depth: 0,
    };
    let expr = parser.or()?;
    if parser.peek().is_some() {
        return Err(parser.expected("`and`, `or` or the end of the expression"));
    }
    Ok(expr)
}

impl Expr {
    /// Whether a chunk with these ids and metadata passes the filter.
    pub(crate) fn matches(&self, source_id: &str, chunk_id: &str, metadata: &Json) -> bool {
        self.holds(&Row {
            source_id,
            chunk_id,
            metadata,
        })
    }

    fn holds(&self, row: &Row<'_>) -> bool {
        match self {
            Expr::Or(terms) => terms.iter().any(|term| term.holds(row)),
            Expr::And(terms) => terms.iter().all(|term| term.holds(row)),
            Expr::Not(inner) => !inner.holds(row),
            Expr::Compare { field, op, value } => row
                .get(field)
                .is_some_and(|actual| op.compare(actual, value)),
            Expr::In {
                field,
                values,
                negated,
            } => match row.get(field) {
                Some(actual) => values.iter().any(|value| equals(actual, value)) != *negated,
                None => *negated,
            },
        }
    }

    /// `terms` as one expression: the term itself when there is only one.
    fn any_of(terms: Vec<Expr>) -> Expr {
        match <[Expr; 1]>::try_from(terms) {
            Ok([single]) => single,
            Err(terms) => Expr::Or(terms),
        }
    }

    fn all_of(terms: Vec<Expr>) -> Expr {
        match <[Expr; 1]>::try_from(terms) {
            Ok([single]) => single,
            Err(terms) => Expr::And(terms),
        }
    }
}

impl CmpOp {
    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Equal => "==",
            CmpOp::NotEqual => "!=",
            CmpOp::Greater => ">",
            CmpOp::GreaterOrEqual => ">=",
            CmpOp::Less => "<",
            CmpOp::LessOrEqual => "<=",
        }
    }

    fn compare(self, actual: Actual<'_>, expected: &Literal) -> bool {
        match self {
            CmpOp::Equal => equals(actual, expected),
            CmpOp::NotEqual => !equals(actual, expected),
            CmpOp::Greater => order(actual, expected).is_some_and(Ordering::is_gt),
            CmpOp::GreaterOrEqual => order(actual, expected).is_some_and(Ordering::is_ge),
            CmpOp::Less => order(actual, expected).is_some_and(Ordering::is_lt),
            CmpOp::LessOrEqual => order(actual, expected).is_some_and(Ordering::is_le),
        }
    }
}

/// The chunk a filter is evaluated against.
struct Row<'a> {
    source_id: &'a str,
    chunk_id: &'a str,
    metadata: &'a Json,
}

/// A field's value in a row, as far as comparisons care.
#[derive(Debug, Clone, Copy)]
enum Actual<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
    /// An array or object: present, but equal to no literal and ordered against none.
    Other,
}

impl<'a> Row<'a> {
    /// The field's value; None when it is missing or JSON null.
    fn get(&self, field: &Field) -> Option<Actual<'a>> {
        match field {
            Field::SourceId => Some(Actual::Str(self.source_id)),
            Field::ChunkId => Some(Actual::Str(self.chunk_id)),
            Field::Metadata(path) => {
                let value = path
                    .iter()
                    .try_fold(self.metadata, |value, key| value.get(key.as_str()))?;
                actual(value)
            }
        }
    }
}

fn actual(value: &Json) -> Option<Actual<'_>> {
    match value {
        Json::Null => None,
        Json::String(s) => Some(Actual::Str(s)),
        Json::Number(n) => Some(n.as_f64().map_or(Actual::Other, Actual::Num)),
        Json::Bool(b) => Some(Actual::Bool(*b)),
        Json::Array(_) | Json::Object(_) => Some(Actual::Other),
    }
}

fn equals(actual: Actual<'_>, expected: &Literal) -> bool {
    match (actual, expected) {
        (Actual::Bool(a), Literal::Bool(e)) => a == *e,
        _ => order(actual, expected) == Some(Ordering::Equal),
    }
}

/// How the value orders against the literal; None across types (and for booleans, which have
/// no order in Milvus either).
fn order(actual: Actual<'_>, expected: &Literal) -> Option<Ordering> {
    match (actual, expected) {
        (Actual::Num(a), Literal::Num(e)) => a.partial_cmp(e),
        (Actual::Str(a), Literal::Str(e)) => Some(a.cmp(e.as_str())),
        _ => None,
    }
}

// ---- lexing ----

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Ident(String),
    Str(String),
    Num(f64),
    Bool(bool),
    And,
    Or,
    Not,
    In,
    Op(CmpOp),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    /// 1-based, in characters, for error messages.
    column: usize,
}

fn lex(src: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let (kind, next) = lex_token(&chars, i)?;
        tokens.push(Token {
            kind,
            column: i + 1,
        });
        i = next;
    }
    Ok(tokens)
}

/// The token starting at `chars[i]` (not whitespace) and the index just past it.
fn lex_token(chars: &[char], i: usize) -> Result<(Kind, usize), String> {
    let c = chars[i];
    let next = chars.get(i + 1).copied();
    let one = |kind: Kind| -> Result<(Kind, usize), String> { Ok((kind, i + 1)) };
    let two = |kind: Kind| -> Result<(Kind, usize), String> { Ok((kind, i + 2)) };
    match (c, next) {
        ('(', _) => one(Kind::LParen),
        (')', _) => one(Kind::RParen),
        ('[', _) => one(Kind::LBracket),
        (']', _) => one(Kind::RBracket),
        (',', _) => one(Kind::Comma),
        ('=', Some('=')) => two(Kind::Op(CmpOp::Equal)),
        ('!', Some('=')) => two(Kind::Op(CmpOp::NotEqual)),
        ('>', Some('=')) => two(Kind::Op(CmpOp::GreaterOrEqual)),
        ('<', Some('=')) => two(Kind::Op(CmpOp::LessOrEqual)),
        ('>', _) => one(Kind::Op(CmpOp::Greater)),
        ('<', _) => one(Kind::Op(CmpOp::Less)),
        ('!', _) => one(Kind::Not),
        ('&', Some('&')) => two(Kind::And),
        ('|', Some('|')) => two(Kind::Or),
        ('=', _) => Err(format!(
            "filter_expr: expected == (not =) at column {}",
            i + 1
        )),
        ('&', _) => Err(format!("filter_expr: expected && at column {}", i + 1)),
        ('|', _) => Err(format!("filter_expr: expected || at column {}", i + 1)),
        ('"' | '\'', _) => lex_string(chars, i),
        _ if starts_number(c, next) => lex_number(chars, i),
        _ if c.is_alphabetic() || c == '_' => Ok(lex_word(chars, i)),
        _ => Err(format!(
            "filter_expr: unexpected character '{c}' at column {}",
            i + 1
        )),
    }
}

fn starts_number(c: char, next: Option<char>) -> bool {
    let next_is_digit = next.is_some_and(|n| n.is_ascii_digit());
    c.is_ascii_digit() || ((c == '-' || c == '.') && next_is_digit)
}

fn lex_string(chars: &[char], i: usize) -> Result<(Kind, usize), String> {
    let quote = chars[i];
    let unterminated = || {
        format!(
            "filter_expr: unterminated string starting at column {}",
            i + 1
        )
    };
    let mut value = String::new();
    let mut j = i + 1;
    while let Some(&c) = chars.get(j) {
        if c == quote {
            return Ok((Kind::Str(value), j + 1));
        }
        if c == '\\' {
            let escaped = chars.get(j + 1).copied().ok_or_else(unterminated)?;
            let unescaped = unescape(escaped).ok_or_else(|| {
                format!(
                    "filter_expr: unknown escape \\{escaped} at column {}",
                    j + 1
                )
            })?;
            value.push(unescaped);
            j += 2;
        } else {
            value.push(c);
            j += 1;
        }
    }
    Err(unterminated())
}

fn unescape(c: char) -> Option<char> {
    match c {
        'n' => Some('\n'),
        't' => Some('\t'),
        'r' => Some('\r'),
        '\\' | '"' | '\'' => Some(c),
        _ => None,
    }
}

/// An optionally negative integer or float, with an optional exponent.
fn lex_number(chars: &[char], i: usize) -> Result<(Kind, usize), String> {
    let digits_from = |from: usize| {
        (from..chars.len())
            .find(|&j| !chars[j].is_ascii_digit())
            .unwrap_or(chars.len())
    };
    let mut end = digits_from(if chars[i] == '-' { i + 1 } else { i });
    if chars.get(end) == Some(&'.') {
        end = digits_from(end + 1);
    }
    if matches!(chars.get(end), Some('e' | 'E')) {
        let sign = usize::from(matches!(chars.get(end + 1), Some('+' | '-')));
        if chars.get(end + 1 + sign).is_some_and(char::is_ascii_digit) {
            end = digits_from(end + 1 + sign);
        }
    }
    let text: String = chars[i..end].iter().collect();
    match text.parse::<f64>() {
        Ok(number) if number.is_finite() => Ok((Kind::Num(number), end)),
        _ => Err(format!(
            "filter_expr: {text} is not a valid number at column {}",
            i + 1
        )),
    }
}

/// An identifier or keyword; keywords are case-insensitive, identifiers are kept as written.
fn lex_word(chars: &[char], i: usize) -> (Kind, usize) {
    let end = (i..chars.len())
        .find(|&j| !(chars[j].is_alphanumeric() || chars[j] == '_'))
        .unwrap_or(chars.len());
    let word: String = chars[i..end].iter().collect();
    let kind = match word.to_ascii_lowercase().as_str() {
        "and" => Kind::And,
        "or" => Kind::Or,
        "not" => Kind::Not,
        "in" => Kind::In,
        "true" => Kind::Bool(true),
        "false" => Kind::Bool(false),
        _ => Kind::Ident(word),
    };
    (kind, end)
}

// ---- parsing ----

struct Parser {
    tokens: Vec<Token>,
    position: usize,
    /// The column just past the last character, reported when the expression ends too early.
    end_column: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Kind> {
        self.tokens.get(self.position).map(|token| &token.kind)
    }

    fn column(&self) -> usize {
        self.tokens
            .get(self.position)
            .map_or(self.end_column, |token| token.column)
    }

    /// Consumes the next token if it is `kind`.
    fn eat(&mut self, kind: &Kind) -> bool {
        let found = self.peek() == Some(kind);
        if found {
            self.position += 1;
        }
        found
    }

    fn expected(&self, what: &str) -> String {
        format!("filter_expr: expected {what} at column {}", self.column())
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut terms = vec![self.and()?];
        while self.eat(&Kind::Or) {
            terms.push(self.and()?);
        }
        Ok(Expr::any_of(terms))
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut terms = vec![self.unary()?];
        while self.eat(&Kind::And) {
            terms.push(self.unary()?);
        }
        Ok(Expr::all_of(terms))
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat(&Kind::Not) {
            let inner = self.nested(Self::unary)?;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.eat(&Kind::LParen) {
            let inner = self.nested(Self::or)?;
            if !self.eat(&Kind::RParen) {
                return Err(self.expected("a closing )"));
            }
            return Ok(inner);
        }
        self.comparison()
    }

    /// Runs `parse` one nesting level deeper, refusing to go past [`MAX_DEPTH`].
    fn nested(&mut self, parse: fn(&mut Self) -> Result<Expr, String>) -> Result<Expr, String> {
        if self.depth >= MAX_DEPTH {
            return Err(format!(
                "filter_expr: the expression nests more than {MAX_DEPTH} levels deep at column {}",
                self.column()
            ));
        }
        self.depth += 1;
        let result = parse(self);
        self.depth -= 1;
        result
    }

    fn comparison(&mut self) -> Result<Expr, String> {
        let field = self.field()?;
        match self.peek().cloned() {
            Some(Kind::Op(op)) => {
                self.position += 1;
                let value = self.value(op.symbol())?;
                Ok(Expr::Compare { field, op, value })
            }
            Some(Kind::In) => {
                self.position += 1;
                let values = self.list("in")?;
                Ok(Expr::In {
                    field,
                    values,
                    negated: false,
                })
            }
            Some(Kind::Not) => {
                self.position += 1;
                if !self.eat(&Kind::In) {
                    return Err(self.expected("in after not"));
                }
                let values = self.list("not in")?;
                Ok(Expr::In {
                    field,
                    values,
                    negated: true,
                })
            }
            _ => Err(self.expected("an operator (==, !=, >, >=, <, <=, in or not in)")),
        }
    }

    fn field(&mut self) -> Result<Field, String> {
        let Some(Kind::Ident(name)) = self.peek().cloned() else {
            return Err(
                self.expected("a field (source_id, chunk_id, metadata[\"key\"] or a metadata key)")
            );
        };
        self.position += 1;
        match name.as_str() {
            "source_id" => Ok(Field::SourceId),
            "chunk_id" => Ok(Field::ChunkId),
            "metadata" => self.metadata_path().map(Field::Metadata),
            _ => Ok(Field::Metadata(vec![name.clone()])),
        }
    }

    /// The `["key"]["nested"]...` after `metadata`; at least one key.
    fn metadata_path(&mut self) -> Result<Vec<String>, String> {
        let mut keys = Vec::new();
        while self.eat(&Kind::LBracket) {
            let Some(Kind::Str(key)) = self.peek().cloned() else {
                return Err(self.expected("a quoted key after metadata["));
            };
            self.position += 1;
            if !self.eat(&Kind::RBracket) {
                return Err(self.expected("] after the metadata key"));
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(self.expected("[\"key\"] after metadata"));
        }
        Ok(keys)
    }

    /// A literal; `after` names what precedes it, for the error message.
    fn value(&mut self, after: &str) -> Result<Literal, String> {
        let literal = match self.peek() {
            Some(Kind::Str(s)) => Literal::Str(s.clone()),
            Some(Kind::Num(n)) => Literal::Num(*n),
            Some(Kind::Bool(b)) => Literal::Bool(*b),
            _ => return Err(self.expected(&format!("a value after {after}"))),
        };
        self.position += 1;
        Ok(literal)
    }

    fn list(&mut self, after: &str) -> Result<Vec<Literal>, String> {
        if !self.eat(&Kind::LBracket) {
            return Err(self.expected(&format!("[ after {after}")));
        }
        let mut values = vec![self.value("[")?];
        while self.eat(&Kind::Comma) {
            values.push(self.value(",")?);
        }
        if !self.eat(&Kind::RBracket) {
            return Err(self.expected(", or ] in the list"));
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metadata() -> Json {
        json!({
            "lang": "en",
            "year": 2021,
            "score": 4.5,
            "draft": false,
            "nothing": null,
            "author": {"name": "Ada", "born": 1815},
            "tags": ["a", "b"],
            "quote": "say \"hi\""
        })
    }

    fn check(src: &str) -> bool {
        parse(src)
            .unwrap_or_else(|e| panic!("{src}: {e}"))
            .matches("doc-1", "doc-1#3", &metadata())
    }

    fn error(src: &str) -> String {
        let message = parse(src).expect_err(src);
        assert!(message.starts_with("filter_expr: "), "{message}");
        message
    }

    #[test]
    fn equality_on_strings_numbers_and_booleans() {
        assert!(check(r#"metadata["lang"] == "en""#));
        assert!(!check("lang == 'fr'"));
        assert!(check("lang != 'fr'"));
        assert!(!check("lang != 'en'"));
        assert!(check("score == 4.5"));
        assert!(check("year == 2021.0"), "ints and floats compare alike");
        assert!(check("draft == false"));
        assert!(check("draft != TRUE"));
        assert!(check(r#"quote == "say \"hi\"""#));
    }

    #[test]
    fn ordering_operators() {
        assert!(check("year > 2020"));
        assert!(!check("year > 2021"));
        assert!(check("year >= 2021"));
        assert!(check("year < 2021.5"));
        assert!(!check("year <= 2020"));
        assert!(check("score > -1"));
        assert!(check("score <= 4.5e0"));
        assert!(check("lang < 'fr'"), "strings compare lexicographically");
        assert!(check("lang >= 'en'"));
    }

    #[test]
    fn different_types_are_never_equal_or_ordered() {
        assert!(!check("year == '2021'"));
        assert!(check("year != '2021'"));
        assert!(!check("year > 'a'"));
        assert!(!check("lang < 5"));
        assert!(!check("draft < true"));
        assert!(!check("tags == 'a'"));
        assert!(!check("author > 1"));
    }

    #[test]
    fn missing_fields_fail_every_comparison_except_not_in() {
        for src in [
            "missing == 1",
            "missing != 1",
            "missing > 1",
            "missing <= 1",
            "missing in [1]",
            "nothing == 1",
            "nothing != 1",
            "metadata['author']['missing'] == 'x'",
            "metadata['lang']['deeper'] == 'x'",
        ] {
            assert!(!check(src), "{src}");
        }
        assert!(check("missing not in [1]"));
        assert!(check("nothing not in ['x']"));
        assert!(check("not missing == 1"));
    }

    #[test]
    fn ids_and_in_lists() {
        assert!(check("source_id == 'doc-1'"));
        assert!(check("chunk_id in ['doc-1#2', \"doc-1#3\"]"));
        assert!(!check("chunk_id not in ['doc-1#3']"));
        assert!(check("lang in ['de', 'en']"));
        assert!(check("lang NOT IN ['de']"));
        assert!(check("year in [2020, 2021]"));
        assert!(!check("year in ['2021']"));
    }

    #[test]
    fn nested_metadata_with_either_quote() {
        assert!(check(r#"metadata["author"]["name"] == "Ada""#));
        assert!(check("metadata['author']['born'] < 1900"));
        assert!(!check("metadata['author'] == 'Ada'"));
        assert_eq!(
            parse("metadata['a']['b'] == 1").unwrap(),
            Expr::Compare {
                field: Field::Metadata(vec!["a".to_owned(), "b".to_owned()]),
                op: CmpOp::Equal,
                value: Literal::Num(1.0),
            }
        );
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let compare = |key: &str| Expr::Compare {
            field: Field::Metadata(vec![key.to_owned()]),
            op: CmpOp::Equal,
            value: Literal::Num(1.0),
        };
        assert_eq!(
            parse("a == 1 or b == 1 and c == 1").unwrap(),
            Expr::Or(vec![
                compare("a"),
                Expr::And(vec![compare("b"), compare("c")])
            ])
        );
        assert!(check("lang == 'fr' and year == 2021 or draft == false"));
        assert!(check("draft == false or lang == 'fr' and year == 1"));
        assert!(!check("lang == 'fr' and (year == 2021 or draft == false)"));
    }

    #[test]
    fn parentheses_not_and_symbol_forms() {
        assert!(check("(lang == 'fr' or lang == 'en') && year > 2000"));
        assert!(check("!(lang == 'fr') || year < 0"));
        assert!(!check("NOT (lang == 'en')"));
        assert!(check("not not lang == 'en'"));
        assert!(check("Lang == 'x' Or lang == 'en' AND ((year > 1))"));
    }

    #[test]
    fn garbage_is_refused_with_a_position() {
        assert_eq!(error(""), "filter_expr: the expression is empty");
        assert_eq!(error("   "), "filter_expr: the expression is empty");
        assert_eq!(
            error("source_id =="),
            "filter_expr: expected a value after == at column 13"
        );
        assert!(error("source_id = 'a'").contains("expected == (not =) at column 11"));
        assert!(error("(lang == 'en'").contains("expected a closing ) at column 14"));
        assert!(error("lang == 'en')").contains("at column 13"));
        assert!(error("lang == 'en' extra").contains("`and`, `or` or the end"));
        assert!(error("lang == 'en").contains("unterminated string starting at column 9"));
        assert!(error("lang ~ 1").contains("unexpected character '~' at column 6"));
        assert!(error("metadata[lang] == 1").contains("a quoted key"));
        assert!(error("metadata == 1").contains("[\"key\"] after metadata"));
        assert!(error("lang in 'en'").contains("[ after in"));
        assert!(error("lang in []").contains("a value after ["));
        assert!(error("lang in ['a' 'b']").contains(", or ]"));
        assert!(error("lang not ['a']").contains("in after not"));
        assert!(error("lang").contains("an operator"));
        assert!(error("== 1").contains("a field"));
        assert!(error("and == 1").contains("a field"));
        assert!(error("a == 1 &").contains("expected &&"));
        assert!(error("a == 1 | b == 2").contains("expected ||"));
        assert!(error("a == 'x\\q'").contains("unknown escape \\q"));
        assert!(error("a == 1e999").contains("not a valid number"));
        assert!(error("a == -").contains("unexpected character '-'"));
        assert!(error("a == 1 and").contains("a field"));
    }

    #[test]
    fn deep_nesting_is_refused_instead_of_overflowing() {
        let parens = format!("{}a == 1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(error(&parens).contains("nests more than 64 levels"));
        let nots = format!("{}a == 1", "not ".repeat(10_000));
        assert!(error(&nots).contains("nests more than 64 levels"));
        let within = format!("{}a == 1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&within).is_ok());
    }

    #[test]
    fn long_flat_chains_are_fine() {
        let chain = vec!["lang == 'en'"; 5_000].join(" and ");
        assert!(check(&chain));
    }
}
