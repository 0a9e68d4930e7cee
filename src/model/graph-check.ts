/**
 * A model package's manifest held against its ONNX graph before anything is compiled: the
 * input the manifest names must be the graph's input, with the channels (and, where the
 * graph fixes them, the height and width) the preprocessing produces; the output it names
 * must be the graph's first output, which the compiler reads as the logits; and the graph
 * must be a classifier, not a scoring graph compiled from one.
 */
import { ErrorCodes, GaiaError } from '../errors.js';
import { refuseScoringGraph } from '../compile/classifier.js';
import type { Model } from '../onnx/graph.js';
import type { ModelManifest } from './manifest.js';

export function checkManifestAgainstGraph(manifest: ModelManifest, model: Model, where: { manifest: string; model: string }): void {
  refuseScoringGraph(model, where.model);
  const fail = (field: string, why: string): never => {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `${where.manifest}: "${field}" ${why}`);
  };
  const inputs = model.graph.inputs.filter((i) => !model.graph.initializers.has(i.name));
  const input = inputs.find((i) => i.name === manifest.input.name);
  if (!input) fail('input.name', `is ${JSON.stringify(manifest.input.name)}, which is not an input of ${where.model} (its inputs: ${inputs.map((i) => JSON.stringify(i.name)).join(', ')})`);
  const dims = input!.shape;
  const [, c, h, w] = manifest.input.shape;
  if (dims && dims.length !== 4) fail('input.shape', `is NCHW, but ${where.model}'s input ${input!.name} has ${dims.length} dimensions`);
  const fixed = (i: number) => (dims && typeof dims[i] === 'number' && (dims[i] as number) > 0 ? (dims[i] as number) : undefined);
  if (fixed(1) !== undefined && fixed(1) !== c) fail('input.channels', `gives ${c} channel${c === 1 ? '' : 's'}, but ${where.model}'s input has ${fixed(1)}`);
  if ((fixed(2) !== undefined && fixed(2) !== h) || (fixed(3) !== undefined && fixed(3) !== w)) {
    fail('input.shape', `is ${h}x${w} (height x width), but ${where.model}'s input is ${fixed(2) ?? '?'}x${fixed(3) ?? '?'}`);
  }
  const first = model.graph.outputs[0]?.name;
  if (manifest.output && manifest.output.name !== first) {
    const known = model.graph.outputs.some((o) => o.name === manifest.output!.name);
    fail('output.name', `is ${JSON.stringify(manifest.output.name)}, but ${known ? `the logits are read from ${where.model}'s first output` : `${where.model} has no such output`} (${JSON.stringify(first)})`);
  }
}
