//! Tiny servers on 127.0.0.1 standing in for client workloads and the OAuth proxy: HTTP/1.1,
//! and a line echo for workloads behind a raw TCP port.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

pub struct StubRequest {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Header names lower-cased.
    pub headers: BTreeMap<String, String>,
}

pub struct StubResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl StubResponse {
    pub fn new(status: u16, body: impl Into<String>) -> StubResponse {
        StubResponse {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }
}

type Handler = dyn Fn(&StubRequest) -> StubResponse + Send + Sync;

pub struct Stub {
    pub port: u16,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Stub {
    pub fn start(handler: impl Fn(&StubRequest) -> StubResponse + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a stub backend");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let accept_stop = Arc::clone(&stop);
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if accept_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let handler = Arc::clone(&handler);
                std::thread::spawn(move || serve(conn, &*handler));
            }
        });
        Stub {
            port,
            stop,
            accept: Some(accept),
        }
    }
}

impl Stub {
    /// A raw TCP backend: each line it reads comes back as `<identity>: <line>`, so a test
    /// sees both that its bytes arrived and which workload got them.
    pub fn echo(identity: String) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind an echo backend");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let identity = Arc::new(identity);
        let accept_stop = Arc::clone(&stop);
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if accept_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let identity = Arc::clone(&identity);
                std::thread::spawn(move || echo_lines(conn, &identity));
            }
        });
        Stub {
            port,
            stop,
            accept: Some(accept),
        }
    }
}

fn echo_lines(stream: TcpStream, identity: &str) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut stream = stream;
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
        let reply = format!("{identity}: {line}");
        if stream
            .write_all(reply.as_bytes())
            .and_then(|()| stream.flush())
            .is_err()
        {
            return;
        }
        line.clear();
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

fn read(reader: &mut BufReader<TcpStream>) -> Option<StubRequest> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(StubRequest {
        method,
        target,
        headers,
    })
}

fn serve(stream: TcpStream, handler: &Handler) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(read_half);
    let mut stream = stream;
    while let Some(req) = read(&mut reader) {
        let resp = handler(&req);
        let mut head = format!(
            "HTTP/1.1 {} Stub\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n",
            resp.status,
            resp.body.len()
        );
        for (name, value) in &resp.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if req.method != "HEAD" {
            head.push_str(&resp.body);
        }
        // One write: a head and body in two segments meet delayed ACKs (40 ms a request).
        if stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.flush())
            .is_err()
        {
            return;
        }
    }
}
