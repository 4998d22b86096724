// Coverage: per customer tenant, the partner's identities there (linked or not, enabled, roles),
// the spend they cover and the revenue at risk, with the fix for each gap; and "Why can't I see
// my customer?" answered for a chosen tenant.
import { useEffect, useId, useState } from "react";
import { portalApi, PortalApiError } from "../api.ts";
import { ErrorNotice } from "../components/Notice.tsx";
import { CodeText } from "../components/CodeText.tsx";
import { formatTime } from "../format.ts";
import { SignInPrompt } from "../components/SignInPrompt.tsx";
import { useSession } from "../session.tsx";
import { useInsightsContext } from "./Insights.tsx";
import type { Organisation } from "../api.ts";
import { BizAppsCoverage } from "./BizApps.tsx";
import type { CoverageIdentity, CustomerCoverage, DiagnoseResult } from "../../../src/attribution/wire.ts";

interface CoverageAnswer {
  readonly month: string;
  readonly customers: readonly CustomerCoverage[];
}

const KIND: Record<CoverageIdentity["kind"], string> = { guest: "Guest user", servicePrincipal: "Service principal", lighthouse: "Lighthouse (your tenant)" };

/** The fix for an identity's gap, in the order that matters: nothing else helps while it is disabled. */
export function fixFor(i: CoverageIdentity, customer: string, org: Organisation): string | undefined {
  const location = org.locations.find((l) => l.active)?.id ?? org.globalId;
  if (!i.enabled) return `Ask ${customer}'s administrator to enable this account: a disabled identity earns nothing.`;
  if (!i.linkedTo) {
    if (i.linkedInMonth) return `Its link to ${i.linkedInMonth} has been removed since this month: link it again to partner ID ${location}, or nothing from now on is credited.`;
    if (i.kind === "servicePrincipal") return `Link it: sign in as the service principal in ${customer} (az login --service-principal … --tenant ${i.tenantId}) and run az managementpartner create --partner-id ${location}.`;
    if (i.kind === "lighthouse") return `Link this identity in your own tenant (Lighthouse credit needs the link in the managing tenant) to partner ID ${location}.`;
    return `Link it: sign in as this guest, Switch directory to ${customer}, and link partner ID ${location} on the Link to a partner ID page.`;
  }
  if (!i.linkedToOwnLocation) return `It is linked to partner ID ${i.linkedTo}, which is not one of ${org.name}'s: update the link to ${location}.`;
  if (i.roles.length === 0) return `Give it a role on the customer's subscriptions (an eligible one such as Contributor): a link without a role earns nothing.`;
  if (!i.roles.some((r) => r.eligible)) return `Its roles (${[...new Set(i.roles.map((r) => r.role))].join(", ")}) are not eligible for partner earned credit: ask for an eligible role such as Contributor.`;
  return undefined;
}

/** The Link cell: the link now (a link made a minute ago is linked), and, apart, what the month's credit could use. */
function LinkState({ i, month }: { i: CoverageIdentity; month: string }) {
  const since = i.linkedSince ? <span className="hint"> since {formatTime(i.linkedSince)}</span> : null;
  switch (i.linkState) {
    case "linked":
      return (
        <>
          <span className="tag">Linked to {i.linkedTo}</span>
          {since}
        </>
      );
    case "noCreditYet":
      return (
        <>
          <span className="tag">Linked to {i.linkedTo}</span>
          {since}
          <div className="tag pending" data-testid="no-credit-yet">
            No credit yet for {month}
          </div>
          <p className="hint">
            The link started after {month}, so that month earns nothing from it. Usage from {i.linkedSince ? formatTime(i.linkedSince) : "the link's start"} on is credited once its month
            has usage data and is attributed.
          </p>
        </>
      );
    case "linkedElsewhere":
      return (
        <>
          <span className="tag gap">Linked to {i.linkedTo} (not yours)</span>
          {since}
        </>
      );
    case "notLinked":
      return (
        <>
          <span className="tag gap">Not linked</span>
          {i.linkedInMonth && <p className="hint">Linked to {i.linkedInMonth} during {month}; removed since.</p>}
        </>
      );
  }
}

export function CoveragePage() {
  const { session } = useSession();
  if (!session) return <p>Loading…</p>;
  if (!session.signedIn) return <SignInPrompt what="see where your links are missing" />;
  return <CoveragePanel key={session.directory.tenantId} />;
}

function CoveragePanel() {
  const { context, error } = useInsightsContext();
  if (error) return <ErrorNotice message={error} />;
  if (!context) return <p>Loading…</p>;
  if (!context.organisation) {
    return (
      <p className="card">
        {context.directory.displayName} is not one of a partner organisation's own tenants. Use <strong>Switch directory</strong> to go to your partner organisation's tenant.
      </p>
    );
  }
  return <CoverageReport organisation={context.organisation} months={context.months} />;
}

function CoverageReport({ organisation, months }: { organisation: Organisation; months: readonly string[] }) {
  const [month, setMonth] = useState(months.at(-1) ?? "");
  const [policy, setPolicy] = useState<"pec" | "all-roles">("pec");
  const [answer, setAnswer] = useState<CoverageAnswer | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const ids = { month: useId(), policy: useId() };

  useEffect(() => {
    let live = true;
    setError(undefined);
    const q = new URLSearchParams({ policy, partnerId: organisation.globalId });
    if (month) q.set("month", month);
    portalApi<CoverageAnswer>("GET", `/coverage?${q}`)
      .then((a) => live && setAnswer(a))
      .catch((e: unknown) => live && setError(e instanceof PortalApiError ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [month, policy, organisation.globalId]);

  return (
    <>
      <p>
        {organisation.name}: the identities you use in each customer tenant, what their links cover, and what is at risk where a link or role is missing.
      </p>
      <section className="card" aria-label="Filters">
        <form className="filters" onSubmit={(e) => e.preventDefault()}>
          <div>
            <label htmlFor={ids.month}>Month</label>
            <select id={ids.month} value={month} onChange={(e) => setMonth(e.target.value)}>
              {months.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor={ids.policy}>Role eligibility</label>
            <select id={ids.policy} value={policy} onChange={(e) => setPolicy(e.target.value as "pec" | "all-roles")}>
              <option value="pec">Eligible roles only (partner earned credit)</option>
              <option value="all-roles">All roles</option>
            </select>
          </div>
        </form>
      </section>
      <ErrorNotice message={error} />
      {answer && answer.customers.length === 0 && <p className="card">No customer tenant has one of your identities yet.</p>}
      {answer?.customers.map((c) => (
        <section key={c.tenantId} className="card customer" aria-labelledby={`customer-${c.tenantId}`}>
          <h2 id={`customer-${c.tenantId}`}>{c.tenantName}</h2>
          <table aria-label={`Spend in ${c.tenantName}`}>
            <thead>
              <tr>
                <th>Currency</th>
                <th className="num">Spend</th>
                <th className="num">Covered (credited)</th>
                <th className="num">Revenue at risk</th>
                <th className="num">Covered share</th>
              </tr>
            </thead>
            <tbody>
              {c.money.map((m) => (
                <tr key={m.currency}>
                  <td>{m.currency}</td>
                  <td className="num">{m.spend}</td>
                  <td className="num" data-testid={`covered-${c.tenantId}`}>
                    {m.credited}
                  </td>
                  <td className="num" data-testid={`at-risk-${c.tenantId}`}>
                    {m.atRisk}
                  </td>
                  <td className="num">{Math.round(m.coveredShare * 100)}%</td>
                </tr>
              ))}
            </tbody>
          </table>
          <table aria-label={`Identities in ${c.tenantName}`}>
            <thead>
              <tr>
                <th>Identity</th>
                <th>Kind</th>
                <th>Link</th>
                <th>Roles</th>
                <th>Fix</th>
              </tr>
            </thead>
            <tbody>
              {c.identities.map((i) => {
                const fix = fixFor(i, c.tenantName, organisation);
                return (
                  <tr key={`${i.tenantId}${i.objectId}`}>
                    <td>
                      {i.displayName ?? i.objectId}
                      {!i.enabled && <span className="tag gap"> disabled</span>}
                    </td>
                    <td>{KIND[i.kind]}</td>
                    <td data-testid={`link-${i.objectId}`}>
                      <LinkState i={i} month={answer.month} />
                    </td>
                    <td>
                      {i.roles.length === 0
                        ? "None"
                        : i.roles.map((r) => (
                            <div key={`${r.scope}${r.role}`}>
                              {r.role}
                              {r.eligible ? "" : " (not eligible)"} <code>{r.scope}</code>
                            </div>
                          ))}
                    </td>
                    <td>{fix ?? (i.linkState === "noCreditYet" ? "Nothing to fix: the link counts from its start." : "Covered: nothing to fix.")}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>
      ))}
      <BizAppsCoverage organisation={organisation} />
      <Diagnose organisation={organisation} month={month} policy={policy} />
    </>
  );
}

function Diagnose({ organisation, month, policy }: { organisation: Organisation; month: string; policy: string }) {
  const [tenant, setTenant] = useState("");
  const [answer, setAnswer] = useState<DiagnoseResult | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const fieldId = useId();
  const hintId = useId();
  return (
    <section className="card" aria-labelledby="diagnose">
      <h2 id="diagnose">Why can't I see my customer?</h2>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          setAnswer(undefined);
          const q = new URLSearchParams({ tenant: tenant.trim(), policy, partnerId: organisation.globalId });
          if (month) q.set("month", month);
          portalApi<DiagnoseResult>("GET", `/coverage/diagnose?${q}`)
            .then(setAnswer)
            .catch((err: unknown) => setError(err instanceof PortalApiError ? err.message : String(err)))
            .finally(() => setBusy(false));
        }}
      >
        <div>
          <label htmlFor={fieldId}>Customer tenant</label>
          <input id={fieldId} required value={tenant} onChange={(e) => setTenant(e.target.value)} aria-describedby={hintId} />
          <p id={hintId} className="hint">
            The customer's tenant ID or domain, e.g. fabrikam.example.
          </p>
        </div>
        <button className="primary" type="submit" disabled={busy}>
          Find the reasons
        </button>
      </form>
      <ErrorNotice message={error} />
      {answer && (
        <div role="status" aria-live="polite">
          <h3>
            {answer.tenantName}, {answer.month}
          </h3>
          {answer.reasons.length === 0 ? (
            <p>Nothing is missing: your identities there are linked and hold eligible roles over subscriptions with usage.</p>
          ) : (
            <ul className="reasons">
              {answer.reasons.map((r, i) => (
                <li key={i}>
                  <strong>
                    <CodeText text={r.message} />
                  </strong>
                  <br />
                  Fix: <CodeText text={r.fix} />
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}
