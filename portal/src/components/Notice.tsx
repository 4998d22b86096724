// Messages to the person: errors are alerts (read out at once), confirmations are status.
export function ErrorNotice({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <p className="notice error" role="alert">
      {message}
    </p>
  );
}

export function StatusNotice({ message }: { message: string | undefined }) {
  return (
    <p className="notice success" role="status" aria-live="polite" hidden={!message}>
      {message}
    </p>
  );
}
