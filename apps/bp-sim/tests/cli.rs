//! The `bp-sim` binary: help text, `run` and `replay` exit codes, against a fake server.

mod common;

use std::process::{Command, Output};

use common::{created, fixture, http, myactions, serverinfos, FakeServer, KEY};

fn bp_sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bp-sim"))
        .args(args)
        .env_remove("ESSENSYS_BP_SIM_SERVER")
        .env_remove("ESSENSYS_BP_SIM_KEY")
        .output()
        .expect("run bp-sim")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn help_explains_every_mode_with_defaults() {
    let top = stdout(&bp_sim(&["--help"]));
    for mode in ["run", "load", "replay"] {
        assert!(top.contains(mode), "{top}");
    }
    let run = stdout(&bp_sim(&["run", "--help"]));
    assert!(run.contains("[default: 127.0.0.1:8080]"), "{run}");
    assert!(run.contains("--fast") && run.contains("--cycles") && run.contains("--key"));
    let load = stdout(&bp_sim(&["load", "--help"]));
    assert!(
        load.contains("[default: 30s]") && load.contains("--key-seed"),
        "{load}"
    );
    let replay = stdout(&bp_sim(&["replay", "--help"]));
    assert!(replay.contains("NAME.reply"), "{replay}");
}

#[test]
fn a_bad_key_is_refused_without_echoing_it() {
    let output = bp_sim(&["run", "--key", "1234567890123456789012345678901x"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("32 decimal digits"), "{stderr}");
    assert!(
        !stderr.contains("1234567890123456789012345678901x"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn run_prints_cycles_and_changes() {
    let body = r#"{"_de67f":null,"actions":[{"guid":"g1","params":[{"k":613,"v":"64"},{"k":590,"v":"1"}]}]}"#;
    let server = FakeServer::scripted(
        serverinfos(true, &[613]),
        created(),
        myactions(body),
        created(),
    )
    .await;
    let addr = server.addr.to_string();
    let output = tokio::task::spawn_blocking(move || {
        bp_sim(&[
            "run", "--server", &addr, "--key", KEY, "--fast", "--cycles", "2",
        ])
    })
    .await
    .expect("join");
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("bp-sim: box 767179c7a2bff196 -> "), "{text}");
    assert!(!text.contains(KEY), "the key is never printed");
    assert!(
        text.contains("cycle 1: ok, connected=true infos=1 actions=1 (acked 1)"),
        "{text}"
    );
    assert!(
        text.contains("  light petite_chambre_3 (Petite chambre 3): off -> on"),
        "{text}"
    );
    assert!(text.contains("bp-sim: 2 cycles, 0 failed"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_exits_non_zero_on_mismatch() {
    let server =
        FakeServer::scripted(serverinfos(true, &[]), created(), created(), created()).await;
    let dir = std::env::temp_dir().join(format!("bp-sim-cli-replay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("a.http"), fixture("done.http")).expect("write");
    std::fs::write(dir.join("a.reply"), http("201 Created", "")).expect("write");
    let (addr, path) = (server.addr.to_string(), dir.display().to_string());
    let ok = tokio::task::spawn_blocking(move || bp_sim(&["replay", &path, "--server", &addr]))
        .await
        .expect("join");
    assert!(ok.status.success(), "{}", stdout(&ok));
    assert!(stdout(&ok).contains(&format!("-- matches {}", dir.join("a.reply").display())));

    std::fs::write(dir.join("a.reply"), http("200 OK", "")).expect("write");
    let (addr, path) = (server.addr.to_string(), dir.display().to_string());
    let bad = tokio::task::spawn_blocking(move || bp_sim(&["replay", &path, "--server", &addr]))
        .await
        .expect("join");
    assert!(!bad.status.success());
    assert!(
        stdout(&bad).contains(&format!(
            "!! MISMATCH with {}",
            dir.join("a.reply").display()
        )),
        "{}",
        stdout(&bad)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_fails_without_expected_replies_and_record_is_not_a_pass() {
    let server =
        FakeServer::scripted(serverinfos(true, &[]), created(), created(), created()).await;
    let dir = std::env::temp_dir().join(format!("bp-sim-cli-record-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let replay = |extra: &'static [&'static str]| {
        let (addr, path) = (server.addr.to_string(), dir.display().to_string());
        tokio::task::spawn_blocking(move || {
            let mut args = vec!["replay", path.as_str(), "--server", addr.as_str()];
            args.extend_from_slice(extra);
            bp_sim(&args)
        })
    };

    // An empty folder compared nothing: a failure.
    let empty = replay(&[]).await.expect("join");
    assert!(!empty.status.success());
    let stderr = String::from_utf8_lossy(&empty.stderr);
    assert!(stderr.contains("compared nothing"), "{stderr}");

    // A case without its .reply fails, naming the file and how to record it.
    std::fs::write(dir.join("a.http"), fixture("done.http")).expect("write");
    let missing = replay(&[]).await.expect("join");
    assert!(!missing.status.success());
    let text = stdout(&missing);
    assert!(
        text.contains("!! MISSING ") && text.contains("a.reply"),
        "{text}"
    );
    assert!(text.contains("--record"), "{text}");
    assert!(
        text.contains("replay: 1 cases, 0 passed, 1 failed"),
        "{text}"
    );

    // --record writes it and still fails: 0 passed.
    let recorded = replay(&["--record"]).await.expect("join");
    assert!(!recorded.status.success(), "{}", stdout(&recorded));
    let text = stdout(&recorded);
    assert!(text.contains("!! RECORDED "), "{text}");
    assert!(text.contains("0 passed, 0 failed, 1 recorded"), "{text}");
    assert_eq!(
        std::fs::read(dir.join("a.reply")).expect("recorded"),
        http("201 Created", "")
    );

    // Reviewed and kept: the next replay passes.
    let ok = replay(&[]).await.expect("join");
    assert!(ok.status.success(), "{}", stdout(&ok));
    assert!(stdout(&ok).contains("replay: 1 cases, 1 passed, 0 failed"));
    let _ = std::fs::remove_dir_all(&dir);
}
