// `lkm new NAME --template T [--dir D]` and `lkm new --list`: the New Module templates from a terminal.
import type { Command } from 'commander';
import * as path from 'node:path';
import { createModule } from './newModule';
import { moduleTemplates } from './templates';

interface NewOptions {
  template?: string;
  dir: string;
  list?: boolean;
  author?: string;
  description?: string;
  kdir?: string;
}

export function registerScaffoldCommands(program: Command): void {
  program
    .command('new')
    .description('create a kernel module folder from a template (sources, Makefile, .gitignore)')
    .argument('[name]', 'module name: a C identifier, also the folder name')
    .option('-t, --template <id>', 'template id (see --list)')
    .option('-d, --dir <dir>', 'folder that receives the module folder', '.')
    .option('-l, --list', 'print the template ids, one per line (id, then a tab and the title)')
    .option('--author <text>', 'MODULE_AUTHOR value')
    .option('--description <text>', 'MODULE_DESCRIPTION value')
    .option('--kdir <dir>', 'kernel build folder whose exported symbols the name must not clash with')
    .action((name: string | undefined, options: NewOptions) => {
      if (options.list) {
        for (const template of moduleTemplates) console.log(`${template.id}\t${template.label}: ${template.detail}`);
        return;
      }
      if (!name) throw new Error('new: a module name is required (or --list)');
      if (!options.template) throw new Error(`new: --template is required; one of: ${moduleTemplates.map((t) => t.id).join(', ')}`);
      const values: Record<string, string> = {};
      if (options.author !== undefined) values.author = options.author;
      if (options.description !== undefined) values.description = options.description;
      const result = createModule({
        name,
        templateId: options.template,
        parentDir: path.resolve(options.dir),
        values,
        kernelBuildDir: options.kdir,
      });
      console.log(`created ${result.moduleDir}`);
      for (const file of result.files) console.log(`  ${path.relative(result.moduleDir, file)}`);
    });
}
