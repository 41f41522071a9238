//! Which operation of an API a request is: API Management matches the method and the
//! path after the API's path against each operation's `urlTemplate`, its `{name}`
//! segments binding template parameters, and the template's query part
//! (`?api-version={api-version}`, from a required query parameter of the imported spec)
//! requiring those query parameters. No match: APIM answers `404 Resource not found`
//! itself ("Unable to match incoming request to an operation", its `context.LastError`
//! of source `configuration`) and calls no backend.

use std::collections::BTreeMap;

use crate::store::{Kind, Store};

/// The operation a request matched, and its template parameters' values.
#[derive(Clone, Debug, PartialEq)]
pub struct Matched {
    /// The operation's resource name (`ChatCompletions_Create`).
    pub name: String,
    pub parameters: BTreeMap<String, String>,
}

/// Values of `template`'s parameters in `path` and `query` (keys lower-cased), if they fit.
fn bind(
    template: &str,
    path: &str,
    query: &BTreeMap<String, String>,
) -> Option<BTreeMap<String, String>> {
    let (path_t, query_t) = template.split_once('?').unwrap_or((template, ""));
    let split = |s: &str| -> Vec<String> {
        s.trim_matches('/')
            .split('/')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (want, got) = (split(path_t), split(path));
    let wildcard = want.last().is_some_and(|w| w == "*");
    let fits_len = if wildcard {
        got.len() >= want.len() - 1
    } else {
        got.len() == want.len()
    };
    if !fits_len {
        return None;
    }
    let mut values = BTreeMap::new();
    for (w, g) in want.iter().zip(&got) {
        if w == "*" {
            break;
        }
        match w.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
            Some(name) => {
                values.insert(name.to_string(), g.clone());
            }
            None if w.eq_ignore_ascii_case(g) => {}
            None => return None,
        }
    }
    for pair in query_t.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let sent = query
            .get(&k.to_ascii_lowercase())
            .filter(|s| !s.is_empty())?;
        match v.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
            Some(name) => {
                values.insert(name.to_string(), sent.clone());
            }
            None if v == sent => {}
            None => return None,
        }
    }
    Some(values)
}

/// The operation of the API `api_id` that `method` and `path` (after the API's path)
/// with `query` match; literal templates win over parameterized ones, as in APIM.
pub fn find(
    store: &Store,
    api_id: &str,
    method: &str,
    path: &str,
    query: &BTreeMap<String, String>,
) -> Option<Matched> {
    store
        .below(api_id)
        .filter(|r| r.kind == Kind::ApiOperation)
        .filter(|r| {
            r.body["properties"]["method"]
                .as_str()
                .is_some_and(|m| m == "*" || m.eq_ignore_ascii_case(method))
        })
        .filter_map(|r| {
            let template = r.body["properties"]["urlTemplate"].as_str()?;
            let parameters = bind(template, path, query)?;
            Some((
                parameters.len(),
                r.body["name"].as_str().map(str::to_string)?,
                parameters,
            ))
        })
        .min_by_key(|(bound, _, _)| *bound)
        .map(|(_, name, parameters)| Matched { name, parameters })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn templates_bind_path_and_required_query_parameters() {
        let t = "/deployments/{deployment-id}/chat/completions?api-version={api-version}";
        let got = bind(
            t,
            "/deployments/gpt-4o/chat/completions",
            &q(&[("api-version", "2024-02-01")]),
        )
        .unwrap();
        assert_eq!(got["deployment-id"], "gpt-4o");
        assert_eq!(got["api-version"], "2024-02-01");
        // Without the required query parameter, another path or method: no match.
        assert!(bind(t, "/deployments/gpt-4o/chat/completions", &q(&[])).is_none());
        assert!(
            bind(
                t,
                "/deployments/gpt-4o/embeddings",
                &q(&[("api-version", "1")])
            )
            .is_none()
        );
        assert!(
            bind(
                t,
                "/deployments/chat/completions",
                &q(&[("api-version", "1")])
            )
            .is_none()
        );
        assert!(bind("/*", "/any/thing", &q(&[])).is_some());
    }
}
