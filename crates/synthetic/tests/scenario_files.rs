//! Scenario files: the example in `deploy/scenarios/` parses to the default effects, and
//! mistakes are refused with a message that names them.

use synthetic::{PlantedEffect, Scenario, ScenarioError};

const PLANTED: &str = include_str!("../../../deploy/scenarios/planted.toml");

#[test]
fn the_example_scenario_is_the_default_effects() {
    let scenario = Scenario::from_toml(PLANTED).unwrap();
    assert_eq!(
        scenario,
        Scenario::with_default_effects(2020..=2025, 42, 1.0)
    );
}

#[test]
fn a_minimal_scenario_needs_only_its_years() {
    let scenario = Scenario::from_toml("years = 2024").unwrap();
    assert_eq!(scenario, Scenario::realistic(2024..=2024, 1, 1.0));
    let scenario = Scenario::from_toml("years = \"2021 - 2023\"\nseed = 7\nscale = 0.5").unwrap();
    assert_eq!(scenario, Scenario::realistic(2021..=2023, 7, 0.5));
}

#[test]
fn regions_may_be_named_and_are_stored_by_number() {
    let text = r#"
        years = "2020-2025"
        [[effects]]
        kind = "slow_region"
        region = "Helse Midt-Norge RHF"
        scheme = "individual_access"
        factor = 1.5
    "#;
    let scenario = Scenario::from_toml(text).unwrap();
    assert_eq!(
        scenario.effects,
        [PlantedEffect::SlowRegion {
            region: "983658776".into(),
            scheme: "individual_access".into(),
            factor: 1.5
        }]
    );
}

fn error(text: &str) -> ScenarioError {
    Scenario::from_toml(text).unwrap_err()
}

fn effect_error(effect: &str) -> String {
    match error(&format!("years = \"2020-2025\"\n[[effects]]\n{effect}")) {
        ScenarioError::Effect { message, .. } => message,
        other => panic!("{other:?}"),
    }
}

#[test]
fn mistakes_are_refused_with_what_is_wrong() {
    assert!(matches!(error("seed = 1"), ScenarioError::Toml(_)));
    assert!(matches!(
        error("years = \"2020-2025\"\ncolour = 1"),
        ScenarioError::Toml(_)
    ));
    assert!(matches!(
        error("years = \"2025-2020\""),
        ScenarioError::Years(_)
    ));
    assert!(matches!(
        error("years = \"twenty\""),
        ScenarioError::Years(_)
    ));
    assert!(matches!(error("years = 2010"), ScenarioError::Years(_)));
    assert!(error("years = 2010")
        .to_string()
        .contains("from 2017 to 2095"));
    assert!(matches!(
        error("years = 2024\nscale = 0"),
        ScenarioError::Scale(_)
    ));
    assert!(matches!(
        error("years = 2024\n[[effects]]\nkind = \"meteor\""),
        ScenarioError::Toml(_)
    ));
    let unknown_method = effect_error(
        "kind = \"low_grant_rate\"\norg = \"883974832\"\nmethod_id = \"ID2013_001\"\ngrant_rate = 0.25",
    );
    assert!(
        unknown_method.contains("ID2013_001") && unknown_method.contains("ID2019_001"),
        "{unknown_method}"
    );
    assert!(effect_error("kind = \"low_grant_rate\"\norg = \"983544622\"\nmethod_id = \"ID2019_001\"\ngrant_rate = 0.25")
        .contains("not a trust"));
    assert!(effect_error("kind = \"low_grant_rate\"\norg = \"883974832\"\nmethod_id = \"ID2019_001\"\ngrant_rate = 1.5")
        .contains("grant_rate"));
    assert!(effect_error("kind = \"slow_region\"\nregion = \"Helse Øst\"\nscheme = \"individual_exemption\"\nfactor = 2.0")
        .contains("not a region"));
    assert!(effect_error("kind = \"slow_region\"\nregion = \"Helse Vest\"\nscheme = \"helfo_individual\"\nfactor = 2.0")
        .contains("nationally"));
    assert!(effect_error("kind = \"cluster\"\nmethod_id = \"ID2019_107\"\nicd10_category = \"C61.1\"\ncount = 8\nyear = 2025")
        .contains("category"));
    assert!(effect_error("kind = \"cluster\"\nmethod_id = \"ID2019_107\"\nicd10_category = \"C61\"\ncount = 8\nyear = 2019")
        .contains("outside"));
    assert!(effect_error(
        "kind = \"unequal_subgroup\"\nmethod_id = \"ID2019_054\"\nicd10_category = \"C50\"\ngranting_region = \"Helse Nord\"\nrefusing_region = \"883658752\""
    )
    .contains("differ"));
    assert!(
        effect_error("kind = \"volume_jump\"\norg = \"123456785\"\nyear = 2025\nfactor = 3.0")
            .contains("not in the reference list")
    );
}
