// Business applications (Power Apps, Power Automate, Power BI, Customer Insights): what is credited
// to the signed-in partner organisation — by product, by environment type, the top resources —
// each credited row one click from its explanation; and, on Coverage, credited per customer.
import { useEffect, useId, useMemo, useRef, useState } from "react";
import { portalApi, PortalApiError, type Organisation } from "../api.ts";
import { ErrorNotice } from "../components/Notice.tsx";
import { addDecimals, formatMoney, formatTime } from "../format.ts";
import { CodeText } from "../components/CodeText.tsx";
import type { BizappsAnswer, BizappsCoverageAnswer, BizappsCoverageResource, BizappsExplanation, BizappsRow } from "../../../src/portal/bizapps-wire.ts";

export const WORKLOAD_NAMES: Record<BizappsRow["workload"], string> = { PowerApps: "Power Apps", PowerAutomate: "Power Automate", PowerBI: "Power BI", CustomerInsights: "Customer Insights" };
const RESOURCE_NAMES: Record<BizappsRow["resourceType"], string> = { CanvasApp: "Canvas app", ModelDrivenApp: "Model-driven app", Flow: "Flow", Dataset: "Dataset", Instance: "Instance" };
const QUANTITY_NAMES: Record<BizappsRow["quantityType"], string> = { MAU: "monthly active users", UnifiedProfiles: "unified profiles" };
const DECISIONS: Record<BizappsRow["decidedBy"], string> = {
  onlyPartner: "Only your organisation had a qualifying identity on it this month.",
  latestActivity: "Several partners qualified; yours acted on it most recently while qualifying (the “latest” partner).",
  latestRelationship: "Several partners qualified and none acted; your identity's relationship began most recently.",
};
const REASONS: Record<string, string> = {
  noLink: "not linked",
  linkNotActive: "link not active then",
  locationInactive: "partner location inactive",
  principalDisabled: "account disabled",
  noActivity: "no activity in the month",
};

const usd = (amount: string) => formatMoney(amount, "USD");
const when = (ms: number | null) => (ms === null ? "—" : formatTime(new Date(ms).toISOString()));
const quantity = (r: BizappsRow) => `${r.quantity.toLocaleString("en-US")} ${QUANTITY_NAMES[r.quantityType]}`;
const rowKey = (r: BizappsRow) => `${r.month}|${r.partnerLocationId}|${r.resourceId}`;

interface Group {
  readonly key: string;
  readonly name: string;
  readonly resources: number;
  readonly mau: number;
  readonly profiles: number;
  readonly value: string;
}

function groupBy(rows: readonly BizappsRow[], key: (r: BizappsRow) => string, name: (r: BizappsRow) => string): Group[] {
  const groups = new Map<string, BizappsRow[]>();
  for (const r of rows) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  return [...groups.entries()]
    .map(([k, rs]) => ({
      key: k,
      name: name(rs[0] as BizappsRow),
      resources: new Set(rs.map((r) => r.resourceId)).size,
      mau: rs.filter((r) => r.quantityType === "MAU").reduce((s, r) => s + r.quantity, 0),
      profiles: rs.filter((r) => r.quantityType === "UnifiedProfiles").reduce((s, r) => s + r.quantity, 0),
      value: addDecimals(rs.map((r) => r.monthlyConsumptionValue)),
    }))
    .sort((a, b) => Number(b.value) - Number(a.value) || a.name.localeCompare(b.name));
}

/** The business-applications part of Insights. */
export function BizAppsInsights({ organisation }: { organisation: Organisation }) {
  const [available, setAvailable] = useState<readonly string[] | undefined>(undefined);
  const [months, setMonths] = useState<readonly string[]>([]);
  const [workload, setWorkload] = useState<"" | BizappsRow["workload"]>("");
  const [productionOnly, setProductionOnly] = useState(false);
  const [partnerId, setPartnerId] = useState(organisation.globalId);
  const [rows, setRows] = useState<readonly BizappsRow[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [selected, setSelected] = useState<BizappsRow | undefined>(undefined);
  const ids = { workload: useId(), location: useId(), production: useId() };

  useEffect(() => {
    let live = true;
    setError(undefined);
    if (available && months.length === 0) {
      setRows([]);
      return;
    }
    const q = new URLSearchParams({ partnerId });
    if (available) q.set("months", months.join(","));
    if (workload) q.set("workload", workload);
    if (productionOnly) q.set("productionOnly", "true");
    portalApi<BizappsAnswer>("GET", `/bizapps?${q}`)
      .then((a) => {
        if (!live) return;
        if (!available) {
          setAvailable(a.months);
          setMonths(a.months);
        }
        setRows(a.rows);
      })
      .catch((e: unknown) => live && setError(e instanceof PortalApiError ? e.message : String(e)));
    return () => {
      live = false;
    };
    // `available` is set once, from the first answer (every month with results).
  }, [months, workload, productionOnly, partnerId]);

  // The open explanation follows the filters: closed when its row is filtered out.
  useEffect(() => {
    if (rows) setSelected((s) => (s ? rows.find((r) => rowKey(r) === rowKey(s)) : undefined));
  }, [rows]);

  const views = useMemo(() => {
    const rs = rows ?? [];
    return {
      total: addDecimals(rs.map((r) => r.monthlyConsumptionValue)),
      byProduct: groupBy(rs, (r) => r.workload, (r) => WORKLOAD_NAMES[r.workload]),
      byEnvironment: groupBy(rs, (r) => r.environmentType, (r) => (r.environmentType === "NotApplicable" ? "No environment (Power BI workspace)" : r.environmentType)),
      topByQuantity: [...rs].sort((a, b) => b.quantity - a.quantity || a.resourceName.localeCompare(b.resourceName)).slice(0, 5),
      topByValue: [...rs].sort((a, b) => Number(b.monthlyConsumptionValue) - Number(a.monthlyConsumptionValue) || a.resourceName.localeCompare(b.resourceName)).slice(0, 5),
    };
  }, [rows]);

  const toggleMonth = (m: string, on: boolean) => setMonths((ms) => (on ? [...ms, m].sort() : ms.filter((x) => x !== m)));

  return (
    <section className="card" aria-labelledby="bizapps">
      <h2 id="bizapps">Business applications</h2>
      <p>
        Power Apps, Power Automate, Power BI and Customer Insights resources whose attributed user is linked to {organisation.name}: their monthly active users or unified
        profiles, valued at the Solutions Partner rate.
      </p>
      {available && available.length === 0 && <p data-testid="bizapps-none">No month has business-applications results yet. Ask the operator to run the attribution (openpal attribution run --month YYYY-MM).</p>}
      {available && available.length > 0 && (
        <form className="filters" aria-label="Business applications filters" onSubmit={(e) => e.preventDefault()}>
          <fieldset>
            <legend>Months</legend>
            {available.map((m) => (
              <label key={m} className="inline">
                <input type="checkbox" checked={months.includes(m)} onChange={(e) => toggleMonth(m, e.target.checked)} /> {m}
              </label>
            ))}
          </fieldset>
          <div>
            <label htmlFor={ids.workload}>Product</label>
            <select id={ids.workload} value={workload} onChange={(e) => setWorkload(e.target.value as typeof workload)}>
              <option value="">All products</option>
              {(Object.keys(WORKLOAD_NAMES) as BizappsRow["workload"][]).map((w) => (
                <option key={w} value={w}>
                  {WORKLOAD_NAMES[w]}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor={ids.location}>Partner location</label>
            <select id={ids.location} value={partnerId} onChange={(e) => setPartnerId(e.target.value)}>
              <option value={organisation.globalId}>All locations</option>
              {organisation.locations.map((l) => (
                <option key={l.id} value={l.id}>
                  {l.id} ({l.country}){l.active ? "" : ", inactive"}
                </option>
              ))}
            </select>
          </div>
          <label className="inline" htmlFor={ids.production}>
            <input id={ids.production} type="checkbox" checked={productionOnly} onChange={(e) => setProductionOnly(e.target.checked)} /> Production environments only
          </label>
        </form>
      )}
      <ErrorNotice message={error} />
      {rows && available && available.length > 0 && (
        <>
          <p>
            Total: <strong data-testid="bizapps-total">{usd(views.total)}</strong> monthly consumption value, {rows.length} credited resource-month(s)
          </p>
          <div className="grid2">
            <GroupTable id="bizapps-by-product" title="By product" what="Product" groups={views.byProduct} />
            <GroupTable id="bizapps-by-environment" title="By environment type" what="Environment type" groups={views.byEnvironment} />
          </div>
          <div className="grid2">
            <TopResources id="bizapps-top-quantity" title="Top resources by users and profiles" rows={views.topByQuantity} show={quantity} onExplain={setSelected} />
            <TopResources id="bizapps-top-value" title="Top resources by consumption value" rows={views.topByValue} show={(r) => usd(r.monthlyConsumptionValue)} onExplain={setSelected} />
          </div>
          <h3 id="bizapps-rows">Credited resources</h3>
          <table aria-labelledby="bizapps-rows">
            <thead>
              <tr>
                <th>Month</th>
                <th>Partner ID</th>
                <th>Customer</th>
                <th>Environment</th>
                <th>Product</th>
                <th>Resource</th>
                <th>Attributed user role</th>
                <th className="num">Quantity</th>
                <th className="num">Consumption value</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={rowKey(r)} data-testid="bizapps-row">
                  <td>{r.month}</td>
                  <td>{r.partnerLocationId}</td>
                  <td>{r.customerName}</td>
                  <td>
                    {r.environmentName ?? "—"} <span className="tag">{r.environmentType}</span>
                  </td>
                  <td>{WORKLOAD_NAMES[r.workload]}</td>
                  <td>
                    {r.resourceName} <span className="hint">({RESOURCE_NAMES[r.resourceType]})</span>
                  </td>
                  <td>{r.attributedUserRole}</td>
                  <td className="num">
                    {r.quantity.toLocaleString("en-US")} {r.quantityType}
                  </td>
                  <td className="num">
                    <button type="button" className="amount" aria-label={`Explain ${usd(r.monthlyConsumptionValue)} for ${r.resourceName}, ${r.month}`} onClick={() => setSelected(r)}>
                      {usd(r.monthlyConsumptionValue)}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows.length === 0 && <p>No business-applications credit for these filters.</p>}
        </>
      )}
      {selected && <BizAppsExplanationPanel key={rowKey(selected)} row={selected} onClose={() => setSelected(undefined)} />}
    </section>
  );
}

function GroupTable({ id, title, what, groups }: { id: string; title: string; what: string; groups: readonly Group[] }) {
  return (
    <div>
      <h3 id={id}>{title}</h3>
      {groups.length === 0 ? (
        <p>None.</p>
      ) : (
        <table aria-labelledby={id} data-testid={id}>
          <thead>
            <tr>
              <th>{what}</th>
              <th className="num">Resources</th>
              <th className="num">MAU</th>
              <th className="num">Unified profiles</th>
              <th className="num">Value</th>
            </tr>
          </thead>
          <tbody>
            {groups.map((g) => (
              <tr key={g.key}>
                <td>{g.name}</td>
                <td className="num">{g.resources}</td>
                <td className="num">{g.mau.toLocaleString("en-US")}</td>
                <td className="num">{g.profiles.toLocaleString("en-US")}</td>
                <td className="num">{usd(g.value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function TopResources({ id, title, rows, show, onExplain }: { id: string; title: string; rows: readonly BizappsRow[]; show: (r: BizappsRow) => string; onExplain: (r: BizappsRow) => void }) {
  return (
    <div>
      <h3 id={id}>{title}</h3>
      {rows.length === 0 ? (
        <p>None.</p>
      ) : (
        <ol aria-labelledby={id} data-testid={id}>
          {rows.map((r) => (
            <li key={rowKey(r)}>
              <button type="button" className="link" onClick={() => onExplain(r)}>
                {r.resourceName}
              </button>{" "}
              ({r.customerName}, {r.month}): {show(r)}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

function BizAppsExplanationPanel({ row, onClose }: { row: BizappsRow; onClose: () => void }) {
  const [explanation, setExplanation] = useState<BizappsExplanation | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const panel = useRef<HTMLElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    let live = true;
    const q = new URLSearchParams({ partnerId: row.partnerLocationId, month: row.month, resource: row.resourceId });
    portalApi<BizappsExplanation>("GET", `/bizapps/explain?${q}`)
      .then((e) => live && setExplanation(e))
      .catch((e: unknown) => live && setError(e instanceof PortalApiError ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [row.partnerLocationId, row.month, row.resourceId]);
  const loaded = explanation !== undefined || error !== undefined;
  useEffect(() => {
    panel.current?.scrollIntoView({ block: "start" });
    heading.current?.focus({ preventScroll: true });
  }, [loaded]);

  const user = explanation?.attributedUser;
  const rel = explanation?.relationship;
  const link = explanation?.link;
  const basis = (b: string, solution: string | null) =>
    b === "solutionImport" ? `by importing the solution ${solution ?? ""}`.trim() : b === "takeover" ? "by taking the dataset over" : b === "published" ? "by publishing it" : b === "created" ? "by creating it" : b === "instanceRole" ? "by a role on the instance" : b === "assigned" ? "by an owner change" : b === "shared" ? "by sharing with edit rights" : `(${b})`;
  return (
    <section ref={panel} className="card explanation" role="dialog" aria-labelledby="bizapps-explanation-title" onKeyDown={(e) => e.key === "Escape" && onClose()}>
      <h2 id="bizapps-explanation-title" tabIndex={-1} ref={heading}>
        Why {usd(row.monthlyConsumptionValue)}: {row.resourceName}, {row.month}
      </h2>
      <ErrorNotice message={error} />
      {!loaded && <p>Loading the explanation…</p>}
      {explanation && (
        <>
          <dl className="facts">
            <dt>Resource</dt>
            <dd>
              {WORKLOAD_NAMES[row.workload]} {RESOURCE_NAMES[row.resourceType].toLowerCase()} in {row.environmentName ?? "no environment"} ({row.environmentType}), {row.customerName}
            </dd>
            <dt>Metric</dt>
            <dd data-testid="bizapps-explanation-metric">
              {quantity(row)} in {row.month} ({row.quantitySource === "metrics" ? "from a metrics file" : row.quantitySource === "activity" ? "distinct users with a use event" : "no metric given"}) = {usd(row.monthlyConsumptionValue)}
            </dd>
            <dt>Attributed user</dt>
            <dd data-testid="bizapps-explanation-user">
              {user?.displayName ?? user?.objectId}
              {user?.kind ? `, ${user.kind.toLowerCase()}` : ""} <code>{row.attributedUserObjectId}</code>
            </dd>
            <dt>Role</dt>
            <dd data-testid="bizapps-explanation-role">
              {row.attributedUserRole}
              {rel ? ` since ${when(rel.since)} ${basis(rel.basis, rel.solution)}` : ""}
              {rel?.until ? `, until ${when(rel.until)}` : ""}
            </dd>
            <dt>Link</dt>
            <dd data-testid="bizapps-explanation-link">
              {link ? `Partner ID ${link.partnerId} since ${when(link.since)}${link.until ? `, until ${when(link.until)}` : ""}` : `Partner ID ${row.partnerLocationId}`}
              {row.linkPath === "delegatedAdmin" ? ", linked in its home tenant (delegated administrator)" : ", linked in the customer's tenant"}
            </dd>
            <dt>Decided by</dt>
            <dd data-testid="bizapps-explanation-decision">{DECISIONS[row.decidedBy]}</dd>
            <dt>Last act</dt>
            <dd data-testid="bizapps-explanation-last-act">{row.lastActAt === null ? "No act in the month" : when(row.lastActAt)}</dd>
          </dl>
          {explanation.evidence === null ? (
            <p className="hint" data-testid="bizapps-evidence-missing">
              Every candidate is listed once the month's business-applications facts are written: {explanation.evidenceMessage ?? "they are not there yet"}.
            </p>
          ) : (
            <>
              <p data-testid="bizapps-evidence-decision">{explanation.evidence.decision}</p>
              <table aria-label="Candidate partners this month" data-testid="bizapps-evidence-partners">
                <thead>
                  <tr>
                    <th>Partner</th>
                    <th>Last act while qualifying</th>
                    <th>Qualifying since</th>
                    <th>Credited</th>
                  </tr>
                </thead>
                <tbody>
                  {explanation.evidence.partners.map((p, i) => (
                    <tr key={i}>
                      <td>{p.yours ? `${p.partnerName} (yours)` : p.partnerName}</td>
                      <td>
                        {p.lastActAt ? formatTime(p.lastActAt) : "No act"}
                        {p.lastActOperation ? ` (${p.lastActOperation})` : ""}
                      </td>
                      <td>{p.qualifyingSince ? formatTime(p.qualifyingSince) : "—"}</td>
                      <td>{p.credited ? "Yes" : "No"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <details>
                <summary>Every candidate ({explanation.evidence.candidates.length})</summary>
                <ol className="chains">
                  {explanation.evidence.candidates.map((c, i) => (
                    <li key={i}>
                      <strong>
                        {c.principalName ?? c.principalId ?? "Another partner's or the customer's identity"}, {c.attributedUserRole}
                      </strong>
                      : {c.credited ? "credited" : c.qualifies ? "qualifies, not credited" : `does not qualify (${REASONS[c.notQualifyingReason ?? ""] ?? c.notQualifyingReason ?? "—"})`}
                      <ol className="chain">
                        {c.chain.map((step, k) => (
                          <li key={k}>{step}</li>
                        ))}
                      </ol>
                    </li>
                  ))}
                </ol>
              </details>
            </>
          )}
        </>
      )}
      <button type="button" onClick={onClose}>
        Close explanation
      </button>
    </section>
  );
}

const STATUS: Record<BizappsCoverageResource["status"], string> = { credited: "Credited", atRisk: "At risk", notCovered: "Not covered" };

/** The business-applications part of Coverage: per customer tenant, credited and at risk, with the fix for each gap. */
export function BizAppsCoverage({ organisation }: { organisation: Organisation }) {
  const [answer, setAnswer] = useState<BizappsCoverageAnswer | undefined>(undefined);
  const [month, setMonth] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const monthId = useId();
  useEffect(() => {
    let live = true;
    setError(undefined);
    const q = new URLSearchParams({ partnerId: organisation.globalId });
    if (month) q.set("month", month);
    portalApi<BizappsCoverageAnswer>("GET", `/bizapps/coverage?${q}`)
      .then((a) => live && setAnswer(a))
      .catch((e: unknown) => live && setError(e instanceof PortalApiError ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [month, organisation.globalId]);
  return (
    <section className="card" aria-labelledby="bizapps-coverage">
      <h2 id="bizapps-coverage">Business applications</h2>
      <p>Power Apps, Power Automate, Power BI and Customer Insights: what your identities earn in each customer tenant, and what is at risk where an owner is not linked.</p>
      <ErrorNotice message={error} />
      {answer && answer.months.length === 0 && <p>No month has business-applications results yet.</p>}
      {answer && answer.months.length > 0 && (
        <>
          <form className="filters" onSubmit={(e) => e.preventDefault()}>
            <div>
              <label htmlFor={monthId}>Business-applications month</label>
              <select id={monthId} value={answer.month ?? ""} onChange={(e) => setMonth(e.target.value)}>
                {answer.months.map((m) => (
                  <option key={m}>{m}</option>
                ))}
              </select>
            </div>
          </form>
          {answer.message && (
            <p>
              <CodeText text={answer.message} />
            </p>
          )}
          {answer.customers.length > 0 && (
            <table aria-label="Business applications per customer" data-testid="bizapps-coverage-table">
              <thead>
                <tr>
                  <th>Customer</th>
                  <th className="num">MAU credited</th>
                  <th className="num">Profiles credited</th>
                  <th className="num">Consumption value</th>
                  <th className="num">Resources at risk</th>
                  <th className="num">MAU at risk</th>
                  <th className="num">Profiles at risk</th>
                </tr>
              </thead>
              <tbody>
                {answer.customers.map((c) => (
                  <tr key={c.tenantId} data-testid={`bizapps-coverage-${c.tenantId}`}>
                    <td>{c.tenantName}</td>
                    <td className="num">{c.credited.mau.toLocaleString("en-US")}</td>
                    <td className="num">{c.credited.unifiedProfiles.toLocaleString("en-US")}</td>
                    <td className="num" data-testid={`bizapps-credited-${c.tenantId}`}>
                      {usd(c.credited.value)}
                    </td>
                    <td className="num" data-testid={`bizapps-at-risk-${c.tenantId}`}>
                      {c.atRisk.resources}
                    </td>
                    <td className="num">{c.atRisk.mau.toLocaleString("en-US")}</td>
                    <td className="num">{c.atRisk.unifiedProfiles.toLocaleString("en-US")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {answer.customers.map((c) => {
            const shown = c.resources.filter((r) => r.status !== "notCovered");
            if (shown.length === 0) return null;
            return (
              <table key={c.tenantId} aria-label={`Business-applications resources in ${c.tenantName}`}>
                <caption>{c.tenantName}</caption>
                <thead>
                  <tr>
                    <th>Resource</th>
                    <th>Environment</th>
                    <th>Attributed user</th>
                    <th>Status</th>
                    <th className="num">Quantity</th>
                    <th>Fix</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((r) => (
                    <tr key={r.resourceId} data-testid={`bizapps-resource-${r.resourceId}`}>
                      <td>
                        {r.resourceName} <span className="hint">({WORKLOAD_NAMES[r.workload as BizappsRow["workload"]] ?? r.workload})</span>
                      </td>
                      <td>{r.environmentType}</td>
                      <td>
                        {r.attributedUser.name ?? (r.attributedUser.account === "customer" ? "The customer's account" : "Another partner's identity")} ({r.attributedUser.role})
                      </td>
                      <td>
                        <span className={r.status === "credited" ? "tag" : "tag gap"}>{STATUS[r.status]}</span>
                        {r.message && (
                          <p className="hint">
                            <CodeText text={r.message} />
                          </p>
                        )}
                      </td>
                      <td className="num">
                        {r.quantity.toLocaleString("en-US")} {r.quantityType}
                      </td>
                      <td>{r.fix && r.status !== "credited" ? <CodeText text={r.fix} /> : "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            );
          })}
        </>
      )}
    </section>
  );
}
