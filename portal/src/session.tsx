// The signed-in session as the pages see it: who, which directory, and how to reload it after a
// directory switch or sign-out.
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { getSession, rememberCsrfToken, type Session } from "./api.ts";

interface SessionState {
  /** undefined while loading. */
  readonly session: Session | undefined;
  readonly reload: () => Promise<void>;
}

const SessionContext = createContext<SessionState>({ session: undefined, reload: async () => {} });

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const reload = useCallback(async () => {
    try {
      const next = await getSession();
      if (next.signedIn) rememberCsrfToken(next.csrfToken);
      setSession(next);
    } catch {
      setSession({ signedIn: false });
    }
  }, []);
  useEffect(() => {
    void reload();
  }, [reload]);
  return <SessionContext.Provider value={{ session, reload }}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  return useContext(SessionContext);
}

/** The path of the sign-in that comes back to `returnTo`. */
export function signInHref(returnTo: string, loginHint?: string): string {
  const q = new URLSearchParams({ returnTo });
  if (loginHint) q.set("login_hint", loginHint);
  return `/portal/signin?${q.toString()}`;
}
