/**
 * A body the server will not read gets a message that names the problem and the fix, in the
 * route's own error shape (each component's error handler renders it, as for the NUL guard):
 * fastify's own refusals say only "Unsupported Media Type" or "Request body is too large".
 *
 * - A Content-Type no parser of the route reads: 415, naming the type and what to send.
 * - A declared Content-Length over the body limit: 413 before any byte of the body is read,
 *   naming the size and the limit.
 * - A body sent without a length (chunked) that grows past the limit: 413 as soon as it does,
 *   naming the limit; nothing of it is parsed.
 */
import { Transform, type TransformCallback } from "node:stream";
import type { FastifyInstance } from "fastify";

/** The largest request body the server reads (fastify's bodyLimit). */
export const BODY_LIMIT_BYTES = 32 * 1024 * 1024;

export class BodyRefusedError extends Error {
  constructor(
    readonly statusCode: 413 | 415,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const WHAT_TO_SEND = "Send JSON as application/json, and forms to the token service and sign-in pages as application/x-www-form-urlencoded (docs/API.md)";

export function registerBodyRefusals(app: FastifyInstance): void {
  // Callback style: it runs on every request, and an async hook costs a promise each.
  app.addHook("onRequest", (req, _reply, done) => {
    const declared = req.headers["content-length"];
    const bytes = declared === undefined ? 0 : Number(declared);
    if (bytes > BODY_LIMIT_BYTES) {
      done(new BodyRefusedError(413, "RequestEntityTooLarge", `The request body is ${bytes} bytes; the limit is ${BODY_LIMIT_BYTES} bytes (32 MiB). Send a smaller body, e.g. split the upload into several requests.`));
      return;
    }
    done();
  });
  // A body without a declared length (Transfer-Encoding: chunked) is counted as it arrives
  // (fastify's own cut says only "Request body is too large"); a body with one was judged above,
  // and a request with neither header has no body (every GET): nothing is wrapped for those.
  // Multipart bodies are read from the raw request by their own routes (with their own limits),
  // never from this stream.
  app.addHook("preParsing", (req, _reply, payload, done) => {
    if (req.headers["transfer-encoding"] === undefined || req.headers["content-length"] !== undefined || req.headers["content-type"]?.startsWith("multipart/")) {
      done(null, payload);
      return;
    }
    const limited = new BodyLimit(BODY_LIMIT_BYTES);
    // pipe() does not pass on the source's errors: a client that goes away mid-body must end the
    // parse with its error, as it does without this stream.
    payload.once("error", (error) => limited.destroy(error));
    done(null, payload.pipe(limited));
  });
  // Any Content-Type that no parser in the route's scope reads (a scope's own parsers, such as
  // ARM's catch-all or the admin world's YAML, take precedence over this one).
  app.addContentTypeParser("*", (req, _payload, done) => {
    const type = req.headers["content-type"];
    done(
      new BodyRefusedError(
        415,
        "UnsupportedMediaType",
        type ? `The request's Content-Type '${type}' cannot be read here. ${WHAT_TO_SEND}.` : `The request has a body but no Content-Type. ${WHAT_TO_SEND}.`,
      ),
      undefined,
    );
  });
}

/** Passes a body through until it exceeds `limit` bytes, then fails with a 413 that names the limit. */
class BodyLimit extends Transform {
  #seen = 0;

  constructor(readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.limit) {
      callback(new BodyRefusedError(413, "RequestEntityTooLarge", `The request body (sent without a Content-Length) grew past the limit of ${this.limit} bytes (32 MiB). Send a smaller body, e.g. split the upload into several requests.`));
      return;
    }
    callback(null, chunk);
  }
}
