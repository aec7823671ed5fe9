// Pure French wording of the app: the page list (names and hashes), group names,
// alarm and device states, each event-stream notice as a sentence, and number / date formats.

import type { AlarmState, Device, Kind } from "./api";
import type { Notice } from "./events";

export interface PageInfo {
  /** Name in the navigation and the page's <h1>. */
  name: string;
  /** Hash route, e.g. "#/eclairage". */
  hash: string;
  /** Route key, the hash without "#". */
  route: string;
}

export const PAGES: readonly PageInfo[] = [
  { name: "Tableau de bord", hash: "#/", route: "/" },
  { name: "Sécurité", hash: "#/securite", route: "/securite" },
  { name: "Chauffage", hash: "#/chauffage", route: "/chauffage" },
  { name: "Éclairage", hash: "#/eclairage", route: "/eclairage" },
  { name: "Volets", hash: "#/volets", route: "/volets" },
  { name: "Cumulus", hash: "#/cumulus", route: "/cumulus" },
  { name: "Arrosage", hash: "#/arrosage", route: "/arrosage" },
  { name: "Notifications", hash: "#/notifications", route: "/notifications" },
  { name: "Réglages", hash: "#/reglages", route: "/reglages" },
  { name: "Caméras UniFi Protect", hash: "#/cameras", route: "/cameras" },
];

/** The route of a location hash: "" / "#" / "#/" → "/", "#/eclairage/" → "/eclairage". */
export function routeOf(hash: string): string {
  let r = hash.startsWith("#") ? hash.slice(1) : hash;
  const q = r.indexOf("?");
  if (q >= 0) r = r.slice(0, q);
  if (!r.startsWith("/")) r = `/${r}`;
  if (r.length > 1 && r.endsWith("/")) r = r.slice(0, -1);
  return r;
}

export function pageOf(route: string): PageInfo | undefined {
  return PAGES.find((p) => p.route === route);
}

export const GROUP_NAMES: Readonly<Record<string, string>> = {
  PDV: "Pièces de vie",
  CHB: "Chambres",
  PDE: "Pièces d'eau",
};

/** Order in which groups are shown. */
export const GROUP_ORDER = ["PDV", "CHB", "PDE"];

export function groupName(code: string): string {
  return GROUP_NAMES[code] ?? (code ? `Groupe ${code}` : "Autres");
}

/** Devices grouped by their `group`, in GROUP_ORDER then any other group, order kept inside a group. */
export function groupDevices<T extends { group: string }>(devices: T[]): { code: string; name: string; devices: T[] }[] {
  const map = new Map<string, T[]>();
  for (const d of devices) {
    const list = map.get(d.group) ?? [];
    list.push(d);
    map.set(d.group, list);
  }
  const codes = [...GROUP_ORDER.filter((c) => map.has(c)), ...[...map.keys()].filter((c) => !GROUP_ORDER.includes(c))];
  return codes.map((code) => ({ code, name: groupName(code), devices: map.get(code)! }));
}

const ALARM_STATES: Record<AlarmState, string> = {
  disarmed: "Désarmée",
  arming: "Armement en cours",
  armed_away: "Armée (absence)",
  pending: "Alarme en attente",
  triggered: "Alarme déclenchée",
};

export function alarmStateLabel(state: string | null | undefined): string {
  return (state && ALARM_STATES[state as AlarmState]) || "Inconnue";
}

export function alarmCommandVerb(command: string | null | undefined): string {
  if (command === "arm") return "armer";
  if (command === "disarm") return "désarmer";
  return "inconnu";
}

export function isLightKind(kind: string): boolean {
  return kind === "light" || kind === "dimmer";
}

export function isOpeningKind(kind: string): boolean {
  return kind === "shutter" || kind === "awning";
}

/** A device's state as a word: lights "allumée"/"éteinte", openings "ouvert"/"fermé", else "inconnu". */
export function deviceStateWord(kind: Kind | string, state: string | null | undefined): string {
  if (isLightKind(kind)) {
    if (state === "on") return "allumée";
    if (state === "off") return "éteinte";
    return "inconnu";
  }
  if (state === "open") return "ouvert";
  if (state === "closed" || state === "close") return "fermé";
  if (!isOpeningKind(kind)) {
    if (state === "on") return "allumée";
    if (state === "off") return "éteinte";
  }
  return "inconnu";
}

/** What a pending order will do, e.g. "→ allumée"; "" when nothing is pending. */
export function pendingWord(kind: Kind | string, pending: string | null | undefined): string {
  if (!pending) return "";
  if (pending === "unknown") return "effet inconnu";
  return `→ ${deviceStateWord(kind, pending)}`;
}

/** The order a click on a light's switch sends: off when on, else on (unknown → on). */
export function toggleTarget(state: Device["state"]): "on" | "off" {
  return state === "on" ? "off" : "on";
}

/** aria-checked of a light's switch. */
export function switchChecked(state: Device["state"]): "true" | "false" | "mixed" {
  if (state === "on") return "true";
  if (state === "off") return "false";
  return "mixed";
}

const LEAKS: Record<string, string> = {
  washing_machine: "lave-linge",
  dishwasher: "lave-vaisselle",
};

export function leakName(which: string): string {
  return LEAKS[which] ?? which;
}

function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function devicesPhrase(list: unknown[]): string {
  return list
    .map((d) => {
      const o = (d ?? {}) as Record<string, unknown>;
      const label = str(o.label) ?? str(o.id) ?? "?";
      return `${label} ${deviceStateWord(str(o.kind) ?? "", str(o.state))}`;
    })
    .join(", ");
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n > 1 ? many : one}`;
}

/** A notice of the event stream as a French sentence. */
export function noticeSentence(n: Pick<Notice, "type"> & Record<string, unknown>): string {
  switch (n.type) {
    case "queued": {
      const devices = arr(n.devices);
      let s = "Ordre envoyé à la box";
      if (devices.length > 0) s += ` : ${devicesPhrase(devices)}`;
      else if (n.command === "write") s += " (réglage)";
      if (n.merged === true) s += " (regroupé avec un ordre en attente)";
      return s;
    }
    case "alarm_queued": {
      let s = `Alarme : ordre ${alarmCommandVerb(str(n.command))} en attente`;
      if (str(n.replaced)) s += " (remplace l'ordre précédent)";
      return s;
    }
    case "refused":
      return `Ordre refusé : ${str(n.reason) ?? "raison inconnue"}`;
    case "delivered": {
      const guids = arr(n.guids).length;
      const alarm = str(n.alarm) !== null;
      if (guids === 0 && alarm) return "Ordre remis à la box (alarme)";
      let s = "Ordre remis à la box";
      if (guids > 1) s += ` (${plural(guids, "ordre", "ordres")}${alarm ? " et l'alarme" : ""})`;
      else if (alarm) s += " (et l'alarme)";
      return s;
    }
    case "acked":
      if (n.what === "alarm") return "Ordre acquitté par la box (alarme)";
      return "Ordre acquitté par la box";
    case "devices": {
      const devices = arr(n.devices);
      if (devices.length === 0) return "État confirmé";
      return `État confirmé : ${devicesPhrase(devices)}`;
    }
    case "reported": {
      const c = arr(n.changes).length;
      return `Mesures de la box mises à jour (${plural(c, "valeur", "valeurs")})`;
    }
    case "leak":
      return `Fuite ${leakName(str(n.which) ?? "?")} ${n.raised === true ? "détectée" : "terminée"}`;
    case "box_online":
      return "Box en ligne";
    case "box_offline":
      return "Box hors ligne";
    case "box_seen":
      return "Box vue";
    case "garbled": {
      const e = arr(n.errors).length;
      return e > 0
        ? `Message illisible de la box (${plural(e, "erreur", "erreurs")})`
        : "Message illisible de la box";
    }
    default:
      return `Événement « ${n.type} »`;
  }
}

/** Whether a notice is an alert worth highlighting (leak raised, refusal, box offline). */
export function noticeIsAlert(n: Pick<Notice, "type"> & Record<string, unknown>): boolean {
  return (n.type === "leak" && n.raised === true) || n.type === "refused" || n.type === "box_offline";
}

const nf0 = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 0 });
const nf1 = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });

/** "1 234 VA" (fr-FR grouping), "—" when unknown. */
export function formatVA(v: number | null | undefined): string {
  return typeof v === "number" && Number.isFinite(v) ? `${nf0.format(v)} VA` : "—";
}

/** "12 345,6 kWh", "—" when unknown. */
export function formatKwh(v: number | null | undefined): string {
  return typeof v === "number" && Number.isFinite(v) ? `${nf1.format(v)} kWh` : "—";
}

/** A date-time in fr-FR ("04/12/2026 19:00:00"), "—" for none or an unreadable one. */
export function formatDateTime(iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  return d.toLocaleString("fr-FR", { dateStyle: "short", timeStyle: "medium", ...(timeZone ? { timeZone } : {}) });
}

/** A duration in French: "45 s", "3 min 20 s", "2 h 05 min", "3 j 4 h". */
export function formatDuration(seconds: number | null | undefined): string {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${String(m % 60).padStart(2, "0")} min`;
  const d = Math.floor(h / 24);
  return `${d} j ${h % 24} h`;
}

/** "il y a 5 s" from an RFC 3339 time to `now`; "—" for none. */
export function formatAgo(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return "—";
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return "—";
  const s = Math.max(0, Math.round((now - t) / 1000));
  return `il y a ${formatDuration(s)}`;
}

export function yesNo(v: boolean | null | undefined): string {
  if (v === true) return "oui";
  if (v === false) return "non";
  return "inconnu";
}

/** The store as the gateway names it, explained: "memory (en mémoire, perdu au redémarrage)". */
export function storeName(store: string): string {
  if (store === "memory") return "memory (en mémoire, perdu au redémarrage)";
  if (store === "redis") return "redis (conservé dans Redis)";
  return store;
}

/**
 * Which alarm orders to offer for a reported state: arming when disarmed, disarming when armed,
 * arming or triggered, both when the state is unknown. The API still decides.
 */
export function alarmOffers(state: string | null | undefined): { arm: boolean; disarm: boolean } {
  switch (state) {
    case "disarmed":
      return { arm: true, disarm: false };
    case "arming":
    case "armed_away":
    case "pending":
    case "triggered":
      return { arm: false, disarm: true };
    default:
      return { arm: true, disarm: true };
  }
}
