//! The resource providers the emulator serves, as ARM names them in paths, and the
//! api-version each one's request bodies are validated at (`address.rs` re-exports it).

/// The resource providers the emulator serves.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Namespace {
    Resources,
    CognitiveServices,
    ApiManagement,
    Authorization,
    ManagedIdentity,
    Insights,
    OperationalInsights,
}

impl Namespace {
    pub const ALL: [Namespace; 7] = [
        Namespace::Resources,
        Namespace::CognitiveServices,
        Namespace::ApiManagement,
        Namespace::Authorization,
        Namespace::ManagedIdentity,
        Namespace::Insights,
        Namespace::OperationalInsights,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Namespace::Resources => "Microsoft.Resources",
            Namespace::CognitiveServices => "Microsoft.CognitiveServices",
            Namespace::ApiManagement => "Microsoft.ApiManagement",
            Namespace::Authorization => "Microsoft.Authorization",
            Namespace::ManagedIdentity => "Microsoft.ManagedIdentity",
            Namespace::Insights => "Microsoft.Insights",
            Namespace::OperationalInsights => "Microsoft.OperationalInsights",
        }
    }

    /// The namespace's reference api-version: that of the ARM schema the emulator ships
    /// for it (`schema`; request bodies are validated with it whatever version was asked),
    /// or, for the two it ships none for, a documented stable version. The versions
    /// served are the windows of `versions`, which include this one.
    pub fn api_version(self) -> &'static str {
        use crate::schema;
        match self {
            // Stable Microsoft.Resources version of "Resource Groups - Create Or Update"
            // and "Resources - List By Resource Group" (learn.microsoft.com/rest/api/resources,
            // api-version 2021-04-01).
            Namespace::Resources => "2021-04-01",
            Namespace::CognitiveServices => schema::cognitive_services_version(),
            Namespace::ApiManagement => schema::api_management_version(),
            Namespace::Authorization => schema::authorization_version(),
            // Stable Microsoft.ManagedIdentity version of "User Assigned Identities - Get"
            // (learn.microsoft.com/rest/api/managedidentity, api-version 2023-01-31).
            Namespace::ManagedIdentity => "2023-01-31",
            Namespace::Insights => schema::insights_version(),
            Namespace::OperationalInsights => schema::operational_insights_version(),
        }
    }

    pub(super) fn parse(s: &str) -> Option<Namespace> {
        Namespace::ALL
            .into_iter()
            .find(|n| n.name().eq_ignore_ascii_case(s))
    }
}
