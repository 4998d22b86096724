// The portal's shell: header (navigation, directory, account), and the page for the current path.
import { useEffect, useState, type ReactNode } from "react";
import { portalApi } from "./api.ts";
import { DirectorySwitcher } from "./components/DirectorySwitcher.tsx";
import { SessionProvider, useSession } from "./session.tsx";
import { HomePage } from "./pages/Home.tsx";
import { LinkPartnerIdPage } from "./pages/LinkPartnerId.tsx";
import { InsightsPage } from "./pages/Insights.tsx";
import { CoveragePage } from "./pages/Coverage.tsx";
import { PartnerInformationPage } from "./pages/PartnerInformation.tsx";
import { PartnerInformationIndexPage } from "./pages/PartnerInformationIndex.tsx";

interface Page {
  readonly path: string;
  readonly title: string;
}

export const pages: readonly Page[] = [
  { path: "/portal/link-partner-id", title: "Link to a partner ID" },
  { path: "/portal/insights", title: "Insights" },
  { path: "/portal/coverage", title: "Coverage" },
  { path: "/portal/partner-information", title: "Partner information" },
];

const PARTNER_INFORMATION = /^\/portal\/subscriptions\/([^/]+)\/partner-information\/?$/;

function usePath(): [string, (to: string) => void] {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const onPop = () => setPath(window.location.pathname);
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  const navigate = (to: string) => {
    window.history.pushState(null, "", to);
    setPath(to);
  };
  return [path, navigate];
}

function route(path: string, go: (to: string) => void): { title: string; body: ReactNode } {
  const dpor = PARTNER_INFORMATION.exec(path);
  if (dpor) return { title: "Partner information", body: <PartnerInformationPage subscriptionId={decodeURIComponent(dpor[1] ?? "")} /> };
  const page = pages.find((p) => path.startsWith(p.path));
  switch (page?.path) {
    case "/portal/link-partner-id":
      return { title: page.title, body: <LinkPartnerIdPage /> };
    case "/portal/insights":
      return { title: page.title, body: <InsightsPage /> };
    case "/portal/coverage":
      return { title: page.title, body: <CoveragePage /> };
    case "/portal/partner-information":
      return { title: page.title, body: <PartnerInformationIndexPage go={go} /> };
    default:
      return { title: "OpenPAL portal", body: <HomePage go={go} /> };
  }
}

function Account() {
  const { session } = useSession();
  if (!session?.signedIn) return null;
  const signOut = async () => {
    const answer = await portalApi<{ logoutUrl: string }>("POST", "/signout");
    window.location.assign(answer.logoutUrl);
  };
  return (
    <div className="account">
      <DirectorySwitcher />
      <span className="user" title={session.user.username}>
        {session.user.name}
      </span>
      <button type="button" onClick={() => void signOut()}>
        Sign out
      </button>
    </div>
  );
}

function Shell() {
  const [path, navigate] = usePath();
  // A subscription's partner information page belongs to the Partner information entry.
  const current = PARTNER_INFORMATION.test(path) ? pages.find((p) => p.path === "/portal/partner-information") : pages.find((p) => path.startsWith(p.path));
  const { title, body } = route(path, navigate);
  useEffect(() => {
    document.title = `${title} · OpenPAL`;
  }, [title]);
  return (
    <>
      <header className="bar">
        <a className="brand" href="/portal/">
          OpenPAL
        </a>
        <nav aria-label="Main">
          <ul>
            {pages.map((p) => (
              <li key={p.path}>
                <a
                  href={p.path}
                  aria-current={current?.path === p.path ? "page" : undefined}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate(p.path);
                  }}
                >
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <Account />
      </header>
      <main>
        <h1>{title}</h1>
        {body}
      </main>
    </>
  );
}

export function App() {
  return (
    <SessionProvider>
      <Shell />
    </SessionProvider>
  );
}
