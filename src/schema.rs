//! schema: the JSON Schema generated from the wire types, and validation of a parsed document
//! against it, with every error mapped back to the line and column it came from.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use crate::catalog::Catalog;
use crate::diagnostics::Diagnostic;
use crate::source::Source;
use crate::yaml::{Document, SourceMap, escape_segment, field_name};

/// The schema as published in `schema/clients.schema.json`, ending in a newline.
pub fn generate() -> String {
    let mut text = serde_json::to_string_pretty(schema_value()).unwrap_or_default();
    text.push('\n');
    text
}

fn schema_value() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut schema = schemars::schema_for!(Catalog).to_value();
        if let Some(obj) = schema.as_object_mut() {
            obj.insert(
                "$id".into(),
                Value::String("https://tenantgen.io/schema/v1alpha1/clients.schema.json".into()),
            );
        }
        schema
    })
}

fn validator() -> Option<&'static jsonschema::Validator> {
    static VALIDATOR: OnceLock<Option<jsonschema::Validator>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| jsonschema::validator_for(schema_value()).ok())
        .as_ref()
}

/// Turns numbers and booleans written as plain scalars back into the user's text wherever the
/// schema expects a string (`kubernetesVersion: 1.34`, `config: {DEBUG: true}`), so a
/// version `1.10` stays `1.10` and never becomes `1.1`.
pub fn coerce(doc: &mut Document) {
    coerce_and_find_floats(doc);
}

/// `coerce`, returning in the same walk the pointers of numbers written with a fraction or
/// an exponent (`8080.0`, `1e3`) where the schema wants a whole number. JSON Schema counts
/// `8080.0` as an integer, so the schema passes them, but the catalog's integer fields
/// cannot hold them.
fn coerce_and_find_floats(doc: &mut Document) -> Vec<String> {
    let mut floats = Vec::new();
    match doc.map.plain_scalars() {
        // Only these scalars can change or be floats: going to each is cheaper than
        // walking a tree of millions of strings.
        Some(scalars) => {
            for (pointer, text) in scalars {
                coerce_at(&mut doc.value, pointer, text, shapes(), &mut floats);
            }
            // The table is a hash map; its order must not show.
            floats.sort_unstable();
        }
        None => coerce_node(
            &mut doc.value,
            shapes(),
            0,
            &mut String::new(),
            &doc.map,
            &mut floats,
        ),
    }
    floats
}

/// `coerce_node` for the one scalar at `pointer`, written as `text`.
fn coerce_at(
    root: &mut Value,
    pointer: &str,
    text: &str,
    shapes: &Shapes,
    floats: &mut Vec<String>,
) {
    let mut value = root;
    let mut shape = 0;
    for raw in pointer.split('/').skip(1) {
        let (next, sub) = match value {
            Value::Object(object) => {
                let key = if raw.contains('~') {
                    std::borrow::Cow::Owned(raw.replace("~1", "/").replace("~0", "~"))
                } else {
                    std::borrow::Cow::Borrowed(raw)
                };
                let Some(sub) = shapes.child(shape, Some(&key)) else {
                    return;
                };
                (object.get_mut(key.as_ref()), sub)
            }
            Value::Array(items) => {
                let Some(sub) = shapes.child(shape, None) else {
                    return;
                };
                (
                    raw.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
                    sub,
                )
            }
            _ => return,
        };
        let Some(next) = next else {
            return;
        };
        value = next;
        shape = sub;
    }
    coerce_scalar(value, &shapes.all[shape], Some(text), pointer, floats);
}

/// Turns a number or boolean back into the `plain` text it was written as where the
/// shape wants a string, or notes it in `floats` when it has a fraction and must be whole.
fn coerce_scalar(
    value: &mut Value,
    s: &Shape,
    plain: Option<&str>,
    pointer: &str,
    floats: &mut Vec<String>,
) {
    if s.to_string(value)
        && let Some(text) = plain
    {
        *value = Value::String(text.to_owned());
    } else if let Value::Number(n) = value
        && !(n.is_i64() || n.is_u64())
        && s.whole_only
    {
        floats.push(pointer.to_owned());
    }
}

fn coerce_node(
    value: &mut Value,
    shapes: &Shapes,
    shape: usize,
    pointer: &mut String,
    map: &SourceMap,
    floats: &mut Vec<String>,
) {
    match value {
        Value::Number(_) | Value::Bool(_) => {
            coerce_scalar(
                value,
                &shapes.all[shape],
                map.plain(pointer),
                pointer,
                floats,
            );
        }
        Value::Object(object) => {
            for (key, child) in object.iter_mut() {
                let Some(sub) = shapes.child(shape, Some(key)) else {
                    continue;
                };
                let len = pointer.len();
                push_segment(pointer, key);
                coerce_node(child, shapes, sub, pointer, map, floats);
                pointer.truncate(len);
            }
        }
        Value::Array(items) => {
            let Some(sub) = shapes.child(shape, None) else {
                return;
            };
            for (i, child) in items.iter_mut().enumerate() {
                let len = pointer.len();
                push_index(pointer, i);
                coerce_node(child, shapes, sub, pointer, map, floats);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

/// Appends `/segment`, escaped, to a JSON pointer.
fn push_segment(pointer: &mut String, segment: &str) {
    pointer.push('/');
    if segment.contains(['~', '/']) {
        pointer.push_str(&escape_segment(segment));
    } else {
        pointer.push_str(segment);
    }
}

/// Appends `/i` to a JSON pointer.
fn push_index(pointer: &mut String, i: usize) {
    use std::fmt::Write as _;
    let _ = write!(pointer, "/{i}");
}

/// The schema as the coercion and whole-number walks ask it, one node per subschema with
/// `$ref`s followed and the type questions answered once: walking a catalog of 100,000
/// clients asks them millions of times, and answering from the JSON tree each time (a
/// `$ref` is a pointer lookup, a type a search through `anyOf`) cost more than parsing.
struct Shapes {
    /// The root schema is `all[0]`.
    all: Vec<Shape>,
}

#[derive(Default)]
struct Shape {
    /// Whether a boolean, a whole number, or a number with a fraction written here is the
    /// user's text for a string: the schema accepts a string and not that type.
    string_for_bool: bool,
    string_for_integer: bool,
    string_for_number: bool,
    /// Whether a number with a fraction here must be whole: an integer is accepted and a
    /// number is not.
    whole_only: bool,
    properties: std::collections::BTreeMap<String, usize>,
    /// `additionalProperties` when it is a schema.
    additional: Option<usize>,
    items: Option<usize>,
    /// `anyOf` then `oneOf` branches, searched for children the node itself does not name.
    branches: Vec<usize>,
}

impl Shape {
    fn to_string(&self, value: &Value) -> bool {
        match json_type(value) {
            "boolean" => self.string_for_bool,
            "integer" => self.string_for_integer,
            "number" => self.string_for_number,
            _ => false,
        }
    }
}

impl Shapes {
    /// The shape of a property (`key`) or of the items (`None`), looking through
    /// `anyOf`/`oneOf` when the node itself does not name it.
    fn child(&self, shape: usize, key: Option<&str>) -> Option<usize> {
        let s = &self.all[shape];
        let direct = match key {
            Some(k) => s.properties.get(k).copied().or(s.additional),
            None => s.items,
        };
        direct.or_else(|| s.branches.iter().find_map(|&b| self.child(b, key)))
    }

    fn compile(
        &mut self,
        schema: &'static Value,
        root: &'static Value,
        seen: &mut std::collections::HashMap<*const Value, usize>,
    ) -> usize {
        let schema = resolve(schema, root);
        if let Some(&id) = seen.get(&std::ptr::from_ref(schema)) {
            return id;
        }
        let id = self.all.len();
        seen.insert(std::ptr::from_ref(schema), id);
        let string = accepts(schema, root, "string");
        self.all.push(Shape {
            string_for_bool: string && !accepts(schema, root, "boolean"),
            string_for_integer: string && !accepts(schema, root, "integer"),
            string_for_number: string && !accepts(schema, root, "number"),
            whole_only: accepts(schema, root, "integer") && !accepts_type(schema, root, "number"),
            ..Shape::default()
        });
        let mut properties = std::collections::BTreeMap::new();
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, sub) in props {
                properties.insert(k.clone(), self.compile(sub, root, seen));
            }
        }
        let additional = schema
            .get("additionalProperties")
            .filter(|a| a.is_object())
            .map(|a| self.compile(a, root, seen));
        let items = schema.get("items").map(|i| self.compile(i, root, seen));
        let branches = ["anyOf", "oneOf"]
            .iter()
            .filter_map(|kw| schema.get(*kw).and_then(Value::as_array))
            .flatten()
            .map(|b| self.compile(b, root, seen))
            .collect();
        let s = &mut self.all[id];
        s.properties = properties;
        s.additional = additional;
        s.items = items;
        s.branches = branches;
        id
    }
}

fn shapes() -> &'static Shapes {
    static SHAPES: OnceLock<Shapes> = OnceLock::new();
    SHAPES.get_or_init(|| {
        let root = schema_value();
        let mut shapes = Shapes { all: Vec::new() };
        shapes.compile(root, root, &mut std::collections::HashMap::new());
        shapes
    })
}

fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    let mut current = schema;
    for _ in 0..16 {
        match current
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(path) => match root.pointer(path) {
                Some(target) => current = target,
                None => break,
            },
            None => break,
        }
    }
    current
}

fn accepts(schema: &Value, root: &Value, ty: &str) -> bool {
    let schema = resolve(schema, root);
    let by_type = match schema.get("type") {
        Some(Value::String(t)) => t == ty || (ty == "integer" && t == "number"),
        Some(Value::Array(ts)) => ts.iter().any(|t| t == ty),
        _ => false,
    };
    let by_enum = schema
        .get("enum")
        .and_then(Value::as_array)
        .is_some_and(|vs| vs.iter().any(|v| json_type(v) == ty))
        || schema.get("const").is_some_and(|v| json_type(v) == ty);
    by_type
        || by_enum
        || ["anyOf", "oneOf"]
            .iter()
            .filter_map(|kw| schema.get(*kw).and_then(Value::as_array))
            .flatten()
            .any(|b| accepts(b, root, ty))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Compiles the schema ahead of its first use (on another thread while a catalog parses).
pub fn prepare() {
    let _ = (validator(), shapes());
}

/// The whole numbers written with a fraction or an exponent found by `coerce`, for `validate`.
pub struct Floats(Vec<String>);

/// `coerce`, keeping what `validate` reports about whole numbers.
pub fn coerce_for_validation(doc: &mut Document) -> Floats {
    Floats(coerce_and_find_floats(doc))
}

/// Every schema violation in a coerced document (`coerce_for_validation`), positioned and
/// explained, with the JSON pointer of the value it is about.
pub fn validate(
    doc: &Document,
    source: &Source,
    Floats(floats): Floats,
) -> Vec<(String, Diagnostic)> {
    let Some(validator) = validator() else {
        let d = Diagnostic::error(
            "internal",
            "the built-in JSON Schema does not compile; this is a tenantgen bug",
        );
        return vec![(String::new(), d)];
    };
    let mut out = Vec::new();
    // Most catalogs are valid, and asking only whether one is skips building the context
    // every error would carry.
    if !validator.is_valid(&doc.value) {
        for error in validator.iter_errors(&doc.value) {
            translate(&error, doc, source, &mut out);
        }
    }
    if !floats.is_empty() {
        let reported: std::collections::BTreeSet<String> =
            out.iter().map(|(p, _)| p.clone()).collect();
        for pointer in floats.into_iter().filter(|p| !reported.contains(p)) {
            let d = float_for_integer(doc, source, &pointer);
            out.push((pointer, d));
        }
    }
    out
}

/// Whether the schema names `ty` itself (not through `integer` counting as a `number`).
fn accepts_type(schema: &Value, root: &Value, ty: &str) -> bool {
    let schema = resolve(schema, root);
    let direct = match schema.get("type") {
        Some(Value::String(t)) => t == ty,
        Some(Value::Array(ts)) => ts.iter().any(|t| t == ty),
        _ => false,
    };
    direct
        || ["anyOf", "oneOf"]
            .iter()
            .filter_map(|kw| schema.get(*kw).and_then(Value::as_array))
            .flatten()
            .any(|b| accepts_type(b, root, ty))
}

fn float_for_integer(doc: &Document, source: &Source, pointer: &str) -> Diagnostic {
    let written = doc
        .map
        .plain(pointer)
        .map(str::to_owned)
        .or_else(|| doc.value.pointer(pointer).map(ToString::to_string))
        .unwrap_or_default();
    let whole = doc
        .value
        .pointer(pointer)
        .and_then(Value::as_f64)
        .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
        .map(|f| format!("{f:.0}"));
    let field = last_field(pointer);
    let key = if field.is_empty() {
        "the value".to_owned()
    } else {
        format!("`{field}:`")
    };
    let hint = match whole {
        Some(w) => format!("write {key} as a whole number without a fraction or exponent: `{w}`"),
        None => format!("write {key} as a whole number without a fraction or exponent"),
    };
    Diagnostic::error(
        "wrong-type",
        format!("expected a whole number, found `{written}`"),
    )
    .at(&source.name, doc.map.locate_value(pointer))
    .field(field_name(pointer))
    .hint(hint)
}

/// One validation error as diagnostics. A failed `anyOf`/`oneOf` that is not a list of
/// documented choices (an optional mapping is `anyOf: [{$ref}, {type: null}]`) is explained
/// by the errors inside the branch the value was meant for, so the user sees the field and
/// the reason instead of "a mapping is not valid here".
fn translate(
    error: &jsonschema::ValidationError<'_>,
    doc: &Document,
    source: &Source,
    out: &mut Vec<(String, Diagnostic)>,
) {
    let pointer = error.instance_path().as_str().to_owned();
    let schema_path = error.schema_path().as_str().to_owned();
    let instance = error.instance().clone().into_owned();
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let known = known_fields(&schema_path);
            for key in unexpected {
                let at = format!("{pointer}/{}", escape_segment(key));
                let hint = match closest(key, &known) {
                    Some(s) => format!(
                        "did you mean `{s}`? unknown fields are errors so that a typo is never ignored"
                    ),
                    None => format!("remove it; fields allowed here: {}", known.join(", ")),
                };
                let d = Diagnostic::error("unknown-field", format!("unknown field `{key}`"))
                    .at(&source.name, doc.map.locate(&at))
                    .field(field_name(&at))
                    .hint(hint);
                out.push((pointer.clone(), d));
            }
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let at = format!("{pointer}/{}", escape_segment(name));
            let d = Diagnostic::error("missing-field", format!("missing required field `{name}`"))
                .at(&source.name, doc.map.locate(&pointer))
                .field(field_name(&at))
                .hint(field_hint(&at).unwrap_or("add it; `tenantgen schema` lists every field"));
            out.push((pointer.clone(), d));
        }
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            let options = choices(&schema_path);
            if !options.is_empty() {
                out.push((
                    pointer.clone(),
                    not_one_of(&options, &instance, &pointer, doc, source),
                ));
            } else if let Some(branch) = intended_branch(context, &pointer) {
                for inner in branch {
                    translate(inner, doc, source, out);
                }
            } else {
                out.push((
                    pointer.clone(),
                    no_type_fits(context, &instance, &pointer, doc, source),
                ));
            }
        }
        kind => {
            let message = describe(kind, &instance, &pointer);
            let mut d = Diagnostic::error(code_of(kind), message)
                .at(&source.name, doc.map.locate_value(&pointer))
                .field(field_name(&pointer));
            if let ValidationErrorKind::Type { kind } = kind {
                d = d.hint(type_hint(&expected_types(kind), &pointer));
            } else if let Some(hint) = field_hint(&pointer) {
                d = d.hint(hint);
            } else if let ValidationErrorKind::Enum { options } = kind {
                d = d.hint(format!("use one of {}", list(options)));
            } else if let ValidationErrorKind::Maximum { limit } = kind {
                d = d.hint(format!("use a value of at most {limit}"));
            } else if let ValidationErrorKind::Minimum { limit } = kind {
                d = d.hint(format!("use a value of at least {limit}"));
            } else {
                d = d.hint(format!(
                    "see `{}` in the catalog reference (`tenantgen schema`)",
                    field_name(&pointer)
                ));
            }
            out.push((pointer, d));
        }
    }
}

/// The JSON types a `type` keyword allows, `null` left out (optional fields allow it, but
/// nobody means to write it).
fn expected_types(kind: &TypeKind) -> Vec<String> {
    let all = match kind {
        TypeKind::Single(t) => vec![t.to_string()],
        TypeKind::Multiple(ts) => ts.iter().map(|t| t.to_string()).collect(),
    };
    let some: Vec<String> = all.iter().filter(|t| *t != "null").cloned().collect();
    if some.is_empty() { all } else { some }
}

/// How to write a value of the expected type, in YAML terms.
fn type_hint(expected: &[String], pointer: &str) -> String {
    let field = last_field(pointer);
    let key = if field.is_empty() {
        "the value".to_owned()
    } else {
        format!("`{field}:`")
    };
    match expected.first().map(String::as_str) {
        Some("object") => format!(
            "write {key} followed by indented `key: value` lines; left empty it is null, so write `{{}}` for an empty mapping"
        ),
        Some("array") if field == "clients" => {
            "write `clients:` as a list of clients, each starting with `- name: ...`".to_owned()
        }
        Some("array") => {
            format!("write {key} followed by indented `- item` lines, or a flow list `[a, b]`")
        }
        Some("string") => format!("quote the value so YAML keeps it as text: {key} \"...\""),
        Some("integer") => format!("write {key} as a whole number without quotes"),
        Some("number") => format!("write {key} as a number without quotes"),
        Some("boolean") => format!("write {key} as `true` or `false`"),
        _ => "see the catalog reference (`tenantgen schema`)".to_owned(),
    }
}

/// A value outside a documented list of choices (a `oneOf`/`anyOf` of constants).
fn not_one_of(
    options: &[String],
    instance: &Value,
    pointer: &str,
    doc: &Document,
    source: &Source,
) -> Diagnostic {
    let listed = options
        .iter()
        .map(|o| format!("`{o}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Diagnostic::error(
        "not-allowed",
        format!("{} is not one of {listed}", show(instance)),
    )
    .at(&source.name, doc.map.locate_value(pointer))
    .field(field_name(pointer))
    .hint(field_hint(pointer).map_or_else(|| format!("use one of {listed}"), str::to_owned))
}

/// A value every branch of an `anyOf`/`oneOf` rejected for its type alone.
fn no_type_fits(
    context: &[Vec<jsonschema::ValidationError<'_>>],
    instance: &Value,
    pointer: &str,
    doc: &Document,
    source: &Source,
) -> Diagnostic {
    let mut expected: Vec<String> = Vec::new();
    for e in context.iter().flatten() {
        if let ValidationErrorKind::Type { kind } = e.kind() {
            for t in expected_types(kind) {
                if !expected.contains(&t) {
                    expected.push(t);
                }
            }
        }
    }
    if expected.len() > 1 {
        expected.retain(|t| t != "null");
    }
    Diagnostic::error("wrong-type", found(&expected.join(" or "), instance))
        .at(&source.name, doc.map.locate_value(pointer))
        .field(field_name(pointer))
        .hint(type_hint(&expected, pointer))
}

/// The errors of the branch a value failing `anyOf`/`oneOf` was meant for: branches that
/// reject it for its type alone (the `null` of an optional field) are not what the user
/// meant; of the others, the one with the fewest errors. `None` when every branch rejects
/// the type, which is then reported as a wrong type.
fn intended_branch<'a, 'e>(
    context: &'a [Vec<jsonschema::ValidationError<'e>>],
    pointer: &str,
) -> Option<&'a [jsonschema::ValidationError<'e>]> {
    let type_only = |branch: &Vec<jsonschema::ValidationError<'e>>| {
        branch.iter().all(|e| {
            matches!(e.kind(), ValidationErrorKind::Type { .. })
                && e.instance_path().as_str() == pointer
        })
    };
    context
        .iter()
        .filter(|branch| !branch.is_empty() && !type_only(branch))
        .min_by_key(|branch| branch.len())
        .map(Vec::as_slice)
}

fn code_of(kind: &ValidationErrorKind) -> &'static str {
    match kind {
        ValidationErrorKind::Type { .. } => "wrong-type",
        ValidationErrorKind::Pattern { .. } => "invalid-format",
        ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. } => "not-allowed",
        ValidationErrorKind::Minimum { .. }
        | ValidationErrorKind::Maximum { .. }
        | ValidationErrorKind::ExclusiveMinimum { .. }
        | ValidationErrorKind::ExclusiveMaximum { .. } => "out-of-range",
        ValidationErrorKind::MaxLength { .. } | ValidationErrorKind::MinLength { .. } => {
            "bad-length"
        }
        _ => "schema",
    }
}

fn describe(kind: &ValidationErrorKind, instance: &Value, pointer: &str) -> String {
    let shown = show(instance);
    match kind {
        ValidationErrorKind::Type { kind } => found(&expected_types(kind).join(" or "), instance),
        ValidationErrorKind::Pattern { .. } => format!("{shown} is not {}", what(pointer)),
        ValidationErrorKind::Enum { options } => format!("{shown} is not one of {}", list(options)),
        ValidationErrorKind::Constant { expected_value } => {
            format!("must be {}", show(expected_value))
        }
        ValidationErrorKind::Minimum { limit } => {
            format!("{shown} is below the minimum of {limit}")
        }
        ValidationErrorKind::Maximum { limit } => {
            format!("{shown} is above the maximum of {limit}")
        }
        ValidationErrorKind::MaxLength { limit } => {
            format!("{shown} is longer than {limit} characters")
        }
        ValidationErrorKind::MinLength { limit } => {
            format!("{shown} is shorter than {limit} characters")
        }
        _ => format!("{shown} is not valid here"),
    }
}

/// "expected a mapping, found string `x`".
fn found(expected: &str, instance: &Value) -> String {
    let shown = show(instance);
    match instance {
        Value::Array(_) | Value::Object(_) => {
            format!("expected {}, found {shown}", article(&yaml_word(expected)))
        }
        _ => format!(
            "expected {}, found {} {shown}",
            article(&yaml_word(expected)),
            yaml_word(json_type(instance))
        ),
    }
}

/// JSON Schema's type names in the words of YAML users.
fn yaml_word(json: &str) -> String {
    json.replace("array", "list")
        .replace("object", "mapping")
        .replace("integer", "whole number")
}

fn article(noun: &str) -> String {
    match noun.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {noun}"),
        _ => format!("a {noun}"),
    }
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) => format!("`{s}`"),
        Value::Object(_) => "a mapping".into(),
        Value::Array(_) => "a list".into(),
        other => format!("`{other}`"),
    }
}

fn list(options: &Value) -> String {
    options
        .as_array()
        .map(|vs| vs.iter().map(show).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

/// The last named segment of a pointer: the field a rule is about.
fn last_field(pointer: &str) -> &str {
    pointer
        .rsplit('/')
        .find(|s| !s.is_empty() && !s.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("")
}

fn parent_field(pointer: &str) -> &str {
    pointer
        .rsplit('/')
        .filter(|s| !s.is_empty() && !s.bytes().all(|b| b.is_ascii_digit()))
        .nth(1)
        .unwrap_or("")
}

/// What a pattern-checked field must be, for messages.
fn what(pointer: &str) -> &'static str {
    let parent = parent_field(pointer);
    match last_field(pointer) {
        _ if parent == "versions" => "a valid version (a tag or a sha256 digest)",
        "name" | "ingressNamespace" | "ingressClass" | "certResolver" | "storageClass" => {
            "a valid DNS-1123 label"
        }
        "domain" => "a DNS name",
        "hosts" => "a DNS host name",
        "image" if parent == "landingPage" => "an image reference with a tag or digest",
        "image" => "an image repository without tag or digest",
        "cidr" | "nodeCidrs" | "ipAllowList" => "a CIDR network",
        "path" => "an absolute URL path",
        "mountPath" => "an absolute path",
        "vaultPath" => "a Vault path",
        "vaultPathPrefix" => "a Vault path prefix ending in `/`",
        "interval" => "a duration",
        "kubernetesVersion" => "a Kubernetes minor version",
        "url" | "forwardAuthAddress" => "a URL",
        "requestsCpu" | "requestsMemory" | "limitsCpu" | "limitsMemory" => "a Kubernetes quantity",
        _ => "in the expected format",
    }
}

/// How to fix a field, for hints.
pub fn field_hint(pointer: &str) -> Option<&'static str> {
    let parent = parent_field(pointer);
    Some(match last_field(pointer) {
        _ if parent == "versions" => {
            "use a tag (`1.2.3`), a tag with digest (`1.2.3@sha256:<64 hex>`) or a digest (`sha256:<64 hex>`)"
        }
        "name" | "ingressNamespace" | "ingressClass" | "certResolver" | "storageClass" => {
            "use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit"
        }
        "domain" => "use a DNS name such as `hosting.example.com`",
        "hosts" => "use DNS names such as `www.example.com`, optionally a leading `*.`",
        "image" if parent == "landingPage" => {
            "use `registry/repository:tag`, optionally with `@sha256:<digest>`"
        }
        "image" => {
            "give the repository only, e.g. `registry.example.com/acme/web`; versions go in `versions`"
        }
        "cidr" | "nodeCidrs" | "ipAllowList" => "write a network such as `10.20.0.0/16`",
        "path" => "start the path with `/`, e.g. `/health`",
        "mountPath" => "use an absolute directory such as `/var/run/secrets/db`",
        "vaultPath" => "use a path such as `secret/data/acme-corp/db`",
        "vaultPathPrefix" => {
            "use a prefix ending in `/` with `{client}` for the client's name, such as `secret/data/{client}/`"
        }
        "interval" => "use a duration such as `1m` or `30s`",
        "kubernetesVersion" => "quote the version so YAML keeps it as text: `\"1.34\"`",
        "url" => "use an `https://` or `ssh://` clone URL",
        "forwardAuthAddress" => "use the http(s) URL of the OAuth proxy's auth endpoint",
        "port" | "ports" => "use a port number from 1 to 65535",
        "replicas" | "min" | "max" => "use a whole number",
        "hosting" => "use `shared` or `dedicated`",
        "size" => "shared: `small`, `medium` or `large`; dedicated: `large` or `xlarge`",
        "apiVersion" => "use `apiVersion: tenantgen.io/v1alpha1`",
        "kind" => "use `kind: ClientCatalog`",
        "runAsUser" => "use a non-root uid (1 or more); the platform images use 101",
        "distribution" => "use `k3s`, `managed` or `generic`",
        "ingress" => "use `edge-proxy`, `host-network` or `load-balancer`",
        "protocol" => "use `TCP` or `UDP`",
        "middlewares" => {
            "use the platform middlewares: security-headers, rate-limit, ip-allowlist, basic-auth, forward-auth"
        }
        "clients" => "write `clients:` as a list of clients, each starting with `- name: ...`",
        _ => return None,
    })
}

/// Follows a schema location that may pass through `$ref`s.
fn schema_at(path: &str) -> Option<&'static Value> {
    let root = schema_value();
    let mut current = root;
    for raw in path.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        current = resolve(current, root);
        current = match current {
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            other => other.get(segment.as_str())?,
        };
    }
    Some(resolve(current, root))
}

/// The constant values a oneOf/anyOf location allows (documented enums), if it is one.
fn choices(schema_path: &str) -> Vec<String> {
    let parent = schema_path
        .strip_suffix("/oneOf")
        .or_else(|| schema_path.strip_suffix("/anyOf"))
        .unwrap_or(schema_path);
    let mut out = Vec::new();
    if let Some(schema) = schema_at(parent) {
        collect_consts(schema, &mut out);
    }
    out
}

fn collect_consts(schema: &Value, out: &mut Vec<String>) {
    let schema = resolve(schema, schema_value());
    if let Some(c) = schema.get("const").and_then(Value::as_str) {
        out.push(c.to_owned());
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        out.extend(values.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    for kw in ["oneOf", "anyOf"] {
        for branch in schema
            .get(kw)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            collect_consts(branch, out);
        }
    }
}

/// Property names allowed where an additionalProperties error was raised.
fn known_fields(schema_path: &str) -> Vec<String> {
    let parent = schema_path
        .strip_suffix("/additionalProperties")
        .unwrap_or(schema_path);
    schema_at(parent)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|props| props.keys().cloned().collect())
        .unwrap_or_default()
}

fn closest<'a>(key: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| {
            (
                crate::suggest::edit_distance(&key.to_lowercase(), &k.to_lowercase()),
                k,
            )
        })
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
        .map(|(_, k)| k.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_compiles_and_forbids_unknown_fields() {
        assert!(validator().is_some());
        let text = generate();
        assert!(text.contains("\"additionalProperties\": false"));
    }

    #[test]
    fn suggestions_find_near_misses() {
        let known = vec!["image".to_string(), "hosts".to_string()];
        assert_eq!(closest("imagee", &known), Some("image"));
        assert_eq!(closest("zzzzzz", &known), None);
    }
}
