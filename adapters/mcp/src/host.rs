//! The machine the gateway runs on, as agents see it: the stack's services (through the Docker
//! Engine API on its Unix socket, else systemd/journald, else "not available on this host") and
//! the machine's figures (load, memory, disk, uptime, CPU temperature). Never invents data.
//!
//! # What it guarantees
//! - **Only the stack's own services.** A name is looked up in [`SERVICES`] (exactly, lower
//!   case) before any manager is contacted; anything else is [`HostError::NotAllowed`].
//! - **Bounded.** Every socket exchange and every process has a timeout, and every answer is
//!   read up to a byte cap; a child process is killed when its call is dropped.
//! - **Honest.** A figure that cannot be read is `None`; a manager that fails is relayed as
//!   [`HostError::Failed`] with its own message.
//!
//! # Layout
//! - `docker`: a minimal HTTP/1.0 client of the Docker Engine API over its Unix socket.
//! - `systemd`: `systemctl` and `journalctl`, run as child processes.
//! - `figures`: load, memory, uptime and cores from `/proc`, disk from `statvfs`, temperature
//!   from the thermal zones.
//!
//! # Testing
//! No Docker Engine is installed on the development machine and systemd does not run there, so
//! the tests talk to stand-ins: a Unix socket in a temporary directory that answers canned
//! Engine responses, and shell scripts that play `systemctl` and `journalctl`. The figures are
//! read from fixture directories, and once from this machine's real `/proc`.

mod docker;
mod figures;
mod systemd;

use std::path::PathBuf;

use serde::Serialize;
use thiserror::Error;

pub use figures::{Disk, Figures, Memory};

/// The most log lines one call returns (and the fewest is 1).
pub const MAX_LOG_LINES: usize = 500;

/// Where to look for the machine's managers and figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// The Docker Engine socket (default `/var/run/docker.sock`).
    pub docker_socket: PathBuf,
    /// Where systemd's runtime directory is (default `/run/systemd/system`: its existence means
    /// systemd runs).
    pub systemd_dir: PathBuf,
    /// `/proc` (tests point elsewhere).
    pub proc_dir: PathBuf,
    /// `/sys/class/thermal`.
    pub thermal_dir: PathBuf,
    /// The path whose file system's usage is reported (default `/`).
    pub disk_path: PathBuf,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            docker_socket: PathBuf::from("/var/run/docker.sock"),
            systemd_dir: PathBuf::from("/run/systemd/system"),
            proc_dir: PathBuf::from("/proc"),
            thermal_dir: PathBuf::from("/sys/class/thermal"),
            disk_path: PathBuf::from("/"),
        }
    }
}

/// One service of the stack: the name agents use and the systemd unit that runs it when the
/// stack is not under Docker. Under Docker, the container is the one whose Compose service
/// label (else whose name) is `name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The stack's name, e.g. `redis`.
    pub name: &'static str,
    /// The systemd unit, e.g. `redis-server.service`.
    pub unit: &'static str,
}

impl Service {
    const fn new(name: &'static str, unit: &'static str) -> Self {
        Self { name, unit }
    }
}

/// The allow-list: the only services agents may see, restart or read the logs of.
pub const SERVICES: [Service; 11] = [
    Service::new("redis", "redis-server.service"),
    Service::new("mosquitto", "mosquitto.service"),
    Service::new("backend", "essensys-backend.service"),
    Service::new("mcp", "essensys-mcp.service"),
    Service::new("nginx", "nginx.service"),
    Service::new("traefik", "traefik.service"),
    Service::new("adguard", "AdGuardHome.service"),
    Service::new("prometheus", "prometheus.service"),
    Service::new("alertmanager", "prometheus-alertmanager.service"),
    Service::new("node-exporter", "prometheus-node-exporter.service"),
    Service::new("openclaw", "openclaw.service"),
];

/// Which service manager answers on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    /// The Docker Engine, through its Unix socket.
    Docker,
    /// systemd and journald, through `systemctl` and `journalctl`.
    Systemd,
    /// Neither: services cannot be seen from here.
    None,
}

impl Manager {
    /// `"docker"`, `"systemd"` or `"none"`.
    pub fn name(self) -> &'static str {
        match self {
            Manager::Docker => "docker",
            Manager::Systemd => "systemd",
            Manager::None => "none",
        }
    }
}

/// One service's state, as its manager reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceStatus {
    /// The stack's name, e.g. `redis`.
    pub name: String,
    /// The container's name or the systemd unit.
    pub unit: String,
    /// `running`, `exited`, `active`, `failed`… as the manager says.
    pub state: String,
    /// Docker's health check (`None` without one), or whether the systemd unit is active.
    pub healthy: Option<bool>,
    /// Docker's status text (`Up 3 hours (healthy)`) or systemd's sub-state (`running`).
    pub detail: String,
    /// `docker` or `systemd`.
    pub manager: &'static str,
}

/// The last lines a service logged, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceLogs {
    /// The stack's name, e.g. `redis`.
    pub name: String,
    /// `docker` or `systemd`.
    pub manager: &'static str,
    /// The lines, without their line ends; invalid UTF-8 is replaced.
    pub lines: Vec<String>,
}

/// Why a service could not be listed, restarted or read.
#[derive(Debug, Error)]
pub enum HostError {
    /// Neither Docker nor systemd here.
    #[error(
        "service management is not available on this host: no Docker Engine socket at {} and \
         no systemd (no {}); mount the Docker socket into the gateway's container, or run the \
         stack under systemd",
        docker_socket.display(),
        systemd_dir.display()
    )]
    NotAvailable {
        /// Where the Docker socket was looked for.
        docker_socket: PathBuf,
        /// Where systemd's runtime directory was looked for.
        systemd_dir: PathBuf,
    },
    /// A name not in the stack's allow-list.
    #[error(
        "{name:?} is not one of the stack's services; allowed: {}",
        allowed_names()
    )]
    NotAllowed {
        /// The name asked for.
        name: String,
    },
    /// Allowed, but the manager has no such service/container.
    #[error("{manager} has no service {name:?} on this host: it is not deployed here")]
    NotFound {
        /// The stack's name asked for.
        name: String,
        /// `docker` or `systemd`.
        manager: &'static str,
    },
    /// The manager failed or answered something unreadable.
    #[error("{0}")]
    Failed(String),
}

/// The allowed names, comma-separated.
fn allowed_names() -> String {
    SERVICES.map(|service| service.name).join(", ")
}

/// The allow-listed service called exactly `name`.
fn allowed(name: &str) -> Result<&'static Service, HostError> {
    SERVICES
        .iter()
        .find(|service| service.name == name)
        .ok_or_else(|| HostError::NotAllowed {
            name: name.to_owned(),
        })
}

/// The host: its services and its figures. Cheap to clone; `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Host {
    config: HostConfig,
}

impl Host {
    /// A host read through `config`'s paths. Touches nothing until asked.
    pub fn new(config: HostConfig) -> Self {
        Self { config }
    }

    /// Which manager answers now: Docker when the socket exists, else systemd when
    /// `systemd_dir` exists, else none. Decided at each call (the socket may appear later).
    pub fn manager(&self) -> Manager {
        if self.config.docker_socket.exists() {
            Manager::Docker
        } else if self.config.systemd_dir.is_dir() {
            Manager::Systemd
        } else {
            Manager::None
        }
    }

    /// The allow-listed services the manager knows, in [`SERVICES`] order.
    ///
    /// # Errors
    /// [`HostError::NotAvailable`] without a manager, [`HostError::Failed`] when it fails.
    pub async fn services(&self) -> Result<Vec<ServiceStatus>, HostError> {
        match self.manager() {
            Manager::Docker => self.docker().list().await,
            Manager::Systemd => systemd::Systemd::new().list().await,
            Manager::None => Err(self.not_available()),
        }
    }

    /// Restarts the service `name` and returns its status afterwards.
    ///
    /// # Errors
    /// [`HostError::NotAllowed`] (checked first, before any manager is contacted),
    /// [`HostError::NotAvailable`], [`HostError::NotFound`], [`HostError::Failed`].
    pub async fn restart(&self, name: &str) -> Result<ServiceStatus, HostError> {
        let service = allowed(name)?;
        match self.manager() {
            Manager::Docker => self.docker().restart(service).await,
            Manager::Systemd => systemd::Systemd::new().restart(service).await,
            Manager::None => Err(self.not_available()),
        }
    }

    /// The last `lines` lines (clamped to `1..=500`) the service `name` logged.
    ///
    /// # Errors
    /// As [`Host::restart`].
    pub async fn logs(&self, name: &str, lines: usize) -> Result<ServiceLogs, HostError> {
        let service = allowed(name)?;
        let lines = lines.clamp(1, MAX_LOG_LINES);
        let manager = self.manager();
        let lines = match manager {
            Manager::Docker => self.docker().logs(service, lines).await?,
            Manager::Systemd => systemd::Systemd::new().logs(service, lines).await?,
            Manager::None => return Err(self.not_available()),
        };
        Ok(ServiceLogs {
            name: service.name.to_owned(),
            manager: manager.name(),
            lines,
        })
    }

    /// The machine's figures; each is `None` where it cannot be read.
    pub async fn figures(&self) -> Figures {
        figures::read(&self.config).await
    }

    fn docker(&self) -> docker::Engine {
        docker::Engine::new(self.config.docker_socket.clone())
    }

    fn not_available(&self) -> HostError {
        HostError::NotAvailable {
            docker_socket: self.config.docker_socket.clone(),
            systemd_dir: self.config.systemd_dir.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(dir: &std::path::Path) -> HostConfig {
        HostConfig {
            docker_socket: dir.join("docker.sock"),
            systemd_dir: dir.join("systemd"),
            proc_dir: dir.join("proc"),
            thermal_dir: dir.join("thermal"),
            disk_path: dir.to_path_buf(),
        }
    }

    #[test]
    fn the_allow_list_matches_exactly_and_in_lower_case() {
        assert_eq!(
            allowed("redis").map(|s| s.unit).ok(),
            Some("redis-server.service")
        );
        assert_eq!(
            allowed("adguard").map(|s| s.unit).ok(),
            Some("AdGuardHome.service")
        );
        for name in [
            "Redis",
            "redis ",
            "redis-server",
            "redis-server.service",
            "",
            "sshd",
        ] {
            assert!(
                matches!(allowed(name), Err(HostError::NotAllowed { .. })),
                "{name:?} must be refused"
            );
        }
        let message = allowed("sshd")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.contains("\"sshd\" is not one of the stack's services"),
            "{message}"
        );
        assert!(message.contains("redis, mosquitto, backend, mcp, nginx, traefik, adguard"));
        assert!(message.ends_with("node-exporter, openclaw"), "{message}");
    }

    #[test]
    fn the_host_and_its_futures_may_cross_threads() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        fn send<T: Send>(_: T) {}
        let host = Host::new(HostConfig::default());
        send_sync(&host);
        send(host.services());
        send(host.restart("redis"));
        send(host.logs("redis", 10));
        send(host.figures());
    }

    #[test]
    fn the_manager_is_decided_at_each_call() {
        let dir = tempfile::tempdir().expect("tempdir");
        let host = Host::new(config_in(dir.path()));
        assert_eq!(host.manager(), Manager::None);
        std::fs::create_dir(dir.path().join("systemd")).expect("mkdir");
        assert_eq!(host.manager(), Manager::Systemd);
        let _listener =
            std::os::unix::net::UnixListener::bind(dir.path().join("docker.sock")).expect("bind");
        assert_eq!(host.manager(), Manager::Docker);
        assert_eq!(
            [Manager::Docker, Manager::Systemd, Manager::None].map(Manager::name),
            ["docker", "systemd", "none"]
        );
    }

    #[tokio::test]
    async fn a_name_outside_the_allow_list_is_refused_before_any_contact() {
        let dir = tempfile::tempdir().expect("tempdir");
        let host = Host::new(config_in(dir.path()));
        let listener =
            tokio::net::UnixListener::bind(dir.path().join("docker.sock")).expect("bind");
        assert_eq!(host.manager(), Manager::Docker);

        let restarted = host.restart("sshd").await;
        assert!(matches!(restarted, Err(HostError::NotAllowed { ref name }) if name == "sshd"));
        let logs = host.logs("sshd", 10).await;
        assert!(matches!(logs, Err(HostError::NotAllowed { ref name }) if name == "sshd"));

        // Nobody knocked on the stand-in Engine.
        let knock =
            tokio::time::timeout(std::time::Duration::from_millis(100), listener.accept()).await;
        assert!(
            knock.is_err(),
            "the Engine was contacted for a refused name"
        );
    }

    #[tokio::test]
    async fn without_docker_or_systemd_services_are_not_available() {
        let dir = tempfile::tempdir().expect("tempdir");
        let host = Host::new(config_in(dir.path()));
        assert_eq!(host.manager(), Manager::None);

        let listed = host.services().await;
        assert!(
            matches!(listed, Err(HostError::NotAvailable { .. })),
            "{listed:?}"
        );
        assert!(matches!(
            host.restart("redis").await,
            Err(HostError::NotAvailable { .. })
        ));
        assert!(matches!(
            host.logs("redis", 5).await,
            Err(HostError::NotAvailable { .. })
        ));

        let message = listed.err().map(|e| e.to_string()).unwrap_or_default();
        let socket = dir.path().join("docker.sock");
        assert!(
            message.starts_with(&format!(
                "service management is not available on this host: no Docker Engine socket at {}",
                socket.display()
            )),
            "{message}"
        );
    }
}
