import { type Static, Type } from "@sinclair/typebox";

/**
 * The /readyz body of every service (the API and both consumers): the same shape, so that a
 * person or a probe reads them alike. 200 when `ready`, 503 otherwise.
 */
export const Readiness = Type.Object({
  ready: Type.Boolean(),
  shuttingDown: Type.Boolean(),
  dependencies: Type.Record(
    Type.String(),
    Type.Union([Type.Literal("up"), Type.Literal("down"), Type.Literal("failing")]),
    {
      description:
        "Each broker and store the service uses: up, down (not connected), or failing (connected, but refusing work, e.g. a full store).",
    },
  ),
});
export type Readiness = Static<typeof Readiness>;
