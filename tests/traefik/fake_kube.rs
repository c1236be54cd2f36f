//! A loopback stand-in for the Kubernetes API server: just enough list/watch for Traefik's
//! client-go informers (LIST, then a WATCH that stays open and quiet), serving a fixed set of objects.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The collections Traefik's Ingress and CRD providers watch: (apiVersion, kind, plural).
/// Every one is served, empty when the render has none, as a real cluster with the CRDs would.
const RESOURCES: &[(&str, &str, &str)] = &[
    ("v1", "Service", "services"),
    ("v1", "Secret", "secrets"),
    ("v1", "ConfigMap", "configmaps"),
    ("v1", "Node", "nodes"),
    ("discovery.k8s.io/v1", "EndpointSlice", "endpointslices"),
    ("networking.k8s.io/v1", "Ingress", "ingresses"),
    ("networking.k8s.io/v1", "IngressClass", "ingressclasses"),
    ("traefik.io/v1alpha1", "IngressRoute", "ingressroutes"),
    ("traefik.io/v1alpha1", "IngressRouteTCP", "ingressroutetcps"),
    ("traefik.io/v1alpha1", "IngressRouteUDP", "ingressrouteudps"),
    ("traefik.io/v1alpha1", "Middleware", "middlewares"),
    ("traefik.io/v1alpha1", "MiddlewareTCP", "middlewaretcps"),
    (
        "traefik.io/v1alpha1",
        "ServersTransport",
        "serverstransports",
    ),
    (
        "traefik.io/v1alpha1",
        "ServersTransportTCP",
        "serverstransporttcps",
    ),
    ("traefik.io/v1alpha1", "TLSOption", "tlsoptions"),
    ("traefik.io/v1alpha1", "TLSStore", "tlsstores"),
    ("traefik.io/v1alpha1", "TraefikService", "traefikservices"),
];

struct Collection {
    api_version: &'static str,
    kind: &'static str,
    items: Vec<Value>,
}

struct State {
    /// Keyed by the collection's path prefix, e.g. `/apis/networking.k8s.io/v1/ingresses`.
    collections: BTreeMap<String, Collection>,
    /// Requests the fake could not answer, so a test can say what Traefik asked for.
    unanswered: Mutex<Vec<String>>,
    stop: AtomicBool,
}

pub struct FakeKube {
    pub port: u16,
    state: Arc<State>,
    accept: Option<JoinHandle<()>>,
}

fn collection_path(api_version: &str, plural: &str) -> String {
    if api_version == "v1" {
        format!("/api/v1/{plural}")
    } else {
        format!("/apis/{api_version}/{plural}")
    }
}

impl FakeKube {
    /// Serves `objects` (those of a kind in [`RESOURCES`]; others are ignored) on 127.0.0.1.
    pub fn start(objects: &[Value]) -> FakeKube {
        let mut collections: BTreeMap<String, Collection> = RESOURCES
            .iter()
            .map(|(api_version, kind, plural)| {
                (
                    collection_path(api_version, plural),
                    Collection {
                        api_version,
                        kind,
                        items: Vec::new(),
                    },
                )
            })
            .collect();
        for (n, obj) in objects.iter().enumerate() {
            let (Some(av), Some(kind)) = (obj["apiVersion"].as_str(), obj["kind"].as_str()) else {
                continue;
            };
            let Some((_, _, plural)) = RESOURCES.iter().find(|(a, k, _)| *a == av && *k == kind)
            else {
                continue;
            };
            let mut obj = obj.clone();
            obj["metadata"]["uid"] = json!(format!("00000000-0000-0000-0000-{n:012}"));
            obj["metadata"]["resourceVersion"] = json!("1");
            let path = collection_path(av, plural);
            collections.get_mut(&path).expect("known").items.push(obj);
        }
        let state = Arc::new(State {
            collections,
            unanswered: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake API");
        let port = listener.local_addr().expect("addr").port();
        let accept_state = Arc::clone(&state);
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if accept_state.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = Arc::clone(&accept_state);
                std::thread::spawn(move || serve_connection(conn, &st));
            }
        });
        FakeKube {
            port,
            state,
            accept: Some(accept),
        }
    }

    /// Requests Traefik made that the fake answered 404 (a path the harness does not model).
    pub fn unanswered(&self) -> Vec<String> {
        self.state.unanswered.lock().expect("lock").clone()
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wakes the blocking accept so its thread sees the stop flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

struct Request {
    method: String,
    path: String,
    query: BTreeMap<String, String>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Some(Request {
        method,
        path: path.to_string(),
        query,
    })
}

fn respond(stream: &mut TcpStream, status: &str, body: &Value) -> std::io::Result<()> {
    let body = body.to_string();
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

fn not_found(path: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": format!("{path} not found"), "reason": "NotFound", "code": 404})
}

/// Splits `/api/v1[/namespaces/<ns>]/<plural>` (or `/apis/<g>/<v>/...`) into the collection
/// path and the namespace filter.
fn route(path: &str) -> Option<(String, Option<String>)> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let prefix_len = match segments.first() {
        Some(&"api") => 2,
        Some(&"apis") => 3,
        _ => return None,
    };
    if segments.len() < prefix_len + 1 {
        return None;
    }
    let (prefix, rest) = segments.split_at(prefix_len);
    let prefix = prefix.join("/");
    match rest {
        [plural] => Some((format!("/{prefix}/{plural}"), None)),
        ["namespaces", ns, plural] => {
            Some((format!("/{prefix}/{plural}"), Some((*ns).to_string())))
        }
        _ => None,
    }
}

fn serve_connection(stream: TcpStream, state: &State) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut stream = stream;
    while let Some(req) = read_request(&mut reader) {
        if state.stop.load(Ordering::SeqCst) {
            return;
        }
        let found = route(&req.path)
            .and_then(|(collection, ns)| state.collections.get(&collection).map(|c| (c, ns)));
        let Some((collection, ns)) = found.filter(|_| req.method == "GET") else {
            state
                .unanswered
                .lock()
                .expect("lock")
                .push(format!("{} {}", req.method, req.path));
            if respond(&mut stream, "404 Not Found", &not_found(&req.path)).is_err() {
                return;
            }
            continue;
        };
        if req
            .query
            .get("watch")
            .is_some_and(|w| w == "true" || w == "1")
        {
            // Nothing ever changes: hold the watch open, silent, until the test ends.
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            if stream
                .write_all(head.as_bytes())
                .and_then(|()| stream.flush())
                .is_err()
            {
                return;
            }
            while !state.stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(100));
            }
            return;
        }
        let items: Vec<&Value> = collection
            .items
            .iter()
            .filter(|o| {
                ns.as_deref()
                    .is_none_or(|ns| o["metadata"]["namespace"] == ns)
            })
            .collect();
        let list = json!({
            "apiVersion": collection.api_version,
            "kind": format!("{}List", collection.kind),
            "metadata": {"resourceVersion": "1"},
            "items": items,
        });
        if respond(&mut stream, "200 OK", &list).is_err() {
            return;
        }
    }
}
