//! `unntak report annual`: the year's summary as HTML and CSV files, and as PDF through
//! headless Chromium when asked for and installed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::Datelike;
use registry::{Actor, Role};

use super::{connect, registry_for_tools};
use crate::cli::AnnualReportArgs;

/// Who the command-line report is made for: a supervisor, so every table is suppressed
/// exactly as the statistics API suppresses it for one.
const REPORT_CLIENT: &str = "unntak report";

pub async fn annual(args: AnnualReportArgs) -> anyhow::Result<ExitCode> {
    let year = args.year.unwrap_or_else(|| chrono::Utc::now().year() - 1);
    let registry = registry_for_tools(&connect(&args.database).await?);
    let actor = Actor::client(REPORT_CLIENT, Role::Supervisor, None);
    let report = report::annual_report(&registry, &actor, year).await?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let page = args.out.join(format!("rapport-{year}.html"));
    std::fs::write(&page, report.html())
        .with_context(|| format!("cannot write {}", page.display()))?;
    println!("{}", page.display());
    for (name, csv) in report.csv_files() {
        let file = args.out.join(name);
        std::fs::write(&file, csv).with_context(|| format!("cannot write {}", file.display()))?;
        println!("{}", file.display());
    }
    if !args.pdf {
        return Ok(ExitCode::SUCCESS);
    }
    let Some(chromium) = find_chromium() else {
        eprintln!(
            "error: no PDF: Chromium is not installed (looked for chromium and chromium-browser \
             on PATH); install Debian's `chromium` package, or print {} from a browser",
            page.display()
        );
        return Ok(ExitCode::from(1));
    };
    let pdf = args.out.join(format!("rapport-{year}.pdf"));
    print_to_pdf(&chromium, &page, &pdf)?;
    println!("{}", pdf.display());
    Ok(ExitCode::SUCCESS)
}

fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn print_to_pdf(chromium: &Path, page: &Path, pdf: &Path) -> anyhow::Result<()> {
    let page = std::fs::canonicalize(page)?;
    let status = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            &format!("--print-to-pdf={}", pdf.display()),
            &format!("file://{}", page.display()),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .with_context(|| format!("cannot run {}", chromium.display()))?;
    anyhow::ensure!(
        status.success() && pdf.is_file(),
        "Chromium did not print {}",
        pdf.display()
    );
    Ok(())
}
