//! An account's access keys: Accounts_ListKeys (`POST .../accounts/{a}/listKeys`, `200
//! {key1, key2}`) and Accounts_RegenerateKey (`POST .../regenerateKey` with `{"keyName":
//! "Key1"|"Key2"}`, `200` with both keys), cognitiveservices.json (ListKeys.json,
//! RegenerateKey.json examples). Keys are 32 hex digits, as Azure AI services keys are;
//! they are drawn at the first listing and kept with the account (`Record::private`),
//! which no GET, request log or state hook shows.

use serde_json::{Value, json};

use super::Cx;
use crate::address::{Address, KeyAction, Rg};
use crate::reply::{ArmError, Reply, uuid_like};

fn new_key() -> String {
    uuid_like().replace('-', "")
}

/// `{key1, key2}` of an account, drawn if it has none yet.
fn keys_of(cx: &mut Cx, account: &Address) -> Result<Value, ArmError> {
    let missing = cx.missing(account);
    let record = cx.store.get_mut(&account.id()).ok_or(missing)?;
    for k in ["key1", "key2"] {
        if record.private.get(k).and_then(Value::as_str).is_none() {
            if !record.private.is_object() {
                record.private = json!({});
            }
            record.private[k] = Value::from(new_key());
        }
    }
    Ok(json!({"key1": record.private["key1"], "key2": record.private["key2"]}))
}

/// Which key a regenerateKey body names.
fn key_name(body: Option<&Value>) -> Result<&'static str, ArmError> {
    let name = body
        .and_then(|b| b.get("keyName"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    match name.to_ascii_lowercase().as_str() {
        "key1" => Ok("key1"),
        "key2" => Ok("key2"),
        _ => Err(ArmError::bad_request(
            "InvalidRequestContent",
            format!("The keyName '{name}' is not valid; it must be Key1 or Key2."),
        )),
    }
}

/// listKeys and regenerateKey.
pub fn post(
    cx: &mut Cx,
    rg: &Rg,
    account: &str,
    action: KeyAction,
    body: Option<&Value>,
) -> Result<Reply, ArmError> {
    let addr = Address::Account(rg.clone(), account.to_string());
    let regenerate = match action {
        KeyAction::List => None,
        KeyAction::Regenerate => Some(key_name(body)?),
    };
    keys_of(cx, &addr)?;
    if let Some(k) = regenerate {
        let record = cx.store.get_mut(&addr.id()).expect("keys_of found it");
        record.private[k] = Value::from(new_key());
    }
    Ok(Reply::ok(keys_of(cx, &addr)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names() {
        assert_eq!(key_name(Some(&json!({"keyName": "Key2"}))).unwrap(), "key2");
        assert_eq!(
            key_name(Some(&json!({"keyName": "Key3"})))
                .unwrap_err()
                .code,
            "InvalidRequestContent"
        );
        assert!(key_name(None).is_err());
        assert_eq!(new_key().len(), 32);
    }
}
