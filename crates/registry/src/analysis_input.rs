//! What the signals read: the year's tallies from the counts the projector keeps, the
//! methods register's status changes, the population and the organisations' names.

use analysis::signals::{
    all_signals, assessment_periods, methods_changing_status_in, signals_of_kind, AnalysisInput,
    MethodRecord, Settings, Signal, SignalKind, Tallies,
};
use domain::methods::MethodStatus;
use projections::queries;

use crate::actor::{Actor, Role, ANALYSTS};
use crate::error::ServiceError;
use crate::Registry;

fn status_name(status: MethodStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl Registry {
    /// The methods register as the signals read it: each method's status changes.
    pub async fn method_records(&self) -> Result<Vec<MethodRecord>, ServiceError> {
        Ok(self
            .registers
            .all_methods()
            .await?
            .into_iter()
            .map(|method| MethodRecord {
                method_id: method.method_id.as_str().to_string(),
                statuses: method
                    .statuses
                    .iter()
                    .map(|change| {
                        (
                            queries::day(change.in_force_from()),
                            status_name(change.status),
                        )
                    })
                    .collect(),
            })
            .collect())
    }

    /// The analysis input for `year`: the tallies, from the counts the projector keeps.
    pub async fn analysis_input(
        &self,
        year: i32,
        settings: Settings,
    ) -> Result<AnalysisInput, ServiceError> {
        // The tallies count back from the year (two years, twelve months): a year far
        // outside the registry's would overflow them.
        if !crate::population::YEARS.contains(&year) {
            return Err(ServiceError::invalid(
                "year",
                "year_range",
                "year must be from 1990 to 2100",
            ));
        }
        let pool = self.pool();
        let methods = self.method_records().await?;
        let counts = queries::signal_counts(pool, year).await?;
        let periods = assessment_periods(&methods);
        let changed = methods_changing_status_in(year, &periods);
        let days = queries::exemption_days(pool, year, &changed).await?;
        let tallies = Tallies::from_counts(year, counts, &days, &periods);
        let population = queries::population_by_year_and_region(pool)
            .await?
            .into_iter()
            .map(|((year, region), n)| ((year, region), n.max(0) as u64))
            .collect();
        let names = queries::organisation_names(pool)
            .await?
            .into_iter()
            .collect();
        Ok(AnalysisInput {
            year,
            tallies,
            population,
            names,
            settings,
        })
    }

    /// The year's signals (reviewers, supervisors, admins), all kinds or one.
    pub async fn signals(
        &self,
        actor: &Actor,
        year: i32,
        kind: Option<&str>,
    ) -> Result<Vec<Signal>, ServiceError> {
        actor.require(ANALYSTS)?;
        let kind = kind.map(parse_signal_kind).transpose()?;
        let input = self.analysis_input(year, Settings::default()).await?;
        let signals = match kind {
            Some(kind) => signals_of_kind(&input, kind),
            None => all_signals(&input),
        };
        Ok(as_the_actor_may_see(actor, signals))
    }
}

/// What a signal says in place of its figures when they are withheld.
pub const FIGURES_WITHHELD: &str = "Tallene bak signalet vises bare for fagdirektørmøtet (gjennomgang) og administratorer; bruk den skjermede statistikken for tallene.";

/// Signals as the actor may see them. Reviewers and admins see every figure, as they may
/// ask for unsuppressed statistics. Anyone else (supervisors) gets each signal's kind,
/// unit, method and q-value, without its counts, effect size, p-value and the sentence
/// that quotes them: a signal's counts are a trust's or a region's cells for one method
/// and scheme, which the decisions statistic may withhold as a complement even when they
/// are not small, so no rule on the signal alone could keep them consistent with it.
pub fn as_the_actor_may_see(actor: &Actor, mut signals: Vec<Signal>) -> Vec<Signal> {
    if actor.require(&[Role::Reviewer, Role::Admin]).is_ok() {
        return signals;
    }
    for signal in &mut signals {
        signal.counts.clear();
        signal.effect_size = None;
        signal.p_value = None;
        signal.message = FIGURES_WITHHELD.to_string();
    }
    signals
}

pub fn parse_signal_kind(name: &str) -> Result<SignalKind, ServiceError> {
    SignalKind::parse(name).ok_or_else(|| {
        ServiceError::invalid(
            "kind",
            "unknown_kind",
            format!("{name} is not a kind of signal"),
        )
    })
}
