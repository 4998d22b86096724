// Portal entry point: mounts the app shell.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App.tsx";
import "./styles.css";

const root = document.getElementById("root");
if (!root) throw new Error("the portal page has no #root element");
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
