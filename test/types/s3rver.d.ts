// s3rver ships no types; the tests use its constructor, run, close and 'event'.
declare module 's3rver' {
  import type { EventEmitter } from 'node:events';
  interface S3rverOptions { port: number; address: string; directory: string; silent?: boolean; configureBuckets?: { name: string; configs: unknown[] }[] }
  export default class S3rver extends EventEmitter {
    constructor(options: S3rverOptions);
    run(): Promise<unknown>;
    close(): Promise<void>;
  }
}
