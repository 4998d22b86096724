// Sign-in: the person types their work account; the server sends them to the sign-in page of
// that account's directory (its domain), which asks for the password. Guests sign in with their
// home account and switch directory afterwards.
import { useId } from "react";

export function SignInForm({ returnTo }: { returnTo: string }) {
  const id = useId();
  return (
    <form className="signin" method="get" action="/portal/signin">
      <input type="hidden" name="returnTo" value={returnTo} />
      <label htmlFor={id}>Work account</label>
      <input id={id} name="login_hint" type="email" autoComplete="username" required placeholder="someone@example.com" />
      <button className="primary" type="submit">
        Sign in
      </button>
    </form>
  );
}

export function SignInPrompt({ what }: { what: string }) {
  return (
    <section className="card" aria-label="Sign in">
      <p>Sign in to {what}.</p>
      <SignInForm returnTo={window.location.pathname} />
    </section>
  );
}
