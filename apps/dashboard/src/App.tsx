// The app shell: hash routing, the state read from the API (refetched on event-stream notices,
// debounced, plus a slow fallback), the chosen box, orders, errors / status, and the token login.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  ApiError,
  clearToken,
  getState,
  getToken,
  onUnauthorized,
  postAlarm,
  postState,
  setToken,
  type GatewayState,
} from "./api";
import { AppContext, type AppContextValue } from "./context";
import { connectEvents, mergeNotices, type LiveStatus, type Notice } from "./events";
import { routeOf } from "./labels";
import { BoxPicker } from "./components/BoxPicker";
import { LiveIndicator } from "./components/LiveIndicator";
import { Login } from "./components/Login";
import { Nav } from "./components/Nav";
import { Cameras } from "./pages/Cameras";
import { Dashboard } from "./pages/Dashboard";
import { Heating } from "./pages/Heating";
import { Lighting } from "./pages/Lighting";
import { ModePage } from "./pages/ModePage";
import { NotFound } from "./pages/NotFound";
import { Notifications } from "./pages/Notifications";
import { Security } from "./pages/Security";
import { Settings } from "./pages/Settings";
import { Shutters } from "./pages/Shutters";

const CLIENT_KEY = "essensys.client";
const REFETCH_DEBOUNCE_MS = 150;
const FALLBACK_REFETCH_MS = 30_000;
const STATUS_CLEAR_MS = 6000;

function useHashRoute(): string {
  const [route, setRoute] = useState(() => routeOf(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(routeOf(window.location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}

function Page({ route }: { route: string }) {
  switch (route) {
    case "/":
      return <Dashboard />;
    case "/securite":
      return <Security />;
    case "/chauffage":
      return <Heating />;
    case "/eclairage":
      return <Lighting />;
    case "/volets":
      return <Shutters />;
    case "/cumulus":
      return <ModePage title="Cumulus" modeKey="water_heater" />;
    case "/arrosage":
      return <ModePage title="Arrosage" modeKey="watering" />;
    case "/notifications":
      return <Notifications />;
    case "/reglages":
      return <Settings />;
    case "/cameras":
      return <Cameras />;
    default:
      return <NotFound />;
  }
}

function readChosen(): string | null {
  try {
    return sessionStorage.getItem(CLIENT_KEY);
  } catch {
    return null;
  }
}

function forgetChosen(): void {
  try {
    sessionStorage.removeItem(CLIENT_KEY);
  } catch {
    /* nothing stored */
  }
}

/** Pages that show without the house's state. */
const STATELESS_ROUTES = ["/notifications", "/reglages", "/cameras"];

export default function App() {
  const route = useHashRoute();
  const [state, setState] = useState<GatewayState | null>(null);
  const [loading, setLoading] = useState(true);
  const [chosen, setChosen] = useState<string | null>(readChosen);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<{ text: string; n: number }>({ text: "", n: 0 });
  const [needLogin, setNeedLogin] = useState(false);
  const [hasToken, setHasToken] = useState(() => getToken() !== null);
  const [authEpoch, setAuthEpoch] = useState(0);
  const [notices, setNotices] = useState<Notice[]>([]);
  const [live, setLive] = useState<LiveStatus>("connecting");

  const seq = useRef(0);
  /** Whether the error shown came from reading the state (cleared by the next good read). */
  const refreshError = useRef(false);
  const chosenRef = useRef(chosen);
  chosenRef.current = chosen;
  const stateRef = useRef(state);
  stateRef.current = state;

  // 401 anywhere: the login form; with a token stored, it was refused.
  useEffect(
    () =>
      onUnauthorized((hadToken) => {
        if (hadToken) {
          refreshError.current = false;
          clearToken();
          setHasToken(false);
          setError("Jeton refusé");
        }
        setNeedLogin(true);
      }),
    [],
  );

  const refresh = useCallback(async () => {
    const mine = ++seq.current;
    let settled = true;
    try {
      const s = await getState(chosenRef.current);
      if (mine !== seq.current) return;
      setState(s);
      if (refreshError.current) {
        refreshError.current = false;
        setError(null);
      }
    } catch (e) {
      if (mine !== seq.current) return;
      if (e instanceof ApiError) {
        if (e.status === 404 && chosenRef.current) {
          // The picked box is no longer known: fall back to the gateway's default box.
          forgetChosen();
          setChosen(null);
          settled = false;
          return;
        }
        if (e.status !== 401) {
          refreshError.current = true;
          setError(e.message);
        }
      }
    } finally {
      if (settled && mine === seq.current) setLoading(false);
    }
  }, []);

  const debounce = useRef<ReturnType<typeof setTimeout> | null>(null);
  const scheduleRefresh = useCallback(() => {
    if (debounce.current) clearTimeout(debounce.current);
    debounce.current = setTimeout(() => {
      debounce.current = null;
      void refresh();
    }, REFETCH_DEBOUNCE_MS);
  }, [refresh]);

  // Read the state now, whenever the box or the token changes, and every 30 s as a fallback.
  useEffect(() => {
    if (needLogin) return;
    void refresh();
    const t = setInterval(() => void refresh(), FALLBACK_REFETCH_MS);
    return () => clearInterval(t);
  }, [refresh, chosen, authEpoch, needLogin]);

  // The event stream: notices for the list, and a refetch on any notice about the shown box.
  useEffect(() => {
    if (needLogin) return;
    const close = connectEvents({
      onStatus: (s) => {
        setLive(s);
        // Reported cells and heartbeats are not replayed: read the state again on (re)connection.
        if (s === "live") scheduleRefresh();
      },
      onLagged: () => scheduleRefresh(),
      onNotice: (n) => {
        if (n.type !== "box_seen") setNotices((list) => mergeNotices(list, [n]));
        const shown = stateRef.current?.client ?? chosenRef.current;
        if (
          n.client === null ||
          shown === null ||
          n.client === shown ||
          n.type === "box_online" ||
          n.type === "box_offline"
        ) {
          scheduleRefresh();
        }
      },
    });
    return () => {
      close();
      if (debounce.current) clearTimeout(debounce.current);
    };
  }, [authEpoch, needLogin, scheduleRefresh]);

  useEffect(() => {
    if (!status.text) return;
    const t = setTimeout(() => setStatus((s) => ({ text: "", n: s.n })), STATUS_CLEAR_MS);
    return () => clearTimeout(t);
  }, [status]);

  // A message about another page does not follow the person around (the login's does).
  const needLoginRef = useRef(needLogin);
  needLoginRef.current = needLogin;
  useEffect(() => {
    if (!needLoginRef.current) setError(null);
  }, [route]);

  const client = chosen ?? state?.client ?? null;

  const afterOrder = useCallback(
    async (p: Promise<unknown>): Promise<boolean> => {
      try {
        await p;
        setError(null);
        refreshError.current = false;
        setStatus((s) => ({ text: "Ordre envoyé", n: s.n + 1 }));
        void refresh();
        return true;
      } catch (e) {
        setStatus((s) => ({ text: "", n: s.n }));
        refreshError.current = false;
        if (e instanceof ApiError) {
          if (e.status !== 401) setError(e.message);
        } else {
          setError("Erreur inattendue");
        }
        return false;
      }
    },
    [refresh],
  );

  const send = useCallback(
    (path: string, value: string) => afterOrder(postState(path, value, client)),
    [afterOrder, client],
  );
  const sendAlarm = useCallback(
    (command: "arm" | "disarm") => afterOrder(postAlarm(command, client)),
    [afterOrder, client],
  );
  const reportError = useCallback((m: string) => setError(m), []);
  const logout = useCallback(() => {
    clearToken();
    setHasToken(false);
    setError(null);
    setAuthEpoch((e) => e + 1);
  }, []);

  const login = (token: string) => {
    setToken(token);
    setHasToken(true);
    setError(null);
    setNeedLogin(false);
    setAuthEpoch((e) => e + 1);
  };

  const pick = (id: string) => {
    try {
      sessionStorage.setItem(CLIENT_KEY, id);
    } catch {
      /* private mode: keep it in memory only */
    }
    setChosen(id);
  };

  const ctx: AppContextValue = useMemo(
    () => ({ state, loading, client, notices, live, send, sendAlarm, reportError, refresh: () => void refresh(), logout, hasToken }),
    [state, loading, client, notices, live, send, sendAlarm, reportError, refresh, logout, hasToken],
  );

  return (
    <AppContext.Provider value={ctx}>
      <div className="min-h-screen">
        <header className="sticky top-0 z-10 border-b border-slate-200 bg-white/95 backdrop-blur">
          <div className="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-2 px-4 py-2">
            <a href="#/" className="text-lg font-bold text-teal-800" aria-label="Essensys, accueil">
              Essensys
            </a>
            <div className="flex flex-wrap items-center gap-3">
              {state && !needLogin ? <BoxPicker boxes={state.boxes} client={client} onPick={pick} /> : null}
              {needLogin ? null : <LiveIndicator live={live} />}
            </div>
          </div>
        </header>
        <div className="mx-auto max-w-6xl md:flex md:gap-6 md:px-4 md:py-4">
          <div className="md:w-56 md:shrink-0">
            <Nav route={route} />
          </div>
          <main className="min-w-0 flex-1 px-4 pt-4 pb-24 md:px-0 md:pt-0">
            {error ? (
              <div className="mb-4 flex items-start justify-between gap-3 rounded-xl border border-red-300 bg-red-50 px-4 py-3 text-red-900">
                <p role="alert" className="font-medium">
                  {error}
                </p>
                <button
                  type="button"
                  onClick={() => setError(null)}
                  className="min-h-8 shrink-0 rounded-md px-2 text-sm font-medium underline"
                  aria-label="Masquer le message d'erreur"
                >
                  Masquer
                </button>
              </div>
            ) : null}
            <div
              role="status"
              aria-live="polite"
              className={
                status.text
                  ? "pointer-events-none fixed inset-x-4 bottom-4 z-20 mx-auto max-w-md rounded-xl border border-teal-300 bg-teal-50 px-4 py-3 text-center font-medium text-teal-900 shadow-lg"
                  : "sr-only"
              }
            >
              {status.text}
            </div>
            {needLogin ? (
              <Login onLogin={login} />
            ) : state || STATELESS_ROUTES.includes(route) ? (
              <Page route={route} />
            ) : loading ? (
              <p className="text-slate-600">Chargement…</p>
            ) : (
              <p className="text-slate-700">L'état de la maison n'a pas pu être lu ; nouvel essai automatique.</p>
            )}
          </main>
        </div>
      </div>
    </AppContext.Provider>
  );
}
