/**
 * QEMU's option-string syntax ("socket,id=x,host=h,port=1,server=on,wait=off"), as accepted by
 * -chardev and -object. The first element is the backend or type name ("implied" key). Values may
 * contain ",," for a literal comma, as in QEMU. A bare flag ("server", "nowait") means key=on, and
 * "noKEY" means key=off, QEMU's legacy boolean form used by the 2019 docs (`server,nowait`).
 */
import { AwdError, AwdErrorCode } from './errors.js';

export interface QemuOpts {
  readonly type: string;
  readonly props: ReadonlyMap<string, string>;
}

/** Keys QEMU accepts in the "noKEY" / bare-flag boolean form that matter to us. */
const BOOLEAN_KEYS = new Set(['server', 'wait', 'nodelay', 'telnet', 'ipv4', 'ipv6', 'arm_at_start']);

/** Parses one option string; throws AWD_ERR_USAGE naming the faulty element. */
export function parseQemuOpts(text: string): QemuOpts {
  const parts = splitOpts(text);
  const first = parts.shift();
  if (first === undefined || first === '' || first.includes('=')) {
    throw new AwdError(AwdErrorCode.USAGE, `option string '${text}' must start with a type name`);
  }
  const props = new Map<string, string>();
  for (const part of parts) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let key: string;
    let value: string;
    if (eq === -1) {
      [key, value] = part.startsWith('no') && BOOLEAN_KEYS.has(part.slice(2)) ? [part.slice(2), 'off'] : [part, 'on'];
    } else {
      key = part.slice(0, eq);
      value = part.slice(eq + 1);
    }
    if (props.has(key)) throw new AwdError(AwdErrorCode.USAGE, `'${key}' given twice in '${text}'`);
    props.set(key, value);
  }
  return { type: first, props };
}

function splitOpts(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === ',' && text[i + 1] === ',') {
      current += ',';
      i++;
    } else if (ch === ',') {
      out.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  out.push(current);
  return out;
}

/** QEMU's boolean values: on/off, yes/no, true/false. */
export function parseQemuBool(key: string, value: string): boolean {
  if (['on', 'yes', 'true'].includes(value)) return true;
  if (['off', 'no', 'false'].includes(value)) return false;
  throw new AwdError(AwdErrorCode.USAGE, `Parameter '${key}' expects 'on' or 'off'`);
}
