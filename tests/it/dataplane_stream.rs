//! The data plane as a client of API Management in front of Azure OpenAI sees it, on the
//! seed lab applied with the binary: the API's operations as APIM creates them from the
//! imported spec, APIM's own 404 for a request no operation matches (no backend called),
//! a streamed chat completion read as the SSE byte stream the `openai` package parses,
//! Azure OpenAI's errors for operations a model does not do, and the headers users read.

use aoai_lb::core::ids::api_version;
use serde_json::{Value, json};

use crate::emu::Emu;
use crate::verify::{Http, apply, example, start};

/// The `data:` payloads of an event stream, in order.
fn events(text: &str) -> Vec<String> {
    assert!(
        text.ends_with("\n\n"),
        "the stream ends with an event: {text:?}"
    );
    text.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            e.strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a data event: {e:?}"))
                .to_string()
        })
        .collect()
}

fn header<'h>(h: &'h reqwest::header::HeaderMap, name: &str) -> &'h str {
    h.get(name)
        .unwrap_or_else(|| panic!("no {name} header in {h:?}"))
        .to_str()
        .unwrap()
}

const SERVICE: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim/providers/Microsoft.ApiManagement/service/apim-aoai-lb";

#[test]
fn the_seed_lab_streams_refuses_and_matches_like_apim_and_azure_openai() {
    // The seed lab with an embeddings deployment on both accounts as well.
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("two-regions-emb.yaml");
    let text = std::fs::read_to_string(example("two-regions.yaml")).unwrap().replace(
        "    deployments:\n",
        "    deployments:\n      - { name: emb, model: text-embedding-3-small, version: \"1\", sku: Standard, capacity: 1 }\n",
    );
    std::fs::write(&plan, text).unwrap();
    let emu = start(&plan, 3, 1.0);
    apply(&emu, dir.path(), &plan);
    let key = Http::new().key(&emu, &plan);
    let api = format!("{}/gateway/apim-aoai-lb/openai-lb", emu.url());
    let raw = Http::new();
    operations_from_the_imported_spec(&emu);
    unmatched_requests_get_apims_own_404(&emu, &raw, &api, &key);
    a_stream_the_openai_package_parses(&raw, &api, &key);
    operations_a_model_does_not_do(&raw, &api, &key);
}

/// ApiOperation_ListByApi and ApiOperation_Get: one operation per path and method of
/// the 2024-02-01 spec, named by operationId, the required api-version in the template.
fn operations_from_the_imported_spec(emu: &Emu) {
    let ops = format!("{SERVICE}/apis/azure-openai-lb/operations");
    let (status, list) = emu.get(&ops, api_version::API_MANAGEMENT);
    assert_eq!(status, 200, "{list}");
    let mut names: Vec<&str> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "ChatCompletions_Create",
            "Completions_Create",
            "ImageGenerations_Create",
            "Transcriptions_Create",
            "Translations_Create",
            "embeddings_create"
        ]
    );
    let (status, op) = emu.get(
        &format!("{ops}/ChatCompletions_Create"),
        api_version::API_MANAGEMENT,
    );
    assert_eq!(status, 200, "{op}");
    assert_eq!(
        op["type"],
        "Microsoft.ApiManagement/service/apis/operations"
    );
    let p = &op["properties"];
    assert_eq!(p["method"], "POST");
    assert_eq!(
        p["displayName"],
        "Creates a completion for the chat message"
    );
    assert_eq!(
        p["urlTemplate"],
        "/deployments/{deployment-id}/chat/completions?api-version={api-version}"
    );
    let params: Vec<&str> = p["templateParameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["deployment-id", "api-version"]);
    // Paged as the other APIM lists: $top, then a nextLink with $skip.
    let (_, page) = emu.get_raw(&format!(
        "{ops}?api-version={}&$top=4",
        api_version::API_MANAGEMENT
    ));
    assert_eq!(page["value"].as_array().unwrap().len(), 4);
    let next = page["nextLink"].as_str().unwrap();
    let (_, rest) = emu.get_raw(next.strip_prefix(&emu.url()).unwrap());
    assert_eq!(rest["value"].as_array().unwrap().len(), 2);
    assert!(rest.get("nextLink").is_none());
    let (status, _) = emu.get(&format!("{ops}/nope"), api_version::API_MANAGEMENT);
    assert_eq!(status, 404);
}

/// A path or method no operation has, or a missing required api-version: APIM answers
/// 404 itself and no backend is tried.
fn unmatched_requests_get_apims_own_404(emu: &Emu, raw: &Http, api: &str, key: &str) {
    let auth = [("api-key", key)];
    let chat = json!({"messages": [{"role": "user", "content": "hi"}]});
    let tries = [
        (
            reqwest::Method::GET,
            format!("{api}/models?api-version=2024-02-01"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("{api}/deployments/gpt-4o/chat/completions"),
            Some(chat.clone()),
        ),
        (
            reqwest::Method::GET,
            format!("{api}/deployments/gpt-4o/chat/completions?api-version=2024-02-01"),
            None,
        ),
    ];
    for (method, url, body) in tries {
        let (status, _, text) = raw.send_text(method, &url, &auth, body);
        assert_eq!(status, 404, "{url}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            json!({"statusCode": 404, "message": "Resource not found"})
        );
    }
    let dp = Http::new().dataplane(emu);
    let log = dp["requests"].as_array().unwrap();
    assert_eq!(log.len(), 3);
    assert!(
        log.iter()
            .all(|e| e["attempts"] == json!([]) && e["operation"].is_null())
    );
}

/// `stream: true` with `stream_options.include_usage`: `text/event-stream`, the prompt
/// filter chunk, the role, the content, `finish_reason`, the usage chunk, `[DONE]`.
fn a_stream_the_openai_package_parses(raw: &Http, api: &str, key: &str) {
    let url = format!("{api}/deployments/gpt-4o/chat/completions?api-version=2024-10-21");
    let body = json!({
        "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 5,
        "stream": true, "stream_options": {"include_usage": true},
    });
    let sent_id = "6e5657ee-ba92-446a-82de-6b714f5d98d2";
    let headers = [("api-key", key), ("x-ms-client-request-id", sent_id)];
    let (status, h, text) = raw.send_text(reqwest::Method::POST, &url, &headers, Some(body));
    assert_eq!(status, 200, "{text}");
    assert!(header(&h, "content-type").starts_with("text/event-stream"));
    assert!(["West US", "East US"].contains(&header(&h, "x-ms-region")));
    assert_eq!(header(&h, "x-ms-client-request-id"), sent_id);
    assert!(!header(&h, "apim-request-id").is_empty());
    header(&h, "x-ratelimit-remaining-requests")
        .parse::<u64>()
        .unwrap();
    header(&h, "x-ratelimit-remaining-tokens")
        .parse::<u64>()
        .unwrap();
    let events = events(&text);
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"], json!([]));
    assert!(chunks[0]["prompt_filter_results"][0]["content_filter_results"].is_object());
    assert_eq!(chunks[1]["object"], "chat.completion.chunk");
    assert_eq!(chunks[1]["choices"][0]["delta"]["role"], "assistant");
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content.split(' ').count(), 5, "{content}");
    let n = chunks.len();
    assert_eq!(chunks[n - 2]["choices"][0]["finish_reason"], "length");
    assert_eq!(chunks[n - 1]["choices"], json!([]));
    assert_eq!(chunks[n - 1]["usage"]["completion_tokens"], 5);
    assert!(chunks[1..n - 1].iter().all(|c| c["usage"].is_null()));
}

/// Embeddings and completions on a chat model, chat on an embeddings model: 400
/// OperationNotSupported; embeddings on an embeddings model: vectors.
fn operations_a_model_does_not_do(raw: &Http, api: &str, key: &str) {
    let auth = [("api-key", key)];
    let post = |path: &str, body: Value| {
        let url = format!("{api}/deployments/{path}?api-version=2024-02-01");
        let (status, _, text) = raw.send_text(reqwest::Method::POST, &url, &auth, Some(body));
        (status, serde_json::from_str::<Value>(&text).unwrap())
    };
    let (status, v) = post("gpt-4o/embeddings", json!({"input": "hi"}));
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["code"], "OperationNotSupported");
    assert_eq!(
        v["error"]["message"],
        "The embeddings operation does not work with the specified model, gpt-4o. Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993."
    );
    let (status, v) = post("gpt-4o/completions", json!({"prompt": "hi"}));
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().starts_with(
            "The completion operation does not work with the specified model, gpt-4o."
        )
    );
    // The plan's embeddings deployment, on both accounts of the pool.
    let (status, v) = post(
        "emb/chat/completions",
        json!({"messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().starts_with("The chatCompletion operation does not work with the specified model, text-embedding-3-small."));
    let (status, v) = post("emb/embeddings", json!({"input": ["a", "b"]}));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["object"], "list");
    assert_eq!(v["data"][1]["index"], 1);
    assert_eq!(v["data"][0]["embedding"].as_array().unwrap().len(), 1536);
    // The openai package asks for base64: little-endian float32s.
    let (_, v) = post(
        "emb/embeddings",
        json!({"input": "a", "encoding_format": "base64", "dimensions": 256}),
    );
    // 1024 bytes: 342 groups of four characters.
    assert_eq!(v["data"][0]["embedding"].as_str().unwrap().len(), 1368);
}
