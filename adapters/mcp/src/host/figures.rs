//! The machine's figures: load, memory, uptime and cores from `/proc`, the disk from
//! `statvfs`, the CPU temperature from the thermal zones. Each is `None` where it cannot be
//! read; nothing is guessed.
//!
//! # Format
//! ```text
//! /proc/loadavg                        0.52 0.58 0.59 1/467 12345
//! /proc/meminfo                        MemTotal:  16314336 kB … MemAvailable:  9876543 kB
//! /proc/uptime                         12345.67 54321.00
//! /proc/cpuinfo                        one `processor : N` line per core
//! /sys/class/thermal/thermal_zone*/temp  48312  (millidegrees Celsius)
//! ```

use std::{
    io::Read,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Serialize;

use super::HostConfig;

/// The most bytes read from one file (`/proc/cpuinfo` of a large machine is the longest).
const MAX_FILE: u64 = 1 << 20;
/// The most thermal zones looked at.
const MAX_ZONES: usize = 64;
/// How long `statvfs` may take (a hung network mount never answers).
const DISK_TIMEOUT: Duration = Duration::from_secs(2);

/// The machine's figures, each `None` where it could not be read.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// The load averages over 1, 5 and 15 minutes.
    pub load: Option<[f64; 3]>,
    /// The memory.
    pub memory: Option<Memory>,
    /// The file system of the configured path.
    pub disk: Option<Disk>,
    /// Seconds since boot.
    pub uptime_s: Option<u64>,
    /// The hottest thermal zone, in °C with one decimal.
    pub cpu_temperature_c: Option<f64>,
    /// The online CPU cores.
    pub cores: Option<usize>,
}

/// Memory, from `/proc/meminfo`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Memory {
    /// `MemTotal`.
    pub total_bytes: u64,
    /// `MemAvailable`: what can be used without swapping.
    pub available_bytes: u64,
    /// `(total - available) / total`, in percent with one decimal.
    pub used_percent: f64,
}

/// A file system's usage, from `statvfs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disk {
    /// The path asked about.
    pub path: String,
    /// The file system's size.
    pub total_bytes: u64,
    /// What an unprivileged user may still write.
    pub available_bytes: u64,
    /// Used over what users can use (`used / (used + available)`, as `df` shows), in percent
    /// with one decimal.
    pub used_percent: f64,
}

/// Reads every figure through `config`'s paths.
pub(super) async fn read(config: &HostConfig) -> Figures {
    let proc_dir = &config.proc_dir;
    Figures {
        load: read_file(&proc_dir.join("loadavg"))
            .as_deref()
            .and_then(parse_loadavg),
        memory: read_file(&proc_dir.join("meminfo"))
            .as_deref()
            .and_then(parse_meminfo),
        disk: disk(config.disk_path.clone()).await,
        uptime_s: read_file(&proc_dir.join("uptime"))
            .as_deref()
            .and_then(parse_uptime),
        cpu_temperature_c: temperature(&config.thermal_dir),
        cores: read_file(&proc_dir.join("cpuinfo"))
            .as_deref()
            .and_then(parse_cores),
    }
}

/// A small file's text, up to [`MAX_FILE`] bytes.
fn read_file(path: &Path) -> Option<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_FILE)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// `part / whole` in percent, one decimal.
fn percent(part: u64, whole: u64) -> f64 {
    (part as f64 * 1000.0 / whole as f64).round() / 10.0
}

fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut fields = text
        .split_whitespace()
        .map(|field| field.parse::<f64>().ok());
    let load = [fields.next()??, fields.next()??, fields.next()??];
    load.iter()
        .all(|l| l.is_finite() && *l >= 0.0)
        .then_some(load)
}

fn parse_meminfo(text: &str) -> Option<Memory> {
    let kilobytes = |key: &str| {
        let line = text
            .lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))?;
        let mut words = line.split_whitespace();
        let value: u64 = words.next()?.parse().ok()?;
        matches!(words.next(), Some("kB"))
            .then_some(value)?
            .checked_mul(1024)
    };
    let total_bytes = kilobytes("MemTotal")?;
    let available_bytes = kilobytes("MemAvailable")?;
    if total_bytes == 0 || available_bytes > total_bytes {
        return None;
    }
    let used_percent = percent(total_bytes - available_bytes, total_bytes);
    Some(Memory {
        total_bytes,
        available_bytes,
        used_percent,
    })
}

fn parse_uptime(text: &str) -> Option<u64> {
    let seconds: f64 = text.split_whitespace().next()?.parse().ok()?;
    // Truncation to whole seconds is the intent; the range is checked first.
    (seconds.is_finite() && (0.0..1e15).contains(&seconds)).then_some(seconds as u64)
}

fn parse_cores(text: &str) -> Option<usize> {
    let cores = text
        .lines()
        .filter(|line| {
            line.split(':')
                .next()
                .is_some_and(|key| key.trim() == "processor")
        })
        .count();
    (cores > 0).then_some(cores)
}

/// The hottest of `thermal_dir`'s `thermal_zone*/temp`, in °C with one decimal.
fn temperature(thermal_dir: &Path) -> Option<f64> {
    let zones = std::fs::read_dir(thermal_dir).ok()?;
    zones
        .filter_map(Result::ok)
        .filter(|zone| {
            zone.file_name()
                .to_string_lossy()
                .starts_with("thermal_zone")
        })
        .take(MAX_ZONES)
        .filter_map(|zone| {
            read_file(&zone.path().join("temp"))?
                .trim()
                .parse::<i64>()
                .ok()
        })
        .max()
        .map(|millidegrees| (millidegrees as f64 / 100.0).round() / 10.0)
}

/// The usage of `path`'s file system, off the async threads and under [`DISK_TIMEOUT`].
async fn disk(path: PathBuf) -> Option<Disk> {
    let work = tokio::task::spawn_blocking(move || statvfs(&path));
    tokio::time::timeout(DISK_TIMEOUT, work).await.ok()?.ok()?
}

fn statvfs(path: &Path) -> Option<Disk> {
    let stat = rustix::fs::statvfs(path).ok()?;
    let block = if stat.f_frsize > 0 {
        stat.f_frsize
    } else {
        stat.f_bsize
    };
    let total_bytes = stat.f_blocks.checked_mul(block)?;
    let available_bytes = stat.f_bavail.checked_mul(block)?;
    let used = stat.f_blocks.checked_sub(stat.f_bfree)?;
    let usable = used.checked_add(stat.f_bavail)?;
    if total_bytes == 0 || usable == 0 {
        return None;
    }
    Some(Disk {
        path: path.display().to_string(),
        total_bytes,
        available_bytes,
        used_percent: percent(used, usable),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
    }

    /// A `/proc` and a `/sys/class/thermal` in a temporary directory.
    fn fixture() -> (tempfile::TempDir, HostConfig) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(&root.join("proc/loadavg"), "0.52 1.05 2.50 1/467 12345\n");
        write(
            &root.join("proc/meminfo"),
            "MemTotal:        4000000 kB\nMemFree:          100000 kB\nMemAvailable:    1000000 kB\n\
             Buffers:           50000 kB\n",
        );
        write(&root.join("proc/uptime"), "86461.93 300000.12\n");
        write(
            &root.join("proc/cpuinfo"),
            "processor\t: 0\nBogoMIPS\t: 108.00\n\nprocessor\t: 1\nBogoMIPS\t: 108.00\n\n\
             processor\t: 2\n\nprocessor\t: 3\n\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 4\n",
        );
        write(&root.join("thermal/thermal_zone0/temp"), "48312\n");
        write(&root.join("thermal/thermal_zone1/temp"), "51876\n");
        write(&root.join("thermal/thermal_zone2/temp"), "garbage\n");
        write(&root.join("thermal/cooling_device0/temp"), "99000\n");
        let config = HostConfig {
            docker_socket: root.join("docker.sock"),
            systemd_dir: root.join("systemd"),
            proc_dir: root.join("proc"),
            thermal_dir: root.join("thermal"),
            disk_path: root.to_path_buf(),
        };
        (dir, config)
    }

    #[tokio::test]
    async fn reads_the_fixture_figures() {
        let (_dir, config) = fixture();
        let figures = read(&config).await;
        assert_eq!(figures.load, Some([0.52, 1.05, 2.5]));
        assert_eq!(
            figures.memory,
            Some(Memory {
                total_bytes: 4_096_000_000,
                available_bytes: 1_024_000_000,
                used_percent: 75.0
            })
        );
        assert_eq!(figures.uptime_s, Some(86461));
        assert_eq!(figures.cores, Some(4));
        // The hottest zone; not the cooling device, not the unreadable zone.
        assert_eq!(figures.cpu_temperature_c, Some(51.9));
        // The temporary directory's file system is real.
        let disk = figures.disk.expect("disk of the tempdir");
        assert_eq!(disk.path, config.disk_path.display().to_string());
        assert!(
            disk.total_bytes > 0 && disk.available_bytes <= disk.total_bytes,
            "{disk:?}"
        );
        assert!((0.0..=100.0).contains(&disk.used_percent), "{disk:?}");
    }

    #[tokio::test]
    async fn what_cannot_be_read_is_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let nowhere = dir.path().join("nowhere");
        let config = HostConfig {
            docker_socket: nowhere.join("docker.sock"),
            systemd_dir: nowhere.join("systemd"),
            proc_dir: nowhere.clone(),
            thermal_dir: nowhere.clone(),
            disk_path: nowhere,
        };
        assert_eq!(read(&config).await, Figures::default());
    }

    #[test]
    fn malformed_proc_files_are_none() {
        for loadavg in ["", "0.5 0.6", "a b c", "0.5 NaN 0.7", "-1 0 0"] {
            assert_eq!(parse_loadavg(loadavg), None, "{loadavg:?}");
        }
        for meminfo in [
            "",
            "MemTotal: 100 kB\n",
            "MemTotal: 100 kB\nMemAvailable: 200 kB\n",
            "MemTotal: 0 kB\nMemAvailable: 0 kB\n",
            "MemTotal: 100 MB\nMemAvailable: 50 kB\n",
            "MemTotal: 99999999999999999999 kB\nMemAvailable: 1 kB\n",
            "MemTotalX: 100 kB\nMemAvailable: 50 kB\n",
        ] {
            assert_eq!(parse_meminfo(meminfo), None, "{meminfo:?}");
        }
        for uptime in ["", "soon", "-5.0 1.0", "inf 1.0"] {
            assert_eq!(parse_uptime(uptime), None, "{uptime:?}");
        }
        assert_eq!(parse_cores("Hardware : BCM2835\n"), None);
    }

    #[test]
    fn temperatures_below_zero_round_to_one_decimal() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(&dir.path().join("thermal_zone0/temp"), "-12345\n");
        write(&dir.path().join("thermal_zone1/temp"), "-20000\n");
        assert_eq!(temperature(dir.path()), Some(-12.3));
        assert_eq!(temperature(&dir.path().join("none")), None);
    }

    #[tokio::test]
    async fn this_machines_figures_are_sane() {
        let figures = read(&HostConfig::default()).await;
        let load = figures.load.expect("/proc/loadavg");
        assert!(load.iter().all(|l| (0.0..10_000.0).contains(l)), "{load:?}");
        let memory = figures.memory.expect("/proc/meminfo");
        assert!(memory.total_bytes > 0 && memory.available_bytes <= memory.total_bytes);
        assert!(figures.uptime_s.expect("/proc/uptime") > 0);
        let disk = figures.disk.expect("statvfs /");
        assert!(
            disk.total_bytes > 0 && disk.available_bytes <= disk.total_bytes,
            "{disk:?}"
        );
        assert_eq!(disk.path, "/");
        let cores = figures.cores.expect("/proc/cpuinfo");
        assert!((1..=4096).contains(&cores), "{cores}");
    }
}
