// The app's shared context: the last state the API gave, the chosen box, and the
// actions every page uses (send an order, report an error, refresh).
import { createContext, useContext } from "react";
import type { GatewayState } from "./api";
import type { LiveStatus, Notice } from "./events";

export interface AppContextValue {
  /** The last GET /api/v1/state answer, null before the first one. */
  state: GatewayState | null;
  /** Whether the first state is still being read. */
  loading: boolean;
  /** The box the orders go to: the one picked, else the one the API answered for. */
  client: string | null;
  notices: Notice[];
  live: LiveStatus;
  /** POST `{"state": value}` to a device's or mode's path; resolves true when the API accepted it. */
  send: (path: string, value: string) => Promise<boolean>;
  sendAlarm: (command: "arm" | "disarm") => Promise<boolean>;
  reportError: (message: string) => void;
  refresh: () => void;
  /** Forget the stored admin token. */
  logout: () => void;
  hasToken: boolean;
}

export const AppContext = createContext<AppContextValue | null>(null);

export function useApp(): AppContextValue {
  const v = useContext(AppContext);
  if (!v) throw new Error("useApp outside <AppContext.Provider>");
  return v;
}
