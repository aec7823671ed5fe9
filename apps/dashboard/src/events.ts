// The gateway's event stream (Server-Sent Events) read over fetch, so that the
// Authorization header can be sent: a pure incremental parser `parseSse` and the
// connect / reconnect loop `connectEvents` (2 s back-off, Last-Event-ID resent).

import { authHeaders, errorMessage, getToken, notifyUnauthorized } from "./api";

/** One dispatched SSE message. */
export interface SseMessage {
  /** The last event id seen on the stream (SSE semantics: carried over between messages). */
  id: string | null;
  event: string;
  data: string;
}

/** Parser state between chunks. Treat as opaque; create with `initialSseState()`. */
export interface SseState {
  /** Bytes of an incomplete line. */
  buffer: string;
  /** `data:` lines of the message being built. */
  data: string[];
  /** Its `event:` field, "" for none. */
  event: string;
  /** The last event id (kept across messages, as the spec says). */
  lastEventId: string | null;
  /** A `retry:` the server asked for, in ms. */
  retry: number | null;
  /** Whether the previous chunk ended on "\r" (a "\n" opening the next one then belongs to it). */
  pendingCr: boolean;
  /** Whether any text was read yet (a byte-order mark may open the stream). */
  started: boolean;
}

export function initialSseState(lastEventId: string | null = null): SseState {
  return { buffer: "", data: [], event: "", lastEventId, retry: null, pendingCr: false, started: false };
}

/**
 * Feed one decoded text chunk to the parser. Pure: returns the new state and the
 * messages completed by this chunk (a blank line dispatches). Handles lines split
 * across chunks, CRLF / CR / LF endings (also a CRLF split between chunks),
 * multi-line `data:`, `id:`, `event:`, `retry:`, and comments (`: keep-alive`).
 */
export function parseSse(chunk: string, state: SseState): { state: SseState; messages: SseMessage[] } {
  let text = chunk;
  let { buffer, event, lastEventId, retry } = state;
  const data = [...state.data];
  if (state.pendingCr && text.startsWith("\n")) text = text.slice(1);
  if (!state.started && text.startsWith("\uFEFF")) text = text.slice(1);
  text = buffer + text;
  const messages: SseMessage[] = [];
  let pos = 0;
  let pendingCr = state.pendingCr && chunk.length === 0;
  for (;;) {
    let end = -1;
    let next = -1;
    for (let i = pos; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) {
        end = i;
        next = i + 1;
        break;
      }
      if (c === 13) {
        end = i;
        if (i + 1 < text.length) {
          next = text.charCodeAt(i + 1) === 10 ? i + 2 : i + 1;
        } else {
          next = i + 1;
          pendingCr = true;
        }
        break;
      }
    }
    if (end < 0) break;
    const line = text.slice(pos, end);
    pos = next;
    if (line === "") {
      if (data.length > 0) {
        messages.push({ id: lastEventId, event: event || "message", data: data.join("\n") });
      }
      data.length = 0;
      event = "";
      continue;
    }
    if (line.startsWith(":")) continue; // comment / keep-alive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        data.push(value);
        break;
      case "event":
        event = value;
        break;
      case "id":
        if (!value.includes("\u0000")) lastEventId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) retry = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
  }
  buffer = text.slice(pos);
  return {
    state: { buffer, data, event, lastEventId, retry, pendingCr, started: state.started || chunk.length > 0 },
    messages,
  };
}

/** A notice of the gateway, as sent in `event: notice` messages. */
export interface Notice {
  id: number;
  at: string;
  type: string;
  client: string | null;
  [field: string]: unknown;
}

/** The notice carried by a message, or null when it is not one (other event, bad JSON). */
export function noticeOf(msg: SseMessage): Notice | null {
  if (msg.event !== "notice" && msg.event !== "message") return null;
  let v: unknown;
  try {
    v = JSON.parse(msg.data);
  } catch {
    return null;
  }
  if (!v || typeof v !== "object") return null;
  const n = v as Record<string, unknown>;
  if (typeof n.type !== "string") return null;
  let id: number | null = typeof n.id === "number" ? n.id : null;
  if (id === null && msg.id !== null && /^\d+$/.test(msg.id)) id = Number(msg.id);
  if (id === null) return null;
  return {
    ...n,
    id,
    at: typeof n.at === "string" ? n.at : "",
    type: n.type,
    client: typeof n.client === "string" ? n.client : null,
  } as Notice;
}

/**
 * Merge new notices into a list: dedupe (same id and same time: a replay), newest first
 * (by time, then id), at most `cap`. Keying on the time too keeps the notices of a gateway
 * that restarted and counts its ids from 1 again.
 */
export function mergeNotices(list: Notice[], incoming: Notice[], cap = 200): Notice[] {
  if (incoming.length === 0) return list;
  const key = (n: Notice) => `${n.id}|${n.at}`;
  const byKey = new Map<string, Notice>();
  for (const n of list) byKey.set(key(n), n);
  let changed = false;
  for (const n of incoming) {
    if (!byKey.has(key(n))) {
      byKey.set(key(n), n);
      changed = true;
    }
  }
  if (!changed) return list;
  const time = (n: Notice) => {
    const t = Date.parse(n.at);
    return Number.isNaN(t) ? 0 : t;
  };
  return [...byKey.values()].sort((a, b) => time(b) - time(a) || b.id - a.id).slice(0, cap);
}

export type LiveStatus = "connecting" | "live" | "lost";

export interface ConnectOptions {
  url?: string;
  onNotice: (n: Notice) => void;
  onStatus: (s: LiveStatus) => void;
  /** The server skipped notices (`event: lagged`, data = how many): the state should be read again. */
  onLagged?: (missed: number) => void;
  /** Delay before reconnecting, ms (2 s). */
  retryMs?: number;
}

/**
 * Open the event stream and keep it open: on an error or the end of the stream,
 * wait `retryMs` and reconnect with `Last-Event-ID`. A 401 stops the loop and tells
 * the API module's unauthorized listeners. Returns a function that closes it.
 */
export function connectEvents(opts: ConnectOptions): () => void {
  const url = opts.url ?? "/api/v1/events";
  const retryMs = opts.retryMs ?? 2000;
  let stopped = false;
  let lastId: string | null = null;
  let controller: AbortController | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const loop = async (): Promise<void> => {
    while (!stopped) {
      opts.onStatus("connecting");
      controller = new AbortController();
      const hadToken = getToken() !== null;
      try {
        const headers = authHeaders({ Accept: "text/event-stream", "Cache-Control": "no-cache" });
        if (lastId !== null) headers["Last-Event-ID"] = lastId;
        const res = await fetch(url, { headers, signal: controller.signal, cache: "no-store" });
        if (res.status === 401) {
          await errorMessage(res);
          opts.onStatus("lost");
          notifyUnauthorized(hadToken);
          return; // the app reconnects once logged in
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        opts.onStatus("live");
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let state = initialSseState(lastId);
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const out = parseSse(value, state);
          state = out.state;
          lastId = state.lastEventId;
          for (const m of out.messages) {
            if (m.event === "lagged") {
              opts.onLagged?.(Number(m.data) || 0);
              continue;
            }
            const n = noticeOf(m);
            if (n) opts.onNotice(n);
          }
        }
      } catch {
        /* network error or abort: reconnect below unless stopped */
      }
      if (stopped) return;
      opts.onStatus("lost");
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, retryMs);
      });
    }
  };
  void loop();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    controller?.abort();
  };
}
