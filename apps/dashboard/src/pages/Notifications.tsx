// Notifications: the notices of the event stream, newest first, in French with time and box.
import { useApp } from "../context";
import { PageTitle } from "../components/PageTitle";
import { formatDateTime, noticeIsAlert, noticeSentence } from "../labels";

export function Notifications() {
  const { notices } = useApp();
  return (
    <>
      <PageTitle>Notifications</PageTitle>
      {notices.length === 0 ? (
        <p className="text-slate-700">Aucune notification pour l'instant.</p>
      ) : (
        <ol className="space-y-2">
          {notices.map((n) => (
            <li
              key={n.id}
              className={`rounded-xl border bg-white p-3 shadow-sm ${noticeIsAlert(n) ? "border-red-300" : "border-slate-200"}`}
            >
              <p className={`font-medium ${noticeIsAlert(n) ? "text-red-800" : "text-slate-900"}`}>{noticeSentence(n)}</p>
              <p className="mt-1 flex flex-wrap gap-x-3 text-sm text-slate-600">
                <time dateTime={n.at}>{formatDateTime(n.at)}</time>
                <span>{n.client ? `Box ${n.client}` : "Passerelle"}</span>
              </p>
            </li>
          ))}
        </ol>
      )}
    </>
  );
}
