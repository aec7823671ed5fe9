// Éclairage: lights and dimmers grouped by room group, each a switch.
import { useApp } from "../context";
import { LightSwitch } from "../components/LightSwitch";
import { NoBox } from "../components/NoBox";
import { PageTitle } from "../components/PageTitle";
import { groupDevices, isLightKind } from "../labels";

export function Lighting() {
  const { state } = useApp();
  const title = <PageTitle>Éclairage</PageTitle>;
  if (!state || state.client === null || state.boxes.length === 0) {
    return (
      <>
        {title}
        <NoBox />
      </>
    );
  }
  const groups = groupDevices(state.devices.filter((d) => isLightKind(d.kind)));
  return (
    <>
      {title}
      {groups.length === 0 ? <p className="text-slate-700">Aucune lumière n'est connue pour cette box.</p> : null}
      <div className="space-y-6">
        {groups.map((g) => (
          <section key={g.code} aria-labelledby={`group-${g.code}`}>
            <h2 id={`group-${g.code}`} className="mb-2 text-lg font-semibold text-slate-800">
              {g.name}
            </h2>
            <ul className="grid gap-2 sm:grid-cols-2 lg:grid-cols-3">
              {g.devices.map((d) => (
                <LightSwitch key={d.id} device={d} />
              ))}
            </ul>
          </section>
        ))}
      </div>
    </>
  );
}
