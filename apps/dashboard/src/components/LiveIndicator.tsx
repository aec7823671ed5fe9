// A small "En direct" / "Connexion perdue…" indicator of the event stream.
import type { LiveStatus } from "../events";

export function LiveIndicator({ live }: { live: LiveStatus }) {
  const text = live === "live" ? "En direct" : live === "lost" ? "Connexion perdue…" : "Connexion…";
  const dot = live === "live" ? "bg-emerald-500" : live === "lost" ? "bg-red-500" : "bg-amber-400";
  return (
    <span className="inline-flex items-center gap-1.5 text-sm text-slate-700" data-live={live}>
      <span aria-hidden="true" className={`h-2.5 w-2.5 rounded-full ${dot}`} />
      {text}
    </span>
  );
}
