//! render: model -> the objects of each zone, each placed in the Flux unit that applies it.
//! Pure: no I/O, no clock, no randomness; objects are typed values (k8s-openapi for built-in
//! kinds, `crds` for the rest), written as YAML straight from the types.

pub mod crds;

mod client;
mod extras;
mod flux;

/// Names of the Flux Kustomizations every zone has.
pub mod flux_names {
    pub use super::flux::{FLUX_NAMESPACE, INFRA_CONFIGS, INFRA_CONTROLLERS, TENANTS};
}
mod platform;
mod policy;
mod workload;

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::Value;

use crate::model::{Catalog, Zone};

/// The Flux unit an object belongs to: which Flux Kustomization applies it, and so which
/// directory of `clusters/<zone>/` it is written to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unit {
    /// Entry points applied by the zone's root (`flux-system`) Kustomization.
    Root,
    /// `flux-system/gotk-sync.yaml`, written only when `platform.git` is set.
    FluxSystem,
    /// Namespaces and controllers (Traefik), applied before anything that needs their CRDs.
    InfraControllers,
    /// Platform configuration that uses the controllers' CRDs: IngressClass, middlewares,
    /// the landing page.
    InfraConfigs,
    /// The per-client Flux Kustomizations.
    Tenants,
    /// One client's objects.
    Tenant(String),
}

/// What every rendered kind tells about itself: apiVersion, kind and metadata.
/// k8s-openapi's kinds have it through their own traits; `crds` implements it per kind.
pub trait Kind {
    fn api_version(&self) -> &str;
    fn kind(&self) -> &str;
    fn metadata(&self) -> &ObjectMeta;
}

/// Built-in kinds: k8s-openapi knows their apiVersion and kind.
impl<T: k8s_openapi::Resource + k8s_openapi::Metadata<Ty = ObjectMeta>> Kind for T {
    fn api_version(&self) -> &str {
        T::API_VERSION
    }
    fn kind(&self) -> &str {
        T::KIND
    }
    fn metadata(&self) -> &ObjectMeta {
        k8s_openapi::Metadata::metadata(self)
    }
}

/// A rendered object, kept typed: its YAML is written straight from it (`emit::document_of`),
/// and a JSON tree is made only for the few readers that walk one (diff, explain, tests).
pub trait Manifest: Kind + Send + Sync + std::fmt::Debug {
    /// The object as a YAML document (no header, no `---`).
    fn emit(&self, out: &mut String);
    /// The object as an entry of a block sequence indented by `level`.
    fn emit_item(&self, out: &mut String, level: usize);
    /// The object as a JSON tree, keys sorted.
    fn value(&self) -> Value;
}

impl<T: Kind + Serialize + Send + Sync + std::fmt::Debug> Manifest for T {
    fn emit(&self, out: &mut String) {
        crate::emit::document_of(out, self);
    }
    fn emit_item(&self, out: &mut String, level: usize) {
        crate::emit::list_item_of(out, self, level);
    }
    fn value(&self) -> Value {
        to_value(self)
    }
}

/// A rendered object, shared: the same object may sit in a zone's list and a diff's side.
pub type Object = Arc<dyn Manifest>;

/// Keeps a typed object as a rendered one.
pub(crate) fn object<T: Manifest + 'static>(o: T) -> Object {
    Arc::new(o)
}

/// One rendered object.
#[derive(Debug, Clone)]
pub struct Placed {
    pub unit: Unit,
    /// The client the object exists for, if any (diff attribution, explain).
    pub client: Option<String>,
    pub object: Object,
}

impl PartialEq for Placed {
    fn eq(&self, other: &Self) -> bool {
        self.unit == other.unit && self.client == other.client && self.value() == other.value()
    }
}

impl Placed {
    pub fn kind(&self) -> &str {
        self.object.kind()
    }
    pub fn name(&self) -> &str {
        self.object.metadata().name.as_deref().unwrap_or("")
    }
    pub fn namespace(&self) -> &str {
        self.object.metadata().namespace.as_deref().unwrap_or("")
    }
    pub fn api_version(&self) -> &str {
        self.object.api_version()
    }
    /// The API group, without version (`apps`, `` for core).
    pub fn group(&self) -> &str {
        self.api_version().rsplit_once('/').map_or("", |(g, _)| g)
    }
    /// The object as a JSON tree (made on each call: for readers that walk the object).
    pub fn value(&self) -> Value {
        self.object.value()
    }
}

/// Inputs render needs besides the model, resolved by the caller (they involve the disk).
#[derive(Debug, Clone)]
pub struct Options {
    /// Repository-relative directory of the tree as Flux sees it (`./clusters`).
    pub flux_root: String,
    /// Client -> path of its hand-written kustomize Component, relative to the client's
    /// generated directory.
    pub components: BTreeMap<String, String>,
    /// Zones whose `flux-system/` holds a kustomization of its own (`flux bootstrap` writes
    /// one): the zone root must apply that directory whole, or Flux prunes itself.
    pub bootstrapped: std::collections::BTreeSet<String>,
}

/// The tree at `./clusters` with no hand-written Components: what the catalog alone renders
/// (krm, package, diff), and what `render` writes with its default output directory.
impl Default for Options {
    fn default() -> Self {
        Options {
            flux_root: "./clusters".into(),
            components: BTreeMap::new(),
            bootstrapped: std::collections::BTreeSet::new(),
        }
    }
}

/// The objects of one zone, in a stable order.
pub fn zone(catalog: &Catalog, zone: &Zone, options: &Options) -> Vec<Placed> {
    zone_filtered(catalog, zone, options, |_| true)
}

/// Like `zone`, rendering the objects of only the clients `include` accepts (platform and
/// Flux objects always): a diff of a large catalog re-renders only what can differ.
pub fn zone_filtered(
    catalog: &Catalog,
    zone: &Zone,
    options: &Options,
    include: impl Fn(&str) -> bool,
) -> Vec<Placed> {
    let mut out = Vec::new();
    let _ = each_object(catalog, zone, options, include, |p| {
        out.push(p);
        Ok::<(), std::convert::Infallible>(())
    });
    out
}

/// The objects of `zone_filtered`, in the same order, handed to `sink` as they are made: one
/// client's objects at a time are in memory, never the whole zone.
pub fn each_object<E>(
    catalog: &Catalog,
    zone: &Zone,
    options: &Options,
    include: impl Fn(&str) -> bool,
    mut sink: impl FnMut(Placed) -> Result<(), E>,
) -> Result<(), E> {
    let (before, after) = shared_objects(catalog, zone, options);
    before.into_iter().try_for_each(&mut sink)?;
    for c in catalog.clients.iter().filter(|c| include(&c.name)) {
        client_objects(catalog, zone, c)
            .into_iter()
            .try_for_each(&mut sink)?;
    }
    after.into_iter().try_for_each(&mut sink)
}

/// The objects of a zone that are not a client's own: those that come before the clients'
/// (the platform) and those that come after (Flux's), in `each_object`'s order.
pub fn shared_objects(
    catalog: &Catalog,
    zone: &Zone,
    options: &Options,
) -> (Vec<Placed>, Vec<Placed>) {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    platform::render(catalog, zone, &mut before);
    flux::render(catalog, zone, options, &mut after);
    (before, after)
}

/// Every object `each_object` makes that `keep` accepts, each written by `write` into a
/// text handed to `sink` in `each_object`'s order; the clients' objects are written on every
/// core (`par`), a chunk of clients per text.
pub fn each_text<E>(
    catalog: &Catalog,
    zone: &Zone,
    options: &Options,
    keep: impl Fn(&Placed) -> bool + Sync,
    write: impl Fn(&Placed, &mut String) + Sync,
    mut sink: impl FnMut(&str) -> Result<(), E>,
) -> Result<(), E> {
    let text_of = |objects: Vec<Placed>| {
        let mut text = String::new();
        for p in objects.iter().filter(|p| keep(p)) {
            write(p, &mut text);
        }
        text
    };
    let (before, after) = shared_objects(catalog, zone, options);
    sink(&text_of(before))?;
    each_client_chunk(
        catalog,
        |clients| {
            let mut text = String::new();
            for c in clients {
                for p in client_objects(catalog, zone, c).iter().filter(|p| keep(p)) {
                    write(p, &mut text);
                }
            }
            text
        },
        |text| sink(&text),
    )?;
    sink(&text_of(after))
}

/// The objects one client has in one zone (none when it has no version there): the part of
/// `zone` that grows with the catalog, rendered a client at a time so that a large catalog
/// never has to be held in memory whole.
pub fn client_objects(
    catalog: &Catalog,
    zone: &Zone,
    client: &crate::model::Client,
) -> Vec<Placed> {
    let mut out = Vec::new();
    if let Some(d) = client.deployments.get(&zone.name) {
        client::render(catalog, zone, client, d, &mut out);
    }
    out
}

/// Clients rendered together by one thread: enough that handing chunks between threads costs
/// nothing next to rendering them, few enough that a chunk's output is a small part of memory.
const CLIENT_CHUNK: usize = 32;

/// Runs `make` on the catalog's clients a chunk at a time on every core (`par::ordered`) and
/// hands the results to `sink` in the clients' order.
pub fn each_client_chunk<R: Send, E>(
    catalog: &Catalog,
    make: impl Fn(&[crate::model::Client]) -> R + Sync,
    sink: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E> {
    let chunks: Vec<&[crate::model::Client]> = catalog.clients.chunks(CLIENT_CHUNK).collect();
    crate::par::ordered(&chunks, |clients| make(clients), sink)
}

/// Serializes a typed object. Serialization of these types cannot fail (no maps with
/// non-string keys); `Null` would show up in tests and schema validation if it ever did.
pub(crate) fn to_value<T: Serialize>(object: &T) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

pub(crate) fn labels<const N: usize>(pairs: [(&str, &str); N]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Metadata of a namespaced object tenantgen manages.
pub(crate) fn meta(
    name: &str,
    namespace: Option<&str>,
    extra_labels: BTreeMap<String, String>,
) -> ObjectMeta {
    let mut l = labels([("app.kubernetes.io/managed-by", "tenantgen")]);
    l.extend(extra_labels);
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespace.map(str::to_owned),
        labels: Some(l),
        ..Default::default()
    }
}
