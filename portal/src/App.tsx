// The portal's shell: header, navigation between pages, and the page for the current path.
import { useEffect, useState } from "react";

interface Page {
  readonly path: string;
  readonly title: string;
}

export const pages: readonly Page[] = [
  { path: "/portal/link-partner-id", title: "Link to a partner ID" },
  { path: "/portal/insights", title: "Insights" },
  { path: "/portal/coverage", title: "Coverage" },
];

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

export function App() {
  const [path, navigate] = usePath();
  const current = pages.find((p) => path.startsWith(p.path));
  return (
    <>
      <header className="bar">
        <a className="brand" href="/portal/">OpenPAL</a>
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
      </header>
      <main>
        <h1>{current?.title ?? "OpenPAL portal"}</h1>
      </main>
    </>
  );
}
