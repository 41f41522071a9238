//! The bodies an Azure OpenAI deployment answers with: a `chat.completion`, the
//! `chat.completion.chunk` events of a stream, a `text_completion` and its stream, an
//! embeddings `list`. Shapes follow the inference spec (specs/inference, 2024-02-01 and
//! 2024-10-21: createChatCompletionResponse, createChatCompletionStreamResponse,
//! chatCompletionStreamOptions, createEmbeddingResponse) and what Azure OpenAI sends on
//! the wire, quoted in issue trackers: a stream opens with a chunk of empty `id`,
//! `model`, `object` and `choices` that carries `prompt_filter_results`, then a chunk
//! whose delta has the `role`, then content deltas with `content_filter_results`, then
//! a chunk with `finish_reason` (xenodium/chatgpt-shell#155, openai/openai-python#1677,
//! AbanteAI/mentat#429). With `stream_options.include_usage` every chunk has
//! `"usage": null` and a last chunk with empty `choices` carries the usage
//! (chatCompletionStreamOptions in the 2024-10-21 spec).

use serde_json::{Value, json};

use crate::reply::uuid_like;

/// What a generated answer says, and how it was asked for.
pub struct Reply<'a> {
    /// The deployment's model with its version (`gpt-4o-2024-08-06`).
    pub model: &'a str,
    /// The words of the answer (at most `max_tokens`).
    pub words: Vec<String>,
    /// `length` when `max_tokens` cut the answer, else `stop`.
    pub finish: &'static str,
    pub prompt_tokens: u64,
}

impl Reply<'_> {
    fn usage(&self) -> Value {
        let n = self.words.len() as u64;
        json!({"prompt_tokens": self.prompt_tokens, "completion_tokens": n, "total_tokens": self.prompt_tokens + n})
    }
}

/// Content filter results of a harmless text.
pub fn content_filter() -> Value {
    let safe = json!({"filtered": false, "severity": "safe"});
    json!({"hate": safe, "self_harm": safe, "sexual": safe, "violence": safe})
}

fn prompt_filter() -> Value {
    json!([{"prompt_index": 0, "content_filter_results": content_filter()}])
}

fn created() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid_like().replace('-', ""))
}

/// A `chat.completion`.
pub fn chat(r: &Reply) -> Value {
    json!({
        "id": id("chatcmpl"),
        "object": "chat.completion",
        "created": created(),
        "model": r.model,
        "system_fingerprint": "fp_aoai_lb_emulator",
        "prompt_filter_results": prompt_filter(),
        "choices": [{
            "index": 0,
            "finish_reason": r.finish,
            "logprobs": null,
            "message": {"role": "assistant", "content": r.words.join(" ")},
            "content_filter_results": content_filter(),
        }],
        "usage": r.usage(),
    })
}

/// The events of a streamed chat completion, in order (without the final `[DONE]`).
pub fn chat_stream(r: &Reply, include_usage: bool) -> Vec<Value> {
    let (id, created) = (id("chatcmpl"), created());
    let chunk = |choices: Value| {
        let mut c = json!({
            "id": id, "object": "chat.completion.chunk", "created": created,
            "model": r.model, "system_fingerprint": "fp_aoai_lb_emulator", "choices": choices,
        });
        if include_usage {
            c["usage"] = Value::Null;
        }
        c
    };
    let choice = |delta: Value, filter: Value, finish: Value| json!([{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null, "content_filter_results": filter}]);
    let mut events = vec![json!({
        "id": "", "object": "", "created": 0, "model": "", "choices": [],
        "prompt_filter_results": prompt_filter(),
    })];
    events.push(chunk(choice(
        json!({"role": "assistant", "content": ""}),
        json!({}),
        Value::Null,
    )));
    for (i, w) in r.words.iter().enumerate() {
        let text = if i == 0 { w.clone() } else { format!(" {w}") };
        events.push(chunk(choice(
            json!({"content": text}),
            content_filter(),
            Value::Null,
        )));
    }
    events.push(chunk(choice(json!({}), json!({}), json!(r.finish))));
    if include_usage {
        let mut last = chunk(json!([]));
        last["usage"] = r.usage();
        events.push(last);
    }
    events
}

/// A `text_completion` (Completions_Create), or the events of its stream.
pub fn text(r: &Reply, stream: bool) -> Vec<Value> {
    let (id, created) = (id("cmpl"), created());
    let body = |choices: Value| json!({"id": id, "object": "text_completion", "created": created, "model": r.model, "choices": choices});
    let choice = |text: String, finish: Value| json!([{"index": 0, "text": text, "finish_reason": finish, "logprobs": null, "content_filter_results": content_filter()}]);
    if !stream {
        let mut b = body(choice(r.words.join(" "), json!(r.finish)));
        b["prompt_filter_results"] = prompt_filter();
        b["usage"] = r.usage();
        return vec![b];
    }
    let mut events: Vec<Value> = r
        .words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            body(choice(
                if i == 0 { w.clone() } else { format!(" {w}") },
                Value::Null,
            ))
        })
        .collect();
    events.push(body(choice(String::new(), json!(r.finish))));
    events
}

/// The dimensions of an embedding model's vectors (`dimensions` may shorten the
/// text-embedding-3 ones).
pub fn dimensions(model: &str, asked: Option<u64>) -> usize {
    let full = if model.contains("3-large") {
        3072
    } else {
        1536
    };
    asked
        .filter(|d| (1..=full as u64).contains(d) && model.contains("-3-"))
        .map_or(full, |d| d as usize)
}

/// A unit vector that depends only on `text` and `n`.
fn vector(text: &str, n: usize) -> Vec<f32> {
    let mut state: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        state = (state ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let raw: Vec<f32> = (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 2001) as f32 / 1000.0 - 1.0
        })
        .collect();
    let norm = raw
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::EPSILON);
    raw.into_iter().map(|x| x / norm).collect()
}

/// Standard base64 of `bytes` (what `encoding_format: base64` sends: little-endian
/// float32s).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An embeddings `list`: one vector per input, as floats or base64.
pub fn embeddings(model: &str, inputs: &[String], dims: usize, b64: bool, tokens: u64) -> Value {
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let v = vector(text, dims);
            let embedding = if b64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                Value::from(base64(&bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply() -> Reply<'static> {
        Reply {
            model: "gpt-4o-2024-08-06",
            words: vec!["Hello".into(), "there".into()],
            finish: "stop",
            prompt_tokens: 9,
        }
    }

    #[test]
    fn a_stream_opens_with_the_prompt_filter_then_the_role_and_ends_with_usage() {
        let events = chat_stream(&reply(), true);
        assert_eq!(events[0]["choices"], json!([]));
        assert!(events[0]["prompt_filter_results"].is_array());
        assert_eq!(events[1]["choices"][0]["delta"]["role"], "assistant");
        let text: String = events
            .iter()
            .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "Hello there");
        let n = events.len();
        assert_eq!(events[n - 2]["choices"][0]["finish_reason"], "stop");
        assert_eq!(events[n - 1]["choices"], json!([]));
        assert_eq!(events[n - 1]["usage"]["total_tokens"], 11);
        assert!(events[1]["usage"].is_null() && events[1].get("usage").is_some());
        // Without include_usage: no usage member, no usage chunk.
        let plain = chat_stream(&reply(), false);
        assert_eq!(plain.len(), n - 1);
        assert!(plain.iter().all(|e| e.get("usage").is_none()));
    }

    #[test]
    fn base64_is_standard_with_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn embeddings_are_unit_vectors_of_the_models_dimension() {
        assert_eq!(dimensions("text-embedding-3-large", None), 3072);
        assert_eq!(dimensions("text-embedding-3-small", Some(256)), 256);
        assert_eq!(dimensions("text-embedding-ada-002", Some(256)), 1536);
        let v = vector("hi", 8);
        let norm: f32 = v.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-4);
        assert_eq!(v, vector("hi", 8));
        let body = embeddings("m", &["a".into(), "b".into()], 4, true, 2);
        assert_eq!(body["data"][1]["index"], 1);
        assert_eq!(body["data"][0]["embedding"].as_str().unwrap().len(), 24);
    }
}
