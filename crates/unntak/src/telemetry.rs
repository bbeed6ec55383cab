//! Structured logs on stderr: human-readable by default, JSON with UNNTAK_LOG_FORMAT=json.

use tracing_subscriber::{fmt, EnvFilter};

#[derive(Debug, Clone, Copy, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("UNNTAK_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    // Through the progress bars' writer, so a log line never lands inside a bar.
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(|| crate::progress::LogWriter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
