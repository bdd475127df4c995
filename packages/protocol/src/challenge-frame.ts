/**
 * The frame of every heartbeat's challenge (issue 17): two integers in a fixed template, byte-identical to
 * encodeMessage's output (test/challenge-frame.test.ts holds it equal with fast-check), without building and
 * ordering an object, or a string, per send.
 */
export function encodeChallenge(sequence: number, challenge: number): Buffer {
  if (!isDigitsInt(sequence) || !isDigitsInt(challenge)) {
    return Buffer.from(`\n{"version":3,"revision":1,"msg_type":"challenge","sequence":${sequence},"heartbeat_challenge":${challenge}}\n`);
  }
  // The preencoded frame with the two numbers written in as ASCII digits: no string per challenge (issue 17).
  const size = CHALLENGE_HEAD.length + digitCount(sequence) + CHALLENGE_MIDDLE.length + digitCount(challenge) + CHALLENGE_TAIL.length;
  const out = Buffer.allocUnsafe(size);
  let at = CHALLENGE_HEAD.copy(out, 0);
  at = writeDigits(out, at, sequence);
  at += CHALLENGE_MIDDLE.copy(out, at);
  at = writeDigits(out, at, challenge);
  CHALLENGE_TAIL.copy(out, at);
  return out;
}

const CHALLENGE_HEAD = Buffer.from('\n{"version":3,"revision":1,"msg_type":"challenge","sequence":');
const CHALLENGE_MIDDLE = Buffer.from(',"heartbeat_challenge":');
const CHALLENGE_TAIL = Buffer.from('}\n');

/** A non-negative safe integer (what the reducer sends); anything else takes the template path. */
function isDigitsInt(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function digitCount(n: number): number {
  let digits = 1;
  for (let v = n; v >= 10; v = Math.floor(v / 10)) digits++;
  return digits;
}

/** Writes `n` in decimal at `at`; returns the position after it. */
function writeDigits(out: Buffer, at: number, n: number): number {
  const end = at + digitCount(n);
  let v = n;
  for (let i = end - 1; i >= at; i--) {
    out[i] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  }
  return end;
}
