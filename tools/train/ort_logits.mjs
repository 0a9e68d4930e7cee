// Runs an ONNX classifier with onnxruntime-node (the runtime gaia-sentinel uses) on a batch
// of float32 inputs and writes the logits; used by check_fmnist_model.py.
//
//   node tools/train/ort_logits.mjs <model.onnx> <input.f32> <N,C,H,W> <output.f32>
//
// Files are raw little-endian float32. Prints {"output", "dims"} as one JSON line.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(join(process.cwd(), "package.json"));
const ort = require("onnxruntime-node");

const [modelPath, inPath, shapeArg, outPath] = process.argv.slice(2);
const dims = shapeArg.split(",").map(Number);
const buf = readFileSync(inPath);
const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
const inputName = session.inputNames[0];
const outputName = session.outputNames[0];
const out = await session.run({ [inputName]: new ort.Tensor("float32", data, dims) });
const y = out[outputName];
writeFileSync(outPath, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
console.log(JSON.stringify({ input: inputName, output: outputName, dims: y.dims }));
