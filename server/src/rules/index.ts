// Every rule, in the order findings are reported. Adding a rule: a file in this folder and a row here.
import { lockImbalance } from './lockImbalance';
import { missingModuleDescription } from './missingModuleDescription';
import { missingModuleLicense } from './missingModuleLicense';
import type { Rule } from './rule';
import { sleepInAtomic } from './sleepInAtomic';
import { unexportedSymbol } from './unexportedSymbol';

export const RULES: readonly Rule[] = [sleepInAtomic, lockImbalance, missingModuleLicense, missingModuleDescription, unexportedSymbol];

export function ruleById(id: string): Rule | undefined {
  return RULES.find((rule) => rule.id === id);
}
