// Partner information of a subscription: its partner of record (DPOR). Only the subscription's EA
// account owner can change it; everyone else with access sees it read-only with the reason.
import { useEffect, useId, useRef, useState } from "react";
import { portalApi, PortalApiError } from "../api.ts";
import { ErrorNotice, StatusNotice } from "../components/Notice.tsx";
import { TrashIcon } from "../components/Icons.tsx";
import { SignInPrompt } from "../components/SignInPrompt.tsx";
import { useSession } from "../session.tsx";
import { formatTime } from "../format.ts";

interface DporAnswer {
  readonly directory: { readonly tenantId: string; readonly displayName: string };
  readonly partnerOfRecord: {
    readonly subscriptionId: string;
    readonly subscriptionName: string | null;
    readonly offerType: string;
    readonly partnerId: string | null;
    readonly partnerName: string | null;
    readonly since: string | null;
  };
  readonly canChange: boolean;
  readonly reason: string | null;
}

interface Validation {
  readonly partnerId: string;
  readonly valid: boolean;
  readonly partnerName: string | null;
  readonly reason: string | null;
}

export function PartnerInformationPage({ subscriptionId }: { subscriptionId: string }) {
  const { session } = useSession();
  if (!session) return <p>Loading…</p>;
  if (!session.signedIn) return <SignInPrompt what="see the partner of record of this subscription" />;
  return <PartnerOfRecord key={`${session.directory.tenantId}/${subscriptionId}`} subscriptionId={subscriptionId} />;
}

function PartnerOfRecord({ subscriptionId }: { subscriptionId: string }) {
  const [answer, setAnswer] = useState<DporAnswer | undefined>(undefined);
  const [partnerId, setPartnerId] = useState("");
  const [validation, setValidation] = useState<Validation | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [status, setStatus] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const fieldId = useId();
  const yes = useRef<HTMLButtonElement>(null);
  const deleteIcon = useRef<HTMLButtonElement>(null);
  const base = `/subscriptions/${encodeURIComponent(subscriptionId)}/partner-of-record`;

  useEffect(() => {
    let live = true;
    portalApi<DporAnswer>("GET", base)
      .then((a) => live && setAnswer(a))
      .catch((e: unknown) => live && setError(messageOf(e)));
    return () => {
      live = false;
    };
  }, [base]);

  useEffect(() => {
    if (confirming) yes.current?.focus();
  }, [confirming]);

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    setStatus(undefined);
    try {
      await work();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  const validate = () =>
    run(async () => {
      setValidation(await portalApi<Validation>("POST", "/partner-id/validate", { partnerId: partnerId.trim() }));
    });

  const save = () =>
    run(async () => {
      const before = answer?.partnerOfRecord.partnerId ?? null;
      const next = await portalApi<DporAnswer>("PUT", base, { partnerId: partnerId.trim() });
      setAnswer(next);
      setValidation(undefined);
      setPartnerId("");
      // The first assignment sets the partner of record; only a different one changes it.
      const verb = before === null ? "set" : before === next.partnerOfRecord.partnerId ? "unchanged" : `changed (was ${before})`;
      setStatus(`Partner of record ${verb}: ${next.partnerOfRecord.partnerName ?? ""} (${next.partnerOfRecord.partnerId ?? ""}) is now the partner of record of ${next.partnerOfRecord.subscriptionName ?? subscriptionId}.`);
    });

  const remove = () =>
    run(async () => {
      const next = await portalApi<DporAnswer>("DELETE", base);
      setAnswer(next);
      setStatus(`Partner of record removed: ${next.partnerOfRecord.subscriptionName ?? subscriptionId} has no partner of record now.`);
      deleteIcon.current?.focus();
    });

  const p = answer?.partnerOfRecord;
  return (
    <>
      <ErrorNotice message={!answer ? error : undefined} />
      {!answer && !error && <p>Loading…</p>}
      {answer && p && (
        <>
          <section className="card" aria-labelledby="dpor-current">
            <h2 id="dpor-current">Partner of record of {p.subscriptionName ?? p.subscriptionId}</h2>
            <dl className="facts">
              <dt>Subscription</dt>
              <dd>
                {p.subscriptionName} <code>{p.subscriptionId}</code> ({p.offerType})
              </dd>
              <dt>Partner ID</dt>
              <dd data-testid="dpor-partner-id">{p.partnerId ?? "None"}</dd>
              <dt>Partner name</dt>
              <dd>{p.partnerName ?? "—"}</dd>
              <dt>Since</dt>
              <dd>{p.since ? formatTime(p.since) : "—"}</dd>
            </dl>
            {answer.canChange && p.partnerId && (
              <button ref={deleteIcon} type="button" className="icon danger" aria-label={`Delete partner of record ${p.partnerId}`} title="Delete partner of record" disabled={busy} onClick={() => setConfirming(true)}>
                <TrashIcon />
              </button>
            )}
            {confirming && (
              <div className="confirm" role="alertdialog" aria-labelledby="dpor-confirm">
                <p id="dpor-confirm">
                  <strong>Delete {p.partnerName ?? p.partnerId} as partner of record of {p.subscriptionName ?? p.subscriptionId}?</strong> Its credit for this subscription stops now.
                </p>
                <button
                  ref={yes}
                  type="button"
                  className="danger"
                  onClick={() => {
                    setConfirming(false);
                    void remove();
                  }}
                >
                  Yes
                </button>
                <button
                  type="button"
                  onClick={() => {
                    setConfirming(false);
                    deleteIcon.current?.focus();
                  }}
                >
                  No
                </button>
              </div>
            )}
          </section>
          <section className="card" aria-labelledby="dpor-change">
            <h2 id="dpor-change">{p.partnerId ? "Change the partner of record" : "Set a partner of record"}</h2>
            {!answer.canChange && (
              <p className="notice" role="note" data-testid="dpor-read-only">
                Read only. {answer.reason}
              </p>
            )}
            <form
              onSubmit={(e) => {
                e.preventDefault();
                void validate();
              }}
            >
              <label htmlFor={fieldId}>Partner ID</label>
              <input
                id={fieldId}
                inputMode="numeric"
                autoComplete="off"
                required
                disabled={!answer.canChange}
                value={partnerId}
                onChange={(e) => {
                  setPartnerId(e.target.value);
                  setValidation(undefined);
                }}
              />
              <div className="actions">
                <button type="submit" disabled={!answer.canChange || busy}>
                  Validate ID
                </button>
                <button type="button" className="primary" disabled={!answer.canChange || busy || !validation?.valid} onClick={() => void save()}>
                  Save partner
                </button>
              </div>
            </form>
            {validation && (
              <p className={`notice ${validation.valid ? "success" : "error"}`} role="status" data-testid="dpor-validation">
                {validation.valid ? `Partner ID ${validation.partnerId} is ${validation.partnerName ?? "a registered partner"}.` : validation.reason}
              </p>
            )}
            <ErrorNotice message={error} />
            <StatusNotice message={status} />
          </section>
        </>
      )}
    </>
  );
}

function messageOf(e: unknown): string {
  return e instanceof PortalApiError ? e.message : String(e);
}
