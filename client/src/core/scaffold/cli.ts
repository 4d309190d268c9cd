import type { Command } from 'commander';

// Owned by the scaffolding work (issue 4): `lkm new`.
export function registerScaffoldCommands(_program: Command): void {}
