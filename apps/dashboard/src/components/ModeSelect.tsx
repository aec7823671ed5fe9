// A mode (heating zone, water heater, watering): a <select> labelled by the mode's label whose
// change POSTs the option; the reported state is shown beside it, and "en attente" while queued.
import { useEffect, useState } from "react";
import type { Mode } from "../api";
import { useApp } from "../context";
import { Pending } from "./Pending";

export function ModeSelect({ mode }: { mode: Mode }) {
  const { send } = useApp();
  const [chosen, setChosen] = useState<string | null>(null);
  // A fresh answer of the API replaces what was just chosen.
  useEffect(() => setChosen(null), [mode.state, mode.pending]);
  const id = `mode-${mode.key}`;
  const value = chosen ?? mode.pending ?? mode.state ?? "";
  const pending = mode.pending !== null;
  return (
    <div className="rounded-xl border border-slate-200 bg-white p-3 shadow-sm">
      <label htmlFor={id} className="mb-1 block text-base font-medium text-slate-900">
        {mode.label}
      </label>
      <div className="mb-2 flex flex-wrap items-center gap-2 text-sm text-slate-600">
        <span id={`${id}-state`}>
          État actuel : <span className="font-medium text-slate-900">{mode.state ?? "inconnu"}</span>
        </span>
        {pending ? <Pending detail={`→ ${mode.pending}`} /> : null}
      </div>
      <select
        id={id}
        value={value}
        aria-busy={pending ? "true" : undefined}
        aria-describedby={`${id}-state`}
        onChange={async (e) => {
          const v = e.target.value;
          setChosen(v);
          const ok = await send(mode.path, v);
          if (!ok) setChosen(null);
        }}
        className="min-h-12 w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-base text-slate-900"
      >
        {value === "" ? (
          <option value="" disabled>
            — choisir —
          </option>
        ) : null}
        {mode.options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </div>
  );
}
