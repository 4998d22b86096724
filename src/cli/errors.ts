/** CLI errors carry an exit code and a message that names the fix. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Exit codes, stable for scripts. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  notSignedIn: 3,
  notFound: 4,
  conflict: 5,
  forbidden: 6,
  unreachable: 7,
} as const;
