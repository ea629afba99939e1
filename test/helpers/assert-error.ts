// uvu has no `rejects`: assert that a promise rejects with a TideError of a given code.
import * as assert from 'uvu/assert';
import { TideError, type ErrorCode } from '../../src/errors.js';

function expectCode(err: unknown, code: ErrorCode): TideError {
  if (!(err instanceof TideError)) {
    assert.unreachable(`expected TideError ${code}, got ${err instanceof Error ? err.stack : String(err)}`);
    throw err;
  }
  assert.is(err.code, code, `expected code ${code}, got ${err.code}: ${err.message}`);
  return err;
}

export async function rejectsWithCode(promise: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<TideError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (err) {
    return expectCode(err, code);
  }
  assert.unreachable(`expected a rejection with ${code}, but it resolved`);
  throw new Error('unreachable');
}

export function throwsWithCode(fn: () => unknown, code: ErrorCode): TideError {
  try {
    fn();
  } catch (err) {
    return expectCode(err, code);
  }
  assert.unreachable(`expected a throw with ${code}`);
  throw new Error('unreachable');
}
