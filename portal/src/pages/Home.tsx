// The portal's home: sign in, or pick a page.
import { SignInForm } from "../components/SignInPrompt.tsx";
import { useSession } from "../session.tsx";

const SIGN_IN_PROBLEMS: Readonly<Record<string, string>> = {
  "missing-tenant": "Enter your work account (name@your-organisation-domain) to sign in.",
  "unknown-tenant": "This server knows no directory with that domain. Check the part after @ in your work account.",
  expired: "The sign-in took too long or was started in another browser. Sign in again.",
  cancelled: "The sign-in was cancelled.",
  failed: "The sign-in could not be completed. Sign in again; if it keeps failing, ask the operator to check the server log.",
};

export function HomePage({ go }: { go: (path: string) => void }) {
  const { session } = useSession();
  const problem = new URLSearchParams(window.location.search).get("signin");
  if (!session) return <p>Loading…</p>;
  if (!session.signedIn) {
    return (
      <section className="card" aria-label="Sign in">
        <p>Sign in with your work account to link your partner ID, set the partner of record of a subscription, and see what your links earn.</p>
        {problem && (
          <p className="notice error" role="alert">
            {SIGN_IN_PROBLEMS[problem] ?? SIGN_IN_PROBLEMS.failed}
          </p>
        )}
        <SignInForm returnTo="/portal/link-partner-id" />
      </section>
    );
  }
  return (
    <section className="card">
      <p>
        Signed in as <strong>{session.user.name}</strong> ({session.user.username}) in <strong>{session.directory.displayName}</strong>.
      </p>
      <ul>
        <li>
          <a href="/portal/link-partner-id" onClick={(e) => (e.preventDefault(), go("/portal/link-partner-id"))}>
            Link your account to a partner ID
          </a>
        </li>
        <li>
          <a href="/portal/insights" onClick={(e) => (e.preventDefault(), go("/portal/insights"))}>
            See the revenue attributed to your partner organisation
          </a>
        </li>
        <li>
          <a href="/portal/coverage" onClick={(e) => (e.preventDefault(), go("/portal/coverage"))}>
            Find the customers where links are missing
          </a>
        </li>
        <li>
          <a href="/portal/partner-information" onClick={(e) => (e.preventDefault(), go("/portal/partner-information"))}>
            See or set the partner of record of your subscriptions
          </a>
        </li>
      </ul>
    </section>
  );
}
