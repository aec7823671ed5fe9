// Caméras UniFi Protect: not configured on this gateway; no fake data.
import { PageTitle } from "../components/PageTitle";

export function Cameras() {
  return (
    <>
      <PageTitle>Caméras UniFi Protect</PageTitle>
      <div className="rounded-2xl border border-slate-200 bg-white p-4 shadow-sm">
        <p className="font-semibold text-slate-900">UniFi Protect n'est pas configuré sur cette passerelle</p>
        <p className="mt-2 text-slate-700">Aucune caméra n'est affichée tant qu'aucun serveur UniFi Protect n'est relié.</p>
      </div>
    </>
  );
}
