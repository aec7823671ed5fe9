// Typed client of the gateway's HTTP API: the state, gateway info and orders (POST),
// the admin token kept in sessionStorage and sent as a Bearer on every /api/ request,
// and every failure turned into an ApiError carrying the server's message and status.

export type Kind = "light" | "dimmer" | "shutter" | "awning";
export type GroupCode = "PDV" | "CHB" | "PDE";
export type DeviceState = "on" | "off" | "open" | "closed";

export interface Box {
  id: string;
  address: string | null;
  version: string | null;
  last_seen: string | null;
  online: boolean;
  pending: number;
}

export interface Device {
  kind: Kind;
  id: string;
  label: string;
  group: GroupCode | string;
  path: string;
  states: string[];
  state: DeviceState | null;
  state_source: "acknowledged" | "unknown" | string;
  since: string | null;
  pending: DeviceState | "unknown" | null;
}

export interface Mode {
  key: string;
  label: string;
  index: number;
  value: number | null;
  state: string | null;
  state_source: "reported" | "unknown" | string;
  options: string[];
  path: string;
  pending: string | null;
}

export type AlarmState = "disarmed" | "arming" | "armed_away" | "pending" | "triggered";

export interface Alarm {
  client: string | null;
  state: AlarmState | null;
  state_source: "reported" | "unknown" | string;
  remote_access: boolean | null;
  key_known: boolean;
  pending: { guid: string; command: "arm" | "disarm" | null } | null;
}

export interface Reported {
  leak_washing_machine: boolean | null;
  leak_dishwasher: boolean | null;
  alarm_triggered: boolean | null;
  apparent_power_va: number | null;
  energy_full_hours_kwh: number | null;
  energy_off_peak_kwh: number | null;
  inputs: number | null;
}

export interface PendingOrder {
  guid: string;
  sent: boolean;
  params: { k: number; v: string }[];
}

export interface GatewayState {
  client: string | null;
  boxes: Box[];
  devices: Device[];
  modes: Mode[];
  alarm: Alarm | null;
  reported: Reported | null;
  pending: PendingOrder[];
}

export interface GatewayInfo {
  version: string;
  store: "memory" | "redis" | string;
  uptime_s: number;
  boxes: number;
  mqtt: { enabled: boolean; broker: string | null };
  mcp: { enabled: boolean };
  admin_token: boolean;
}

export interface OrderReply {
  status: string;
  client?: string | null;
  guid?: string;
  [more: string]: unknown;
}

/** A failed API call: `status` is the HTTP status (0 for a network failure), `message` the server's `error`. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
  get unauthorized(): boolean {
    return this.status === 401;
  }
}

export const TOKEN_KEY = "essensys.token";

function storage(): Storage | null {
  try {
    return typeof sessionStorage === "undefined" ? null : sessionStorage;
  } catch {
    return null;
  }
}

export function getToken(): string | null {
  const t = storage()?.getItem(TOKEN_KEY) ?? null;
  return t && t.length > 0 ? t : null;
}

export function setToken(token: string): void {
  storage()?.setItem(TOKEN_KEY, token);
}

export function clearToken(): void {
  storage()?.removeItem(TOKEN_KEY);
}

/** Headers for an /api/ request: JSON plus the stored token, if any. */
export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { Accept: "application/json", ...extra };
  const t = getToken();
  if (t) h.Authorization = `Bearer ${t}`;
  return h;
}

/** `path` with `?client=ID` (or `&client=ID`) when a box is chosen. */
export function withClient(path: string, client: string | null | undefined): string {
  if (!client) return path;
  const sep = path.includes("?") ? "&" : "?";
  return `${path}${sep}client=${encodeURIComponent(client)}`;
}

type UnauthorizedListener = (hadToken: boolean) => void;
const unauthorizedListeners = new Set<UnauthorizedListener>();

/** Called whenever any API call (or the event stream) answers 401. */
export function onUnauthorized(fn: UnauthorizedListener): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

export function notifyUnauthorized(hadToken: boolean): void {
  for (const fn of unauthorizedListeners) fn(hadToken);
}

/** The server's `{"error": "..."}` message, or a French fallback naming the status. */
export async function errorMessage(res: Response): Promise<string> {
  let text = "";
  try {
    text = await res.text();
  } catch {
    /* body unreadable: fall back below */
  }
  if (text) {
    try {
      const body = JSON.parse(text) as unknown;
      if (body && typeof body === "object" && typeof (body as { error?: unknown }).error === "string") {
        return (body as { error: string }).error;
      }
    } catch {
      /* not JSON */
    }
  }
  if (res.status === 401) return "Jeton refusé";
  if (res.status === 429) return "Trop d'ordres en attente";
  return `Erreur ${res.status}${res.statusText ? ` (${res.statusText})` : ""}`;
}

async function request<T>(method: "GET" | "POST", path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const hadToken = getToken() !== null;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: authHeaders(body === undefined ? {} : { "Content-Type": "application/json" }),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, "La passerelle ne répond pas (réseau)");
  }
  if (!res.ok) {
    const message = await errorMessage(res);
    if (res.status === 401) notifyUnauthorized(hadToken);
    throw new ApiError(res.status, message);
  }
  try {
    return (await res.json()) as T;
  } catch {
    throw new ApiError(res.status, "Réponse illisible de la passerelle");
  }
}

export function getState(client: string | null, signal?: AbortSignal): Promise<GatewayState> {
  return request<GatewayState>("GET", withClient("/api/v1/state", client), undefined, signal);
}

export function getGateway(signal?: AbortSignal): Promise<GatewayInfo> {
  return request<GatewayInfo>("GET", "/api/v1/gateway", undefined, signal);
}

/** POST `{"state": state}` to a device's or mode's `path` (as given by the API) for the chosen box. */
export function postState(path: string, state: string, client: string | null): Promise<OrderReply> {
  return request<OrderReply>("POST", withClient(path, client), { state });
}

export function postAlarm(command: "arm" | "disarm", client: string | null): Promise<OrderReply> {
  return request<OrderReply>("POST", withClient("/api/v1/alarm", client), { state: command });
}
