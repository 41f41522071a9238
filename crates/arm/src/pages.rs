//! Collection GETs: ARM's `x-ms-pageable` operations answer `{ "value": [...],
//! "nextLink": "..." }` a page at a time; [`ArmClient::list`] follows `nextLink` until
//! the last page, so one listing of N items costs N / page-size requests instead of N
//! GETs (issue 14: reads that scale within ARM's per-subscription read bucket).

use azure_core::http::Method;
use serde_json::Value;

use super::client::ArmClient;
use super::error::ArmError;
use super::stats::RequestClass;

/// Most pages followed in one listing (a loop guard, far above any real deployment).
const MAX_PAGES: usize = 1000;

impl ArmClient {
    /// Every item of the collection at `path`, following `nextLink` (only on the ARM
    /// endpoint's host: the token goes with it). `None` when the collection's parent does
    /// not exist (404): nothing is there.
    pub async fn list_items(
        &self,
        path: &str,
        version: &str,
        filter: Option<&str>,
    ) -> Result<Option<Vec<Value>>, ArmError> {
        let mut url = self.url(path, version)?;
        if let Some(f) = filter {
            url.query_pairs_mut().append_pair("$filter", f);
        }
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let r = self
                .send(Method::Get, url, None, RequestClass::Read, path)
                .await?;
            match r.status {
                200 => {}
                404 => return Ok(None),
                _ => return Err(ArmClient::api_error(&Method::Get, path, &r)),
            }
            if let Some(v) = r.body.get("value").and_then(Value::as_array) {
                items.extend(v.iter().cloned());
            }
            match r.body.get("nextLink").and_then(Value::as_str) {
                Some(next) if !next.is_empty() => {
                    url = self.poll_url(next).map_err(|e| ArmError::Api {
                        method: "GET".into(),
                        resource: path.to_string(),
                        status: 200,
                        code: "UnsafeNextLink".into(),
                        message: e.to_string(),
                    })?;
                }
                _ => return Ok(Some(items)),
            }
        }
        Ok(Some(items))
    }
}
