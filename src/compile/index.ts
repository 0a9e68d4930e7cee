/**
 * Programmatic API of the compiler: file in, file out. The CLI's compile command is a
 * thin wrapper around compileModelFile.
 */
import { loadModel } from '../onnx/model-io.js';
import { saveModel, type SaveOptions } from '../onnx/model-save.js';
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
  const result = compileScoringGraph(await loadModel(input), options);
  await saveModel(result.model, output, save);
  return result;
}
