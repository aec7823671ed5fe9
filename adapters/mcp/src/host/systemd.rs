//! The stack's services under systemd: `systemctl` and `journalctl` as child processes, each
//! under a timeout, killed when dropped, its output read up to a byte cap.
//!
//! # Format
//! ```text
//! systemctl show --property=ActiveState,SubState,LoadState UNIT…   -> KEY=VALUE lines, a blank line between units
//! systemctl --no-ask-password restart UNIT                         -> exit status 0
//! journalctl -u UNIT -n N --no-pager -o short-iso                 -> one line per entry
//! ```
//! `LoadState=not-found` means the unit is not installed here. `--no-ask-password` makes a
//! restart the gateway's user may not do fail at once instead of waiting for a password.
//!
//! systemd does not run on the development machine: the tests run shell scripts that play
//! `systemctl` and `journalctl`.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncReadExt},
    process::Command,
};

use super::{HostError, Service, ServiceStatus, SERVICES};

/// How long `systemctl show` or `journalctl` may run.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long `systemctl restart` may run (a unit may take long to stop and start).
const RESTART_TIMEOUT: Duration = Duration::from_secs(60);
/// The most bytes read from a process's stdout.
const MAX_STDOUT: usize = 1 << 20;
/// The most bytes kept from a process's stderr (the rest is read and dropped).
const MAX_STDERR: usize = 16 << 10;
/// The manager's name in statuses and errors.
const MANAGER: &str = "systemd";

/// systemd, through its command-line tools.
#[derive(Debug, Clone)]
pub(super) struct Systemd {
    systemctl: PathBuf,
    journalctl: PathBuf,
    timeout: Duration,
    restart_timeout: Duration,
}

impl Systemd {
    /// `systemctl` and `journalctl` from `PATH`, with the default timeouts.
    pub(super) fn new() -> Self {
        Self {
            systemctl: PathBuf::from("systemctl"),
            journalctl: PathBuf::from("journalctl"),
            timeout: TIMEOUT,
            restart_timeout: RESTART_TIMEOUT,
        }
    }

    /// The allow-listed units installed here, in [`SERVICES`] order.
    pub(super) async fn list(&self) -> Result<Vec<ServiceStatus>, HostError> {
        let units = SERVICES.map(|service| service.unit);
        let shown = self.show(&units).await?;
        Ok(SERVICES
            .iter()
            .zip(shown)
            .filter(|(_, unit)| unit.load != "not-found")
            .map(|(service, unit)| unit.status(service))
            .collect())
    }

    /// Restarts the service's unit and returns its state afterwards.
    pub(super) async fn restart(&self, service: &Service) -> Result<ServiceStatus, HostError> {
        self.status(service).await?;
        let args = ["--no-ask-password", "restart", service.unit];
        run(&self.systemctl, &args, self.restart_timeout).await?;
        self.status(service).await
    }

    /// The last `lines` lines of the unit's journal.
    pub(super) async fn logs(
        &self,
        service: &Service,
        lines: usize,
    ) -> Result<Vec<String>, HostError> {
        self.status(service).await?;
        let count = lines.to_string();
        let args = [
            "-u",
            service.unit,
            "-n",
            &count,
            "--no-pager",
            "-o",
            "short-iso",
        ];
        let out = run(&self.journalctl, &args, self.timeout).await?;
        let text = String::from_utf8_lossy(&out);
        let all: Vec<&str> = text.lines().collect();
        let skip = all.len().saturating_sub(lines);
        Ok(all[skip..].iter().map(|line| (*line).to_owned()).collect())
    }

    /// The service's state; [`HostError::NotFound`] if its unit is not installed.
    async fn status(&self, service: &Service) -> Result<ServiceStatus, HostError> {
        let shown = self.show(&[service.unit]).await?;
        match shown.first() {
            Some(unit) if unit.load != "not-found" => Ok(unit.status(service)),
            _ => Err(HostError::NotFound {
                name: service.name.to_owned(),
                manager: MANAGER,
            }),
        }
    }

    /// `systemctl show` of `units`, one [`Unit`] per unit asked, in order.
    async fn show(&self, units: &[&str]) -> Result<Vec<Unit>, HostError> {
        let mut args = vec!["show", "--property=ActiveState,SubState,LoadState"];
        args.extend_from_slice(units);
        let out = run(&self.systemctl, &args, self.timeout).await?;
        let shown = parse_show(&String::from_utf8_lossy(&out));
        if shown.len() != units.len() {
            return Err(HostError::Failed(format!(
                "systemctl show answered {} units for the {} asked: {}",
                shown.len(),
                units.len(),
                units.join(" ")
            )));
        }
        Ok(shown)
    }
}

/// The properties of one unit read from `systemctl show`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Unit {
    load: String,
    active: String,
    sub: String,
}

impl Unit {
    fn status(&self, service: &Service) -> ServiceStatus {
        ServiceStatus {
            name: service.name.to_owned(),
            unit: service.unit.to_owned(),
            state: self.active.clone(),
            healthy: Some(self.active == "active"),
            detail: self.sub.clone(),
            manager: MANAGER,
        }
    }
}

/// The units of `systemctl show`'s output: `KEY=VALUE` lines, a blank line between units.
/// A unit without a `LoadState` is not one (and is left out).
fn parse_show(text: &str) -> Vec<Unit> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut unit = Unit::default();
            for (key, value) in block.lines().filter_map(|line| line.split_once('=')) {
                match key {
                    "LoadState" => unit.load = value.to_owned(),
                    "ActiveState" => unit.active = value.to_owned(),
                    "SubState" => unit.sub = value.to_owned(),
                    _ => {}
                }
            }
            (!unit.load.is_empty()).then_some(unit)
        })
        .collect()
}

/// Runs `program args` under `limit`; its stdout if it exits with status 0.
async fn run(program: &Path, args: &[&str], limit: Duration) -> Result<Vec<u8>, HostError> {
    let shown = format!("{} {}", program.display(), args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            HostError::Failed(format!(
                "cannot run {}: {e}; is it installed and on the gateway's PATH?",
                program.display()
            ))
        })?;
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(HostError::Failed(format!(
            "{shown}: its output could not be captured"
        )));
    };
    let work = async {
        let (out, err) = tokio::join!(
            read_capped(&mut stdout, MAX_STDOUT),
            read_capped(&mut stderr, MAX_STDERR)
        );
        (out, err, child.wait().await)
    };
    // On timeout `work` is dropped first, then `child`, which kills the process.
    let (out, err, status) = tokio::time::timeout(limit, work).await.map_err(|_| {
        HostError::Failed(format!(
            "{shown} did not finish within {limit:?}; it was stopped"
        ))
    })?;
    let failed = |e: std::io::Error| HostError::Failed(format!("{shown}: {e}"));
    let (out, out_overflow) = out.map_err(failed)?;
    let (err, _) = err.map_err(failed)?;
    let status = status.map_err(failed)?;
    if !status.success() {
        let stderr = String::from_utf8_lossy(&err);
        let first = stderr.lines().map(str::trim).find(|line| !line.is_empty());
        return Err(HostError::Failed(match first {
            Some(line) => format!("{shown} failed: {line}"),
            None => format!("{shown} failed with {status}"),
        }));
    }
    if out_overflow {
        return Err(HostError::Failed(format!(
            "{shown} wrote more than {} KiB; ask for fewer lines",
            MAX_STDOUT / 1024
        )));
    }
    Ok(out)
}

/// Reads `reader` to EOF, keeping the first `cap` bytes; `true` if there were more.
async fn read_capped(
    reader: &mut (impl AsyncRead + Unpin),
    cap: usize,
) -> std::io::Result<(Vec<u8>, bool)> {
    let mut kept = Vec::new();
    (&mut *reader)
        .take(cap as u64)
        .read_to_end(&mut kept)
        .await?;
    let dropped = tokio::io::copy(reader, &mut tokio::io::sink()).await?;
    Ok((kept, dropped > 0))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// Serializes this module's tests: a script being written while another test forks could
    /// be held open in the child and fail to run ("text file busy").
    static SPAWNS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    const SYSTEMCTL: &str = r#"
if [ "$1" = show ]; then
  shift 2
  first=1
  for unit in "$@"; do
    [ "$first" = 1 ] || echo
    first=0
    case "$unit" in
      redis-server.service) printf 'Id=x\nLoadState=loaded\nActiveState=active\nSubState=running\n' ;;
      mosquitto.service) printf 'ActiveState=failed\nSubState=failed\nLoadState=loaded\n' ;;
      *) printf 'ActiveState=inactive\nSubState=dead\nLoadState=not-found\n' ;;
    esac
  done
  exit 0
fi
if [ "$1 $2" = "--no-ask-password restart" ]; then
  case "$3" in
    mosquitto.service)
      echo 'Failed to restart mosquitto.service: Access denied' >&2
      echo 'See system logs and systemctl status mosquitto.service for details.' >&2
      exit 1 ;;
  esac
  exit 0
fi
exit 2
"#;

    const JOURNALCTL: &str = r#"
printf '2025-06-01T10:00:00+0000 pi redis-server[812]: one\n'
printf '2025-06-01T10:00:01+0000 pi redis-server[812]: two \377\n'
printf '2025-06-01T10:00:02+0000 pi redis-server[812]: three\n'
"#;

    /// A stand-in systemd: shell scripts that record their arguments in `calls`.
    struct StandIn {
        systemd: Systemd,
        dir: tempfile::TempDir,
    }

    impl StandIn {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let calls = dir.path().join("calls");
            let script = |name: &str, body: &str| {
                let path = dir.path().join(name);
                let text = format!(
                    "#!/bin/sh\necho \"{name} $*\" >> '{}'\n{body}",
                    calls.display()
                );
                std::fs::write(&path, text).expect("write script");
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                    .expect("chmod");
                path
            };
            let systemd = Systemd {
                systemctl: script("systemctl", SYSTEMCTL),
                journalctl: script("journalctl", JOURNALCTL),
                timeout: Duration::from_secs(5),
                restart_timeout: Duration::from_secs(5),
            };
            Self { systemd, dir }
        }

        fn calls(&self) -> Vec<String> {
            let calls = std::fs::read_to_string(self.dir.path().join("calls")).unwrap_or_default();
            calls.lines().map(str::to_owned).collect()
        }
    }

    fn service(name: &str) -> &'static Service {
        SERVICES
            .iter()
            .find(|s| s.name == name)
            .expect("allow-listed")
    }

    #[test]
    fn parses_systemctl_show_in_any_property_order() {
        let text = "ActiveState=active\nSubState=running\nLoadState=loaded\n\n\
                    LoadState=not-found\nActiveState=inactive\nSubState=dead\n";
        assert_eq!(
            parse_show(text),
            [
                Unit {
                    load: "loaded".into(),
                    active: "active".into(),
                    sub: "running".into()
                },
                Unit {
                    load: "not-found".into(),
                    active: "inactive".into(),
                    sub: "dead".into()
                },
            ]
        );
        assert!(parse_show("").is_empty());
        assert!(parse_show("Failed to connect to bus: No such file or directory\n").is_empty());
    }

    #[tokio::test]
    async fn lists_the_installed_units_of_the_stack() {
        let _one = SPAWNS.lock().await;
        let stand_in = StandIn::new();
        let listed = stand_in.systemd.list().await.expect("list");
        assert_eq!(
            listed,
            [
                ServiceStatus {
                    name: "redis".into(),
                    unit: "redis-server.service".into(),
                    state: "active".into(),
                    healthy: Some(true),
                    detail: "running".into(),
                    manager: "systemd",
                },
                ServiceStatus {
                    name: "mosquitto".into(),
                    unit: "mosquitto.service".into(),
                    state: "failed".into(),
                    healthy: Some(false),
                    detail: "failed".into(),
                    manager: "systemd",
                },
            ]
        );
        let units = SERVICES.map(|s| s.unit).join(" ");
        assert_eq!(
            stand_in.calls(),
            [format!(
                "systemctl show --property=ActiveState,SubState,LoadState {units}"
            )]
        );
    }

    #[tokio::test]
    async fn restarts_a_unit_and_reports_its_state() {
        let _one = SPAWNS.lock().await;
        let stand_in = StandIn::new();
        let status = stand_in
            .systemd
            .restart(service("redis"))
            .await
            .expect("restart");
        assert_eq!(
            (status.state.as_str(), status.healthy),
            ("active", Some(true))
        );
        let show = "systemctl show --property=ActiveState,SubState,LoadState redis-server.service";
        assert_eq!(
            stand_in.calls(),
            [
                show,
                "systemctl --no-ask-password restart redis-server.service",
                show
            ]
        );
    }

    #[tokio::test]
    async fn a_failed_restart_relays_the_first_line_of_stderr() {
        let _one = SPAWNS.lock().await;
        let stand_in = StandIn::new();
        let error = stand_in
            .systemd
            .restart(service("mosquitto"))
            .await
            .expect_err("denied");
        assert!(matches!(error, HostError::Failed(_)), "{error:?}");
        let message = error.to_string();
        assert!(
            message.ends_with(
                "systemctl --no-ask-password restart mosquitto.service failed: \
                 Failed to restart mosquitto.service: Access denied"
            ),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_unit_not_installed_is_not_found_and_not_touched() {
        let _one = SPAWNS.lock().await;
        let stand_in = StandIn::new();
        let error = stand_in
            .systemd
            .restart(service("traefik"))
            .await
            .expect_err("absent");
        assert!(
            matches!(error, HostError::NotFound { ref name, manager: "systemd" } if name == "traefik"),
            "{error:?}"
        );
        let logs = stand_in.systemd.logs(service("traefik"), 5).await;
        assert!(matches!(logs, Err(HostError::NotFound { .. })), "{logs:?}");
        assert!(stand_in
            .calls()
            .iter()
            .all(|call| call.starts_with("systemctl show ")));
    }

    #[tokio::test]
    async fn reads_the_journal_with_the_count_asked() {
        let _one = SPAWNS.lock().await;
        let stand_in = StandIn::new();
        let lines = stand_in
            .systemd
            .logs(service("redis"), 2)
            .await
            .expect("logs");
        assert_eq!(
            lines,
            [
                "2025-06-01T10:00:01+0000 pi redis-server[812]: two \u{fffd}",
                "2025-06-01T10:00:02+0000 pi redis-server[812]: three",
            ]
        );
        assert_eq!(
            stand_in.calls()[1],
            "journalctl -u redis-server.service -n 2 --no-pager -o short-iso"
        );
    }

    #[tokio::test]
    async fn a_process_past_its_timeout_is_killed() {
        let _one = SPAWNS.lock().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let pid_file = dir.path().join("pid");
        let script = format!("echo $$ > '{}'; exec sleep 30", pid_file.display());
        let started = std::time::Instant::now();
        let error = run(
            Path::new("sh"),
            &["-c", &script],
            Duration::from_millis(300),
        )
        .await
        .expect_err("timeout");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            error
                .to_string()
                .ends_with("did not finish within 300ms; it was stopped"),
            "{error}"
        );

        let pid = std::fs::read_to_string(&pid_file)
            .expect("pid")
            .trim()
            .to_owned();
        let gone_or_zombie = || match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while !gone_or_zombie() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(gone_or_zombie(), "process {pid} still runs");
    }

    #[tokio::test]
    async fn output_is_capped_and_a_flood_on_stderr_does_not_block() {
        let _one = SPAWNS.lock().await;
        let limit = Duration::from_secs(10);
        let flood = "head -c 2000000 /dev/zero";
        let error = run(Path::new("sh"), &["-c", flood], limit)
            .await
            .expect_err("too much");
        assert!(
            error
                .to_string()
                .ends_with("wrote more than 1024 KiB; ask for fewer lines"),
            "{error}"
        );

        let noisy = format!("{flood} >&2; echo done");
        assert_eq!(
            run(Path::new("sh"), &["-c", &noisy], limit)
                .await
                .expect("ok"),
            b"done\n"
        );

        let silent_failure = run(Path::new("sh"), &["-c", "exit 3"], limit)
            .await
            .expect_err("exit 3");
        assert!(
            silent_failure
                .to_string()
                .ends_with("failed with exit status: 3"),
            "{silent_failure}"
        );

        let missing = run(Path::new("/nonexistent/systemctl"), &[], limit)
            .await
            .expect_err("absent");
        assert!(
            missing
                .to_string()
                .starts_with("cannot run /nonexistent/systemctl: "),
            "{missing}"
        );
    }
}
