//! Poll URLs of long-running operations: `Azure-AsyncOperation` answers the status,
//! `Location` answers 202 until the operation ends, then the resource (200), nothing
//! (204) or the error. Each answer in progress carries `Retry-After`; a poll sooner than
//! the last one allowed is marked `early` in the request log.

use super::Cx;
use crate::address::{Namespace, Poll};
use crate::ops::{OpKind, OpStatus};
use crate::reply::{ArmError, Reply};

pub fn get(cx: &mut Cx, id: &str, poll: Poll) -> Result<Reply, ArmError> {
    let now = cx.now;
    let location_marked = cx
        .query
        .contains_key(&crate::op_urls::LOCATION_MARKER.to_ascii_lowercase());
    let Some(op) = cx.store.operations.get_mut(id) else {
        return Err(ArmError::new(
            404,
            "ResourceNotFound",
            format!("The operation '{id}' was not found."),
        ));
    };
    let early = op.next_poll_ms > 0 && now < op.next_poll_ms;
    let running = op.status == OpStatus::InProgress;
    op.next_poll_ms = if running { now + op.retry_ms } else { 0 };
    let op = op.clone();
    // Cognitive Services polls its status at `operationResults` (see op_urls); only
    // its Location URL carries the marker.
    let poll = match (op.namespace, poll) {
        (Namespace::CognitiveServices, Poll::Result) if !location_marked => Poll::Status,
        _ => poll,
    };
    let mut reply = match (poll, op.status) {
        (Poll::Status, _) => {
            let mut r = Reply::ok(op.status_body());
            if running {
                r.headers = op.retry_headers();
            }
            r
        }
        (Poll::Result, OpStatus::InProgress) => {
            let mut r = Reply::empty(202);
            r.headers = cx.op_headers(&op, false, true);
            r
        }
        (Poll::Result, OpStatus::Failed) => return failed(op.error(), early),
        // A deleted resource group's Location ends in 200 with no body (recorded).
        (Poll::Result, OpStatus::Succeeded) if op.kind == OpKind::GroupDelete => Reply::empty(200),
        // An API import's Location ends with its asyncCode and the API (recorded).
        (Poll::Result, OpStatus::Succeeded) if op.kind == OpKind::ApiImport => {
            match cx.store.get(&op.target) {
                Some(r) => Reply::new(op.async_code.max(200), r.body.clone()),
                None => Reply::empty(204),
            }
        }
        (Poll::Result, OpStatus::Succeeded) => match cx.store.get(&op.target) {
            Some(r) if !op.kind.removes() => Reply::ok(r.body.clone()),
            _ => Reply::empty(204),
        },
    };
    reply.early = early;
    Ok(reply)
}

/// A failed operation's `Location` answer. The log's `early` flag rides on errors too.
fn failed(error: ArmError, early: bool) -> Result<Reply, ArmError> {
    let mut reply = Reply::new(error.status, error.body());
    reply.early = early;
    Ok(reply)
}
