/**
 * Programmatic API of the compiler: file in, file out. The CLI's compile command is a
 * thin wrapper around compileModelFile.
 */
import { loadModel, saveModel } from '../onnx/model-io.js';
import { compileScoringGraph, type CompileOptions, type CompileResult } from './compiler.js';

export { compileScoringGraph, parseHeads, type CompileOptions, type CompileResult } from './compiler.js';
export { DEFAULT_HEADS, HEAD_NAMES, type HeadName } from './heads.js';

export async function compileModelFile(input: string, output: string, options: CompileOptions = {}): Promise<CompileResult> {
  const result = compileScoringGraph(await loadModel(input), options);
  await saveModel(result.model, output);
  return result;
}
