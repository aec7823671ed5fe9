// The "en attente" badge shown next to a device, mode or the alarm while an order is queued.
export function Pending({ detail }: { detail?: string }) {
  return (
    <span className="inline-flex items-center gap-1 rounded-full bg-amber-100 px-2.5 py-0.5 text-sm font-medium text-amber-900">
      <span aria-hidden="true" className="h-2 w-2 animate-pulse rounded-full bg-amber-500" />
      <span>en attente</span>
      {detail ? <span className="text-amber-800">{detail}</span> : null}
    </span>
  );
}
