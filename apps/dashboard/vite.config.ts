// Vite config of the household dashboard: React + Tailwind, served at the gateway's root,
// the dev server proxying the API to a gateway on 127.0.0.1:8080.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

const gateway = "http://127.0.0.1:8080";

export default defineConfig({
  base: "/",
  plugins: [react(), tailwindcss()],
  server: {
    proxy: {
      "/api": { target: gateway, changeOrigin: false },
      "/health": { target: gateway, changeOrigin: false },
    },
  },
  preview: {
    proxy: {
      "/api": { target: gateway, changeOrigin: false },
      "/health": { target: gateway, changeOrigin: false },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
  },
});
