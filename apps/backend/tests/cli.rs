//! The binary as a person runs it: help, startup errors, graceful shutdown.

use std::{
    io::Read,
    net::TcpListener,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_essensys-backend");

#[test]
fn help_explains_the_options_and_their_defaults() {
    let out = Command::new(BIN).arg("--help").output().expect("run");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for expected in [
        "--listen",
        "0.0.0.0:80",
        "ESSENSYS_LISTEN",
        "--store",
        "memory",
        "--admin-token",
        "--box-key",
        "mon.essensys.fr",
        "--mqtt-url",
        "ESSENSYS_MQTT_URL",
        "--mqtt-base",
        "--ha-discovery-prefix",
        "homeassistant",
    ] {
        assert!(help.contains(expected), "--help lacks {expected}:\n{help}");
    }
}

#[test]
fn a_taken_port_is_explained() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let out = Command::new(BIN)
        .args(["--listen", &addr])
        .env("RUST_LOG", "off")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("another program already listens"),
        "{stderr}"
    );
}

#[test]
fn a_bad_broker_url_is_refused_and_no_password_is_printed() {
    for (args, expected) in [
        (
            &["--mqtt-url", "http://x"][..],
            "--mqtt-url: broker url must start with mqtt://",
        ),
        (&["--mqtt-url", "mqtt://h:99999"][..], "port \"99999\""),
        (
            &["--mqtt-url", "mqtt://u:pw@h", "--mqtt-base", "a/+"][..],
            "--mqtt-base \"a/+\" is not a valid topic prefix",
        ),
        (&["--mqtt-password", "pw"][..], "no broker"),
    ] {
        let out = Command::new(BIN).args(args).output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("pw@"), "{stderr}");
    }
}

#[test]
fn bad_settings_are_refused_before_starting() {
    let out = Command::new(BIN)
        .args(["--box-key", "123"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("box key #1: a box key is 32 decimal digits")
    );
}

#[test]
fn empty_tokens_zero_limits_and_repeated_cells_are_refused_and_named() {
    /// Flags, environment, what stderr must say.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 6] = [
        (&["--admin-token", ""], &[], "--admin-token is empty"),
        (
            &["--max-connections", "0"],
            &[],
            "--max-connections must be at least 1",
        ),
        (
            &["--worker-threads", "0"],
            &[],
            "--worker-threads must be at least 1",
        ),
        (
            &["--watch", "349,350,349"],
            &[],
            "--watch names cell 349 twice",
        ),
        (
            &[],
            &[("ESSENSYS_ADMIN_TOKEN", " ")],
            "--admin-token is empty",
        ),
        (&["--mcp-token", ""], &[], "--mcp-token is empty"),
    ];
    for (args, env, says) in cases {
        let out = Command::new(BIN)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?} {env:?}: {stderr}");
    }
}

#[test]
fn a_host_name_is_accepted_for_listen() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut child = Command::new(BIN)
        .args(["--listen", &format!("localhost:{port}")])
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let started = Instant::now();
    let mut up = false;
    while started.elapsed() < Duration::from_secs(10) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "listening on localhost:{port}");
}

#[test]
fn sigterm_stops_it_cleanly() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut child = Command::new(BIN)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "backend did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    let mut log = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .expect("log");
    assert!(exit.success(), "{log}");
    assert!(
        log.contains("SIGTERM received") && log.contains("stopped"),
        "{log}"
    );
}
