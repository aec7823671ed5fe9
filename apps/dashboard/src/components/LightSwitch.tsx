// A light or dimmer: a role="switch" button named by the device's label; a click asks the API
// for the opposite of the acknowledged state (unknown → on). Pending orders show "en attente".
import type { Device } from "../api";
import { deviceStateWord, pendingWord, switchChecked, toggleTarget } from "../labels";
import { useApp } from "../context";
import { Pending } from "./Pending";

export function LightSwitch({ device }: { device: Device }) {
  const { send } = useApp();
  const checked = switchChecked(device.state);
  const pending = device.pending !== null;
  const track =
    checked === "true" ? "bg-teal-600" : checked === "false" ? "bg-slate-300" : "bg-slate-200 border border-dashed border-slate-400";
  const knob = checked === "true" ? "translate-x-6" : checked === "false" ? "translate-x-0" : "translate-x-3";
  return (
    <li className="flex flex-col gap-1 rounded-xl border border-slate-200 bg-white p-2 shadow-sm">
      <button
        type="button"
        role="switch"
        aria-label={device.label}
        aria-checked={checked}
        aria-busy={pending ? "true" : undefined}
        onClick={() => void send(device.path, toggleTarget(device.state))}
        className="flex min-h-14 w-full items-center justify-between gap-3 rounded-lg px-3 py-2 text-left hover:bg-slate-50 active:bg-slate-100"
      >
        <span className="flex flex-col">
          <span className="text-base font-medium text-slate-900">{device.label}</span>
          <span className="text-sm text-slate-600">{deviceStateWord(device.kind, device.state)}</span>
        </span>
        <span aria-hidden="true" className={`relative inline-flex h-7 w-12 shrink-0 items-center rounded-full p-0.5 transition ${track}`}>
          <span className={`h-6 w-6 rounded-full bg-white shadow transition ${knob}`} />
        </span>
      </button>
      {pending ? (
        <div className="px-3 pb-1">
          <Pending detail={pendingWord(device.kind, device.pending)} />
        </div>
      ) : null}
    </li>
  );
}
