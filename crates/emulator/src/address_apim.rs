//! The Microsoft.ApiManagement paths of the parser in `address.rs`: everything below
//! `service/{svc}` (backends, APIs, their policies, operations and diagnostics,
//! subscriptions, loggers, the service's diagnostics, operation polls).

use super::{Address, ApimCollection, Namespace, Poll, Rg, eq};

/// `service/{svc}/...` of Microsoft.ApiManagement; `None` for a type it does not serve.
pub(super) fn apim_resource(rg: Rg, rest: &[&str]) -> Option<Address> {
    let k = |i: usize, word: &str| rest.get(i).is_some_and(|x| eq(x, word));
    let name = |i: usize| rest[i].to_string();
    let svc = name(1);
    Some(match rest.len() {
        2 => Address::ApimService(rg, svc),
        3 if k(2, "backends") => Address::ApimCollection(rg, svc, ApimCollection::Backends),
        3 if k(2, "apis") => Address::ApimCollection(rg, svc, ApimCollection::Apis),
        3 if k(2, "subscriptions") => {
            Address::ApimCollection(rg, svc, ApimCollection::Subscriptions)
        }
        // An API import's Azure-AsyncOperation (op_urls).
        5 if k(2, "tenant") && k(3, "operationResults") => Address::Operation {
            sub: rg.sub,
            namespace: Namespace::ApiManagement,
            id: name(4),
            poll: Poll::Status,
        },
        // An API Management service operation's Location (op_urls).
        4 if k(2, "operationresults") => Address::Operation {
            sub: rg.sub,
            namespace: Namespace::ApiManagement,
            id: name(3),
            poll: Poll::Result,
        },
        4 if k(2, "backends") => Address::Backend(rg, svc, name(3)),
        4 if k(2, "apis") => Address::Api(rg, svc, name(3)),
        4 if k(2, "subscriptions") => Address::ApimSubscription(rg, svc, name(3)),
        3 if k(2, "loggers") => Address::ApimCollection(rg, svc, ApimCollection::Loggers),
        3 if k(2, "diagnostics") => Address::ApimCollection(rg, svc, ApimCollection::Diagnostics),
        5 if k(2, "apis") && k(4, "diagnostics") => Address::ApiDiagnostics(rg, svc, name(3)),
        4 if k(2, "loggers") => Address::Logger(rg, svc, name(3)),
        4 if k(2, "diagnostics") => Address::ServiceDiagnostic(rg, svc, name(3)),
        6 if k(2, "apis") && k(4, "diagnostics") => {
            Address::ApiDiagnostic(rg, svc, name(3), name(5))
        }
        5 if k(2, "subscriptions") && k(4, "listSecrets") => Address::ListSecrets(rg, svc, name(3)),
        5 if k(2, "apis") && k(4, "policies") => Address::ApiPolicies(rg, svc, name(3)),
        5 if k(2, "apis") && k(4, "operations") => Address::ApiOperations(rg, svc, name(3)),
        6 if k(2, "apis") && k(4, "policies") && k(5, "policy") => {
            Address::ApiPolicy(rg, svc, name(3))
        }
        6 if k(2, "apis") && k(4, "operations") => Address::ApiOperation(rg, svc, name(3), name(5)),
        _ => return None,
    })
}
