// The compiled `tide` binary, for the tests, the demo and the benchmarks that run it
// as an operator would (from dist/scripts/lib, dist/src is two levels up).
export const tideBin = new URL('../../src/cli/bin.js', import.meta.url).pathname;
