// Tableau de bord: the box's link, the alarm, alerts, power and energy, pending orders, quick links.
import { useApp } from "../context";
import { Card, Row } from "../components/Card";
import { NoBox } from "../components/NoBox";
import { PageTitle } from "../components/PageTitle";
import { alarmStateLabel, formatAgo, formatDateTime, formatKwh, formatVA } from "../labels";

const QUICK_LINKS = [
  { text: "Lumières", hash: "#/eclairage" },
  { text: "Ouvertures", hash: "#/volets" },
  { text: "Températures", hash: "#/chauffage" },
  { text: "Alarme", hash: "#/securite" },
  { text: "Eau chaude", hash: "#/cumulus" },
  { text: "Jardin", hash: "#/arrosage" },
];

export function Dashboard() {
  const { state, client } = useApp();
  const title = <PageTitle>Tableau de bord</PageTitle>;
  if (!state || state.client === null || state.boxes.length === 0) {
    return (
      <>
        {title}
        <NoBox />
      </>
    );
  }
  const box = state.boxes.find((b) => b.id === (state.client ?? client));
  const r = state.reported;
  const alerts: string[] = [];
  if (r?.leak_washing_machine) alerts.push("Fuite lave-linge");
  if (r?.leak_dishwasher) alerts.push("Fuite lave-vaisselle");
  if (r?.alarm_triggered || state.alarm?.state === "triggered") alerts.push("Alarme déclenchée");
  const pending = state.pending.length;
  return (
    <>
      {title}
      <div className="grid gap-4 md:grid-cols-2">
        <Card title="Box">
          <dl>
            <Row term="Identifiant">
              <span className="font-mono">{state.client}</span>
            </Row>
            <Row term="Liaison">
              {box ? (
                <span className={box.online ? "text-teal-800" : "text-red-700"}>{box.online ? "En ligne" : "Hors ligne"}</span>
              ) : (
                "inconnue"
              )}
            </Row>
            <Row term="Dernier contact">
              {box?.last_seen ? (
                <time dateTime={box.last_seen} title={formatAgo(box.last_seen)}>
                  {formatDateTime(box.last_seen)}
                </time>
              ) : (
                "—"
              )}
            </Row>
          </dl>
        </Card>
        <Card title="Alarme">
          <p className="text-xl font-semibold">{alarmStateLabel(state.alarm?.state)}</p>
          {state.alarm?.pending ? <p className="mt-1 text-sm text-amber-900">Un ordre d'alarme est en attente.</p> : null}
        </Card>
        <Card title="Alertes">
          {alerts.length === 0 ? (
            <p className="text-slate-700">Aucune alerte</p>
          ) : (
            <ul className="space-y-2">
              {alerts.map((a) => (
                <li key={a} className="rounded-lg bg-red-50 px-3 py-2 font-semibold text-red-800">
                  {a}
                </li>
              ))}
            </ul>
          )}
        </Card>
        <Card title="Consommation">
          <dl>
            <Row term="Puissance apparente">{formatVA(r?.apparent_power_va)}</Row>
            <Row term="Heures pleines">{formatKwh(r?.energy_full_hours_kwh)}</Row>
            <Row term="Heures creuses">{formatKwh(r?.energy_off_peak_kwh)}</Row>
          </dl>
        </Card>
        <Card title="Ordres en attente">
          <p className="text-xl font-semibold">
            {pending === 0 ? "Aucun ordre en attente" : `${pending} ordre${pending > 1 ? "s" : ""} en attente`}
          </p>
        </Card>
        <Card title="Accès rapide">
          <ul className="grid grid-cols-2 gap-2">
            {QUICK_LINKS.map((l) => (
              <li key={l.hash}>
                <a
                  href={l.hash}
                  className="flex min-h-12 items-center justify-center rounded-lg border border-slate-300 px-3 py-2 text-center font-medium text-slate-900 hover:bg-slate-50"
                >
                  {l.text}
                </a>
              </li>
            ))}
          </ul>
        </Card>
      </div>
    </>
  );
}
