//! Azure region names, as `az account list-locations` prints them.
//!
//! A plan may write either form (`westus` or `West US`); the model keeps the canonical
//! name for ARM and the display name, which is what Azure OpenAI sends back in the
//! `x-ms-region` header.

/// (name, display name) for every region of the public, US Government and China clouds.
pub const REGIONS: &[(&str, &str)] = &[
    ("australiacentral", "Australia Central"),
    ("australiacentral2", "Australia Central 2"),
    ("australiaeast", "Australia East"),
    ("australiasoutheast", "Australia Southeast"),
    ("austriaeast", "Austria East"),
    ("belgiumcentral", "Belgium Central"),
    ("brazilsouth", "Brazil South"),
    ("brazilsoutheast", "Brazil Southeast"),
    ("canadacentral", "Canada Central"),
    ("canadaeast", "Canada East"),
    ("centralindia", "Central India"),
    ("centralus", "Central US"),
    ("centraluseuap", "Central US EUAP"),
    ("chilecentral", "Chile Central"),
    ("denmarkeast", "Denmark East"),
    ("eastasia", "East Asia"),
    ("eastus", "East US"),
    ("eastus2", "East US 2"),
    ("eastus2euap", "East US 2 EUAP"),
    ("francecentral", "France Central"),
    ("francesouth", "France South"),
    ("germanynorth", "Germany North"),
    ("germanywestcentral", "Germany West Central"),
    ("indonesiacentral", "Indonesia Central"),
    ("israelcentral", "Israel Central"),
    ("italynorth", "Italy North"),
    ("japaneast", "Japan East"),
    ("japanwest", "Japan West"),
    ("jioindiacentral", "Jio India Central"),
    ("jioindiawest", "Jio India West"),
    ("koreacentral", "Korea Central"),
    ("koreasouth", "Korea South"),
    ("malaysiawest", "Malaysia West"),
    ("mexicocentral", "Mexico Central"),
    ("newzealandnorth", "New Zealand North"),
    ("northcentralus", "North Central US"),
    ("northeurope", "North Europe"),
    ("norwayeast", "Norway East"),
    ("norwaywest", "Norway West"),
    ("polandcentral", "Poland Central"),
    ("qatarcentral", "Qatar Central"),
    ("southafricanorth", "South Africa North"),
    ("southafricawest", "South Africa West"),
    ("southcentralus", "South Central US"),
    ("southeastasia", "Southeast Asia"),
    ("southindia", "South India"),
    ("spaincentral", "Spain Central"),
    ("swedencentral", "Sweden Central"),
    ("swedensouth", "Sweden South"),
    ("switzerlandnorth", "Switzerland North"),
    ("switzerlandwest", "Switzerland West"),
    ("taiwannorth", "Taiwan North"),
    ("taiwannorthwest", "Taiwan Northwest"),
    ("uaecentral", "UAE Central"),
    ("uaenorth", "UAE North"),
    ("uksouth", "UK South"),
    ("ukwest", "UK West"),
    ("westcentralus", "West Central US"),
    ("westeurope", "West Europe"),
    ("westindia", "West India"),
    ("westus", "West US"),
    ("westus2", "West US 2"),
    ("westus3", "West US 3"),
    // US Government cloud
    ("usgovarizona", "USGov Arizona"),
    ("usgovtexas", "USGov Texas"),
    ("usgovvirginia", "USGov Virginia"),
    ("usdodcentral", "USDoD Central"),
    ("usdodeast", "USDoD East"),
    // China cloud
    ("chinaeast", "China East"),
    ("chinaeast2", "China East 2"),
    ("chinaeast3", "China East 3"),
    ("chinanorth", "China North"),
    ("chinanorth2", "China North 2"),
    ("chinanorth3", "China North 3"),
];

/// A known region, found by name or display name, in any case, with or without spaces.
pub fn lookup(input: &str) -> Option<(&'static str, &'static str)> {
    let key: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    REGIONS.iter().copied().find(|(name, _)| *name == key)
}

/// The display name of a canonical region name (`westus` -> `West US`).
pub fn display_name(name: &str) -> Option<&'static str> {
    lookup(name).map(|(_, display)| display)
}

/// The closest known region names, for "did you mean" hints.
pub fn suggest(input: &str) -> Option<&'static str> {
    let key = input.to_lowercase().replace(' ', "");
    REGIONS
        .iter()
        .map(|(name, _)| (strsim::damerau_levenshtein(&key, name), *name))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_names_in_either_form() {
        assert_eq!(lookup("westus"), Some(("westus", "West US")));
        assert_eq!(lookup("West US"), Some(("westus", "West US")));
        assert_eq!(lookup("EASTUS2"), Some(("eastus2", "East US 2")));
        assert_eq!(lookup("mars"), None);
    }

    #[test]
    fn suggests_near_misses_only() {
        assert_eq!(suggest("westsu"), Some("westus"));
        assert_eq!(suggest("eastus4"), Some("eastus"));
        assert_eq!(suggest("the moon"), None);
    }

    #[test]
    fn names_are_canonical_and_unique() {
        let mut names: Vec<_> = REGIONS.iter().map(|(n, _)| *n).collect();
        for n in &names {
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
                "{n}"
            );
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), REGIONS.len());
    }
}
