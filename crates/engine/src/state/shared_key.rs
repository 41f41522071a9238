//! Shared Key authorization of Blob REST requests: what an account key (and the storage
//! emulator, whose account key is public) signs with.
//!
//! The string to sign, for x-ms-version 2015-02-21 and later, is the one in "Authorize
//! with Shared Key" (learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key):
//! the verb, eleven standard headers (Content-Length empty when zero), the `x-ms-`
//! headers lower-cased and sorted, then `/ACCOUNT/PATH` and each query parameter as
//! `\nname:value`, names lower-cased and sorted. The signature is the base64 of
//! HMAC-SHA256 over it, keyed with the base64-decoded account key.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The standard headers in the order the string to sign lists them.
const STANDARD: [&str; 11] = [
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
];

/// The string Shared Key signs. `path` is the URL's encoded path (for a path-style URL,
/// the account is its first segment and so appears twice, as the service expects);
/// `headers` are every header the request sends, names in any case.
pub fn string_to_sign(
    method: &str,
    account: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(String, String)],
) -> String {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let mut out = String::from(method);
    out.push('\n');
    for name in STANDARD {
        let value = header(name);
        // Since 2015-02-21 a zero Content-Length is signed as the empty string.
        let value = if name == "content-length" && value == "0" {
            ""
        } else {
            value
        };
        out.push_str(value);
        out.push('\n');
    }
    let mut ms: Vec<(String, &str)> = headers
        .iter()
        .filter(|(n, _)| n.to_ascii_lowercase().starts_with("x-ms-"))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim()))
        .collect();
    ms.sort();
    for (n, v) in ms {
        out.push_str(&format!("{n}:{v}\n"));
    }
    out.push_str(&format!("/{account}{path}"));
    let mut params: Vec<(String, &str)> = query
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), *v))
        .collect();
    params.sort();
    for (n, v) in params {
        out.push_str(&format!("\n{n}:{v}"));
    }
    out
}

/// The `Authorization` header's value: `SharedKey ACCOUNT:SIGNATURE`.
pub fn authorization(account: &str, key: &[u8], string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(string_to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("SharedKey {account}:{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: &str, v: &str) -> (String, String) {
        (n.into(), v.into())
    }

    #[test]
    fn the_string_to_sign_has_the_documented_shape() {
        let s = string_to_sign(
            "PUT",
            "acct",
            "/acct/c/state.json",
            &[("comp", "lease")],
            &[
                h("Content-Length", "0"),
                h("x-ms-version", "2021-12-02"),
                h("x-ms-date", "Wed, 02 Dec 2026 12:00:00 GMT"),
                h("x-ms-lease-action", " acquire "),
            ],
        );
        assert_eq!(
            s,
            "PUT\n\n\n\n\n\n\n\n\n\n\n\n\
             x-ms-date:Wed, 02 Dec 2026 12:00:00 GMT\nx-ms-lease-action:acquire\nx-ms-version:2021-12-02\n\
             /acct/acct/c/state.json\ncomp:lease"
        );
    }

    #[test]
    fn the_signature_is_hmac_sha256_in_base64() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let auth = authorization("a", b"Jefe", "what do ya want for nothing?");
        let expected = base64::engine::general_purpose::STANDARD.encode([
            0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95,
            0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9,
            0x64, 0xec, 0x38, 0x43,
        ]);
        assert_eq!(auth, format!("SharedKey a:{expected}"));
    }
}
