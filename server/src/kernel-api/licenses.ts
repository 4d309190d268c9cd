// The MODULE_LICENSE strings the kernel knows (Linux 6.1 include/linux/license.h and the list in
// include/linux/module.h). A GPL-compatible module may use EXPORT_SYMBOL_GPL symbols; any other string
// taints the kernel as proprietary and cannot bind to them.

export interface KnownLicense {
  value: string;
  gplCompatible: boolean;
  meaning: string;
}

export const KNOWN_LICENSES: readonly KnownLicense[] = [
  { value: 'GPL', gplCompatible: true, meaning: 'GNU Public License v2' },
  { value: 'GPL v2', gplCompatible: true, meaning: 'GNU Public License v2' },
  { value: 'GPL and additional rights', gplCompatible: true, meaning: 'GNU Public License v2 rights and more' },
  { value: 'Dual BSD/GPL', gplCompatible: true, meaning: 'GNU Public License v2 or BSD license choice' },
  { value: 'Dual MIT/GPL', gplCompatible: true, meaning: 'GNU Public License v2 or MIT license choice' },
  { value: 'Dual MPL/GPL', gplCompatible: true, meaning: 'GNU Public License v2 or Mozilla license choice' },
  { value: 'Proprietary', gplCompatible: false, meaning: 'Non free products' },
];

const byValue = new Map(KNOWN_LICENSES.map((license) => [license.value, license]));

export function knownLicense(value: string): KnownLicense | undefined {
  return byValue.get(value);
}

/** The kernel's `license_is_gpl_compatible()`: exact, case-sensitive string comparison. */
export function isGplCompatible(value: string): boolean {
  return byValue.get(value)?.gplCompatible === true;
}
