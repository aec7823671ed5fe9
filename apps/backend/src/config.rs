//! Configuration: command-line flags, each with an `ESSENSYS_*` environment fallback, over an
//! optional TOML file, over defaults. Precedence: flag > environment > file > default.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use essensys_core::{gateway::GatewayConfig, matricule::Key, Index};
use essensys_mqtt::{BrokerUrl, MqttOptions};
use serde::Deserialize;

/// The default `--box-timeout-secs`: a box polls every 2 or 5 s.
const DEFAULT_BOX_TIMEOUT: Duration = Duration::from_secs(60);

/// Log output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (for log collectors).
    Json,
}

/// essensys-backend: the gateway an Essensys box (BP_MQX_ETH) talks to, plus the HTTP API.
///
/// Serves the box's legacy endpoints (/api/serverinfos, /api/mystatus, /api/myactions,
/// /api/done/GUID) and the admin/device API, health, table_ref and debug pages on one port.
/// Point the box at it by making `mon.essensys.fr` resolve to this machine (DNS rewrite).
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
pub struct Cli {
    /// Address to listen on [default: 0.0.0.0:80, the only port the box knows]
    #[arg(long, env = "ESSENSYS_LISTEN", value_name = "ADDR", value_parser = listen_address)]
    pub listen: Option<SocketAddr>,

    /// Where state is kept: `memory` (lost on restart) or `redis://HOST:PORT/DB` (survives
    /// restarts, shared by several backends) [default: memory]
    #[arg(long, env = "ESSENSYS_STORE", value_name = "STORE")]
    pub store: Option<String>,

    /// The same as `--store redis://…`, for deployments that set ESSENSYS_REDIS_URL
    #[arg(long, env = "ESSENSYS_REDIS_URL", value_name = "URL")]
    pub redis_url: Option<String>,

    /// Optional TOML file with the same settings (keys: listen, store, admin_token,
    /// admin_token_file, trusted_proxies, box_keys,
    /// connected, watch, max_pending, forget_after_days, reply_headroom, head_timeout_secs,
    /// max_connections_per_source, request_timeout_secs, max_connections, worker_threads, log_format,
    /// mqtt_url, mqtt_password_file, mqtt_base, ha_discovery_prefix, box_timeout_secs, dashboard,
    /// mcp_token_file, mcp_allowed_hosts, docker_socket)
    #[arg(long, env = "ESSENSYS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Require `Authorization: Bearer TOKEN` on /api/admin/* and /api/v1/* [default: none, LAN use]
    #[arg(
        long,
        env = "ESSENSYS_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,

    /// Proxies whose X-Forwarded-For is believed, comma-separated (nginx on this machine:
    /// 127.0.0.1,::1); without an admin token the API answers only local-network clients
    /// [default: none: the connection's own address counts]
    #[arg(
        long,
        env = "ESSENSYS_TRUSTED_PROXIES",
        value_name = "IPS",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// A file holding the admin token (first line), so that it appears in no process list
    #[arg(long, env = "ESSENSYS_ADMIN_TOKEN_FILE", value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,

    /// Strict mode: serve only boxes with these 32-digit keys (repeat, or comma-separate in the
    /// environment); also what alarm orders are encrypted with [default: any box, identified by
    /// its matricule; no alarm orders]
    #[arg(
        long = "box-key",
        env = "ESSENSYS_BOX_KEYS",
        value_name = "KEY",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub box_keys: Vec<String>,

    /// The `isconnected` answer: true makes boxes poll every 2 s instead of 5 s [default: true]
    #[arg(long, env = "ESSENSYS_CONNECTED", value_name = "BOOL")]
    pub connected: Option<bool>,

    /// Cells boxes are asked to report, rotating 30 per cycle (comma-separated indices)
    /// [default: versions, clock, alerts, heating, water heater, watering, alarm, meter, scenarios]
    #[arg(
        long,
        env = "ESSENSYS_WATCH",
        value_name = "INDICES",
        value_delimiter = ','
    )]
    pub watch: Vec<u16>,

    /// Most actions waiting for one box: an order for a box with that many waiting is refused
    /// with 429 (retry later), so a silent box's queue cannot grow without end [default: 64]
    #[arg(long, env = "ESSENSYS_MAX_PENDING", value_name = "N")]
    pub max_pending: Option<usize>,

    /// Seconds a whole request may take to arrive before the connection is closed [default: 10]
    #[arg(long, env = "ESSENSYS_REQUEST_TIMEOUT", value_name = "SECS")]
    pub request_timeout_secs: Option<u64>,

    /// Days without a poll after which a box with nothing waiting is forgotten (its table,
    /// contact and pin), checked hourly; 0 keeps every box forever [default: 30]
    #[arg(long, env = "ESSENSYS_FORGET_AFTER_DAYS", value_name = "DAYS")]
    pub forget_after_days: Option<u64>,

    /// Bytes a reverse proxy in front of the box adds to each reply's head, so that `myactions`
    /// replies still reach the box in one segment: nginx adds `Server` and `Date` (52 bytes);
    /// the compose stack sets 64 [default: 0, the box talks to the gateway directly]
    #[arg(long, env = "ESSENSYS_REPLY_HEADROOM", value_name = "BYTES")]
    pub reply_headroom: Option<usize>,

    /// Seconds a request's head may take to arrive (the box sends it in one write) [default: 2]
    #[arg(long, env = "ESSENSYS_HEAD_TIMEOUT", value_name = "SECS")]
    pub head_timeout_secs: Option<u64>,

    /// Most connections one source address may hold at once (trusted proxies excepted)
    /// [default: 32]
    #[arg(long, env = "ESSENSYS_MAX_CONNECTIONS_PER_SOURCE", value_name = "N")]
    pub max_connections_per_source: Option<usize>,

    /// Most connections handled at once; when all are taken, the oldest one that has not sent
    /// its request head yet is dropped for a newcomer [default: 512]
    #[arg(long, env = "ESSENSYS_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,

    /// Threads serving requests: 1 runs everything on one thread, measured cheapest per request
    /// (see README, benchmark); more spreads load over cores [default: 1]
    #[arg(long, env = "ESSENSYS_WORKER_THREADS", value_name = "N")]
    pub worker_threads: Option<usize>,

    /// Log format; the level comes from RUST_LOG (e.g. `info`, `essensys=debug`) [default: text]
    #[arg(long, env = "ESSENSYS_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,

    /// Home Assistant over MQTT: the broker, `mqtt://[user[:password]@]host[:port]`
    /// [default: none, the bridge is off]
    #[arg(
        long,
        env = "ESSENSYS_MQTT_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub mqtt_url: Option<String>,

    /// The broker password, when it is not in --mqtt-url (never printed)
    #[arg(
        long,
        env = "ESSENSYS_MQTT_PASSWORD",
        value_name = "PASSWORD",
        hide_env_values = true
    )]
    pub mqtt_password: Option<String>,

    /// A file holding the broker password (first line), so that it appears in no process list
    #[arg(long, env = "ESSENSYS_MQTT_PASSWORD_FILE", value_name = "FILE")]
    pub mqtt_password_file: Option<PathBuf>,

    /// Root of the bridge's topics: `<base>/bridge/state`, `<base>/<box>/…` [default: essensys]
    #[arg(long, env = "ESSENSYS_MQTT_BASE", value_name = "TOPIC")]
    pub mqtt_base: Option<String>,

    /// Home Assistant's MQTT discovery prefix [default: homeassistant]
    #[arg(long, env = "ESSENSYS_HA_DISCOVERY_PREFIX", value_name = "TOPIC")]
    pub ha_discovery_prefix: Option<String>,

    /// Seconds without a poll after which a box is shown offline, in Home Assistant and on the
    /// dashboard [default: 60]
    #[arg(long, env = "ESSENSYS_BOX_TIMEOUT", value_name = "SECS")]
    pub box_timeout_secs: Option<u64>,

    /// The built dashboard (`npm run build` in apps/dashboard) to serve at `/`; without an
    /// index.html there, `/` says how to build it [default: apps/dashboard/dist]
    #[arg(long, env = "ESSENSYS_DASHBOARD", value_name = "DIR")]
    pub dashboard: Option<PathBuf>,

    /// Agents over MCP: serve /mcp (Streamable HTTP) and /sse + /messages (legacy SSE) on this
    /// port, each request needing `Authorization: Bearer TOKEN` [default: none, MCP is off]
    #[arg(
        long,
        env = "ESSENSYS_MCP_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub mcp_token: Option<String>,

    /// A file holding the MCP token (first line), so that it appears in no process list
    #[arg(long, env = "ESSENSYS_MCP_TOKEN_FILE", value_name = "FILE")]
    pub mcp_token_file: Option<PathBuf>,

    /// `Host` values MCP requests may carry, comma-separated (`name` or `name:port`), e.g. the
    /// names nginx or compose use [default: localhost, 127.0.0.1, ::1 and this host's name]
    #[arg(
        long,
        env = "ESSENSYS_MCP_ALLOWED_HOSTS",
        value_name = "HOSTS",
        value_delimiter = ','
    )]
    pub mcp_allowed_hosts: Vec<String>,

    /// The Docker Engine socket the MCP service tools use (systemd is used when it is absent)
    /// [default: /var/run/docker.sock]
    #[arg(long, env = "ESSENSYS_DOCKER_SOCKET", value_name = "PATH")]
    pub docker_socket: Option<PathBuf>,
}

/// The TOML file's content: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    listen: Option<SocketAddr>,
    store: Option<String>,
    admin_token: Option<String>,
    admin_token_file: Option<PathBuf>,
    #[serde(default)]
    trusted_proxies: Vec<std::net::IpAddr>,
    #[serde(default)]
    box_keys: Vec<String>,
    connected: Option<bool>,
    #[serde(default)]
    watch: Vec<u16>,
    request_timeout_secs: Option<u64>,
    max_pending: Option<usize>,
    forget_after_days: Option<u64>,
    reply_headroom: Option<usize>,
    head_timeout_secs: Option<u64>,
    max_connections_per_source: Option<usize>,
    max_connections: Option<usize>,
    worker_threads: Option<usize>,
    log_format: Option<LogFormat>,
    mqtt_url: Option<String>,
    mqtt_password_file: Option<PathBuf>,
    mqtt_base: Option<String>,
    ha_discovery_prefix: Option<String>,
    box_timeout_secs: Option<u64>,
    dashboard: Option<PathBuf>,
    mcp_token_file: Option<PathBuf>,
    #[serde(default)]
    mcp_allowed_hosts: Vec<String>,
    docker_socket: Option<PathBuf>,
}

/// Where state is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// In this process; lost on restart.
    Memory,
    /// A Redis server (`redis://HOST:PORT/DB`).
    Redis(String),
}

impl StoreKind {
    /// The name shown by /health.
    pub fn name(&self) -> &'static str {
        match self {
            StoreKind::Memory => "memory",
            StoreKind::Redis(_) => "redis",
        }
    }

    fn parse(text: &str) -> anyhow::Result<Self> {
        match text {
            "memory" => Ok(StoreKind::Memory),
            url if url.starts_with("redis://") || url.starts_with("rediss://") => {
                Ok(StoreKind::Redis(url.to_string()))
            }
            other => bail!("unknown store {other:?}: use `memory` or `redis://HOST:PORT/DB`"),
        }
    }
}

/// The resolved settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where state is kept.
    pub store: StoreKind,
    /// Bearer token for the admin and device API.
    pub admin_token: Option<String>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Strict mode keys (empty: any box).
    pub box_keys: Vec<Key>,
    /// How boxes are answered.
    pub gateway: GatewayConfig,
    /// Deadline of one request.
    pub request_timeout: Duration,
    /// Connection cap.
    pub max_connections: usize,
    /// Per-source connection cap.
    pub max_connections_per_source: usize,
    /// Deadline of a request's head.
    pub head_timeout: Duration,
    /// What a proxy in front adds to each reply's head.
    pub reply_headroom: usize,
    /// How long a box with nothing waiting may stay silent before it is forgotten (`None`:
    /// never).
    pub forget_after: Option<Duration>,
    /// Threads serving requests (1: a single-threaded runtime).
    pub worker_threads: usize,
    /// Log format.
    pub log_format: LogFormat,
    /// The Home Assistant bridge, when a broker is configured.
    pub mqtt: Option<MqttOptions>,
    /// MCP for agents, when a token is configured.
    pub mcp: Option<essensys_mcp::McpSettings>,
    /// A box silent this long is offline (Home Assistant, dashboard).
    pub box_timeout: Duration,
    /// The built dashboard served at `/`.
    pub dashboard: PathBuf,
}

impl Settings {
    /// Resolves flags, environment, file and defaults.
    pub fn resolve(cli: Cli) -> anyhow::Result<Self> {
        let file = match &cli.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                toml::from_str::<File>(&text)
                    .with_context(|| format!("invalid config file {}", path.display()))?
            }
            None => File::default(),
        };
        let store = StoreKind::parse(
            cli.store
                .or(cli.redis_url)
                .or(file.store)
                .as_deref()
                .unwrap_or("memory"),
        )?;
        let keys = if cli.box_keys.is_empty() {
            file.box_keys
        } else {
            cli.box_keys
        };
        let box_keys = keys
            .iter()
            .enumerate()
            .map(|(n, k)| Key::parse(k).with_context(|| format!("box key #{}", n + 1)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let watch_list = if cli.watch.is_empty() {
            file.watch
        } else {
            cli.watch
        };
        let mut gateway = GatewayConfig::default();
        if let Some(twice) = watch_list
            .iter()
            .enumerate()
            .find_map(|(n, i)| watch_list[..n].contains(i).then_some(i))
        {
            bail!("--watch names cell {twice} twice: give each cell once");
        }
        if !watch_list.is_empty() {
            gateway.watch = watch_list
                .into_iter()
                .map(|i| Index::new(i).map_err(anyhow::Error::from))
                .collect::<anyhow::Result<_>>()
                .context("--watch")?;
        }
        if let Some(connected) = cli.connected.or(file.connected) {
            gateway.connected = connected;
        }
        gateway.box_keys = box_keys.clone();
        if let Some(max) = cli.max_pending.or(file.max_pending) {
            gateway.max_pending = at_least_one("--max-pending", max)?;
        }
        let box_timeout = match cli.box_timeout_secs.or(file.box_timeout_secs) {
            Some(0) => bail!("--box-timeout-secs must be at least 1 second"),
            Some(secs) => Duration::from_secs(secs),
            None => DEFAULT_BOX_TIMEOUT,
        };
        let mqtt = mqtt_options(
            cli.mqtt_url.or(file.mqtt_url),
            cli.mqtt_password,
            cli.mqtt_password_file.or(file.mqtt_password_file),
            cli.mqtt_base.or(file.mqtt_base),
            cli.ha_discovery_prefix.or(file.ha_discovery_prefix),
            box_timeout,
        )?;
        let dashboard = cli
            .dashboard
            .or(file.dashboard)
            .unwrap_or_else(|| PathBuf::from("apps/dashboard/dist"));
        let admin_token = essensys_http_api::auth::token(
            "--admin-token",
            cli.admin_token.or(file.admin_token),
            cli.admin_token_file.or(file.admin_token_file).as_deref(),
        )?;
        let mcp = essensys_mcp::McpSettings::resolve(
            cli.mcp_token,
            cli.mcp_token_file.or(file.mcp_token_file),
            if cli.mcp_allowed_hosts.is_empty() {
                file.mcp_allowed_hosts
            } else {
                cli.mcp_allowed_hosts
            },
            cli.docker_socket.or(file.docker_socket),
        )
        .context("MCP")?;
        let timeout = cli
            .request_timeout_secs
            .or(file.request_timeout_secs)
            .unwrap_or(10);
        if timeout == 0 {
            bail!("--request-timeout must be at least 1 second");
        }
        Ok(Self {
            listen: cli
                .listen
                .or(file.listen)
                .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 80))),
            store,
            admin_token,
            trusted_proxies: if cli.trusted_proxies.is_empty() {
                file.trusted_proxies
            } else {
                cli.trusted_proxies
            },
            box_keys,
            gateway,
            request_timeout: Duration::from_secs(timeout),
            forget_after: match cli
                .forget_after_days
                .or(file.forget_after_days)
                .unwrap_or(30)
            {
                0 => None,
                days => Some(Duration::from_secs(days.saturating_mul(86_400))),
            },
            reply_headroom: match cli.reply_headroom.or(file.reply_headroom).unwrap_or(0) {
                n if n > essensys_legacy_http::box_api::MAX_HEADROOM => bail!(
                    "--reply-headroom {n} is more than {} bytes: a proxy adding that much \
                     leaves no room for the box's orders",
                    essensys_legacy_http::box_api::MAX_HEADROOM
                ),
                n => n,
            },
            max_connections_per_source: at_least_one(
                "--max-connections-per-source",
                cli.max_connections_per_source
                    .or(file.max_connections_per_source)
                    .unwrap_or(32),
            )?,
            head_timeout: Duration::from_secs(at_least_one(
                "--head-timeout-secs",
                cli.head_timeout_secs
                    .or(file.head_timeout_secs)
                    .unwrap_or(2) as usize,
            )? as u64),
            max_connections: at_least_one(
                "--max-connections",
                cli.max_connections.or(file.max_connections).unwrap_or(512),
            )?,
            worker_threads: at_least_one(
                "--worker-threads",
                cli.worker_threads.or(file.worker_threads).unwrap_or(1),
            )?,
            log_format: cli.log_format.or(file.log_format).unwrap_or_default(),
            mqtt,
            mcp,
            box_timeout,
            dashboard,
        })
    }
}

/// An address to listen on: `IP:PORT`, or `NAME:PORT` (`localhost:8080`) resolved here, IPv4
/// first.
pub fn listen_address(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(text)
        .map_err(|e| format!("{text:?} is not HOST:PORT ({e}); e.g. 0.0.0.0:80 or localhost:8080"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("{text:?} resolves to no address"))
}

/// `n`, refused when 0 (which would serve nothing).
fn at_least_one(option: &str, n: usize) -> anyhow::Result<usize> {
    if n == 0 {
        bail!("{option} must be at least 1");
    }
    Ok(n)
}

/// The bridge's options, or `None` without a broker URL. The password comes from the URL, else
/// `--mqtt-password`, else the password file.
fn mqtt_options(
    url: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    base: Option<String>,
    prefix: Option<String>,
    box_timeout: Duration,
) -> anyhow::Result<Option<MqttOptions>> {
    let Some(url) = url.filter(|u| !u.trim().is_empty()) else {
        if password.is_some() || password_file.is_some() {
            bail!("an MQTT password is set but no broker: give --mqtt-url mqtt://HOST:PORT");
        }
        return Ok(None);
    };
    let mut broker = BrokerUrl::parse(&url).context("--mqtt-url")?;
    if broker.password.is_none() {
        broker.password = match (password, password_file) {
            (Some(password), _) => Some(password),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path).with_context(|| {
                    format!("cannot read the MQTT password file {}", path.display())
                })?;
                Some(text.lines().next().unwrap_or("").to_string())
            }
            (None, None) => None,
        };
    }
    let mut options = MqttOptions::new(broker);
    if let Some(base) = base {
        options.base = base;
    }
    if let Some(prefix) = prefix {
        options.discovery_prefix = prefix;
    }
    options.box_timeout = box_timeout;
    for (what, value) in [
        ("--mqtt-base", &options.base),
        ("--ha-discovery-prefix", &options.discovery_prefix),
    ] {
        if !essensys_mqtt::options::valid_prefix(value) {
            bail!("{what} {value:?} is not a valid topic prefix: no '+', '#', empty level or '/' at either end");
        }
    }
    Ok(Some(options))
}
