// Playwright's global set-up: a real essensys-backend (in-memory store, an admin token, the
// simulated box's key, this build of the dashboard) on a free port, and bp-sim cycling against
// it. Tests read where they run from ESSENSYS_E2E_* variables; the teardown stops both.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The placeholder key of the protocol document: bp-sim's box authenticates with it. */
export const BOX_KEY = '12345678901234567890123456789012';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const backend = process.env.ESSENSYS_E2E_BACKEND ?? resolve(repo, 'target/debug/essensys-backend');
const bpSim = process.env.ESSENSYS_E2E_BP_SIM ?? resolve(repo, 'target/debug/bp-sim');
const dist = resolve(here, '../dist');
const logs = resolve(here, '../test-results');

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => ok(port));
    });
  });
}

function start(name: string, program: string, args: string[]): ChildProcess {
  if (!existsSync(program)) {
    throw new Error(`${program} is missing: build it first (cargo build -p essensys-backend -p essensys-bp-sim)`);
  }
  const log = createWriteStream(resolve(logs, `${name}.log`), { flags: 'a' });
  const child = spawn(program, args, {
    env: { ...process.env, RUST_LOG: 'info', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal === null) console.error(`${name} exited with ${code}: see ${logs}/${name}.log`);
  });
  return child;
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * bp-sim as the house's box against the gateway at `server` (its prints appended to
 * test-results/bp-sim.log), with `extra` options such as `--set 407=1`.
 */
export function startBox(server: string, extra: string[] = []): ChildProcess {
  return start('bp-sim', bpSim, ['run', '--fast', '--server', server, '--key', BOX_KEY, ...extra]);
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(resolve(dist, 'index.html'))) {
    throw new Error(`${dist}/index.html is missing: run npm run build first`);
  }
  mkdirSync(logs, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const token = randomBytes(16).toString('hex');
  const server = start('backend', backend, [
    '--listen', `127.0.0.1:${port}`,
    '--admin-token', token,
    '--box-key', BOX_KEY,
    '--dashboard', dist,
  ]);
  await waitFor('the backend', async () => (await fetch(`${url}/health`)).ok);
  const box = startBox(`127.0.0.1:${port}`);
  const headers = { Authorization: `Bearer ${token}` };
  // Wait until the box has reported its alarm cells: the pages then have something to show.
  await waitFor('the simulated box to report', async () => {
    const state = await (await fetch(`${url}/api/v1/state`, { headers })).json();
    return state.client !== null && state.alarm?.remote_access !== null;
  });
  process.env.ESSENSYS_E2E_URL = url;
  process.env.ESSENSYS_E2E_TOKEN = token;
  process.env.ESSENSYS_E2E_BP_SIM_LOG = resolve(logs, 'bp-sim.log');
  process.env.ESSENSYS_E2E_BP_SIM_PID = String(box.pid);
  return async () => {
    // A test may have replaced the box (its pid is then in the variable): stop whichever runs.
    const current = Number(process.env.ESSENSYS_E2E_BP_SIM_PID);
    if (current && current !== box.pid) {
      try {
        process.kill(current, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    for (const child of [box, server]) {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
    }
  };
}
