//! krm: tenantgen as a KRM function (config.kubernetes.io/v1 ResourceList, SPEC §5). The
//! catalog comes from `functionConfig`, the zone from its `tenantgen.io/zone` annotation (or
//! `--zone`); input items are kept as they are and the zone's objects are appended: what a
//! cluster applies, without Flux's own objects unless the config opts in with
//! `tenantgen.io/flux: "true"`. Problems become `results`. Pure apart from reading the
//! config's own file for line numbers: it never writes.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::check::{self, Checked};
use crate::diagnostics::{Diagnostic, Pos, Severity};
use crate::emit;
use crate::model::Zone;
use crate::render::{self, Options, Placed};
use crate::source::Source;
use crate::yaml::{self, Document, Numbers};

pub const ZONE_ANNOTATION: &str = "tenantgen.io/zone";
/// Set to `"true"` on the config, the function also emits the Flux objects that orchestrate
/// the standalone tree (Kustomizations, sources, HelmReleases).
pub const FLUX_ANNOTATION: &str = "tenantgen.io/flux";

/// Choices the caller makes for a run, beside the config's own annotations.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The zone to generate when the config names none (`tenantgen krm --zone`).
    pub zone: Option<String>,
}

/// What the function appends: one zone of a checked catalog.
#[derive(Debug)]
struct Generated {
    checked: Box<Checked>,
    zone: String,
    flux: bool,
}
const PATH_ANNOTATIONS: [&str; 2] = [
    "internal.config.kubernetes.io/path",
    "config.kubernetes.io/path",
];

/// Input larger than this is refused whole, never cut: stdin is read to one byte past it.
pub const MAX_INPUT_BYTES: u64 = crate::source::MAX_FILE_BYTES;

/// The function's answer: the ResourceList to print, and the problems for stderr.
#[derive(Debug)]
pub struct Outcome {
    /// The input items kept, each as `emit::list_item` writes it in the answer's `items`:
    /// text costs its bytes, where a parsed value costs several times them.
    items: Vec<String>,
    pub problems: Vec<Diagnostic>,
    /// The catalog and zone whose objects are appended to the items, rendered only as they
    /// are written (`write`) or collected (`into_value`).
    generated: Option<Generated>,
}

impl Outcome {
    pub fn failed(&self) -> bool {
        self.problems.iter().any(Diagnostic::is_error)
    }

    /// The whole ResourceList as one value, generated objects included (the kept items are
    /// read back from their text).
    pub fn into_value(self) -> Value {
        let mut items = match yaml::parse_with(
            &Source::from_text("<items>", self.items.concat()),
            Numbers::Go,
        ) {
            Ok(doc) => match doc.value {
                Value::Array(items) => items,
                _ => Vec::new(),
            },
            Err(_) => Vec::new(),
        };
        if let Some((checked, zone, flux)) = generation(&self.generated) {
            let _ = each_generated(checked, zone, flux, |p| {
                items.push(p.value());
                Ok::<(), std::convert::Infallible>(())
            });
        }
        let mut list = Map::new();
        list.insert("apiVersion".into(), API_VERSION.into());
        list.insert("kind".into(), "ResourceList".into());
        list.insert("items".into(), Value::Array(items));
        if !self.problems.is_empty() {
            list.insert("results".into(), self.problems.iter().map(result).collect());
        }
        Value::Object(list)
    }

    /// The ResourceList as YAML text, exactly as `emit::document(&self.into_value())` writes
    /// it, handed to `sink` in pieces: an item at a time, and the generated objects rendered
    /// a client at a time, so neither the input nor a zone of thousands of clients is ever
    /// copied whole.
    pub fn write<E>(&self, mut sink: impl FnMut(&str) -> Result<(), E>) -> Result<(), E> {
        // Keys in emit's (sorted) order: apiVersion, items, kind, results.
        let mut head = String::new();
        emit::document(&mut head, &json!({"apiVersion": API_VERSION}));
        // `items:` waits for its first entry: with none, emit writes `items: []`.
        let mut pending = Some(head);
        let mut entry = |text: &str, sink: &mut dyn FnMut(&str) -> Result<(), E>| {
            if let Some(mut head) = pending.take() {
                head.push_str("items:\n");
                sink(&head)?;
            }
            sink(text)
        };
        for item in &self.items {
            entry(item, &mut sink)?;
        }
        if let Some((checked, zone, flux)) = generation(&self.generated) {
            each_generated_text(
                checked,
                zone,
                flux,
                |p, text| p.object.emit_item(text, 2),
                |text| {
                    if text.is_empty() {
                        Ok(())
                    } else {
                        entry(text, &mut sink)
                    }
                },
            )?;
        }
        let mut rest = Map::new();
        rest.insert("kind".into(), "ResourceList".into());
        if !self.problems.is_empty() {
            rest.insert("results".into(), self.problems.iter().map(result).collect());
        }
        let mut tail = String::new();
        if let Some(head) = pending {
            tail.push_str(&head);
            tail.push_str("items: []\n");
        }
        emit::document(&mut tail, &Value::Object(rest));
        sink(&tail)
    }
}

/// The catalog and zone whose objects follow an outcome's kept items, if any.
fn generation(generated: &Option<Generated>) -> Option<(&Checked, &Zone, bool)> {
    let g = generated.as_ref()?;
    Some((&g.checked, zone_of(&g.checked, &g.zone).ok()?, g.flux))
}

const API_VERSION: &str = "config.kubernetes.io/v1";

fn annotation<'a>(config: &'a Value, key: &str) -> Option<&'a str> {
    config
        .get("metadata")?
        .get("annotations")?
        .get(key)?
        .as_str()
}

/// The answer to input of more than `MAX_INPUT_BYTES`: refused whole, nothing kept. `bytes`
/// is how much was read, `complete` whether that was all of it.
pub fn too_large(bytes: u64, complete: bool) -> Outcome {
    let size = if complete {
        format!("{bytes} bytes")
    } else {
        format!("more than {bytes} bytes")
    };
    let d = Diagnostic::error(
        "krm-too-large",
        format!(
            "the ResourceList on stdin is {size}, over the {MAX_INPUT_BYTES}-byte ({} MiB) cap; nothing was processed",
            MAX_INPUT_BYTES >> 20
        ),
    )
    .at("<stdin>", None)
    .hint("split the package or the kustomization so that each function call gets less than the cap");
    outcome(Vec::new(), vec![d])
}

/// Runs the function over a ResourceList's text.
pub fn process(input: &str) -> Outcome {
    process_owned(input.to_owned())
}

/// `process`, taking the text so that it is freed as soon as it is parsed.
pub fn process_owned(input: String) -> Outcome {
    process_with(input, &Settings::default())
}

/// Parses the ResourceList, keeping each item's text in `items` (with whether tenantgen made
/// it) and a problem in `odd` for each item that cannot be passed through.
fn parse_items(
    source: &Source,
    items: &mut Vec<(String, bool)>,
    odd: &mut Vec<Diagnostic>,
    buf: &mut String,
) -> Result<yaml::ResourceList, Vec<Diagnostic>> {
    yaml::parse_resource_list(source, |item, at| {
        let field = format!("items[{}]", items.len() + odd.len());
        if !item.is_object() {
            odd.push(not_an_object(&field, &item, at));
            return;
        }
        if let Some(chars) = longest_unwritable_key(&item) {
            odd.push(
                Diagnostic::error(
                    "krm-long-key",
                    format!("`{field}` has a key of {chars} characters as written, more than the {MAX_KEY_CHARS} YAML allows a key on one line"),
                )
                .at("<stdin>", Some(at))
                .field(field)
                .hint("shorten the key: Kubernetes keys are at most 317 characters"),
            );
            return;
        }
        let ours = generated_by_us(&item);
        buf.clear();
        emit::list_item(buf, &item, 2);
        items.push((buf.as_str().to_owned(), ours));
    })
}

/// `process_owned` with the caller's settings.
pub fn process_with(input: String, settings: &Settings) -> Outcome {
    let source = Source::from_text("<stdin>", input);
    let mut items = Vec::new();
    let mut odd = Vec::new();
    let mut buf = String::new();
    // Items are Kubernetes objects and keep Go's number rules; the catalog keeps its own.
    // The catalog schema compiles on another core meanwhile: it is a fifth of the work of a
    // 1,000-client config, and the parse does not need it.
    let parsed = std::thread::scope(|s| {
        s.spawn(crate::schema::prepare);
        parse_items(&source, &mut items, &mut odd, &mut buf)
    });
    drop(source);
    let list = match parsed {
        Ok(list) => list,
        Err(problems) => return outcome(Vec::new(), problems),
    };
    let top = &list.top;
    if top.value.get("kind").and_then(Value::as_str) != Some("ResourceList") {
        let d = Diagnostic::error("krm-input", "stdin is not a ResourceList").hint("tenantgen krm reads a config.kubernetes.io/v1 ResourceList, as kustomize and kpt send it");
        return outcome(Vec::new(), vec![d.at("<stdin>", None)]);
    }
    if let Some(value) = top.value.get("items").filter(|v| !v.is_null()) {
        let mut d = not_an_object(
            "items",
            value,
            top.map.locate_value("/items").unwrap_or_default(),
        );
        d.message = format!("`items` is {}, not a list of objects", kind_of(value));
        return outcome(Vec::new(), vec![d]);
    }
    let all = |items: Vec<(String, bool)>| items.into_iter().map(|(text, _)| text).collect();
    if !odd.is_empty() {
        return outcome(all(items), odd);
    }
    let Some(config) = list.config.filter(|c| c.value.is_object()) else {
        let d = Diagnostic::error("krm-config", "the ResourceList has no functionConfig").hint("pass the ClientCatalog as the function's config (`--fn-config` for kpt, the annotated file for kustomize)");
        return outcome(all(items), vec![d.at("<stdin>", None)]);
    };
    let name = PATH_ANNOTATIONS
        .iter()
        .find_map(|k| annotation(&config.value, k))
        .unwrap_or("functionConfig")
        .to_owned();
    let Some(zone) = annotation(&config.value, ZONE_ANNOTATION)
        .map(str::to_owned)
        .or_else(|| settings.zone.clone())
    else {
        let d = Diagnostic::error("krm-zone", format!("the ClientCatalog has no `{ZONE_ANNOTATION}` annotation"))
            .field("metadata.annotations")
            .hint(format!("add `{ZONE_ANNOTATION}: <zone>` to the config's metadata.annotations, or run `tenantgen krm --zone <zone>`, to choose the zone to generate"));
        return outcome(all(items), vec![d.at(&name, None)]);
    };
    let flux = wants_flux(&config.value);
    let checked = match check_config(&name, config) {
        Ok(c) => c,
        Err(problems) => return outcome(all(items), problems),
    };
    if let Err(d) = zone_of(&checked, &zone) {
        return outcome(all(items), vec![*d]);
    }
    // What an earlier run generated is replaced, not duplicated: kpt feeds a pipeline's
    // output back in, and a removed client must disappear.
    let kept = items
        .into_iter()
        .filter(|(_, ours)| !ours)
        .map(|(text, _)| text)
        .collect();
    let mut answer = outcome(kept, checked.warnings.clone());
    answer.generated = Some(Generated {
        checked: Box::new(checked),
        zone,
        flux,
    });
    answer
}

/// An entry of the input that is not a Kubernetes object, which kustomize and kpt would
/// never send: refused, since dropping it would lose it silently.
fn not_an_object(field: &str, value: &Value, at: Pos) -> Diagnostic {
    Diagnostic::error(
        "krm-items",
        format!("`{field}` is {}, not a Kubernetes object", kind_of(value)),
    )
    .at("<stdin>", Some(at))
    .field(field)
    .hint("every entry of `items` is a mapping with apiVersion, kind and metadata; check the step that produced the ResourceList")
}

/// The longest a mapping key may be, written as emit writes it, for YAML readers (this
/// crate's included) to take it as a key: input may hold longer ones in the explicit `? key`
/// form, which emit does not write.
const MAX_KEY_CHARS: usize = 1024;

/// The written length of the longest key in `value` over `MAX_KEY_CHARS`, if any.
fn longest_unwritable_key(value: &Value) -> Option<usize> {
    let mut longest = None;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (key, child) in map {
                    // Quoting at most sextuples a character (`\u0001`), plus the two quotes.
                    if key.chars().count() * 6 + 2 > MAX_KEY_CHARS {
                        let mut text = String::new();
                        emit::document(&mut text, &json!({ key: null }));
                        let written = text.strip_suffix(": null\n").unwrap_or(&text);
                        let chars = written.chars().count();
                        if chars > MAX_KEY_CHARS && longest.is_none_or(|l| chars > l) {
                            longest = Some(chars);
                        }
                    }
                    stack.push(child);
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    longest
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn generated_by_us(item: &Value) -> bool {
    item.pointer("/metadata/labels/app.kubernetes.io~1managed-by")
        .and_then(Value::as_str)
        == Some("tenantgen")
}

/// The catalog from the function config. Only when checking finds problems, and only when
/// the config's path annotation names a regular file no larger than the config itself
/// (twice its text, plus `PATH_SLACK`) and with the same content, is that file checked, so
/// that problems carry its real lines; otherwise positions are dropped (they would be the
/// stream's). The annotation is only a hint from the input: a FIFO or a device there is
/// never opened, and a large file named by it is never read.
fn check_config(name: &str, config: Document) -> Result<Checked, Vec<Diagnostic>> {
    let span = config
        .map
        .get("")
        .map_or(0, |n| n.end.saturating_sub(n.start)) as u64;
    let bound = span.saturating_mul(2).saturating_add(PATH_SLACK);
    let plausible = std::fs::metadata(name).is_ok_and(|m| m.is_file() && m.len() <= bound);
    let mine = plausible.then(|| Document {
        value: config.value.clone(),
        map: config.map.subtree(""),
    });
    let stream = check::check_document(Source::from_text(name, ""), config);
    let clean = stream.as_ref().is_ok_and(|c| c.warnings.is_empty());
    if !clean
        && let Some(mut mine) = mine
        && let Some(file) = read_bounded(name, bound)
        && let Ok(mut doc) = yaml::parse(&file)
    {
        let without_meta = |v: &Value| {
            let mut v = v.clone();
            if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("annotations");
            }
            v
        };
        crate::schema::coerce(&mut doc);
        crate::schema::coerce(&mut mine);
        if without_meta(&doc.value) == without_meta(&mine.value) {
            return check::check_document(file, doc);
        }
    }
    let unplace = |problems: &mut Vec<Diagnostic>| {
        for p in problems {
            p.pos = None;
        }
    };
    match stream {
        Ok(mut checked) => {
            unplace(&mut checked.warnings);
            Ok(checked)
        }
        Err(mut problems) => {
            unplace(&mut problems);
            Err(problems)
        }
    }
}

/// What a config's file may exceed its text in the stream by (comments, a license header).
const PATH_SLACK: u64 = 64 * 1024;

/// The file at `name` if it is a regular file of at most `bound` bytes. Opened without
/// blocking, so a FIFO swapped in after the check above cannot hang the function.
fn read_bounded(name: &str, bound: u64) -> Option<Source> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(name)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(bound + 1).read_to_end(&mut bytes).ok()?;
    if bytes.len() as u64 > bound {
        return None;
    }
    Source::from_bytes(name.to_owned(), Path::new(name).to_path_buf(), bytes).ok()
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

/// Whether the config opts in to Flux's own objects.
pub fn wants_flux(config: &Value) -> bool {
    annotation(config, FLUX_ANNOTATION) == Some("true")
}

/// Flux's own kinds: they orchestrate the standalone tree and mean nothing to a cluster that
/// applies the objects directly (their paths point into `./clusters`).
pub fn is_flux_object(p: &Placed) -> bool {
    p.group().ends_with(".toolkit.fluxcd.io")
}

/// The objects of one zone, exactly as the standalone tree holds them (with `flux`), or the
/// same without Flux's own objects, handed to `sink` one at a time.
pub fn each_generated<E>(
    checked: &Checked,
    z: &Zone,
    flux: bool,
    mut sink: impl FnMut(Placed) -> Result<(), E>,
) -> Result<(), E> {
    let options = Options::default();
    render::each_object(
        &checked.model,
        z,
        &options,
        |_| true,
        |p| {
            if flux || !is_flux_object(&p) {
                sink(p)
            } else {
                Ok(())
            }
        },
    )
}

/// The objects of `each_generated`, each written by `write`, handed to `sink` as texts of
/// one or more objects (the clients' are written on every core).
pub fn each_generated_text<E>(
    checked: &Checked,
    z: &Zone,
    flux: bool,
    write: impl Fn(&Placed, &mut String) + Sync,
    sink: impl FnMut(&str) -> Result<(), E>,
) -> Result<(), E> {
    render::each_text(
        &checked.model,
        z,
        &Options::default(),
        |p| flux || !is_flux_object(p),
        write,
        sink,
    )
}

fn outcome(items: Vec<String>, problems: Vec<Diagnostic>) -> Outcome {
    Outcome {
        items,
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
