// Checks documents with the official AsyncAPI parser, then checks their examples.
//
// Usage: node validate.mjs FILE...
// Prints one JSON object: the parser's version and, for each file, every diagnostic.
// Exits 1 when a file has an error or a warning; "info" and "hint" diagnostics pass.
//
// The parser does not check that examples match their schemas, so this script also
// validates each message example's payload against the message's payload schema, and
// each Kafka key example against the key schema (code "stream-example-invalid").
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { Parser } from "@asyncapi/parser";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const SEVERITY = ["error", "warning", "info", "hint"];
const require = createRequire(import.meta.url);
const { version } = require("@asyncapi/parser/package.json");

function pointer(document, ref) {
  if (typeof ref !== "string" || !ref.startsWith("#/")) return undefined;
  let target = document;
  for (const part of ref.slice(2).split("/")) {
    target = target?.[part.replaceAll("~1", "/").replaceAll("~0", "~")];
  }
  return target;
}

function deref(document, value) {
  for (let i = 0; i < 8 && value && typeof value.$ref === "string"; i++) {
    value = pointer(document, value.$ref);
  }
  return value;
}

function exampleDiagnostics(document) {
  const found = [];
  // AsyncAPI schemas are JSON Schema draft 07 plus a few keywords ajv need not know.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  const check = (schema, value, path) => {
    // Wrapping keeps "#/components/..." refs pointing into the document.
    const validate = ajv.compile({ allOf: [schema], components: document.components ?? {} });
    if (!validate(value)) {
      const why = validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
      found.push({ severity: "error", code: "stream-example-invalid", message: why, path });
    }
  };
  for (const [channelId, channel] of Object.entries(document.channels ?? {})) {
    for (const [messageId, raw] of Object.entries(deref(document, channel)?.messages ?? {})) {
      const message = deref(document, raw) ?? {};
      const path = `channels/${channelId}/messages/${messageId}`;
      (message.examples ?? []).forEach((example, index) => {
        if ("payload" in example && message.payload !== undefined) {
          check(message.payload, example.payload, `${path}/examples/${index}/payload`);
        }
        if ("headers" in example && message.headers !== undefined) {
          check(message.headers, example.headers, `${path}/examples/${index}/headers`);
        }
      });
      const key = deref(document, message.bindings)?.kafka?.key;
      (key?.examples ?? []).forEach((example, index) => {
        check(key, example, `${path}/bindings/kafka/key/examples/${index}`);
      });
    }
  }
  return found;
}

const parser = new Parser();
const results = [];
let failed = false;
for (const file of process.argv.slice(2)) {
  const text = await readFile(file, "utf8");
  const { document, diagnostics } = await parser.parse(text, { source: file });
  const found = diagnostics.map((d) => ({
    severity: SEVERITY[d.severity] ?? String(d.severity),
    code: String(d.code),
    message: d.message,
    path: d.path.join("/"),
  }));
  if (document !== undefined) {
    // The input as written (not the parser's resolved model), so refs are checked too.
    found.push(...exampleDiagnostics(document.meta().asyncapi.parsed));
  }
  const bad =
    document === undefined || found.some((d) => d.severity === "error" || d.severity === "warning");
  failed ||= bad;
  results.push({ file, ok: !bad, diagnostics: found });
}
console.log(JSON.stringify({ parser: version, results }, null, 2));
process.exit(failed ? 1 : 0);
