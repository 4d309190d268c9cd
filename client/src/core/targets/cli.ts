import type { Command } from 'commander';

// Owned by the targets work (issue 3): `lkm vm|build|load|unload|reload|log|run`.
export function registerTargetCommands(_program: Command): void {}
