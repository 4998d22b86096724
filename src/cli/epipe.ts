/**
 * Output piped into a reader that stops early (`openpal explain … | head -1`) ends the command
 * quietly with exit 0, as Unix tools do, instead of an EPIPE stack trace. Any other write error
 * on the stream is reported in one line and exits 1.
 */
export function endQuietlyOnBrokenPipe(
  stream: NodeJS.WritableStream & { on(event: "error", listener: (error: NodeJS.ErrnoException) => void): unknown },
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED") return exit(0);
    try {
      process.stderr.write(`openpal: cannot write the output: ${error.message}\n`);
    } finally {
      exit(1);
    }
  });
}
