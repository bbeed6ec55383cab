//! The projector's promises: incremental projection equals a rebuild from scratch, a
//! projector stopped between batches and restarted ends where one never stopped would,
//! and an event that commits late is still counted.

use std::collections::HashMap;
use std::time::Duration;

use domain::case::{case_stream, Case};
use domain::codes::{AtcCode, MethodId};
use domain::commands::{handle, CaseCommand};
use domain::events::{RegistryEvent, SCHEMA_VERSION};
use domain::methods::{method_stream, Method, MethodDescription, MethodStatus};
use domain::organisation::OrganisationNumber;
use domain::organisation_register::{organisation_stream, Organisation, OrganisationKind};
use domain::pseudonym::PseudonymKey;
use domain::report::ReportContext;
use harness::TestDatabase;
use projections::{Projection, Projector, Target};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use registry::codec::new_event;
use registry::{Actor, Registry, RegistrySettings, Role};
use serde_json::{json, Map, Value};
use store::{EventStore, ExpectedVersion, NewEvent};
use uuid::Uuid;

const TRUSTS: [(&str, &str); 4] = [
    ("993467049", "991324968"),
    ("983974724", "983658725"),
    ("883974832", "983658776"),
    ("983974899", "883658752"),
];
const RHFS: [&str; 4] = ["991324968", "983658725", "983658776", "883658752"];
const COUNTIES: [&str; 6] = ["03", "32", "46", "50", "55", "11"];
const METHODS: [&str; 2] = ["ID2023_045", "ID2022_101"];

fn org(number: &str) -> OrganisationNumber {
    OrganisationNumber::parse(number).expect("a valid organisation number")
}

fn date(text: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a valid date")
}

/// A registry written through the registry's case service, as the API writes it.
pub struct World {
    pub store: EventStore,
    registry: Registry,
    organisations: HashMap<OrganisationNumber, Organisation>,
    methods: HashMap<MethodId, Method>,
    key: PseudonymKey,
    rng: StdRng,
    cases: Vec<Uuid>,
    last_written: std::sync::Mutex<store::Checkpoint>,
}

impl World {
    pub async fn new(store: EventStore, seed: u64) -> World {
        let key = PseudonymKey::new("t", &[3u8; 32]).expect("a valid key");
        let mut world = World {
            registry: Registry::new(store.clone(), RegistrySettings::new(key)),
            store,
            organisations: HashMap::new(),
            methods: HashMap::new(),
            key: PseudonymKey::new("t", &[3u8; 32]).expect("a valid key"),
            rng: StdRng::seed_from_u64(seed),
            cases: Vec::new(),
            last_written: std::sync::Mutex::new(store::Checkpoint::ORIGIN),
        };
        for rhf in RHFS {
            world.register(rhf, OrganisationKind::Rhf, rhf).await;
        }
        for (trust, region) in TRUSTS {
            world.register(trust, OrganisationKind::Hf, region).await;
        }
        for method in METHODS {
            world.describe_method(method).await;
        }
        world
    }

    async fn register(&mut self, number: &str, kind: OrganisationKind, region: &str) {
        let organisation = Organisation {
            org_number: org(number),
            name: format!("Organisation {number}"),
            kind,
            region_org_number: Some(org(region)),
            active: true,
        };
        self.organisations.insert(org(number), organisation.clone());
        let stream = organisation_stream(&org(number));
        self.append(
            &stream,
            ExpectedVersion::Any,
            vec![RegistryEvent::OrganisationRegistered { organisation }],
        )
        .await;
    }

    async fn describe_method(&mut self, id: &str) {
        let method_id = MethodId::parse(id).expect("a valid method id");
        let mut events = vec![
            RegistryEvent::MethodDescribed {
                method_id: method_id.clone(),
                description: MethodDescription {
                    name: format!("Method {id}"),
                    atc: vec![AtcCode::parse("L01FF02").expect("a valid ATC code")],
                    indication: "Test indication".into(),
                },
            },
            RegistryEvent::MethodStatusChanged {
                method_id: method_id.clone(),
                status: MethodStatus::UnderAssessment,
                decision_date: date("2020-01-01"),
                effective_from: None,
            },
        ];
        // The second method is introduced in mid-2025: its exemptions after that are
        // decided outside assessment, judged day by day.
        if id == METHODS[1] {
            events.push(RegistryEvent::MethodStatusChanged {
                method_id: method_id.clone(),
                status: MethodStatus::Introduced,
                decision_date: date("2025-06-15"),
                effective_from: None,
            });
        }
        self.methods.insert(
            method_id.clone(),
            Method::from_events(&events).expect("a method"),
        );
        self.append(&method_stream(&method_id), ExpectedVersion::Any, events)
            .await;
    }

    pub async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<RegistryEvent>,
    ) -> store::AppendResult {
        let new_events: Vec<NewEvent> = events
            .iter()
            .map(|event| new_event(event, Uuid::new_v4(), json!({"actor": "test"})))
            .collect();
        let appended = self
            .store
            .append(stream, expected, &new_events)
            .await
            .expect("append");
        let mut last = self.last_written.lock().unwrap();
        *last = (*last).max(appended.checkpoint);
        appended
    }

    fn context(&self) -> ReportContext<'_> {
        ReportContext {
            today: date("2026-06-30"),
            pseudonym_key: &self.key,
            accept_synthetic_identity_numbers: false,
            organisations: &self.organisations,
            methods: &self.methods,
        }
    }

    /// A random, valid report body for a new case.
    fn new_case_body(&mut self, with_decision: bool) -> Map<String, Value> {
        let (trust, _) = TRUSTS[self.rng.gen_range(0..TRUSTS.len())];
        let received = date("2024-01-01") + chrono::Days::new(self.rng.gen_range(0..700));
        let indication = ["C64", "C50", "C34"][self.rng.gen_range(0..3)];
        let sex = ["female", "male"][self.rng.gen_range(0..2)];
        let county = COUNTIES[self.rng.gen_range(0..COUNTIES.len())];
        let method = METHODS[self.rng.gen_range(0..METHODS.len())];
        let birth_year = self.rng.gen_range(1940..2005);
        let mut body = json!({
            "case_ref": format!("C-{}", Uuid::new_v4().simple()),
            "deciding_org": trust,
            "scheme": "individual_exemption",
            "method_id": method,
            "indication_icd10": indication,
            "patient": {"birth_year": birth_year, "sex": sex, "residence_county": county},
            "received_date": received.to_string(),
        });
        if with_decision {
            self.add_decision(&mut body, received);
        }
        body.as_object().expect("an object").clone()
    }

    fn add_decision(&mut self, body: &mut Value, received: chrono::NaiveDate) {
        let granted = self.rng.gen_bool(0.7);
        body["decided_date"] =
            json!((received + chrono::Days::new(self.rng.gen_range(0..90))).to_string());
        body["outcome"] = json!(if granted { "granted" } else { "refused" });
        body["criteria"] =
            json!({"marketing_authorisation": true, "standard_treatment_unsuitable": granted});
        if !granted {
            body["refusal_reasons"] = json!(["criteria_not_met"]);
        }
    }

    async fn case(&self, case_id: Uuid) -> (Option<Case>, i64) {
        let events = self
            .store
            .read_stream(&case_stream(case_id))
            .await
            .expect("read");
        let decoded: Vec<RegistryEvent> = events
            .iter()
            .map(|e| {
                RegistryEvent::from_stored(&e.event_type, e.schema_version, &e.payload)
                    .expect("readable")
            })
            .collect();
        (
            Case::from_events(&decoded),
            events.last().map_or(0, |e| e.stream_version),
        )
    }

    /// Does one random thing a trust might report; returns false when it was refused.
    pub async fn step(&mut self) -> bool {
        let choice = self.rng.gen_range(0..10);
        if self.cases.is_empty() || choice < 4 {
            let with_decision = self.rng.gen_bool(0.7);
            let body = self.new_case_body(with_decision);
            return self.report(body, with_decision).await;
        }
        let case_id = self.cases[self.rng.gen_range(0..self.cases.len())];
        let (case, _) = self.case(case_id).await;
        let Some(case) = case else { return false };
        let reporter = World::reporter(case.application.deciding_org.as_str());
        let report_id = Uuid::new_v4();
        let decided = case.decision.as_ref().map(|d| d.decided_date);
        match (choice, decided) {
            (4 | 5, None) => {
                let mut body = json!({});
                self.add_decision(&mut body, case.application.received_date);
                body["report_id"] = json!(report_id);
                let body = body.as_object().expect("an object").clone();
                let written = self.registry.report_decision(&reporter, case_id, &body);
                self.note(written.await).is_some()
            }
            (4 | 5, Some(_)) | (6, _) => {
                let mut changes = Map::new();
                changes.insert(
                    "method_id".into(),
                    json!(METHODS[self.rng.gen_range(0..METHODS.len())]),
                );
                if decided.is_some() && self.rng.gen_bool(0.5) {
                    changes.insert("outcome".into(), json!("granted"));
                    changes.insert("refusal_reasons".into(), json!([]));
                }
                let reason = domain::case::CorrectionReason::RegistrationError;
                let written = self
                    .registry
                    .correct_case(&reporter, case_id, report_id, &changes, reason);
                self.note(written.await).is_some()
            }
            (7, _) => {
                let reason = domain::case::RetractionReason::ReportedInError;
                let written = self
                    .registry
                    .retract_case(&reporter, case_id, report_id, reason);
                self.note(written.await).is_some()
            }
            (8, Some(decided)) => {
                let lodged_date = decided + chrono::Days::new(self.rng.gen_range(0..30));
                let written =
                    self.registry
                        .lodge_appeal(&reporter, case_id, report_id, lodged_date);
                self.note(written.await).is_some()
            }
            (_, _) => match case.appeals.iter().find(|a| a.outcome.is_none()).cloned() {
                Some(appeal) => {
                    let decided_date =
                        appeal.lodged_date + chrono::Days::new(self.rng.gen_range(0..60));
                    let outcome = [
                        domain::case::AppealOutcome::Upheld,
                        domain::case::AppealOutcome::Overturned,
                    ][self.rng.gen_range(0..2)];
                    let written = self.registry.decide_appeal(
                        &reporter,
                        case_id,
                        appeal.appeal_id,
                        report_id,
                        decided_date,
                        outcome,
                    );
                    self.note(written.await).is_some()
                }
                None => false,
            },
        }
    }

    /// The trust that decides `case`, as a reporter.
    fn reporter(org_number: &str) -> Actor {
        Actor::client("projection test", Role::Reporter, Some(org(org_number)))
    }

    /// Reports a new case as its deciding trust; false when it was refused.
    async fn report(&mut self, mut body: Map<String, Value>, with_decision: bool) -> bool {
        let reporter = World::reporter(body["deciding_org"].as_str().expect("an org"));
        body.insert("report_id".into(), json!(Uuid::new_v4()));
        let written = self
            .registry
            .report_case(&reporter, &body, with_decision)
            .await;
        match self.note(written) {
            Some(case_id) => {
                self.cases.push(case_id);
                true
            }
            None => false,
        }
    }

    /// Remembers where a report landed; the case it wrote, unless it was refused.
    fn note(
        &self,
        written: Result<registry::cases::Written, registry::ServiceError>,
    ) -> Option<Uuid> {
        let written = written.ok()?;
        let mut last = self.last_written.lock().unwrap();
        *last = (*last).max(written.checkpoint);
        Some(written.case_id)
    }
}

/// Every read model's rows, as text, in a stable order.
async fn read_models(db: &TestDatabase) -> Vec<String> {
    let mut snapshot = Vec::new();
    for (table, order) in [
        ("case_facts", "case_id"),
        ("decision_counts", "year, quarter, deciding_region, deciding_org, residence_region, scheme, method_id, icd10_category, outcome"),
        ("decision_counts_by_region", "region_basis, year, quarter, region, scheme, method_id, outcome"),
        ("signal_counts", "kind, period, key"),
        ("appeal_facts", "appeal_id"),
        ("projected_organisations", "org_number"),
        ("population", "year, county_number"),
    ] {
        let rows: Vec<String> = sqlx::query_scalar(&format!("select to_jsonb(t)::text from {table} t order by {order}"))
            .fetch_all(&db.pool)
            .await
            .expect("read model rows");
        snapshot.push(format!("{table}: {}", rows.join("\n")));
    }
    snapshot
}

/// Waits until everything the world wrote is final, so a projector can read it.
async fn settle(world: &World) {
    let last = *world.last_written.lock().unwrap();
    assert!(world
        .store
        .wait_until_final(last, Duration::from_secs(30))
        .await
        .expect("wait"));
}

/// A database whose store holds `steps` random steps of a world, every event final.
async fn settled_world(seed: u64, steps: usize) -> (TestDatabase, EventStore, World) {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    let mut world = World::new(store.clone(), seed).await;
    for _ in 0..steps {
        world.step().await;
    }
    settle(&world).await;
    (db, store, world)
}

async fn catch_up_all(projector: &Projector) {
    for projection in Projection::ALL {
        projector
            .catch_up(projection, Target::Live)
            .await
            .expect("catch up");
    }
}

/// How many cases were corrected, retracted, and appealed.
async fn history_kinds(db: &TestDatabase) -> (i64, i64, i64) {
    sqlx::query_as(
        "select (select count(*) from case_facts where corrections > 0),
                (select count(*) from case_facts where retracted),
                (select count(*) from appeal_facts where outcome is not null)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

/// Every table of counts that can answer a question answers it as the case facts do.
async fn assert_counts_answer_as_the_facts_do(db: &TestDatabase) {
    use projections::queries::{self, CountsTable, Dimension, Filter, RegionBasis};
    let questions: [&[Dimension]; 4] = [
        &[Dimension::Region, Dimension::MethodId],
        &[Dimension::Year, Dimension::Quarter, Dimension::Scheme],
        &[Dimension::Org, Dimension::Icd10Category],
        &[],
    ];
    for basis in [RegionBasis::Deciding, RegionBasis::Residence] {
        for dimensions in questions {
            let filter = Filter {
                region_basis: basis,
                ..Filter::default()
            };
            let facts = queries::decisions_from_facts(&db.pool, &filter, dimensions)
                .await
                .expect("from facts");
            for table in [CountsTable::ByRegion, CountsTable::Full] {
                if table.answers(&filter, dimensions) {
                    let counted =
                        queries::decisions_from_counts(&db.pool, table, &filter, dimensions)
                            .await
                            .expect("from counts");
                    assert_eq!(counted, facts, "{table:?} {basis:?} {dimensions:?}");
                }
            }
        }
    }
}

/// The signals' counts give, for every year of the history, the tallies the cases give.
async fn assert_signal_counts_give_the_tallies_of_the_cases(db: &TestDatabase) {
    use analysis::signals::{Settings, Tallies};
    let cases = projections::queries::signal_cases(&db.pool)
        .await
        .expect("cases");
    let registry = world_registry(db);
    let methods = registry.method_records().await.expect("methods");
    let mut compliance_seen = false;
    for year in 2024..=2026 {
        let input = registry
            .analysis_input(year, Settings::default())
            .await
            .expect("analysis input");
        let counted = Tallies::count(year, &cases, &methods);
        compliance_seen |= !counted.outside_assessment.is_empty();
        assert_eq!(input.tallies, counted, "{year}");
    }
    assert!(compliance_seen, "exemptions decided after an introduction");
}

#[tokio::test]
async fn incremental_projection_equals_a_rebuild_over_random_histories() {
    let mut kinds_seen = (0, 0, 0);
    for seed in 0..6u64 {
        let db = TestDatabase::new().await;
        let store = EventStore::new(db.pool.clone());
        let mut world = World::new(store.clone(), seed).await;
        let mut rng = StdRng::seed_from_u64(seed + 100);
        let mut accepted = 0;
        for _ in 0..12 {
            for _ in 0..rng.gen_range(1..12) {
                accepted += usize::from(world.step().await);
            }
            settle(&world).await;
            // A projector with a random batch size, new each round: as if restarted.
            let projector = Projector::new(store.clone()).with_batch_size(rng.gen_range(1..40));
            catch_up_all(&projector).await;
        }
        assert!(
            accepted > 20,
            "seed {seed}: the history has substance ({accepted} commands)"
        );
        let incremental = read_models(&db).await;
        assert_signal_counts_give_the_tallies_of_the_cases(&db).await;
        let projector = Projector::new(store.clone());
        for projection in Projection::ALL {
            projector.rebuild(projection).await.expect("rebuild");
        }
        assert_eq!(read_models(&db).await, incremental, "seed {seed}");
        assert_counts_answer_as_the_facts_do(&db).await;
        // Again in small batches, holding only a few cases in memory: the rest of the
        // rebuild then goes batch by batch, as the live projector does.
        let small_batches = Projector::new(store.clone())
            .with_batch_size(rng.gen_range(1..9))
            .with_rebuild_memory_limit(rng.gen_range(1..6));
        small_batches
            .rebuild(Projection::Cases)
            .await
            .expect("rebuild in small batches");
        assert_eq!(
            read_models(&db).await,
            incremental,
            "seed {seed}, small batches"
        );
        let cases: i64 = sqlx::query_scalar("select count(*) from case_facts")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert!(cases > 5, "seed {seed}: cases were projected");
        let (corrected, retracted, appealed) = history_kinds(&db).await;
        kinds_seen = (
            kinds_seen.0 + corrected,
            kinds_seen.1 + retracted,
            kinds_seen.2 + appealed,
        );
    }
    let (corrected, retracted, appealed) = kinds_seen;
    assert!(
        corrected > 0 && retracted > 0 && appealed > 0,
        "histories held corrections, retractions and decided appeals: {kinds_seen:?}"
    );
}

#[tokio::test]
async fn a_projector_stopped_between_batches_ends_where_one_never_stopped_would() {
    let (db, store, _) = settled_world(42, 60).await;
    // Stopped after every single event: each batch is its own transaction and checkpoint.
    loop {
        let projector = Projector::new(store.clone()).with_batch_size(1);
        if projector
            .run_batch(Projection::Cases, Target::Live)
            .await
            .expect("batch")
            == Some(0)
        {
            break;
        }
    }
    let stepwise = read_models(&db).await;
    Projector::new(store.clone())
        .rebuild(Projection::Cases)
        .await
        .expect("rebuild");
    assert_eq!(read_models(&db).await, stepwise);
}

#[tokio::test]
async fn two_projectors_at_once_count_every_event_once() {
    let (db, store, _) = settled_world(7, 80).await;
    let first = Projector::new(store.clone()).with_batch_size(3);
    let second = Projector::new(store.clone()).with_batch_size(5);
    let (a, b) = tokio::join!(
        async {
            for _ in 0..5 {
                first
                    .catch_up(Projection::Cases, Target::Live)
                    .await
                    .unwrap();
            }
        },
        async {
            for _ in 0..5 {
                second
                    .catch_up(Projection::Cases, Target::Live)
                    .await
                    .unwrap();
            }
        },
    );
    let ((), ()) = (a, b);
    catch_up_all(&first).await;
    let together = read_models(&db).await;
    Projector::new(store.clone())
        .rebuild(Projection::Cases)
        .await
        .expect("rebuild");
    assert_eq!(read_models(&db).await, together);
}

#[tokio::test]
async fn two_rebuilds_at_once_never_spoil_each_other() {
    let (db, store, _) = settled_world(5, 60).await;
    catch_up_all(&Projector::new(store.clone())).await;
    let incremental = read_models(&db).await;
    let first = Projector::new(store.clone()).with_batch_size(4);
    let second = Projector::new(store.clone()).with_batch_size(7);
    let (a, b) = tokio::join!(
        first.rebuild(Projection::Cases),
        second.rebuild(Projection::Cases)
    );
    let outcomes = [a, b];
    assert!(outcomes.iter().any(Result::is_ok), "{outcomes:?}");
    for refused in outcomes.iter().filter_map(|outcome| outcome.as_ref().err()) {
        assert!(
            refused
                .to_string()
                .contains("another process is rebuilding"),
            "{refused}"
        );
    }
    assert_eq!(read_models(&db).await, incremental);
    let leftovers: i64 =
        sqlx::query_scalar("select count(*) from pg_tables where tablename like '%\\_rebuild'")
            .fetch_one(&db.pool)
            .await
            .expect("tables");
    assert_eq!(leftovers, 0, "no rebuild tables left behind");
}

#[tokio::test]
async fn an_event_that_commits_late_is_counted() {
    let db = TestDatabase::new().await;
    let store = EventStore::new(db.pool.clone());
    let mut world = World::new(store.clone(), 3).await;
    settle(&world).await;
    let projector = Projector::new(store.clone());
    catch_up_all(&projector).await;

    // A decision held open in its transaction while another commits after it.
    let body = world.new_case_body(true);
    let accepted = handle(
        None,
        CaseCommand::Report {
            body: &body,
            with_decision: true,
        },
        &world.context(),
    )
    .expect("valid");
    let mut held_open = db.pool.begin().await.unwrap();
    for (version, event) in accepted.events.iter().enumerate() {
        let stored = NewEvent {
            event_id: Uuid::new_v4(),
            event_type: event.event_type().to_string(),
            schema_version: SCHEMA_VERSION,
            payload: event.payload(),
            metadata: json!({}),
        };
        let stream = case_stream(accepted.case_id);
        let expected = ExpectedVersion::Exact(version as i64);
        store::append_with(&mut *held_open, &stream, expected, &[stored])
            .await
            .unwrap();
    }
    let other = world.new_case_body(true);
    assert!(world.report(other, true).await);
    let decided = || async {
        sqlx::query_scalar::<_, i64>(
            "select coalesce(sum(decisions), 0)::bigint from decision_counts",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap()
    };
    catch_up_all(&projector).await;
    assert_eq!(
        decided().await,
        0,
        "nothing is projected past the open transaction"
    );
    held_open.commit().await.unwrap();
    settle(&world).await;
    catch_up_all(&projector).await;
    assert_eq!(
        decided().await,
        2,
        "both decisions counted, the late one included"
    );
}

/// Organisation regions as the world registered them.
struct WorldRegions(HashMap<String, Option<String>>);

impl projections::facts::RegionOf for WorldRegions {
    fn region_of(&self, org_number: &str) -> Option<String> {
        self.0.get(org_number).cloned().flatten()
    }
}

#[tokio::test]
async fn each_case_row_holds_the_fact_its_events_make() {
    use projections::facts::{region_of_organisation, CaseFact};
    let (db, store, world) = settled_world(11, 60).await;
    catch_up_all(&Projector::new(store.clone())).await;
    let regions = WorldRegions(
        world
            .organisations
            .iter()
            .map(|(number, o)| (number.as_str().to_string(), region_of_organisation(o)))
            .collect(),
    );
    let rows: Vec<CaseFact> = sqlx::query_as("select * from case_facts")
        .fetch_all(&db.pool)
        .await
        .expect("case facts");
    assert!(rows.len() > 10, "cases were projected: {}", rows.len());
    for row in rows {
        let mut fact: Option<CaseFact> = None;
        let mut appeals = Vec::new();
        for stored in store
            .read_stream(&case_stream(row.case_id))
            .await
            .expect("read")
        {
            let event = RegistryEvent::from_stored(
                &stored.event_type,
                stored.schema_version,
                &stored.payload,
            )
            .expect("readable");
            match (&event, fact.as_mut()) {
                (RegistryEvent::CaseReceived { application, .. }, None) => {
                    fact = Some(CaseFact::received(
                        row.case_id,
                        application,
                        stored.recorded_at,
                        &regions,
                    ));
                }
                (_, Some(fact)) => fact.apply(&event, stored.recorded_at, &regions, &mut appeals),
                _ => {}
            }
        }
        assert_eq!(Some(row), fact, "every column, as written and read back");
    }
}

/// A registry over the test's database, for reading what the signals read.
fn world_registry(db: &TestDatabase) -> Registry {
    let key = PseudonymKey::new("t", &[3u8; 32]).expect("a valid key");
    Registry::new(EventStore::new(db.pool.clone()), RegistrySettings::new(key))
}
