//! A minimal client of the Docker Engine API over its Unix socket: one HTTP/1.0 request per
//! connection, read to EOF under a timeout and a byte cap.
//!
//! # Format
//! ```text
//! GET /_ping HTTP/1.0                               -> Api-Version: 1.47 (header)
//! GET /v1.47/containers/json?all=1 HTTP/1.0         -> [{"Id","Names","State","Status","Labels"}]
//! POST /v1.47/containers/{id}/restart?t=10 HTTP/1.0 -> 204
//! GET /v1.47/containers/{id}/json HTTP/1.0          -> {"Id","Name","State":{…}}
//! GET /v1.47/containers/{id}/logs?stdout=1&stderr=1&tail=N&timestamps=1 HTTP/1.0
//! ```
//! The API version is the one the Engine announces on `/_ping` (1.41 when it announces none):
//! no single version is served by every Engine in use (Docker 20.10 stops at 1.41, Docker 29
//! starts at 1.44), and the fields read here have not changed across them.
//!
//! A container belongs to the stack's service `name` when its `com.docker.compose.service`
//! label is `name`, or, without that label, when its name is `name`. Errors of the Engine
//! (`{"message":"…"}`) are relayed.
//!
//! No Docker Engine runs on the development machine: the tests answer from a stand-in Engine,
//! a Unix socket in a temporary directory.

use std::{collections::HashMap, path::PathBuf, time::Duration};

use serde::{de::DeserializeOwned, Deserialize};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::UnixStream,
};

use super::{HostError, Service, ServiceStatus, SERVICES};

/// How long one exchange with the Engine may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long a restart may take: the container gets `t=10` s to stop, then starts again.
const RESTART_TIMEOUT: Duration = Duration::from_secs(40);
/// The most bytes read from one answer (status line, headers and body).
const MAX_ANSWER: usize = 1 << 20;
/// The API version used when the Engine announces none.
const DEFAULT_API_VERSION: &str = "1.41";
/// The label Docker Compose gives each container: its service's name.
const SERVICE_LABEL: &str = "com.docker.compose.service";
/// The manager's name in statuses and errors.
const MANAGER: &str = "docker";

/// The Docker Engine behind one socket.
#[derive(Debug, Clone)]
pub(super) struct Engine {
    socket: PathBuf,
    timeout: Duration,
    restart_timeout: Duration,
}

impl Engine {
    /// The Engine listening on `socket`, with the default timeouts.
    pub(super) fn new(socket: PathBuf) -> Self {
        Self {
            socket,
            timeout: TIMEOUT,
            restart_timeout: RESTART_TIMEOUT,
        }
    }

    /// The containers of the allow-listed services, in [`SERVICES`] order.
    pub(super) async fn list(&self) -> Result<Vec<ServiceStatus>, HostError> {
        let api = self.negotiate().await?;
        let containers = api.containers().await?;
        Ok(SERVICES
            .iter()
            .flat_map(|service| {
                containers
                    .iter()
                    .filter(|container| container.service() == service.name)
                    .map(|container| container.status(service.name))
            })
            .collect())
    }

    /// Restarts the service's container and returns its state afterwards.
    pub(super) async fn restart(&self, service: &Service) -> Result<ServiceStatus, HostError> {
        let api = self.negotiate().await?;
        let id = api.find(service).await?;
        let restart = format!("/containers/{id}/restart?t=10");
        api.call("POST", &restart, self.restart_timeout).await?;
        let inspect: Inspect = api.json(&format!("/containers/{id}/json")).await?;
        Ok(inspect.status(service.name))
    }

    /// The last `lines` lines the service's container wrote on stdout and stderr.
    pub(super) async fn logs(
        &self,
        service: &Service,
        lines: usize,
    ) -> Result<Vec<String>, HostError> {
        let api = self.negotiate().await?;
        let id = api.find(service).await?;
        let logs = format!("/containers/{id}/logs?stdout=1&stderr=1&tail={lines}&timestamps=1");
        let body = api.call("GET", &logs, self.timeout).await?;
        Ok(log_lines(&body, lines))
    }

    /// Asks the Engine which API version it speaks.
    async fn negotiate(&self) -> Result<Api<'_>, HostError> {
        let ping = self.exchange("GET", "/_ping", self.timeout).await?;
        let ping = ping.success("GET", "/_ping")?;
        let version = ping
            .header("api-version")
            .filter(|v| {
                !v.is_empty() && v.len() <= 8 && v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            })
            .unwrap_or(DEFAULT_API_VERSION)
            .to_owned();
        Ok(Api {
            engine: self,
            version,
        })
    }

    /// Sends one request and reads the whole answer.
    async fn exchange(
        &self,
        method: &str,
        target: &str,
        limit: Duration,
    ) -> Result<Response, HostError> {
        let socket = self.socket.display();
        let failed = |what: &str, e: std::io::Error| {
            HostError::Failed(format!("{what} the Docker Engine at {socket}: {e}"))
        };
        let work = async {
            let mut stream = UnixStream::connect(&self.socket).await.map_err(|e| {
                HostError::Failed(format!(
                    "cannot connect to the Docker Engine at {socket}: {e}; is dockerd running, and \
                     may the gateway's user use the socket (docker group)?"
                ))
            })?;
            let body_length = if method == "GET" {
                ""
            } else {
                "Content-Length: 0\r\n"
            };
            let request =
                format!("{method} {target} HTTP/1.0\r\nHost: docker\r\n{body_length}\r\n");
            stream
                .write_all(request.as_bytes())
                .await
                .map_err(|e| failed("cannot write to", e))?;
            let mut raw = Vec::new();
            (&mut stream)
                .take(MAX_ANSWER as u64 + 1)
                .read_to_end(&mut raw)
                .await
                .map_err(|e| failed("cannot read from", e))?;
            if raw.len() > MAX_ANSWER {
                return Err(HostError::Failed(format!(
                    "the Docker Engine's answer to {method} {target} exceeds {} KiB; ask for fewer lines",
                    MAX_ANSWER / 1024
                )));
            }
            Response::parse(&raw).map_err(|e| {
                HostError::Failed(format!(
                    "the Docker Engine answered {method} {target} unreadably: {e}"
                ))
            })
        };
        tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
            Err(HostError::Failed(format!(
                "the Docker Engine at {socket} did not answer {method} {target} within {limit:?}; \
                 is dockerd running?"
            )))
        })
    }
}

/// The Engine, with the API version it speaks.
struct Api<'a> {
    engine: &'a Engine,
    version: String,
}

impl Api<'_> {
    /// `method path` under the API version; the body of a 2xx answer.
    async fn call(&self, method: &str, path: &str, limit: Duration) -> Result<Vec<u8>, HostError> {
        let target = format!("/v{}{path}", self.version);
        let response = self.engine.exchange(method, &target, limit).await?;
        Ok(response.success(method, &target)?.body)
    }

    /// `GET path`, its JSON body decoded.
    async fn json<T: DeserializeOwned>(&self, path: &str) -> Result<T, HostError> {
        let body = self.call("GET", path, self.engine.timeout).await?;
        serde_json::from_slice(&body).map_err(|e| {
            HostError::Failed(format!(
                "the Docker Engine answered GET {path} with unreadable JSON: {e}"
            ))
        })
    }

    /// Every container, running or not.
    async fn containers(&self) -> Result<Vec<Container>, HostError> {
        self.json("/containers/json?all=1").await
    }

    /// The id of the service's container: a running one if any, else the newest.
    async fn find(&self, service: &Service) -> Result<String, HostError> {
        let containers = self.containers().await?;
        let candidates: Vec<&Container> = containers
            .iter()
            .filter(|c| c.service() == service.name)
            .collect();
        let running = candidates.iter().find(|c| c.state == "running");
        let container = running
            .or(candidates.first())
            .ok_or_else(|| HostError::NotFound {
                name: service.name.to_owned(),
                manager: MANAGER,
            })?;
        if container.id.is_empty() || !container.id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(HostError::Failed(format!(
                "the Docker Engine listed a container for {} with an unusable id {:?}",
                service.name, container.id
            )));
        }
        Ok(container.id.clone())
    }
}

/// One entry of `GET /containers/json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Container {
    id: String,
    #[serde(default)]
    names: Option<Vec<String>>,
    #[serde(default)]
    state: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    labels: Option<HashMap<String, String>>,
}

impl Container {
    /// The container's name, without Docker's leading `/`.
    fn name(&self) -> &str {
        let name = self.names.as_deref().and_then(|names| names.first());
        name.map_or("", |name| name.trim_start_matches('/'))
    }

    /// The stack's service it runs: its Compose label, else its name.
    fn service(&self) -> &str {
        let label = self
            .labels
            .as_ref()
            .and_then(|labels| labels.get(SERVICE_LABEL));
        label.map_or_else(|| self.name(), String::as_str)
    }

    fn status(&self, name: &str) -> ServiceStatus {
        let healthy = if self.status.contains("(unhealthy)") {
            Some(false)
        } else if self.status.contains("(healthy)") {
            Some(true)
        } else {
            None
        };
        ServiceStatus {
            name: name.to_owned(),
            unit: self.name().to_owned(),
            state: self.state.clone(),
            healthy,
            detail: self.status.clone(),
            manager: MANAGER,
        }
    }
}

/// `GET /containers/{id}/json`, the parts read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Inspect {
    #[serde(default)]
    name: String,
    state: InspectState,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectState {
    #[serde(default)]
    status: String,
    #[serde(default)]
    exit_code: i64,
    #[serde(default)]
    started_at: String,
    #[serde(default)]
    finished_at: String,
    #[serde(default)]
    health: Option<Health>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Health {
    #[serde(default)]
    status: String,
}

impl Inspect {
    fn status(&self, name: &str) -> ServiceStatus {
        let state = &self.state;
        let health = state
            .health
            .as_ref()
            .map_or("", |health| health.status.as_str());
        let mut detail = match state.status.as_str() {
            "exited" | "dead" => format!(
                "{} with code {} at {}",
                state.status, state.exit_code, state.finished_at
            ),
            _ if state.started_at.is_empty() => state.status.clone(),
            _ => format!("{} since {}", state.status, state.started_at),
        };
        match health {
            "healthy" | "unhealthy" => detail.push_str(&format!(" ({health})")),
            "" | "none" => {}
            other => detail.push_str(&format!(" (health: {other})")),
        }
        ServiceStatus {
            name: name.to_owned(),
            unit: self.name.trim_start_matches('/').to_owned(),
            state: state.status.clone(),
            healthy: match health {
                "healthy" => Some(true),
                "unhealthy" => Some(false),
                _ => None,
            },
            detail,
            manager: MANAGER,
        }
    }
}

/// An HTTP answer: status, headers, and the body (de-chunked).
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    /// Parses a whole answer, read to EOF.
    fn parse(raw: &[u8]) -> Result<Self, String> {
        let end = find(raw, b"\r\n\r\n").ok_or("no end of headers")?;
        let head = String::from_utf8_lossy(&raw[..end]);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = match status_line.split(' ').collect::<Vec<_>>()[..] {
            [version, code, ..] if version.starts_with("HTTP/1.") => code.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| format!("not an HTTP status line: {status_line:?}"))?;
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let mut response = Self {
            status,
            headers,
            body: Vec::new(),
        };
        let body = &raw[end + 4..];
        response.body = if response
            .header("transfer-encoding")
            .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"))
        {
            dechunk(body)?
        } else if let Some(length) = response.header("content-length") {
            let length: usize = length
                .parse()
                .map_err(|_| format!("bad Content-Length {length:?}"))?;
            body.get(..length)
                .ok_or("body shorter than its Content-Length")?
                .to_vec()
        } else {
            body.to_vec()
        };
        Ok(response)
    }

    /// The value of header `name` (lower case), if present.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Itself if 2xx, else the Engine's message as an error.
    fn success(self, method: &str, target: &str) -> Result<Self, HostError> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        #[derive(Deserialize)]
        struct EngineError {
            message: String,
        }
        let message = match serde_json::from_slice::<EngineError>(&self.body) {
            Ok(error) => error.message,
            Err(_) => String::from_utf8_lossy(&self.body)
                .trim()
                .chars()
                .take(300)
                .collect(),
        };
        Err(HostError::Failed(format!(
            "the Docker Engine refused {method} {target}: {message} (HTTP {})",
            self.status
        )))
    }
}

/// The position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = find(rest, b"\r\n").ok_or("chunked body cut before a chunk size")?;
        let line = String::from_utf8_lossy(&rest[..line_end]);
        let size = line.split(';').next().unwrap_or_default().trim();
        let size =
            usize::from_str_radix(size, 16).map_err(|_| format!("bad chunk size {size:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = rest.get(..size).ok_or("chunked body cut inside a chunk")?;
        body.extend_from_slice(chunk);
        rest = rest
            .get(size..)
            .and_then(|r| r.strip_prefix(b"\r\n"))
            .ok_or("chunk not followed by CRLF")?;
    }
}

/// The payloads of Docker's multiplexed stream (frames of `[stream, 0, 0, 0, u32 BE length]`
/// then the payload), or `None` if `body` is not one (a TTY container's raw stream).
fn demultiplex(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    while !body.is_empty() {
        let (header, rest) = body.split_first_chunk::<8>()?;
        let [stream, 0, 0, 0, length @ ..] = *header else {
            return None;
        };
        if stream > 2 {
            return None;
        }
        let length = usize::try_from(u32::from_be_bytes(length)).ok()?;
        out.extend_from_slice(rest.get(..length)?);
        body = &rest[length..];
    }
    Some(out)
}

/// The last `max` lines of a logs body, multiplexed or raw.
fn log_lines(body: &[u8], max: usize) -> Vec<String> {
    let text = demultiplex(body).unwrap_or_else(|| body.to_vec());
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(max);
    lines[skip..]
        .iter()
        .map(|line| (*line).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::net::UnixListener;

    use super::*;

    /// A stand-in Engine: answers each connection with `answer(request line)`, records the
    /// request lines.
    struct StandIn {
        engine: Engine,
        requests: Arc<Mutex<Vec<String>>>,
        _dir: tempfile::TempDir,
    }

    impl StandIn {
        fn start(answer: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let socket = dir.path().join("docker.sock");
            let listener = UnixListener::bind(&socket).expect("bind");
            let requests = Arc::new(Mutex::new(Vec::new()));
            let seen = Arc::clone(&requests);
            tokio::spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n")
                        && stream.read(&mut byte).await.unwrap_or(0) == 1
                    {
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let line = head.lines().next().unwrap_or_default().to_owned();
                    seen.lock().expect("lock").push(line.clone());
                    let _ = stream.write_all(&answer(&line)).await;
                    let _ = stream.shutdown().await;
                }
            });
            let engine = Engine {
                socket,
                timeout: Duration::from_secs(2),
                restart_timeout: Duration::from_secs(2),
            };
            Self {
                engine,
                requests,
                _dir: dir,
            }
        }

        fn requests(&self) -> Vec<String> {
            self.requests.lock().expect("lock").clone()
        }
    }

    fn http(status: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {status}\r\nServer: Docker/29.0.0 (linux)\r\n{extra_headers}Content-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    }

    const PING: &str = "GET /_ping HTTP/1.0";

    fn ping(version: &str) -> Vec<u8> {
        http(
            "200 OK",
            &format!("Api-Version: {version}\r\nOstype: linux\r\n"),
            b"OK",
        )
    }

    const CONTAINERS: &str = r#"[
      {"Id":"aaa111","Names":["/essensys-redis-1"],"Image":"redis:7","State":"running",
       "Status":"Up 3 hours (healthy)","Labels":{"com.docker.compose.project":"essensys",
       "com.docker.compose.service":"redis"}},
      {"Id":"bbb222","Names":["/sshd"],"Image":"linuxserver/openssh-server","State":"running",
       "Status":"Up 2 days","Labels":{}},
      {"Id":"ccc333","Names":["/mosquitto"],"Image":"eclipse-mosquitto:2","State":"exited",
       "Status":"Exited (1) 5 minutes ago","Labels":null}
    ]"#;

    fn containers() -> Vec<u8> {
        http(
            "200 OK",
            "Content-Type: application/json\r\n",
            CONTAINERS.as_bytes(),
        )
    }

    fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
        let length = u32::try_from(payload.len()).expect("small").to_be_bytes();
        let mut out = vec![stream, 0, 0, 0];
        out.extend_from_slice(&length);
        out.extend_from_slice(payload);
        out
    }

    #[tokio::test]
    async fn lists_only_the_stack_services_by_label_or_name() {
        let stand_in = StandIn::start(|line| match line {
            PING => ping("1.41"),
            "GET /v1.41/containers/json?all=1 HTTP/1.0" => containers(),
            _ => http("404 Not Found", "", br#"{"message":"page not found"}"#),
        });
        let listed = stand_in.engine.list().await.expect("list");
        assert_eq!(
            listed,
            vec![
                ServiceStatus {
                    name: "redis".into(),
                    unit: "essensys-redis-1".into(),
                    state: "running".into(),
                    healthy: Some(true),
                    detail: "Up 3 hours (healthy)".into(),
                    manager: "docker",
                },
                ServiceStatus {
                    name: "mosquitto".into(),
                    unit: "mosquitto".into(),
                    state: "exited".into(),
                    healthy: None,
                    detail: "Exited (1) 5 minutes ago".into(),
                    manager: "docker",
                },
            ]
        );
        assert_eq!(
            stand_in.requests(),
            [PING, "GET /v1.41/containers/json?all=1 HTTP/1.0"]
        );
    }

    #[tokio::test]
    async fn speaks_the_api_version_the_engine_announces() {
        let stand_in = StandIn::start(|line| match line {
            PING => ping("1.52"),
            "GET /v1.52/containers/json?all=1 HTTP/1.0" => containers(),
            _ => http(
                "400 Bad Request",
                "",
                br#"{"message":"client version 1.41 is too old"}"#,
            ),
        });
        assert_eq!(stand_in.engine.list().await.expect("list").len(), 2);
        assert_eq!(
            stand_in.requests()[1],
            "GET /v1.52/containers/json?all=1 HTTP/1.0"
        );
    }

    #[tokio::test]
    async fn restarts_the_container_then_inspects_it() {
        let stand_in = StandIn::start(|line| match line {
            PING => ping("1.41"),
            "GET /v1.41/containers/json?all=1 HTTP/1.0" => containers(),
            "POST /v1.41/containers/aaa111/restart?t=10 HTTP/1.0" => {
                b"HTTP/1.1 204 No Content\r\nServer: Docker/29.0.0 (linux)\r\n\r\n".to_vec()
            }
            "GET /v1.41/containers/aaa111/json HTTP/1.0" => http(
                "200 OK",
                "Content-Type: application/json\r\n",
                br#"{"Id":"aaa111","Name":"/essensys-redis-1","Config":{"Tty":false},
                    "State":{"Status":"running","Running":true,"ExitCode":0,
                    "StartedAt":"2025-06-01T10:00:00.5Z","FinishedAt":"2025-06-01T09:59:59Z",
                    "Health":{"Status":"starting","FailingStreak":0}}}"#,
            ),
            _ => http("404 Not Found", "", br#"{"message":"page not found"}"#),
        });
        let status = stand_in
            .engine
            .restart(&SERVICES[0])
            .await
            .expect("restart");
        assert_eq!(
            status,
            ServiceStatus {
                name: "redis".into(),
                unit: "essensys-redis-1".into(),
                state: "running".into(),
                healthy: None,
                detail: "running since 2025-06-01T10:00:00.5Z (health: starting)".into(),
                manager: "docker",
            }
        );
        assert_eq!(
            stand_in.requests(),
            [
                PING,
                "GET /v1.41/containers/json?all=1 HTTP/1.0",
                "POST /v1.41/containers/aaa111/restart?t=10 HTTP/1.0",
                "GET /v1.41/containers/aaa111/json HTTP/1.0",
            ]
        );
    }

    #[tokio::test]
    async fn reads_multiplexed_logs_with_the_tail_asked() {
        let stand_in = StandIn::start(|line| match line {
            PING => ping("1.41"),
            "GET /v1.41/containers/json?all=1 HTTP/1.0" => containers(),
            "GET /v1.41/containers/aaa111/logs?stdout=1&stderr=1&tail=2&timestamps=1 HTTP/1.0" => {
                let mut body = frame(
                    1,
                    b"2025-06-01T10:00:00.1Z Ready to accept connections tcp\n",
                );
                body.extend(frame(
                    2,
                    b"2025-06-01T10:00:01.2Z WARNING overcommit_memory is \xE9\n",
                ));
                http(
                    "200 OK",
                    "Content-Type: application/vnd.docker.multiplexed-stream\r\n",
                    &body,
                )
            }
            _ => http("404 Not Found", "", br#"{"message":"page not found"}"#),
        });
        let lines = stand_in.engine.logs(&SERVICES[0], 2).await.expect("logs");
        assert_eq!(
            lines,
            [
                "2025-06-01T10:00:00.1Z Ready to accept connections tcp",
                "2025-06-01T10:00:01.2Z WARNING overcommit_memory is \u{fffd}",
            ]
        );
        assert_eq!(
            stand_in.requests()[2],
            "GET /v1.41/containers/aaa111/logs?stdout=1&stderr=1&tail=2&timestamps=1 HTTP/1.0"
        );
    }

    #[test]
    fn logs_of_a_tty_container_are_raw_and_invalid_utf8_is_replaced() {
        let raw = b"2025-06-01T10:00:00Z one\r\n2025-06-01T10:00:01Z two \xff\n2025-06-01T10:00:02Z three\n";
        assert_eq!(demultiplex(raw), None);
        assert_eq!(
            log_lines(raw, 2),
            [
                "2025-06-01T10:00:01Z two \u{fffd}",
                "2025-06-01T10:00:02Z three"
            ]
        );
        // A line split over two frames is one line.
        let mut split = frame(1, b"2025-06-01T10:00:00Z hel");
        split.extend(frame(1, b"lo\n"));
        assert_eq!(log_lines(&split, 10), ["2025-06-01T10:00:00Z hello"]);
        assert!(log_lines(b"", 10).is_empty());
        // A frame header whose length runs past the end: not multiplexed.
        assert_eq!(demultiplex(&[1, 0, 0, 0, 0, 0, 0, 9, b'x']), None);
    }

    #[tokio::test]
    async fn reads_a_chunked_answer() {
        let stand_in = StandIn::start(|line| match line {
            PING => ping("1.41"),
            _ => {
                let (a, b) = CONTAINERS.split_at(100);
                format!(
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x};ext=1\r\n{a}\r\n{:X}\r\n{b}\r\n0\r\n\r\n",
                    a.len(),
                    b.len()
                )
                .into_bytes()
            }
        });
        let listed = stand_in.engine.list().await.expect("list");
        assert_eq!(
            listed.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["redis", "mosquitto"]
        );
    }

    #[test]
    fn unreadable_answers_are_errors_not_panics() {
        for raw in [
            &b""[..],
            b"HTTP/1.1 200 OK\r\n",
            b"SSH-2.0-OpenSSH\r\n\r\n",
            b"HTTP/1.1 2x0 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
        ] {
            assert!(
                Response::parse(raw).is_err(),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
        let ok =
            Response::parse(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA").expect("parse");
        assert_eq!((ok.status, ok.body.as_slice()), (200, &b"ok"[..]));
    }

    #[tokio::test]
    async fn relays_the_engines_error_message() {
        let stand_in = StandIn::start(|line| match line {
            PING => ping("1.41"),
            "GET /v1.41/containers/json?all=1 HTTP/1.0" => containers(),
            _ => http(
                "404 Not Found",
                "Content-Type: application/json\r\n",
                br#"{"message":"No such container: aaa111"}"#,
            ),
        });
        let error = stand_in
            .engine
            .restart(&SERVICES[0])
            .await
            .expect_err("refused");
        assert!(matches!(error, HostError::Failed(_)), "{error:?}");
        assert_eq!(
            error.to_string(),
            "the Docker Engine refused POST /v1.41/containers/aaa111/restart?t=10: \
             No such container: aaa111 (HTTP 404)"
        );
    }

    #[tokio::test]
    async fn an_allowed_service_without_a_container_is_not_found() {
        let stand_in = StandIn::start(|line| match line {
            PING => ping("1.41"),
            _ => containers(),
        });
        let error = stand_in
            .engine
            .logs(&SERVICES[2], 10)
            .await
            .expect_err("no backend");
        assert!(
            matches!(error, HostError::NotFound { ref name, manager: "docker" } if name == "backend"),
            "{error:?}"
        );
        assert_eq!(stand_in.requests().len(), 2, "nothing asked after the list");
    }

    #[tokio::test]
    async fn an_engine_that_never_answers_times_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("docker.sock");
        let listener = UnixListener::bind(&socket).expect("bind");
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let limit = Duration::from_millis(200);
        let engine = Engine {
            socket,
            timeout: limit,
            restart_timeout: limit,
        };
        let started = std::time::Instant::now();
        let error = engine.list().await.expect_err("timeout");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(
            error
                .to_string()
                .ends_with("did not answer GET /_ping within 200ms; is dockerd running?"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_socket_nobody_listens_on_says_what_to_check() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::new(dir.path().join("docker.sock"));
        let error = engine.list().await.expect_err("no engine").to_string();
        assert!(
            error.starts_with("cannot connect to the Docker Engine at "),
            "{error}"
        );
        assert!(error.contains("docker group"), "{error}");
    }
}
