// Unit tests of the French wording in src/labels.ts: pages, groups, states, notices, formats.
import { describe, expect, it } from "vitest";
import {
  GROUP_NAMES,
  PAGES,
  alarmCommandVerb,
  alarmOffers,
  alarmStateLabel,
  deviceStateWord,
  formatAgo,
  formatDateTime,
  formatDuration,
  formatKwh,
  formatVA,
  groupDevices,
  groupName,
  isLightKind,
  isOpeningKind,
  leakName,
  noticeIsAlert,
  noticeSentence,
  pageOf,
  pendingWord,
  routeOf,
  storeName,
  switchChecked,
  toggleTarget,
  yesNo,
} from "./labels";

/** fr-FR puts narrow no-break spaces in numbers; compare with plain spaces. */
const plain = (s: string) => s.replace(/[\u202f\u00a0]/g, " ");

describe("pages", () => {
  it("has every page with its exact name and hash", () => {
    expect(PAGES.map((p) => [p.name, p.hash])).toEqual([
      ["Tableau de bord", "#/"],
      ["Sécurité", "#/securite"],
      ["Chauffage", "#/chauffage"],
      ["Éclairage", "#/eclairage"],
      ["Volets", "#/volets"],
      ["Cumulus", "#/cumulus"],
      ["Arrosage", "#/arrosage"],
      ["Notifications", "#/notifications"],
      ["Réglages", "#/reglages"],
      ["Caméras UniFi Protect", "#/cameras"],
    ]);
    for (const p of PAGES) expect(p.hash).toBe(`#${p.route}`);
  });

  it("routes hashes", () => {
    expect(routeOf("")).toBe("/");
    expect(routeOf("#")).toBe("/");
    expect(routeOf("#/")).toBe("/");
    expect(routeOf("#/eclairage")).toBe("/eclairage");
    expect(routeOf("#/eclairage/")).toBe("/eclairage");
    expect(routeOf("#eclairage")).toBe("/eclairage");
    expect(routeOf("#/volets?x=1")).toBe("/volets");
    expect(pageOf("/reglages")?.name).toBe("Réglages");
    expect(pageOf("/nope")).toBeUndefined();
  });
});

describe("groups", () => {
  it("names the three groups", () => {
    expect(GROUP_NAMES).toEqual({ PDV: "Pièces de vie", CHB: "Chambres", PDE: "Pièces d'eau" });
    expect(groupName("PDV")).toBe("Pièces de vie");
    expect(groupName("CHB")).toBe("Chambres");
    expect(groupName("PDE")).toBe("Pièces d'eau");
    expect(groupName("XYZ")).toBe("Groupe XYZ");
    expect(groupName("")).toBe("Autres");
  });

  it("groups devices in the fixed order, keeping order inside", () => {
    const d = (id: string, group: string) => ({ id, group });
    const g = groupDevices([d("a", "PDE"), d("b", "CHB"), d("c", "PDV"), d("e", "ZZZ"), d("f", "CHB")]);
    expect(g.map((x) => [x.code, x.name, x.devices.map((y) => y.id)])).toEqual([
      ["PDV", "Pièces de vie", ["c"]],
      ["CHB", "Chambres", ["b", "f"]],
      ["PDE", "Pièces d'eau", ["a"]],
      ["ZZZ", "Groupe ZZZ", ["e"]],
    ]);
    expect(groupDevices([])).toEqual([]);
  });
});

describe("alarm", () => {
  it("says each state in French", () => {
    expect(alarmStateLabel("disarmed")).toBe("Désarmée");
    expect(alarmStateLabel("arming")).toBe("Armement en cours");
    expect(alarmStateLabel("armed_away")).toBe("Armée (absence)");
    expect(alarmStateLabel("pending")).toBe("Alarme en attente");
    expect(alarmStateLabel("triggered")).toBe("Alarme déclenchée");
    expect(alarmStateLabel(null)).toBe("Inconnue");
    expect(alarmStateLabel(undefined)).toBe("Inconnue");
    expect(alarmStateLabel("weird")).toBe("Inconnue");
  });

  it("offers the order that fits the state", () => {
    expect(alarmOffers("disarmed")).toEqual({ arm: true, disarm: false });
    for (const st of ["arming", "armed_away", "pending", "triggered"]) expect(alarmOffers(st)).toEqual({ arm: false, disarm: true });
    expect(alarmOffers(null)).toEqual({ arm: true, disarm: true });
    expect(alarmOffers("weird")).toEqual({ arm: true, disarm: true });
  });

  it("names the commands", () => {
    expect(alarmCommandVerb("arm")).toBe("armer");
    expect(alarmCommandVerb("disarm")).toBe("désarmer");
    expect(alarmCommandVerb(null)).toBe("inconnu");
  });
});

describe("devices", () => {
  it("kinds", () => {
    expect(isLightKind("light")).toBe(true);
    expect(isLightKind("dimmer")).toBe(true);
    expect(isLightKind("shutter")).toBe(false);
    expect(isOpeningKind("shutter")).toBe(true);
    expect(isOpeningKind("awning")).toBe(true);
    expect(isOpeningKind("light")).toBe(false);
  });

  it("state words", () => {
    expect(deviceStateWord("light", "on")).toBe("allumée");
    expect(deviceStateWord("light", "off")).toBe("éteinte");
    expect(deviceStateWord("dimmer", "on")).toBe("allumée");
    expect(deviceStateWord("dimmer", null)).toBe("inconnu");
    expect(deviceStateWord("shutter", "open")).toBe("ouvert");
    expect(deviceStateWord("shutter", "closed")).toBe("fermé");
    expect(deviceStateWord("awning", "close")).toBe("fermé");
    expect(deviceStateWord("awning", null)).toBe("inconnu");
    expect(deviceStateWord("shutter", "on")).toBe("inconnu");
    expect(deviceStateWord("light", "open")).toBe("inconnu");
    expect(deviceStateWord("", "on")).toBe("allumée");
  });

  it("pending words", () => {
    expect(pendingWord("light", null)).toBe("");
    expect(pendingWord("light", "on")).toBe("→ allumée");
    expect(pendingWord("light", "off")).toBe("→ éteinte");
    expect(pendingWord("shutter", "open")).toBe("→ ouvert");
    expect(pendingWord("shutter", "closed")).toBe("→ fermé");
    expect(pendingWord("light", "unknown")).toBe("effet inconnu");
  });

  it("switch: toggle target and aria-checked", () => {
    expect(toggleTarget("on")).toBe("off");
    expect(toggleTarget("off")).toBe("on");
    expect(toggleTarget(null)).toBe("on");
    expect(switchChecked("on")).toBe("true");
    expect(switchChecked("off")).toBe("false");
    expect(switchChecked(null)).toBe("mixed");
  });

  it("leak names", () => {
    expect(leakName("washing_machine")).toBe("lave-linge");
    expect(leakName("dishwasher")).toBe("lave-vaisselle");
    expect(leakName("other")).toBe("other");
  });
});

describe("noticeSentence", () => {
  const n = (type: string, fields: Record<string, unknown> = {}) => ({ id: 1, at: "", client: "ABC", type, ...fields });

  it("queued", () => {
    expect(noticeSentence(n("queued", { guid: "g", merged: false, command: "launch", devices: [], params: [] }))).toBe(
      "Ordre envoyé à la box",
    );
    expect(
      noticeSentence(
        n("queued", {
          merged: false,
          command: "scene",
          devices: [
            { id: "petite_chambre_3", label: "Petite chambre 3", kind: "light", state: "on" },
            { id: "volet_salon_1", label: "Volet salon 1", kind: "shutter", state: "closed" },
          ],
        }),
      ),
    ).toBe("Ordre envoyé à la box : Petite chambre 3 allumée, Volet salon 1 fermé");
    expect(noticeSentence(n("queued", { command: "write", devices: [], merged: true }))).toBe(
      "Ordre envoyé à la box (réglage) (regroupé avec un ordre en attente)",
    );
  });

  it("alarm_queued", () => {
    expect(noticeSentence(n("alarm_queued", { guid: "g", command: "arm", replaced: null }))).toBe(
      "Alarme : ordre armer en attente",
    );
    expect(noticeSentence(n("alarm_queued", { guid: "g", command: "disarm", replaced: null }))).toBe(
      "Alarme : ordre désarmer en attente",
    );
    expect(noticeSentence(n("alarm_queued", { guid: "g", command: "arm", replaced: "old" }))).toBe(
      "Alarme : ordre armer en attente (remplace l'ordre précédent)",
    );
  });

  it("refused", () => {
    expect(noticeSentence(n("refused", { reason: "clé inconnue" }))).toBe("Ordre refusé : clé inconnue");
    expect(noticeSentence(n("refused"))).toBe("Ordre refusé : raison inconnue");
  });

  it("delivered", () => {
    expect(noticeSentence(n("delivered", { guids: ["a"], alarm: null }))).toBe("Ordre remis à la box");
    expect(noticeSentence(n("delivered", { guids: ["a", "b"], alarm: null }))).toBe("Ordre remis à la box (2 ordres)");
    expect(noticeSentence(n("delivered", { guids: [], alarm: "g" }))).toBe("Ordre remis à la box (alarme)");
    expect(noticeSentence(n("delivered", { guids: ["a"], alarm: "g" }))).toBe("Ordre remis à la box (et l'alarme)");
    expect(noticeSentence(n("delivered", { guids: ["a", "b"], alarm: "g" }))).toBe(
      "Ordre remis à la box (2 ordres et l'alarme)",
    );
  });

  it("acked", () => {
    expect(noticeSentence(n("acked", { guid: "g", what: "action" }))).toBe("Ordre acquitté par la box");
    expect(noticeSentence(n("acked", { guid: "g", what: "unknown" }))).toBe("Ordre acquitté par la box");
    expect(noticeSentence(n("acked", { guid: "g", what: "alarm" }))).toBe("Ordre acquitté par la box (alarme)");
  });

  it("devices", () => {
    expect(
      noticeSentence(n("devices", { devices: [{ id: "petite_chambre_3", label: "Petite chambre 3", kind: "light", state: "on" }] })),
    ).toBe("État confirmé : Petite chambre 3 allumée");
    expect(
      noticeSentence(
        n("devices", {
          devices: [
            { id: "a", label: "Cuisine", kind: "light", state: "off" },
            { id: "b", label: "Store terrasse", kind: "awning", state: "open" },
            { id: "c", label: "Salon", kind: "dimmer", state: null },
          ],
        }),
      ),
    ).toBe("État confirmé : Cuisine éteinte, Store terrasse ouvert, Salon inconnu");
    expect(noticeSentence(n("devices", { devices: [] }))).toBe("État confirmé");
  });

  it("reported", () => {
    expect(noticeSentence(n("reported", { changes: [{ k: 1, v: "2" }] }))).toBe("Mesures de la box mises à jour (1 valeur)");
    expect(noticeSentence(n("reported", { changes: [{ k: 1, v: "2" }, { k: 2, v: "3" }] }))).toBe(
      "Mesures de la box mises à jour (2 valeurs)",
    );
  });

  it("leak", () => {
    expect(noticeSentence(n("leak", { which: "washing_machine", raised: true }))).toBe("Fuite lave-linge détectée");
    expect(noticeSentence(n("leak", { which: "washing_machine", raised: false }))).toBe("Fuite lave-linge terminée");
    expect(noticeSentence(n("leak", { which: "dishwasher", raised: true }))).toBe("Fuite lave-vaisselle détectée");
    expect(noticeSentence(n("leak", { which: "dishwasher", raised: false }))).toBe("Fuite lave-vaisselle terminée");
  });

  it("box online / offline / seen", () => {
    expect(noticeSentence(n("box_online"))).toBe("Box en ligne");
    expect(noticeSentence(n("box_offline"))).toBe("Box hors ligne");
    expect(noticeSentence(n("box_seen"))).toBe("Box vue");
  });

  it("garbled", () => {
    expect(noticeSentence(n("garbled", { errors: ["a", "b"] }))).toBe("Message illisible de la box (2 erreurs)");
    expect(noticeSentence(n("garbled", { errors: ["a"] }))).toBe("Message illisible de la box (1 erreur)");
    expect(noticeSentence(n("garbled", { errors: [] }))).toBe("Message illisible de la box");
  });

  it("unknown type", () => {
    expect(noticeSentence(n("something_new"))).toBe("Événement « something_new »");
  });

  it("alerts", () => {
    expect(noticeIsAlert(n("leak", { which: "dishwasher", raised: true }))).toBe(true);
    expect(noticeIsAlert(n("leak", { which: "dishwasher", raised: false }))).toBe(false);
    expect(noticeIsAlert(n("refused", { reason: "x" }))).toBe(true);
    expect(noticeIsAlert(n("box_offline"))).toBe(true);
    expect(noticeIsAlert(n("box_online"))).toBe(false);
  });
});

describe("formats", () => {
  it("apparent power", () => {
    expect(plain(formatVA(1234))).toBe("1 234 VA");
    expect(plain(formatVA(0))).toBe("0 VA");
    expect(plain(formatVA(12.6))).toBe("13 VA");
    expect(formatVA(null)).toBe("—");
    expect(formatVA(undefined)).toBe("—");
    expect(formatVA(Number.NaN)).toBe("—");
  });

  it("energy", () => {
    expect(plain(formatKwh(12345.67))).toBe("12 345,7 kWh");
    expect(plain(formatKwh(3))).toBe("3 kWh");
    expect(formatKwh(null)).toBe("—");
  });

  it("date-time in fr-FR", () => {
    expect(formatDateTime("2026-12-04T18:00:00Z", "Europe/Paris")).toBe("04/12/2026 19:00:00");
    expect(formatDateTime("2026-07-01T08:05:09Z", "UTC")).toBe("01/07/2026 08:05:09");
    expect(formatDateTime(null)).toBe("—");
    expect(formatDateTime("not a date")).toBe("—");
  });

  it("durations", () => {
    expect(formatDuration(0)).toBe("0 s");
    expect(formatDuration(45)).toBe("45 s");
    expect(formatDuration(200)).toBe("3 min 20 s");
    expect(formatDuration(2 * 3600 + 5 * 60)).toBe("2 h 05 min");
    expect(formatDuration(3 * 86400 + 4 * 3600 + 59)).toBe("3 j 4 h");
    expect(formatDuration(-1)).toBe("—");
    expect(formatDuration(null)).toBe("—");
  });

  it("ago", () => {
    const now = Date.parse("2026-12-04T18:00:10Z");
    expect(formatAgo("2026-12-04T18:00:00Z", now)).toBe("il y a 10 s");
    expect(formatAgo("2026-12-04T18:00:20Z", now)).toBe("il y a 0 s");
    expect(formatAgo(null, now)).toBe("—");
    expect(formatAgo("bad", now)).toBe("—");
  });

  it("yes / no and store", () => {
    expect(yesNo(true)).toBe("oui");
    expect(yesNo(false)).toBe("non");
    expect(yesNo(null)).toBe("inconnu");
    expect(storeName("memory")).toBe("memory (en mémoire, perdu au redémarrage)");
    expect(storeName("redis")).toBe("redis (conservé dans Redis)");
    expect(storeName("other")).toBe("other");
  });
});
