//! The generator: ordinary cases scheme by scheme and year by year, then each planted
//! effect's own cases, then case references in order of arrival.

use std::collections::HashMap;

use chrono::{Datelike, Duration, Months, NaiveDate};
use domain::case::{DecidingBody, Scheme};
use domain::methods::MethodStatus;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Map};

use crate::catalogue::{catalogue, CatalogueMethod, Class};
use crate::reference::{self, HELSEDIREKTORATET, OSLO_UNIVERSITETSSYKEHUS};
use crate::sample::{self, chance, child, next_working_day};
use crate::scenario::{
    NullWorld, RANDOM_EFFECTS_APPLICATION_SD, RANDOM_EFFECTS_GRANT_LOGIT_SD,
    RANDOM_EFFECTS_PROCESSING_SD,
};
use crate::scenario::{
    PlantedEffect, Scenario, CLUSTER_MIN_TRUSTS, CLUSTER_MONTHS, LOW_GRANT_RATE_CASES_PER_YEAR,
    LOW_GRANT_RATE_REFERENCE_CASES_PER_YEAR, UNEQUAL_CASES_PER_REGION_AND_YEAR,
    UNEQUAL_GRANTING_RATE, UNEQUAL_REFUSING_RATE,
};
use crate::{Generated, SyntheticAppeal, SyntheticCase, SyntheticDecision};

/// How the cases of one scheme behave when nothing is planted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SchemeProfile {
    pub scheme: Scheme,
    /// Ordinary applications a year at scale 1.0, over the scenario's years on average:
    /// shared among the scheme's methods as rates of their own (see [`NullWorld`]).
    pub per_year: f64,
    /// Probability that a decision grants (for Helfo: the drugs other than for obesity).
    pub grant_rate: f64,
    /// Median processing time in days, received to decided.
    pub median_days: f64,
    /// Spread of the lognormal processing time (sigma of its logarithm): 0.8 puts the
    /// 95th percentile near 3.7 times the median.
    pub spread: f64,
    /// Share of refusals that are appealed.
    pub appeal_rate: f64,
}

/// The schemes' ordinary behaviour. Sources: 412 individual exemption applications in
/// 2.75 years with 310 granted (about 150 a year then, more now) and half of them for
/// cancer; almost 1 500 Helfo applications for obesity drugs in half a year, 6 % granted;
/// several tens of appeals. The rest (group exemptions, individual access, early access)
/// are small schemes, proposed or new, sized as "a few" a year.
pub const PROFILES: [SchemeProfile; 6] = [
    profile_of(Scheme::IndividualExemption, 175.0, 0.75, 21.0, 0.8, 0.30),
    profile_of(Scheme::GroupExemption, 3.0, 0.60, 60.0, 0.5, 0.20),
    profile_of(Scheme::IndividualAccess, 12.0, 0.50, 40.0, 0.6, 0.30),
    profile_of(Scheme::ReassessmentAccess, 6.0, 0.60, 35.0, 0.6, 0.30),
    profile_of(Scheme::HelfoIndividual, 2500.0, 0.40, 28.0, 0.8, 0.05),
    profile_of(Scheme::EarlyAccess, 8.0, 0.90, 7.0, 0.6, 0.10),
];

const fn profile_of(
    scheme: Scheme,
    per_year: f64,
    grant_rate: f64,
    median_days: f64,
    spread: f64,
    appeal_rate: f64,
) -> SchemeProfile {
    SchemeProfile {
        scheme,
        per_year,
        grant_rate,
        median_days,
        spread,
        appeal_rate,
    }
}

/// Share of Helfo's applications that are for obesity drugs.
pub const HELFO_OBESITY_SHARE: f64 = 0.85;
/// Helfo's grant rate for obesity drugs (6 % in the second half of 2023).
pub const HELFO_OBESITY_GRANT_RATE: f64 = 0.06;
/// Share of patients whose application is made at Oslo universitetssykehus, the national
/// centre, rather than a trust of their own county.
pub const REFERRAL_TO_NATIONAL_CENTRE: f64 = 0.10;

/// Individual exemptions by kind of patient: half for cancer, as in the seeds.
const CLASS_WEIGHTS: [(Class, f64); 3] = [
    (Class::Cancer, 0.5),
    (Class::Somatic, 0.3),
    (Class::Psychiatric, 0.2),
];

/// Tries at drawing a case that fits its constraints (a method's assessment window)
/// before giving up on it.
const ATTEMPTS: usize = 40;

pub fn profile(scheme: Scheme) -> &'static SchemeProfile {
    PROFILES
        .iter()
        .find(|p| p.scheme == scheme)
        .expect("every scheme has a profile")
}

/// Generates the methods register and the cases of a scenario as they stand on `today`:
/// nothing is received, decided or lodged after it.
pub fn generate(scenario: &Scenario, today: NaiveDate) -> Generated {
    let effects: Vec<PlantedEffect> = scenario
        .effects
        .iter()
        .filter(|effect| effect.is_valid(&scenario.years))
        .cloned()
        .collect();
    let mut world = World {
        seed: scenario.seed,
        years: scenario.years.clone(),
        effects: &effects,
        today,
        methods: catalogue(&scenario.years, scenario.world.history(), today),
        open_days: Vec::new(),
        rates: Vec::new(),
        spread: Spread::of(scenario.world, scenario.seed),
    };
    world.open_days = world.open_days();
    world.rates = world.rates();
    let mut cases = Vec::new();
    for (y, year) in scenario.years.clone().enumerate() {
        for (s, profile) in PROFILES.iter().enumerate() {
            world.ordinary_cases(y, year, s, profile, scenario.scale, &mut cases);
        }
    }
    let ordinary = cases.len();
    let mut kept = vec![true; ordinary];
    for (index, effect) in effects.iter().enumerate() {
        world.plant(index, effect, &mut cases, &mut kept);
    }
    let mut position = 0;
    cases.retain(|_| {
        position += 1;
        kept.get(position - 1).copied().unwrap_or(true)
    });
    let mut cases = by_received_date(cases);
    assign_case_refs(&mut cases);
    Generated {
        methods: world.methods.iter().map(|m| m.method.clone()).collect(),
        cases,
        ground_truth: effects,
    }
}

struct World<'a> {
    seed: u64,
    years: std::ops::RangeInclusive<i32>,
    effects: &'a [PlantedEffect],
    today: NaiveDate,
    methods: Vec<CatalogueMethod>,
    /// `open_days[year][scheme][method][quarter]`: the working days of the quarter of the
    /// year (an index into the scenario's years) on which the method's status allows an
    /// application under the scheme (an index into `PROFILES`).
    open_days: Vec<Vec<Vec<[Vec<NaiveDate>; 4]>>>,
    /// `rates[scheme][method]`: the method's expected ordinary applications a year under
    /// the scheme, at scale 1.0, while its status allows them.
    rates: Vec<Vec<f64>>,
    spread: Spread,
}

/// The ordinary spread between units of a `RandomEffects` world; empty (no offset, every
/// factor 1) in the others.
#[derive(Debug, Default)]
struct Spread {
    /// Logit offset of each deciding organisation's grant rate.
    grant_logit: HashMap<&'static str, f64>,
    /// Factor on each region's applications per resident.
    application: HashMap<&'static str, f64>,
    /// Factor on the processing times of each region's decisions.
    processing: HashMap<&'static str, f64>,
}

impl Spread {
    fn of(world: NullWorld, seed: u64) -> Spread {
        if world != NullWorld::RandomEffects {
            return Spread::default();
        }
        let mut rng = sample::stream(seed, "random_effects");
        let (low, high) = (
            *RANDOM_EFFECTS_GRANT_LOGIT_SD.start(),
            *RANDOM_EFFECTS_GRANT_LOGIT_SD.end(),
        );
        let sigma = low + (high - low) * rng.gen::<f64>();
        let grant_logit = reference::organisations()
            .iter()
            .filter(|o| {
                o.kind.is_treating()
                    || o.kind == domain::organisation_register::OrganisationKind::Rhf
            })
            .map(|o| (o.org_number, sigma * sample::normal(&mut rng)))
            .collect();
        let mut factors = |sd: f64| {
            reference::regions()
                .map(|r| (r.org_number, sample::lognormal(&mut rng, 1.0, sd)))
                .collect()
        };
        let application = factors(RANDOM_EFFECTS_APPLICATION_SD);
        let processing = factors(RANDOM_EFFECTS_PROCESSING_SD);
        Spread {
            grant_logit,
            application,
            processing,
        }
    }

    fn application_factor(&self, region: &str) -> f64 {
        self.application.get(region).copied().unwrap_or(1.0)
    }
}

/// What one case must satisfy.
#[derive(Debug, Clone, Copy)]
struct Request<'r> {
    scheme: Scheme,
    /// The window the application is received in.
    from: NaiveDate,
    to: NaiveDate,
    /// The days the application may be received on, when not every working day of the
    /// window: an ordinary case's method is open on them.
    days: Option<&'r [NaiveDate]>,
    /// The treating trust: it decides, or applies where an RHF decides.
    trust: Option<&'static str>,
    /// The region the patient lives and is treated in.
    region: Option<&'static str>,
    method: Option<usize>,
    icd10_category: Option<&'r str>,
    /// Whether the patient may be referred to the national centre.
    referral: bool,
    /// How the scheme follows from the method's status on the received date.
    follow: Follow,
}

/// How a case's scheme is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Follow {
    /// The request's scheme, whatever the method's status.
    Fixed,
    /// An individual exemption while the method is under assessment (or re-assessment),
    /// individual access while it is not introduced.
    Exemption,
    /// What an RHF decides for one patient: individual access while the method is not
    /// introduced, re-assessment access while it is re-assessed.
    Regional,
}

impl<'r> Request<'r> {
    fn ordinary(scheme: Scheme, from: NaiveDate, to: NaiveDate) -> Request<'r> {
        Request {
            scheme,
            from,
            to,
            days: None,
            trust: None,
            region: None,
            method: None,
            icd10_category: None,
            referral: true,
            follow: Follow::Fixed,
        }
    }

    fn planted(from: NaiveDate, to: NaiveDate, method: usize) -> Request<'r> {
        Request {
            referral: false,
            method: Some(method),
            follow: Follow::Exemption,
            ..Request::ordinary(Scheme::IndividualExemption, from, to)
        }
    }
}

enum Attempt {
    Done(Box<SyntheticCase>),
    /// The draw did not fit (a method outside its window): draw again.
    Retry,
    /// Received after today: the case does not exist yet.
    Drop,
}

impl World<'_> {
    /// The ordinary cases of one scheme and year: each method's own Poisson number of
    /// applications a quarter, at a quarter of its rate times the share of the quarter's
    /// working days it is open, received on those days. Every quarter expects the same
    /// number, whatever its holidays: a quarter with Easter in it has as many applications
    /// as one without, so that nothing in the calendar looks like a trend.
    fn ordinary_cases(
        &self,
        year_index: usize,
        year: i32,
        scheme_index: usize,
        profile: &SchemeProfile,
        scale: f64,
        cases: &mut Vec<SyntheticCase>,
    ) {
        let (from, to) = (ymd(year, 1, 1), ymd(year, 12, 31));
        if from > self.today {
            return;
        }
        let working = working_days_by_quarter(year);
        for (index, method) in self.methods.iter().enumerate() {
            let quarters = &self.open_days[year_index][scheme_index][index];
            let rate = self.rates[scheme_index][index];
            if quarters.iter().all(Vec::is_empty) || rate <= 0.0 {
                continue;
            }
            let label = format!(
                "ordinary/{}/{}/{year}",
                profile.scheme.as_str(),
                method.id()
            );
            let mut rng = sample::stream(self.seed, &label);
            for (days, working) in quarters.iter().zip(&working) {
                let mean = rate / 4.0 * scale * days.len() as f64 / working.len() as f64;
                for _ in 0..sample::poisson(&mut rng, mean) {
                    let mut case_rng = child(&mut rng);
                    let request = Request {
                        method: Some(index),
                        days: Some(days),
                        ..Request::ordinary(profile.scheme, from, to)
                    };
                    cases.extend(self.build(&mut case_rng, &request));
                }
            }
        }
    }

    /// Each year's, scheme's, method's and quarter's open days (see `World::open_days`).
    fn open_days(&self) -> Vec<Vec<Vec<[Vec<NaiveDate>; 4]>>> {
        self.years
            .clone()
            .map(|year| {
                let quarters = working_days_by_quarter(year);
                PROFILES
                    .iter()
                    .map(|profile| {
                        (0..self.methods.len())
                            .map(|index| {
                                quarters.clone().map(|days| {
                                    days.into_iter()
                                        .filter(|&day| {
                                            self.eligible(index, profile.scheme, day, None)
                                        })
                                        .collect()
                                })
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }

    /// Each scheme's and method's rate (see `World::rates`): the scheme's volume, shared
    /// among its pools of methods (individual exemptions and early access by kind of
    /// patient, Helfo's obesity drugs and the rest), then within a pool divided by the
    /// mean number of its methods open over the years' quarters. A pool with no method
    /// open gives its share to the others.
    fn rates(&self) -> Vec<Vec<f64>> {
        let working: Vec<[usize; 4]> = self
            .years
            .clone()
            .map(|year| working_days_by_quarter(year).map(|days| days.len()))
            .collect();
        let quarters = (4 * working.len()) as f64;
        PROFILES
            .iter()
            .enumerate()
            .map(|(s, profile)| {
                // The mean share of a quarter's working days the method is open.
                let open = |index: usize| -> f64 {
                    self.open_days
                        .iter()
                        .zip(&working)
                        .flat_map(|(year, working)| {
                            year[s][index]
                                .iter()
                                .zip(working)
                                .map(|(days, all)| days.len() as f64 / *all as f64)
                        })
                        .sum::<f64>()
                        / quarters
                };
                let pools: Vec<(f64, Vec<usize>, f64)> = self
                    .pools(profile.scheme)
                    .into_iter()
                    .map(|(share, pool)| {
                        let mean_open = pool.iter().map(|&i| open(i)).sum::<f64>();
                        (share, pool, mean_open)
                    })
                    .filter(|(_, _, mean_open)| *mean_open > 0.0)
                    .collect();
                let shares: f64 = pools.iter().map(|(share, _, _)| share).sum();
                let mut rates = vec![0.0; self.methods.len()];
                for (share, pool, mean_open) in &pools {
                    for &index in pool {
                        rates[index] = profile.per_year * share / shares / mean_open;
                    }
                }
                rates
            })
            .collect()
    }

    /// The methods a scheme's volume is shared among, in pools with their shares.
    fn pools(&self, scheme: Scheme) -> Vec<(f64, Vec<usize>)> {
        let of = |keep: &dyn Fn(&CatalogueMethod) -> bool| -> Vec<usize> {
            (0..self.methods.len())
                .filter(|&i| keep(&self.methods[i]))
                .collect()
        };
        match scheme {
            Scheme::IndividualExemption | Scheme::EarlyAccess => CLASS_WEIGHTS
                .iter()
                .map(|(class, weight)| (*weight, of(&|m| m.template.class == *class)))
                .collect(),
            Scheme::HelfoIndividual => vec![
                (
                    HELFO_OBESITY_SHARE,
                    of(&|m| m.template.class == Class::Obesity),
                ),
                (
                    1.0 - HELFO_OBESITY_SHARE,
                    of(&|m| m.template.class != Class::Obesity),
                ),
            ],
            _ => vec![(1.0, of(&|_| true))],
        }
    }

    /// Draws a case until it fits. Where the patient lives and who decides come from a
    /// stream of their own, the same in every attempt: a retry caused by an effect (a slow
    /// region's decision falling after the method's assessment ended) then redraws the
    /// dates in the same place, and moves no case out of the effect's reach.
    fn build(&self, rng: &mut StdRng, request: &Request<'_>) -> Option<SyntheticCase> {
        let place = child(rng);
        for _ in 0..ATTEMPTS {
            match self.attempt(rng, &place, request) {
                Attempt::Done(case) => return Some(*case),
                Attempt::Drop => return None,
                Attempt::Retry => {}
            }
        }
        None
    }

    fn attempt(&self, rng: &mut StdRng, place: &StdRng, request: &Request<'_>) -> Attempt {
        let received = match request.days {
            Some(days) => sample::pick(rng, days).copied(),
            None => sample::working_day(rng, request.from, request.to),
        };
        let Some(received) = received else {
            return Attempt::Drop;
        };
        if received > self.today {
            return Attempt::Drop;
        }
        let status = request
            .method
            .and_then(|method| self.methods[method].status_on(received));
        let scheme = match (request.follow, status) {
            (Follow::Fixed, _) => request.scheme,
            (
                Follow::Exemption,
                Some(MethodStatus::UnderAssessment | MethodStatus::Reassessment),
            ) => Scheme::IndividualExemption,
            (Follow::Exemption | Follow::Regional, Some(MethodStatus::NotIntroduced)) => {
                Scheme::IndividualAccess
            }
            (Follow::Regional, Some(MethodStatus::Reassessment)) => Scheme::ReassessmentAccess,
            _ => return Attempt::Retry,
        };
        let Some((county, deciding, applying)) = self.place(&mut place.clone(), scheme, request)
        else {
            return Attempt::Retry;
        };
        let profile = profile(scheme);
        let days = sample::lognormal(rng, profile.median_days, profile.spread)
            * self.slowdown(scheme, deciding);
        let decided = next_working_day(received + Duration::days(days.round().max(1.0) as i64));
        let decided = (decided <= self.today).then_some(decided);
        let method = match request.method {
            Some(index) if self.eligible(index, scheme, received, decided) => index,
            Some(_) => return Attempt::Retry,
            None => match self.choose_method(rng, scheme, received, decided) {
                Some(index) => index,
                None => return Attempt::Retry,
            },
        };
        let method = &self.methods[method];
        let template = method.template;
        let indication = match request.icd10_category {
            Some(category) => template
                .icd10
                .iter()
                .find(|code| code.starts_with(category))
                .map(|code| code.to_string())
                .unwrap_or_else(|| category.to_string()),
            None => sample::pick(rng, template.icd10)
                .expect("every method has an indication")
                .to_string(),
        };
        let mut case = SyntheticCase {
            case_ref: String::new(),
            deciding_org: deciding.to_string(),
            applying_org: applying.to_string(),
            scheme: scheme.as_str().to_string(),
            method_id: method.id().to_string(),
            indication_icd10: indication,
            atc: Some(template.atc.to_string()),
            birth_year: None,
            sex: None,
            residence_county: None,
            group_expected_patients: None,
            received_date: received,
            decision: None,
            appeals: Vec::new(),
        };
        if scheme.concerns_one_patient() {
            let (low, mode, high) = template.age;
            let age = sample::triangular(rng, low, mode, high).floor() as i32;
            let female = female_share(&case.indication_icd10, template.female);
            case.birth_year = Some(received.year() - age);
            case.sex = Some(
                if chance(rng, female) {
                    "female"
                } else {
                    "male"
                }
                .to_string(),
            );
            case.residence_county = county.map(str::to_string);
        } else {
            case.group_expected_patients = Some(rng.gen_range(5..=60));
        }
        if let Some(decided) = decided {
            let grant_rate = self.grant_rate(&case, scheme, template.class);
            let decision = decide(rng, scheme, decided, grant_rate);
            if !decision.granted && chance(rng, profile.appeal_rate) {
                case.appeals.extend(self.appeal(rng, decided));
            }
            case.decision = Some(decision);
        }
        Attempt::Done(Box::new(case))
    }

    /// Where the patient lives, who decides and who applies.
    fn place(
        &self,
        rng: &mut StdRng,
        scheme: Scheme,
        request: &Request<'_>,
    ) -> Option<(Option<&'static str>, &'static str, &'static str)> {
        if scheme.deciding_body() == DecidingBody::Helfo {
            return Some((
                Some(county_in(rng, None, |r| self.spread.application_factor(r))?),
                HELSEDIREKTORATET,
                HELSEDIREKTORATET,
            ));
        }
        let county = match request.trust {
            Some(trust) => county_for_trust(rng, trust)?,
            None => county_in(rng, request.region, |r| self.spread.application_factor(r))?,
        };
        let trust = match request.trust {
            Some(trust) => trust,
            None if request.referral && chance(rng, REFERRAL_TO_NATIONAL_CENTRE) => {
                OSLO_UNIVERSITETSSYKEHUS
            }
            None => {
                let trusts = reference::catchment(county);
                trusts[sample::weighted(rng, trusts, |(_, w)| *w)?].0
            }
        };
        match scheme.deciding_body() {
            DecidingBody::RegionalAuthority => {
                Some((Some(county), reference::region_of(trust)?, trust))
            }
            _ => Some((Some(county), trust, trust)),
        }
    }

    /// Whether a method fits a scheme on the case's dates; a pending case is judged by
    /// its received date alone.
    fn eligible(
        &self,
        index: usize,
        scheme: Scheme,
        received: NaiveDate,
        decided: Option<NaiveDate>,
    ) -> bool {
        let method = &self.methods[index];
        let class = method.template.class;
        match scheme {
            Scheme::HelfoIndividual => method.template.helfo,
            _ if class == Class::Obesity => false,
            Scheme::IndividualExemption | Scheme::EarlyAccess => {
                method.allows_individual_exemption(received, decided.unwrap_or(received))
            }
            Scheme::GroupExemption => method.domain.allows_individual_exemption_on(received),
            Scheme::IndividualAccess => {
                method.status_on(received) == Some(MethodStatus::NotIntroduced)
            }
            Scheme::ReassessmentAccess => {
                method.status_on(received) == Some(MethodStatus::Reassessment)
            }
        }
    }

    /// A method for a case that names none (a volume jump's extra applications): one of
    /// those open on its dates, by their rates, so the extra cases have the usual mix.
    fn choose_method(
        &self,
        rng: &mut StdRng,
        scheme: Scheme,
        received: NaiveDate,
        decided: Option<NaiveDate>,
    ) -> Option<usize> {
        let rates = &self.rates[scheme_index(scheme)];
        let eligible: Vec<usize> = (0..self.methods.len())
            .filter(|&i| rates[i] > 0.0 && self.eligible(i, scheme, received, decided))
            .collect();
        let chosen = sample::weighted(rng, &eligible, |&i| rates[i])?;
        Some(eligible[chosen])
    }

    /// The grant probability of a case: the scheme's, unless an effect says otherwise.
    fn grant_rate(&self, case: &SyntheticCase, scheme: Scheme, class: Class) -> f64 {
        let mut rate = match scheme {
            Scheme::HelfoIndividual if class == Class::Obesity => HELFO_OBESITY_GRANT_RATE,
            _ => profile(scheme).grant_rate,
        };
        if let Some(offset) = self.spread.grant_logit.get(case.deciding_org.as_str()) {
            rate = 1.0 / (1.0 + (-((rate / (1.0 - rate)).ln() + offset)).exp());
        }
        let region = reference::region_of(&case.deciding_org);
        for effect in self.effects {
            match effect {
                PlantedEffect::LowGrantRate {
                    org,
                    method_id,
                    grant_rate,
                } if *org == case.deciding_org && *method_id == case.method_id => {
                    rate = *grant_rate;
                }
                PlantedEffect::UnequalSubgroup {
                    method_id,
                    icd10_category,
                    granting_region,
                    refusing_region,
                } if *method_id == case.method_id
                    && same_category(&case.indication_icd10, icd10_category) =>
                {
                    if region.is_some() && region == reference::region_number(granting_region) {
                        rate = UNEQUAL_GRANTING_RATE;
                    } else if region.is_some()
                        && region == reference::region_number(refusing_region)
                    {
                        rate = UNEQUAL_REFUSING_RATE;
                    }
                }
                _ => {}
            }
        }
        rate
    }

    /// How many times longer than usual a case takes.
    fn slowdown(&self, scheme: Scheme, deciding: &str) -> f64 {
        let region = reference::region_of(deciding);
        self.effects
            .iter()
            .map(|effect| match effect {
                PlantedEffect::SlowRegion {
                    region: slow,
                    scheme: slow_scheme,
                    factor,
                } if slow_scheme == scheme.as_str()
                    && region.is_some()
                    && region == reference::region_number(slow) =>
                {
                    *factor
                }
                _ => 1.0,
            })
            .product::<f64>()
            * region
                .and_then(|r| self.spread.processing.get(r))
                .copied()
                .unwrap_or(1.0)
    }

    fn appeal(&self, rng: &mut StdRng, decided: NaiveDate) -> Option<SyntheticAppeal> {
        let after = |rng: &mut StdRng, date: NaiveDate, median: f64| {
            let days = sample::lognormal(rng, median, 0.5).round().max(1.0) as i64;
            next_working_day(date + Duration::days(days))
        };
        let lodged = after(rng, decided, 14.0);
        let appeal_decided = after(rng, lodged, 60.0);
        let outcome = match rng.gen::<f64>() {
            u if u < 0.75 => "upheld",
            u if u < 0.90 => "overturned",
            _ => "partly_overturned",
        };
        (lodged <= self.today).then(|| SyntheticAppeal {
            lodged,
            decided: (appeal_decided <= self.today).then(|| (appeal_decided, outcome.to_string())),
        })
    }

    fn method_index(&self, method_id: &str) -> Option<usize> {
        self.methods.iter().position(|m| m.id() == method_id)
    }

    fn plant(
        &self,
        index: usize,
        effect: &PlantedEffect,
        cases: &mut Vec<SyntheticCase>,
        kept: &mut [bool],
    ) {
        let mut rng = sample::stream(self.seed, &format!("effect/{index}/{}", effect.kind()));
        match effect {
            PlantedEffect::LowGrantRate { org, method_id, .. } => {
                let (Some(method), Some(org)) =
                    (self.method_index(method_id), reference::organisation(org))
                else {
                    return;
                };
                for year in self.years_until_today() {
                    for _ in 0..LOW_GRANT_RATE_CASES_PER_YEAR {
                        let mut request =
                            Request::planted(ymd(year, 1, 1), ymd(year, 12, 31), method);
                        if org.kind.is_treating() {
                            request.trust = Some(org.org_number);
                            request.follow = Follow::Fixed;
                        } else {
                            request.region = Some(org.org_number);
                            request.follow = Follow::Regional;
                        }
                        cases.extend(self.build(&mut child(&mut rng), &request));
                    }
                    // The rest of the country decides the method too, at the usual rate:
                    // a difference needs two sides to be seen.
                    for _ in 0..LOW_GRANT_RATE_REFERENCE_CASES_PER_YEAR {
                        let mut request =
                            Request::planted(ymd(year, 1, 1), ymd(year, 12, 31), method);
                        if !org.kind.is_treating() {
                            request.follow = Follow::Regional;
                        }
                        cases.extend(self.build(&mut child(&mut rng), &request));
                    }
                }
            }
            PlantedEffect::Cluster {
                method_id,
                icd10_category,
                count,
                year,
            } => {
                let Some(method) = self.method_index(method_id) else {
                    return;
                };
                let start = rng.gen_range(1..=(13 - CLUSTER_MONTHS));
                let from = ymd(*year, start, 1);
                let to = from + Months::new(CLUSTER_MONTHS) - Duration::days(1);
                let trusts = cluster_trusts(&mut rng);
                let category = icd10_category.to_ascii_uppercase();
                for i in 0..*count {
                    let mut request = Request::planted(from, to, method);
                    request.trust = Some(trusts[i % trusts.len()]);
                    request.icd10_category = Some(&category);
                    cases.extend(self.build(&mut child(&mut rng), &request));
                }
            }
            PlantedEffect::UnequalSubgroup {
                method_id,
                icd10_category,
                granting_region,
                refusing_region,
            } => {
                let Some(method) = self.method_index(method_id) else {
                    return;
                };
                let category = icd10_category.to_ascii_uppercase();
                let regions =
                    [granting_region, refusing_region].map(|r| reference::region_number(r));
                for year in self.years_until_today() {
                    for region in regions.iter().flatten() {
                        for _ in 0..UNEQUAL_CASES_PER_REGION_AND_YEAR {
                            let mut request =
                                Request::planted(ymd(year, 1, 1), ymd(year, 12, 31), method);
                            request.region = Some(region);
                            request.icd10_category = Some(&category);
                            cases.extend(self.build(&mut child(&mut rng), &request));
                        }
                    }
                }
            }
            PlantedEffect::VolumeJump { org, year, factor } => {
                self.jump(&mut rng, org, *year, *factor, cases, kept)
            }
            PlantedEffect::SlowRegion { .. } => {} // acts on every case as it is decided
        }
    }

    /// The scenario's years, as far as today reaches.
    fn years_until_today(&self) -> Vec<i32> {
        self.years
            .clone()
            .filter(|&year| ymd(year, 1, 1) <= self.today)
            .collect()
    }

    /// VolumeJump: more (or, below 1, fewer) applications of the org in one quarter.
    /// Extra applications come at `factor - 1` times the org's usual quarterly volume
    /// (its average over the scenario's quarters before this one), not at a multiple of
    /// the quarter's own count, so an unlucky quarter does not hide the jump.
    fn jump(
        &self,
        rng: &mut StdRng,
        org: &str,
        year: i32,
        factor: f64,
        cases: &mut Vec<SyntheticCase>,
        kept: &mut [bool],
    ) {
        let Some(org) = reference::organisation(org) else {
            return;
        };
        let (from, to) = (ymd(year, 10, 1), ymd(year, 12, 31));
        let first = ymd(*self.years.start(), 1, 1);
        let involved = |case: &SyntheticCase| {
            case.deciding_org == org.org_number || case.applying_org == org.org_number
        };
        if factor < 1.0 {
            for (i, keep) in kept.iter_mut().enumerate() {
                let case = &cases[i];
                let mut case_rng = child(rng);
                if involved(case) && (from..=to).contains(&case.received_date) {
                    *keep = chance(&mut case_rng, factor);
                }
            }
            return;
        }
        let history: Vec<Scheme> = cases[..kept.len()]
            .iter()
            .filter(|c| involved(c) && c.received_date >= first && c.received_date < from)
            .map(|c| Scheme::parse(&c.scheme).expect("a scheme"))
            .collect();
        let quarters = f64::from((year - first.year()) * 4 + 3);
        let usual = history.len() as f64 / quarters;
        for _ in 0..sample::poisson(rng, (factor - 1.0) * usual) {
            let mut case_rng = child(rng);
            let scheme = *sample::pick(&mut case_rng, &history).expect("a history");
            let mut request = Request::ordinary(scheme, from, to);
            request.referral = false;
            match org.kind {
                kind if kind.is_treating() => request.trust = Some(org.org_number),
                domain::organisation_register::OrganisationKind::Rhf => {
                    request.region = Some(org.org_number)
                }
                _ => {}
            }
            cases.extend(self.build(&mut case_rng, &request));
        }
    }
}

/// The cases in order of receipt, ties in the order given: a stable sort, but each case
/// (a few hundred bytes) moved once rather than at every step of the sort.
fn by_received_date(cases: Vec<SyntheticCase>) -> Vec<SyntheticCase> {
    let mut order: Vec<(NaiveDate, usize)> = cases
        .iter()
        .enumerate()
        .map(|(index, case)| (case.received_date, index))
        .collect();
    order.sort_unstable();
    let mut slots: Vec<Option<SyntheticCase>> = cases.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|(_, index)| slots[index].take().expect("each case once"))
        .collect()
}

/// Three or four trusts in as many regions, for a cluster.
fn cluster_trusts(rng: &mut StdRng) -> Vec<&'static str> {
    let mut regions: Vec<&'static str> = reference::regions().map(|r| r.org_number).collect();
    regions.shuffle(rng);
    let wanted = CLUSTER_MIN_TRUSTS + usize::from(chance(rng, 0.5));
    regions
        .into_iter()
        .take(wanted)
        .filter_map(|region| {
            let county = county_in(rng, Some(region), |_| 1.0)?;
            let trusts = reference::catchment(county);
            Some(trusts[sample::weighted(rng, trusts, |(_, w)| *w)?].0)
        })
        .collect()
}

/// A county drawn by population times its region's factor, within a region when one is
/// given.
fn county_in(
    rng: &mut StdRng,
    region: Option<&str>,
    factor: impl Fn(&str) -> f64,
) -> Option<&'static str> {
    let counties: Vec<_> = reference::counties()
        .iter()
        .filter(|c| region.is_none_or(|r| c.region == r))
        .collect();
    let index = sample::weighted(rng, &counties, |c| {
        f64::from(c.population) * factor(c.region)
    })?;
    Some(counties[index].number)
}

/// A county a trust's patients come from: by population and the trust's share of the
/// county; any county of its region when it has no catchment of its own.
fn county_for_trust(rng: &mut StdRng, trust: &str) -> Option<&'static str> {
    let counties = reference::counties();
    let weight = |c: &&reference::ReferenceCounty| {
        let trusts = reference::catchment(c.number);
        let total: f64 = trusts.iter().map(|(_, w)| w).sum();
        let share: f64 = trusts
            .iter()
            .filter(|(t, _)| *t == trust)
            .map(|(_, w)| w / total)
            .sum();
        share * f64::from(c.population)
    };
    let all: Vec<_> = counties.iter().collect();
    match sample::weighted(rng, &all, weight) {
        Some(index) => Some(all[index].number),
        None => county_in(rng, Some(reference::region_of(trust)?), |_| 1.0),
    }
}

/// The share of women for an indication: sex-specific cancers override the method's.
fn female_share(icd10: &str, usual: f64) -> f64 {
    match &icd10[..3] {
        "C50" => 0.99,
        category if ("C51".."C59").contains(&category) => 1.0,
        category if ("C60".."C64").contains(&category) => 0.0,
        _ => usual,
    }
}

fn same_category(icd10: &str, category: &str) -> bool {
    icd10
        .get(..3)
        .is_some_and(|c| c.eq_ignore_ascii_case(category))
}

/// The decision and its grounds: granted cases meet their criteria, refused cases fail
/// at least one, with the reasons that go with it.
fn decide(
    rng: &mut StdRng,
    scheme: Scheme,
    decided: NaiveDate,
    grant_rate: f64,
) -> SyntheticDecision {
    let granted = chance(rng, grant_rate);
    let mut criteria = Map::new();
    let mut reasons: Vec<&str> = Vec::new();
    match scheme {
        Scheme::IndividualExemption => {
            let failing = (!granted).then(|| match rng.gen::<f64>() {
                u if u < 0.50 => "standard_treatment_unsuitable",
                u if u < 0.85 => "substantially_larger_effect",
                _ => "marketing_authorisation",
            });
            for criterion in [
                "marketing_authorisation",
                "standard_treatment_unsuitable",
                "substantially_larger_effect",
            ] {
                criteria.insert(criterion.into(), json!(Some(criterion) != failing));
            }
            if let Some(failing) = failing {
                reasons.push(match failing {
                    "substantially_larger_effect" => "no_expected_added_effect",
                    _ => "criteria_not_met",
                });
                if chance(rng, 0.15) {
                    reasons.push("insufficient_documentation");
                }
            }
        }
        Scheme::GroupExemption | Scheme::IndividualAccess | Scheme::ReassessmentAccess => {
            let failing = (!granted).then(|| match rng.gen::<f64>() {
                u if u < 0.45 => "benefit",
                u if u < 0.80 => "severity",
                _ => "resource_use",
            });
            let resource_use_met = !granted || chance(rng, 0.8);
            for criterion in ["benefit", "resource_use", "severity"] {
                let met = match failing {
                    Some(f) => f != criterion,
                    None => criterion != "resource_use" || resource_use_met,
                };
                criteria.insert(criterion.into(), json!(met));
            }
            if granted && scheme != Scheme::GroupExemption {
                let mut grounds = vec!["benefit", "severity", "added_effect"];
                grounds.shuffle(rng);
                grounds.truncate(rng.gen_range(1..=2));
                grounds.sort_unstable();
                criteria.insert("exceptional_on".into(), json!(grounds));
            }
            if let Some(failing) = failing {
                reasons.push("criteria_not_met");
                if failing == "benefit" && chance(rng, 0.4) {
                    reasons.push("no_expected_added_effect");
                }
            }
        }
        Scheme::HelfoIndividual => {
            criteria.insert("differs_clearly_from_group".into(), json!(granted));
            if !granted {
                reasons.push(if chance(rng, 0.85) {
                    "criteria_not_met"
                } else {
                    "insufficient_documentation"
                });
            }
        }
        Scheme::EarlyAccess => {
            if !granted {
                reasons.push(if chance(rng, 0.5) {
                    "insufficient_documentation"
                } else {
                    "other"
                });
            }
        }
    }
    SyntheticDecision {
        decided_date: decided,
        granted,
        criteria,
        refusal_reasons: reasons.into_iter().map(str::to_string).collect(),
    }
}

/// Case references count up per deciding organisation and year, in order of arrival, in
/// a format of each kind of body's own.
fn assign_case_refs(cases: &mut [SyntheticCase]) {
    let mut counters: std::collections::BTreeMap<(String, i32), u32> = Default::default();
    for case in cases {
        let year = case.received_date.year();
        let counter = counters
            .entry((case.deciding_org.clone(), year))
            .or_insert(0);
        *counter += 1;
        let kind = reference::organisation(&case.deciding_org).map(|o| o.kind);
        case.case_ref = match kind {
            Some(domain::organisation_register::OrganisationKind::Rhf) => {
                format!("IFD-{year}-{counter:04}")
            }
            Some(domain::organisation_register::OrganisationKind::NationalAgency) => {
                format!("HELFO-{year}-{counter:06}")
            }
            _ => format!("{year}/{counter:05}"),
        };
    }
}

/// The working days of each quarter of a year, in order.
fn working_days_by_quarter(year: i32) -> [Vec<NaiveDate>; 4] {
    let mut quarters: [Vec<NaiveDate>; 4] = Default::default();
    for day in ymd(year, 1, 1)
        .iter_days()
        .take_while(|day| day.year() == year)
        .filter(|&day| sample::is_working_day(day))
    {
        quarters[day.month0() as usize / 3].push(day);
    }
    quarters
}

fn scheme_index(scheme: Scheme) -> usize {
    PROFILES
        .iter()
        .position(|p| p.scheme == scheme)
        .expect("every scheme has a profile")
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a valid date")
}
