// SPDX-License-Identifier: MIT
// validate.mjs - check Kubernetes manifests offline against the API's
// schemas (kubernetes-models: Kubernetes' OpenAPI definitions compiled
// into validators, no cluster and no network needed). Every document of
// every file is validated as its apiVersion and kind say; a kind the
// package does not know is an error, not a pass, and so is a field its
// type does not have (a misspelt key would otherwise pass). Each ConfigMap key named
// sockbrokerd.yaml is written to OUT_DIR/<file>.<name>.sockbrokerd.yaml for
// sockbrokerd --check-config.
//   node validate.mjs OUT_DIR FILE...
// Prints one line per document; exits 1 when any is invalid.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const [outDir, ...files] = process.argv.slice(2);
let bad = 0;

// ---- unknown fields. The compiled validators accept any extra property
// (Kubernetes' OpenAPI schemas do not forbid them; the API server drops
// them, or refuses them under strict field validation). The package's
// TypeScript declarations name every field of every type: walk the
// document along them and refuse a field they do not name.
const modules = join(dirname(fileURLToPath(import.meta.url)), "node_modules");
const types = new Map(); // .d.ts path -> { props, imports, open } or null

function typeFile(spec, from) {
  const base = spec.startsWith(".") ? join(dirname(from), spec) : join(modules, spec);
  return base.replace(/\.js$/, "") + ".d.ts";
}

// The interface a declaration file defines: its fields and their types,
// and where the types it names come from. null: no interface (a string,
// a number or a union of them: nothing to walk).
function typeOf(file) {
  if (types.has(file)) return types.get(file);
  let t = null;
  if (existsSync(file)) {
    const text = readFileSync(file, "utf8");
    const m = /^export interface \w+[^{]*\{\n([\s\S]*?)^\}/m.exec(text);
    if (m) {
      const imports = new Map();
      for (const i of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";/gm))
        imports.set(i[1], typeFile(i[2], file));
      const props = new Map();
      for (const p of m[1].matchAll(/^ {4}"([^"]+)"\??: (.*?);?$/gm)) props.set(p[1], p[2]);
      // An index signature at the top: any key is a field.
      t = { props, imports, open: /^ {4}\[key: string\]/m.test(m[1]) };
    }
  }
  types.set(file, t);
  return t;
}

function unknownFields(obj, file, path, out) {
  const t = typeOf(file);
  if (!t || t.open || obj === null || typeof obj !== "object" || Array.isArray(obj)) return;
  for (const [k, v] of Object.entries(obj)) {
    const here = `${path}/${k}`;
    if (!t.props.has(k)) {
      out.push(here);
      continue;
    }
    const ty = t.props.get(k);
    const arr = /^Array<(\w+)>$/.exec(ty);
    const name = arr ? arr[1] : /^\w+$/.test(ty) ? ty : null;
    if (!name || !t.imports.has(name)) continue; // a scalar, a map, a union
    const f = t.imports.get(name);
    if (!arr) unknownFields(v, f, here, out);
    else if (Array.isArray(v)) v.forEach((e, i) => unknownFields(e, f, `${here}/${i}`, out));
  }
}

for (const file of files) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const doc of docs) {
    const where = `${basename(file)}`;
    if (doc.errors.length) {
      console.log(`FAIL ${where}: YAML: ${doc.errors[0].message}`);
      bad++;
      continue;
    }
    const obj = doc.toJS();
    if (obj === null) continue;
    const { apiVersion, kind } = obj;
    const name = `${kind}/${obj.metadata?.name}`;
    if (typeof apiVersion !== "string" || typeof kind !== "string") {
      console.log(`FAIL ${where}: a document without apiVersion and kind`);
      bad++;
      continue;
    }
    // "v1" is the core group's folder; "apps/v1" is its own.
    let mod;
    try {
      mod = await import(`kubernetes-models/${apiVersion}/${kind}`);
    } catch {
      console.log(`FAIL ${where} ${name}: unknown apiVersion/kind ${apiVersion} ${kind}`);
      bad++;
      continue;
    }
    try {
      new mod[kind](obj).validate();
    } catch (e) {
      console.log(`FAIL ${where} ${name}: ${e.message}`);
      bad++;
      continue;
    }
    const model = join(modules, "kubernetes-models", apiVersion, `${kind}.d.ts`);
    if (!typeOf(model)) {
      console.log(`FAIL ${where} ${name}: no field list for ${apiVersion} ${kind}`);
      bad++;
      continue;
    }
    const unknown = [];
    unknownFields(obj, model, "data", unknown);
    if (unknown.length) {
      console.log(`FAIL ${where} ${name}: unknown field ${unknown.slice(0, 3).join(", ")}`);
      bad++;
      continue;
    }
    console.log(`ok   ${where} ${name} (${apiVersion})`);
    if (kind === "ConfigMap" && obj.data?.["sockbrokerd.yaml"] !== undefined) {
      writeFileSync(`${outDir}/${basename(file)}.${obj.metadata.name}.sockbrokerd.yaml`,
                    obj.data["sockbrokerd.yaml"]);
    }
  }
}
process.exit(bad ? 1 : 0);
