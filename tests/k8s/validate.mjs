// SPDX-License-Identifier: MIT
// validate.mjs - check Kubernetes manifests offline against the API's
// schemas (kubernetes-models: Kubernetes' OpenAPI definitions compiled
// into validators, no cluster and no network needed). Every document of
// every file is validated as its apiVersion and kind say; a kind the
// package does not know is an error, not a pass. Each ConfigMap key named
// sockbrokerd.yaml is written to OUT_DIR/<file>.<name>.sockbrokerd.yaml for
// sockbrokerd --check-config.
//   node validate.mjs OUT_DIR FILE...
// Prints one line per document; exits 1 when any is invalid.
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { parseAllDocuments } from "yaml";

const [outDir, ...files] = process.argv.slice(2);
let bad = 0;

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
      console.log(`ok   ${where} ${name} (${apiVersion})`);
    } catch (e) {
      console.log(`FAIL ${where} ${name}: ${e.message}`);
      bad++;
      continue;
    }
    if (kind === "ConfigMap" && obj.data?.["sockbrokerd.yaml"] !== undefined) {
      writeFileSync(`${outDir}/${basename(file)}.${obj.metadata.name}.sockbrokerd.yaml`,
                    obj.data["sockbrokerd.yaml"]);
    }
  }
}
process.exit(bad ? 1 : 0);
