// Walks the config schema (components/config/schema.ts KEYS) and lists every leaf key with the kind its
// helper registered (components/config/valueKinds.ts VALUE_KINDS). Paths are written as config keys:
// `platform:apps.<name>.port`, `platform:nodePools[].count`. Used by test/config/kindCoverage.test.ts.
import { z } from "zod";
import { VALUE_KINDS, ValueKind } from "../../components/config/valueKinds";

export interface SchemaLeaf {
  path: string;
  /** The registered kind; undefined for a leaf no kind helper built. */
  kind?: ValueKind;
  /** zod's type of the leaf (string, number, enum, ...). */
  type: string;
}

type Def = {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
};

export function schemaLeaves(schema: z.ZodType, path: string, out: SchemaLeaf[] = []): SchemaLeaf[] {
  const registered = VALUE_KINDS.get(schema)?.kind;
  const def = (schema as unknown as { _zod: { def: Def } })._zod.def;
  if (registered) {
    out.push({ path, kind: registered, type: def.type });
    return out;
  }
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
    case "catch":
      return schemaLeaves(def.innerType!, path, out);
    case "pipe":
      return schemaLeaves(def.in!, path, out);
    case "object":
      for (const [k, v] of Object.entries(def.shape!)) schemaLeaves(v, `${path}.${k}`, out);
      return out;
    case "array":
      return schemaLeaves(def.element!, `${path}[]`, out);
    case "record":
      return schemaLeaves(def.valueType!, `${path}.<name>`, out);
    case "union": {
      const seen = new Set(out.map((l) => l.path));
      const found = def.options!.flatMap((o) => schemaLeaves(o, path, []));
      for (const l of found) {
        if (seen.has(l.path)) continue;
        seen.add(l.path);
        out.push(l);
      }
      return out;
    }
    // leaves whose type holds no value of a kind: plain strings, numbers and booleans (the guard's name and
    // number checks judge them), enums and literals, and z.custom (the markers of removed keys)
    case "string":
    case "number":
    case "boolean":
    case "enum":
    case "literal":
    case "custom":
      out.push({ path, type: def.type });
      return out;
    default:
      // z.lazy, z.tuple, a transform, an intersection, ...: what is inside is not walked, so a key of a kind
      // could hide there; teach the walk the type rather than let it pass as a leaf
      throw new Error(`${path}: the kind walk does not know zod type "${def.type}"; add it to test/support/schemaKinds.ts`);
  }
}
