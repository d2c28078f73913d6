//! `qd-idlgen [--check] <dir>`: writes each program's IDL, generated from its declarations, to
//! `<dir>/<name>.json`; with `--check`, writes nothing and fails naming every file that differs
//! from what would be generated (the committed idl/ must always be the generated one).

use qd_runtime::idl::Json;
use std::path::Path;
use std::process::ExitCode;

/// Every program, by IDL name.
fn programs() -> Vec<(&'static str, Json)> {
    vec![("qd_core", qd_core::idl()), ("qd_trading", qd_trading::idl())]
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = args.iter().any(|a| a == "--check");
    let Some(dir) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: qd-idlgen [--check] <dir>");
        return ExitCode::from(2);
    };
    let mut stale = Vec::new();
    for (name, idl) in programs() {
        let path = Path::new(dir).join(format!("{name}.json"));
        let text = idl.pretty();
        if check {
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
        } else if let Err(e) = std::fs::write(&path, text) {
            eprintln!("{}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if stale.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("generated IDL differs from {} (run `make idl`)", stale.join(", "));
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::programs;

    /// The committed idl/ is exactly what the declarations generate.
    #[test]
    fn committed_idls_are_generated() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../idl");
        for (name, idl) in programs() {
            let committed = std::fs::read_to_string(format!("{root}/{name}.json")).unwrap_or_default();
            assert!(committed == idl.pretty(), "idl/{name}.json differs from its declarations: run `make idl`");
        }
    }
}
