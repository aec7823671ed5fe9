// Sécurité: the alarm state, arm / disarm orders (the API checks the conditions, explained
// here), the pending alarm order, leak alerts and the triggered alarm.
import { useApp } from "../context";
import { Card, Row } from "../components/Card";
import { NoBox } from "../components/NoBox";
import { PageTitle } from "../components/PageTitle";
import { Pending } from "../components/Pending";
import { alarmCommandVerb, alarmOffers, alarmStateLabel, yesNo } from "../labels";

function alertWord(v: boolean | null | undefined, on: string): { text: string; cls: string } {
  if (v === true) return { text: on, cls: "text-red-700 font-semibold" };
  if (v === false) return { text: "non", cls: "text-slate-900" };
  return { text: "inconnu", cls: "text-slate-600" };
}

export function Security() {
  const { state, sendAlarm } = useApp();
  const title = <PageTitle>Sécurité</PageTitle>;
  if (!state || state.client === null || state.boxes.length === 0) {
    return (
      <>
        {title}
        <NoBox />
      </>
    );
  }
  const alarm = state.alarm;
  const r = state.reported;
  const pending = alarm?.pending ?? null;
  // Only the order that makes sense for the reported state (both when it is unknown).
  const offers = alarmOffers(alarm?.state);
  const btn =
    "min-h-12 flex-1 rounded-lg px-4 py-2 text-base font-semibold transition disabled:cursor-not-allowed disabled:opacity-60";
  const leakWm = alertWord(r?.leak_washing_machine, "fuite détectée");
  const leakDw = alertWord(r?.leak_dishwasher, "fuite détectée");
  const triggered = alertWord(r?.alarm_triggered, "oui");
  return (
    <>
      {title}
      <div className="grid gap-4 md:grid-cols-2">
        <Card title="Alarme">
          <p className="text-xl font-semibold" aria-live="off">
            {alarmStateLabel(alarm?.state)}
          </p>
          {pending ? (
            <p className="mt-2 flex flex-wrap items-center gap-2 text-sm">
              <Pending /> <span>ordre : {alarmCommandVerb(pending.command)}</span>
            </p>
          ) : null}
          <div className="mt-4 flex flex-col gap-2 sm:flex-row">
            {offers.arm ? (
              <button
                type="button"
                aria-describedby="alarm-conditions"
                aria-busy={pending ? "true" : undefined}
                onClick={() => void sendAlarm("arm")}
                className={`${btn} bg-red-700 text-white hover:bg-red-800`}
              >
                Armer l'alarme
              </button>
            ) : null}
            {offers.disarm ? (
              <button
                type="button"
                aria-describedby="alarm-conditions"
                aria-busy={pending ? "true" : undefined}
                onClick={() => void sendAlarm("disarm")}
                className={`${btn} border border-slate-300 bg-white text-slate-900 hover:bg-slate-50`}
              >
                Désarmer l'alarme
              </button>
            ) : null}
          </div>
        </Card>
        <Card title="Conditions">
          <div id="alarm-conditions">
            <p className="mb-2 text-sm text-slate-700">
              La passerelle ne peut armer ou désarmer l'alarme que si elle connaît la clé de la box et si le clavier de
              l'alarme autorise l'accès à distance. Sinon, l'ordre est refusé.
            </p>
            <dl>
              <Row term="Clé de la box connue">
                <span className={alarm?.key_known ? "text-teal-800" : "text-red-700"}>{yesNo(alarm?.key_known ?? false)}</span>
              </Row>
              <Row term="Accès à distance autorisé au clavier">
                <span className={alarm?.remote_access === false ? "text-red-700" : alarm?.remote_access ? "text-teal-800" : ""}>
                  {yesNo(alarm?.remote_access)}
                </span>
              </Row>
            </dl>
          </div>
        </Card>
        <Card title="Alertes">
          <dl>
            <Row term="Lave-linge">
              <span className={leakWm.cls}>{leakWm.text}</span>
            </Row>
            <Row term="Lave-vaisselle">
              <span className={leakDw.cls}>{leakDw.text}</span>
            </Row>
            <Row term="Alarme déclenchée">
              <span className={triggered.cls}>{triggered.text}</span>
            </Row>
          </dl>
        </Card>
      </div>
    </>
  );
}
