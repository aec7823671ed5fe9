// Réglages: what GET /api/v1/gateway says (nothing secret), the boxes seen, and "Se déconnecter".
import { useEffect, useState } from "react";
import { ApiError, getGateway, type GatewayInfo } from "../api";
import { useApp } from "../context";
import { Card, Row } from "../components/Card";
import { PageTitle } from "../components/PageTitle";
import { formatDateTime, formatDuration, storeName, yesNo } from "../labels";

export function Settings() {
  const { state, reportError, logout, hasToken } = useApp();
  const [info, setInfo] = useState<GatewayInfo | null>(null);
  useEffect(() => {
    const ctl = new AbortController();
    getGateway(ctl.signal)
      .then(setInfo)
      .catch((e: unknown) => {
        if (e instanceof ApiError && e.status !== 401) reportError(e.message);
      });
    return () => ctl.abort();
  }, [reportError, hasToken]);
  const boxes = state?.boxes ?? [];
  return (
    <>
      <PageTitle>Réglages</PageTitle>
      <div className="grid gap-4 md:grid-cols-2">
        <Card title="Passerelle">
          {info ? (
            <dl>
              <Row term="Version">{info.version}</Row>
              <Row term="Stockage">{storeName(info.store)}</Row>
              <Row term="En marche depuis">{formatDuration(info.uptime_s)}</Row>
              <Row term="Boxes connues">{info.boxes}</Row>
              <Row term="MQTT">{info.mqtt.enabled ? `activé${info.mqtt.broker ? ` (${info.mqtt.broker})` : ""}` : "désactivé"}</Row>
              <Row term="MCP">{info.mcp.enabled ? "activé" : "désactivé"}</Row>
              <Row term="Jeton d'administration requis">{yesNo(info.admin_token)}</Row>
            </dl>
          ) : (
            <p className="text-slate-600">Chargement…</p>
          )}
        </Card>
        <Card title="Boxes vues">
          {boxes.length === 0 ? (
            <p className="text-slate-700">Aucune box n'a encore contacté la passerelle</p>
          ) : (
            <ul className="space-y-3">
              {boxes.map((b) => (
                <li key={b.id} className="rounded-lg border border-slate-200 p-3">
                  <p className="font-mono font-semibold">{b.id}</p>
                  <dl className="text-sm">
                    <Row term="Adresse">{b.address ?? "inconnue"}</Row>
                    <Row term="Version du logiciel">{b.version ?? "inconnue"}</Row>
                    <Row term="Dernier contact">{formatDateTime(b.last_seen)}</Row>
                    <Row term="Liaison">{b.online ? "en ligne" : "hors ligne"}</Row>
                    <Row term="Ordres en attente">{b.pending}</Row>
                  </dl>
                </li>
              ))}
            </ul>
          )}
        </Card>
        {hasToken ? (
          <Card title="Session">
            <button
              type="button"
              onClick={logout}
              className="min-h-12 w-full rounded-lg border border-slate-300 bg-white px-4 py-2 text-base font-semibold hover:bg-slate-50"
            >
              Se déconnecter
            </button>
          </Card>
        ) : null}
      </div>
    </>
  );
}
