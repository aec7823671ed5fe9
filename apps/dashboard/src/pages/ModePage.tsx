// A page of one mode (Cumulus: water_heater, Arrosage: watering).
import { useApp } from "../context";
import { ModeSelect } from "../components/ModeSelect";
import { NoBox } from "../components/NoBox";
import { PageTitle } from "../components/PageTitle";

export function ModePage({ title, modeKey }: { title: string; modeKey: string }) {
  const { state } = useApp();
  const h1 = <PageTitle>{title}</PageTitle>;
  if (!state || state.client === null || state.boxes.length === 0) {
    return (
      <>
        {h1}
        <NoBox />
      </>
    );
  }
  const mode = state.modes.find((m) => m.key === modeKey);
  return (
    <>
      {h1}
      {mode ? (
        <div className="max-w-md">
          <ModeSelect mode={mode} />
        </div>
      ) : (
        <p className="text-slate-700">Ce réglage n'est pas connu pour cette box.</p>
      )}
    </>
  );
}
