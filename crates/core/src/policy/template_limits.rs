//! Limits on a policy template's shape, checked on its text before Handlebars sees it.
//!
//! Handlebars parses and renders recursively, with no depth limit of its own: 5,000
//! nested `{{#if}}` or a partial that includes itself overflow the stack and abort the
//! process, and nested loops over the backends multiply. A policy needs none of that,
//! so a user's template gets bounds that the built-in ones are far inside.

/// Blocks (`{{#if}}`, `{{#each}}`, ... and each `{{else if}}` of a chain) nest at most this deep.
pub const MAX_BLOCK_DEPTH: usize = 32;
/// Blocks that may repeat their content (anything but `if` and `unless`) nest at most this deep.
pub const MAX_LOOP_DEPTH: usize = 3;
/// Sub-expressions (`(helper (helper ...))`) nest at most this deep.
pub const MAX_PAREN_DEPTH: usize = 16;

/// A template shape over a limit; each completes "template `NAME` …".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("nests blocks deeper than {MAX_BLOCK_DEPTH} levels (line {line})")]
    BlocksTooDeep { line: usize },
    #[error(
        "nests more than {MAX_LOOP_DEPTH} blocks that repeat (`{{{{#each}}}}`, `{{{{#with}}}}`, ...; line {line})"
    )]
    LoopsTooDeep { line: usize },
    #[error("nests sub-expressions deeper than {MAX_PAREN_DEPTH} levels (line {line})")]
    ParensTooDeep { line: usize },
    #[error(
        "uses a partial or a decorator (line {line}): a policy template is one file, without partials"
    )]
    Partial { line: usize },
}

/// An open block: whether it may repeat, and how many levels it counts for (one,
/// plus one per `{{else if}}` chained to it).
struct Open {
    repeats: bool,
    levels: usize,
}

/// Checks the template's nesting against the limits above.
pub fn check(src: &str) -> Result<(), LimitError> {
    let line = |at: usize| src[..at].matches('\n').count() + 1;
    let mut stack: Vec<Open> = Vec::new();
    let (mut depth, mut loops) = (0usize, 0usize);
    let mut i = 0;
    while let Some(found) = src[i..].find("{{") {
        let start = i + found;
        let mut body_start = start + 2;
        while src[body_start..].starts_with('{') {
            body_start += 1;
        }
        let rest = &src[body_start..];
        // Comments may hold anything, `}}` included in the long form.
        let (end, body) = if rest.starts_with("!--") {
            let end = rest.find("--}}").map_or(src.len(), |e| body_start + e + 4);
            (end, "")
        } else {
            let end = rest.find("}}").map_or(src.len(), |e| body_start + e);
            (end + 2, &src[body_start..end.min(src.len())])
        };
        i = end.min(src.len());
        if body.starts_with('!') {
            continue;
        }
        if paren_depth(body) > MAX_PAREN_DEPTH {
            return Err(LimitError::ParensTooDeep { line: line(start) });
        }
        let body = body.trim_start_matches('~').trim_start();
        let word = |s: &str| {
            s.split(|c: char| c.is_whitespace() || c == '~' || c == '}')
                .next()
                .unwrap_or("")
                .to_string()
        };
        match body.chars().next() {
            Some('>') | Some('*') => return Err(LimitError::Partial { line: line(start) }),
            Some('#') => {
                let after = body[1..].trim_start();
                if after.starts_with('>') || after.starts_with('*') {
                    return Err(LimitError::Partial { line: line(start) });
                }
                let repeats = !matches!(word(after).as_str(), "if" | "unless");
                stack.push(Open { repeats, levels: 1 });
                depth += 1;
                loops += usize::from(repeats);
            }
            Some('^') if !word(&body[1..]).is_empty() => {
                stack.push(Open {
                    repeats: false,
                    levels: 1,
                });
                depth += 1;
            }
            Some('/') => {
                if let Some(open) = stack.pop() {
                    depth -= open.levels;
                    loops -= usize::from(open.repeats);
                }
            }
            _ if word(body) == "else" && !word(body[4..].trim_start()).is_empty() => {
                if let Some(open) = stack.last_mut() {
                    open.levels += 1;
                    depth += 1;
                }
            }
            _ => {}
        }
        if depth > MAX_BLOCK_DEPTH {
            return Err(LimitError::BlocksTooDeep { line: line(start) });
        }
        if loops > MAX_LOOP_DEPTH {
            return Err(LimitError::LoopsTooDeep { line: line(start) });
        }
    }
    Ok(())
}

/// The deepest nesting of parentheses in a mustache, outside string literals.
fn paren_depth(body: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut quote: Option<char> = None;
    for c in body.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => {
                depth += 1;
                max = max.max(depth);
            }
            (None, ')') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_templates_are_within_the_limits() {
        for name in super::super::BUILTIN {
            check(super::super::builtin_source(name).unwrap()).unwrap();
        }
    }

    #[test]
    fn deep_blocks_chains_loops_partials_and_parens_are_refused() {
        let nested_if = format!("{}x{}", "{{#if a}}".repeat(5_000), "{{/if}}".repeat(5_000));
        assert_eq!(
            check(&nested_if),
            Err(LimitError::BlocksTooDeep { line: 1 })
        );
        let ok_if = format!("{}x{}", "{{#if a}}".repeat(32), "{{/if}}".repeat(32));
        assert_eq!(check(&ok_if), Ok(()));
        let chain = format!("{{{{#if a}}}}{}{{{{/if}}}}", "{{else if b}}".repeat(40));
        assert_eq!(check(&chain), Err(LimitError::BlocksTooDeep { line: 1 }));
        let loops = "{{#each backends}}\n{{#each ../backends}}{{#each ../../backends}}{{#each x}}{{/each}}{{/each}}{{/each}}{{/each}}";
        assert_eq!(check(loops), Err(LimitError::LoopsTooDeep { line: 2 }));
        let sequential = "{{#each a}}{{/each}}".repeat(100);
        assert_eq!(check(&sequential), Ok(()));
        for partial in [
            "{{> p}}",
            "{{#> p}}{{/p}}",
            "{{#*inline \"p\"}}{{> p}}{{/inline}}",
            "{{~> p}}",
        ] {
            assert_eq!(
                check(partial),
                Err(LimitError::Partial { line: 1 }),
                "{partial}"
            );
        }
        let parens = format!("{{{{x {}y{}}}}}", "(h ".repeat(20), ")".repeat(20));
        assert_eq!(check(&parens), Err(LimitError::ParensTooDeep { line: 1 }));
        assert_eq!(check("{{!-- {{> p}} --}}{{! {{#each}} }}"), Ok(()));
    }
}
