// Link to a partner ID: the link of the signed-in identity in the current directory, and the
// three changes the PAL API allows (link, update, remove). The rules live in the API; this page
// only shows its answers in a partner's words.
import { useEffect, useId, useRef, useState } from "react";
import { portalApi, PortalApiError } from "../api.ts";
import { ErrorNotice, StatusNotice } from "../components/Notice.tsx";
import { SignInPrompt } from "../components/SignInPrompt.tsx";
import { useSession } from "../session.tsx";
import { formatTime } from "../format.ts";

interface Link {
  readonly partnerId: string;
  readonly partnerName: string | null;
  readonly tenantId: string;
  readonly objectId: string;
  readonly createdTime: string;
  readonly updatedTime: string;
  /** Start of the link open now (a removal and a new link start a new one); createdTime is the first link ever. */
  readonly since: string | null;
}

interface LinkPeriod {
  readonly partnerId: string;
  readonly from: string | null;
  readonly to: string | null;
}

interface LinkAnswer {
  readonly directory: { readonly tenantId: string; readonly displayName: string };
  readonly link: Link | null;
  /** This identity's links in this directory, newest first. */
  readonly history: readonly LinkPeriod[];
}

export function LinkPartnerIdPage() {
  const { session } = useSession();
  if (!session) return <p>Loading…</p>;
  if (!session.signedIn) return <SignInPrompt what="link your account to your partner ID" />;
  // Keyed by directory: nothing shown for one tenant survives a switch to another.
  return <LinkPanel key={session.directory.tenantId} />;
}

function LinkPanel() {
  const [answer, setAnswer] = useState<LinkAnswer | undefined>(undefined);
  const [partnerId, setPartnerId] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [status, setStatus] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const fieldId = useId();
  const hintId = useId();
  const confirmYes = useRef<HTMLButtonElement>(null);
  const removeButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    let live = true;
    portalApi<LinkAnswer>("GET", "/link")
      .then((a) => live && setAnswer(a))
      .catch((e: unknown) => live && setError(messageOf(e)));
    return () => {
      live = false;
    };
  }, []);

  useEffect(() => {
    if (confirming) confirmYes.current?.focus();
  }, [confirming]);

  const link = answer?.link ?? null;

  const change = async (method: "PUT" | "PATCH" | "DELETE", id: string, done: (a: LinkAnswer) => string) => {
    setBusy(true);
    setError(undefined);
    setStatus(undefined);
    try {
      const next = await portalApi<LinkAnswer>(method, "/link", { partnerId: id });
      setAnswer(next);
      setStatus(done(next));
      setPartnerId("");
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  const named = (l: Link | null) => (l ? `${l.partnerId}${l.partnerName ? ` (${l.partnerName})` : ""}` : "");

  return (
    <>
      <section className="card" aria-labelledby="current-link">
        <h2 id="current-link">Current link{answer ? ` in ${answer.directory.displayName}` : ""}</h2>
        {!answer && !error && <p>Loading your link…</p>}
        {answer && !link && <p>Your account in {answer.directory.displayName} is not linked to a partner ID.</p>}
        {link && (
          <dl className="facts">
            <dt>Partner ID</dt>
            <dd data-testid="linked-partner-id">{link.partnerId}</dd>
            <dt>Partner name</dt>
            <dd>{link.partnerName ?? "Not in the partner registry"}</dd>
            <dt>Tenant</dt>
            <dd>
              {answer?.directory.displayName} <code>{link.tenantId}</code>
            </dd>
            <dt>Object ID</dt>
            <dd>
              <code>{link.objectId}</code>
            </dd>
            <dt>Linked since</dt>
            <dd data-testid="linked-since">{formatTime(link.since ?? link.createdTime)}</dd>
            <dt>Last changed</dt>
            <dd>{formatTime(link.updatedTime)}</dd>
          </dl>
        )}
        {answer && answer.history.length > 0 && (
          <table aria-label="Link history">
            <caption>Link history of this account in {answer.directory.displayName}</caption>
            <thead>
              <tr>
                <th>Partner ID</th>
                <th>From</th>
                <th>To</th>
              </tr>
            </thead>
            <tbody>
              {answer.history.map((h, i) => (
                <tr key={`${i}${h.partnerId}${h.from ?? ""}`}>
                  <td>{h.partnerId}</td>
                  <td>{h.from ? formatTime(h.from) : "—"}</td>
                  <td>{h.to ? formatTime(h.to) : "now (linked)"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section className="card" aria-labelledby="change-link">
        <h2 id="change-link">{link ? "Change or remove the link" : "Link a partner ID"}</h2>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const id = partnerId.trim();
            if (link) void change("PATCH", id, (a) => `Updated: your account is now linked to partner ID ${named(a.link)}.`);
            else void change("PUT", id, (a) => `Linked: your account is now linked to partner ID ${named(a.link)}.`);
          }}
        >
          <label htmlFor={fieldId}>Partner ID</label>
          <input
            id={fieldId}
            name="partnerId"
            inputMode="numeric"
            autoComplete="off"
            required
            aria-describedby={hintId}
            value={partnerId}
            onChange={(e) => setPartnerId(e.target.value)}
          />
          <p id={hintId} className="hint">
            The Associated (location) Partner ID from your partner profile, not the global (headquarters) ID.
          </p>
          <div className="actions">
            {!link && (
              <button className="primary" type="submit" disabled={busy || !answer}>
                Link a partner ID
              </button>
            )}
            {link && (
              <>
                <button className="primary" type="submit" disabled={busy}>
                  Update
                </button>
                <button ref={removeButton} type="button" className="danger" disabled={busy} onClick={() => setConfirming(true)}>
                  Remove
                </button>
              </>
            )}
          </div>
        </form>
        {confirming && link && (
          <div className="confirm" role="alertdialog" aria-labelledby="confirm-remove" aria-describedby="confirm-remove-detail">
            <p id="confirm-remove">
              <strong>Remove the link to partner ID {named(link)}?</strong>
            </p>
            <p id="confirm-remove-detail">Consumption stops being attributed to this partner through your account from now on. You can link again later.</p>
            <button
              ref={confirmYes}
              type="button"
              className="danger"
              onClick={() => {
                setConfirming(false);
                void change("DELETE", link.partnerId, () => `Removed: your account is no longer linked to partner ID ${named(link)}.`);
              }}
            >
              Yes, remove
            </button>
            <button
              type="button"
              onClick={() => {
                setConfirming(false);
                removeButton.current?.focus();
              }}
            >
              Cancel
            </button>
          </div>
        )}
        <ErrorNotice message={error} />
        <StatusNotice message={status} />
      </section>
    </>
  );
}

function messageOf(e: unknown): string {
  return e instanceof PortalApiError ? e.message : String(e);
}
