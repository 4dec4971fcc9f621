// The zod side of config validation by kind (kinds.ts holds the limits): one helper per kind, each
// registered in VALUE_KINDS so test/config/kindCoverage.test.ts can walk the schema, find every key
// of a kind and fail when one has no worst-value case. A key that takes a URL, host, port, image,
// integer, duration or quantity is built from these helpers, never from a bare z.string()/z.number().
import { z } from "zod";
import { NODE_PORT_RANGE } from "../network/ports";
import {
  hostNameProblem,
  hostPortProblem,
  httpUrlProblem,
  imageRepositoryProblem,
  imageTagProblem,
  INT32_MAX,
  MAX_PORT,
  prometheusDurationProblem,
  publicIpv4Problem,
  quantityProblem,
  registryPrefixProblem,
} from "./kinds";

/** What a leaf of the schema takes, for the coverage walk. */
export type ValueKind =
  "url" | "host" | "hostPort" | "port" | "nodePort" | "image" | "imageTag" | "registry" | "integer" | "duration" | "quantity" | "ratio" | "publicIp";

/** Kind of each helper's schema; zod keeps the entry through .describe(), .refine() and .optional() (clones inherit). */
export const VALUE_KINDS = z.registry<{ kind: ValueKind }>();

/** Registers a schema built by hand (its own messages) as a key of kind `k`. */
export function kind<T extends z.ZodType>(k: ValueKind, schema: T): T {
  VALUE_KINDS.add(schema, { kind: k });
  return schema;
}

// Whole numbers are checked with Number.isInteger before the range, and zod's .int() only after it (the config
// reference reads "integer" from it): .int() also refuses a whole number past 2^53 (not "safe"), which would say
// "must be a whole number" of 9007199254740993 where the limit broken is the range.

/** A string checked by a kinds.ts function (one message, naming the limit). */
const byProblem = (problem: (v: string) => string | undefined) =>
  z.string().superRefine((v, ctx) => {
    const p = problem(v);
    if (p) ctx.addIssue({ code: "custom", message: p });
  });

/** An http(s) URL as the URL parser reads it: no userinfo, a port 1-65535. */
export const urlKind = (schemes: readonly string[] = ["http:", "https:"]) =>
  kind(
    "url",
    byProblem((v) => httpUrlProblem(v, schemes)),
  );
/** A host name without scheme or port (RFC 1123). */
export const hostKind = () => kind("host", byProblem(hostNameProblem));
/** `host:port`, port 1-65535, no userinfo. */
export const hostPortKind = () => kind("hostPort", byProblem(hostPortProblem));
/** A TCP port (RFC 793's 16-bit field). */
export const portKind = () =>
  kind(
    "port",
    z
      .number()
      .refine(Number.isInteger, { message: "must be a whole number", abort: true })
      .min(1, `must be a TCP port 1-${MAX_PORT}`)
      .max(MAX_PORT, { message: `must be a TCP port 1-${MAX_PORT}`, abort: true })
      .int({ message: "must be a whole number" }),
  );
/** A NodePort inside the api-server's default --service-node-port-range (30000-32767). */
export const nodePortKind = () => {
  const msg = `must be a NodePort ${NODE_PORT_RANGE.from}-${NODE_PORT_RANGE.to} (the api-server's default --service-node-port-range)`;
  return kind(
    "nodePort",
    z
      .number()
      .refine(Number.isInteger, { message: "must be a whole number", abort: true })
      .min(NODE_PORT_RANGE.from, msg)
      .max(NODE_PORT_RANGE.to, { message: msg, abort: true })
      .int({ message: "must be a whole number" }),
  );
};
/** An image repository with a registry host and no tag (distribution's reference grammar). */
export const imageKind = () => kind("image", byProblem(imageRepositoryProblem));
/** An image tag (distribution's tag grammar) that also fits the app.kubernetes.io/version label. */
export const imageTagKind = () => kind("imageTag", byProblem(imageTagProblem));
/** A public IPv4 address (not private, shared, loopback, link-local or multicast). */
export const publicIpKind = () => kind("publicIp", byProblem(publicIpv4Problem));
/** A registry prefix `host[:port][/path]` (withPath) or a registry host `host[:port]`. */
export const registryKind = (withPath = true) =>
  kind(
    "registry",
    byProblem((v) => registryPrefixProblem(v, withPath)),
  );
/** A whole number min..max (default max: the Kubernetes API's int32). */
export const integerKind = (min: number, max: number = INT32_MAX, why = max === INT32_MAX ? " (the API's int32)" : "") =>
  kind(
    "integer",
    z
      .number()
      .refine(Number.isInteger, { message: "must be a whole number", abort: true })
      .min(min, `must be >= ${min}`)
      .max(max, { message: `must be <= ${max}${why}`, abort: true })
      .int({ message: "must be a whole number" }),
  );
/** A Prometheus duration (`15d`), more than 0 and within int64 nanoseconds. */
export const prometheusDurationKind = () => kind("duration", byProblem(prometheusDurationProblem));
/** A duration checked by its own parser (returns a problem or undefined). */
export const durationKind = (problem: (v: string) => string | undefined) => kind("duration", byProblem(problem));
/** A Kubernetes quantity of cpu or memory within int64. */
export const quantityKind = (resource: "cpu" | "memory") =>
  kind(
    "quantity",
    byProblem((v) => quantityProblem(v, resource)),
  );
/** A fraction strictly between two bounds. */
export const ratioKind = <T extends z.ZodNumber>(schema: T) => kind("ratio", schema);
