// A shutter or the awning: "Ouvrir <label>" / "Fermer <label>" buttons, aria-pressed from the
// acknowledged state, the state in words and "en attente" while an order is queued.
import type { Device } from "../api";
import { deviceStateWord, pendingWord } from "../labels";
import { useApp } from "../context";
import { Pending } from "./Pending";

export function ShutterControl({ device }: { device: Device }) {
  const { send } = useApp();
  const pending = device.pending !== null;
  const btn = (pressed: boolean) =>
    `min-h-12 flex-1 rounded-lg border px-4 py-2 text-base font-semibold transition ${
      pressed
        ? "border-teal-700 bg-teal-700 text-white"
        : "border-slate-300 bg-white text-slate-900 hover:bg-slate-50 active:bg-slate-100"
    }`;
  return (
    <li className="rounded-xl border border-slate-200 bg-white p-3 shadow-sm">
      <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
        <span className="text-base font-medium text-slate-900">{device.label}</span>
        <span className="text-sm text-slate-600">{deviceStateWord(device.kind, device.state)}</span>
      </div>
      <div className="flex gap-2">
        <button
          type="button"
          aria-label={`Ouvrir ${device.label}`}
          aria-pressed={device.state === "open"}
          aria-busy={pending ? "true" : undefined}
          onClick={() => void send(device.path, "open")}
          className={btn(device.state === "open")}
        >
          Ouvrir
        </button>
        <button
          type="button"
          aria-label={`Fermer ${device.label}`}
          aria-pressed={device.state === "closed"}
          aria-busy={pending ? "true" : undefined}
          onClick={() => void send(device.path, "close")}
          className={btn(device.state === "closed")}
        >
          Fermer
        </button>
      </div>
      {pending ? (
        <div className="mt-2">
          <Pending detail={pendingWord(device.kind, device.pending)} />
        </div>
      ) : null}
    </li>
  );
}
