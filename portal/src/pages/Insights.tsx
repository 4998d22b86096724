// Insights: the revenue attributed to the signed-in partner organisation, month by month and by
// attribution type, with the report rows (Partner Center's Azure usage shape), CSV download, and
// the explanation of every amount.
import { useEffect, useId, useMemo, useRef, useState } from "react";
import { portalApi, PortalApiError, type Organisation } from "../api.ts";
import { StackedBarChart } from "../components/BarChart.tsx";
import { ErrorNotice } from "../components/Notice.tsx";
import { SignInPrompt } from "../components/SignInPrompt.tsx";
import { useSession } from "../session.tsx";
import { addDecimals, formatMoney, formatTime, sumDecimals } from "../format.ts";
import type { AzureUsageRow, Explanation } from "../../../src/attribution/wire.ts";
import { BizAppsInsights } from "./BizApps.tsx";

export interface InsightsContext {
  readonly directory: { readonly tenantId: string; readonly displayName: string };
  readonly organisation: Organisation | null;
  readonly months: readonly string[];
}

export type ReportRow = AzureUsageRow;

export interface Filters {
  months: readonly string[];
  type: "" | "PAL" | "DPOR";
  policy: "pec" | "all-roles";
  partnerId: string;
}

export function filterQuery(f: Filters): string {
  const q = new URLSearchParams({ months: f.months.join(","), policy: f.policy, partnerId: f.partnerId });
  if (f.type) q.set("type", f.type);
  return q.toString();
}

export function InsightsPage() {
  const { session } = useSession();
  if (!session) return <p>Loading…</p>;
  if (!session.signedIn) return <SignInPrompt what="see the revenue attributed to your partner organisation" />;
  return <InsightsPanel key={session.directory.tenantId} />;
}

/** Loads the directory's organisation and the attributed months; children get them once known. */
export function useInsightsContext(): { context: InsightsContext | undefined; error: string | undefined } {
  const [context, setContext] = useState<InsightsContext | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    let live = true;
    portalApi<InsightsContext>("GET", "/insights/context")
      .then((c) => live && setContext(c))
      .catch((e: unknown) => live && setError(e instanceof PortalApiError ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, []);
  return { context, error };
}

function InsightsPanel() {
  const { context, error } = useInsightsContext();
  if (error) return <ErrorNotice message={error} />;
  if (!context) return <p>Loading…</p>;
  if (!context.organisation) {
    return (
      <section className="card">
        <p>
          {context.directory.displayName} is not one of a partner organisation's own tenants, so it has no insights. Use <strong>Switch directory</strong> to go to your partner
          organisation's tenant.
        </p>
      </section>
    );
  }
  return (
    <>
      {context.months.length === 0 ? (
        <p className="card">No month has been attributed yet. Ask the operator to run the attribution (openpal attribution run --month YYYY-MM).</p>
      ) : (
        <InsightsReport organisation={context.organisation} months={context.months} />
      )}
      <BizAppsInsights organisation={context.organisation} />
    </>
  );
}

function InsightsReport({ organisation, months }: { organisation: Organisation; months: readonly string[] }) {
  const [filters, setFilters] = useState<Filters>({ months, type: "", policy: "pec", partnerId: organisation.globalId });
  const [rows, setRows] = useState<readonly ReportRow[] | undefined>(undefined);
  const [missing, setMissing] = useState<readonly string[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  // The amount whose explanation is open; re-read when a filter changes (see below).
  const [selected, setSelected] = useState<ReportRow | undefined>(undefined);
  const [explained, setExplained] = useState<{ key: string; explanation?: Explanation; error?: string } | undefined>(undefined);
  const ids = { type: useId(), policy: useId(), location: useId() };

  useEffect(() => {
    let live = true;
    setError(undefined);
    if (filters.months.length === 0) {
      setRows([]);
      return;
    }
    portalApi<{ rows: ReportRow[]; missingMonths: string[] }>("GET", `/insights/report?${filterQuery(filters)}`)
      .then((r) => {
        if (!live) return;
        setRows(r.rows);
        setMissing(r.missingMonths);
      })
      .catch((e: unknown) => live && setError(e instanceof PortalApiError ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [filters]);

  // Aggregates are in USD (ACR_USD), the one currency every row can be added in; billing-currency
  // amounts stay on each row.
  const usd = (r: ReportRow) => r.ACR_USD ?? "0";
  const withoutUsd = (rows ?? []).filter((r) => r.ACR_USD === null).length;
  const chart = useMemo(() => {
    const types = ["PAL", "DPOR"] as const;
    const shown = [...filters.months];
    return {
      categories: shown,
      series: types
        .filter((t) => !filters.type || filters.type === t)
        .map((t) => ({ name: t, values: shown.map((m) => Number(sumDecimals((rows ?? []).filter((r) => r.Month === m && r.PartnerAttributionType === t && !r.IsACRDuplicateAtPGALevel).map(usd)))) })),
    };
  }, [rows, filters]);

  // Totals count each amount once per organisation (rule 16: PAL before DPOR).
  const counted = (rows ?? []).filter((r) => !r.IsACRDuplicateAtPGALevel);
  const top = (key: (r: ReportRow) => string, name: (r: ReportRow) => string) => {
    const sums = new Map<string, { name: string; amounts: string[] }>();
    for (const r of counted) {
      const k = key(r);
      const entry = sums.get(k) ?? { name: name(r), amounts: [] };
      entry.amounts.push(usd(r));
      sums.set(k, entry);
    }
    return [...sums.entries()].map(([k, v]) => ({ key: k, name: v.name, total: sumDecimals(v.amounts) })).sort((a, b) => Number(b.total) - Number(a.total)).slice(0, 5);
  };

  // When the filters change, the open explanation follows: the same row (same key) in the new
  // rows, explained under the new policy; closed when the filters leave that row out.
  useEffect(() => {
    if (!rows) return;
    setSelected((s) => (s ? rows.find((r) => rowKey(r) === rowKey(s)) : undefined));
  }, [rows]);
  const selectedKey = selected ? rowKey(selected) : undefined;
  useEffect(() => {
    if (!selected || !selectedKey) return;
    let live = true;
    const key = `${selectedKey}|${filters.policy}`;
    setExplained({ key });
    const q = new URLSearchParams({ partnerId: selected.PartnerId, subscription: selected.SubscriptionId, month: selected.Month, policy: filters.policy });
    portalApi<Explanation>("GET", `/insights/explain?${q}`)
      .then((explanation) => live && setExplained({ key, explanation }))
      .catch((e: unknown) => live && setExplained({ key, error: e instanceof PortalApiError ? e.message : String(e) }));
    return () => {
      live = false;
    };
    // Keyed by the row's identity and the policy, not by the row object (a refreshed row is the same amount's row).
  }, [selectedKey, filters.policy]);
  const explain = (row: ReportRow) => setSelected(row);

  const toggleMonth = (m: string, on: boolean) => setFilters((f) => ({ ...f, months: on ? [...f.months, m].sort() : f.months.filter((x) => x !== m) }));

  return (
    <>
      <p>
        {organisation.name} (global Partner ID {organisation.globalId}): revenue attributed through PAL links and partner of record.
      </p>
      <section className="card" aria-label="Filters">
        <form className="filters" onSubmit={(e) => e.preventDefault()}>
          <fieldset>
            <legend>Months</legend>
            {months.map((m) => (
              <label key={m} className="inline">
                <input type="checkbox" checked={filters.months.includes(m)} onChange={(e) => toggleMonth(m, e.target.checked)} /> {m}
              </label>
            ))}
          </fieldset>
          <div>
            <label htmlFor={ids.type}>Attribution type</label>
            <select id={ids.type} value={filters.type} onChange={(e) => setFilters((f) => ({ ...f, type: e.target.value as Filters["type"] }))}>
              <option value="">All</option>
              <option value="PAL">PAL</option>
              <option value="DPOR">DPOR</option>
            </select>
          </div>
          <div>
            <label htmlFor={ids.policy}>Role eligibility</label>
            <select id={ids.policy} value={filters.policy} onChange={(e) => setFilters((f) => ({ ...f, policy: e.target.value as Filters["policy"] }))}>
              <option value="pec">Eligible roles only (partner earned credit)</option>
              <option value="all-roles">All roles</option>
            </select>
          </div>
          <div>
            <label htmlFor={ids.location}>Location</label>
            <select id={ids.location} value={filters.partnerId} onChange={(e) => setFilters((f) => ({ ...f, partnerId: e.target.value }))}>
              <option value={organisation.globalId}>All locations</option>
              {organisation.locations.map((l) => (
                <option key={l.id} value={l.id}>
                  {l.id} ({l.country}){l.active ? "" : ", inactive"}
                </option>
              ))}
            </select>
          </div>
          <a className="button" href={`/portal/api/insights/report.csv?${filterQuery(filters)}`} download>
            Download CSV
          </a>
        </form>
      </section>
      <ErrorNotice message={error} />
      {missing.length > 0 && <p className="notice error">Not attributed yet: {missing.join(", ")}. Ask the operator to run the attribution for these months.</p>}
      {rows && (
        <>
          <section className="card" aria-labelledby="acr-by-month">
            <h2 id="acr-by-month">Attributed ACR by month</h2>
            <p>
              Total: <strong data-testid="insights-total">{sumDecimals(counted.map(usd))}</strong> USD (each amount counted once for the organisation; PAL before DPOR)
            </p>
            {withoutUsd > 0 && <p className="hint">{withoutUsd} row(s) have no USD value and are left out of the totals and the chart.</p>}
            <StackedBarChart
              categories={chart.categories}
              series={chart.series}
              unit="USD"
              label={`Attributed ACR by month, stacked by attribution type: ${chart.categories.map((m, i) => `${m}: ${chart.series.map((s) => `${s.name} ${s.values[i]?.toFixed(2)}`).join(", ")}`).join("; ")}`}
            />
          </section>
          <div className="grid2">
            <section className="card" aria-labelledby="top-customers">
              <h2 id="top-customers">Top customers</h2>
              <TopTable rows={top((r) => r.CustomerTenantId, (r) => r.CustomerName)} what="Customer" />
            </section>
            <section className="card" aria-labelledby="top-subscriptions">
              <h2 id="top-subscriptions">Top subscriptions</h2>
              <TopTable rows={top((r) => r.SubscriptionId, (r) => `${r.SubscriptionName} (${r.CustomerName})`)} what="Subscription" />
            </section>
          </div>
          <section className="card" aria-labelledby="report-rows">
            <h2 id="report-rows">Report rows</h2>
            <table aria-labelledby="report-rows">
              <thead>
                <tr>
                  <th>Month</th>
                  <th>Partner ID</th>
                  <th>Customer</th>
                  <th>Subscription</th>
                  <th>Type</th>
                  <th>Admin type</th>
                  <th className="num">ACR</th>
                  <th className="num">ACR (USD)</th>
                  <th>Counted once</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r, i) => (
                  // Two rows can share every named column (one counted, one flagged duplicate): the position keeps them apart.
                  <tr key={`${i}|${r.Month}|${r.PartnerId}|${r.SubscriptionId}|${r.PartnerAttributionType}|${r.AdminType}`}>
                    <td>{r.Month}</td>
                    <td>{r.PartnerId}</td>
                    <td>{r.CustomerName}</td>
                    <td>{r.SubscriptionName}</td>
                    <td>{r.PartnerAttributionType}</td>
                    <td>{r.AdminType}</td>
                    <td className="num">
                      <button type="button" className="amount" aria-label={`Explain ${r.ACR} ${r.BillingCurrency} for ${r.SubscriptionName}, ${r.Month}, ${r.PartnerAttributionType}`} onClick={() => explain(r)}>
                        {r.ACR} {r.BillingCurrency}
                      </button>
                    </td>
                    <td className="num">{r.ACR_USD ?? "—"}</td>
                    <td>{r.IsACRDuplicateAtPGALevel ? "No: already counted in another row of your organisation" : "Yes"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {rows.length === 0 && <p>No attributed revenue for these filters.</p>}
          </section>
          {selected && (
            <ExplanationPanel
              key={rowKey(selected)}
              row={selected}
              policy={filters.policy}
              {...(explained?.key === `${rowKey(selected)}|${filters.policy}` ? { explanation: explained.explanation, error: explained.error } : {})}
              onClose={() => setSelected(undefined)}
            />
          )}
        </>
      )}
    </>
  );
}

function TopTable({ rows, what }: { rows: readonly { key: string; name: string; total: string }[]; what: string }) {
  if (rows.length === 0) return <p>None.</p>;
  return (
    <table>
      <thead>
        <tr>
          <th>{what}</th>
          <th className="num">ACR (USD)</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key}>
            <td>{r.name}</td>
            <td className="num">{r.total}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A report row's identity across refreshes (the amount itself may change with the policy). */
function rowKey(r: ReportRow): string {
  return [r.PartnerId, r.SubscriptionId, r.Month, r.PartnerAttributionType, r.AdminType, r.BillingCurrency, r.IsACRDuplicateAtPGALevel, r.IsACRDuplicateAtPGAAttachTypeLevel, r.IsACRDuplicateAtMPNLevel].join("|");
}

export const POLICY_NAMES: Record<string, string> = { pec: "Eligible roles only (partner earned credit)", "all-roles": "All roles" };

function ExplanationPanel({ row, policy, explanation, error, onClose }: { row: ReportRow; policy: string; explanation?: Explanation | undefined; error?: string | undefined; onClose: () => void }) {
  const panel = useRef<HTMLElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const money = (amount: string, currency = row.BillingCurrency) => formatMoney(amount, currency);
  // Brought into view (top of the panel at the top of the window) when opened and when its
  // explanation arrives; focus moves to its heading without a second scroll.
  const loaded = explanation !== undefined || error !== undefined;
  useEffect(() => {
    panel.current?.scrollIntoView({ block: "start" });
    heading.current?.focus({ preventScroll: true });
  }, [loaded]);
  // The usage rows of this report row: same location, type, admin type, currency and duplicate
  // flags, eligible (the report counts eligible roles only); their exact sum is the row's ACR.
  const facts =
    explanation?.facts.filter(
      (f) =>
        f.attributionType === row.PartnerAttributionType &&
        f.partnerLocationId === row.PartnerId &&
        f.adminType === row.AdminType &&
        f.currency === row.BillingCurrency &&
        f.eligible &&
        f.duplicate.pga === row.IsACRDuplicateAtPGALevel &&
        f.duplicate.pgaAttachType === row.IsACRDuplicateAtPGAAttachTypeLevel &&
        f.duplicate.mpn === row.IsACRDuplicateAtMPNLevel,
    ) ?? [];
  const totals = explanation?.totals.filter((t) => t.attributionType === row.PartnerAttributionType && t.partnerLocationId === row.PartnerId) ?? [];
  const services = row.PartnerAttributionType === "DPOR" ? (explanation?.dporServices?.filter((s) => s.partnerLocationId === row.PartnerId) ?? []) : [];
  const policyName = POLICY_NAMES[explanation?.policy ?? policy] ?? explanation?.policy ?? policy;
  return (
    <section ref={panel} className="card explanation" role="dialog" aria-labelledby="explanation-title" onKeyDown={(e) => e.key === "Escape" && onClose()}>
      <h2 id="explanation-title" tabIndex={-1} ref={heading}>
        Why {money(row.ACR)}: {row.SubscriptionName}, {row.Month}, {row.PartnerAttributionType}
      </h2>
      <ErrorNotice message={error} />
      {!explanation && !error && <p>Loading the explanation…</p>}
      {explanation && (
        <>
          <dl className="facts">
            <dt>Role eligibility</dt>
            <dd data-testid="explanation-policy">{policyName}</dd>
            <dt>This row</dt>
            <dd data-testid="explanation-row-total">
              {money(row.ACR)}
              {row.AdminType ? `, as ${row.AdminType}` : ""}
              {row.IsACRDuplicateAtPGALevel ? " (already counted in another row of your organisation)" : ""}
            </dd>
          </dl>
          <ul>
            {totals.map((t) => (
              <li key={`${t.partnerLocationId}${t.eligible}${t.currency}`} data-testid="explanation-total">
                {t.eligible
                  ? `Credited to ${t.partnerLocationId} (${t.attributionType}) on ${row.SubscriptionName} in ${row.Month}, all rows: ${money(t.credited, t.currency)}`
                  : `Not credited under this policy (ineligible roles only): ${money(t.credited, t.currency)}`}
              </li>
            ))}
          </ul>
          {services.length > 0 && (
            <table>
              <caption>Consumption by service while you are partner of record</caption>
              <thead>
                <tr>
                  <th>Service</th>
                  <th className="num">Credited</th>
                  <th>Associated since</th>
                </tr>
              </thead>
              <tbody>
                {services.map((s) => (
                  <tr key={`${s.partnerLocationId}${s.serviceName}${s.currency}`}>
                    <td>{s.serviceName}</td>
                    <td className="num">{money(s.credited, s.currency)}</td>
                    <td>{s.associatedSince ? formatTime(s.associatedSince) : "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {facts.length > 0 && (
            <>
              <p data-testid="explanation-facts-sum">
                {facts.length} usage row(s), credited in all {money(addDecimals(facts.map((f) => f.credited)))}:
              </p>
              <ol className="chains">
                {facts.slice(0, 20).map((f, i) => (
                  <li key={i}>
                    <strong>
                      {money(f.credited, f.currency)} of {money(f.cost, f.currency)}
                    </strong>{" "}
                    on {f.resourceId ?? "the subscription"} ({f.chargePeriod.start.slice(0, 10)}), as {f.adminType}
                    {f.chains.map((chain, j) => (
                      <ol key={j} className="chain">
                        {chain.map((step, k) => (
                          <li key={k}>{step}</li>
                        ))}
                      </ol>
                    ))}
                  </li>
                ))}
              </ol>
            </>
          )}
          {facts.length > 20 && <p>…and {facts.length - 20} more usage rows with the same chain.</p>}
        </>
      )}
      <button type="button" onClick={onClose}>
        Close explanation
      </button>
    </section>
  );
}
