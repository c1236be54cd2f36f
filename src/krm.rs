//! krm: tenantgen as a KRM function (config.kubernetes.io/v1 ResourceList, SPEC §5). The
//! catalog comes from `functionConfig`, the zone from its `tenantgen.io/zone` annotation;
//! input items are kept as they are and the zone's objects are appended. Problems become
//! `results`. Pure apart from reading the config's own file for line numbers: it never writes.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::check::{self, Checked};
use crate::diagnostics::{Diagnostic, Severity};
use crate::emit;
use crate::model::Zone;
use crate::render::{self, Options, Placed};
use crate::source::Source;
use crate::yaml::{self, Document, Numbers};

pub const ZONE_ANNOTATION: &str = "tenantgen.io/zone";
const PATH_ANNOTATIONS: [&str; 2] = [
    "internal.config.kubernetes.io/path",
    "config.kubernetes.io/path",
];

/// The function's answer: the ResourceList to print, and the problems for stderr.
#[derive(Debug)]
pub struct Outcome {
    /// The ResourceList without the generated objects: the input items kept, and results.
    pub resource_list: Value,
    pub problems: Vec<Diagnostic>,
    /// The catalog and zone whose objects are appended to the items, rendered only as they
    /// are written (`write`) or collected (`into_value`).
    generated: Option<(Box<Checked>, String)>,
}

impl Outcome {
    pub fn failed(&self) -> bool {
        self.problems.iter().any(Diagnostic::is_error)
    }

    /// The whole ResourceList as one value, generated objects included.
    pub fn into_value(self) -> Value {
        let Outcome {
            resource_list: mut list,
            generated,
            ..
        } = self;
        if let Some((checked, zone)) = generation(&generated)
            && let Some(items) = list.get_mut("items").and_then(Value::as_array_mut)
        {
            let _ = each_generated(checked, zone, |p| {
                items.push(p.object);
                Ok::<(), std::convert::Infallible>(())
            });
        }
        list
    }

    /// The ResourceList as YAML text, exactly as `emit::document(&self.into_value())` writes
    /// it, handed to `sink` in pieces: the generated objects are rendered and written a
    /// client at a time, so a zone of thousands of clients is never in memory whole.
    pub fn write<E>(&self, mut sink: impl FnMut(&str) -> Result<(), E>) -> Result<(), E> {
        let Some((checked, zone)) = generation(&self.generated) else {
            let mut text = String::new();
            emit::document(&mut text, &self.resource_list);
            return sink(&text);
        };
        let mut buf = String::new();
        emit::document(&mut buf, &json!({"apiVersion": API_VERSION}));
        buf.push_str("items:\n");
        let kept = self.resource_list.get("items").and_then(Value::as_array);
        for item in kept.into_iter().flatten() {
            emit::list_item(&mut buf, item, 2);
        }
        sink(&buf)?;
        each_generated(checked, zone, |p| {
            buf.clear();
            emit::list_item(&mut buf, &p.object, 2);
            sink(&buf)
        })?;
        // Keys in emit's (sorted) order: apiVersion, items, kind, results.
        let rest: Map<String, Value> = self
            .resource_list
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| *k != "apiVersion" && *k != "items")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        buf.clear();
        emit::document(&mut buf, &Value::Object(rest));
        sink(&buf)
    }
}

/// The catalog and zone whose objects follow an outcome's kept items, if any.
fn generation(generated: &Option<(Box<Checked>, String)>) -> Option<(&Checked, &Zone)> {
    let (checked, zone) = generated.as_ref()?;
    Some((checked, zone_of(checked, zone).ok()?))
}

const API_VERSION: &str = "config.kubernetes.io/v1";

fn annotation<'a>(config: &'a Value, key: &str) -> Option<&'a str> {
    config
        .get("metadata")?
        .get("annotations")?
        .get(key)?
        .as_str()
}

/// Runs the function over a ResourceList's text.
pub fn process(input: &str) -> Outcome {
    let source = Source::from_text("<stdin>", input);
    // Items are Kubernetes objects and keep Go's number rules; the catalog keeps its own.
    let items_doc = match yaml::parse_with(&source, Numbers::Go) {
        Ok(d) => d,
        Err(problems) => return outcome(Vec::new(), problems),
    };
    let list = &items_doc.value;
    if list.get("kind").and_then(Value::as_str) != Some("ResourceList") {
        let d = Diagnostic::error("krm-input", "stdin is not a ResourceList").hint("tenantgen krm reads a config.kubernetes.io/v1 ResourceList, as kustomize and kpt send it");
        return outcome(Vec::new(), vec![d.at("<stdin>", None)]);
    }
    let items: Vec<Value> = list
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let catalog_doc = match yaml::parse(&source) {
        Ok(d) => d,
        Err(problems) => return outcome(items, problems),
    };
    let Some(config) = catalog_doc
        .value
        .get("functionConfig")
        .filter(|c| c.is_object())
        .cloned()
    else {
        let d = Diagnostic::error("krm-config", "the ResourceList has no functionConfig").hint("pass the ClientCatalog as the function's config (`--fn-config` for kpt, the annotated file for kustomize)");
        return outcome(items, vec![d.at("<stdin>", None)]);
    };
    let name = PATH_ANNOTATIONS
        .iter()
        .find_map(|k| annotation(&config, k))
        .unwrap_or("functionConfig")
        .to_owned();
    let Some(zone) = annotation(&config, ZONE_ANNOTATION).map(str::to_owned) else {
        let d = Diagnostic::error("krm-zone", format!("the ClientCatalog has no `{ZONE_ANNOTATION}` annotation"))
            .field("metadata.annotations")
            .hint(format!("add `{ZONE_ANNOTATION}: <zone>` to the config's metadata.annotations to choose the zone to generate"));
        return outcome(items, vec![d.at(&name, None)]);
    };
    let checked = match check_config(&name, config, &catalog_doc) {
        Ok(c) => c,
        Err(problems) => return outcome(items, problems),
    };
    if let Err(d) = zone_of(&checked, &zone) {
        return outcome(items, vec![*d]);
    }
    // What an earlier run generated is replaced, not duplicated: kpt feeds a pipeline's
    // output back in, and a removed client must disappear.
    let kept: Vec<Value> = items.into_iter().filter(|i| !generated_by_us(i)).collect();
    let mut answer = outcome(kept, checked.warnings.clone());
    answer.generated = Some((Box::new(checked), zone));
    answer
}

fn generated_by_us(item: &Value) -> bool {
    item.pointer("/metadata/labels/app.kubernetes.io~1managed-by")
        .and_then(Value::as_str)
        == Some("tenantgen")
}

/// The catalog from the function config. When the config's path annotation names a
/// readable regular file with the same content, that file is checked so that problems carry
/// its real lines; otherwise the stream's copy is checked and positions are dropped. The
/// annotation is only a hint from the input, so a FIFO or a device there is never opened.
fn check_config(name: &str, config: Value, stream: &Document) -> Result<Checked, Vec<Diagnostic>> {
    let without_meta = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("annotations");
        }
        v
    };
    if std::fs::metadata(name).is_ok_and(|m| m.is_file())
        && let Ok(file) = Source::read(Path::new(name))
        && let Ok(mut doc) = yaml::parse(&file)
    {
        let mut mine = Document {
            value: config.clone(),
            map: stream.map.subtree("/functionConfig"),
        };
        crate::schema::coerce(&mut doc);
        crate::schema::coerce(&mut mine);
        if without_meta(&doc.value) == without_meta(&mine.value) {
            return check::check_document(file, doc);
        }
    }
    let doc = Document {
        value: config,
        map: stream.map.subtree("/functionConfig"),
    };
    check::check_document(Source::from_text(name, ""), doc).map_err(|mut problems| {
        for p in &mut problems {
            p.pos = None;
        }
        problems
    })
}

/// The zone of the catalog named by the annotation, or why it is not one.
pub fn zone_of<'a>(checked: &'a Checked, zone: &str) -> Result<&'a Zone, Box<Diagnostic>> {
    let m = &checked.model;
    m.zones.iter().find(|z| z.name == zone).ok_or_else(|| {
        let names: Vec<_> = m.zones.iter().map(|z| z.name.as_str()).collect();
        Box::new(
            Diagnostic::error("krm-zone", format!("zone `{zone}` is not in the catalog"))
                .at(&checked.source.name, None)
                .field(format!("metadata.annotations.{ZONE_ANNOTATION}"))
                .hint(format!("use one of: {}", names.join(", "))),
        )
    })
}

/// The objects of one zone, exactly as the standalone tree holds them, handed to `sink` one
/// at a time.
pub fn each_generated<E>(
    checked: &Checked,
    z: &Zone,
    sink: impl FnMut(Placed) -> Result<(), E>,
) -> Result<(), E> {
    let options = Options::default();
    render::each_object(&checked.model, z, &options, |_| true, sink)
}

fn outcome(items: Vec<Value>, problems: Vec<Diagnostic>) -> Outcome {
    let results: Vec<Value> = problems.iter().map(result).collect();
    let mut list = Map::new();
    list.insert("apiVersion".into(), API_VERSION.into());
    list.insert("kind".into(), "ResourceList".into());
    list.insert("items".into(), Value::Array(items));
    if !results.is_empty() {
        list.insert("results".into(), Value::Array(results));
    }
    Outcome {
        resource_list: Value::Object(list),
        problems,
        generated: None,
    }
}

/// A diagnostic as a KRM result: flat, severity always set.
fn result(d: &Diagnostic) -> Value {
    let mut message = d.message.clone();
    if let Some(pos) = d.pos {
        message = format!("{}:{}:{}: {message}", d.file, pos.line, pos.col);
    }
    if let Some(hint) = &d.hint {
        message.push_str(&format!(" (hint: {hint})"));
    }
    let mut r = json!({
        "message": message,
        "severity": match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        },
    });
    if !d.file.is_empty() {
        r["file"] = json!({ "path": d.file });
    }
    if !d.field.is_empty() {
        r["field"] = json!({ "path": d.field });
    }
    r
}
