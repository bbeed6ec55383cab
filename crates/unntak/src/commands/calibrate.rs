//! `unntak calibrate`: how often the signals fire where nothing is planted, and how often
//! they find an effect that is. A measurement, not a test: it prints its figures as
//! markdown tables and exits 0 whatever they are.
//!
//! Null worlds: for each kind of [`NullWorld`], `worlds` synthetic registries (distinct
//! seeds, the years `year - 2` to `year`, scale 1.0), each analysed for `year` as the read
//! models would hold it once the next year's first months have been reported. A world is
//! one year analysed, so the shares are per year. Power: for each kind of planted effect,
//! `worlds` realistic registries with that one effect at its documented size (one effect
//! a world, so that effects do not touch each other's cases), and the share in which a
//! signal reports it (`PlantedEffect::is_reported_by`).

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use analysis::signals::{all_signals, Signal, SignalKind};
use chrono::NaiveDate;
use synthetic::{NullWorld, PlantedEffect, Scenario};

use crate::cli::CalibrateArgs;

pub fn run(args: &CalibrateArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let calibration = calibrate(args.worlds, args.year, usize::from(args.threads));
    let wall = started.elapsed();
    print!("{}", calibration.markdown());
    let worlds = calibration.worlds_run();
    println!(
        "\n{worlds} worlds in {:.1} s on {} threads: {:.0} ms a world of wall time, \
         {:.0} ms of one thread's ({:.0} ms generating, {:.0} ms analysing).",
        wall.as_secs_f64(),
        args.threads,
        ms(wall) / worlds as f64,
        ms(calibration.generating + calibration.analysing) / worlds as f64,
        ms(calibration.generating) / worlds as f64,
        ms(calibration.analysing) / worlds as f64,
    );
    Ok(ExitCode::SUCCESS)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Seeds of the null worlds of kind k start here; other numbers than the tests' (0 to 19
/// and 1000 to 1019), so the worlds are ones the tests have not seen.
const NULL_SEEDS: u64 = 1_000_000;
/// Seeds of the worlds with effect e planted start at `POWER_SEEDS + e * NULL_SEEDS`.
const POWER_SEEDS: u64 = 100_000_000;

/// The figures of one run.
#[derive(Debug)]
pub struct Calibration {
    pub year: i32,
    pub null: Vec<NullSummary>,
    pub power: Vec<PowerSummary>,
    /// Time spent generating and analysing, summed over the threads.
    pub generating: Duration,
    pub analysing: Duration,
}

/// Signals in the null worlds of one kind.
#[derive(Debug)]
pub struct NullSummary {
    pub world: NullWorld,
    pub worlds: usize,
    /// Worlds (years) with at least one statistical signal (one with a p-value).
    pub with_statistical: usize,
    /// The same, trend signals aside.
    pub with_statistical_but_trend: usize,
    pub statistical: usize,
    /// Distinct groups among the statistical signals, summed over the worlds.
    pub statistical_groups: usize,
    /// Per kind in `SignalKind::ALL` order: (worlds with a signal of the kind, signals),
    /// rules and tests alike.
    pub per_kind: Vec<(usize, usize)>,
}

/// How often one kind of planted effect is found.
#[derive(Debug)]
pub struct PowerSummary {
    pub effect: PlantedEffect,
    pub worlds: usize,
    pub found: usize,
}

#[derive(Debug, Clone)]
enum Job {
    Null { kind: usize, seed: u64 },
    Planted { effect: usize, seed: u64 },
}

#[derive(Debug)]
enum Outcome {
    Null {
        kind: usize,
        signals: Vec<(SignalKind, bool, String)>,
    },
    Planted {
        effect: usize,
        found: bool,
    },
}

/// Generates and analyses every world, on `threads` threads.
pub fn calibrate(worlds: usize, year: i32, threads: usize) -> Calibration {
    let years = year - 2..=year;
    let effects = Scenario::with_default_effects(years.clone(), 0, 1.0).effects;
    let mut jobs = Vec::new();
    for i in 0..worlds as u64 {
        for kind in 0..NullWorld::ALL.len() {
            let seed = NULL_SEEDS * (kind as u64 + 1) + i;
            jobs.push(Job::Null { kind, seed });
        }
        for effect in 0..effects.len() {
            let seed = POWER_SEEDS + NULL_SEEDS * effect as u64 + i;
            jobs.push(Job::Planted { effect, seed });
        }
    }
    let next = AtomicUsize::new(0);
    let timing = Mutex::new((Duration::ZERO, Duration::ZERO));
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    let (mut generating, mut analysing) = (Duration::ZERO, Duration::ZERO);
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(index) else {
                            break;
                        };
                        let (outcome, times) = run_job(job, year, &effects);
                        generating += times.0;
                        analysing += times.1;
                        done.push(outcome);
                    }
                    let mut total = timing.lock().expect("no worker panics holding it");
                    total.0 += generating;
                    total.1 += analysing;
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("a worker finishes"))
            .collect()
    });
    let (generating, analysing) = timing.into_inner().expect("no worker panicked");
    summarise(year, worlds, effects, outcomes, generating, analysing)
}

/// One world: (its outcome, (time generating, time analysing)).
fn run_job(job: &Job, year: i32, effects: &[PlantedEffect]) -> (Outcome, (Duration, Duration)) {
    let years = year - 2..=year;
    let scenario = match job {
        Job::Null { kind, seed } => Scenario::null(NullWorld::ALL[*kind], years, *seed, 1.0),
        Job::Planted { effect, seed } => Scenario {
            effects: vec![effects[*effect].clone()],
            ..Scenario::realistic(years, *seed, 1.0)
        },
    };
    let started = Instant::now();
    let generated = synthetic::generate(&scenario, today(year));
    let generating = started.elapsed();
    let signals = all_signals(&synthetic::analysis_input(&generated, year));
    let analysing = started.elapsed() - generating;
    let outcome = match job {
        Job::Null { kind, .. } => Outcome::Null {
            kind: *kind,
            signals: signals.iter().map(described).collect(),
        },
        Job::Planted { effect, .. } => Outcome::Planted {
            effect: *effect,
            found: !generated.ground_truth.is_empty()
                && generated
                    .ground_truth
                    .iter()
                    .all(|planted| signals.iter().any(|s| planted.is_reported_by(s))),
        },
    };
    (outcome, (generating, analysing))
}

fn described(signal: &Signal) -> (SignalKind, bool, String) {
    (signal.kind, signal.p_value.is_some(), signal.group.clone())
}

/// The day the data is read: two months into the next year, as the tests read it.
fn today(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year + 1, 3, 1).expect("a supported year")
}

fn summarise(
    year: i32,
    worlds: usize,
    effects: Vec<PlantedEffect>,
    outcomes: Vec<Outcome>,
    generating: Duration,
    analysing: Duration,
) -> Calibration {
    let mut null: Vec<NullSummary> = NullWorld::ALL
        .into_iter()
        .map(|world| NullSummary {
            world,
            worlds: 0,
            with_statistical: 0,
            with_statistical_but_trend: 0,
            statistical: 0,
            statistical_groups: 0,
            per_kind: vec![(0, 0); SignalKind::ALL.len()],
        })
        .collect();
    let mut power: Vec<PowerSummary> = effects
        .into_iter()
        .map(|effect| PowerSummary {
            effect,
            worlds: 0,
            found: 0,
        })
        .collect();
    for outcome in outcomes {
        match outcome {
            Outcome::Null { kind, signals } => {
                let summary = &mut null[kind];
                summary.worlds += 1;
                let statistical: Vec<&(SignalKind, bool, String)> =
                    signals.iter().filter(|(_, tested, _)| *tested).collect();
                summary.statistical += statistical.len();
                summary.with_statistical += usize::from(!statistical.is_empty());
                summary.with_statistical_but_trend += usize::from(
                    statistical
                        .iter()
                        .any(|(kind, _, _)| *kind != SignalKind::Trend),
                );
                let groups: std::collections::BTreeSet<&str> =
                    statistical.iter().map(|(_, _, g)| g.as_str()).collect();
                summary.statistical_groups += groups.len();
                for (k, kind) in SignalKind::ALL.into_iter().enumerate() {
                    let count = signals.iter().filter(|(of, _, _)| *of == kind).count();
                    summary.per_kind[k].0 += usize::from(count > 0);
                    summary.per_kind[k].1 += count;
                }
            }
            Outcome::Planted { effect, found } => {
                power[effect].worlds += 1;
                power[effect].found += usize::from(found);
            }
        }
    }
    debug_assert!(null.iter().all(|s| s.worlds == worlds));
    Calibration {
        year,
        null,
        power,
        generating,
        analysing,
    }
}

impl Calibration {
    pub fn worlds_run(&self) -> usize {
        self.null.iter().map(|s| s.worlds).sum::<usize>()
            + self.power.iter().map(|s| s.worlds).sum::<usize>()
    }

    /// Both tables, in markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let year = self.year;
        out += &format!(
            "## Null worlds: signals per year analysed ({year}, worlds of {}-{year})\n\n",
            year - 2
        );
        out += "A world is one year analysed. \"Statistical\" signals carry a p-value; each \
                kind's cell is the share of years with at least one signal of the kind and, \
                in brackets, the mean number a year (rules and tests alike: recurring \
                subgroups and compliance are rules only).\n\n";
        out += "| world | worlds | any statistical signal | trend aside | statistical a year \
                | groups a year |";
        for kind in SignalKind::ALL {
            out += &format!(" {} |", kind.as_str());
        }
        out += "\n|---|---:|---:|---:|---:|---:|";
        out += &"---:|".repeat(SignalKind::ALL.len());
        out += "\n";
        for summary in &self.null {
            let n = summary.worlds.max(1) as f64;
            out += &format!(
                "| {} | {} | {} | {} | {:.2} | {:.2} |",
                summary.world.as_str(),
                summary.worlds,
                percent(summary.with_statistical, summary.worlds),
                percent(summary.with_statistical_but_trend, summary.worlds),
                summary.statistical as f64 / n,
                summary.statistical_groups as f64 / n,
            );
            for (years, signals) in &summary.per_kind {
                out += &format!(
                    " {} ({:.2}) |",
                    percent(*years, summary.worlds),
                    *signals as f64 / n
                );
            }
            out += "\n";
        }
        out += &format!(
            "\n## Power: each effect alone at its documented size, in the realistic world \
             ({year})\n\n"
        );
        out += "| planted effect | size | worlds | found | share |\n|---|---|---:|---:|---:|\n";
        for summary in &self.power {
            out += &format!(
                "| {} | {} | {} | {} | {} |\n",
                summary.effect.kind(),
                size(&summary.effect),
                summary.worlds,
                summary.found,
                percent(summary.found, summary.worlds),
            );
        }
        out
    }
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "-".to_string();
    }
    format!("{:.1} %", 100.0 * part as f64 / whole as f64)
}

/// An effect's size in a few words.
fn size(effect: &PlantedEffect) -> String {
    match effect {
        PlantedEffect::LowGrantRate { grant_rate, .. } => format!(
            "grant rate {grant_rate} at one trust for one method, {} cases a year there, \
             {} elsewhere",
            synthetic::LOW_GRANT_RATE_CASES_PER_YEAR,
            synthetic::LOW_GRANT_RATE_REFERENCE_CASES_PER_YEAR
        ),
        PlantedEffect::SlowRegion { factor, scheme, .. } => {
            format!("processing times × {factor} in one region ({scheme})")
        }
        PlantedEffect::Cluster { count, .. } => format!(
            "{count} applications, one method × category, {} months, {}+ trusts",
            synthetic::CLUSTER_MONTHS,
            synthetic::CLUSTER_MIN_TRUSTS
        ),
        PlantedEffect::UnequalSubgroup { .. } => format!(
            "granted {} in one region, {} in another, {} cases each a year",
            synthetic::UNEQUAL_GRANTING_RATE,
            synthetic::UNEQUAL_REFUSING_RATE,
            synthetic::UNEQUAL_CASES_PER_REGION_AND_YEAR
        ),
        PlantedEffect::VolumeJump { factor, .. } => {
            format!("one large trust's applications × {factor} in a quarter")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_worlds_of_each_kind_give_one_row_per_world_kind_and_per_effect() {
        let calibration = calibrate(2, 2025, 2);
        assert_eq!(calibration.worlds_run(), 2 * (3 + 5));
        let table = calibration.markdown();
        for world in NullWorld::ALL {
            let rows = table
                .lines()
                .filter(|l| l.starts_with(&format!("| {} | 2 |", world.as_str())))
                .count();
            assert_eq!(rows, 1, "{world:?} in\n{table}");
        }
        for effect in [
            "low_grant_rate",
            "slow_region",
            "cluster",
            "unequal_subgroup",
            "volume_jump",
        ] {
            let rows = table
                .lines()
                .filter(|l| l.starts_with(&format!("| {effect} |")))
                .count();
            assert_eq!(rows, 1, "{effect} in\n{table}");
        }
        let columns = |line: &str| line.matches('|').count();
        let header = table.lines().find(|l| l.starts_with("| world |")).unwrap();
        assert_eq!(columns(header), 7 + SignalKind::ALL.len());
        assert!(table
            .lines()
            .filter(|l| l.starts_with("| homogeneous"))
            .all(|l| columns(l) == columns(header)));
    }
}
