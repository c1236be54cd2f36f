//! yaml: the one place that calls the YAML crate. It parses exactly one document into a JSON
//! tree plus a source map (JSON pointer -> position), under fixed budgets against hostile input.
//!
//! Scalars resolve by the YAML 1.2 core schema, never YAML 1.1: `on`, `NO` and `yes` stay
//! strings, and a number with a leading zero (`0755`) stays a string. Numbers and booleans that
//! land in string fields are turned back into the text the user wrote by `schema::coerce`,
//! using the original text kept here.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Number, Value};
use serde_saphyr::granit_parser::{
    Event, Marker, ParseResult, Parser, ScalarStyle, ScanError, Span, StrInput, Tag, options,
};

use crate::diagnostics::{Diagnostic, Pos};
use crate::source::Source;

/// Deeper than any real catalog; bounds recursion and the parser's own stacks.
pub const MAX_DEPTH: usize = 64;
/// Nodes that aliases may add in total; a "billion laughs" file stops here, not in the allocator.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// A parsed document: the tree, and where each node came from.
#[derive(Debug)]
pub struct Document {
    pub value: Value,
    pub map: SourceMap,
}

/// Where a node was written.
#[derive(Debug, Clone)]
pub struct Node {
    /// The position of the mapping key that introduced the node, if any.
    pub key: Option<Pos>,
    pub value: Pos,
    /// Byte range of the value's text (for in-place edits).
    pub start: usize,
    pub end: usize,
    /// The text of a plain scalar that resolved to a number, boolean or null.
    pub plain: Option<String>,
}

/// JSON pointer (RFC 6901) -> node position. Only looked up, never listed, so a hash map:
/// a catalog of 100,000 clients has millions of nodes whose pointers share long prefixes,
/// which an ordered map would compare over and over. The map holds more than the parsed
/// value itself, so each entry is kept small: the pointer without spare capacity, the
/// positions in 32 bits (inputs are capped at 64 MiB), `Node`s made on lookup.
///
/// A catalog is parsed without its full map: positions are only asked for when there is a
/// problem to show (or a file to edit), and recording every node's cost a third of
/// `validate`. Such a map holds the nodes at most `SHALLOW` segments deep (a client's own
/// position, for links), the text of every plain scalar that is not a string (for
/// `schema::coerce`), and parses the text again, recording everything, the first time a
/// deeper position is asked for.
#[derive(Debug, Default)]
pub struct SourceMap {
    /// Every node, or with `lazy` only the nodes at most `SHALLOW` segments deep.
    nodes: HashMap<Box<str>, Stored>,
    lazy: Option<Box<Lazy>>,
}

/// Nodes this deep (`/spec/clients/7` is 3) are recorded by the first parse.
const SHALLOW: usize = 3;

/// What a map recorded on demand is rebuilt from.
#[derive(Debug)]
struct Lazy {
    source: Source,
    numbers: Numbers,
    /// Pointer -> text of each plain scalar that resolved to a number, boolean or null.
    plain: HashMap<Box<str>, Box<str>>,
    /// Whether an alias copied a value: its nodes have no pointers of their own, so
    /// `plain` does not cover every scalar of the tree.
    aliased: bool,
    full: OnceLock<HashMap<Box<str>, Stored>>,
}

impl Lazy {
    /// The map of every node, from the text parsed again (it parsed before, so it does now).
    fn record(&self) -> HashMap<Box<str>, Stored> {
        let mut loader = Loader::new(&self.source, self.numbers, true);
        let value = loader.document();
        loader
            .finish(value)
            .map(|(_, map)| map.nodes)
            .unwrap_or_default()
    }
}

fn depth(pointer: &str) -> usize {
    pointer.bytes().filter(|&b| b == b'/').count()
}
/// A `Node` as the map stores it.
#[derive(Debug, Clone)]
struct Stored {
    /// Line, column and offset of the key, if any (line 0: none).
    key: [u32; 3],
    /// Line and column of the value; its offset is `start`.
    value: [u32; 2],
    start: u32,
    end: u32,
    plain: Option<Box<str>>,
}

fn small(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<Node> for Stored {
    fn from(node: Node) -> Self {
        Stored {
            key: node
                .key
                .map_or([0; 3], |k| [small(k.line), small(k.col), small(k.offset)]),
            value: [small(node.value.line), small(node.value.col)],
            start: small(node.start),
            end: small(node.end),
            plain: node.plain.map(String::into_boxed_str),
        }
    }
}

impl From<&Stored> for Node {
    fn from(s: &Stored) -> Self {
        let [line, col, offset] = s.key.map(|n| n as usize);
        Node {
            key: (line != 0).then_some(Pos { line, col, offset }),
            value: Pos {
                line: s.value[0] as usize,
                col: s.value[1] as usize,
                offset: s.start as usize,
            },
            start: s.start as usize,
            end: s.end as usize,
            plain: s.plain.as_deref().map(str::to_owned),
        }
    }
}

impl SourceMap {
    /// The table that answers for `pointer`: the shallow one when it is complete there.
    fn table(&self, pointer: &str) -> &HashMap<Box<str>, Stored> {
        match &self.lazy {
            Some(lazy) if depth(pointer) > SHALLOW => lazy.full.get_or_init(|| lazy.record()),
            _ => &self.nodes,
        }
    }

    pub fn get(&self, pointer: &str) -> Option<Node> {
        self.table(pointer).get(pointer).map(Node::from)
    }

    /// The text of the plain scalar at `pointer`, if it resolved to a number, boolean or
    /// null; without recording positions.
    pub fn plain(&self, pointer: &str) -> Option<&str> {
        match &self.lazy {
            Some(lazy) => lazy.plain.get(pointer).map(AsRef::as_ref),
            None => self.nodes.get(pointer).and_then(|s| s.plain.as_deref()),
        }
    }

    /// Every plain scalar that resolved to a number, boolean or null, with its pointer,
    /// when these are all the tree's non-string scalars (no alias copied any): walking
    /// them is then enough to coerce the tree.
    pub fn plain_scalars(&self) -> Option<impl Iterator<Item = (&str, &str)>> {
        let lazy = self.lazy.as_ref().filter(|l| !l.aliased)?;
        Some(lazy.plain.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
    }

    fn insert(&mut self, pointer: String, node: Node) {
        self.nodes.insert(pointer.into_boxed_str(), node.into());
    }

    fn remove(&mut self, pointer: &str) -> Option<Node> {
        self.nodes.remove(pointer).as_ref().map(Node::from)
    }

    /// The position to show for a node: its key if it has one, else its value.
    fn shown(s: &Stored) -> Pos {
        let [line, col, offset] = if s.key[0] != 0 {
            s.key
        } else {
            [s.value[0], s.value[1], s.start]
        };
        Pos {
            line: line as usize,
            col: col as usize,
            offset: offset as usize,
        }
    }

    /// The position to show for a pointer: its key if it has one, else its value; for a
    /// pointer with no node (a missing field), the nearest ancestor that exists.
    pub fn locate(&self, pointer: &str) -> Option<Pos> {
        let mut p = pointer;
        loop {
            if let Some(node) = self.table(p).get(p) {
                return Some(Self::shown(node));
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return None,
            }
        }
    }

    /// The nodes under `prefix`, re-rooted so that `prefix` becomes the empty pointer.
    pub fn subtree(&self, prefix: &str) -> SourceMap {
        let all = match &self.lazy {
            Some(lazy) => lazy.full.get_or_init(|| lazy.record()),
            None => &self.nodes,
        };
        let nodes = all
            .iter()
            .filter(|(k, _)| {
                k.starts_with(prefix)
                    && (k.len() == prefix.len() || k.as_bytes().get(prefix.len()) == Some(&b'/'))
            })
            .map(|(k, v)| (k[prefix.len()..].into(), v.clone()))
            .collect();
        SourceMap { nodes, lazy: None }
    }

    /// Like `locate`, but prefers the value over the key (for "this value is wrong").
    pub fn locate_value(&self, pointer: &str) -> Option<Pos> {
        match self.get(pointer) {
            Some(node) => Some(node.value),
            None => self.locate(pointer),
        }
    }
}

/// A JSON pointer in catalog notation: `/spec/clients/0/image` -> `spec.clients[0].image`.
pub fn field_name(pointer: &str) -> String {
    let mut out = String::new();
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{segment}]"));
        } else if !segment.is_empty()
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        } else {
            out.push_str(&format!("[{segment:?}]"));
        }
    }
    out
}

/// Escapes one JSON pointer segment.
pub fn escape_segment(segment: &str) -> String {
    if !segment.contains(['~', '/']) {
        return segment.to_owned();
    }
    segment.replace('~', "~0").replace('/', "~1")
}

/// One step down a JSON pointer.
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

/// Extends `pointer` by one segment; returns its length before, to truncate back to.
fn push_segment(pointer: &mut String, segment: Segment) -> usize {
    use std::fmt::Write as _;
    let len = pointer.len();
    pointer.push('/');
    match segment {
        Segment::Key(key) if key.contains(['~', '/']) => pointer.push_str(&escape_segment(key)),
        Segment::Key(key) => pointer.push_str(key),
        Segment::Index(i) => {
            let _ = write!(pointer, "{i}");
        }
    }
    len
}

/// Parses a stream of documents separated by `---` lines, as tenantgen writes them (and as
/// kubectl prints them). Comment-only and empty documents are skipped.
pub fn parse_stream(source: &Source, numbers: Numbers) -> Result<Vec<Value>, Vec<Diagnostic>> {
    let mut out = Vec::new();
    let mut doc = String::new();
    let mut flush = |doc: &mut String| -> Result<(), Vec<Diagnostic>> {
        let meaningful = doc
            .lines()
            .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        if meaningful {
            out.push(
                parse_with(
                    &Source::from_text(source.name.clone(), doc.clone()),
                    numbers,
                )?
                .value,
            );
        }
        doc.clear();
        Ok(())
    };
    for line in source.text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            flush(&mut doc)?;
        } else {
            doc.push_str(line);
        }
    }
    flush(&mut doc)?;
    Ok(out)
}

/// How plain scalars that look like numbers resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numbers {
    /// The catalog: a leading zero (`0755`) keeps the text, since it is a mode or a code.
    Catalog,
    /// Kubernetes objects passing through (KRM items), read as kustomize's Go YAML reads
    /// them: `0644` is octal 420 and `0x1F` is hex.
    Go,
}

/// Parses `source` as exactly one YAML document with catalog number rules.
pub fn parse(source: &Source) -> Result<Document, Vec<Diagnostic>> {
    parse_with(source, Numbers::Catalog)
}

/// Parses `source` as exactly one YAML document. The source map records deep positions
/// only when first asked for them (see `SourceMap`).
pub fn parse_with(source: &Source, numbers: Numbers) -> Result<Document, Vec<Diagnostic>> {
    let first = if source.text.len() < PIPE_BYTES {
        load_lazily(Loader::new(source, numbers, false))
    } else {
        // The YAML parser is most of the time: it runs on another core while this one
        // builds the tree from its events.
        std::thread::scope(|s| {
            let (events, piped) = std::sync::mpsc::sync_channel(PIPE_BATCHES);
            s.spawn(move || pipe(&source.text, &events));
            let mut loader = Loader::new(source, numbers, false);
            loader.events = Events::Piped {
                batches: piped,
                batch: Vec::new().into_iter(),
            };
            load_lazily(loader)
        })
    };
    match first {
        Ok((value, mut map, plain, aliased)) => {
            map.lazy = Some(Box::new(Lazy {
                source: source.clone(),
                numbers,
                plain,
                aliased,
                full: OnceLock::new(),
            }));
            Ok(Document { value, map })
        }
        // Problems come from a parse that records every position: a duplicate key's hint
        // names the line of the first one.
        Err(_) => {
            let mut loader = Loader::new(source, numbers, true);
            let value = loader.document();
            loader
                .finish(value)
                .map(|(value, map)| Document { value, map })
        }
    }
}

/// Texts this large are parsed on another thread (`pipe`); smaller ones are not worth one.
const PIPE_BYTES: usize = 256 * 1024;
/// Events sent to the loader at a time, and batches in flight: bounded, so a fast parser
/// does not hold the whole stream's events.
const PIPE_BATCH: usize = 4096;
const PIPE_BATCHES: usize = 4;

/// The document read by a loader that records shallow nodes only, with its plain scalars and
/// whether an alias was expanded.
type Lazily = (Value, SourceMap, HashMap<Box<str>, Box<str>>, bool);

fn load_lazily(mut loader: Loader<'_>) -> Result<Lazily, Vec<Diagnostic>> {
    let value = loader.document();
    let plain = std::mem::take(&mut loader.plain);
    let aliased = loader.aliased;
    loader
        .finish(value)
        .map(|(value, map)| (value, map, plain, aliased))
}

/// Parses `text`, sending its events in batches until the stream ends, the first error, or
/// the loader stops listening (it met a problem of its own).
fn pipe<'a>(text: &'a str, events: &std::sync::mpsc::SyncSender<Vec<ParseResult<'a>>>) {
    let mut parser = parser(text);
    loop {
        let mut batch = Vec::with_capacity(PIPE_BATCH);
        let mut last = false;
        while batch.len() < PIPE_BATCH {
            match parser.next_event() {
                Some(event) => {
                    last = event.is_err();
                    batch.push(event);
                    if last {
                        break;
                    }
                }
                None => {
                    last = true;
                    break;
                }
            }
        }
        if events.send(batch).is_err() || last {
            return;
        }
    }
}

fn parser(text: &str) -> Parser<'_, StrInput<'_>> {
    let options = options! {
        flow_nesting_limit: MAX_DEPTH,
        block_nesting_limit: MAX_DEPTH,
        emit_comments: false,
    };
    Parser::new_from_str_with_options(text, options)
}

/// Where a loader's events come from.
enum Events<'a> {
    /// A parser on this thread.
    Here(Box<Parser<'a, StrInput<'a>>>),
    /// `pipe` on another thread; the batch being read.
    Piped {
        batches: std::sync::mpsc::Receiver<Vec<ParseResult<'a>>>,
        batch: std::vec::IntoIter<ParseResult<'a>>,
    },
}

impl<'a> Events<'a> {
    fn next(&mut self) -> Option<ParseResult<'a>> {
        match self {
            Events::Here(parser) => parser.next_event(),
            Events::Piped { batches, batch } => loop {
                if let Some(event) = batch.next() {
                    return Some(event);
                }
                *batch = batches.recv().ok()?.into_iter();
            },
        }
    }
}

struct Loader<'a> {
    events: Events<'a>,
    source: &'a Source,
    anchors: HashMap<usize, Value>,
    map: SourceMap,
    /// Problems that do not stop parsing (duplicate keys), so all are reported at once.
    problems: Vec<Diagnostic>,
    alias_nodes: usize,
    numbers: Numbers,
    /// The pointer of the node being read.
    path: String,
    /// Whether every node goes into `map`; otherwise only the shallow ones, and the text of
    /// non-string plain scalars into `plain`.
    record: bool,
    plain: HashMap<Box<str>, Box<str>>,
    /// Whether an alias was expanded.
    aliased: bool,
}

type Fatal = Box<Diagnostic>;

impl<'a> Loader<'a> {
    fn new(source: &'a Source, numbers: Numbers, record: bool) -> Self {
        Loader {
            events: Events::Here(Box::new(parser(&source.text))),
            source,
            anchors: HashMap::new(),
            map: SourceMap::default(),
            problems: Vec::new(),
            alias_nodes: 0,
            numbers,
            path: String::new(),
            record,
            plain: HashMap::new(),
            aliased: false,
        }
    }

    /// What was loaded and its source map, or every problem met: the ones parsing went on
    /// past, then the one that stopped it.
    fn finish<T>(self, loaded: Result<T, Fatal>) -> Result<(T, SourceMap), Vec<Diagnostic>> {
        match loaded {
            Ok(value) if self.problems.is_empty() => Ok((value, self.map)),
            Ok(_) => Err(self.problems),
            Err(fatal) => {
                let mut problems = self.problems;
                problems.push(*fatal);
                Err(problems)
            }
        }
    }

    fn pos(&self, marker: &Marker) -> Pos {
        Pos {
            line: marker.line(),
            col: marker.col() + 1,
            offset: marker.byte_offset().unwrap_or(0),
        }
    }

    fn fail(&self, code: &'static str, marker: &Marker, message: String, hint: &str) -> Fatal {
        Box::new(
            Diagnostic::error(code, message)
                .at(&self.source.name, Some(self.pos(marker)))
                .hint(hint),
        )
    }

    /// A problem with one value: `fail` naming the field at `pointer`.
    fn fail_field(&self, pointer: &str, marker: &Marker, message: String, hint: &str) -> Fatal {
        let mut d = self.fail("yaml-tag", marker, message, hint);
        d.field = field_name(pointer);
        d
    }

    /// Refuses a tag on a list or mapping other than its own core tag (`!!seq`, `!!map`): a
    /// tag such as `!!python/object/apply` asks for a meaning tenantgen would silently drop,
    /// and scalars with such tags are refused too.
    fn collection_tag(
        &self,
        tag: Option<&Tag>,
        core: &str,
        at: &Marker,
        pointer: &str,
        key: Option<Pos>,
    ) -> Result<(), Fatal> {
        match tag {
            Some(tag) if !tag.is_yaml_core_schema_tag(core) => {
                let what = if core == "seq" { "list" } else { "mapping" };
                // A block collection starts on the line after its tag: point at the key the
                // tag follows, when there is one.
                let mut d = self.fail_field(
                    pointer,
                    at,
                    format!(
                        "the YAML tag `{}` on a {what} is not supported",
                        tag.original()
                    ),
                    "remove the tag; a catalog holds plain lists, mappings and text",
                );
                if let Some(key) = key {
                    d.pos = Some(key);
                }
                Err(d)
            }
            _ => Ok(()),
        }
    }

    fn scan_error(&self, e: &ScanError) -> Fatal {
        let info = e.info();
        let hint = if info.contains("tab") {
            "indent YAML with spaces, never tabs"
        } else {
            "check the indentation and quoting around this position"
        };
        self.fail(
            "yaml-syntax",
            e.marker(),
            format!("invalid YAML: {info}"),
            hint,
        )
    }

    fn next(&mut self) -> Result<(Event<'a>, Span), Fatal> {
        match self.events.next() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(self.scan_error(&e)),
            None => Err(Box::new(
                Diagnostic::error("yaml-syntax", "unexpected end of the YAML stream")
                    .at(&self.source.name, None),
            )),
        }
    }

    /// The stream's only document, read by `root`; `None` for a stream without one. A second
    /// document is an error (`what` names the input, `hint` says what to do).
    fn only_document<T>(
        &mut self,
        what: &str,
        hint: &str,
        mut root: impl FnMut(&mut Self) -> Result<T, Fatal>,
    ) -> Result<Option<T>, Fatal> {
        let mut value = None;
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentEnd => {}
                Event::StreamEnd => break,
                Event::DocumentStart(..) => {
                    if value.is_some() {
                        return Err(self.fail(
                            "yaml-multiple-documents",
                            &span.start,
                            format!("the {what} holds more than one YAML document"),
                            hint,
                        ));
                    }
                    value = Some(root(self)?);
                }
                _ => {}
            }
        }
        Ok(value)
    }

    fn document(&mut self) -> Result<Value, Fatal> {
        let value = self.only_document(
            "file",
            "a catalog is exactly one document: remove the `---` separator and what follows, or merge the documents",
            |l| l.node_at("", None, 0),
        )?;
        value.ok_or_else(|| {
            Box::new(
                Diagnostic::error("empty-catalog", "the file holds no YAML document")
                    .at(&self.source.name, Some(Pos { line: 1, col: 1, offset: 0 }))
                    .hint("start from the sample in `clients/clients.yaml` or run `tenantgen schema` to see the format"),
            )
        })
    }

    /// Reads one node whose first event is next, recording it at `self.path`.
    fn node(&mut self, key: Option<Pos>, depth: usize) -> Result<Value, Fatal> {
        let (event, span) = self.next()?;
        self.node_from(event, span, key, depth)
    }

    /// `node` at `pointer`, from the top of a document.
    fn node_at(&mut self, pointer: &str, key: Option<Pos>, depth: usize) -> Result<Value, Fatal> {
        pointer.clone_into(&mut self.path);
        self.node(key, depth)
    }

    /// `node_from` at `pointer`, from the top of a document.
    fn node_from_at(
        &mut self,
        event: Event<'a>,
        span: Span,
        pointer: &str,
        key: Option<Pos>,
        depth: usize,
    ) -> Result<Value, Fatal> {
        pointer.clone_into(&mut self.path);
        self.node_from(event, span, key, depth)
    }

    /// Reads the node that starts with `event`, recording it at `self.path`.
    fn node_from(
        &mut self,
        event: Event<'a>,
        span: Span,
        key: Option<Pos>,
        depth: usize,
    ) -> Result<Value, Fatal> {
        if depth > MAX_DEPTH {
            return Err(self.fail(
                "yaml-too-deep",
                &span.start,
                format!("the document nests deeper than {MAX_DEPTH} levels"),
                "a catalog is a few levels deep; check for runaway brackets",
            ));
        }
        let start = self.pos(&span.start);
        let mut plain = None;
        let (value, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                if let Some(tag) = tag.as_deref() {
                    if !tag.is_yaml_core_schema_tag("str") {
                        return Err(self.fail_field(
                            &self.path,
                            &span.start,
                            format!("the YAML tag `{}` is not supported", tag.original()),
                            "remove the tag; quote the value if it must be a string",
                        ));
                    }
                    (Value::String(text.into_owned()), anchor)
                } else {
                    let value = resolve_scalar(&text, style, self.numbers);
                    if !value.is_string() {
                        plain = Some(text.into_owned());
                    }
                    (value, anchor)
                }
            }
            Event::SequenceStart(_, anchor, tag) => {
                self.collection_tag(tag.as_deref(), "seq", &span.start, &self.path, key)?;
                let mut items = Vec::new();
                loop {
                    let (ev, sp) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    let len = push_segment(&mut self.path, Segment::Index(items.len()));
                    let item = self.node_from(ev, sp, None, depth + 1);
                    self.path.truncate(len);
                    items.push(item?);
                }
                (Value::Array(items), anchor)
            }
            Event::MappingStart(_, anchor, tag) => {
                self.collection_tag(tag.as_deref(), "map", &span.start, &self.path, key)?;
                (self.mapping(depth)?, anchor)
            }
            Event::Alias(id) => {
                self.aliased = true;
                let value = self.anchors.get(&id).cloned().unwrap_or(Value::Null);
                self.alias_nodes += count_nodes(&value);
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(self.fail(
                        "yaml-alias-budget",
                        &span.start,
                        format!("aliases expand to more than {MAX_ALIAS_NODES} nodes"),
                        "this looks like an alias bomb; write the values out or use fewer aliases",
                    ));
                }
                (value, 0)
            }
            other => {
                return Err(self.fail(
                    "yaml-syntax",
                    &span.start,
                    format!("unexpected YAML event {other:?}"),
                    "check the structure around this position",
                ));
            }
        };
        if anchor != 0 {
            self.anchors.insert(anchor, value.clone());
        }
        if !self.record
            && let Some(text) = &plain
        {
            self.plain
                .insert(self.path.as_str().into(), text.as_str().into());
        }
        if self.record || depth <= SHALLOW {
            let end = span.end.byte_offset().unwrap_or(start.offset);
            self.map.insert(
                self.path.clone(),
                Node {
                    key,
                    value: start,
                    start: start.offset,
                    end,
                    plain,
                },
            );
        }
        Ok(value)
    }

    /// The entries of the mapping at `self.path`, up to its end.
    fn mapping(&mut self, depth: usize) -> Result<Value, Fatal> {
        let mut object = Map::new();
        loop {
            let (ev, span) = self.next()?;
            let key = match ev {
                Event::MappingEnd => break,
                Event::Scalar(text, _, _, tag) => {
                    if let Some(tag) = tag.as_deref().filter(|t| !t.is_yaml_core_schema_tag("str"))
                    {
                        return Err(self.fail_field(
                            &format!("{}/{}", self.path, escape_segment(&text)),
                            &span.start,
                            format!("the YAML tag `{}` is not supported", tag.original()),
                            "remove the tag from the key",
                        ));
                    }
                    text.into_owned()
                }
                _ => {
                    return Err(self.fail(
                        "yaml-complex-key",
                        &span.start,
                        "a mapping key must be a plain string".into(),
                        "use a string key; lists and mappings cannot be keys",
                    ));
                }
            };
            let key_pos = self.pos(&span.start);
            let len = push_segment(&mut self.path, Segment::Key(&key));
            if object.contains_key(&key) {
                let first = self.map.get(&self.path).and_then(|n| n.key);
                let hint = match first {
                    Some(p) => format!("`{key}` is first set at line {}; keep one of them", p.line),
                    None => format!("keep one `{key}`"),
                };
                self.problems.push(
                    Diagnostic::error("yaml-duplicate-key", format!("duplicate key `{key}`"))
                        .at(&self.source.name, Some(key_pos))
                        .field(field_name(&self.path))
                        .hint(hint),
                );
                // Read and drop the repeated value so parsing (and reporting) can go on.
                let mut ignored = SourceMap::default();
                std::mem::swap(&mut ignored, &mut self.map);
                let result = self.node(Some(key_pos), depth + 1);
                std::mem::swap(&mut ignored, &mut self.map);
                self.path.truncate(len);
                result?;
                continue;
            }
            let value = self.node(Some(key_pos), depth + 1);
            self.path.truncate(len);
            object.insert(key, value?);
        }
        Ok(Value::Object(object))
    }
}

/// A KRM ResourceList as `parse_resource_list` reads it.
#[derive(Debug)]
pub struct ResourceList {
    /// The document by Go number rules, without `functionConfig` and without `items` when
    /// that is a list (its entries went to the caller); the map holds the top-level nodes.
    pub top: Document,
    /// `functionConfig` by catalog number rules, with its map re-rooted at it (positions
    /// are in the stream).
    pub config: Option<Document>,
}

/// Parses a KRM ResourceList in one pass. Each entry of `items` is handed to `item` (with
/// where it starts) as soon as it is read, by Go number rules and without a source map, so
/// pass-through objects cost memory only while the caller handles them; `functionConfig`
/// alone keeps catalog number rules and every position. Budgets and errors are `parse`'s.
pub fn parse_resource_list(
    source: &Source,
    mut item: impl FnMut(Value, Pos),
) -> Result<ResourceList, Vec<Diagnostic>> {
    let mut loader = Loader::new(source, Numbers::Go, true);
    if source.text.len() < PIPE_BYTES {
        let list = loader.resource_list(&mut item);
        return loader.finish(list).map(|(list, _)| list);
    }
    // As in `parse_with`: the YAML parser runs on another core while this one builds the
    // values from its events and hands the items over.
    std::thread::scope(|s| {
        let (events, piped) = std::sync::mpsc::sync_channel(PIPE_BATCHES);
        s.spawn(move || pipe(&source.text, &events));
        loader.events = Events::Piped {
            batches: piped,
            batch: Vec::new().into_iter(),
        };
        let list = loader.resource_list(&mut item);
        loader.finish(list).map(|(list, _)| list)
    })
}

type ItemSink<'s> = &'s mut dyn FnMut(Value, Pos);

impl Loader<'_> {
    fn resource_list(&mut self, item: ItemSink) -> Result<ResourceList, Fatal> {
        let list = self.only_document(
            "input",
            "a ResourceList is exactly one document: remove the `---` separator and what follows",
            |l| l.resource_list_root(&mut *item),
        )?;
        list.ok_or_else(|| {
            Box::new(
                Diagnostic::error("krm-input", "the input holds no YAML document")
                    .at(&self.source.name, Some(Pos { line: 1, col: 1, offset: 0 }))
                    .hint("tenantgen krm reads a config.kubernetes.io/v1 ResourceList, as kustomize and kpt send it"),
            )
        })
    }

    fn resource_list_root(&mut self, item: ItemSink) -> Result<ResourceList, Fatal> {
        let (event, span) = self.next()?;
        if !matches!(event, Event::MappingStart(_, _, None)) {
            // Not a plain mapping (so hardly a ResourceList): read whole, then split.
            let mut value = self.node_from_at(event, span, "", None, 0)?;
            let map = std::mem::take(&mut self.map);
            let mut config = None;
            if let Some(object) = value.as_object_mut() {
                config = object.remove("functionConfig").map(|value| Document {
                    value,
                    map: map.subtree("/functionConfig"),
                });
                if object.get("items").is_some_and(Value::is_array)
                    && let Some(Value::Array(entries)) = object.remove("items")
                {
                    for (i, entry) in entries.into_iter().enumerate() {
                        let at = map.locate_value(&format!("/items/{i}"));
                        item(entry, at.unwrap_or_default());
                    }
                }
            }
            return Ok(ResourceList {
                top: Document { value, map },
                config,
            });
        }
        // The root's anchor can never be used: an alias inside it does not see it yet.
        let start = self.pos(&span.start);
        let mut top = Map::new();
        let mut nodes = SourceMap::default();
        let mut config = None;
        loop {
            let (ev, span) = self.next()?;
            let key = match ev {
                Event::MappingEnd => {
                    let end = span.end.byte_offset().unwrap_or(start.offset);
                    nodes.insert(
                        String::new(),
                        Node {
                            key: None,
                            value: start,
                            start: start.offset,
                            end,
                            plain: None,
                        },
                    );
                    break;
                }
                Event::Scalar(text, ..) => text.into_owned(),
                _ => {
                    return Err(self.fail(
                        "yaml-complex-key",
                        &span.start,
                        "a mapping key must be a plain string".into(),
                        "use a string key; lists and mappings cannot be keys",
                    ));
                }
            };
            let key_pos = self.pos(&span.start);
            let child = format!("/{}", escape_segment(&key));
            if let Some(first) = nodes.get(&child).and_then(|n| n.key) {
                self.problems.push(
                    Diagnostic::error("yaml-duplicate-key", format!("duplicate key `{key}`"))
                        .at(&self.source.name, Some(key_pos))
                        .field(field_name(&child))
                        .hint(format!(
                            "`{key}` is first set at line {}; keep one of them",
                            first.line
                        )),
                );
                self.node_at(&child, Some(key_pos), 1)?;
                self.map = SourceMap::default();
                continue;
            }
            match key.as_str() {
                "items" => {
                    if let Some(odd) = self.items(key_pos, item)? {
                        top.insert(key, odd);
                    }
                }
                "functionConfig" => {
                    self.numbers = Numbers::Catalog;
                    let value = self.node_at(&child, Some(key_pos), 1);
                    self.numbers = Numbers::Go;
                    config = Some(Document {
                        value: value?,
                        map: self.map.subtree(&child),
                    });
                }
                _ => {
                    let value = self.node_at(&child, Some(key_pos), 1)?;
                    top.insert(key, value);
                }
            }
            let own = self.map.remove(&child).unwrap_or(Node {
                key: Some(key_pos),
                value: key_pos,
                start: key_pos.offset,
                end: key_pos.offset,
                plain: None,
            });
            nodes.insert(child, own);
            self.map = SourceMap::default();
        }
        Ok(ResourceList {
            top: Document {
                value: Value::Object(top),
                map: nodes,
            },
            config,
        })
    }

    /// `items`: a list's entries go to `item` one at a time, each source map dropped once
    /// read; anything else is returned whole for the caller to refuse.
    fn items(&mut self, key_pos: Pos, item: ItemSink) -> Result<Option<Value>, Fatal> {
        let (event, span) = self.next()?;
        if !matches!(event, Event::SequenceStart(_, 0, None)) {
            let value = self.node_from_at(event, span, "/items", Some(key_pos), 1)?;
            if let Value::Array(entries) = value {
                for (i, entry) in entries.into_iter().enumerate() {
                    let at = self.map.locate_value(&format!("/items/{i}"));
                    item(entry, at.unwrap_or(key_pos));
                }
                return Ok(None);
            }
            return Ok(Some(value));
        }
        let start = self.pos(&span.start);
        let mut n = 0usize;
        loop {
            let (ev, sp) = self.next()?;
            if matches!(ev, Event::SequenceEnd) {
                let end = sp.end.byte_offset().unwrap_or(start.offset);
                self.map.insert(
                    "/items".into(),
                    Node {
                        key: Some(key_pos),
                        value: start,
                        start: start.offset,
                        end,
                        plain: None,
                    },
                );
                return Ok(None);
            }
            let child = format!("/items/{n}");
            let value = self.node_from_at(ev, sp, &child, None, 2)?;
            let at = self.map.get(&child).map_or(start, |node| node.value);
            self.map = SourceMap::default();
            item(value, at);
            n += 1;
        }
    }
}

fn count_nodes(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Object(map) => 1 + map.values().map(count_nodes).sum::<usize>(),
        _ => 1,
    }
}

/// Whether `text` written as a plain scalar reads back as the same string in YAML 1.2 and
/// in this loader (versions such as `1.2.3` do; `1.10` does not).
pub fn plain_is_text(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@:".contains(&b))
        && !text.starts_with(['-', '.', ':', '@'])
        && resolve_scalar(text, ScalarStyle::Plain, Numbers::Catalog).is_string()
}

/// YAML 1.2 core schema for plain scalars, minus the forms no catalog needs (octal, hex,
/// infinities), which stay strings. Leading zeros stay strings: `0755` is a mode, not 755.
fn resolve_scalar(text: &str, style: ScalarStyle, numbers: Numbers) -> Value {
    if style != ScalarStyle::Plain {
        return Value::String(text.to_owned());
    }
    if numbers == Numbers::Go
        && let Some(n) = go_integer(text)
    {
        return Value::Number(n.into());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let leading_zero = digits.len() > 1 && digits.starts_with('0') && !digits.starts_with("0.");
    if !leading_zero && looks_numeric(digits) {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Number(i.into());
        }
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(text.to_owned())
}

/// Go's `strconv.ParseInt(s, 0, 64)` for the prefixed forms: `0644`, `0o644`, `0x1F`, `0b101`.
fn go_integer(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (radix, body) = if let Some(b) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, b)
    } else if let Some(b) = digits
        .strip_prefix("0o")
        .or_else(|| digits.strip_prefix("0O"))
    {
        (8, b)
    } else if let Some(b) = digits
        .strip_prefix("0b")
        .or_else(|| digits.strip_prefix("0B"))
    {
        (2, b)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        return None;
    };
    let value = i64::from_str_radix(body, radix).ok()?;
    Some(if negative { -value } else { value })
}

/// `[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?` or `\.[0-9]+...`: what YAML 1.2 calls a number.
fn looks_numeric(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match frac {
        Some(f) => digits(int) && digits(f) && !(int.is_empty() && f.is_empty()),
        None => !int.is_empty() && digits(int),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Document, Vec<Diagnostic>> {
        parse(&Source::from_text("t.yaml", text))
    }

    /// A catalog-like text larger than `PIPE_BYTES`, so that it is parsed on two threads.
    fn large(entries: usize) -> String {
        let mut text = String::from("spec:\n  clients:\n");
        for i in 0..entries {
            text.push_str(&format!(
                "    - name: c{i}\n      port: {i}\n      on: {}\n      versions: {{dev: \"1.{i}\"}}\n",
                i % 2 == 0
            ));
        }
        text
    }

    #[test]
    fn large_texts_parsed_on_two_threads_read_as_on_one() {
        let text = large(8000);
        assert!(text.len() > PIPE_BYTES);
        let source = Source::from_text("t.yaml", text);
        let piped = parse(&source).expect("parses");
        // Read by the piped loader, not by the fallback that records every position.
        assert!(piped.map.lazy.is_some());
        let mut one = Loader::new(&source, Numbers::Catalog, true);
        let value = one.document();
        let (value, map) = one.finish(value).expect("parses");
        assert_eq!(piped.value, value);
        for pointer in ["", "/spec/clients/7999", "/spec/clients/4000/versions/dev"] {
            let (a, b) = (piped.map.get(pointer), map.get(pointer));
            assert_eq!(
                a.map(|n| (n.key, n.value, n.start, n.end)),
                b.map(|n| (n.key, n.value, n.start, n.end)),
                "{pointer}"
            );
        }
        assert_eq!(piped.map.plain("/spec/clients/10/on"), Some("true"));
    }

    /// A ResourceList over `PIPE_BYTES` is read with the parser on another thread: the items,
    /// their positions, the config and its positions are those of the one-thread loader, and
    /// a problem at its end keeps its line.
    #[test]
    fn large_resource_lists_parsed_on_two_threads_read_as_on_one() {
        let mut text =
            String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
        for i in 0..6000 {
            text.push_str(&format!(
                "  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {{name: cm-{i}}}\n    data: {{mode: 0644}}\n"
            ));
        }
        text.push_str("functionConfig:\n  kind: ClientCatalog\n  spec: {port: 0644}\n");
        assert!(text.len() > PIPE_BYTES);
        let source = Source::from_text("<stdin>", text.clone());
        let read = |piped: bool| {
            let mut items = Vec::new();
            let mut loader = Loader::new(&source, Numbers::Go, true);
            let list = if piped {
                parse_resource_list(&source, |v, at| items.push((v, at.line)))
            } else {
                let list = loader.resource_list(&mut |v, at| items.push((v, at.line)));
                loader.finish(list).map(|(list, _)| list)
            }
            .expect("parses");
            let config = list.config.expect("config");
            (items, config.value, config.map.locate("/spec/port"))
        };
        let (piped, one) = (read(true), read(false));
        assert_eq!(piped.0.len(), 6000);
        assert_eq!(
            piped.0[5999].0["data"]["mode"], 420,
            "Go reads 0644 as octal"
        );
        assert_eq!(piped, one);
        let lines = text.lines().count();
        text.push_str("  spec: {}\n");
        let errs = parse_resource_list(&Source::from_text("<stdin>", text), |_, _| {})
            .expect_err("duplicate");
        assert_eq!(errs[0].code, "yaml-duplicate-key");
        assert_eq!(errs[0].pos.map(|p| p.line), Some(lines + 1));
    }

    #[test]
    fn errors_at_the_end_of_large_texts_keep_their_line() {
        let mut text = large(8000);
        let lines = text.lines().count();
        text.push_str("    - name: x\n      port: 1\n      port: 2\n");
        let errs = load(&text).expect_err("duplicate");
        assert_eq!(errs[0].code, "yaml-duplicate-key");
        assert_eq!(errs[0].pos.map(|p| (p.line, p.col)), Some((lines + 3, 7)));
        assert_eq!(
            errs[0].hint.as_deref(),
            Some(
                format!(
                    "`port` is first set at line {}; keep one of them",
                    lines + 2
                )
                .as_str()
            )
        );
        text.push_str("    - name: y\n\tport: 1\n");
        let errs = load(&text).expect_err("tab");
        assert_eq!(errs.last().map(|d| d.code), Some("yaml-syntax"));
        // The scanner stops at the plain scalar the tab follows.
        assert_eq!(
            errs.last().and_then(|d| d.pos).map(|p| (p.line, p.col)),
            Some((lines + 4, 13))
        );
    }

    #[test]
    fn deep_positions_are_found_when_first_asked() {
        let doc = load("a:\n  b:\n    c:\n      d: 1\n").expect("parses");
        assert!(
            doc.map
                .lazy
                .as_ref()
                .is_some_and(|l| l.full.get().is_none())
        );
        let node = doc.map.get("/a/b/c/d").expect("mapped");
        assert_eq!(node.key.map(|p| (p.line, p.col)), Some((4, 7)));
        assert_eq!(doc.map.locate("/a/b/c/d/missing").map(|p| p.line), Some(4));
    }

    #[test]
    fn yaml11_lookalikes_stay_strings() {
        let doc = load("a: on\nb: NO\nc: 0755\nd: yes\ne: 1.10\nf: 8080\ng: true\nh: ~\n")
            .expect("parses");
        let v = &doc.value;
        assert_eq!(v["a"], "on");
        assert_eq!(v["b"], "NO");
        assert_eq!(v["c"], "0755");
        assert_eq!(v["d"], "yes");
        assert_eq!(v["e"], 1.1);
        assert_eq!(
            doc.map.get("/e").and_then(|n| n.plain.clone()).as_deref(),
            Some("1.10")
        );
        assert_eq!(v["f"], 8080);
        assert_eq!(v["g"], true);
        assert!(v["h"].is_null());
    }

    #[test]
    fn positions_point_at_keys_and_values() {
        let doc = load("spec:\n  clients:\n    - name: acme\n").expect("parses");
        let node = doc.map.get("/spec/clients/0/name").expect("mapped");
        assert_eq!(node.key.map(|p| (p.line, p.col)), Some((3, 7)));
        assert_eq!((node.value.line, node.value.col), (3, 13));
    }

    #[test]
    fn every_duplicate_key_is_reported_at_its_second_occurrence() {
        let errs = load("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n").expect_err("duplicates");
        let lines: Vec<_> = errs.iter().map(|d| d.pos.map(|p| p.line)).collect();
        assert_eq!(lines, vec![Some(4), Some(5)]);
    }

    #[test]
    fn tags_on_lists_mappings_and_keys_are_refused_like_tags_on_text() {
        for (text, field) in [
            ("a: !!python/object/apply:os.system [x]\n", "a"),
            ("a:\n  b: !custom\n    c: 1\n", "a.b"),
            ("a:\n  !!python/name:x b: 1\n", "a.b"),
            ("a: !!binary aGk=\n", "a"),
        ] {
            let errs = load(text).expect_err(text);
            assert_eq!(errs[0].code, "yaml-tag", "{text}");
            assert_eq!(errs[0].field, field, "{text}");
            assert!(errs[0].pos.is_some() && errs[0].hint.is_some(), "{text}");
        }
        let doc = load("a: !!seq [x]\nb: !!map {c: !!str 1}\n").expect("core tags");
        assert_eq!(doc.value["b"]["c"], "1");
    }

    #[test]
    fn alias_bomb_stops_at_the_budget() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            text.push_str(&format!("{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let errs = load(&text).expect_err("bomb");
        assert_eq!(errs[0].code, "yaml-alias-budget");
    }

    #[test]
    fn kubernetes_items_read_octal_like_go() {
        let doc = parse_with(
            &Source::from_text("t.yaml", "mode: 0644\nhex: 0x1F\nplain: 10\nword: on\n"),
            Numbers::Go,
        )
        .expect("parses");
        assert_eq!(doc.value["mode"], 420);
        assert_eq!(doc.value["hex"], 31);
        assert_eq!(doc.value["plain"], 10);
        assert_eq!(doc.value["word"], "on");
    }

    #[test]
    fn numbers_resolve_like_yaml_1_2() {
        for (text, numeric) in [
            ("1", true),
            ("-2", true),
            ("1.5", true),
            ("1e3", true),
            (".5", true),
            ("1.2.3", false),
            ("0x1F", false),
            ("1_000", false),
            (".", false),
            ("e3", false),
        ] {
            assert_eq!(
                looks_numeric(text.trim_start_matches('-')),
                numeric,
                "{text}"
            );
        }
    }
}
