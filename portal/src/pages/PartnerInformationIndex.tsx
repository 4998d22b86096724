// Partner information, the navigation entry: the subscriptions the signed-in person can see in the
// current directory, each opening its partner information (partner of record) page.
import { useEffect, useState } from "react";
import { portalApi, PortalApiError } from "../api.ts";
import { ErrorNotice } from "../components/Notice.tsx";
import { SignInPrompt } from "../components/SignInPrompt.tsx";
import { useSession } from "../session.tsx";

interface SubscriptionsAnswer {
  readonly directory: { readonly tenantId: string; readonly displayName: string };
  readonly value: readonly { readonly subscriptionId: string; readonly displayName: string; readonly state: string }[];
}

export function partnerInformationPath(subscriptionId: string): string {
  return `/portal/subscriptions/${encodeURIComponent(subscriptionId)}/partner-information`;
}

export function PartnerInformationIndexPage({ go }: { go: (to: string) => void }) {
  const { session } = useSession();
  if (!session) return <p>Loading…</p>;
  if (!session.signedIn) return <SignInPrompt what="see the partner information of your subscriptions" />;
  return <SubscriptionList key={session.directory.tenantId} go={go} />;
}

function SubscriptionList({ go }: { go: (to: string) => void }) {
  const [answer, setAnswer] = useState<SubscriptionsAnswer | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    let live = true;
    portalApi<SubscriptionsAnswer>("GET", "/subscriptions")
      .then((a) => live && setAnswer(a))
      .catch((e: unknown) => live && setError(e instanceof PortalApiError ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, []);
  if (error) return <ErrorNotice message={error} />;
  if (!answer) return <p>Loading your subscriptions…</p>;
  return (
    <section className="card" aria-labelledby="subscriptions">
      <h2 id="subscriptions">Subscriptions in {answer.directory.displayName}</h2>
      {answer.value.length === 0 ? (
        <p>You have access to no subscription in {answer.directory.displayName}. Use Switch directory to go to the tenant of the subscription.</p>
      ) : (
        <>
          <p>Choose a subscription to see (and, as its EA account owner, change) its partner of record.</p>
          <ul className="links">
            {answer.value.map((s) => (
              <li key={s.subscriptionId}>
                <a
                  href={partnerInformationPath(s.subscriptionId)}
                  onClick={(e) => {
                    e.preventDefault();
                    go(partnerInformationPath(s.subscriptionId));
                  }}
                >
                  {s.displayName}
                </a>{" "}
                <code>{s.subscriptionId}</code>
                {s.state !== "Enabled" && <span className="tag gap"> {s.state}</span>}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
