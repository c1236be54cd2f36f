//! check: read -> parse -> schema -> lints -> model for one catalog, collecting every problem
//! before giving up, so a user fixes a file in one pass.

use std::collections::BTreeSet;
use std::path::Path;

use crate::catalog as raw;
use crate::diagnostics::{self, Diagnostic, Pos};
use crate::model;
use crate::source::Source;
use crate::yaml::{self, Document};
use crate::{lint, schema};

/// A catalog that passed every check.
#[derive(Debug)]
pub struct Checked {
    pub source: Source,
    /// The parsed document: its source map, for positions. Its value is `Null`: once
    /// loaded into `raw` and checked, the tree is let go.
    pub doc: Document,
    pub raw: raw::Catalog,
    pub model: model::Catalog,
    /// Problems that do not block rendering.
    pub warnings: Vec<Diagnostic>,
}

/// Reads and checks the catalog at `path`. On failure, every problem found (errors and
/// warnings) in reading order.
pub fn check_file(path: &Path) -> Result<Checked, Vec<Diagnostic>> {
    check_source(Source::read(path).map_err(|d| vec![*d])?)
}

pub fn check_source(source: Source) -> Result<Checked, Vec<Diagnostic>> {
    // The schema compiles on another core while the text parses.
    let doc = std::thread::scope(|s| {
        s.spawn(schema::prepare);
        yaml::parse(&source)
    })?;
    check_document(source, doc)
}

/// Checks an already parsed catalog (the KRM function's config is part of a larger stream).
pub fn check_document(source: Source, mut doc: Document) -> Result<Checked, Vec<Diagnostic>> {
    if !doc.value.is_object() {
        let found = match &doc.value {
            serde_json::Value::Array(_) => "a list",
            serde_json::Value::Null => "nothing",
            _ => "a single value",
        };
        return Err(vec![
            Diagnostic::error("not-a-catalog", format!("the file holds {found}, not a ClientCatalog mapping"))
                .at(&source.name, doc.map.locate("").or(Some(Pos { line: 1, col: 1, offset: 0 })))
                .hint("a catalog starts with `apiVersion: tenantgen.io/v1alpha1` and `kind: ClientCatalog`; see `clients/clients.yaml`"),
        ]);
    }
    let floats = schema::coerce_for_validation(&mut doc);
    // A catalog the schema accepts is loaded once, here, and the lints read it; only a
    // catalog with schema errors is loaded by the lints part by part. Most catalogs are
    // valid, so it is loaded on another core while the schema checks it, and dropped if
    // the schema finds a problem.
    let (schema_problems, loaded) = std::thread::scope(|s| {
        let loading =
            s.spawn(|| <raw::Catalog as serde::Deserialize>::deserialize(&doc.value).ok());
        let problems = schema::validate(&doc, &source, floats);
        (problems, loading.join().ok().flatten())
    });
    let broken: BTreeSet<String> = schema_problems.iter().map(|(p, _)| p.clone()).collect();
    let mut catalog = loaded.filter(|_| broken.is_empty());
    let mut problems: Vec<Diagnostic> = schema_problems.into_iter().map(|(_, d)| d).collect();
    problems.extend(lint::check(&doc, &source, &broken, catalog.as_mut()));
    name_clients(&mut problems, &doc);
    diagnostics::normalize(&mut problems);
    if diagnostics::has_errors(&problems) {
        return Err(problems);
    }
    let loaded = match catalog {
        Some(catalog) => Ok(catalog),
        None => <raw::Catalog as serde::Deserialize>::deserialize(std::mem::take(&mut doc.value)),
    };
    // The tree is let go (on another core) while the model is built, which reuses its
    // memory: at 100,000 clients the tree is half a GB, and touching fresh pages costs
    // more than building the model.
    let tree = std::mem::take(&mut doc.value);
    let raw = loaded.map_err(|e| {
        vec![
            Diagnostic::error(
                "internal",
                format!("the catalog passed validation but does not load: {e}"),
            )
            .at(&source.name, None)
            .hint("this is a tenantgen bug: please report it with the catalog that caused it"),
        ]
    })?;
    let model = std::thread::scope(|s| {
        s.spawn(move || drop(tree));
        model::Catalog::try_from(&raw)
    })
    .map_err(|e| {
        vec![
            Diagnostic::error("internal", e)
                .at(&source.name, None)
                .hint("this is a tenantgen bug: please report it with the catalog that caused it"),
        ]
    })?;
    Ok(Checked {
        source,
        doc,
        raw,
        model,
        warnings: problems,
    })
}

/// Names clients in diagnostics' fields: `spec.clients[acme-corp].size` says which client far
/// better than `spec.clients[2].size`. A client whose name is missing, not text, or all digits
/// (it would read as an index) keeps its index.
fn name_clients(problems: &mut [Diagnostic], doc: &Document) {
    const PREFIX: &str = "spec.clients[";
    for d in problems {
        let Some(rest) = d.field.strip_prefix(PREFIX) else {
            continue;
        };
        let Some((index, tail)) = rest.split_once(']') else {
            continue;
        };
        let Ok(i) = index.parse::<usize>() else {
            continue;
        };
        let name = doc
            .value
            .pointer(&format!("/spec/clients/{i}/name"))
            .and_then(serde_json::Value::as_str)
            .filter(|n| {
                !n.is_empty()
                    && !n.bytes().all(|b| b.is_ascii_digit())
                    && n.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            });
        if let Some(name) = name {
            d.field = format!("{PREFIX}{name}]{tail}");
        }
    }
}
