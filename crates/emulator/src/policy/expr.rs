//! Policy expressions as API Management finds them: `@(...)` (one C# expression) and
//! `@{...}` (a C# statement block), each the whole value of an attribute or the whole
//! text of an element ("Policy expressions", learn.microsoft.com/azure/api-management/api-management-policy-expressions).
//!
//! In the `rawxml` format expressions are "not XML encoded" (PolicyContentFormat, ARM
//! REST reference): `@(... Contains("Backend pool") && x < 2 ...)` is sent as is. APIM
//! finds where such an expression ends by its balanced delimiters, C# string and char
//! literals, interpolated strings and comments respected (a `)` or `"` inside `"..."`
//! does not end anything), then reads the rest of the document as XML. `encode_raw`
//! does that and returns the well-formed XML document the `xml` format would have sent.

use super::PolicyError;

/// Nesting of brackets and interpolations inside one expression, beyond which the
/// expression is refused (APIM documents none; real expressions nest a few levels).
pub const MAX_EXPRESSION_NESTING: usize = 256;

/// Whether a value is a policy expression (what APIM evaluates instead of using as is).
pub fn is_expression(value: &str) -> bool {
    let v = value.trim_start();
    v.starts_with("@(") || v.starts_with("@{")
}

enum Frame {
    /// Code inside brackets; the byte that closes them.
    Code(u8),
    /// The literal part of an interpolated string (`$"..."`, `$@"..."`).
    Interpolated { verbatim: bool },
}

/// Why the code of an expression cannot be read to its end.
#[derive(Debug, thiserror::Error)]
enum CodeError {
    #[error("a C# string literal is not closed")]
    String,
    #[error("a C# char literal is not closed")]
    Char,
    #[error("a C# comment is not closed")]
    Comment,
    #[error("'{found}' where '{expected}' was expected")]
    Mismatch { found: char, expected: char },
}

/// The byte length of the expression at the start of `s` (`@(` or `@{` through its
/// closing delimiter). `line` is where it starts, for errors.
pub fn expression_len(s: &str, line: usize) -> Result<usize, PolicyError> {
    let b = s.as_bytes();
    let open = |message: String| PolicyError::Expression { line, message };
    let closer = match (b.first(), b.get(1)) {
        (Some(b'@'), Some(b'(')) => b')',
        (Some(b'@'), Some(b'{')) => b'}',
        _ => return Err(open("a policy expression starts with @( or @{".into())),
    };
    let mut stack = vec![Frame::Code(closer)];
    let mut i = 2;
    while i < b.len() {
        if stack.len() > MAX_EXPRESSION_NESTING {
            return Err(open(format!(
                "the policy expression nests deeper than {MAX_EXPRESSION_NESTING} levels"
            )));
        }
        i = match stack.last() {
            Some(Frame::Interpolated { verbatim }) => {
                let verbatim = *verbatim;
                in_interpolated(b, i, verbatim, &mut stack)
            }
            Some(Frame::Code(close)) => {
                let close = *close;
                let next = in_code(b, i, close, &mut stack).map_err(|e| open(e.to_string()))?;
                if stack.is_empty() {
                    return Ok(next);
                }
                next
            }
            None => unreachable!("the loop returns when the stack empties"),
        };
    }
    Err(open(format!(
        "the policy expression is not closed (no matching '{}')",
        closer as char
    )))
}

/// One step in the literal part of an interpolated string; the next index.
fn in_interpolated(b: &[u8], i: usize, verbatim: bool, stack: &mut Vec<Frame>) -> usize {
    let c = b[i];
    let next = b.get(i + 1).copied();
    match c {
        b'{' | b'}' if next == Some(c) => i + 2,
        b'{' => {
            stack.push(Frame::Code(b'}'));
            i + 1
        }
        b'\\' if !verbatim => i + 2,
        b'"' if verbatim && next == Some(b'"') => i + 2,
        b'"' => {
            stack.pop();
            i + 1
        }
        _ => i + 1,
    }
}

/// One step in code whose brackets `close` ends; the next index.
fn in_code(b: &[u8], i: usize, close: u8, stack: &mut Vec<Frame>) -> Result<usize, CodeError> {
    let c = b[i];
    let next = b.get(i + 1).copied();
    Ok(match c {
        b'"' => {
            let prefix = &b[..i];
            let verbatim = prefix.ends_with(b"@") || prefix.ends_with(b"@$");
            let interpolated = prefix.ends_with(b"$") || prefix.ends_with(b"$@");
            if interpolated {
                stack.push(Frame::Interpolated { verbatim });
                i + 1
            } else {
                string_end(b, i + 1, verbatim).ok_or(CodeError::String)?
            }
        }
        b'\'' => char_end(b, i + 1).ok_or(CodeError::Char)?,
        b'/' if next == Some(b'/') => b[i..]
            .iter()
            .position(|&x| x == b'\n')
            .map_or(b.len(), |p| i + p),
        b'/' if next == Some(b'*') => find(b, i + 2, b"*/")
            .map(|p| p + 2)
            .ok_or(CodeError::Comment)?,
        b'(' | b'[' | b'{' => {
            let closer = match c {
                b'(' => b')',
                b'[' => b']',
                _ => b'}',
            };
            stack.push(Frame::Code(closer));
            i + 1
        }
        b')' | b']' | b'}' if c == close => {
            stack.pop();
            i + 1
        }
        b')' | b']' | b'}' => {
            return Err(CodeError::Mismatch {
                found: c as char,
                expected: close as char,
            });
        }
        _ => i + 1,
    })
}

/// Index just past the `"` closing a string literal whose content starts at `i`.
fn string_end(b: &[u8], mut i: usize, verbatim: bool) -> Option<usize> {
    while i < b.len() {
        match b[i] {
            b'\\' if !verbatim => i += 2,
            b'"' if verbatim && b.get(i + 1) == Some(&b'"') => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Index just past the `'` closing a char literal whose content starts at `i`.
fn char_end(b: &[u8], i: usize) -> Option<usize> {
    let start = if b.get(i) == Some(&b'\\') {
        i + 2
    } else {
        i + 1
    };
    // At most one (UTF-8: up to four bytes) character, or an escape such as \u0041.
    (start..b.len().min(start + 8))
        .find(|&j| b[j] == b'\'')
        .map(|j| j + 1)
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// Entity-encodes an expression for an XML attribute value or text.
pub fn encode(expr: &str, out: &mut String) {
    for c in expr.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// Copies `s[*i..]` up to and including `end` into `out` (to the end if absent).
fn copy_through(s: &str, i: &mut usize, end: &str, out: &mut String) {
    let stop = s[*i..].find(end).map_or(s.len(), |p| *i + p + end.len());
    out.push_str(&s[*i..stop]);
    *i = stop;
}

fn starts_expression(rest: &str) -> bool {
    rest.starts_with("@(") || rest.starts_with("@{")
}

/// A `rawxml` policy as the XML document it stands for: every expression found by its
/// delimiters and entity-encoded, everything else unchanged (the XML reader then judges it).
pub fn encode_raw(raw: &str) -> Result<String, PolicyError> {
    let mut out = String::with_capacity(raw.len() + raw.len() / 8);
    let mut i = 0;
    let mut line = 1;
    let mut in_tag = false;
    let mut quote: Option<char> = None;
    // Whether the text since the last tag is only whitespace (an expression may start).
    let mut text_blank = true;
    while i < raw.len() {
        let rest = &raw[i..];
        let c = rest.chars().next().expect("i is on a char boundary");
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
        } else if in_tag {
            match c {
                '"' | '\'' => {
                    quote = Some(c);
                    out.push(c);
                    i += 1;
                    let blank = rest[1..].len() - rest[1..].trim_start().len();
                    if starts_expression(&rest[1 + blank..]) {
                        out.push_str(&rest[1..1 + blank]);
                        line += rest[1..1 + blank].matches('\n').count();
                        i += blank;
                        let len = expression_len(&raw[i..], line)?;
                        encode(&raw[i..i + len], &mut out);
                        line += raw[i..i + len].matches('\n').count();
                        i += len;
                    }
                    continue;
                }
                '>' => {
                    in_tag = false;
                    text_blank = true;
                }
                _ => {}
            }
        } else if rest.starts_with("<!--") {
            line += rest[..rest.find("-->").map_or(rest.len(), |p| p + 3)]
                .matches('\n')
                .count();
            copy_through(raw, &mut i, "-->", &mut out);
            continue;
        } else if rest.starts_with("<![CDATA[") {
            line += rest[..rest.find("]]>").map_or(rest.len(), |p| p + 3)]
                .matches('\n')
                .count();
            copy_through(raw, &mut i, "]]>", &mut out);
            text_blank = false;
            continue;
        } else if c == '<' {
            in_tag = true;
        } else if text_blank && starts_expression(rest) {
            let len = expression_len(rest, line)?;
            encode(&rest[..len], &mut out);
            line += rest[..len].matches('\n').count();
            i += len;
            text_blank = false;
            continue;
        } else if !c.is_whitespace() {
            text_blank = false;
        }
        if c == '\n' {
            line += 1;
        }
        out.push(c);
        i += c.len_utf8();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expression at the start of `s`.
    fn expr(s: &str) -> &str {
        &s[..expression_len(s, 1).unwrap()]
    }

    #[test]
    fn expressions_end_at_their_balanced_delimiter() {
        assert_eq!(expr("@(a)b"), "@(a)");
        assert_eq!(expr(r#"@(f(")") + ')')" />"#), r#"@(f(")") + ')')"#);
        let block = r#"@{ if (x) { return "}"; } return @"a""}"; }"#;
        assert_eq!(expr(&format!("{block}rest")), block);
        let interpolated = r#"@($"{a} {{ }} {(b ? "x" : "y")}")"#;
        assert_eq!(expr(&format!("{interpolated}.")), interpolated);
        assert_eq!(expr("@(x // )\n)"), "@(x // )\n)");
        assert_eq!(expr("@(x /* ) */ ) y"), "@(x /* ) */ )");
        let generic = r#"@(new List<string>() { "a" }[0] && 1 < 2)"#;
        assert_eq!(expr(generic), generic);
        assert_eq!(expr(r"@(''' + ')')"), r"@(''' + ')')");
    }

    #[test]
    fn malformed_expressions_are_refused() {
        for bad in ["@(a", "@(a]", "@(\"a)", "@{ '", "@(/* )"] {
            assert!(expression_len(bad, 3).is_err(), "{bad}");
        }
        let deep = format!("@{}{}", "(".repeat(100_000), ")".repeat(100_000));
        let e = expression_len(&deep, 1).unwrap_err().to_string();
        assert!(e.contains("nests deeper"), "{e}");
    }

    #[test]
    fn raw_policies_become_xml() {
        let raw = r#"<a x="@(b("<&>") && c)" y='1'>@{ return "</a>"; }</a>"#;
        assert_eq!(
            encode_raw(raw).unwrap(),
            r#"<a x="@(b(&quot;&lt;&amp;&gt;&quot;) &amp;&amp; c)" y='1'>@{ return &quot;&lt;/a&gt;&quot;; }</a>"#
        );
        // Only a value that starts with an expression is one.
        let raw = "<a>x @(y</a><!-- @( --><b v=\"mail@(x\" />";
        assert_eq!(encode_raw(raw).unwrap(), raw);
    }
}
