//! Who asks: every service call names its `Actor`, and the service decides once, at its
//! door, whether that actor may.

use domain::organisation::OrganisationNumber;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::ServiceError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A health trust, hospital, RHF or Helfo reporting its own decisions.
    Reporter,
    /// The interregional medical directors' meeting and its secretariat.
    Reviewer,
    /// Statens helsetilsyn and the county governors.
    Supervisor,
    /// A researcher under an approved project: anonymised extracts only.
    Researcher,
    /// Operates the registry: registers, tokens, population figures.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Reporter,
        Role::Reviewer,
        Role::Supervisor,
        Role::Researcher,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reporter => "reporter",
            Role::Reviewer => "reviewer",
            Role::Supervisor => "supervisor",
            Role::Researcher => "researcher",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

/// The roles that read statistics.
pub const STATISTICS_READERS: &[Role] = &[
    Role::Reporter,
    Role::Reviewer,
    Role::Supervisor,
    Role::Admin,
];

/// The roles that read the signals and the funnel behind them.
pub const ANALYSTS: &[Role] = &[Role::Reviewer, Role::Supervisor, Role::Admin];

/// How an actor is known: by an API token, or as a client of the registry's own (the
/// command line's seeding, the demo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorId {
    Token(Uuid),
    Client(String),
}

/// Who is asking, in what role, for which organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: ActorId,
    pub role: Role,
    /// The organisation a reporter reports for.
    pub org: Option<OrganisationNumber>,
    /// The research project a researcher's token is bound to.
    pub project: Option<String>,
    /// The request this call answers, for the audit trail.
    pub request_id: Option<String>,
}

impl Actor {
    pub fn token(token_id: Uuid, role: Role, org: Option<OrganisationNumber>) -> Actor {
        Actor {
            id: ActorId::Token(token_id),
            role,
            org,
            project: None,
            request_id: None,
        }
    }

    /// A client of the registry's own, acting in `role` (for `org`, when a reporter).
    pub fn client(name: &str, role: Role, org: Option<OrganisationNumber>) -> Actor {
        Actor {
            id: ActorId::Client(name.to_string()),
            role,
            org,
            project: None,
            request_id: None,
        }
    }

    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Actor {
        self.request_id = Some(request_id.into());
        self
    }

    pub fn token_id(&self) -> Option<Uuid> {
        match &self.id {
            ActorId::Token(id) => Some(*id),
            ActorId::Client(_) => None,
        }
    }

    /// Forbids the call unless the actor has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ServiceError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!(
                "a {} token may not do this",
                self.role.as_str()
            )))
        }
    }

    /// Forbids the call unless the actor reports for `org`.
    pub fn require_org(&self, org: &OrganisationNumber) -> Result<(), ServiceError> {
        match &self.org {
            Some(own) if own == org => Ok(()),
            _ => Err(ServiceError::Forbidden(format!(
                "this token does not report for organisation {org}"
            ))),
        }
    }

    /// Who wrote an event and in answer to what, for the event's metadata.
    pub fn metadata(&self, correlation_id: Uuid) -> Value {
        let mut metadata = json!({
            "actor": self.role.as_str(),
            "org": self.org.as_ref().map(|o| o.as_str()),
            "request_id": self.request_id,
            "correlation_id": correlation_id,
        });
        match &self.id {
            ActorId::Token(token_id) => metadata["token_id"] = json!(token_id),
            ActorId::Client(client) => metadata["client"] = json!(client),
        }
        metadata
    }
}
