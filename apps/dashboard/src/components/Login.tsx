// The admin-token form shown after a 401: the token goes to sessionStorage, then every call is retried.
import { useState } from "react";

export function Login({ onLogin }: { onLogin: (token: string) => void }) {
  const [token, setTokenValue] = useState("");
  return (
    <form
      className="mx-auto max-w-md rounded-2xl border border-slate-200 bg-white p-4 shadow-sm"
      onSubmit={(e) => {
        e.preventDefault();
        const t = token.trim();
        if (t) onLogin(t);
      }}
    >
      <h1 className="mb-2 text-2xl font-bold">Connexion</h1>
      <p className="mb-4 text-slate-600">Cette passerelle demande un jeton d'administration.</p>
      <label htmlFor="admin-token" className="mb-1 block font-medium">
        Jeton d'administration
      </label>
      <input
        id="admin-token"
        type="password"
        autoComplete="current-password"
        required
        value={token}
        onChange={(e) => setTokenValue(e.target.value)}
        className="mb-4 min-h-12 w-full rounded-lg border border-slate-300 px-3 py-2 text-base"
      />
      <button
        type="submit"
        className="min-h-12 w-full rounded-lg bg-teal-700 px-4 py-2 text-base font-semibold text-white hover:bg-teal-800"
      >
        Se connecter
      </button>
    </form>
  );
}
