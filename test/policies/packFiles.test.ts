// The YAML files other tools read (the Pulumi CLI reads Pulumi.yaml, Pulumi.<stack>.yaml and the
// pack's PulumiPolicy.yaml; GitHub reads the workflows) must parse with no error: a stray ": " in a
// plain scalar once made PulumiPolicy.yaml unreadable while every test of the rules still passed.
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";

const ROOT = path.resolve(__dirname, "..", "..");

function yamlFiles(): string[] {
  const top = fs.readdirSync(ROOT).filter((f) => /^Pulumi(\.[a-z0-9]+)?\.yaml$/.test(f));
  const workflows = fs.readdirSync(path.join(ROOT, ".github", "workflows")).map((f) => path.join(".github", "workflows", f));
  return [...top, path.join("policies", "PulumiPolicy.yaml"), ...workflows];
}

describe("YAML files read by the Pulumi CLI and GitHub", () => {
  it.each(yamlFiles())("%s parses without errors", (file) => {
    const doc = YAML.parseDocument(fs.readFileSync(path.join(ROOT, file), "utf8"), { uniqueKeys: true });
    expect(doc.errors.map((e) => e.message)).toEqual([]);
  });

  it("the pack's project file says what the CLI needs: runtime nodejs and a description", () => {
    const pack = YAML.parse(fs.readFileSync(path.join(ROOT, "policies", "PulumiPolicy.yaml"), "utf8"));
    expect(pack.runtime).toBe("nodejs");
    expect(pack.description).toMatch(/^Live-commerce platform guardrails: /);
  });
});
