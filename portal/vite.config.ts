// Builds the web portal into static assets (portal/dist) that the server serves under /portal/.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/portal/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Everything is served by the OpenPAL server itself: no CDN, no external fonts or scripts.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
  },
});
