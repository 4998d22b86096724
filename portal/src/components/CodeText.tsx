// A message of the attribution API with its `code` spans shown as code, not as literal backticks.
import { codeSpans } from "../format.ts";

export function CodeText({ text }: { text: string }) {
  return (
    <>
      {codeSpans(text).map((s, i) => (s.code ? <code key={i}>{s.text}</code> : <span key={i}>{s.text}</span>))}
    </>
  );
}
