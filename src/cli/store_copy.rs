//! `xiaoer store copy --from <DIR|URL> --to <DIR|URL>`: moves an office's store to
//! another backend (sled to PostgreSQL, or any to any) and prints what it copied. The
//! copying and checking are `store::copy`; this opens the two ends and reports.

use std::io::Write;

use anyhow::{Context, Result, bail};

use crate::store::copy::{Location, copy};

pub fn run(from: &str, to: &str) -> Result<()> {
    let (from, to) = (Location::parse(from), Location::parse(to));
    if from.same_as(&to) {
        bail!("--from and --to are the same store ({from}); nothing to copy");
    }
    // Locations are shown through `Display`, which leaves a URL's password out.
    let source = from
        .open_source()
        .with_context(|| format!("opening the store to copy from, {from}"))?;
    let target = to
        .open_target()
        .with_context(|| format!("opening the store to copy into, {to}"))?;
    let summary = copy(&*source, &*target).with_context(|| format!("copying {from} to {to}"))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "copied {from} to {to}:")?;
    for (table, count) in &summary.tables {
        writeln!(out, "  {:<18} {count:>8}", table.name())?;
    }
    writeln!(out, "copied {} records; counts match", summary.total())?;
    Ok(())
}
