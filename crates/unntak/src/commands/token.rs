//! `unntak token create|list|revoke`.

use std::process::ExitCode;

use anyhow::{anyhow, bail};
use domain::organisation::OrganisationNumber;
use registry::tokens::{create_token, list_tokens, revoke_token, NewToken};
use registry::Role;

use super::connect;
use crate::cli::TokenAction;

pub async fn run(action: TokenAction) -> anyhow::Result<ExitCode> {
    match action {
        TokenAction::Create {
            database,
            role,
            org,
            project,
            label,
            expires,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow!("unknown role {role}: reporter, reviewer, supervisor, researcher or admin")
            })?;
            let org = match org {
                Some(org) => {
                    Some(OrganisationNumber::parse(&org).map_err(|e| anyhow!("--org: {e}"))?)
                }
                None => None,
            };
            let pool = connect(&database).await?;
            let new = NewToken {
                role,
                org,
                project,
                label,
                expires,
            };
            let (_, token) = create_token(&pool, new).await?;
            println!("{token}");
        }
        TokenAction::List(database) => {
            let pool = connect(&database).await?;
            for token in list_tokens(&pool).await? {
                println!("{}", serde_json::to_string(&token)?);
            }
        }
        TokenAction::Revoke { database, token_id } => {
            let pool = connect(&database).await?;
            if !revoke_token(&pool, token_id).await? {
                bail!("no active token {token_id}");
            }
            println!("revoked {token_id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
