// Shown on device pages while no box has contacted the gateway yet.
export const NO_BOX_MESSAGE = "Aucune box n'a encore contacté la passerelle";

export function NoBox() {
  return (
    <div className="rounded-2xl border border-slate-300 bg-white p-4 text-slate-700">
      <p className="font-semibold">{NO_BOX_MESSAGE}</p>
      <p className="mt-1 text-sm text-slate-600">
        Les commandes apparaîtront dès que la box aura appelé la passerelle.
      </p>
    </div>
  );
}
