//! What a handler answers: a success (`Reply`) or ARM's error shape (`ArmError`,
//! `{"error": {"code", "message", "details": []}}`), both turned into HTTP responses in
//! one place so every endpoint speaks the same protocol.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Response, StatusCode};
use serde_json::{Value, json};

/// A successful answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Value>,
    /// The request polled an operation sooner than its last `Retry-After` allowed.
    pub early: bool,
}

impl Reply {
    pub fn new(status: u16, body: Value) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Some(body),
            early: false,
        }
    }

    pub fn ok(body: Value) -> Reply {
        Reply::new(200, body)
    }

    /// 200 or 201 depending on whether the resource already existed.
    pub fn put(existed: bool, body: Value) -> Reply {
        Reply::new(if existed { 200 } else { 201 }, body)
    }

    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: None,
            early: false,
        }
    }
}

/// An ARM error.
#[derive(Clone, Debug, PartialEq)]
pub struct ArmError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub details: Vec<Value>,
}

impl ArmError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> ArmError {
        ArmError {
            status,
            code: code.to_string(),
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> ArmError {
        ArmError::new(400, code, message)
    }

    pub fn conflict(code: &str, message: impl Into<String>) -> ArmError {
        ArmError::new(409, code, message)
    }

    /// API Management's `ValidationError` (400).
    pub fn validation(message: impl Into<String>) -> ArmError {
        ArmError::new(400, "ValidationError", message)
    }

    /// `404 ResourceNotFound` for a resource of `type_` named `name` in `group`.
    pub fn not_found(type_: &str, name: &str, group: &str) -> ArmError {
        ArmError::new(
            404,
            "ResourceNotFound",
            format!(
                "The Resource '{type_}/{name}' under resource group '{group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    }

    pub fn group_not_found(group: &str) -> ArmError {
        ArmError::new(
            404,
            "ResourceGroupNotFound",
            format!("Resource group '{group}' could not be found."),
        )
    }

    pub fn with_details(mut self, details: Vec<Value>) -> ArmError {
        self.details = details;
        self
    }

    pub fn body(&self) -> Value {
        json!({"error": self.inner()})
    }

    /// The `{"code", "message", "details"}` object (also the `error` of a failed operation).
    pub fn inner(&self) -> Value {
        json!({"code": self.code, "message": self.message, "details": self.details})
    }
}

/// Builds the HTTP response of a reply or an error.
pub fn into_response(result: &Result<Reply, ArmError>) -> Response<Body> {
    let (status, headers, body): (u16, &[(&'static str, String)], Option<Value>) = match result {
        Ok(r) => (r.status, &r.headers, r.body.clone()),
        Err(e) => (e.status, &[], Some(e.body())),
    };
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("x-ms-request-id", uuid_like());
    if let Err(e) = result
        && e.status == 401
    {
        builder = builder.header(
            "WWW-Authenticate",
            "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\"",
        );
    }
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            builder = builder.header(n, v);
        }
    }
    match body {
        Some(v) => builder
            .header("content-type", "application/json; charset=utf-8")
            .body(Body::from(serde_json::to_vec(&v).unwrap_or_default())),
        None => builder.body(Body::empty()),
    }
    .expect("a response from valid parts")
}

/// A random id for `x-ms-request-id` and generated names.
pub fn uuid_like() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}
