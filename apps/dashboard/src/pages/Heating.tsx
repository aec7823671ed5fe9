// Chauffage: the four heating zones, each a mode select.
import { useApp } from "../context";
import { ModeSelect } from "../components/ModeSelect";
import { NoBox } from "../components/NoBox";
import { PageTitle } from "../components/PageTitle";

export const HEATING_KEYS = ["heating_zj", "heating_zn", "heating_zsb1", "heating_zsb2"];

export function Heating() {
  const { state } = useApp();
  const title = <PageTitle>Chauffage</PageTitle>;
  if (!state || state.client === null || state.boxes.length === 0) {
    return (
      <>
        {title}
        <NoBox />
      </>
    );
  }
  const modes = HEATING_KEYS.map((k) => state.modes.find((m) => m.key === k)).filter((m) => m !== undefined);
  return (
    <>
      {title}
      {modes.length === 0 ? (
        <p className="text-slate-700">Aucune zone de chauffage n'est connue pour cette box.</p>
      ) : (
        <div className="grid gap-3 md:grid-cols-2">
          {modes.map((m) => (
            <ModeSelect key={m.key} mode={m} />
          ))}
        </div>
      )}
    </>
  );
}
