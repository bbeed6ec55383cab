//! The reference lists the generator draws from: the organisation register and the
//! counties with their populations, both compiled in from `deploy/reference/`, and the
//! synthetic catchment areas that send a county's patients to its trusts.

use std::collections::HashMap;
use std::sync::OnceLock;

use domain::organisation::OrganisationNumber;
use domain::organisation_register::{Organisation, OrganisationKind};

const ORGANISATIONS_CSV: &str = include_str!("../../../deploy/reference/organisations.csv");
const COUNTIES_CSV: &str = include_str!("../../../deploy/reference/counties.csv");

/// Helsedirektoratet, where Helfo decides individual reimbursement.
pub const HELSEDIREKTORATET: &str = "983544622";
/// Oslo universitetssykehus: the national centre that rare cases are referred to.
pub const OSLO_UNIVERSITETSSYKEHUS: &str = "993467049";

/// One row of `organisations.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceOrganisation {
    pub org_number: &'static str,
    pub name: &'static str,
    pub kind: OrganisationKind,
    /// The RHF's organisation number (itself for an RHF); none for Helsedirektoratet.
    pub region: Option<&'static str>,
}

/// One row of `counties.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceCounty {
    pub number: &'static str,
    pub name: &'static str,
    pub region: &'static str,
    pub population: u32,
}

/// Every organisation in the reference list, in its order.
pub fn organisations() -> &'static [ReferenceOrganisation] {
    static ORGANISATIONS: OnceLock<Vec<ReferenceOrganisation>> = OnceLock::new();
    ORGANISATIONS.get_or_init(|| {
        rows(ORGANISATIONS_CSV)
            .map(|fields| ReferenceOrganisation {
                org_number: fields[0],
                name: fields[1],
                kind: OrganisationKind::parse(fields[2]).expect("a known organisation kind"),
                region: Some(fields[3]).filter(|r| !r.is_empty()),
            })
            .collect()
    })
}

/// Every county in the reference list, in its order.
pub fn counties() -> &'static [ReferenceCounty] {
    static COUNTIES: OnceLock<Vec<ReferenceCounty>> = OnceLock::new();
    COUNTIES.get_or_init(|| {
        rows(COUNTIES_CSV)
            .map(|fields| ReferenceCounty {
                number: fields[0],
                name: fields[1],
                region: fields[2],
                population: fields[4].parse().expect("a population"),
            })
            .collect()
    })
}

/// The reference list as the domain's organisation register, every organisation active:
/// what a `ReportContext` needs to validate generated reports.
pub fn organisation_register() -> HashMap<OrganisationNumber, Organisation> {
    organisations()
        .iter()
        .map(|org| {
            let number = OrganisationNumber::parse(org.org_number).expect("a valid number");
            let organisation = Organisation {
                org_number: number.clone(),
                name: org.name.to_string(),
                kind: org.kind,
                region_org_number: org
                    .region
                    .map(|r| OrganisationNumber::parse(r).expect("a valid number")),
                active: true,
            };
            (number, organisation)
        })
        .collect()
}

/// The data rows of a small CSV file without quoted fields.
fn rows(csv: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    csv.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.split(',').map(str::trim).collect())
}

pub fn organisation(org_number: &str) -> Option<&'static ReferenceOrganisation> {
    // Looked up for every case generated and analysed: an index, not a scan.
    static BY_NUMBER: OnceLock<HashMap<&'static str, &'static ReferenceOrganisation>> =
        OnceLock::new();
    BY_NUMBER
        .get_or_init(|| organisations().iter().map(|o| (o.org_number, o)).collect())
        .get(org_number)
        .copied()
}

/// The RHFs, in the order of the reference list.
pub fn regions() -> impl Iterator<Item = &'static ReferenceOrganisation> {
    organisations()
        .iter()
        .filter(|o| o.kind == OrganisationKind::Rhf)
}

/// The RHF's organisation number for a region named by number or by name (with or
/// without "RHF"), e.g. "883658752", "Helse Nord" or "Helse Nord RHF".
pub fn region_number(region: &str) -> Option<&'static str> {
    let wanted = region.trim().to_lowercase();
    let wanted = wanted.trim_end_matches(" rhf");
    regions()
        .find(|r| {
            r.org_number == wanted || r.name.to_lowercase().trim_end_matches(" rhf") == wanted
        })
        .map(|r| r.org_number)
}

/// The region an organisation belongs to (itself for an RHF).
pub fn region_of(org_number: &str) -> Option<&'static str> {
    organisation(org_number).and_then(|o| o.region)
}

pub fn is_trust(org_number: &str) -> bool {
    organisation(org_number).is_some_and(|o| o.kind.is_treating())
}

/// The trusts whose patients come from a county, with relative weights: a plausible
/// catchment area (opptaksområde), not an official one. Counties and trusts not named
/// here get none.
const CATCHMENT: &[(&str, &[(&str, f64)])] = &[
    // Oslo: OUS, Lovisenberg and Diakonhjemmet share the city; Ahus serves Groruddalen.
    (
        "03",
        &[
            ("993467049", 5.0),
            ("965985166", 2.0),
            ("982791952", 2.0),
            ("983971636", 1.0),
        ],
    ),
    ("31", &[("983971768", 1.0)]),
    (
        "32",
        &[
            ("983971636", 4.0),
            ("894166762", 1.0),
            ("985962170", 0.1),
            ("883971752", 0.05),
        ],
    ),
    ("33", &[("894166762", 1.0)]),
    ("34", &[("983971709", 1.0), ("985773238", 0.05)]),
    ("39", &[("983975259", 1.0)]),
    ("40", &[("983975267", 1.0), ("981275721", 0.05)]),
    ("42", &[("983975240", 1.0)]),
    (
        "11",
        &[("983974678", 3.0), ("983974694", 1.0), ("986106839", 0.05)],
    ),
    (
        "46",
        &[
            ("983974724", 4.0),
            ("983974732", 1.0),
            ("984027737", 0.6),
            ("983974694", 0.6),
        ],
    ),
    ("15", &[("997005562", 1.0)]),
    ("50", &[("883974832", 3.0), ("983974791", 1.0)]),
    ("18", &[("983974910", 2.0), ("983974929", 1.0)]),
    ("55", &[("983974899", 1.0)]),
    ("56", &[("983974880", 1.0)]),
];

/// The trusts that treat a county's residents, with weights.
pub fn catchment(county: &str) -> &'static [(&'static str, f64)] {
    CATCHMENT
        .iter()
        .find(|(number, _)| *number == county)
        .map(|(_, trusts)| *trusts)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_lists_are_read_whole() {
        assert_eq!(organisations().len(), 32);
        assert_eq!(counties().len(), 15);
        assert_eq!(regions().count(), 4);
        assert_eq!(organisation_register().len(), 32);
    }

    #[test]
    fn every_county_has_trusts_of_its_own_region() {
        for county in counties() {
            let trusts = catchment(county.number);
            assert!(!trusts.is_empty(), "county {}", county.number);
            for (trust, _) in trusts {
                assert!(is_trust(trust), "{trust}");
                assert_eq!(region_of(trust), Some(county.region), "{trust}");
            }
        }
    }

    #[test]
    fn regions_are_found_by_number_or_name() {
        assert_eq!(region_number("883658752"), Some("883658752"));
        assert_eq!(region_number("Helse Nord"), Some("883658752"));
        assert_eq!(region_number("helse midt-norge rhf"), Some("983658776"));
        assert_eq!(region_number("Helse Øst"), None);
        assert_eq!(region_number("993467049"), None);
    }
}
