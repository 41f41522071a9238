//! The Azure regions the emulator knows, as ARM's locations API names them: a `name`
//! (`westus`, what resources carry in `location`) and a `displayName` (`West US`, what
//! Azure OpenAI sends back in `x-ms-region`). Used for the data plane's `x-ms-region`
//! and to look up per-region settings.
//!
//! Source: the public-cloud locations of `GET /subscriptions/{id}/locations`
//! ("Subscriptions - List Locations", learn.microsoft.com/rest/api/resources/subscriptions/list-locations;
//! `az account list-locations` prints the same `name`/`displayName` pairs), as recorded in
//! Azure/azure-sdk-for-net `sdk/core/Azure.Core/src/AzureLocation.cs` (the SDK's table of
//! public-cloud locations, one `CreateStaticReference(name, displayName)` each).

/// `(name, displayName)` per region, in the order of the source.
const REGIONS: &[(&str, &str)] = &[
    ("eastasia", "East Asia"),
    ("southeastasia", "Southeast Asia"),
    ("centralus", "Central US"),
    ("eastus", "East US"),
    ("eastus2", "East US 2"),
    ("westus", "West US"),
    ("westus2", "West US 2"),
    ("westus3", "West US 3"),
    ("northcentralus", "North Central US"),
    ("southcentralus", "South Central US"),
    ("northeurope", "North Europe"),
    ("westeurope", "West Europe"),
    ("japanwest", "Japan West"),
    ("japaneast", "Japan East"),
    ("brazilsouth", "Brazil South"),
    ("australiaeast", "Australia East"),
    ("australiasoutheast", "Australia Southeast"),
    ("southindia", "South India"),
    ("centralindia", "Central India"),
    ("westindia", "West India"),
    ("canadacentral", "Canada Central"),
    ("canadaeast", "Canada East"),
    ("uksouth", "UK South"),
    ("ukwest", "UK West"),
    ("westcentralus", "West Central US"),
    ("koreacentral", "Korea Central"),
    ("koreasouth", "Korea South"),
    ("francecentral", "France Central"),
    ("francesouth", "France South"),
    ("australiacentral", "Australia Central"),
    ("australiacentral2", "Australia Central 2"),
    ("uaecentral", "UAE Central"),
    ("uaenorth", "UAE North"),
    ("southafricanorth", "South Africa North"),
    ("southafricawest", "South Africa West"),
    ("swedencentral", "Sweden Central"),
    ("swedensouth", "Sweden South"),
    ("switzerlandnorth", "Switzerland North"),
    ("switzerlandwest", "Switzerland West"),
    ("germanynorth", "Germany North"),
    ("germanywestcentral", "Germany West Central"),
    ("germanycentral", "Germany Central"),
    ("germanynortheast", "Germany Northeast"),
    ("norwaywest", "Norway West"),
    ("norwayeast", "Norway East"),
    ("brazilsoutheast", "Brazil Southeast"),
    ("chinanorth", "China North"),
    ("chinaeast", "China East"),
    ("chinanorth2", "China North 2"),
    ("chinanorth3", "China North 3"),
    ("chinaeast2", "China East 2"),
    ("chinaeast3", "China East 3"),
    ("qatarcentral", "Qatar Central"),
    ("usdodcentral", "US DoD Central"),
    ("usdodeast", "US DoD East"),
    ("usgovarizona", "US Gov Arizona"),
    ("usgovtexas", "US Gov Texas"),
    ("usgovvirginia", "US Gov Virginia"),
    ("usgoviowa", "US Gov Iowa"),
    ("israelcentral", "Israel Central"),
    ("italynorth", "Italy North"),
    ("polandcentral", "Poland Central"),
    ("mexicocentral", "Mexico Central"),
    ("spaincentral", "Spain Central"),
];

/// One region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// `westus`.
    pub name: &'static str,
    /// `West US`.
    pub display_name: &'static str,
}

/// The region `input` names, by name or display name. ARM compares locations without
/// case, and a display name with its spaces removed is the name (`West US 2` ->
/// `westus2`), as Azure.Core's `AzureLocation(string)` resolves either form.
pub fn lookup(input: &str) -> Option<Region> {
    let folded: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    REGIONS
        .iter()
        .find(|(name, _)| *name == folded)
        .map(|&(name, display_name)| Region { name, display_name })
}

/// Every region's name, in the order of the source (the locations an error lists).
pub fn names() -> Vec<&'static str> {
    REGIONS.iter().map(|(name, _)| *name).collect()
}

/// The display name of a region given by name or display name (`westus` -> `West US`).
pub fn display_name(input: &str) -> Option<&'static str> {
    lookup(input).map(|r| r.display_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_display_names_are_one_region() {
        assert_eq!(display_name("westus"), Some("West US"));
        assert_eq!(display_name("West US"), Some("West US"));
        assert_eq!(display_name("WESTUS2"), Some("West US 2"));
        assert_eq!(lookup("Sweden Central").unwrap().name, "swedencentral");
        assert_eq!(lookup("eastus"), lookup("East US"));
        assert_ne!(lookup("eastus"), lookup("eastus2"));
        assert_eq!(lookup("marsnorth"), None);
        assert_eq!(lookup(""), None);
    }

    #[test]
    fn the_table_is_consistent() {
        // Every display name folds to its name (the rule `lookup` relies on), once.
        for (name, display) in REGIONS {
            let folded: String = display
                .chars()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_lowercase)
                .collect();
            assert_eq!(&folded, name);
            assert_eq!(
                REGIONS.iter().filter(|(n, _)| n == name).count(),
                1,
                "{name}"
            );
        }
    }
}
