//! `essensys-testkit` — private instances of the real servers the integration tests talk to
//! ([`RedisServer`], [`Mosquitto`], [`Nginx`]), each on a free loopback port with its own data directory,
//! stopped when dropped. Tests never use (or disturb) the machine's own services on their
//! standard ports.
//!
//! [`mcp`] drives the official Python MCP client against a server.
//!
//! [`contract`] holds the storage ports' contract: the gateway's use cases that every
//! [`ExchangeStore`](essensys_core::ports::ExchangeStore) /
//! [`ActionQueue`](essensys_core::ports::ActionQueue) adapter must pass.

#![deny(missing_docs)]

pub mod contract;
pub mod mcp;

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    thread::sleep,
    time::{Duration, Instant},
};

/// A free TCP port on 127.0.0.1 (bound then released: good enough for tests that start a server
/// on it right away).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port on 127.0.0.1: {e}"))
}

/// Waits until something accepts connections on `port`. (A connection whose two ends are the
/// same socket — TCP simultaneous open on a free loopback port — does not count.)
pub fn wait_for_port(port: u16, within: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            if stream.local_addr().ok() != stream.peer_addr().ok() {
                return true;
            }
        }
        sleep(Duration::from_millis(20));
    }
    false
}

/// Kills (SIGKILL) and reaps a server process, if it runs.
fn kill(child: &mut Option<Child>) {
    if let Some(mut child) = child.take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Whether a Redis server answers `PING` on `port`.
fn redis_answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    if stream.local_addr().ok() == stream.peer_addr().ok() {
        return false;
    }
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut reply = [0u8; 5];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG"
}

/// A private `redis-server` (append-only persistence on, in a temporary directory).
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts `redis-server` on a free port. Panics with a hint when it is not installed
    /// (`./test.sh` installs it).
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
        let mut server = Self {
            port: free_port(),
            dir,
            child: None,
        };
        server.restart();
        server
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .args([
                "--daemonize",
                "no",
                "--protected-mode",
                "no",
                "--loglevel",
                "warning",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): install it (./test.sh does, with apt-get)")
            });
        self.child = Some(child);
        let start = Instant::now();
        while !redis_answers(self.port) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "redis-server did not start on port {}",
                self.port
            );
            sleep(Duration::from_millis(20));
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Its data directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops it (SIGKILL: nothing is flushed beyond what `appendfsync always` already wrote).
    pub fn stop(&mut self) {
        kill(&mut self.child);
    }

    /// Starts it again on the same port with the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Runs `redis-cli` against it and returns its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run redis-cli: {e}"));
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A private `mosquitto` broker on a free port that requires a user name and password
/// ([`Mosquitto::USER`], [`Mosquitto::PASSWORD`]), as a real deployment's does.
pub struct Mosquitto {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Mosquitto {
    /// The user the broker accepts.
    pub const USER: &'static str = "ha";
    /// Its password.
    pub const PASSWORD: &'static str = "s3cret";

    /// Starts `mosquitto` on a free port. Panics with a hint when it is not installed
    /// (`./test.sh` installs it).
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
        let passwords = dir.path().join("passwords");
        let made = Command::new("mosquitto_passwd")
            .args(["-c", "-b"])
            .arg(&passwords)
            .args([Self::USER, Self::PASSWORD])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap_or_else(|e| {
                panic!("cannot run mosquitto_passwd ({e}): install mosquitto (./test.sh does)")
            });
        assert!(made.success(), "mosquitto_passwd failed");
        let mut broker = Self {
            port: free_port(),
            dir,
            child: None,
        };
        let config = format!(
            "listener {} 127.0.0.1\nallow_anonymous false\npassword_file {}\npersistence false\nlog_dest stderr\nlog_type error\n",
            broker.port,
            passwords.display()
        );
        std::fs::write(broker.config(), config)
            .unwrap_or_else(|e| panic!("cannot write mosquitto.conf: {e}"));
        broker.restart();
        broker
    }

    fn config(&self) -> std::path::PathBuf {
        self.dir.path().join("mosquitto.conf")
    }

    fn spawn(&mut self) {
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(self.config())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start mosquitto ({e}): install it (./test.sh does, with apt-get)")
            });
        self.child = Some(child);
        assert!(
            wait_for_port(self.port, Duration::from_secs(10)),
            "mosquitto did not start on port {}",
            self.port
        );
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `mqtt://ha:s3cret@127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!(
            "mqtt://{}:{}@127.0.0.1:{}",
            Self::USER,
            Self::PASSWORD,
            self.port
        )
    }

    /// Stops it (SIGKILL; it keeps nothing: persistence is off).
    pub fn stop(&mut self) {
        kill(&mut self.child);
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A private `nginx` on a free port, running the `server` block it is given, in a temporary
/// prefix (its own pid file, logs and temporary files), in the foreground.
pub struct Nginx {
    port: u16,
    _dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Nginx {
    /// Starts nginx (`ESSENSYS_TEST_NGINX`, else `nginx` on the `PATH`) with `locations` inside
    /// a `server { listen 127.0.0.1:PORT; … }`; files named in `includes` are copied next to the
    /// configuration so that `include NAME;` finds them. Panics with a hint when nginx is
    /// missing (`./test.sh` installs it).
    pub fn start(locations: &str, includes: &[&Path]) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
        let root = dir.path();
        for sub in ["logs", "tmp"] {
            std::fs::create_dir_all(root.join(sub)).expect("nginx dirs");
        }
        // workers may run as another user than the test: let them use the prefix
        let _ = Command::new("chmod")
            .args(["-R", "a+rwx"])
            .arg(root)
            .status();
        for include in includes {
            let name = include.file_name().expect("include file name");
            std::fs::copy(include, root.join(name))
                .unwrap_or_else(|e| panic!("cannot copy {}: {e}", include.display()));
        }
        let port = free_port();
        let tmp = root.join("tmp");
        let tmp = tmp.display();
        let config = format!(
            "worker_processes 1;\nerror_log stderr warn;\npid {root}/nginx.pid;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {tmp}/body;\n  proxy_temp_path {tmp}/proxy;\n  fastcgi_temp_path {tmp}/fastcgi;\n  uwsgi_temp_path {tmp}/uwsgi;\n  scgi_temp_path {tmp}/scgi;\n  server {{\n    listen 127.0.0.1:{port};\n{locations}\n  }}\n}}\n",
            root = root.display()
        );
        std::fs::write(root.join("nginx.conf"), config).expect("nginx.conf");
        let nginx = std::env::var("ESSENSYS_TEST_NGINX").unwrap_or_else(|_| "nginx".into());
        let child = Command::new(&nginx)
            .arg("-p")
            .arg(root)
            .arg("-c")
            .arg(root.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {nginx} ({e}): install nginx (./test.sh does, with apt-get)")
            });
        let nginx = Self {
            port,
            _dir: dir,
            child: Some(child),
        };
        assert!(
            wait_for_port(port, Duration::from_secs(10)),
            "nginx did not start on port {port}"
        );
        nginx
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers (a SIGKILLed master would leave them serving)
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}
