// Unit tests of the pure parts of src/api.ts: query building, error messages, ApiError.
import { describe, expect, it } from "vitest";
import { ApiError, errorMessage, withClient } from "./api";

describe("withClient", () => {
  it("adds ?client= or &client=, encoded, only when a box is chosen", () => {
    expect(withClient("/api/v1/state", null)).toBe("/api/v1/state");
    expect(withClient("/api/v1/state", "")).toBe("/api/v1/state");
    expect(withClient("/api/v1/state", "ABC")).toBe("/api/v1/state?client=ABC");
    expect(withClient("/api/v1/lights/x?y=1", "A B")).toBe("/api/v1/lights/x?y=1&client=A%20B");
  });
});

describe("errorMessage", () => {
  it("uses the server's error", async () => {
    const res = new Response(JSON.stringify({ error: "clé de la box inconnue" }), { status: 409 });
    expect(await errorMessage(res)).toBe("clé de la box inconnue");
  });
  it("falls back on the status", async () => {
    expect(await errorMessage(new Response("oops", { status: 500 }))).toBe("Erreur 500");
    expect(await errorMessage(new Response("", { status: 401 }))).toBe("Jeton refusé");
    expect(await errorMessage(new Response("{}", { status: 429 }))).toBe("Trop d'ordres en attente");
  });
});

describe("ApiError", () => {
  it("carries status and message", () => {
    const e = new ApiError(401, "Jeton refusé");
    expect(e).toBeInstanceOf(Error);
    expect(e.status).toBe(401);
    expect(e.message).toBe("Jeton refusé");
    expect(e.unauthorized).toBe(true);
    expect(new ApiError(0, "réseau").unauthorized).toBe(false);
  });
});
