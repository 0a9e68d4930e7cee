// Runs ONNX models with onnxruntime-node (the runtime gaia-sentinel uses) and compares
// selected outputs with float32 reference tensors written by make_fixtures.py.
//
//   node tools/reference/ort_check.mjs <workdir>
//
// <workdir>/manifest.json: [{ "id", "model", "input": {"file", "shape"},
//                             "outputs": [{"name", "file"}] }]
// Files are raw little-endian float32. Prints one JSON line per case on stdout:
//   { "id", "results": [{ "name", "max_abs", "ref_max_abs", "n" }] }
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(join(process.cwd(), "package.json"));
const ort = require("onnxruntime-node");

function readF32(path) {
  const buf = readFileSync(path);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

const dir = process.argv[2];
const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
for (const c of manifest) {
  const session = await ort.InferenceSession.create(join(dir, c.model), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const input = new ort.Tensor("float32", readF32(join(dir, c.input.file)), c.input.shape);
  const out = await session.run({ input }, c.outputs.map((o) => o.name));
  const results = c.outputs.map((o) => {
    const got = out[o.name].data;
    const ref = readF32(join(dir, o.file));
    if (got.length !== ref.length) {
      return { name: o.name, error: `length ${got.length} != ${ref.length}` };
    }
    let maxAbs = 0;
    let refMax = 0;
    for (let i = 0; i < ref.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(got[i] - ref[i]));
      refMax = Math.max(refMax, Math.abs(ref[i]));
    }
    return { name: o.name, max_abs: maxAbs, ref_max_abs: refMax, n: ref.length };
  });
  console.log(JSON.stringify({ id: c.id, results }));
}
