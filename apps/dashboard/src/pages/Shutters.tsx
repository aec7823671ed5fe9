// Volets: the shutters (grouped by room group) and the terrace awning, each with Ouvrir / Fermer.
import { useApp } from "../context";
import { NoBox } from "../components/NoBox";
import { PageTitle } from "../components/PageTitle";
import { ShutterControl } from "../components/ShutterControl";
import { groupDevices } from "../labels";

export function Shutters() {
  const { state } = useApp();
  const title = <PageTitle>Volets</PageTitle>;
  if (!state || state.client === null || state.boxes.length === 0) {
    return (
      <>
        {title}
        <NoBox />
      </>
    );
  }
  const groups = groupDevices(state.devices.filter((d) => d.kind === "shutter"));
  const awnings = state.devices.filter((d) => d.kind === "awning");
  return (
    <>
      {title}
      {groups.length === 0 && awnings.length === 0 ? (
        <p className="text-slate-700">Aucun volet n'est connu pour cette box.</p>
      ) : null}
      <div className="space-y-6">
        {groups.map((g) => (
          <section key={g.code} aria-labelledby={`shutters-${g.code}`}>
            <h2 id={`shutters-${g.code}`} className="mb-2 text-lg font-semibold text-slate-800">
              {g.name}
            </h2>
            <ul className="grid gap-2 sm:grid-cols-2 lg:grid-cols-3">
              {g.devices.map((d) => (
                <ShutterControl key={d.id} device={d} />
              ))}
            </ul>
          </section>
        ))}
        {awnings.length > 0 ? (
          <section aria-labelledby="shutters-awning">
            <h2 id="shutters-awning" className="mb-2 text-lg font-semibold text-slate-800">
              Store
            </h2>
            <ul className="grid gap-2 sm:grid-cols-2 lg:grid-cols-3">
              {awnings.map((d) => (
                <ShutterControl key={d.id} device={d} />
              ))}
            </ul>
          </section>
        ) : null}
      </div>
    </>
  );
}
