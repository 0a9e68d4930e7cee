/** Progress of a long offline run, on stderr: one line updated in place on a terminal, a line every 10% otherwise. */
export function progressReporter(label: string, stream: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean } = process.stderr) {
  const started = performance.now();
  let lastDecile = -1;
  return (done: number, total: number) => {
    const pct = Math.floor((100 * done) / total);
    const rate = done / ((performance.now() - started) / 1000);
    const line = `${label}: ${done}/${total} (${pct}%) ${rate.toFixed(0)} frames/s`;
    if (stream.isTTY) {
      stream.write(`\r${line}${done === total ? '\n' : ''}`);
    } else if (Math.floor(pct / 10) !== lastDecile || done === total) {
      lastDecile = Math.floor(pct / 10);
      stream.write(`${line}\n`);
    }
  };
}
