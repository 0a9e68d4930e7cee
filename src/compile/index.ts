/**
 * Programmatic API of the compiler: file in, file out. The CLI's compile command is a
 * thin wrapper around compileModelFile.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ErrorCodes, GaiaError } from '../errors.js';
import { loadModel } from '../onnx/model-io.js';
import { saveModel, type SaveOptions } from '../onnx/model-save.js';
import { refuseScoringGraph } from './classifier.js';
import { compileScoringGraph, type CompileOptions, type CompileResult } from './compiler.js';

export { compileScoringGraph, parseGaiaZMode, parseHeads, type CompileOptions, type CompileResult } from './compiler.js';
export { DEFAULT_HEADS, GAIA_Z_MODES, HEAD_NAMES, type GaiaZMode, type HeadName } from './heads.js';

/**
 * Reads `input` (and the external data beside it), writes the scoring graph to `output`:
 * one file when it fits protobuf's 2 GB limit, else with `<output>.data` beside it.
 */
export async function compileModelFile(
  input: string,
  output: string,
  options: CompileOptions = {},
  save: SaveOptions = {},
): Promise<CompileResult> {
  // The output must not replace what the compile reads: the model, or its external data.
  const from = resolve(input);
  const to = resolve(output);
  if (to === from || to === `${from}.data` || `${to}.data` === from) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `compile --out ${output} would overwrite its input ${input}: write the scoring graph to another file (e.g. ${input.replace(/\.onnx$/, '')}.gaia.onnx)`);
  }
  const model = await loadModel(input);
  refuseScoringGraph(model, input);
  const result = compileScoringGraph(model, options);
  await mkdir(dirname(to), { recursive: true }).catch((cause: Error) => {
    throw new GaiaError(ErrorCodes.IO, `cannot create the folder of --out ${output}: ${cause.message}`, { cause });
  });
  await saveModel(result.model, output, save);
  return result;
}
