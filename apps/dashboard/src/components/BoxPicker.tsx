// The box shown in the header: a labelled "Box" select when several boxes are known, else its id.
import type { Box } from "../api";

export function BoxPicker({
  boxes,
  client,
  onPick,
}: {
  boxes: Box[];
  client: string | null;
  onPick: (id: string) => void;
}) {
  if (boxes.length > 1) {
    return (
      <div className="flex items-center gap-2">
        <label htmlFor="box-picker" className="text-sm font-medium text-slate-700">
          Box
        </label>
        <select
          id="box-picker"
          value={client ?? ""}
          onChange={(e) => onPick(e.target.value)}
          className="min-h-11 rounded-lg border border-slate-300 bg-white px-2 py-1 text-base"
        >
          {client === null ? <option value="">—</option> : null}
          {boxes.map((b) => (
            <option key={b.id} value={b.id}>
              {b.id}
            </option>
          ))}
        </select>
      </div>
    );
  }
  if (boxes.length === 1) {
    const b = boxes[0];
    return (
      <p className="text-sm text-slate-700">
        Box <span className="font-mono font-semibold text-slate-900">{b.id}</span>
        <span className={`ml-2 ${b.online ? "text-teal-800" : "text-red-700"}`}>{b.online ? "en ligne" : "hors ligne"}</span>
      </p>
    );
  }
  return <p className="text-sm text-slate-600">Aucune box</p>;
}
