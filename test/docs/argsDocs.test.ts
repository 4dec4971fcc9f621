// Issue 25: a component's Args are its API for the rooms that compose it; every field says what it is and,
// when it may be left out, its default. Read with the TypeScript parser, so a field on several lines or with a
// nested type is found as the compiler sees it.
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

const COMPONENTS = path.resolve(__dirname, "../../components");

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith(".ts") ? [p] : [];
  });
}

interface Field {
  where: string;
  doc: string;
  optional: boolean;
}

/** Every property of every interface named `<Name>Args` in `file`, with its JSDoc text. */
export function argsFields(file: string, text = fs.readFileSync(file, "utf8")): Field[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: Field[] = [];
  const visit = (node: ts.Node): void => {
    // A component's `<Name>Args`; a command's private parse result named plain `Args` is not one.
    if (ts.isInterfaceDeclaration(node) && /^\w+Args$/.test(node.name.text)) {
      for (const m of node.members) {
        if (!ts.isPropertySignature(m)) continue;
        const doc = ts
          .getJSDocCommentsAndTags(m)
          .map((d) => d.getText())
          .join(" ");
        const line = source.getLineAndCharacterOfPosition(m.getStart()).line + 1;
        out.push({ where: `${path.relative(COMPONENTS, file)}:${line} ${node.name.text}.${m.name.getText()}`, doc, optional: m.questionToken !== undefined });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

const FIELDS = tsFiles(COMPONENTS).flatMap((f) => argsFields(f));

describe("components' Args", () => {
  test("the parser finds the fields, documented or not", () => {
    const fields = argsFields(
      "x.ts",
      "interface FooArgs {\n  /** Size. Default 2. */\n  size?: number;\n  name: string;\n}\ninterface Other { a: string }\ninterface Args { x: number }\n",
    );
    expect(fields).toEqual([
      { where: "../x.ts:3 FooArgs.size", doc: "/** Size. Default 2. */", optional: true },
      { where: "../x.ts:4 FooArgs.name", doc: "", optional: false },
    ]);
  });

  test("there are Args to check (components keep their settings in *Args interfaces)", () => {
    expect(FIELDS.length).toBeGreaterThan(100);
  });

  test("every field has a doc comment", () => {
    expect(FIELDS.filter((f) => f.doc === "").map((f) => f.where)).toEqual([]);
  });

  test("every optional field says what happens when it is left out", () => {
    const silent = FIELDS.filter((f) => f.optional && !/default|unset|absent|none|omit|without|when|only|no /i.test(f.doc));
    expect(silent.map((f) => f.where)).toEqual([]);
  });
});
