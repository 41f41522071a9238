//! Which inference operation a call to an account is, and for which deployment. Two URL
//! shapes reach the same operations (and the same deployments):
//!
//! - the dated API, `POST /openai/deployments/{deployment-id}/chat/completions?api-version=...`
//!   (the bundled inference specs, `api-version` required);
//! - the v1 API, `POST /openai/v1/chat/completions` and `/openai/v1/embeddings`
//!   (Azure/azure-rest-api-specs `specification/ai/data-plane/OpenAI.v1/azure-v1-v1-generated.json`:
//!   server `{endpoint}/openai/v1`, `api-version` an optional query parameter defaulting to
//!   `v1`), where the deployment is the body's `model` (Microsoft Learn, "Azure OpenAI API
//!   version lifecycle", v1 API: the `model` parameter takes the deployment name).

use std::collections::BTreeMap;

use serde_json::Value;

use super::openai::Call;

/// The inference operations an account answers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    Chat,
    Completions,
    Embeddings,
}

impl Op {
    /// How Azure OpenAI names the operation in `OperationNotSupported`.
    pub fn word(self) -> &'static str {
        match self {
            Op::Chat => "chatCompletion",
            Op::Completions => "completion",
            Op::Embeddings => "embeddings",
        }
    }

    /// The path after `/openai/deployments/{d}`.
    pub fn path(self) -> &'static str {
        match self {
            Op::Chat => "chat/completions",
            Op::Completions => "completions",
            Op::Embeddings => "embeddings",
        }
    }

    /// Whether a model does the operation: embeddings models embed, the instruct and
    /// base GPT-3 models complete, every other model chats (Azure OpenAI's model
    /// summary table, go.microsoft.com/fwlink/?linkid=2197993).
    pub fn works_with(self, model: &str) -> bool {
        let m = model.to_ascii_lowercase();
        let embeds = m.starts_with("text-embedding");
        let completes = m.ends_with("-instruct") || m == "davinci-002" || m == "babbage-002";
        match self {
            Op::Embeddings => embeds,
            Op::Completions => completes,
            Op::Chat => !embeds && !completes,
        }
    }
}

/// The operation, deployment and query of `POST /openai/deployments/{d}/...?api-version=`
/// or `POST /openai/v1/...`; on the v1 API the deployment is the body's `model` (`None`:
/// the body names none).
pub fn operation(
    call: &Call,
    path_and_query: &str,
) -> Option<(Op, Option<String>, BTreeMap<String, String>)> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let query = crate::pipeline::parse_query(query);
    if call.method != "POST" {
        return None;
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let is = |s: &str, w: &str| s.eq_ignore_ascii_case(w);
    let find = |tail: &[&str]| {
        let tail = tail.join("/").to_ascii_lowercase();
        [Op::Chat, Op::Completions, Op::Embeddings]
            .into_iter()
            .find(|o| o.path() == tail)
    };
    if segments.len() >= 3 && is(segments[0], "openai") && is(segments[1], "v1") {
        // The v1 spec has chat completions and embeddings, no legacy completions.
        let op = find(&segments[2..]).filter(|o| *o != Op::Completions)?;
        let body: Value = serde_json::from_slice(call.body).unwrap_or(Value::Null);
        let model = body["model"]
            .as_str()
            .filter(|m| !m.is_empty())
            .map(str::to_string);
        return Some((op, model, query));
    }
    if !query.contains_key("api-version") {
        return None;
    }
    let (head, tail) = segments.split_at_checked(3)?;
    if !is(head[0], "openai") || !is(head[1], "deployments") {
        return None;
    }
    Some((find(tail)?, Some(head[2].to_string()), query))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call<'a>(body: &'a [u8]) -> Call<'a> {
        Call {
            url: "",
            method: "POST",
            body,
            principal: None,
            api_key: true,
            client_request_id: None,
        }
    }

    #[test]
    fn both_shapes_name_the_operation_and_deployment() {
        let body = br#"{"model": "gpt-4o", "messages": []}"#;
        let (op, d, _) = operation(&call(body), "/openai/v1/chat/completions").unwrap();
        assert_eq!((op, d.as_deref()), (Op::Chat, Some("gpt-4o")));
        let (op, d, _) = operation(&call(b"{}"), "/openai/v1/embeddings?api-version=v1").unwrap();
        assert_eq!((op, d), (Op::Embeddings, None));
        assert!(operation(&call(body), "/openai/v1/completions").is_none());
        let (op, d, _) = operation(
            &call(b"{}"),
            "/openai/deployments/e/embeddings?api-version=2024-10-21",
        )
        .unwrap();
        assert_eq!((op, d.as_deref()), (Op::Embeddings, Some("e")));
        assert!(operation(&call(b"{}"), "/openai/deployments/e/embeddings").is_none());
    }
}
