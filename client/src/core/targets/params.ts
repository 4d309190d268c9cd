// Module parameters: parsed from `name=value` text and validated against the module's own `parm:`
// entries (from its .modinfo) before anything reaches insmod.
import type { ModuleParam } from './elf';

/** A parameter the module does not declare, or a value its type cannot take. */
export class ParamError extends Error {
  override name = 'ParamError';
}

export interface ParamValue {
  name: string;
  value: string;
}

/** Parses `name=value` (as given to `--param` or typed into a prompt). */
export function parseParamAssignment(text: string): ParamValue {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ParamError(`module parameter must be name=value, got ${JSON.stringify(text)}`);
  return { name: text.slice(0, eq).trim(), value: text.slice(eq + 1) };
}

const INTEGER_RANGES: Record<string, [bigint, bigint]> = {
  byte: [0n, 255n],
  short: [-32768n, 32767n],
  ushort: [0n, 65535n],
  int: [-2147483648n, 2147483647n],
  uint: [0n, 4294967295n],
  long: [-(2n ** 63n), 2n ** 63n - 1n],
  ulong: [0n, 2n ** 64n - 1n],
  ullong: [0n, 2n ** 64n - 1n],
  hexint: [0n, 4294967295n],
};

function checkScalar(type: string, value: string, where: string): void {
  const range = INTEGER_RANGES[type];
  if (range) {
    if (!/^[+-]?(0x[0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.test(value)) throw new ParamError(`${where}: ${JSON.stringify(value)} is not an integer (${type})`);
    const negative = value.startsWith('-');
    const digits = value.replace(/^[+-]/, '');
    const magnitude = digits.startsWith('0x') ? BigInt(digits) : digits.length > 1 && digits.startsWith('0') ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
    const n = negative ? -magnitude : magnitude;
    if (n < range[0] || n > range[1]) throw new ParamError(`${where}: ${value} is out of range for ${type} (${range[0]}..${range[1]})`);
    return;
  }
  if (type === 'bool' || type === 'invbool') {
    if (!/^(y|Y|n|N|1|0|true|false|on|off)$/.test(value)) throw new ParamError(`${where}: ${JSON.stringify(value)} is not a boolean (y/n/1/0)`);
    return;
  }
  if (type === 'charp' || type === 'string') {
    // The kernel's parameter parser understands double quotes but has no escape for them.
    if (/["\n\r\0]/.test(value)) throw new ParamError(`${where}: string values cannot contain double quotes, newlines or NUL bytes`);
    return;
  }
  throw new ParamError(`${where}: parameter type "${type}" is not supported`);
}

/**
 * Checks every value against the module's declared parameters and returns the insmod arguments
 * (`name=value`, double-quoted for the kernel when the value has spaces). Shell quoting is separate.
 */
export function validateParams(moduleName: string, declared: ModuleParam[], values: ParamValue[]): string[] {
  return values.map(({ name, value }) => {
    const where = `${moduleName}.${name}`;
    const param = declared.find((p) => p.name === name);
    if (!param) {
      const known = declared.map((p) => `${p.name} (${p.type})`).join(', ') || 'none';
      throw new ParamError(`${where}: ${moduleName} has no parameter "${name}" (its parameters: ${known})`);
    }
    const array = /^array of (\w+)$/.exec(param.type);
    if (array) value.split(',').forEach((v, i) => checkScalar(array[1], v, `${where}[${i}]`));
    else checkScalar(param.type, value, where);
    return /\s/.test(value) || value === '' ? `${name}="${value}"` : `${name}=${value}`;
  });
}
