// "Switch directory": the tenants the signed-in person can use (home and every tenant where they
// are a guest), as the Azure portal lists them; choosing one moves the whole session there.
import { useEffect, useRef, useState } from "react";
import { portalApi, PortalApiError, type Directory } from "../api.ts";
import { useSession } from "../session.tsx";

export function DirectorySwitcher() {
  const { session, reload } = useSession();
  const [open, setOpen] = useState(false);
  const [directories, setDirectories] = useState<readonly Directory[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const panel = useRef<HTMLDivElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open) return;
    let live = true;
    setError(undefined);
    portalApi<{ value: Directory[] }>("GET", "/directories")
      .then((r) => live && setDirectories(r.value))
      .catch((e: unknown) => live && setError(e instanceof PortalApiError ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [open]);

  useEffect(() => {
    if (open && directories) panel.current?.querySelector<HTMLButtonElement>("button")?.focus();
  }, [open, directories]);

  if (!session?.signedIn) return null;
  const current = session.directory.tenantId;

  const close = () => {
    setOpen(false);
    toggle.current?.focus();
  };

  const choose = async (d: Directory) => {
    if (d.tenantId === current) return close();
    setBusy(true);
    try {
      await portalApi("POST", "/directory", { tenantId: d.tenantId });
      setOpen(false);
      await reload();
      toggle.current?.focus();
    } catch (e) {
      setError(e instanceof PortalApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="directory-switcher">
      <button ref={toggle} type="button" aria-expanded={open} aria-controls="directory-panel" onClick={() => (open ? close() : setOpen(true))}>
        Switch directory
      </button>
      <span className="current-directory">
        Directory: <strong>{session.directory.displayName}</strong>
      </span>
      {open && (
        <div
          id="directory-panel"
          ref={panel}
          className="popover"
          role="dialog"
          aria-label="Directories"
          onKeyDown={(e) => {
            if (e.key === "Escape") close();
          }}
        >
          <h2>Directories</h2>
          {error && (
            <p className="notice error" role="alert">
              {error}
            </p>
          )}
          {!directories && !error && <p>Loading your directories…</p>}
          {directories && (
            <ul aria-label="Directories you can use">
              {directories.map((d) => (
                <li key={d.tenantId}>
                  <button type="button" disabled={busy} aria-current={d.tenantId === current ? "true" : undefined} onClick={() => void choose(d)}>
                    <span className="name">{d.displayName}</span>
                    <span className="meta">
                      {d.defaultDomain} · {d.relation}
                      {d.tenantId === current ? " · current" : ""}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )}
          <button type="button" className="link" onClick={close}>
            Close
          </button>
        </div>
      )}
    </div>
  );
}
