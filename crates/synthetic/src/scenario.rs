//! What to generate: the years, the seed, the volume, and the effects to plant. A scenario
//! is built in code or read from a TOML file (see `deploy/scenarios/planted.toml`).

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::catalogue::{
    methods_register, History, OLAPARIB, PEMBROLIZUMAB, TRASTUZUMAB_DERUXTECAN,
};
use crate::reference::{self, OSLO_UNIVERSITETSSYKEHUS};

/// The years a scenario may cover: Nye metoder ids start in 2013 and the register
/// reaches four years before the range.
pub const SUPPORTED_YEARS: RangeInclusive<i32> = 2017..=2095;

#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub years: RangeInclusive<i32>,
    pub seed: u64,
    /// Multiplies every ordinary volume (1.0 is Norway as the seeds describe it). Planted
    /// effects keep their absolute sizes.
    pub scale: f64,
    /// What the data is like where nothing is planted.
    pub world: NullWorld,
    pub effects: Vec<PlantedEffect>,
}

/// What the ordinary data (everything not planted) is like: the null worlds a signal
/// should stay quiet in. Nothing in any of them is a signal-worthy outlier.
///
/// Common to all: volumes are stationary. Each method has its own expected number of
/// applications a quarter in each scheme it may be applied for under (individual
/// exemptions while it is under assessment or re-assessment, individual access while it
/// is not introduced, and so on), the same in every quarter its status allows them
/// throughout (a quarter with Easter expects as many as one without), received on the
/// quarter's working days; a new method adds its own applications and takes none from
/// the others. The rate is the scheme's
/// volume ([`SchemeProfile::per_year`](crate::SchemeProfile)), shared among its methods
/// (for individual exemptions first by kind of patient: half cancer) and divided by the
/// mean number of them open over the scenario's years, so the years together have the
/// scheme's usual volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NullWorld {
    /// The same grant rate (the scheme's), the same processing times (the scheme's
    /// lognormal) and the same application rate per resident everywhere, and a steady
    /// methods register: every status was decided before the years begin and holds
    /// throughout, so each method's volume is the same in every quarter.
    Homogeneous,
    /// Ordinary spread between units, on the steady register of `Homogeneous`:
    ///
    /// - each deciding organisation's grant rate (every trust and RHF; not Helfo, which
    ///   is national) is the scheme's rate moved by a logit offset drawn from N(0, σ²),
    ///   with σ drawn once per world uniformly from [`RANDOM_EFFECTS_GRANT_LOGIT_SD`]
    ///   (0.35 to 0.5, a typical between-hospital spread);
    /// - each region's applications per resident are multiplied by a lognormal factor
    ///   with median 1 and log-scale SD [`RANDOM_EFFECTS_APPLICATION_SD`] (0.1: about
    ///   10 % between regions, a systematic component of variation of about 1 in
    ///   McPherson's SCV × 100, low by the variation atlases' conventions);
    /// - each region's processing times (of the cases its organisations decide) are
    ///   multiplied by a lognormal factor with median 1 and log-scale SD
    ///   [`RANDOM_EFFECTS_PROCESSING_SD`] (0.1).
    ///
    /// Offsets and factors hold for every year, scheme and method of the world. A planted
    /// grant rate (`LowGrantRate`, `UnequalSubgroup`) replaces the offset one where it
    /// applies; a `SlowRegion` factor multiplies the region's own.
    RandomEffects,
    /// The homogeneous rates of `Homogeneous` on the changing methods register: during
    /// the years methods enter assessment, are introduced or not introduced, and are
    /// re-assessed (about 14 rotating methods, each under assessment for 10 to 24
    /// months). Volumes change only as a method's life explains: its individual
    /// exemptions start when it enters assessment and stop when it can be used or is
    /// refused, when individual access begins instead. This is the default and what
    /// [`Scenario::realistic`] gives.
    #[default]
    MethodLifecycle,
}

/// The range σ of `RandomEffects`' grant-rate logit offsets is drawn from, per world.
pub const RANDOM_EFFECTS_GRANT_LOGIT_SD: RangeInclusive<f64> = 0.35..=0.5;
/// Log-scale SD of `RandomEffects`' regional application-rate factors.
pub const RANDOM_EFFECTS_APPLICATION_SD: f64 = 0.1;
/// Log-scale SD of `RandomEffects`' regional processing-time factors.
pub const RANDOM_EFFECTS_PROCESSING_SD: f64 = 0.1;

impl NullWorld {
    pub const ALL: [NullWorld; 3] = [
        NullWorld::Homogeneous,
        NullWorld::RandomEffects,
        NullWorld::MethodLifecycle,
    ];

    /// The name as written in a scenario file.
    pub fn as_str(self) -> &'static str {
        match self {
            NullWorld::Homogeneous => "homogeneous",
            NullWorld::RandomEffects => "random_effects",
            NullWorld::MethodLifecycle => "method_lifecycle",
        }
    }

    pub(crate) fn history(self) -> History {
        match self {
            NullWorld::Homogeneous | NullWorld::RandomEffects => History::Steady,
            NullWorld::MethodLifecycle => History::Changing,
        }
    }
}

/// An effect planted in the data, with the size that makes it detectable. Regions are
/// named by their RHF's organisation number; organisations by organisation number.
/// Outside an effect, grant rates, volumes and processing times are those of the
/// scenario's [`NullWorld`] (the same everywhere but in `RandomEffects`), so that what a
/// signal finds is planted, chance or ordinary spread. The documented sizes are measured
/// on the default world, one effect at a time (`unntak calibrate`): effects planted
/// together may touch the same cases (a volume jump at a trust adds to its decisions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PlantedEffect {
    /// One trust grants one method less often than elsewhere.
    ///
    /// Every case of `method_id` decided by `org`, in every year, is granted with
    /// probability `grant_rate` instead of the scheme's usual rate (0.75 for individual
    /// exemptions). So that the difference is measurable, the generator routes
    /// [`LOW_GRANT_RATE_CASES_PER_YEAR`] extra applications of the method a year to the
    /// org (its patients live in the org's region), on days when the method is under
    /// assessment, and [`LOW_GRANT_RATE_REFERENCE_CASES_PER_YEAR`] to other deciders at
    /// the usual rate: the org is compared with the rest of the country's decisions on the
    /// method, which must be seen too. Documented size: `grant_rate` 0.25 against 0.75,
    /// 50 cases a year at the org and 50 elsewhere (with 30 and 30, Fisher's test against
    /// the rest under the year's one false-discovery budget found it in 17 of 20 runs).
    /// `org` may be a trust (individual exemptions, while the method is under assessment)
    /// or an RHF (individual access while the method is not introduced, re-assessment
    /// access while it is re-assessed).
    LowGrantRate {
        org: String,
        method_id: String,
        grant_rate: f64,
    },
    /// One region's processing times are multiplied.
    ///
    /// Every case of `scheme` decided by an organisation of `region` (the RHF itself, or
    /// a trust in it) takes `factor` times as long, in every year: the lognormal's median
    /// moves from 21 to about 63 days for individual exemptions at the documented
    /// size `factor` 3.0 (the region decides about 30 a year; `unntak calibrate` found it
    /// in 91.5 % of 200 worlds at 2.5, too few for the 95 % a documented size must reach). Not for
    /// `helfo_individual`, which Helfo decides nationally.
    SlowRegion {
        region: String,
        scheme: String,
        factor: f64,
    },
    /// Extra applications for one method and ICD-10 category spread over several trusts
    /// within a few months.
    ///
    /// `count` applications of `method_id` for indications in `icd10_category` (a
    /// three-character category such as "C61"), received within 4 months of `year`,
    /// applied for at at least 3 trusts in different regions (individual exemptions while
    /// the method is under assessment, otherwise individual access). Outcomes follow the
    /// scheme's usual rate. The default plants a category the method's ordinary cases
    /// never have, so the combination is new. Documented size: `count` 8.
    Cluster {
        method_id: String,
        icd10_category: String,
        count: usize,
        year: i32,
    },
    /// The same subgroup granted in one region, refused in another.
    ///
    /// Cases of `method_id` for `icd10_category` decided in `granting_region` are granted
    /// with probability [`UNEQUAL_GRANTING_RATE`] (0.85), in `refusing_region` with
    /// [`UNEQUAL_REFUSING_RATE`] (0.25), in every year. The generator adds
    /// [`UNEQUAL_CASES_PER_REGION_AND_YEAR`] (30) applications a year in each of the two
    /// regions, decided at trusts there for patients living there.
    UnequalSubgroup {
        method_id: String,
        icd10_category: String,
        granting_region: String,
        refusing_region: String,
    },
    /// A trust's application volume jumps in the last quarter of a year.
    ///
    /// The org's applications (as deciding or applying organisation) received in October
    /// to December of `year` come at `factor` times its usual quarterly volume (its
    /// average over the scenario's quarters before): the generator adds on average
    /// `factor - 1` usual quarters' worth, in the org's usual mix of schemes. A factor
    /// below 1 removes applications instead. Documented size: `factor` 4.0 (signalled in at
    /// least 95 % of runs; 3.0 in about 85 %) at a large trust (Oslo universitetssykehus
    /// makes about 8 applications a quarter, so about 32).
    VolumeJump { org: String, year: i32, factor: f64 },
}

/// Extra applications a year that `LowGrantRate` routes to its org.
pub const LOW_GRANT_RATE_CASES_PER_YEAR: usize = 50;
/// Extra applications of a `LowGrantRate` method a year decided elsewhere at the usual
/// rate, so that the rest of the country's rate for the method is seen in enough cases.
pub const LOW_GRANT_RATE_REFERENCE_CASES_PER_YEAR: usize = 50;
/// Extra applications a year that `UnequalSubgroup` adds in each of its two regions.
pub const UNEQUAL_CASES_PER_REGION_AND_YEAR: usize = 30;
pub const UNEQUAL_GRANTING_RATE: f64 = 0.85;
pub const UNEQUAL_REFUSING_RATE: f64 = 0.25;
/// How long a `Cluster` lasts, in months.
pub const CLUSTER_MONTHS: u32 = 4;
/// The fewest trusts a `Cluster` is spread over.
pub const CLUSTER_MIN_TRUSTS: usize = 3;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScenarioError {
    #[error("the scenario is not valid TOML of the expected shape: {0}")]
    Toml(String),
    #[error(
        "years must be written \"2020-2025\" or as one year, from {first} to {last}: {0}",
        first = SUPPORTED_YEARS.start(),
        last = SUPPORTED_YEARS.end()
    )]
    Years(String),
    #[error("scale must be a positive number, not {0}")]
    Scale(f64),
    #[error("effect {index} ({kind}): {message}")]
    Effect {
        index: usize,
        kind: &'static str,
        message: String,
    },
}

/// A scenario file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    years: YearsField,
    #[serde(default = "default_seed")]
    seed: u64,
    #[serde(default = "default_scale")]
    scale: f64,
    #[serde(default)]
    world: NullWorld,
    #[serde(default)]
    effects: Vec<PlantedEffect>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum YearsField {
    One(i32),
    Range(String),
}

fn default_seed() -> u64 {
    1
}

fn default_scale() -> f64 {
    1.0
}

impl Scenario {
    /// Realistic data with nothing planted: the `MethodLifecycle` null world.
    pub fn realistic(years: RangeInclusive<i32>, seed: u64, scale: f64) -> Scenario {
        Scenario::null(NullWorld::MethodLifecycle, years, seed, scale)
    }

    /// A null world of the given kind, with nothing planted.
    pub fn null(world: NullWorld, years: RangeInclusive<i32>, seed: u64, scale: f64) -> Scenario {
        Scenario {
            years,
            seed,
            scale,
            world,
            effects: Vec::new(),
        }
    }

    /// Realistic data with one effect of each kind at its documented size. Cluster and
    /// VolumeJump are planted in the range's last year, so end the range with the last
    /// complete year (the period signals look at by default).
    pub fn with_default_effects(years: RangeInclusive<i32>, seed: u64, scale: f64) -> Scenario {
        let register = methods_register(&years);
        let id = |index: usize| register[index].method_id.clone();
        let last = *years.end();
        let effects = vec![
            PlantedEffect::LowGrantRate {
                org: "883974832".into(), // St. Olavs hospital HF
                method_id: id(PEMBROLIZUMAB),
                grant_rate: 0.25,
            },
            PlantedEffect::SlowRegion {
                region: "983658725".into(), // Helse Vest RHF
                scheme: "individual_exemption".into(),
                factor: 3.0,
            },
            PlantedEffect::Cluster {
                method_id: id(OLAPARIB),
                icd10_category: "C61".into(), // prostate cancer, against ovarian
                count: 8,
                year: last,
            },
            PlantedEffect::UnequalSubgroup {
                method_id: id(TRASTUZUMAB_DERUXTECAN),
                icd10_category: "C50".into(),
                granting_region: "991324968".into(), // Helse Sør-Øst RHF
                refusing_region: "883658752".into(), // Helse Nord RHF
            },
            PlantedEffect::VolumeJump {
                org: OSLO_UNIVERSITETSSYKEHUS.into(),
                year: last,
                factor: 4.0,
            },
        ];
        Scenario {
            effects,
            ..Scenario::realistic(years, seed, scale)
        }
    }

    /// Reads a scenario file and checks every effect against the reference lists and the
    /// methods register of its years. Regions may be written by name; they are stored as
    /// the RHF's organisation number.
    pub fn from_toml(text: &str) -> Result<Scenario, ScenarioError> {
        let file: ScenarioFile =
            toml::from_str(text).map_err(|e| ScenarioError::Toml(e.message().to_string()))?;
        let years = match file.years {
            YearsField::One(year) => year..=year,
            YearsField::Range(text) => parse_years(&text)?,
        };
        let mut scenario = Scenario {
            years,
            seed: file.seed,
            scale: file.scale,
            world: file.world,
            effects: file.effects,
        };
        scenario.normalise_regions();
        scenario.validate()?;
        Ok(scenario)
    }

    fn normalise_regions(&mut self) {
        let normalise = |region: &mut String| {
            if let Some(number) = reference::region_number(region) {
                *region = number.to_string();
            }
        };
        for effect in &mut self.effects {
            match effect {
                PlantedEffect::SlowRegion { region, .. } => normalise(region),
                PlantedEffect::UnequalSubgroup {
                    granting_region,
                    refusing_region,
                    ..
                } => {
                    normalise(granting_region);
                    normalise(refusing_region);
                }
                _ => {}
            }
        }
    }

    /// Checks the years, the scale and every effect; `generate` leaves out effects that
    /// fail here.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let (first, last) = (*self.years.start(), *self.years.end());
        if first > last || !SUPPORTED_YEARS.contains(&first) || !SUPPORTED_YEARS.contains(&last) {
            return Err(ScenarioError::Years(format!("{first}-{last}")));
        }
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return Err(ScenarioError::Scale(self.scale));
        }
        let method_ids: Vec<String> = methods_register(&self.years)
            .into_iter()
            .map(|m| m.method_id)
            .collect();
        for (index, effect) in self.effects.iter().enumerate() {
            effect
                .check(&self.years, &method_ids)
                .map_err(|message| ScenarioError::Effect {
                    index,
                    kind: effect.kind(),
                    message,
                })?;
        }
        Ok(())
    }
}

fn parse_years(text: &str) -> Result<RangeInclusive<i32>, ScenarioError> {
    let error = || ScenarioError::Years(text.to_string());
    let (first, last) = match text.split_once('-') {
        Some((first, last)) => (first.trim(), last.trim()),
        None => (text.trim(), text.trim()),
    };
    let first: i32 = first.parse().map_err(|_| error())?;
    let last: i32 = last.parse().map_err(|_| error())?;
    Ok(first..=last)
}

impl PlantedEffect {
    /// The `kind` tag as written in TOML and JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            PlantedEffect::LowGrantRate { .. } => "low_grant_rate",
            PlantedEffect::SlowRegion { .. } => "slow_region",
            PlantedEffect::Cluster { .. } => "cluster",
            PlantedEffect::UnequalSubgroup { .. } => "unequal_subgroup",
            PlantedEffect::VolumeJump { .. } => "volume_jump",
        }
    }

    /// Whether the effect can be planted in these years with this register.
    pub(crate) fn is_valid(&self, years: &RangeInclusive<i32>) -> bool {
        let ids: Vec<String> = methods_register(years)
            .into_iter()
            .map(|m| m.method_id)
            .collect();
        self.check(years, &ids).is_ok()
    }

    fn check(&self, years: &RangeInclusive<i32>, method_ids: &[String]) -> Result<(), String> {
        let method = |id: &str| {
            if method_ids.iter().any(|m| m == id) {
                Ok(())
            } else {
                Err(format!(
                    "method {id} is not in the register for these years; it has {}",
                    method_ids.join(", ")
                ))
            }
        };
        let region = |name: &str| {
            reference::region_number(name)
                .map(|_| ())
                .ok_or_else(|| format!("{name} is not a region (an RHF's number or name)"))
        };
        let year = |year: i32| {
            if years.contains(&year) {
                Ok(())
            } else {
                Err(format!("year {year} is outside the scenario's years"))
            }
        };
        let positive = |name: &str, value: f64| {
            if value.is_finite() && value > 0.0 {
                Ok(())
            } else {
                Err(format!("{name} must be a positive number"))
            }
        };
        let category = |text: &str| {
            domain::codes::Icd10Code::parse(text)
                .ok()
                .filter(|code| code.as_str().len() == 3)
                .map(|_| ())
                .ok_or_else(|| format!("{text} is not a three-character ICD-10 category"))
        };
        match self {
            PlantedEffect::LowGrantRate {
                org,
                method_id,
                grant_rate,
            } => {
                let kind = reference::organisation(org).map(|o| o.kind);
                if !kind.is_some_and(|k| {
                    k.is_treating() || k == domain::organisation_register::OrganisationKind::Rhf
                }) {
                    return Err(format!(
                        "{org} is not a trust or an RHF in the reference list"
                    ));
                }
                if !(0.0..=1.0).contains(grant_rate) {
                    return Err("grant_rate must be from 0 to 1".into());
                }
                method(method_id)
            }
            PlantedEffect::SlowRegion {
                region: name,
                scheme,
                factor,
            } => {
                region(name)?;
                positive("factor", *factor)?;
                match domain::case::Scheme::parse(scheme) {
                    None => Err(format!("{scheme} is not a scheme")),
                    Some(domain::case::Scheme::HelfoIndividual) => {
                        Err("helfo_individual is decided nationally, not by a region".into())
                    }
                    Some(_) => Ok(()),
                }
            }
            PlantedEffect::Cluster {
                method_id,
                icd10_category,
                count,
                year: at,
            } => {
                method(method_id)?;
                category(icd10_category)?;
                year(*at)?;
                if *count == 0 {
                    return Err("count must be at least 1".into());
                }
                Ok(())
            }
            PlantedEffect::UnequalSubgroup {
                method_id,
                icd10_category,
                granting_region,
                refusing_region,
            } => {
                method(method_id)?;
                category(icd10_category)?;
                region(granting_region)?;
                region(refusing_region)?;
                if reference::region_number(granting_region)
                    == reference::region_number(refusing_region)
                {
                    return Err("the granting and the refusing region must differ".into());
                }
                Ok(())
            }
            PlantedEffect::VolumeJump {
                org,
                year: at,
                factor,
            } => {
                if reference::organisation(org).is_none() {
                    return Err(format!("{org} is not in the reference list"));
                }
                year(*at)?;
                positive("factor", *factor)
            }
        }
    }
}
