//! API Management loggers and diagnostics: where the gateway sends telemetry and the
//! custom metrics of `llm-emit-token-metric` (the 2024-05-01 APIM REST reference,
//! Logger_CreateOrUpdate and ApiDiagnostic_CreateOrUpdate / Diagnostic_CreateOrUpdate;
//! the examples ApiManagementCreateAILogger.json and ApiManagementCreateApiDiagnostic.json
//! of azure-rest-api-specs).
//!
//! - A logger's `credentials` (an `applicationInsights` logger's `instrumentationKey` or
//!   `connectionString`) are secrets: APIM keeps them in a named value and answers
//!   `{{name}}` in their place (the example's response: `"instrumentationKey":
//!   "{{5a.......2a}}"`); the emulator keeps them where no GET, list or state dump shows
//!   them, and answers `{{Logger-Credentials--<24 hex digits>}}`.
//! - A diagnostic's `loggerId` (`/loggers/{id}` as in the example, or the logger's full
//!   id) must name a logger of the same service (`invalid_field`: the refusals quoted). `metrics: true` is what "Emit custom
//!   metrics via emit-metric policy. Applicable only to Application Insights diagnostic
//!   settings" (DiagnosticContractProperties) turns on.
//!
//! PUT answers `201` when it creates, `200` when it replaces; DELETE `200`, or `204` when
//! there was nothing (both examples' status sets). The emulator's wording is used where
//! no refusal text was found.

use serde_json::{Map, Value, json};

use super::apim::{parent_exists, service_of};
use super::{Cx, object, str_at};
use crate::address::Address;
use crate::reply::{ArmError, Reply, uuid_like};
use crate::store::{Kind, Record, key};

/// The credential names a logger may carry (LoggerContractProperties.credentials: "The
/// name and SendRule connection string of the event hub for azureEventHub logger.
/// Instrumentation key for applicationInsights logger"; connection strings and managed
/// identities per Microsoft Learn, "How to integrate Azure API Management with Azure
/// Application Insights").
const AI_CREDENTIALS: [&str; 3] = ["instrumentationKey", "connectionString", "identityClientId"];

pub fn put_logger(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    parent_exists(cx, addr)?;
    let mut props = object(body, "properties");
    let logger_type = str_at(body, "/properties/loggerType")
        .unwrap_or_default()
        .to_string();
    let credentials = object(&Value::Object(props.clone()), "credentials");
    if logger_type.eq_ignore_ascii_case("applicationInsights") {
        if let Some(k) = credentials
            .keys()
            .find(|k| !AI_CREDENTIALS.contains(&k.as_str()))
        {
            return Err(ArmError::validation(format!(
                "'{k}' is not a credential of an applicationInsights logger (instrumentationKey, connectionString or identityClientId)."
            )));
        }
        if !credentials.contains_key("instrumentationKey")
            && !credentials.contains_key("connectionString")
        {
            return Err(ArmError::validation(
                "An applicationInsights logger needs credentials.instrumentationKey or credentials.connectionString.",
            ));
        }
    }
    let id = addr.id();
    let existing = cx.store.get(&id).cloned();
    // One named value per logger, kept across PUTs, as APIM keeps the logger's.
    let named = existing
        .as_ref()
        .and_then(|r| r.private["namedValue"].as_str().map(str::to_string))
        .unwrap_or_else(|| {
            format!(
                "Logger-Credentials--{}",
                &uuid_like().replace('-', "")[..24]
            )
        });
    let shown: Map<String, Value> = credentials
        .keys()
        .map(|k| (k.clone(), Value::from(format!("{{{{{named}}}}}"))))
        .collect();
    if !credentials.is_empty() {
        props.insert("credentials".into(), Value::Object(shown));
    }
    props.entry("description").or_insert(Value::Null);
    // "Whether records are buffered in the logger before publishing. Default is assumed
    // to be true."
    props.entry("isBuffered").or_insert(Value::Bool(true));
    let view = json!({
        "id": id,
        "type": "Microsoft.ApiManagement/service/loggers",
        "name": id.rsplit('/').next(),
        "properties": props,
    });
    let mut record = Record::new(Kind::Logger, id.clone(), view);
    record.private = json!({"namedValue": named, "credentials": credentials});
    cx.store.put(record);
    Ok(Reply::put(
        existing.is_some(),
        cx.store.get(&id).expect("stored").body.clone(),
    ))
}

/// A diagnostic's `loggerId` as the full id of a logger of `service_id`, if it is one.
pub fn logger_of(service_id: &str, logger_id: &str) -> Option<String> {
    if logger_id.starts_with("/loggers/") {
        return Some(format!("{service_id}{logger_id}"));
    }
    let rest = key(logger_id).strip_prefix(&key(service_id))?.to_string();
    (rest.starts_with("/loggers/") && rest.matches('/').count() == 2).then(|| logger_id.into())
}

/// API Management's refusal of a diagnostic's `loggerId`, as quoted from real answers:
/// `{"code": "ValidationError", "message": "One or more fields contain incorrect values:",
/// "details": [{"code": "ValidationError", "target": "loggerId", "message": "Logger Id
/// '…' does not exist"}]}` (Azure/apiops#748) and "Invalid field 'loggerId' specified"
/// for one that is not a logger's id (Azure/apiops#328).
fn invalid_field(message: String) -> ArmError {
    ArmError::validation("One or more fields contain incorrect values:").with_details(vec![
        json!({"code": "ValidationError", "target": "loggerId", "message": message}),
    ])
}

pub fn put_diagnostic(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    parent_exists(cx, addr)?;
    let service_id = service_of(addr).id();
    let props = object(body, "properties");
    let logger_id = str_at(body, "/properties/loggerId").unwrap_or_default();
    let Some(full) = logger_of(&service_id, logger_id) else {
        return Err(invalid_field("Invalid field 'loggerId' specified".into()));
    };
    let logger = cx.store.get(&full).filter(|r| r.kind == Kind::Logger);
    let Some(logger) = logger else {
        let name = full.rsplit('/').next().unwrap_or_default();
        return Err(invalid_field(format!("Logger Id '{name}' does not exist")));
    };
    let is_ai = str_at(&logger.body, "/properties/loggerType")
        .is_some_and(|t| t.eq_ignore_ascii_case("applicationInsights"));
    if props.get("metrics").and_then(Value::as_bool) == Some(true) && !is_ai {
        return Err(ArmError::validation(
            "metrics applies only to Application Insights diagnostic settings: the logger is not an applicationInsights logger.",
        ));
    }
    let id = addr.id();
    let existed = cx.store.exists(&id);
    let type_ = if matches!(addr, Address::ApiDiagnostic(..)) {
        "Microsoft.ApiManagement/service/apis/diagnostics"
    } else {
        "Microsoft.ApiManagement/service/diagnostics"
    };
    let view = json!({
        "id": id,
        "type": type_,
        "name": id.rsplit('/').next(),
        "properties": props,
    });
    cx.store
        .put(Record::new(Kind::Diagnostic, id.clone(), view));
    Ok(Reply::put(
        existed,
        cx.store.get(&id).expect("stored").body.clone(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logger_ids_relative_or_full() {
        let svc = "/subscriptions/s/resourceGroups/r/providers/Microsoft.ApiManagement/service/a";
        assert_eq!(
            logger_of(svc, "/loggers/ai").as_deref(),
            Some(format!("{svc}/loggers/ai").as_str())
        );
        let full = format!("{svc}/loggers/ai");
        assert_eq!(
            logger_of(svc, &full.to_uppercase()),
            Some(full.to_uppercase())
        );
        assert_eq!(logger_of(svc, "/subscriptions/s/other/loggers/ai"), None);
        assert_eq!(logger_of(svc, &format!("{svc}/backends/b")), None);
    }
}
