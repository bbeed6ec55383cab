//! Store administration: migrate, seal, verify, prove.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::cli::{MigrateArgs, ProveArgs, SealArgs, VerifyArgs};
use store::{EventStore, ProveError, PublicKey, SealingKey, Trust, MAX_EVENTS_PER_SEAL};

pub async fn migrate(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let organisations = match &args.organisations {
        Some(path) => read(path)?,
        None => super::ORGANISATIONS_CSV.to_string(),
    };
    let registry = super::registry_for_tools(&super::connect(&args.database).await?);
    super::prepare_database_with(&registry, &organisations).await?;
    println!("migrations applied; organisation register seeded");
    Ok(ExitCode::SUCCESS)
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// The sealer's private key from its PEM file.
pub fn read_signing_key(path: &Path) -> anyhow::Result<SealingKey> {
    SealingKey::from_pem(&read(path)?).with_context(|| format!("the key in {}", path.display()))
}

fn read_public_key(path: &Path) -> anyhow::Result<PublicKey> {
    PublicKey::from_pem(&read(path)?).with_context(|| format!("the key in {}", path.display()))
}

async fn connect(url: &str) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(4)
        .connect(url)
        .await
        .context("could not connect to the database named by DATABASE_URL")
}

pub async fn seal(args: SealArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.generate_key {
        return generate_key(path);
    }
    let (Some(url), Some(key_file)) = (&args.database_url, &args.signing_key) else {
        anyhow::bail!("sealing needs DATABASE_URL and --signing-key");
    };
    let key = read_signing_key(key_file)?;
    let store = EventStore::new(connect(url).await?);
    let report = store.seal(&key, MAX_EVENTS_PER_SEAL).await?;
    let Some(latest) = report.latest else {
        println!("nothing to seal: the store has no final events");
        return Ok(ExitCode::SUCCESS);
    };
    println!(
        "sealed {} events in {} new checkpoints; the tree has {} events",
        report.events_sealed, report.seals_written, latest.tree_size
    );
    print!("{}", latest.note());
    if let Some(out) = &args.checkpoint_out {
        std::fs::write(out, latest.note()).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a new key to `path` (readable by its owner only) and its public key to
/// `path.pub`, and prints the public key.
fn generate_key(path: &Path) -> anyhow::Result<ExitCode> {
    let key = SealingKey::generate();
    write_private(path, &key.to_pem())?;
    let public_path = path.with_extension(match path.extension() {
        Some(extension) => format!("{}.pub", extension.to_string_lossy()),
        None => "pub".into(),
    });
    let public = key.public_key().to_pem();
    std::fs::write(&public_path, &public)
        .with_context(|| format!("writing {}", public_path.display()))?;
    println!(
        "private key in {}, public key in {} (key id {}):",
        path.display(),
        public_path.display(),
        key.public_key().key_id_hex()
    );
    print!("{public}");
    Ok(ExitCode::SUCCESS)
}

fn write_private(path: &Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    file.write_all(pem.as_bytes())?;
    Ok(())
}

pub async fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let public_key = args
        .public_key
        .as_deref()
        .map(read_public_key)
        .transpose()?;
    let kept = args.checkpoint.as_deref().map(read).transpose()?;
    let trust = Trust {
        public_key: public_key.as_ref(),
        kept_checkpoint: kept.as_deref(),
    };
    let store = EventStore::new(super::connect(&args.database).await?);
    let verifying = "verifying every event's hash chain and the Merkle tree";
    let report = crate::progress::spinning(verifying, store.verify_with(&trust)).await?;
    Ok(print_verify_report(&report))
}

pub fn print_verify_report(report: &store::VerifyReport) -> ExitCode {
    if let Some(failure) = &report.failure {
        println!("VERIFY FAILED: {failure}");
        return ExitCode::from(1);
    }
    println!(
        "verified: {} events in {} streams match their hashes",
        report.events_checked, report.streams_checked
    );
    let signed = if report.signatures_checked {
        "signed"
    } else {
        "stored (signatures not checked: no public key given)"
    };
    println!(
        "the tree over the first {} events matches {} {signed} checkpoints",
        report.tree_size, report.checkpoints_checked
    );
    if let Some(proof) = &report.consistency {
        println!(
            "the store extends the checkpoint given (tree size {}): consistency proof of {} \
             hashes to its latest checkpoint (tree size {})",
            proof.old_size,
            proof.proof.len(),
            proof.new_size
        );
    }
    if report.seals_checked > 0 {
        println!(
            "{} seals from before migration 0009 match",
            report.seals_checked
        );
    }
    println!("{} final events are not sealed yet", report.unsealed_events);
    ExitCode::SUCCESS
}

pub async fn prove(args: ProveArgs) -> anyhow::Result<ExitCode> {
    let key = read_public_key(&args.public_key)?;
    let kept = args.checkpoint.as_deref().map(read).transpose()?;
    let store = EventStore::new(super::connect(&args.database).await?);
    let proof = match store.prove(args.event_id, &key, kept.as_deref()).await {
        Ok(proof) => proof,
        Err(ProveError::Store(error)) => return Err(error.into()),
        Err(refused) => {
            println!("NOT PROVEN: {refused}");
            return Ok(ExitCode::from(1));
        }
    };
    println!("event {}", proof.event_id);
    println!("leaf index {}", proof.leaf_index);
    println!("tree size {}", proof.checkpoint.tree_size);
    println!("leaf hash {}", hex(&proof.leaf_hash));
    println!(
        "audit path ({} hashes, from the leaf up):",
        proof.path.len()
    );
    for hash in &proof.path {
        println!("  {}", hex(hash));
    }
    println!("root {}", hex(&proof.checkpoint.root));
    println!("checkpoint:");
    print!("{}", proof.checkpoint.note());
    if proof.verified {
        println!("proven: the audit path leads from the event to the signed root");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("NOT PROVEN: the audit path does not lead to the signed root");
        Ok(ExitCode::from(1))
    }
}

fn hex(hash: &[u8]) -> String {
    hash.iter().map(|byte| format!("{byte:02x}")).collect()
}
