/**
 * The end of a request, once: when its answer has been flushed (fastify's onResponse), or when
 * its client went away first (onRequestAbort, after which onResponse may not run at all). What
 * counts requests in flight (/metrics, src/ops; a stopping server's connections, src/server)
 * must see each request end exactly once, or its count drifts.
 *
 * @example
 * onRequestEnd(app, (req) => gauge.dec());
 */
import type { FastifyInstance, FastifyRequest } from "fastify";

export function onRequestEnd(app: FastifyInstance, ended: (req: FastifyRequest) => void): void {
  const running = new WeakSet<FastifyRequest>();
  const end = (req: FastifyRequest) => {
    if (running.delete(req)) ended(req);
  };
  // Callback-style hooks: they run on every request, and an async hook costs a promise each.
  app.addHook("onRequest", (req, _reply, done) => {
    running.add(req);
    done();
  });
  app.addHook("onResponse", (req, _reply, done) => {
    end(req);
    done();
  });
  app.addHook("onRequestAbort", (req, done) => {
    end(req);
    done();
  });
}
