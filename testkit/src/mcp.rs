//! The official Python MCP client (`mcp==2.3.0`, in the virtualenv `./test.sh` creates), driven
//! through `mcp_client.py`: one session per call, over Streamable HTTP or the legacy SSE
//! transport, running a list of steps.

use std::{
    io::Write,
    process::{Command, Stdio},
};

use serde_json::{json, Value};

/// Which MCP transport a session uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Streamable HTTP (`/mcp`).
    Http,
    /// Legacy HTTP+SSE (`/sse` + `/messages`).
    Sse,
}

impl Transport {
    /// Both, for tests that run over each.
    pub const BOTH: [Transport; 2] = [Transport::Http, Transport::Sse];

    /// The endpoint path on a server.
    pub fn path(self) -> &'static str {
        match self {
            Transport::Http => "/mcp",
            Transport::Sse => "/sse",
        }
    }

    fn arg(self) -> &'static str {
        match self {
            Transport::Http => "http",
            Transport::Sse => "sse",
        }
    }
}

/// A `list_tools` step.
pub fn list_tools() -> Value {
    json!({"op": "list_tools"})
}

/// A `call_tool` step.
pub fn call(tool: &str, args: Value) -> Value {
    json!({"op": "call", "tool": tool, "args": args})
}

/// Runs `steps` in one session with the server at `base` (`http://127.0.0.1:PORT`) and returns
/// the script's answer: `{"ok": true, "results": [...]}` or `{"ok": false, "error": "..."}`.
///
/// # Panics
/// When `ESSENSYS_TEST_PYTHON` is not set (run the suite with `./test.sh`, which creates the
/// virtualenv) or the script cannot run.
pub fn session(transport: Transport, base: &str, token: Option<&str>, steps: &[Value]) -> Value {
    let python = std::env::var("ESSENSYS_TEST_PYTHON").unwrap_or_else(|_| {
        panic!(
            "ESSENSYS_TEST_PYTHON is not set: run the tests with ./test.sh, which installs the \
             Python MCP client (mcp==2.3.0) in target/py and sets it"
        )
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/mcp_client.py");
    let url = format!("{base}{}", transport.path());
    let mut command = Command::new(&python);
    command
        .args([script, "--transport", transport.arg(), "--url", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(token) = token {
        command.args(["--token", token]);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let input = Value::Array(steps.to_vec()).to_string();
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).expect("steps written");
    }
    let output = child.wait_with_output().expect("client ran");
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("the MCP client printed no JSON ({e}): {text}"))
}

/// Runs `steps` and returns their results, panicking with the client's error when the session
/// failed.
pub fn results(transport: Transport, base: &str, token: &str, steps: &[Value]) -> Vec<Value> {
    let answer = session(transport, base, Some(token), steps);
    assert_eq!(answer["ok"], true, "{transport:?} session failed: {answer}");
    answer["results"].as_array().cloned().unwrap_or_default()
}
